"""The platform administrator's pages for people across organisations and for the
Conditions of Use: filters, every decision through the authorisation services with its
audit event, refusals in words, and publishing a new version of the Conditions."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from safestats.accounts.models import ConditionsOfUse, User
from tests.factories import OrganisationFactory, UserFactory
from tests.platform import event, signed_in_admin, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> tuple[Client, User]:
    return signed_in_admin()


@pytest.fixture
def camden():
    return OrganisationFactory.create(name="Camden Council", status="approved")


def test_users_are_listed_across_organisations_with_filters(admin, camden) -> None:
    client, _ = admin
    hackney = OrganisationFactory.create(name="Hackney Council", status="approved")
    UserFactory.create(email="ana@camden.gov.uk", organisation=camden, status="pending")
    UserFactory.create(
        email="boss@hackney.gov.uk",
        organisation=hackney,
        status="authorised",
        role="organisation_admin",
    )
    everyone = text(client.get("/platform/users"))
    assert "ana@camden.gov.uk" in everyone and "boss@hackney.gov.uk" in everyone
    by_organisation = text(client.get(f"/platform/users?organisation={camden.pk}"))
    assert "ana@camden.gov.uk" in by_organisation and "boss@hackney" not in by_organisation
    by_status = text(client.get("/platform/users?status=pending"))
    assert "ana@camden.gov.uk" in by_status and "boss@hackney" not in by_status
    by_role = text(client.get("/platform/users?role=organisation_admin"))
    assert "boss@hackney.gov.uk" in by_role and "ana@camden" not in by_role
    nonsense = client.get("/platform/users?role=emperor")
    assert nonsense.status_code == 200 and "govuk-error-message" in nonsense.content.decode()


def test_users_list_is_paged(admin, camden) -> None:
    client, _ = admin
    UserFactory.create_batch(55, organisation=camden)
    first = client.get(f"/platform/users?organisation={camden.pk}")
    assert "55 users" in text(first)
    assert f"organisation={camden.pk}&amp;page=2" in first.content.decode()
    second = client.get(f"/platform/users?organisation={camden.pk}&page=2")
    assert len(re.findall(r'href="/platform/users/\d+"', second.content.decode())) == 5


def test_authorise_and_decline_people_waiting(admin, camden) -> None:
    client, gla = admin
    pending = UserFactory.create(email="ana@camden.gov.uk", organisation=camden, status="pending")
    page = client.get(f"/platform/users/{pending.pk}").content.decode()
    assert 'Authorise<span class="govuk-visually-hidden"> ana@camden.gov.uk</span>' in page
    response = client.post(f"/platform/users/{pending.pk}/authorise")
    assert response["Location"] == f"/platform/users/{pending.pk}"
    pending.refresh_from_db()
    assert pending.status == "authorised" and pending.authorised_by_id == gla.pk
    audit = event("user.authorised")
    assert (audit.actor_id, audit.target_id, audit.organisation_id) == (
        gla.pk,
        str(pending.pk),
        camden.pk,
    )
    assert "ana@camden.gov.uk is authorised." in text(client.get(response["Location"]))

    other = UserFactory.create(email="bob@camden.gov.uk", organisation=camden, status="pending")
    empty = client.post(f"/platform/users/{other.pk}/decline/reason", {"reason": ""})
    assert "Give a reason" in text(empty)
    client.post(f"/platform/users/{other.pk}/decline/reason", {"reason": "Not a member of staff"})
    other.refresh_from_db()
    assert (other.status, other.status_reason) == ("declined", "Not a member of staff")
    assert event("user.declined").payload["reason"] == "Not a member of staff"


def test_suspend_reinstate_and_reconfirm(admin, camden) -> None:
    client, _ = admin
    person = UserFactory.create(email="ana@camden.gov.uk", organisation=camden, status="authorised")
    client.post(f"/platform/users/{person.pk}/suspend/reason", {"reason": "Left the team"})
    person.refresh_from_db()
    assert person.status == "suspended" and person.session_epoch == 1
    assert event("user.suspended").payload["reason"] == "Left the team"

    refused = client.post(f"/platform/users/{person.pk}/reconfirm")
    assert refused.status_code == 409
    assert "Only an authorised account can be reconfirmed; this one is suspended." in text(refused)

    client.post(f"/platform/users/{person.pk}/reinstate")
    person.refresh_from_db()
    assert person.status == "authorised"
    assert event("user.reinstated").target_id == str(person.pk)

    client.post(f"/platform/users/{person.pk}/reconfirm")
    assert event("user.reconfirmed").target_id == str(person.pk)

    twice = client.post(f"/platform/users/{person.pk}/reinstate")
    assert twice.status_code == 409 and "The account is already authorised." in text(twice)
    assert client.post(f"/platform/users/{person.pk}/explode").status_code == 404
    assert client.get(f"/platform/users/{person.pk}/authorise").status_code == 405


def test_change_role(admin, camden) -> None:
    client, _ = admin
    person = UserFactory.create(email="ana@camden.gov.uk", organisation=camden, status="authorised")
    form = client.get(f"/platform/users/{person.pk}/role").content.decode()
    assert 'value="analyst" checked' in form
    client.post(f"/platform/users/{person.pk}/role", {"role": "organisation_admin"})
    person.refresh_from_db()
    assert person.role == "organisation_admin"
    assert event("user.role_changed").payload == {"from": "analyst", "to": "organisation_admin"}
    bad = client.post(f"/platform/users/{person.pk}/role", {"role": "emperor"})
    assert "Choose a role" in text(bad)


def test_conditions_of_use_history_and_publishing(admin) -> None:
    client, gla = admin
    first = ConditionsOfUse.objects.get()
    page = text(client.get("/platform/conditions"))
    assert f"In force: version {first.version}" in page

    empty = client.post("/platform/conditions/new", {"title": "New", "body": "  "})
    assert "Enter the Conditions of Use" in text(empty)
    response = client.post(
        "/platform/conditions/new",
        {"title": "SafeStats Conditions of Use", "body": "Use it well.\n\nSecond <b>para</b>."},
    )
    assert response["Location"] == "/platform/conditions"
    latest = ConditionsOfUse.objects.order_by("-version")[0]
    assert latest.version == first.version + 1 and latest.published_by_id == gla.pk
    assert event("conditions.published").payload == {"version": latest.version}

    # The publisher, too, accepts the new version before their next page.
    bounced = client.get("/platform/conditions")
    assert bounced.status_code == 302 and bounced["Location"].startswith("/conditions-of-use")
    client.post("/conditions-of-use", {"version": latest.version, "accept": "on"})
    after = client.get("/platform/conditions")
    words = text(after)
    assert f"In force: version {latest.version}" in words
    assert "Second &lt;b&gt;para&lt;/b&gt;." in after.content.decode()
    assert "gla.admin@london.gov.uk" in words  # who published it, in the history
