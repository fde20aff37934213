"""An organisation's lifecycle: every step the table allows, every step it refuses (in
words), approval only with a signed-off checklist, and the audit event of each step."""

from __future__ import annotations

from typing import Any

import pytest

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.organisations import lifecycle, services
from safestats.organisations.errors import ApprovalRefused, NotPermitted, TransitionNotAllowed
from safestats.organisations.models import Organisation, OrganisationStatus
from tests.factories import (
    ChecklistResponseFactory,
    ChecklistVersionFactory,
    OrganisationFactory,
    PlatformAdminFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ALLOWED = [
    ("applied", "under_review", "organisation.submitted_for_review", ""),
    ("under_review", "approved", "organisation.approved", ""),
    ("approved", "suspended", "organisation.suspended", "Data breach under investigation"),
    ("suspended", "approved", "organisation.reinstated", ""),
    ("applied", "withdrawn", "organisation.withdrawn", "Applied in error"),
    ("under_review", "withdrawn", "organisation.withdrawn", "No longer needs access"),
    ("approved", "withdrawn", "organisation.withdrawn", "Service decommissioned"),
    ("suspended", "withdrawn", "organisation.withdrawn", "Did not respond"),
]


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq")[0]


def signed_off(organisation: Organisation) -> Any:
    return ChecklistResponseFactory.create(organisation=organisation, signed_off=True)


@pytest.mark.parametrize(("source", "target", "event", "reason"), ALLOWED)
def test_every_allowed_step_changes_status_and_is_audited(
    source: str, target: str, event: str, reason: str
) -> None:
    admin = PlatformAdminFactory.create()
    organisation = OrganisationFactory.create(status=source)
    response = signed_off(organisation)

    done = services.transition_organisation(
        organisation=organisation, to=target, reason=reason, by=admin
    )

    done.refresh_from_db()
    assert done.status == target
    assert done.status_reason == reason
    audit = last_event()
    assert audit.event == event
    assert (audit.actor_kind, audit.actor_id, audit.actor_label) == ("user", admin.pk, admin.email)
    assert (audit.target_type, audit.target_id) == ("organisations.organisation", str(done.pk))
    assert (audit.organisation_id, audit.organisation_name) == (done.pk, done.name)
    expected: dict[str, Any] = {"from": source, "to": target, "reason": reason}
    if target == "approved":
        expected |= {"checklist_version": 1, "checklist_response_id": response.pk}
    assert audit.payload == expected


def test_the_table_is_what_the_steps_above_cover() -> None:
    table = {(t.source, t.target, t.event) for t in lifecycle.ORGANISATION.transitions}
    assert table == {(s, t, e) for s, t, e, _ in ALLOWED}


REFUSED = [
    (source, target)
    for source in OrganisationStatus.values
    for target in OrganisationStatus.values
    if (source, target) not in {(s, t) for s, t, _, _ in ALLOWED}
]


@pytest.mark.parametrize(("source", "target"), REFUSED)
def test_every_other_step_is_refused_in_words_and_not_audited(source: str, target: str) -> None:
    organisation = OrganisationFactory.create(status=source)
    signed_off(organisation)
    before = AuditEvent.objects.count()

    with pytest.raises(TransitionNotAllowed) as refused:
        services.transition_organisation(
            organisation=organisation, to=target, reason="because", by=Actor.system()
        )

    states, verbs = lifecycle.ORGANISATION.states, lifecycle.ORGANISATION.verbs
    if source == target:
        assert refused.value.message == f"The organisation is already {states[source]}."
    else:
        assert refused.value.message == (
            f"An organisation that is {states[source]} cannot be {verbs[target]}."
        )
    organisation.refresh_from_db()
    assert organisation.status == source
    assert AuditEvent.objects.count() == before


def test_the_message_reads_as_a_sentence() -> None:
    organisation = OrganisationFactory.create(status="withdrawn")
    with pytest.raises(TransitionNotAllowed) as refused:
        services.approve_organisation(organisation=organisation, by=Actor.system())
    assert str(refused.value) == "An organisation that is withdrawn cannot be approved."


@pytest.mark.parametrize("target", ["suspended", "withdrawn"])
def test_suspending_or_withdrawing_needs_a_reason(target: str) -> None:
    organisation = OrganisationFactory.create(status="approved")
    with pytest.raises(TransitionNotAllowed) as refused:
        services.transition_organisation(
            organisation=organisation, to=target, reason="   ", by=Actor.system()
        )
    assert refused.value.message == f"Enter the reason {organisation.name} is being {target}."
    assert refused.value.field == "reason"


def test_no_approval_without_a_signed_off_checklist() -> None:
    organisation = OrganisationFactory.create(status="under_review", name="Borough of Testing")
    before = AuditEvent.objects.count()
    with pytest.raises(ApprovalRefused) as refused:
        services.approve_organisation(organisation=organisation, by=Actor.system())
    assert refused.value.message == (
        "Borough of Testing cannot be approved until a platform administrator has signed off "
        "its answers to the security audit checklist (version 1)."
    )
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("outcome", ["", "returned"])
def test_answers_not_signed_off_do_not_count(outcome: str) -> None:
    organisation = OrganisationFactory.create(status="under_review")
    ChecklistResponseFactory.create(organisation=organisation, outcome=outcome)
    with pytest.raises(ApprovalRefused):
        services.approve_organisation(organisation=organisation, by=Actor.system())


def test_a_sign_off_for_an_older_version_does_not_count() -> None:
    organisation = OrganisationFactory.create(status="under_review")
    signed_off(organisation)  # version 1
    newer = ChecklistVersionFactory.create(published=True)
    with pytest.raises(ApprovalRefused, match=f"version {newer.number}"):
        services.approve_organisation(organisation=organisation, by=Actor.system())


def test_reinstatement_needs_a_sign_off_for_the_current_version_too() -> None:
    organisation = OrganisationFactory.create(status="suspended")
    signed_off(organisation)
    ChecklistVersionFactory.create(published=True)
    with pytest.raises(ApprovalRefused, match="cannot be reinstated"):
        services.reinstate_organisation(organisation=organisation, by=Actor.system())


def test_an_unpublished_version_is_not_the_current_one() -> None:
    organisation = OrganisationFactory.create(status="under_review")
    signed_off(organisation)
    ChecklistVersionFactory.create(published=False)
    services.approve_organisation(organisation=organisation, by=Actor.system())
    assert organisation.status == "approved"


def test_only_a_platform_administrator_changes_status() -> None:
    organisation = OrganisationFactory.create(status="applied")
    for who in (UserFactory.create(), None, Actor.anonymous()):
        with pytest.raises(NotPermitted, match="Only a platform administrator"):
            services.submit_for_review(organisation=organisation, by=who)
    inactive = PlatformAdminFactory.create(is_active=False)
    with pytest.raises(NotPermitted):
        services.submit_for_review(organisation=organisation, by=inactive)


def test_the_operator_is_recorded_as_the_system() -> None:
    organisation = OrganisationFactory.create(status="applied")
    services.submit_for_review(organisation=organisation, by=Actor.system())
    audit = last_event()
    assert (audit.actor_kind, audit.actor_id, audit.actor_label) == ("system", None, "operator")


def test_convenience_services_take_the_named_step() -> None:
    organisation = OrganisationFactory.create(status="applied")
    signed_off(organisation)
    by = Actor.system()
    services.submit_for_review(organisation=organisation, by=by)
    services.approve_organisation(organisation=organisation, by=by)
    services.suspend_organisation(organisation=organisation, reason="Audit overdue", by=by)
    services.reinstate_organisation(organisation=organisation, by=by)
    services.withdraw_organisation(organisation=organisation, reason="Merged", by=by)
    events = list(
        AuditEvent.objects.filter(target_id=str(organisation.pk)).values_list("event", flat=True)
    )
    assert events == [
        "organisation.submitted_for_review",
        "organisation.approved",
        "organisation.suspended",
        "organisation.reinstated",
        "organisation.withdrawn",
    ]
