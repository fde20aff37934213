"""Helpers to create users and sign them in through the real pages (no shortcuts)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from safestats.accounts.models import ConditionsOfUse, Role, User
from safestats.organisations.models import (
    AgreementDataset,
    DataSharingAgreement,
    Organisation,
    OrganisationDomain,
)

PASSWORD = "correct horse battery staple"


def ensure_conditions_of_use() -> None:
    """The migration publishes version 1, but tests that run outside a transaction empty
    the database after themselves, so put it back when it is missing."""
    if not ConditionsOfUse.objects.exists():
        ConditionsOfUse.objects.create(version=1, body="Use the data lawfully.\n\nNever jigsaw.")


def make_user(email: str = "ana@camden.gov.uk", role: str = Role.ANALYST, **extra: object) -> User:
    ensure_conditions_of_use()
    return User.objects.create_user(email, PASSWORD, full_name="Ana Analyst", role=role, **extra)


def enrol(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code_for(device: TOTPDevice, drift: int = 0) -> str:
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:06d}"


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: Client, user: User, device: TOTPDevice, password: str = PASSWORD) -> None:
    """Email and password, security code, Conditions of Use: the whole journey."""
    response = client.post("/sign-in", {"email": user.email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith("/sign-in/security-code")
    # A code is accepted once per time step: move the device past any step already used.
    device.refresh_from_db()
    device.last_t = -1
    device.save(update_fields=["last_t"])
    response = client.post("/sign-in/security-code", {"code": code_for(device)})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get("/conditions-of-use").content.decode()
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version, "no Conditions of Use form"
    response = client.post("/conditions-of-use", {"version": version.group(1), "accept": "on"})
    assert response.status_code == 302


def make_organisation(
    name: str = "Camden Community Safety Partnership",
    domain: str = "camden.gov.uk",
    status: str = "approved",
    type: str = "local_authority",
) -> Organisation:
    organisation = Organisation.objects.create(name=name, type=type, status=status)
    OrganisationDomain.objects.create(organisation=organisation, domain=domain)
    return organisation


def make_agreement(
    organisation: Organisation,
    *grants: tuple[str, str, str, tuple[str, ...]],
    reference: str = "DSA-TEST-001",
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    status: str = "active",
) -> DataSharingAgreement:
    """An agreement in force now; each grant is (dataset_id, level, precision, withheld)."""
    now = timezone.now()
    agreement = DataSharingAgreement.objects.create(
        organisation=organisation,
        reference=reference,
        legal_basis="s17",
        purpose="Community safety strategic assessment",
        valid_from=valid_from or now - timedelta(days=1),
        valid_to=valid_to or now + timedelta(days=365),
        status=status,
        document_sha256="0" * 64 if status == "active" else "",
    )
    for dataset_id, level, precision, withheld in grants:
        AgreementDataset.objects.create(
            agreement=agreement,
            dataset_id=dataset_id,
            access_level=level,
            precision=precision,
            withheld_fields=list(withheld),
        )
    return agreement


def make_member(
    organisation: Organisation,
    email: str,
    role: str = Role.ANALYST,
    status: str = "authorised",
    expires_in: timedelta = timedelta(days=300),
) -> User:
    return make_user(
        email,
        role=role,
        organisation=organisation,
        status=status,
        purpose="Strategic assessment",
        authorised_at=timezone.now() if status == "authorised" else None,
        authorisation_expires_at=timezone.now() + expires_in if status == "authorised" else None,
    )
