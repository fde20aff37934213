"""Registration, invitation and the organisation administrator's decisions, through the
pages and the services, with their audit events; administrators stay in their own
organisation (IDOR)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from safestats.access.services import decide
from safestats.accounts import authorisation
from safestats.accounts.models import Role, User
from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from tests.signin import PASSWORD, enrol, make_agreement, make_member, make_organisation, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def camden():
    organisation = make_organisation()
    make_agreement(organisation, ("mps-recorded-crime", "aggregate", "ward", ()))
    return organisation


@pytest.fixture
def admin(camden):
    return make_member(camden, "boss@camden.gov.uk", role=Role.ORGANISATION_ADMIN)


def signed_in(user: User) -> Client:
    client = Client()
    sign_in(client, user, enrol(user))
    return client


def test_registration_needs_an_approved_organisation_domain(client: Client, camden) -> None:
    form = {"full_name": "Ana", "password": "a long passphrase here", "purpose": "Assessments"}
    html = client.post("/register", {**form, "email": "ana@gmail.com"}).content.decode()
    assert "not on the domain of an organisation that uses SafeStats" in html
    make_organisation("Not Yet Borough", "notyet.gov.uk", status="under_review")
    html = client.post("/register", {**form, "email": "x@notyet.gov.uk"}).content.decode()
    assert "Not Yet Borough is not approved to use SafeStats yet" in html
    html = client.post(
        "/register", {**form, "email": "ana@camden.gov.uk", "password": "short"}
    ).content.decode()
    assert "at least 12 characters" in html
    assert not User.objects.exists()


def test_registration_waits_for_the_administrator_who_is_told(
    client: Client, camden, admin, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/register",
            {
                "full_name": "Ana Analyst",
                "email": "Ana@Camden.gov.uk",
                "password": "a long passphrase here",
                "purpose": "Annual strategic assessment",
            },
        )
    assert "Request sent" in response.content.decode()
    user = User.objects.get(email="ana@camden.gov.uk")
    assert user.status == "pending" and user.organisation == camden
    assert AuditEvent.objects.get(event="user.registered").payload == {
        "email": "ana@camden.gov.uk",
        "purpose": "Annual strategic assessment",
    }
    (message,) = mail.outbox
    assert message.to == ["boss@camden.gov.uk"]
    assert "Annual strategic assessment" in message.body
    # Pending: may sign in to see their status, but sees no data.
    assert not decide(user, "mps-recorded-crime", "aggregate")
    assert "has not yet authorised" in decide(user, "mps-recorded-crime", "aggregate").reason


def test_administrator_authorises_from_the_console(camden, admin) -> None:
    pending = make_member(camden, "new@camden.gov.uk", status="pending")
    console = signed_in(admin)
    page = console.get("/organisation").content.decode()
    assert "new@camden.gov.uk" in page and "Waiting for your authorisation" in page
    response = console.post(f"/organisation/members/{pending.pk}/authorise")
    assert response["Location"] == "/organisation"
    pending.refresh_from_db()
    assert pending.status == "authorised"
    assert pending.authorised_by_id == admin.pk
    assert pending.authorisation_expires_at is not None
    assert pending.authorisation_expires_at - timezone.now() > timedelta(days=364)
    event = AuditEvent.objects.get(event="user.authorised")
    assert (event.actor_id, event.target_id, event.organisation_id) == (
        admin.pk,
        str(pending.pk),
        camden.pk,
    )
    assert decide(pending, "mps-recorded-crime", "aggregate").allowed


def test_decline_and_suspend_need_a_reason_and_suspension_ends_sessions(camden, admin) -> None:
    analyst = make_member(camden, "ana@camden.gov.uk")
    analyst_client = signed_in(analyst)
    console = signed_in(admin)
    empty = console.post(f"/organisation/members/{analyst.pk}/suspend/reason", {"reason": ""})
    assert "Give a reason" in empty.content.decode()
    console.post(f"/organisation/members/{analyst.pk}/suspend/reason", {"reason": "Left the team"})
    analyst.refresh_from_db()
    assert analyst.status == "suspended" and analyst.status_reason == "Left the team"
    assert analyst_client.get("/account").status_code == 302  # signed out at once
    refused = Client().post("/sign-in", {"email": analyst.email, "password": PASSWORD})
    assert "Your account is suspended" in refused.content.decode()
    assert AuditEvent.objects.get(event="user.suspended").payload["reason"] == "Left the team"
    console.post(f"/organisation/members/{analyst.pk}/reinstate")
    analyst.refresh_from_db()
    assert analyst.status == "authorised"


def test_refused_steps_say_why(camden, admin) -> None:
    analyst = make_member(camden, "ana@camden.gov.uk")
    response = signed_in(admin).post(f"/organisation/members/{analyst.pk}/authorise")
    assert response.status_code == 409
    assert "The account is already authorised." in response.content.decode()


def test_administrators_cannot_see_or_change_another_organisations_users(camden, admin) -> None:
    hackney = make_organisation("Hackney CSP", "hackney.gov.uk")
    outsider = make_member(hackney, "someone@hackney.gov.uk", status="pending")
    console = signed_in(admin)
    assert "someone@hackney.gov.uk" not in console.get("/organisation").content.decode()
    for url in (
        f"/organisation/members/{outsider.pk}/authorise",
        f"/organisation/members/{outsider.pk}/suspend/reason",
    ):
        assert console.post(url, {"reason": "x"}).status_code == 404
    outsider.refresh_from_db()
    assert outsider.status == "pending"
    with pytest.raises(authorisation.AuthorisationError, match="your own organisation"):
        authorisation.authorise(outsider, by=admin)


def test_analysts_cannot_open_the_console(camden) -> None:
    analyst = make_member(camden, "ana@camden.gov.uk")
    assert signed_in(analyst).get("/organisation").status_code == 403


def test_invitation_authorises_in_advance_and_the_link_sets_the_password(
    camden, admin, django_capture_on_commit_callbacks
) -> None:
    console = signed_in(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(
            "/organisation/invite",
            {
                "full_name": "Ian Vited",
                "email": "ian@camden.gov.uk",
                "role": "analyst",
                "purpose": "Tasking",
            },
        )
    assert response["Location"] == "/organisation"
    invited = User.objects.get(email="ian@camden.gov.uk")
    assert invited.status == "invited" and not invited.has_usable_password()
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/password-reset/\S+)", str(message.body))
    assert link
    visitor = Client()
    page = visitor.get(link.group(1), follow=True)
    new = "my own long passphrase"
    visitor.post(page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    invited.refresh_from_db()
    assert invited.status == "authorised" and invited.check_password(new)
    assert invited.authorised_by_id == admin.pk
    assert AuditEvent.objects.filter(event="user.invitation_accepted").count() == 1
    wrong_domain = console.post(
        "/organisation/invite",
        {"full_name": "X", "email": "x@gmail.com", "role": "analyst", "purpose": "Tasking"},
    )
    assert "is not on one of Camden Community Safety Partnership" in wrong_domain.content.decode()


def test_authorisation_lapses_after_12_months_unless_reconfirmed(camden, admin) -> None:
    analyst = make_member(camden, "ana@camden.gov.uk", expires_in=timedelta(days=10))
    assert authorisation.due_for_reconfirmation(organisation_id=camden.pk) == [analyst]
    expiry = analyst.authorisation_expires_at
    assert expiry is not None
    assert decide(analyst, "mps-recorded-crime", "aggregate", at=expiry - timedelta(microseconds=1))
    assert "has lapsed" in decide(analyst, "mps-recorded-crime", "aggregate", at=expiry).reason
    until = authorisation.reconfirm(analyst, by=admin)
    assert until - timezone.now() > timedelta(days=364)
    assert authorisation.due_for_reconfirmation(organisation_id=camden.pk) == []


def test_your_account_shows_exactly_the_access_the_agreement_gives(camden) -> None:
    make_agreement(
        camden,
        ("las-violence-dispatches", "record", "lsoa", ("age_band",)),
        reference="DSA-TEST-002",
    )
    analyst = make_member(camden, "ana@camden.gov.uk")
    page = signed_in(analyst).get("/account").content.decode()
    table = page[page.index('id="your-access"') :]
    assert "mps-recorded-crime" in table and "Totals only" in table and "ward" in table
    assert "las-violence-dispatches" in table and "Individual records and totals" in table
    assert "age_band" in table and "lsoa" in table
    assert "DSA-TEST-002" in table


def test_operator_actions_are_audited_as_the_operator(camden) -> None:
    pending = make_member(camden, "new@camden.gov.uk", status="pending")
    authorisation.authorise(pending, by=Actor.system())
    event = AuditEvent.objects.get(event="user.authorised")
    assert (event.actor_kind, event.actor_label) == ("system", "operator")


def test_nobody_changes_their_own_authorisation_or_role(camden) -> None:
    platform = make_member(camden, "pat@camden.gov.uk", role=Role.PLATFORM_ADMIN)
    with pytest.raises(authorisation.AuthorisationError, match="your own account"):
        authorisation.suspend(platform, by=platform, reason="oops")
    with pytest.raises(authorisation.AuthorisationError, match="your own account"):
        authorisation.change_role(platform, by=platform, role=Role.ANALYST)
