"""Reads of organisations, checklists and agreements, including the two the access policy
asks on every request: which grant of a dataset is in force for an organisation at an
instant, and all of them.

Reads that only show things (the document of an agreement) and need auditing are
services, not selectors.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
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
    ReviewOutcome,
)
from safestats.organisations.validators import email_domain

__all__ = [
    "Grant",
    "agreement_by_reference",
    "agreements",
    "agreements_in_force",
    "allowed_transitions",
    "checklist_responses",
    "current_checklist_version",
    "find_organisation",
    "grant_in_force",
    "grants_in_force",
    "organisation_for_email",
    "organisations",
    "signed_off_checklist_response",
]


def organisations(*, status: str | None = None) -> QuerySet[Organisation]:
    """Organisations by name, with their domains, optionally of one status."""
    queryset = Organisation.objects.prefetch_related("domains").order_by("name")
    return queryset.filter(status=status) if status else queryset


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
