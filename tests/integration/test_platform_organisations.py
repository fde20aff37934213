"""The platform administrator's organisation pages: overview, list, registration,
domains, status changes (approval refused without a signed-off checklist) and the review
of checklist answers, each through the real pages with its database effect and audit
event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safestats.audit.models import AuditEvent
from safestats.organisations.models import (
    ChecklistResponse,
    Organisation,
    OrganisationDomain,
)
from tests.factories import (
    ChecklistResponseFactory,
    DataSharingAgreementFactory,
    OrganisationDomainFactory,
    OrganisationFactory,
    UserFactory,
    current_version,
)
from tests.platform import event, signed_in_admin, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    return signed_in_admin()[0]


def test_overview_shows_what_waits_for_the_platform_team(admin_client: Client) -> None:
    waiting = OrganisationFactory.create(name="Hackney Council", status="under_review")
    response = ChecklistResponseFactory.create(organisation=waiting)
    OrganisationFactory.create(name="Unanswered Borough", status="under_review")
    ending = DataSharingAgreementFactory.create(
        active=True, reference="DSA-ENDING", valid_to=timezone.now() + timedelta(days=20)
    )
    DataSharingAgreementFactory.create(
        active=True, reference="DSA-LATER", valid_to=timezone.now() + timedelta(days=200)
    )
    UserFactory.create(email="new@hackney.gov.uk", status="pending", organisation=waiting)

    page = admin_client.get("/platform")
    assert page.status_code == 200
    html = page.content.decode()
    words = text(page)
    assert "Hackney Council" in words and "Waiting for your review" in words
    assert f"/platform/organisations/{waiting.pk}/checklist/{response.pk}" in html
    assert "Unanswered Borough" in words and "Not answered yet" in words
    assert "DSA-ENDING" in words and "DSA-LATER" not in words
    assert f'href="/platform/agreements/{ending.pk}"' in html
    assert "new@hackney.gov.uk" in words
    assert "Under review 2" in words  # counts by status
    assert 'aria-current="page">Platform</a>' in html


def test_list_filters_by_status(admin_client: Client) -> None:
    OrganisationFactory.create(name="Applied Borough", status="applied")
    OrganisationFactory.create(name="Suspended Trust", status="suspended")
    everything = text(admin_client.get("/platform/organisations"))
    assert "Applied Borough" in everything and "Suspended Trust" in everything
    suspended = text(admin_client.get("/platform/organisations?status=suspended"))
    assert "Suspended Trust" in suspended and "Applied Borough" not in suspended
    # An unknown status is no filter, not an error.
    assert admin_client.get("/platform/organisations?status=nonsense").status_code == 200


def test_register_an_organisation(admin_client: Client) -> None:
    assert admin_client.get("/platform/organisations/new").status_code == 200
    response = admin_client.post(
        "/platform/organisations/new",
        {
            "name": "Royal Borough of Greenwich",
            "type": "local_authority",
            "domains": "royalgreenwich.gov.uk\nGREENWICH.gov.uk",
            "contact_name": "Gail",
            "contact_email": "gail@royalgreenwich.gov.uk",
            "contact_phone": "",
        },
    )
    created = Organisation.objects.get(name="Royal Borough of Greenwich")
    assert response["Location"] == f"/platform/organisations/{created.pk}"
    assert created.status == "applied"
    assert sorted(created.domains.values_list("domain", flat=True)) == [
        "greenwich.gov.uk",
        "royalgreenwich.gov.uk",
    ]
    audit = event("organisation.created")
    assert audit.actor_label == "gla.admin@london.gov.uk"
    assert audit.target_id == str(created.pk)
    page = admin_client.get(response["Location"])
    assert "Royal Borough of Greenwich is registered." in text(page)


def test_registering_a_taken_domain_shows_the_message(admin_client: Client) -> None:
    response = admin_client.post(
        "/platform/organisations/new",
        {"name": "Copycat", "type": "other", "domains": "london.gov.uk"},
    )
    assert response.status_code == 200
    assert "london.gov.uk is already an email domain of Greater London Authority" in text(response)
    assert 'class="govuk-error-summary"' in response.content.decode()
    assert not Organisation.objects.filter(name="Copycat").exists()


def test_organisation_page_shows_details_members_answers_and_agreements(
    admin_client: Client,
) -> None:
    organisation = OrganisationFactory.create(name="Camden Council", status="under_review")
    OrganisationDomainFactory.create(organisation=organisation, domain="camden.gov.uk")
    UserFactory.create(email="ana@camden.gov.uk", organisation=organisation, status="authorised")
    version = current_version()
    first = version.questions[0]
    ChecklistResponseFactory.create(
        organisation=organisation,
        answers={
            q: {"answer": "yes", "evidence": "<b>Policy</b> v2"} for q in version.question_ids()
        },
    )
    DataSharingAgreementFactory.create(organisation=organisation, reference="DSA-CAM-1")

    page = admin_client.get(f"/platform/organisations/{organisation.pk}")
    html, words = page.content.decode(), text(page)
    assert "camden.gov.uk" in words and "ana@camden.gov.uk" in words
    assert first["text"] in words
    assert "&lt;b&gt;Policy&lt;/b&gt; v2" in html  # evidence is escaped
    assert "DSA-CAM-1" in words
    assert '<th scope="col" class="govuk-table__header">Domain</th>' in html
    assert 'Remove<span class="govuk-visually-hidden"> camden.gov.uk</span>' in html
    assert admin_client.get("/platform/organisations/999999").status_code == 404


def test_add_and_remove_a_domain(admin_client: Client) -> None:
    organisation = OrganisationFactory.create(name="Camden Council")
    page = f"/platform/organisations/{organisation.pk}"
    response = admin_client.post(f"{page}/domains/new", {"domain": " Camden.GOV.uk "})
    assert response["Location"] == page
    assert OrganisationDomain.objects.filter(organisation=organisation, domain="camden.gov.uk")
    assert event("organisation.domain_added").payload == {"domain": "camden.gov.uk"}

    taken = admin_client.post(f"{page}/domains/new", {"domain": "london.gov.uk"})
    assert "london.gov.uk is already an email domain of Greater London Authority" in text(taken)
    bad = admin_client.post(f"{page}/domains/new", {"domain": "gmail.com"})
    assert bad.status_code == 200 and "govuk-error-message" in bad.content.decode()

    response = admin_client.post(f"{page}/domains/remove", {"domain": "camden.gov.uk"})
    assert response["Location"] == page
    assert not organisation.domains.exists()
    assert event("organisation.domain_removed").payload == {"domain": "camden.gov.uk"}

    again = admin_client.post(f"{page}/domains/remove", {"domain": "camden.gov.uk"})
    assert again.status_code == 409
    assert "camden.gov.uk is not an email domain of Camden Council" in text(again)
    assert admin_client.get(f"{page}/domains/remove").status_code == 405


def test_approval_is_refused_without_a_signed_off_checklist_then_allowed(
    admin_client: Client,
) -> None:
    organisation = OrganisationFactory.create(name="Islington Council", status="applied")
    status_page = f"/platform/organisations/{organisation.pk}/status"
    form = admin_client.get(status_page)
    assert 'value="under_review"' in form.content.decode()
    assert 'value="approved"' not in form.content.decode()  # not a step from applied

    admin_client.post(status_page, {"to": "under_review"})
    organisation.refresh_from_db()
    assert organisation.status == "under_review"
    assert event("organisation.submitted_for_review").target_id == str(organisation.pk)

    refused = admin_client.post(status_page, {"to": "approved"})
    assert refused.status_code == 200
    assert (
        "Islington Council cannot be approved until a platform administrator has signed off "
        "its answers to the security audit checklist" in text(refused)
    )
    organisation.refresh_from_db()
    assert organisation.status == "under_review"
    assert not AuditEvent.objects.filter(event="organisation.approved").exists()

    response = ChecklistResponseFactory.create(organisation=organisation)
    review = f"/platform/organisations/{organisation.pk}/checklist/{response.pk}"
    assert "Review the answers" in text(admin_client.get(review))
    admin_client.post(review, {"outcome": "signed_off", "note": ""})
    response.refresh_from_db()
    assert response.outcome == "signed_off"
    assert response.reviewed_by_label == "gla.admin@london.gov.uk"
    assert event("checklist.signed_off").target_id == str(response.pk)

    done = admin_client.post(status_page, {"to": "approved"})
    assert done["Location"] == f"/platform/organisations/{organisation.pk}"
    organisation.refresh_from_db()
    assert organisation.status == "approved"
    assert event("organisation.approved").payload["checklist_response_id"] == response.pk


def test_suspension_needs_a_reason(admin_client: Client) -> None:
    organisation = OrganisationFactory.create(name="Barnet Council", status="approved")
    status_page = f"/platform/organisations/{organisation.pk}/status"
    empty = admin_client.post(status_page, {"to": "suspended", "reason": " "})
    assert "Enter the reason the organisation is being suspended" in text(empty)
    admin_client.post(status_page, {"to": "suspended", "reason": "Breach under investigation"})
    organisation.refresh_from_db()
    assert (organisation.status, organisation.status_reason) == (
        "suspended",
        "Breach under investigation",
    )
    assert event("organisation.suspended").payload["reason"] == "Breach under investigation"
    not_a_step = admin_client.post(status_page, {"to": "under_review"})
    assert "An organisation that is suspended cannot be submitted for review" in text(not_a_step)


def test_return_checklist_answers_with_a_note(admin_client: Client) -> None:
    organisation = OrganisationFactory.create(name="Ealing Council", status="under_review")
    response = ChecklistResponseFactory.create(organisation=organisation)
    review = f"/platform/organisations/{organisation.pk}/checklist/{response.pk}"
    no_note = admin_client.post(review, {"outcome": "returned", "note": ""})
    assert "Enter a note saying what the organisation needs to change" in text(no_note)
    admin_client.post(review, {"outcome": "returned", "note": "Evidence for encryption, please"})
    response.refresh_from_db()
    assert response.outcome == "returned"
    assert event("checklist.returned").payload["note"] == "Evidence for encryption, please"
    again = admin_client.post(review, {"outcome": "signed_off"})
    assert "These answers were already returned to the organisation" in text(again)
    other = OrganisationFactory.create()
    assert (
        admin_client.get(f"/platform/organisations/{other.pk}/checklist/{response.pk}").status_code
        == 404
    )


def test_answers_of_no_cannot_be_signed_off(admin_client: Client) -> None:
    organisation = OrganisationFactory.create(status="under_review")
    version = current_version()
    response = ChecklistResponseFactory.create(
        organisation=organisation,
        answers={q: {"answer": "no", "evidence": ""} for q in version.question_ids()},
    )
    review = f"/platform/organisations/{organisation.pk}/checklist/{response.pk}"
    refused = admin_client.post(review, {"outcome": "signed_off"})
    assert 'Answers of "no" cannot be signed off' in text(refused)
    assert ChecklistResponse.objects.get(pk=response.pk).outcome == ""
