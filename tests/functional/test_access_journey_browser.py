"""The journey of a new analyst, in headless Chromium: they ask for an account, their
organisation's administrator authorises them, they set up their authenticator, sign in,
are made to accept the Conditions of Use, and see exactly the datasets their
organisation's agreement covers."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.db.models import Q
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from safestats.accounts.models import Role, User
from safestats.audit.models import AuditEvent
from tests.signin import PASSWORD, code_for, enrol, make_agreement, make_member, make_organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_from_secret(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def sign_in_as(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("button:has-text('Continue')")


def test_new_analyst_from_registration_to_their_datasets(live_server: Any, browser: Any) -> None:
    camden = make_organisation()
    make_agreement(
        camden,
        ("mps-recorded-crime", "aggregate", "ward", ()),
        ("las-violence-dispatches", "record", "lsoa", ("age_band",)),
    )
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    make_agreement(hackney, ("istv-ed-attendances", "record", "lsoa", ()), reference="DSA-HACKNEY")
    admin = make_member(camden, "boss@camden.gov.uk", role=Role.ORGANISATION_ADMIN)
    admin_device = enrol(admin)
    base = live_server.url

    analyst_context = browser.new_context()
    analyst = analyst_context.new_page()
    # 1. The analyst asks for an account.
    analyst.goto(base)
    analyst.click("text=Sign in")
    analyst.click("text=Ask for one")
    analyst.fill("#id_full_name", "Ana Analyst")
    analyst.fill("#id_email", "ana@camden.gov.uk")
    analyst.fill("#id_password", "violet lamp harbour 91")
    analyst.fill("#id_purpose", "Strategic assessment for the Camden CSP")
    analyst.click("button:has-text('Send request')")
    assert analyst.inner_text("h1") == "Request sent"

    # 2. The administrator authorises them from the console.
    admin_context = browser.new_context()
    console = admin_context.new_page()
    sign_in_as(console, base, admin.email, PASSWORD)
    console.fill("#id_code", code_for(admin_device))
    console.click("button:has-text('Continue')")
    console.check("#id_accept")
    console.click("button:has-text('Accept and continue')")
    console.click("text=Your organisation")
    assert "ana@camden.gov.uk" in console.inner_text("#pending")
    console.click("#pending button:has-text('Authorise')")
    assert "Nobody is waiting" in console.inner_text("#pending")
    assert "Authorised" in console.inner_text("#members")
    admin_context.close()

    # 3. The analyst signs in and sets up their authenticator.
    sign_in_as(analyst, base, "ana@camden.gov.uk", "violet lamp harbour 91")
    assert analyst.inner_text("h1") == "Set up your authenticator app"
    assert analyst.is_visible("img[alt^='QR code']")
    secret = analyst.inner_text("#totp-secret")
    analyst.fill("#id_code", code_from_secret(secret))
    analyst.click("button:has-text('Continue')")
    assert analyst.inner_text("h1") == "Save your recovery codes"
    assert len(re.findall(r"[0-9a-f]{5}-[0-9a-f]{5}", analyst.inner_text("#recovery-codes"))) == 10
    analyst.click("text=I have saved my recovery codes")

    # 4. The Conditions of Use come before anything else.
    assert "Conditions of Use" in analyst.inner_text("h1")
    analyst.goto(f"{base}/account")
    assert "Conditions of Use" in analyst.inner_text("h1")  # sent back until accepted
    analyst.click("button:has-text('Accept and continue')")
    assert "Confirm that you accept the Conditions of Use" in analyst.inner_text(
        ".govuk-error-summary"
    )
    analyst.check("#id_accept")
    analyst.click("button:has-text('Accept and continue')")

    # 5. They see exactly the datasets Camden's agreement covers.
    assert analyst.inner_text("h1") == "Your account"
    access = analyst.inner_text("#your-access")
    assert "mps-recorded-crime" in access and "Totals only" in access
    assert "las-violence-dispatches" in access and "Individual records and totals" in access
    assert "age_band" in access
    assert "istv-ed-attendances" not in access  # Hackney's agreement, not Camden's
    analyst_context.close()

    user = User.objects.get(email="ana@camden.gov.uk")
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    about_ana = Q(target_id=str(user.pk)) | Q(actor_id=user.pk)
    events = list(AuditEvent.objects.filter(about_ana).values_list("event", flat=True))
    for expected in (
        "user.registered",
        "user.authorised",
        "user.password_verified",
        "mfa.enrolled",
        "conditions.accepted",
    ):
        assert expected in events
