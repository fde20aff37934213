"""Writes to Data Sharing Agreements: drafting, the signed document, activation,
revocation and the datasets each agreement grants."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from django.db import transaction
from django.utils import timezone

from safestats.audit.services import record
from safestats.organisations import documents, grants, lifecycle
from safestats.organisations.errors import (
    Conflict,
    DocumentRefused,
    InvalidValue,
    TransitionNotAllowed,
)
from safestats.organisations.models import (
    AgreementDataset,
    AgreementStatus,
    DataSharingAgreement,
    LegalBasis,
    Organisation,
    OrganisationStatus,
)
from safestats.organisations.services._actors import By, require_platform_administrator
from safestats.organisations.services._common import (
    conflict_on_integrity_error,
    require_aware,
)
from safestats.organisations.validators import (
    normalise_dataset_id,
    normalise_field_names,
    normalise_reference,
)


def _iso(value: datetime) -> str:
    # In UTC, so the log reads the same whichever zone a value arrived in.
    return value.astimezone(UTC).isoformat()


def create_agreement(
    *,
    organisation: Organisation,
    reference: str,
    legal_basis: str,
    purpose: str,
    valid_from: datetime,
    valid_to: datetime,
    legal_basis_other: str = "",
    document: documents.Upload | None = None,
    by: By,
) -> DataSharingAgreement:
    """Draft an agreement with an organisation, with its signed document if given.

    ``valid_to`` is the first instant the agreement is no longer in force.
    """
    require_platform_administrator(by, "create a Data Sharing Agreement")
    reference = normalise_reference(reference)
    if legal_basis not in LegalBasis.values:
        raise InvalidValue(
            f"Choose the legal basis: one of {', '.join(LegalBasis.values)}.", field="legal_basis"
        )
    legal_basis_other = legal_basis_other.strip() if legal_basis == LegalBasis.OTHER else ""
    if legal_basis == LegalBasis.OTHER and not legal_basis_other:
        raise InvalidValue("Enter the legal basis for sharing.", field="legal_basis_other")
    purpose = purpose.strip()
    if not purpose:
        raise InvalidValue("Enter the purpose the data is shared for.", field="purpose")
    require_aware(valid_from, "The start of the agreement")
    require_aware(valid_to, "The end of the agreement")
    if valid_to <= valid_from:
        raise InvalidValue("The agreement must end after it starts.", field="valid_to")
    with transaction.atomic():
        if organisation.status == OrganisationStatus.WITHDRAWN:
            raise TransitionNotAllowed(
                f"{organisation.name} has withdrawn, so it cannot enter into an agreement."
            )
        taken = DataSharingAgreement.objects.filter(reference__iexact=reference).first()
        if taken is not None:
            raise Conflict(f"There is already an agreement {taken.reference}.", field="reference")
        with conflict_on_integrity_error(
            f"There is already an agreement {reference}.", field="reference"
        ):
            agreement = DataSharingAgreement.objects.create(
                organisation=organisation,
                reference=reference,
                legal_basis=legal_basis,
                legal_basis_other=legal_basis_other,
                purpose=purpose,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        record(
            "agreement.created",
            actor=by,
            target=agreement,
            organisation=organisation,
            payload={
                "reference": reference,
                "legal_basis": legal_basis,
                "legal_basis_other": legal_basis_other,
                "purpose": purpose,
                "valid_from": _iso(valid_from),
                "valid_to": _iso(valid_to),
            },
        )
        if document is not None:
            _attach(agreement, document, by=by)
    return agreement


def attach_document(
    *, agreement: DataSharingAgreement, document: documents.Upload, by: By
) -> DataSharingAgreement:
    """Keep the signed PDF of a draft agreement (replacing an earlier draft's document)."""
    require_platform_administrator(by, "upload a signed agreement")
    with transaction.atomic():
        locked = DataSharingAgreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != AgreementStatus.DRAFT:
            raise TransitionNotAllowed(
                f"The signed document of {locked.reference} cannot be replaced because the "
                f"agreement is {lifecycle.AGREEMENT.states[locked.status]}. Make a new agreement "
                "instead."
            )
        _attach(locked, document, by=by)
    return locked


def _attach(agreement: DataSharingAgreement, document: documents.Upload, *, by: By) -> None:
    # The file is written before the transaction commits; if it rolls back the file stays,
    # unreferenced and harmless, and a retry finds it already stored.
    stored = documents.store(document)
    replaced = agreement.document_sha256 or None
    agreement.document_sha256 = stored.sha256
    agreement.document_name = stored.name
    agreement.document_size = stored.size
    agreement.document_uploaded_at = timezone.now()
    agreement.save(
        update_fields=["document_sha256", "document_name", "document_size", "document_uploaded_at"]
    )
    record(
        "agreement.document_attached",
        actor=by,
        target=agreement,
        organisation=agreement.organisation,
        payload={
            "sha256": stored.sha256,
            "size": stored.size,
            "name": stored.name,
            "replaced": replaced,
        },
    )


def transition_agreement(
    *, agreement: DataSharingAgreement, to: str, reason: str = "", by: By
) -> DataSharingAgreement:
    """Move an agreement along its lifecycle (:data:`lifecycle.AGREEMENT`)."""
    require_platform_administrator(by, "change the status of a Data Sharing Agreement")
    reason = reason.strip()
    with transaction.atomic():
        locked = (
            DataSharingAgreement.objects.select_for_update()
            .select_related("organisation")
            .get(pk=agreement.pk)
        )
        step = lifecycle.AGREEMENT.step(locked.status, to)
        if step.reason_required and not reason:
            raise TransitionNotAllowed(
                f"Enter the reason {locked.reference} is being {lifecycle.AGREEMENT.verb(step)}.",
                field="reason",
            )
        now = timezone.now()
        if step.needs_signed_document and not locked.document_sha256:
            raise TransitionNotAllowed(
                f"{locked.reference} cannot be activated until its signed document is uploaded."
            )
        if to == AgreementStatus.ACTIVE:
            if locked.organisation.status == OrganisationStatus.WITHDRAWN:
                raise TransitionNotAllowed(
                    f"{locked.reference} cannot be activated: "
                    f"{locked.organisation.name} has withdrawn."
                )
            if locked.valid_to <= now:
                raise TransitionNotAllowed(
                    f"{locked.reference} cannot be activated: it ended on "
                    f"{timezone.localtime(locked.valid_to):%d %B %Y at %H:%M}."
                )
            locked.activated_at = now
        if to == AgreementStatus.REVOKED:
            locked.revoked_at = now
            locked.revoked_reason = reason
        payload: dict[str, Any] = {"from": locked.status, "to": to, "reason": reason}
        if to == AgreementStatus.ACTIVE:
            payload.update(
                valid_from=_iso(locked.valid_from),
                valid_to=_iso(locked.valid_to),
                document_sha256=locked.document_sha256,
            )
        locked.status = to
        locked.save(update_fields=["status", "activated_at", "revoked_at", "revoked_reason"])
        record(
            step.event,
            actor=by,
            target=locked,
            organisation=locked.organisation,
            payload=payload,
        )
    agreement.status = locked.status
    return locked


def activate_agreement(*, agreement: DataSharingAgreement, by: By) -> DataSharingAgreement:
    """Activate a draft agreement; it needs its signed document. It is in force from
    ``valid_from`` (which may be in the future) until just before ``valid_to``."""
    return transition_agreement(agreement=agreement, to=AgreementStatus.ACTIVE, by=by)


def revoke_agreement(
    *, agreement: DataSharingAgreement, reason: str, by: By
) -> DataSharingAgreement:
    """End an agreement now, whatever its dates say; access it granted stops at once."""
    return transition_agreement(
        agreement=agreement, to=AgreementStatus.REVOKED, reason=reason, by=by
    )


def set_grant(
    *,
    agreement: DataSharingAgreement,
    dataset_id: str,
    access_level: str,
    precision: str,
    withheld_fields: Iterable[str] = (),
    by: By,
) -> AgreementDataset:
    """Grant a dataset under an agreement, or change what it grants.

    Writes ``agreement.grant_changed`` with the grant before (None when new) and after;
    writes nothing when nothing changes. A revoked agreement cannot be changed.
    """
    require_platform_administrator(by, "change what a Data Sharing Agreement grants")
    dataset_id = normalise_dataset_id(dataset_id)
    if access_level not in grants.LEVELS:
        raise InvalidValue(
            f"Choose the access level: {' or '.join(grants.LEVELS)}.", field="access_level"
        )
    if precision not in grants.PRECISIONS:
        raise InvalidValue(
            f"Choose the finest spatial precision allowed: one of {', '.join(grants.PRECISIONS)}.",
            field="precision",
        )
    withheld = normalise_field_names(withheld_fields)
    with transaction.atomic():
        locked = _lock_changeable(agreement)
        row = AgreementDataset.objects.filter(agreement=locked, dataset_id=dataset_id).first()
        before = row.snapshot() if row else None
        if row is None:
            row = AgreementDataset(agreement=locked, dataset_id=dataset_id)
        row.access_level = access_level
        row.precision = precision
        row.withheld_fields = withheld
        after = row.snapshot()
        if before == after:
            return row
        row.changed_at = timezone.now()
        row.save()
        _grant_changed(locked, dataset_id, before=before, after=after, by=by)
    return row


def remove_grant(*, agreement: DataSharingAgreement, dataset_id: str, by: By) -> None:
    require_platform_administrator(by, "change what a Data Sharing Agreement grants")
    dataset_id = normalise_dataset_id(dataset_id)
    with transaction.atomic():
        locked = _lock_changeable(agreement)
        row = AgreementDataset.objects.filter(agreement=locked, dataset_id=dataset_id).first()
        if row is None:
            raise InvalidValue(f"{locked.reference} does not grant {dataset_id}.")
        before = row.snapshot()
        row.delete()
        _grant_changed(locked, dataset_id, before=before, after=None, by=by)


def _lock_changeable(agreement: DataSharingAgreement) -> DataSharingAgreement:
    locked = (
        DataSharingAgreement.objects.select_for_update()
        .select_related("organisation")
        .get(pk=agreement.pk)
    )
    if locked.status == AgreementStatus.REVOKED:
        raise TransitionNotAllowed(f"{locked.reference} is revoked, so it cannot be changed.")
    return locked


def _grant_changed(
    agreement: DataSharingAgreement,
    dataset_id: str,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    by: By,
) -> None:
    record(
        "agreement.grant_changed",
        actor=by,
        target=agreement,
        organisation=agreement.organisation,
        payload={
            "reference": agreement.reference,
            "dataset_id": dataset_id,
            "before": before,
            "after": after,
        },
    )


def open_agreement_document(*, agreement: DataSharingAgreement, by: By) -> IO[bytes]:
    """Open an agreement's signed PDF for a platform administrator; the read is audited.

    The caller closes the file (a FileResponse does). Raises DocumentRefused if the
    agreement has no document or the stored file is missing or altered.
    """
    require_platform_administrator(by, "open a signed agreement")
    if not agreement.document_sha256:
        raise DocumentRefused(f"{agreement.reference} has no signed document yet.")
    with transaction.atomic():
        handle = documents.open_verified(agreement.document_sha256)
        try:
            record(
                "agreement.document_opened",
                actor=by,
                target=agreement,
                organisation=agreement.organisation,
                payload={"sha256": agreement.document_sha256},
            )
        except BaseException:
            handle.close()
            raise
    return handle
