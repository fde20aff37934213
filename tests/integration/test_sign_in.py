"""Signing in: password, second factor, Conditions of Use, lockout, session limits,
sign-out everywhere and password reset — through the real pages, with audit events."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from safestats.accounts import services
from safestats.accounts.models import ConditionsAcceptance, User
from safestats.audit.models import AuditEvent
from tests.signin import PASSWORD, code_for, enrol, make_user, sign_in

pytestmark = pytest.mark.django_db


def events(name: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name).order_by("seq"))


def test_pages_for_signed_in_users_send_anonymous_visitors_to_sign_in(client: Client) -> None:
    response = client.get("/account")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in?next=%2Faccount"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client: Client) -> None:
    user = make_user()
    response = client.post("/sign-in", {"email": user.email, "password": "not the password!"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a correct email address and password." in html
    assert "govuk-error-summary" in html
    (failure,) = events("user.sign_in_failed")
    assert failure.payload == {"email": "ana@camden.gov.uk", "reason": "wrong"}
    assert failure.actor_kind == "anonymous"
    assert failure.ip == "127.0.0.1"
    assert "not the password" not in failure.payload_json


def test_unknown_email_fails_the_same_way_and_is_audited(client: Client) -> None:
    response = client.post(
        "/sign-in", {"email": "Nobody@Example.org", "password": "whatever it is"}
    )
    assert "Enter a correct email address and password." in response.content.decode()
    assert events("user.sign_in_failed")[0].payload["email"] == "nobody@example.org"


def test_empty_form_names_each_missing_field(client: Client) -> None:
    html = client.post("/sign-in", {}).content.decode()
    assert "Enter your email address" in html
    assert "Enter your password" in html
    assert 'href="#id_email"' in html


def test_first_sign_in_enrols_mfa_then_requires_the_conditions(client: Client, settings) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no pause after the wrong code below
    user = make_user()
    response = client.post("/sign-in", {"email": "ANA@camden.gov.uk", "password": PASSWORD})
    assert response["Location"] == "/sign-in/set-up-authenticator"
    # Nothing else is reachable before the second factor.
    assert client.get("/account")["Location"].startswith("/sign-in/set-up-authenticator")

    page = client.get("/sign-in/set-up-authenticator").content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post("/sign-in/set-up-authenticator", {"code": "000000"})
    assert "The code is not correct" in wrong.content.decode()
    assert events("mfa.failed")[0].payload == {"step": "enrolment"}

    response = client.post("/sign-in/set-up-authenticator", {"code": code_for(device)})
    assert response["Location"] == "/sign-in/recovery-codes"
    codes_page = client.get("/sign-in/recovery-codes").content.decode()
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", codes_page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/sign-in/recovery-codes")["Location"] == "/conditions-of-use"  # shown once
    assert events("mfa.enrolled")[0].actor_id == user.pk

    # Verified, but the Conditions of Use come before any other page.
    assert client.get("/account")["Location"] == "/conditions-of-use?next=%2Faccount"
    refused = client.post("/conditions-of-use", {"version": "1"})
    assert "Confirm that you accept the Conditions of Use" in refused.content.decode()
    response = client.post("/conditions-of-use?next=/account", {"version": "1", "accept": "on"})
    assert response["Location"] == "/account"
    assert client.get("/account").status_code == 200
    assert ConditionsAcceptance.objects.filter(user=user, conditions__version=1).count() == 1
    assert events("conditions.accepted")[0].payload == {"version": 1}


def test_second_factor_is_checked_and_recovery_codes_work_once(client: Client) -> None:
    user = make_user()
    enrol(user)
    StaticToken.objects.all().delete()
    codes = services._new_recovery_codes(user)
    client.post("/sign-in", {"email": user.email, "password": PASSWORD})
    wrong = client.post("/sign-in/security-code", {"code": "123456"})
    assert "The code is not correct" in wrong.content.decode()
    assert client.get("/account")["Location"].startswith("/sign-in/security-code")

    response = client.post("/sign-in/security-code", {"code": codes[0].upper()})
    assert response.status_code == 302
    signed_in = events("user.signed_in")[-1]
    assert signed_in.payload == {"method": "recovery_code", "codes_left": 9}

    other = Client()
    other.post("/sign-in", {"email": user.email, "password": PASSWORD})
    reused = other.post("/sign-in/security-code", {"code": codes[0]})
    assert "The code is not correct" in reused.content.decode()


def test_conditions_are_accepted_at_every_sign_in(client: Client) -> None:
    user = make_user()
    device = enrol(user)
    sign_in(client, user, device)
    client.post("/sign-out")
    second = Client()
    sign_in(second, user, device)
    assert ConditionsAcceptance.objects.filter(user=user).count() == 2


def test_a_new_version_of_the_conditions_must_be_accepted_before_the_next_page(
    client: Client,
) -> None:
    user = make_user()
    device = enrol(user)
    sign_in(client, user, device)
    assert client.get("/account").status_code == 200
    services.publish_conditions(title="Conditions", body="New text.", by=user)
    assert client.get("/account")["Location"] == "/conditions-of-use?next=%2Faccount"
    stale = client.post("/conditions-of-use", {"version": "1", "accept": "on"})
    assert "have changed while you were reading them" in stale.content.decode()


def test_five_failures_lock_the_email_out_and_the_lockout_is_audited(client: Client) -> None:
    user = make_user()
    for _ in range(5):
        client.post("/sign-in", {"email": user.email, "password": "wrong password here"})
    response = client.post("/sign-in", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts to sign in" in response.content.decode()
    assert events("user.locked_out")[0].payload["email"] == user.email
    # Even the right password does not get in while locked.
    assert not events("user.password_verified")


def test_an_email_is_locked_out_whichever_address_the_attempts_come_from() -> None:
    user = make_user()
    for n in range(5):
        Client(REMOTE_ADDR=f"10.0.0.{n + 1}").post(
            "/sign-in", {"email": user.email.upper(), "password": "wrong password here"}
        )
    response = Client(REMOTE_ADDR="10.0.0.99").post(
        "/sign-in", {"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 429


def test_an_address_is_locked_out_whichever_emails_it_tries() -> None:
    attacker = Client(REMOTE_ADDR="192.0.2.7")
    for n in range(5):
        attacker.post(
            "/sign-in", {"email": f"user{n}@example.org", "password": "guess guess guess"}
        )
    victim = make_user()
    assert (
        attacker.post("/sign-in", {"email": victim.email, "password": PASSWORD}).status_code == 429
    )
    # Someone else, elsewhere, still signs in.
    assert (
        Client(REMOTE_ADDR="198.51.100.1")
        .post("/sign-in", {"email": victim.email, "password": PASSWORD})
        .status_code
        == 302
    )


def test_idle_sessions_end_after_30_minutes(client: Client) -> None:
    user = make_user()
    sign_in(client, user, enrol(user))
    session = client.session
    session[services.LAST_SEEN] = (timezone.now() - timedelta(minutes=31)).isoformat()
    session.save()
    response = client.get("/account")
    assert response["Location"] == "/sign-in?next=%2Faccount"
    assert events("user.signed_out")[-1].payload == {"reason": "idle timeout"}
    page = client.get(response["Location"]).content.decode()
    assert "30 minutes" in page


def test_sessions_end_12_hours_after_sign_in_however_active(client: Client) -> None:
    user = make_user()
    sign_in(client, user, enrol(user))
    session = client.session
    session[services.SIGNED_IN_AT] = (timezone.now() - timedelta(hours=12)).isoformat()
    session.save()
    assert client.get("/account").status_code == 302
    assert events("user.signed_out")[-1].payload == {"reason": "absolute timeout"}


def test_sign_out_everywhere_ends_every_session(client: Client) -> None:
    user = make_user()
    device = enrol(user)
    laptop, phone = client, Client()
    sign_in(laptop, user, device)
    sign_in(phone, user, device)
    laptop.post("/account/sign-out-everywhere")
    assert phone.get("/account")["Location"] == "/sign-in?next=%2Faccount"
    assert laptop.get("/account").status_code == 302
    assert events("user.signed_out_everywhere")[0].actor_id == user.pk


def test_sign_out_is_a_post_and_is_audited(client: Client) -> None:
    user = make_user()
    sign_in(client, user, enrol(user))
    assert client.get("/sign-out").status_code == 405
    response = client.post("/sign-out")
    assert response["Location"] == "/signed-out"
    assert events("user.signed_out")[-1].payload == {"reason": "signed out"}
    assert client.get("/account").status_code == 302


def test_password_reset_by_email_ends_other_sessions(client: Client) -> None:
    user = make_user()
    device = enrol(user)
    other = Client()
    sign_in(other, user, device)
    response = client.post("/password-reset", {"email": "ANA@camden.gov.uk"})
    assert response["Location"] == "/password-reset/sent"
    (message,) = mail.outbox
    assert message.subject == "Reset your SafeStats password"
    assert message.to == ["ana@camden.gov.uk"]
    link = re.search(r"http://testserver(/password-reset/\S+)", str(message.body))
    assert link
    form_page = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    weak = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"}
    )
    assert "at least 12 characters" in weak.content.decode()
    new = "a brand new passphrase here"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert done["Location"] == "/password-reset/complete"
    assert User.objects.get(pk=user.pk).check_password(new)
    assert other.get("/account").status_code == 302  # the old session is over
    assert events("password_reset.requested")[0].payload == {"email": "ana@camden.gov.uk"}
    assert events("user.password_reset")[0].actor_id == user.pk


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    client: Client,
) -> None:
    response = client.post("/password-reset", {"email": "nobody@example.org"})
    assert response["Location"] == "/password-reset/sent"
    assert mail.outbox == []


def test_sign_in_form_needs_its_csrf_token() -> None:
    make_user()
    client = Client(enforce_csrf_checks=True)
    response = client.post("/sign-in", {"email": "ana@camden.gov.uk", "password": PASSWORD})
    assert response.status_code == 403
    assert "Your form could not be sent" in response.content.decode()


def test_signed_in_pages_are_not_cached(client: Client) -> None:
    user = make_user()
    sign_in(client, user, enrol(user))
    assert client.get("/account")["Cache-Control"] == "no-store"


def test_next_never_leads_off_the_site(client: Client) -> None:
    user = make_user()
    device = enrol(user)
    client.post(
        "/sign-in?next=https://evil.example/",
        {"email": user.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    device.last_t = -1
    device.save()
    response = client.post(
        "/sign-in/security-code?next=//evil.example/",
        {"code": code_for(device), "next": "//evil.example/"},
    )
    assert "evil" not in response["Location"]
