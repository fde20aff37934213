"""Writes to organisations: registration, details, email domains and the lifecycle
(submitted for review, approved, suspended, reinstated, withdrawn)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from safestats.audit.services import record
from safestats.organisations import lifecycle, selectors
from safestats.organisations.errors import (
    ApprovalRefused,
    Conflict,
    InvalidValue,
    TransitionNotAllowed,
)
from safestats.organisations.models import (
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
)
from safestats.organisations.services._actors import By, require_platform_administrator
from safestats.organisations.services._common import conflict_on_integrity_error, tidy
from safestats.organisations.validators import normalise_domain


def _clean_name(name: str, *, excluding: int | None = None) -> str:
    cleaned = tidy(name)
    if not cleaned:
        raise InvalidValue("Enter the organisation's name.", field="name")
    if len(cleaned) > 200:
        raise InvalidValue("The organisation's name must be 200 characters or fewer.", field="name")
    others = Organisation.objects.filter(name__iexact=cleaned)
    if excluding is not None:
        others = others.exclude(pk=excluding)
    taken = others.first()
    if taken is not None:
        raise Conflict(f"There is already an organisation called {taken.name}.", field="name")
    return cleaned


def _clean_type(type: str) -> str:
    if type not in OrganisationType.values:
        raise InvalidValue(
            f"Choose the type of organisation; {type!r} is not one of "
            f"{', '.join(OrganisationType.values)}.",
            field="type",
        )
    return type


def _clean_domains(domains: Iterable[str], *, organisation_id: int | None = None) -> list[str]:
    cleaned: list[str] = []
    for value in domains:
        domain = normalise_domain(value)
        if domain not in cleaned:
            cleaned.append(domain)
    for domain in cleaned:
        _refuse_taken_domain(domain, organisation_id=organisation_id)
    return cleaned


def _refuse_taken_domain(domain: str, *, organisation_id: int | None) -> None:
    holders = OrganisationDomain.objects.filter(domain=domain).select_related("organisation")
    if organisation_id is not None:
        holders = holders.exclude(organisation_id=organisation_id)
    holder = holders.first()
    if holder is not None:
        raise Conflict(
            f"{domain} is already an email domain of {holder.organisation.name}.",
            field="domains",
        )


def create_organisation(
    *,
    name: str,
    type: str,
    domains: Iterable[str],
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    by: By,
) -> Organisation:
    """Register an organisation (status: applied) with its email domains.

    Anyone may apply, so no role is needed; the actor is recorded. Raises InvalidValue or
    Conflict (a name or domain already taken) with a message for the applicant.
    """
    with transaction.atomic():
        cleaned_name = _clean_name(name)
        cleaned_domains = _clean_domains(domains)
        if not cleaned_domains:
            raise InvalidValue(
                "Enter at least one email domain your staff have addresses at, like camden.gov.uk.",
                field="domains",
            )
        with conflict_on_integrity_error(
            "That organisation name or email domain has just been taken. Check and try again.",
            field="name",
        ):
            organisation = Organisation.objects.create(
                name=cleaned_name,
                type=_clean_type(type),
                contact_name=tidy(contact_name),
                contact_email=contact_email.strip().lower(),
                contact_phone=tidy(contact_phone),
            )
            OrganisationDomain.objects.bulk_create(
                OrganisationDomain(organisation=organisation, domain=domain)
                for domain in cleaned_domains
            )
        record(
            "organisation.created",
            actor=by,
            target=organisation,
            organisation=organisation,
            payload={
                "name": organisation.name,
                "type": organisation.type,
                "domains": cleaned_domains,
                "status": organisation.status,
            },
        )
    return organisation


def update_organisation(
    *,
    organisation: Organisation,
    name: str,
    type: str,
    contact_name: str,
    contact_email: str,
    contact_phone: str,
    by: By,
) -> Organisation:
    """Change an organisation's name, type or contact; the audit event lists each change."""
    require_platform_administrator(by, "change an organisation's details")
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        wanted: dict[str, Any] = {
            "name": _clean_name(name, excluding=locked.pk),
            "type": _clean_type(type),
            "contact_name": tidy(contact_name),
            "contact_email": contact_email.strip().lower(),
            "contact_phone": tidy(contact_phone),
        }
        changes = {
            field: {"before": getattr(locked, field), "after": value}
            for field, value in wanted.items()
            if getattr(locked, field) != value
        }
        if not changes:
            return locked
        for field in changes:
            setattr(locked, field, wanted[field])
        with conflict_on_integrity_error(
            f"There is already an organisation called {wanted['name']}.", field="name"
        ):
            locked.save(update_fields=list(changes))
        record(
            "organisation.updated",
            actor=by,
            target=locked,
            organisation=locked,
            payload={"changes": changes},
        )
    return locked


