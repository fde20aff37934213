"""Registering organisations: names unique in any case, email domains unique across
organisations and matched exactly, details changes audited; and the checklist answered,
signed off or returned."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.organisations import selectors, services
from safestats.organisations.errors import (
    Conflict,
    InvalidValue,
    NotPermitted,
    TransitionNotAllowed,
)
from safestats.organisations.forms import (
    ChecklistAnswersForm,
    ChecklistReviewForm,
    OrganisationForm,
    TransitionForm,
)
from safestats.organisations.models import Organisation, OrganisationDomain
from tests.factories import (
    ChecklistResponseFactory,
    ChecklistVersionFactory,
    OrganisationDomainFactory,
    OrganisationFactory,
    PlatformAdminFactory,
    UserFactory,
    all_yes,
    current_version,
)

pytestmark = pytest.mark.django_db


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq")[0]


def register(name: str = "London Borough of Camden", *domains: str) -> Organisation:
    return services.create_organisation(
        name=name,
        type="local_authority",
        domains=domains or ("camden.gov.uk",),
        contact_name="Casey Contact",
        contact_email="Casey.Contact@Camden.gov.uk",
        by=Actor.anonymous("casey.contact@camden.gov.uk"),
    )


def test_registration_applies_and_is_audited() -> None:
    organisation = services.create_organisation(
        name="  London   Borough of Camden ",
        type="local_authority",
        domains=["Camden.GOV.uk.", "camden.gov.uk", "housing.camden.gov.uk"],
        contact_email="Casey.Contact@Camden.gov.uk",
        by=Actor.anonymous("casey.contact@camden.gov.uk"),
    )
    assert organisation.name == "London Borough of Camden"
    assert organisation.status == "applied"
    assert organisation.contact_email == "casey.contact@camden.gov.uk"
    assert sorted(d.domain for d in organisation.domains.all()) == [
        "camden.gov.uk",
        "housing.camden.gov.uk",
    ]
    audit = last_event()
    assert audit.event == "organisation.created"
    assert (audit.actor_kind, audit.actor_label) == ("anonymous", "casey.contact@camden.gov.uk")
    assert audit.target_id == str(organisation.pk)
    assert audit.payload == {
        "name": "London Borough of Camden",
        "type": "local_authority",
        "domains": ["camden.gov.uk", "housing.camden.gov.uk"],
        "status": "applied",
    }


def test_names_are_unique_in_any_case() -> None:
    register()
    with pytest.raises(Conflict, match="There is already an organisation called London"):
        register("LONDON BOROUGH OF CAMDEN", "other.gov.uk")


def test_the_database_refuses_a_duplicate_name_in_another_case_too() -> None:
    OrganisationFactory.create(name="Borough of Testing")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationFactory.create(name="borough of testing")


def test_a_domain_belongs_to_one_organisation_only() -> None:
    register()
    with pytest.raises(Conflict) as refused:
        register("Camden Police", "CAMDEN.gov.uk")
    assert refused.value.message == (
        "camden.gov.uk is already an email domain of London Borough of Camden."
    )
    assert refused.value.field == "domains"
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationDomainFactory.create(domain="camden.gov.uk")


def test_the_database_keeps_domains_lower_case() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationDomainFactory.create(domain="Camden.gov.uk")


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("", "Enter an email domain"),
        ("ana@camden.gov.uk", "without a name, @ or https://"),
        ("https://camden.gov.uk", "without a name, @ or https://"),
        ("camden", "is not a valid domain name"),
        ("-camden.gov.uk", "is not a valid domain name"),
        ("camden..gov.uk", "is not a valid domain name"),
        ("camden.gov.uk2", "is not a valid domain name"),
        ("gmail.com", "is a public email service"),
    ],
)
def test_bad_domains_are_refused_with_a_reason(domain: str, message: str) -> None:
    with pytest.raises(InvalidValue, match=message):
        register("Borough of Testing", domain)


def test_an_organisation_needs_a_domain() -> None:
    with pytest.raises(InvalidValue, match="Enter at least one email domain"):
        services.create_organisation(
            name="No Domains", type="police", domains=[], by=Actor.system()
        )


def test_email_finds_its_organisation_by_exact_domain_in_any_case() -> None:
    camden = register()
    assert selectors.organisation_for_email("Ana.Analyst@CAMDEN.gov.uk ") == camden
    assert selectors.organisation_for_email("ana@housing.camden.gov.uk") is None
    assert selectors.organisation_for_email("ana@camden.gov.uk.evil.example") is None
    assert selectors.organisation_for_email("ana@notcamden.gov.uk") is None
    assert selectors.organisation_for_email("not an email") is None
    assert selectors.organisation_for_email("ana@") is None
    services.add_domain(organisation=camden, domain="housing.camden.gov.uk", by=Actor.system())
    assert selectors.organisation_for_email("ana@housing.camden.gov.uk") == camden


def test_domains_added_and_removed_are_audited() -> None:
    camden = register()
    admin = PlatformAdminFactory.create()
    services.add_domain(organisation=camden, domain="Housing.Camden.gov.uk", by=admin)
    assert last_event().event == "organisation.domain_added"
    assert last_event().payload == {"domain": "housing.camden.gov.uk"}
    services.remove_domain(organisation=camden, domain="housing.camden.gov.uk", by=admin)
    assert last_event().event == "organisation.domain_removed"
    assert not OrganisationDomain.objects.filter(domain="housing.camden.gov.uk").exists()
    other = register("Camden Police", "met.police.uk")
    with pytest.raises(Conflict):
        services.add_domain(organisation=other, domain="camden.gov.uk", by=admin)
    with pytest.raises(NotPermitted):
        services.add_domain(organisation=camden, domain="x.gov.uk", by=UserFactory.create())


def test_changed_details_are_audited_field_by_field() -> None:
    camden = register()
    services.update_organisation(
        organisation=camden,
        name="London Borough of Camden",
        type="local_authority",
        contact_name="Robin Replacement",
        contact_email="casey.contact@camden.gov.uk",
        contact_phone="020 7974 4444",
        by=Actor.system(),
    )
    audit = last_event()
    assert audit.event == "organisation.updated"
    assert audit.payload == {
        "changes": {
            "contact_name": {"before": "Casey Contact", "after": "Robin Replacement"},
            "contact_phone": {"before": "", "after": "020 7974 4444"},
        }
    }


def test_registration_form_explains_each_problem() -> None:
    register()
    form = OrganisationForm(
        data={
            "name": "london borough of camden",
            "type": "",
            "domains": "camden.gov.uk",
            "contact_email": "not-an-email",
        }
    )
    assert not form.is_valid()
    assert form.errors == {
        "name": ["There is already an organisation called London Borough of Camden"],
        "type": ["Select the type of organisation"],
        "domains": ["camden.gov.uk is already an email domain of London Borough of Camden"],
        "contact_email": ["Enter an email address in the correct format, like name@example.org"],
    }
    good = OrganisationForm(
        data={"name": "Camden Police", "type": "police", "domains": "a.police.uk, B.police.uk"}
    )
    assert good.is_valid(), good.errors
    assert good.cleaned_data["domains"] == ["a.police.uk", "b.police.uk"]


def test_transition_form_refuses_in_words_and_asks_for_a_reason() -> None:
    organisation = OrganisationFactory.create(status="withdrawn")
    form = TransitionForm(data={"to": "approved"}, organisation=organisation)
    assert not form.is_valid()
    assert form.errors["to"] == ["An organisation that is withdrawn cannot be approved"]
    approved = OrganisationFactory.create(status="approved")
    form = TransitionForm(data={"to": "suspended"}, organisation=approved)
    assert form.errors["reason"] == ["Enter the reason the organisation is being suspended"]
    assert form.allowed == ["suspended", "withdrawn"]


# --- the checklist --------------------------------------------------------------------------


def test_the_first_checklist_version_is_published_by_migration() -> None:
    version = selectors.current_checklist_version()
    assert version is not None and version.number == 1 and version.published
    assert len(version.questions) == 10
    assert "dpia" in version.question_ids()
    assert all(q["text"] and q["guidance"] for q in version.questions)


def test_answers_are_submitted_then_signed_off_and_both_are_audited() -> None:
    organisation = OrganisationFactory.create()
    analyst = UserFactory.create()
    admin = PlatformAdminFactory.create()
    version = current_version()
    response = services.submit_checklist_response(
        organisation=organisation, answers=all_yes(version), by=analyst
    )
    submitted = last_event()
    assert (submitted.event, submitted.actor_id) == ("checklist.submitted", analyst.pk)
    assert submitted.payload == {"version": 1, "answered_no": []}
    assert response.submitted_by == analyst and response.outcome == ""

    services.review_checklist_response(response=response, outcome="signed_off", by=admin)
    reviewed = last_event()
    assert (reviewed.event, reviewed.actor_id) == ("checklist.signed_off", admin.pk)
    assert reviewed.organisation_id == organisation.pk
    response.refresh_from_db()
    assert response.is_signed_off and response.reviewed_by == admin and response.reviewed_at
    assert (
        selectors.signed_off_checklist_response(organisation_id=organisation.pk, version=version)
        == response
    )


def test_answers_with_a_no_are_returned_with_a_note_not_signed_off() -> None:
    organisation = OrganisationFactory.create()
    answers = all_yes(current_version())
    answers["dpia"] = {"answer": "no", "evidence": ""}
    response = services.submit_checklist_response(
        organisation=organisation, answers=answers, by=Actor.system()
    )
    assert last_event().payload == {"version": 1, "answered_no": ["dpia"]}
    with pytest.raises(TransitionNotAllowed, match='Answers of "no" cannot be signed off: dpia'):
        services.review_checklist_response(
            response=response, outcome="signed_off", by=Actor.system()
        )
    with pytest.raises(InvalidValue, match="Enter a note saying what the organisation"):
        services.review_checklist_response(response=response, outcome="returned", by=Actor.system())
    services.review_checklist_response(
        response=response, outcome="returned", note="Complete a DPIA first", by=Actor.system()
    )
    assert last_event().event == "checklist.returned"
    assert last_event().payload == {"version": 1, "note": "Complete a DPIA first"}
    with pytest.raises(TransitionNotAllowed, match="already returned"):
        services.review_checklist_response(
            response=response, outcome="returned", note="again", by=Actor.system()
        )


def test_answers_must_cover_every_question_with_evidence_for_each_yes() -> None:
    organisation = OrganisationFactory.create()
    version = current_version()
    answers = all_yes(version)
    del answers["email_mfa"]
    with pytest.raises(InvalidValue, match='Select yes or no for "Is multi-factor'):
        services.submit_checklist_response(
            organisation=organisation, answers=answers, by=Actor.system()
        )
    answers = all_yes(version)
    answers["email_mfa"]["evidence"] = " "
    with pytest.raises(InvalidValue, match="Enter the evidence for your answer"):
        services.submit_checklist_response(
            organisation=organisation, answers=answers, by=Actor.system()
        )
    answers = all_yes(version) | {"made_up": {"answer": "yes", "evidence": "x"}}
    with pytest.raises(InvalidValue, match="has no question made_up"):
        services.submit_checklist_response(
            organisation=organisation, answers=answers, by=Actor.system()
        )


def test_one_set_of_answers_waits_for_review_at_a_time() -> None:
    organisation = OrganisationFactory.create()
    ChecklistResponseFactory.create(organisation=organisation)
    with pytest.raises(TransitionNotAllowed, match="waiting for review"):
        services.submit_checklist_response(
            organisation=organisation, answers=all_yes(current_version()), by=Actor.system()
        )


def test_answers_to_an_old_version_cannot_be_signed_off() -> None:
    response = ChecklistResponseFactory.create()
    ChecklistVersionFactory.create(published=True)
    with pytest.raises(TransitionNotAllowed, match="no longer the current version"):
        services.review_checklist_response(
            response=response, outcome="signed_off", by=Actor.system()
        )


def test_only_a_platform_administrator_reviews_or_publishes() -> None:
    response = ChecklistResponseFactory.create()
    with pytest.raises(NotPermitted):
        services.review_checklist_response(
            response=response, outcome="signed_off", by=UserFactory.create()
        )
    with pytest.raises(NotPermitted):
        services.publish_checklist_version(
            questions=[{"id": "q", "text": "Q?"}], by=UserFactory.create()
        )


def test_publishing_a_version_makes_it_current() -> None:
    version = services.publish_checklist_version(
        questions=[{"id": "named_officer", "text": "Is there a named officer?"}],
        by=Actor.system(),
    )
    assert version.number == 2 and selectors.current_checklist_version() == version
    assert last_event().event == "checklist.published"
    assert last_event().payload == {"number": 2, "question_ids": ["named_officer"]}
    with pytest.raises(InvalidValue, match="needs an id of its own"):
        services.publish_checklist_version(
            questions=[{"id": "a", "text": "A"}, {"id": "a", "text": "B"}], by=Actor.system()
        )


def test_checklist_forms_explain_what_is_missing() -> None:
    version = ChecklistVersionFactory.create()
    form = ChecklistAnswersForm(
        data={"named_officer_answer": "yes", "encrypted_answer": ""}, version=version
    )
    assert not form.is_valid()
    assert form.errors == {
        "encrypted_answer": ['Select yes or no for "Are devices encrypted?"'],
        "named_officer_evidence": [
            'Enter the evidence for your answer to "Is there a named officer?"'
        ],
    }
    form = ChecklistAnswersForm(
        data={
            "named_officer_answer": "yes",
            "named_officer_evidence": "Jo Bloggs, DPO",
            "encrypted_answer": "no",
        },
        version=version,
    )
    assert form.is_valid(), form.errors
    assert form.answers() == {
        "named_officer": {"answer": "yes", "evidence": "Jo Bloggs, DPO"},
        "encrypted": {"answer": "no", "evidence": ""},
    }
    review = ChecklistReviewForm(data={"outcome": "returned", "note": ""})
    assert review.errors == {"note": ["Enter a note saying what the organisation needs to change"]}
