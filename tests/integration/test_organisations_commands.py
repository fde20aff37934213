"""The ``safestats organisations`` and ``safestats agreements`` commands, run for real in
a process of their own on a fresh instance: what they print, how they refuse bad input
(a clear message and a non-zero exit) and the audit events they leave, as the operator."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_safestats, try_safestats
from tests.factories import pdf_bytes

QUESTIONS = [
    "data_protection_officer",
    "staff_training",
    "device_encryption",
    "email_mfa",
    "data_location",
    "named_access",
    "incident_reporting",
    "retention_deletion",
    "onward_sharing",
    "dpia",
]


class Instance:
    """One instance folder (and database) for the commands of one test."""

    def __init__(self, home: Path, database: dict[str, str]) -> None:
        self.home = home
        self.env = {"SAFESTATS_MODE": "demo", **database}
        run_safestats(home, "migrate", "--no-input", "-v", "0", **self.env)

    def run(self, *args: str) -> str:
        return run_safestats(self.home, *args, **self.env).stdout

    def refuse(self, *args: str, status: int = 1) -> str:
        result = try_safestats(self.home, *args, **self.env)
        assert result.returncode == status, result
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        return result.stderr

    def audit(self) -> list[dict[str, Any]]:
        shown = self.run(
            "shell",
            "-c",
            "import json; from safestats.audit.models import AuditEvent as A; "
            "print(json.dumps([dict(event=e.event, actor=[e.actor_kind, e.actor_label], "
            "target=[e.target_type, e.target_id], organisation=e.organisation_name, "
            "payload=e.payload) for e in A.objects.order_by('seq')]))",
        )
        events: list[dict[str, Any]] = json.loads(shown.strip().splitlines()[-1])
        return events


@pytest.fixture
def instance(tmp_path: Path, process_database: dict[str, str]) -> Instance:
    return Instance(tmp_path / "instance", process_database)


CAMDEN = [
    "organisations",
    "create",
    "--name",
    "London Borough of Camden",
    "--type",
    "local_authority",
    "--domain",
    "camden.gov.uk",
    "--domain",
    "Housing.Camden.GOV.uk",
    "--contact-email",
    "csp.team@camden.gov.uk",
]


def test_organisations_are_created_listed_and_shown(instance: Instance) -> None:
    assert instance.run(*CAMDEN).strip() == (
        "Created organisation 1 'London Borough of Camden' (Local authority or community "
        "safety partnership), status applied, domains camden.gov.uk, housing.camden.gov.uk."
    )
    refused = instance.refuse(
        "organisations", "create", "--name", "LONDON BOROUGH OF CAMDEN", "--type", "police",
        "--domain", "gmail.com", "--contact-email", "not-an-email",
    )  # fmt: skip
    assert refused.splitlines() == [
        "CommandError: --name: There is already an organisation called London Borough of Camden",
        "--domain: gmail.com is a public email service. Enter a domain that only your "
        "organisation's staff have addresses at.",
        "--contact-email: Enter an email address in the correct format, like name@example.org",
    ]
    assert "invalid choice: 'council'" in instance.refuse(
        "organisations", "create", "--name", "X", "--type", "council", "--domain", "x.gov.uk",
        status=2,
    )  # fmt: skip

    listed = instance.run("organisations", "list").splitlines()
    assert listed[0].split() == ["ID", "NAME", "TYPE", "STATUS", "DOMAINS"]
    assert listed[1].split() == [
        "1", "London", "Borough", "of", "Camden", "local_authority", "applied",
        "camden.gov.uk,", "housing.camden.gov.uk",
    ]  # fmt: skip
    shown = instance.run("organisations", "show", "london borough of camden")
    assert "Organisation 1: London Borough of Camden" in shown
    assert "Checklist:   not signed off for the current version" in shown
    assert "Can move to: under_review, withdrawn" in shown
    assert instance.refuse("organisations", "show", "Camden").strip() == (
        "CommandError: There is no organisation called or numbered 'Camden'. "
        "`safestats organisations list` shows them."
    )
    [created] = instance.audit()
    assert created == {
        "event": "organisation.created",
        "actor": ["system", "operator"],
        "target": ["organisations.organisation", "1"],
        "organisation": "London Borough of Camden",
        "payload": {
            "name": "London Borough of Camden",
            "type": "local_authority",
            "domains": ["camden.gov.uk", "housing.camden.gov.uk"],
            "status": "applied",
        },
    }


@pytest.mark.slow
def test_an_organisation_is_reviewed_signed_off_approved_and_suspended(
    instance: Instance, tmp_path: Path
) -> None:
    instance.run(*CAMDEN)
    assert instance.refuse("organisations", "transition", "1", "--to", "approved").strip() == (
        "CommandError: --to: An organisation that is applied cannot be approved"
    )
    assert instance.run("organisations", "transition", "1", "--to", "under_review").strip() == (
        "London Borough of Camden is now under review (was applied)."
    )
    assert instance.refuse("organisations", "transition", "1", "--to", "approved").strip() == (
        "CommandError: London Borough of Camden cannot be approved until a platform "
        "administrator has signed off its answers to the security audit checklist (version 1)."
    )
    refused = instance.refuse("organisations", "checklist", "sign-off", "1")
    assert "Give the organisation's answers with --answers-file FILE.json" in refused
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(dict.fromkeys(QUESTIONS[:-1], "yes")))
    sign_off = ["organisations", "checklist", "sign-off", "1", "--answers-file", str(answers)]
    assert 'Select yes or no for "Has your organisation completed a Data Protection' in (
        instance.refuse(*sign_off)
    )
    answers.write_text(json.dumps(dict.fromkeys(QUESTIONS, "yes")))
    assert instance.run(*sign_off).strip() == (
        "Recorded London Borough of Camden's answers to the security audit checklist "
        "(version 1, 10 questions) and signed them off."
    )
    instance.run("organisations", "transition", "1", "--to", "approved")
    assert instance.refuse("organisations", "transition", "1", "--to", "suspended").strip() == (
        "CommandError: --reason: Enter the reason the organisation is being suspended"
    )
    instance.run(
        "organisations", "transition", "1", "--to", "suspended", "--reason", "Audit overdue"
    )

    events = instance.audit()
    assert [(e["event"], e["actor"], e["target"][0]) for e in events] == [
        ("organisation.created", ["system", "operator"], "organisations.organisation"),
        ("organisation.submitted_for_review", ["system", "operator"], "organisations.organisation"),
        ("checklist.submitted", ["system", "operator"], "organisations.checklistresponse"),
        ("checklist.signed_off", ["system", "operator"], "organisations.checklistresponse"),
        ("organisation.approved", ["system", "operator"], "organisations.organisation"),
        ("organisation.suspended", ["system", "operator"], "organisations.organisation"),
    ]
    assert {e["organisation"] for e in events} == {"London Borough of Camden"}
    assert events[4]["payload"] == {
        "from": "under_review",
        "to": "approved",
        "reason": "",
        "checklist_version": 1,
        "checklist_response_id": 1,
    }
    assert events[5]["payload"] == {
        "from": "approved",
        "to": "suspended",
        "reason": "Audit overdue",
    }


@pytest.mark.slow
def test_an_agreement_is_drafted_signed_granted_activated_and_revoked(
    instance: Instance, tmp_path: Path
) -> None:
    instance.run(*CAMDEN)
    signed = tmp_path / "DSA 2025-014 signed.pdf"
    signed.write_bytes(pdf_bytes("Camden DSA"))
    not_pdf = tmp_path / "dsa.pdf"
    not_pdf.write_bytes(b"<html>not a pdf</html>")
    create = [
        "agreements", "create", "--organisation", "London Borough of Camden",
        "--reference", "DSA-2025-014", "--legal-basis", "s17",
        "--purpose", "Violence reduction analysis", "--from", "2025-04-01", "--to", "2099-03-31",
    ]  # fmt: skip
    assert instance.refuse(*create, "--document", str(not_pdf)).strip() == (
        "CommandError: --document: The signed agreement must be a PDF file. This file is not a PDF."
    )
    assert "--to: The last day in force must be the same as or after the first day" in (
        instance.refuse(*create[:-1], "2025-03-01")
    )
    assert instance.run(*create, "--document", str(signed)).strip() == (
        "Created draft agreement DSA-2025-014 with London Borough of Camden, in force once "
        "active from 01 Apr 2025 00:00 until 01 Apr 2099 00:00 (London time), signed document "
        f"{_sha256(signed)[:12]}."
    )
    assert instance.refuse(
        "agreements", "grant", "DSA-2025-014", "--dataset", "LAS Dispatch", "--level", "record"
    ).startswith("CommandError: --dataset: Enter a dataset id")
    granted = instance.run(
        "agreements", "grant", "dsa-2025-014", "--dataset", "las-dispatch", "--level", "record",
        "--withhold", "sex", "--withhold", "age_band", "--precision", "lsoa",
    )  # fmt: skip
    assert granted.strip() == (
        "DSA-2025-014 grants las-dispatch: record level, finest precision lsoa, fields "
        "withheld: age_band, sex."
    )
    instance.run(
        "agreements", "grant", "DSA-2025-014", "--dataset", "mps-crime", "--level", "aggregate"
    )
    assert instance.run("agreements", "activate", "DSA-2025-014").startswith(
        "Activated DSA-2025-014: in force from 01 Apr 2025 00:00 until 01 Apr 2099 00:00"
    )
    listed = instance.run("agreements", "list", "--organisation", "1").splitlines()
    assert listed[0].split() == ["REFERENCE", "ORGANISATION", "STATUS", "FROM", "UNTIL", "DATASETS"]
    assert "las-dispatch (record, lsoa), mps-crime (aggregate, borough)" in listed[1]
    assert " active " in listed[1]
    assert instance.refuse("agreements", "revoke", "DSA-2025-014", "--reason", " ").strip() == (
        "CommandError: --reason: Enter the reason"
    )
    assert instance.run("agreements", "revoke", "DSA-2025-014", "--reason", "Replaced").strip() == (
        "Revoked DSA-2025-014: it no longer grants access."
    )
    assert instance.refuse("agreements", "activate", "DSA-2025-014").strip() == (
        "CommandError: An agreement that is revoked cannot be activated."
    )
    assert instance.refuse("agreements", "activate", "DSA-404").startswith(
        "CommandError: There is no agreement 'DSA-404'."
    )

    stored = sorted(p.name for p in (instance.home / "agreements").iterdir())
    assert stored == [f"{_sha256(signed)}.pdf"]
    events = instance.audit()
    assert [e["event"] for e in events] == [
        "organisation.created",
        "agreement.created",
        "agreement.document_attached",
        "agreement.grant_changed",
        "agreement.grant_changed",
        "agreement.activated",
        "agreement.revoked",
    ]
    assert all(e["actor"] == ["system", "operator"] for e in events)
    assert events[2]["payload"] == {
        "sha256": _sha256(signed),
        "size": signed.stat().st_size,
        "name": "DSA 2025-014 signed.pdf",
        "replaced": None,
    }
    assert events[3]["payload"]["after"] == {
        "dataset_id": "las-dispatch",
        "access_level": "record",
        "withheld_fields": ["age_band", "sex"],
        "precision": "lsoa",
    }
    assert events[6]["payload"] == {"from": "active", "to": "revoked", "reason": "Replaced"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
