"""The platform administrator's agreement pages: drafting with the signed PDF, uploading
(a non-PDF refused with the message), downloading the exact bytes with safe headers and
the read audited, grants added, changed and removed, activation and revocation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from safestats.audit.models import AuditEvent
from safestats.organisations.models import AgreementDataset, DataSharingAgreement
from tests.factories import (
    AgreementDatasetFactory,
    DataSharingAgreementFactory,
    OrganisationFactory,
    pdf_bytes,
)
from tests.platform import event, signed_in_admin, text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def home(settings: Any, tmp_path: Path) -> Path:
    settings.SAFESTATS_HOME = str(tmp_path)
    return tmp_path


@pytest.fixture
def admin_client() -> Client:
    return signed_in_admin()[0]


def pdf(name: str = "signed.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or pdf_bytes(), content_type="application/pdf")


def test_draft_an_agreement_with_its_signed_pdf(admin_client: Client) -> None:
    organisation = OrganisationFactory.create(name="Camden Council", status="approved")
    new = f"/platform/organisations/{organisation.pk}/agreements/new"
    form = admin_client.get(new).content.decode()
    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form
    response = admin_client.post(
        new,
        {
            "reference": "DSA-CAM-2025",
            "legal_basis": "s17",
            "purpose": "Strategic assessment",
            "first_day": "2025-04-01",
            "last_day": "2026-03-31",
            "document": pdf(),
        },
    )
    agreement = DataSharingAgreement.objects.get(reference="DSA-CAM-2025")
    assert response["Location"] == f"/platform/agreements/{agreement.pk}"
    assert agreement.status == "draft" and agreement.document_name == "signed.pdf"
    assert event("agreement.created").target_id == str(agreement.pk)
    assert event("agreement.document_attached").payload["sha256"] == agreement.document_sha256
    page = text(admin_client.get(response["Location"]))
    assert "DSA-CAM-2025" in page and "Download signed.pdf" in page


def test_drafting_shows_each_problem(admin_client: Client) -> None:
    organisation = OrganisationFactory.create(status="approved")
    DataSharingAgreementFactory.create(reference="DSA-TAKEN")
    response = admin_client.post(
        f"/platform/organisations/{organisation.pk}/agreements/new",
        {
            "reference": "dsa-taken",
            "legal_basis": "other",
            "purpose": "",
            "first_day": "2025-04-01",
            "last_day": "2025-03-01",
            "document": SimpleUploadedFile("notes.pdf", b"not a pdf at all"),
        },
    )
    words = text(response)
    assert "There is already an agreement DSA-TAKEN" in words
    assert "Enter the legal basis for sharing" in words
    assert "Enter the purpose the data is shared for" in words
    assert "The last day in force must be the same as or after the first day" in words
    assert "The signed agreement must be a PDF file. This file is not a PDF." in words
    assert DataSharingAgreement.objects.count() == 1


def test_a_non_pdf_upload_is_refused_with_the_message(admin_client: Client) -> None:
    agreement = DataSharingAgreementFactory.create()
    upload = f"/platform/agreements/{agreement.pk}/document/upload"
    response = admin_client.post(
        upload, {"document": SimpleUploadedFile("evil.pdf", b"<html><script>x</script>")}
    )
    assert response.status_code == 200
    assert "The signed agreement must be a PDF file. This file is not a PDF." in text(response)
    agreement.refresh_from_db()
    assert agreement.document_sha256 == ""
    assert not AuditEvent.objects.filter(event="agreement.document_attached").exists()
    missing = admin_client.post(upload, {})
    assert "Select the signed agreement" in text(missing)


def test_upload_then_download_returns_the_exact_bytes(admin_client: Client) -> None:
    agreement = DataSharingAgreementFactory.create()
    content = pdf_bytes("the signed one", size=200_000)
    response = admin_client.post(
        f"/platform/agreements/{agreement.pk}/document/upload",
        {"document": pdf('Camden "DSA".pdf', content)},
    )
    assert response["Location"] == f"/platform/agreements/{agreement.pk}"

    download = admin_client.get(f"/platform/agreements/{agreement.pk}/document")
    assert download.status_code == 200
    assert download.getvalue() == content
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    agreement.refresh_from_db()
    opened = event("agreement.document_opened")
    assert opened.payload == {"sha256": agreement.document_sha256}
    assert opened.actor_label == "gla.admin@london.gov.uk"


def test_downloading_a_missing_document_is_refused_in_words(admin_client: Client) -> None:
    agreement = DataSharingAgreementFactory.create(reference="DSA-NODOC")
    response = admin_client.get(f"/platform/agreements/{agreement.pk}/document")
    assert response.status_code == 409
    assert "DSA-NODOC has no signed document yet." in text(response)


def test_grants_are_added_changed_and_removed(admin_client: Client) -> None:
    agreement = DataSharingAgreementFactory.create(reference="DSA-G")
    page = f"/platform/agreements/{agreement.pk}"
    response = admin_client.post(
        f"{page}/grants/new",
        {
            "dataset_id": "mps-recorded-crime",
            "access_level": "aggregate",
            "precision": "ward",
            "withheld_fields": "victim_age, officer_id",
        },
    )
    assert response["Location"] == page
    grant = AgreementDataset.objects.get(agreement=agreement)
    assert (grant.access_level, grant.precision, grant.withheld_fields) == (
        "aggregate",
        "ward",
        ["officer_id", "victim_age"],
    )
    added = event("agreement.grant_changed")
    assert added.payload["before"] is None and added.payload["after"]["precision"] == "ward"

    change = f"{page}/grants/mps-recorded-crime/change"
    assert 'value="record"' in admin_client.get(change).content.decode()
    admin_client.post(
        change,
        {
            "dataset_id": "something-else",  # ignored: a grant's dataset is fixed
            "access_level": "record",
            "precision": "lsoa",
            "withheld_fields": "",
        },
    )
    grant.refresh_from_db()
    assert (grant.dataset_id, grant.access_level, grant.precision, grant.withheld_fields) == (
        "mps-recorded-crime",
        "record",
        "lsoa",
        [],
    )
    changed = event("agreement.grant_changed")
    assert changed.payload["before"]["access_level"] == "aggregate"
    assert changed.payload["after"]["access_level"] == "record"

    bad = admin_client.post(f"{page}/grants/new", {"dataset_id": "Bad Id!"})
    assert "Enter a dataset id of 2 to 64 lower-case letters" in text(bad)

    admin_client.post(f"{page}/grants/mps-recorded-crime/remove")
    assert not AgreementDataset.objects.filter(agreement=agreement).exists()
    assert event("agreement.grant_changed").payload["after"] is None
    gone = admin_client.post(f"{page}/grants/mps-recorded-crime/remove")
    assert gone.status_code == 409 and "DSA-G does not grant mps-recorded-crime." in text(gone)


def test_activation_needs_the_signed_document(admin_client: Client) -> None:
    agreement = DataSharingAgreementFactory.create(reference="DSA-ACT")
    activate = f"/platform/agreements/{agreement.pk}/activate"
    refused = admin_client.post(activate)
    assert refused.status_code == 409
    assert "DSA-ACT cannot be activated until its signed document is uploaded." in text(refused)
    assert 'href="/platform/agreements/' in refused.content.decode()
    admin_client.post(f"/platform/agreements/{agreement.pk}/document/upload", {"document": pdf()})
    response = admin_client.post(activate)
    assert response["Location"] == f"/platform/agreements/{agreement.pk}"
    agreement.refresh_from_db()
    assert agreement.status == "active"
    assert event("agreement.activated").target_id == str(agreement.pk)
    assert admin_client.get(activate).status_code == 405


def test_revoke_with_a_reason(admin_client: Client) -> None:
    agreement = DataSharingAgreementFactory.create(active=True, reference="DSA-REV")
    AgreementDatasetFactory.create(agreement=agreement, dataset_id="lfb-fires")
    revoke = f"/platform/agreements/{agreement.pk}/revoke"
    assert "Access this agreement grants stops at once" in text(admin_client.get(revoke))
    empty = admin_client.post(revoke, {"reason": ""})
    assert "Enter the reason" in text(empty)
    admin_client.post(revoke, {"reason": "Organisation merged"})
    agreement.refresh_from_db()
    assert (agreement.status, agreement.revoked_reason) == ("revoked", "Organisation merged")
    assert event("agreement.revoked").payload["reason"] == "Organisation merged"
    page = admin_client.get(f"/platform/agreements/{agreement.pk}")
    assert "Grant a dataset" not in text(page)  # a revoked agreement cannot change
    again = admin_client.post(revoke, {"reason": "Again"})
    assert "The agreement is already revoked." in text(again)
    changed = admin_client.post(f"/platform/agreements/{agreement.pk}/grants/lfb-fires/remove")
    assert changed.status_code == 409 and "DSA-REV is revoked" in text(changed)


def test_agreement_list(admin_client: Client) -> None:
    DataSharingAgreementFactory.create(reference="DSA-LIST-1")
    assert "DSA-LIST-1" in text(admin_client.get("/platform/agreements"))
    assert admin_client.get("/platform/agreements/999999").status_code == 404
