"""Demo organisations, agreements and accounts, created through the real services.

Four organisations (a borough community safety partnership, the Metropolitan Police, a
hospital trust and the GLA team), approved after a signed-off security checklist, with
agreements of different levels, and one account per role with its authenticator already
set up. Credentials are generated once per instance, kept in the instance folder
(readable by its owner only) and printed at every start: demo instances only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from safestats.accounts import authorisation
from safestats.accounts.models import Role, User
from safestats.audit.services import Actor
from safestats.organisations import selectors
from safestats.organisations import services as organisations
from safestats.organisations.models import Organisation, ReviewOutcome

DEMO = Actor.system("demo setup")
CREDENTIALS_FILE = "demo-accounts.json"


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    type: str
    domain: str
    grants: tuple[tuple[str, str, str, tuple[str, ...]], ...]  # dataset, level, precision, withheld


ORGANISATIONS = (
    DemoOrganisation(
        "Camden Community Safety Partnership",
        "local_authority",
        "camden.gov.uk",
        (
            ("mps-recorded-crime", "aggregate", "ward", ()),
            ("mps-asb-incidents", "record", "lsoa", ()),
            ("las-violence-dispatches", "aggregate", "ward", ("age_band", "sex")),
            ("police-uk-street", "record", "snapped_point", ()),
        ),
    ),
    DemoOrganisation(
        "Metropolitan Police Service",
        "police",
        "met.police.uk",
        (
            ("mps-recorded-crime", "record", "point", ()),
            ("mps-victims", "record", "lsoa", ()),
            ("las-violence-dispatches", "record", "lsoa", ()),
        ),
    ),
    DemoOrganisation(
        "Barts Health NHS Trust",
        "health",
        "bartshealth.nhs.uk",
        (("istv-ed-attendances", "record", "lsoa", ()),),
    ),
    DemoOrganisation(
        "Greater London Authority",
        "gla_mopac",
        "london.gov.uk",
        (
            ("mps-recorded-crime", "record", "lsoa", ()),
            ("istv-ed-attendances", "aggregate", "borough", ()),
        ),
    ),
)

ACCOUNTS = (
    ("analyst@camden.gov.uk", "Ana Analyst", Role.ANALYST, "Camden Community Safety Partnership"),
    (
        "admin@camden.gov.uk",
        "Oscar Orgadmin",
        Role.ORGANISATION_ADMIN,
        "Camden Community Safety Partnership",
    ),
    ("provider@bartshealth.nhs.uk", "Priya Provider", Role.DATA_PROVIDER, "Barts Health NHS Trust"),
    ("platform@london.gov.uk", "Pat Platform", Role.PLATFORM_ADMIN, "Greater London Authority"),
)

# The smallest well-formed PDF: one empty page. Stands in for a signed agreement.
_PDF = b"""%PDF-1.4
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj
trailer<</Root 1 0 R>>
%%EOF
"""


@dataclass(frozen=True)
class Credential:
    email: str
    password: str
    totp_secret: str
    role: str
    organisation: str


def _organisation(spec: DemoOrganisation, index: int) -> Organisation:
    existing = Organisation.objects.filter(name=spec.name).first()
    if existing is not None:
        return existing
    organisation = organisations.create_organisation(
        name=spec.name,
        type=spec.type,
        domains=[spec.domain],
        contact_name="Demo contact",
        contact_email=f"contact@{spec.domain}",
        by=DEMO,
    )
    organisations.submit_for_review(organisation=organisation, by=DEMO)
    version = selectors.current_checklist_version()
    if version is None:
        raise RuntimeError("No security audit checklist is published.")
    answers = {
        question: {"answer": "yes", "evidence": "Demo: policy document on file."}
        for question in version.question_ids()
    }
    response = organisations.submit_checklist_response(
        organisation=organisation, answers=answers, by=DEMO, version=version
    )
    organisations.review_checklist_response(
        response=response, outcome=ReviewOutcome.SIGNED_OFF, note="Demo sign-off", by=DEMO
    )
    organisations.approve_organisation(organisation=organisation, by=DEMO)
    now = timezone.now()
    document = File(BytesIO(_PDF), name=f"dsa-demo-{index:03d}.pdf")
    document.size = len(_PDF)
    agreement = organisations.create_agreement(
        organisation=organisation,
        reference=f"DSA-DEMO-{index:03d}",
        legal_basis="s17" if spec.type != "health" else "s115",
        purpose="Demonstration: community safety analysis",
        valid_from=now - timedelta(days=30),
        valid_to=now + timedelta(days=365),
        document=document,
        by=DEMO,
    )
    for dataset_id, level, precision, withheld in spec.grants:
        organisations.set_grant(
            agreement=agreement,
            dataset_id=dataset_id,
            access_level=level,
            precision=precision,
            withheld_fields=withheld,
            by=DEMO,
        )
    organisations.activate_agreement(agreement=agreement, by=DEMO)
    return organisation


def _account(email: str, name: str, role: str, organisation: Organisation) -> Credential:
    password = "-".join(secrets.choice(_WORDS) for _ in range(4))
    user = User.objects.create_user(
        email,
        password,
        full_name=name,
        role=role,
        organisation=organisation,
        status="pending",
        purpose="Demonstration account",
    )
    authorisation.authorise(user, by=DEMO)
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return Credential(email, password, secret, role, organisation.name)


_WORDS = (
    "amber", "bridge", "canal", "docklands", "ember", "ferry", "garden", "harbour", "island",
    "junction", "kestrel", "lantern", "meadow", "north", "orchard", "pavement", "quarry",
    "river", "station", "thames", "underpass", "viaduct", "wharf", "yard",
)  # fmt: skip


def ensure_demo_accounts(home: Path) -> list[Credential]:
    """Create whatever demo organisations and accounts are missing; return every demo
    account's credentials (new ones are added to the instance's credentials file)."""
    path = home / CREDENTIALS_FILE
    known: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    with transaction.atomic():
        by_name = {
            spec.name: _organisation(spec, index) for index, spec in enumerate(ORGANISATIONS, 1)
        }
        for email, name, role, organisation in ACCOUNTS:
            if User.objects.filter(email=email).exists():
                continue
            credential = _account(email, name, role, by_name[organisation])
            known[email] = credential.__dict__
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(known, handle, indent=2)
    return [Credential(**known[email]) for email, *_ in ACCOUNTS if email in known]