def add_domain(*, organisation: Organisation, domain: str, by: By) -> OrganisationDomain:
    require_platform_administrator(by, "add an email domain to an organisation")
    with transaction.atomic():
        cleaned = normalise_domain(domain)
        existing = organisation.domains.filter(domain=cleaned).first()
        if existing is not None:
            return existing
        _refuse_taken_domain(cleaned, organisation_id=organisation.pk)
        with conflict_on_integrity_error(
            f"{cleaned} is already an email domain of another organisation.", field="domains"
        ):
            row = OrganisationDomain.objects.create(organisation=organisation, domain=cleaned)
        record(
            "organisation.domain_added",
            actor=by,
            target=organisation,
            organisation=organisation,
            payload={"domain": cleaned},
        )
    return row


def remove_domain(*, organisation: Organisation, domain: str, by: By) -> None:
    require_platform_administrator(by, "remove an email domain from an organisation")
    with transaction.atomic():
        cleaned = normalise_domain(domain)
        deleted, _ = organisation.domains.filter(domain=cleaned).delete()
        if not deleted:
            raise InvalidValue(f"{cleaned} is not an email domain of {organisation.name}.")
        record(
            "organisation.domain_removed",
            actor=by,
            target=organisation,
            organisation=organisation,
            payload={"domain": cleaned},
        )


def transition_organisation(
    *, organisation: Organisation, to: str, reason: str = "", by: By
) -> Organisation:
    """Move an organisation along its lifecycle (:data:`lifecycle.ORGANISATION`).

    Writes the step's audit event in the same transaction. Raises TransitionNotAllowed
    for a step the table does not have or a missing reason, and ApprovalRefused for an
    approval without a signed-off checklist for the current published version.
    """
    require_platform_administrator(by, "change an organisation's status")
    reason = reason.strip()
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        step = lifecycle.ORGANISATION.step(locked.status, to)
        if step.reason_required and not reason:
            raise TransitionNotAllowed(
                f"Enter the reason {locked.name} is being {lifecycle.ORGANISATION.verb(step)}.",
                field="reason",
            )
        payload: dict[str, Any] = {"from": locked.status, "to": to, "reason": reason}
        if step.needs_signed_off_checklist:
            payload.update(_signed_off_checklist(locked, verb=lifecycle.ORGANISATION.verb(step)))
        locked.status = to
        locked.status_reason = reason
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_reason", "status_changed_at"])
        record(step.event, actor=by, target=locked, organisation=locked, payload=payload)
    organisation.status = locked.status
    organisation.status_reason = locked.status_reason
    organisation.status_changed_at = locked.status_changed_at
    return locked


def _signed_off_checklist(organisation: Organisation, *, verb: str) -> dict[str, Any]:
    version = selectors.current_checklist_version()
    if version is None:
        raise ApprovalRefused(
            f"{organisation.name} cannot be {verb}: no security audit checklist is published."
        )
    response = selectors.signed_off_checklist_response(
        organisation_id=organisation.pk, version=version
    )
    if response is None:
        raise ApprovalRefused(
            f"{organisation.name} cannot be {verb} until a platform administrator has signed "
            f"off its answers to the security audit checklist (version {version.number})."
        )
    return {"checklist_version": version.number, "checklist_response_id": response.pk}


def submit_for_review(*, organisation: Organisation, by: By) -> Organisation:
    return transition_organisation(
        organisation=organisation, to=OrganisationStatus.UNDER_REVIEW, by=by
    )


def approve_organisation(*, organisation: Organisation, by: By) -> Organisation:
    """Approve an organisation under review. No approval without a signed-off security
    audit checklist for the current version: ApprovalRefused otherwise."""
    return transition_organisation(organisation=organisation, to=OrganisationStatus.APPROVED, by=by)


def suspend_organisation(*, organisation: Organisation, reason: str, by: By) -> Organisation:
    return transition_organisation(
        organisation=organisation, to=OrganisationStatus.SUSPENDED, reason=reason, by=by
    )


def reinstate_organisation(*, organisation: Organisation, by: By) -> Organisation:
    return transition_organisation(organisation=organisation, to=OrganisationStatus.APPROVED, by=by)


def withdraw_organisation(*, organisation: Organisation, reason: str, by: By) -> Organisation:
    return transition_organisation(
        organisation=organisation, to=OrganisationStatus.WITHDRAWN, reason=reason, by=by
    )
