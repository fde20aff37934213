"""Reads of organisations, checklists and agreements, including the two the access policy
asks on every request: which grant of a dataset is in force for an organisation at an
instant, and all of them.

Reads that only show things (the document of an agreement) and need auditing are
services, not selectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from safestats.organisations import grants as grant_rules
from safestats.organisations import lifecycle
from safestats.organisations.grants import Grant
from safestats.organisations.models import (
    AgreementDataset,
    ChecklistResponse,
    ChecklistVersion,
    DataSharingAgreement,
    Organisation,
    OrganisationStatus,
    ReviewOutcome,
)
from safestats.organisations.validators import email_domain

__all__ = [
    "Answer",
    "ChecklistState",
    "Grant",
    "agreement_by_reference",
    "agreements",
    "agreements_ending",
    "agreements_in_force",
    "allowed_transitions",
    "answered_questions",
    "checklist_responses",
    "checklist_state",
    "current_checklist_version",
    "find_organisation",
    "grant_in_force",
    "grants_in_force",
    "organisation_counts",
    "organisation_for_email",
    "organisations",
    "organisations_under_review",
    "signed_off_checklist_response",
]


def organisations(*, status: str | None = None) -> QuerySet[Organisation]:
    """Organisations by name, with their domains, optionally of one status."""
    queryset = Organisation.objects.prefetch_related("domains").order_by("name")
    return queryset.filter(status=status) if status else queryset


def organisation_counts() -> dict[str, int]:
    """How many organisations have each status, every status listed (zero included)."""
    counted = dict(
        Organisation.objects.order_by().values_list("status").annotate(count=Count("id"))
    )
    return {status: counted.get(status, 0) for status in OrganisationStatus.values}


def find_organisation(name_or_id: str) -> Organisation | None:
    """An organisation by its id, or by its name in any case; None if there is none."""
    text = name_or_id.strip()
    if text.isdigit():
        found = Organisation.objects.filter(pk=int(text)).first()
        if found is not None:
            return found
    return Organisation.objects.filter(name__iexact=" ".join(text.split())).first()


def organisation_for_email(email: str) -> Organisation | None:
    """The organisation whose listed email domains include this address's domain.

    Exact match only: ``ana@camden.gov.uk`` matches a listed ``camden.gov.uk``, but
    ``ana@housing.camden.gov.uk`` does not unless that subdomain is listed too. The
    organisation is returned whatever its status; check :attr:`Organisation.is_approved`.
    """
    domain = email_domain(email)
    if domain is None:
        return None
    return Organisation.objects.filter(domains__domain=domain).first()


def allowed_transitions(organisation: Organisation) -> list[lifecycle.Transition]:
    """The steps an organisation may take from its present status (for a page's buttons)."""
    return lifecycle.ORGANISATION.targets_from(organisation.status)


def current_checklist_version() -> ChecklistVersion | None:
    """The published checklist with the highest number: the one approvals need."""
    return ChecklistVersion.objects.filter(published=True).order_by("-number").first()


def checklist_responses(*, organisation_id: int) -> QuerySet[ChecklistResponse]:
    """An organisation's answers to the checklist, newest first."""
    return ChecklistResponse.objects.filter(organisation_id=organisation_id).select_related(
        "version"
    )


@dataclass(frozen=True)
class Answer:
    question: str
    guidance: str
    answer: str  # "yes", "no" or "" when the response has no answer to the question
    evidence: str


def answered_questions(response: ChecklistResponse) -> list[Answer]:
    """A response's answers beside the questions of the version it answered, in order."""
    answers = response.answers or {}
    rows: list[Answer] = []
    for question in response.version.questions:
        given = answers.get(str(question["id"])) or {}
        rows.append(
            Answer(
                question=str(question.get("text", question["id"])),
                guidance=str(question.get("guidance", "")),
                answer=str(given.get("answer", "")),
                evidence=str(given.get("evidence", "")),
            )
        )
    return rows


def signed_off_checklist_response(
    *, organisation_id: int, version: ChecklistVersion
) -> ChecklistResponse | None:
    return (
        ChecklistResponse.objects.filter(
            organisation_id=organisation_id, version=version, outcome=ReviewOutcome.SIGNED_OFF
        )
        .order_by("-reviewed_at")
        .first()
    )


@dataclass(frozen=True)
class ChecklistState:
    """Where an organisation stands with the current security audit checklist: its newest
    response (if any) and what that means for approval, in words."""

    organisation: Organisation
    response: ChecklistResponse | None
    summary: str
    ready_for_approval: bool


def checklist_state(
    organisation: Organisation, *, current: ChecklistVersion | None = None
) -> ChecklistState:
    current = current or current_checklist_version()
    response = checklist_responses(organisation_id=organisation.pk).first()
    if current is None:
        summary, ready = "No checklist is published", False
    elif signed_off_checklist_response(organisation_id=organisation.pk, version=current):
        summary, ready = f"Signed off (version {current.number})", True
    elif response is None:
        summary, ready = "Not answered yet", False
    elif response.version_id != current.pk:
        summary, ready = (
            f"Answered version {response.version.number}; the current version is {current.number}",
            False,
        )
    elif response.outcome == ReviewOutcome.RETURNED:
        summary, ready = "Returned to the organisation", False
    else:
        summary, ready = "Waiting for your review", False
    return ChecklistState(organisation, response, summary, ready)


def organisations_under_review() -> list[ChecklistState]:
    """Organisations under review, oldest change first, each with its checklist state."""
    current = current_checklist_version()
    under_review = Organisation.objects.filter(status=OrganisationStatus.UNDER_REVIEW).order_by(
        "status_changed_at", "name"
    )
    return [checklist_state(organisation, current=current) for organisation in under_review]


def agreements_ending(
    *, at: datetime, within: timedelta = timedelta(days=60)
) -> QuerySet[DataSharingAgreement]:
    """Active agreements still in force at ``at`` whose last instant falls within
    ``within`` of it, soonest first."""
    if timezone.is_naive(at):
        raise ValueError("`at` must be an aware datetime")
    return (
        DataSharingAgreement.objects.in_force(at)
        .filter(valid_to__lte=at + within)
        .select_related("organisation")
        .order_by("valid_to", "reference")
    )


def agreements(*, organisation_id: int | None = None) -> QuerySet[DataSharingAgreement]:
    queryset = DataSharingAgreement.objects.select_related("organisation").prefetch_related(
        "grants"
    )
    if organisation_id is not None:
        queryset = queryset.filter(organisation_id=organisation_id)
    return queryset


def agreement_by_reference(reference: str) -> DataSharingAgreement | None:
    return (
        DataSharingAgreement.objects.select_related("organisation")
        .filter(reference__iexact=reference.strip())
        .first()
    )


def agreements_in_force(*, organisation_id: int, at: datetime) -> QuerySet[DataSharingAgreement]:
    """Agreements in force at the instant ``at``: active and ``valid_from <= at < valid_to``."""
    return DataSharingAgreement.objects.in_force(at).filter(organisation_id=organisation_id)


def _grants_in_force(
    *, organisation_id: int, at: datetime, dataset_id: str | None = None
) -> list[Grant]:
    if timezone.is_naive(at):
        raise ValueError("`at` must be an aware datetime")
    rows = AgreementDataset.objects.filter(
        agreement__in=agreements_in_force(organisation_id=organisation_id, at=at)
    ).select_related("agreement")
    if dataset_id is not None:
        rows = rows.filter(dataset_id=dataset_id)
    return [row.as_grant() for row in rows]


def grant_in_force(*, organisation_id: int, dataset_id: str, at: datetime) -> Grant | None:
    """What the organisation's agreements in force at ``at`` grant for one dataset.

    When several agreements cover it, the one grant with the widest level (record over
    aggregate), then the finest precision, then the fewest withheld fields
    (:func:`grants.choose`). None when no agreement in force covers the dataset.

    This answers for agreements only: whether the organisation and the user are allowed
    to use SafeStats at all is for the access policy to check as well.
    """
    return grant_rules.choose(
        _grants_in_force(organisation_id=organisation_id, at=at, dataset_id=dataset_id)
    )


def grants_in_force(*, organisation_id: int, at: datetime) -> list[Grant]:
    """One grant per dataset, chosen as :func:`grant_in_force` chooses, by dataset id."""
    by_dataset: dict[str, list[Grant]] = {}
    for grant in _grants_in_force(organisation_id=organisation_id, at=at):
        by_dataset.setdefault(grant.dataset_id, []).append(grant)
    chosen = (grant_rules.choose(candidates) for _, candidates in sorted(by_dataset.items()))
    return [grant for grant in chosen if grant is not None]
