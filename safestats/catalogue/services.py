"""Writes to the catalogue: saving a dataset's spec (from the shipped files or from an
administrator's page), recording a draft version of its data, publishing a version and
rolling back to an earlier one. Each write is one transaction with its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from safestats.audit.services import Actor, record
from safestats.catalogue.errors import CatalogueError, DatasetExists, StepNotAllowed
from safestats.catalogue.loading import SPECS_DIR, Problem, SpecError, load_spec_file, parse_spec
from safestats.catalogue.models import (
    Dataset,
    DatasetSpecVersion,
    DatasetVersion,
    SpecSource,
    VersionStatus,
)
from safestats.catalogue.spec import DatasetSpec, canonical, spec_hash

# Ids that would clash with the catalogue's own addresses (/catalogue/new).
RESERVED_IDS = frozenset({"new"})

# The lifecycle of a data version, as data: (step, from status) -> to status.
VERSION_STEPS: dict[tuple[str, str], str] = {
    ("publish", VersionStatus.DRAFT): VersionStatus.PUBLISHED,
    ("roll_back_from", VersionStatus.PUBLISHED): VersionStatus.ROLLED_BACK,
    # Rolling back *to* a version leaves it published; only the pointer moves.
    ("roll_back_to", VersionStatus.PUBLISHED): VersionStatus.PUBLISHED,
}


def _step(version: DatasetVersion, step: str) -> str:
    to = VERSION_STEPS.get((step, version.status))
    if to is None:
        words = {
            "publish": "published",
            "roll_back_from": "rolled back",
            "roll_back_to": "rolled back to",
        }
        raise StepNotAllowed(
            f"Version {version.number} of {version.dataset_id} is "
            f"{VersionStatus(version.status).label.lower()}, so it cannot be {words[step]}."
        )
    return to


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _label(by: Any) -> str:
    return Actor.of(by).label


def save_spec(
    *,
    spec: DatasetSpec,
    source: str,
    by: Any,
    source_path: str = "",
    source_text: str = "",
    request: HttpRequest | None = None,
    create_only: bool = False,
) -> tuple[Dataset, str]:
    """Store ``spec`` as its dataset's current spec. Returns the dataset and what happened:
    ``created``, ``changed`` (a new spec version, audited with the old and new hash) or
    ``unchanged`` (same hash: nothing written, nothing audited)."""
    if spec.id in RESERVED_IDS:
        raise CatalogueError(f"{spec.id!r} cannot be a dataset id: choose another.")
    data, digest, now = canonical(spec), spec_hash(spec), timezone.now()
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().filter(pk=spec.id).first()
        if dataset is not None and create_only:
            raise DatasetExists(
                f"There is already a dataset with the id {spec.id}: choose another id."
            )
        if dataset is not None and dataset.spec_hash == digest:
            return dataset, "unchanged"
        if dataset is None:
            dataset = Dataset(pk=spec.id, created_at=now, spec_version=1)
            outcome, old_hash = "created", None
        else:
            dataset.spec_version += 1
            outcome, old_hash = "changed", dataset.spec_hash
        dataset.title, dataset.provider = spec.title, spec.provider
        dataset.spec, dataset.spec_hash, dataset.updated_at = data, digest, now
        dataset.spec_source, dataset.spec_path = source, source_path
        dataset.save()
        DatasetSpecVersion.objects.create(
            dataset=dataset,
            number=dataset.spec_version,
            spec=data,
            spec_hash=digest,
            source=source,
            source_path=source_path,
            source_text=source_text,
            created_at=now,
            created_by=_label(by),
        )
        payload: dict[str, Any] = {
            "source": source,
            "source_path": source_path,
            "spec_version": dataset.spec_version,
            "new_hash": digest,
        }
        if outcome == "changed":
            payload["old_hash"] = old_hash
        record(
            "dataset.created" if outcome == "created" else "dataset.spec_changed",
            actor=by,
            target=dataset,
            payload=payload,
            request=request,
        )
    return dataset, outcome


def add_dataset(*, text: str, by: Any, request: HttpRequest | None = None) -> Dataset:
    """A platform administrator adds a dataset from spec text (YAML). Raises
    :class:`SpecError` listing every problem, or :class:`DatasetExists`."""
    spec = parse_spec(text, source="spec")
    dataset, _ = save_spec(
        spec=spec,
        source=SpecSource.UI,
        source_text=text,
        by=by,
        request=request,
        create_only=True,
    )
    return dataset


def sync_specs(*, by: Any, directory: Path = SPECS_DIR) -> SyncResult:
    """Load every spec file in ``directory`` into the catalogue. A file whose spec is
    unchanged is a no-op. A dataset added through the pages is never overwritten by a
    file of the same id: that is reported as a problem. Datasets with no file are kept."""
    result = SyncResult()
    for path in sorted(directory.glob("*.yaml")):
        try:
            spec = load_spec_file(path)
        except SpecError as error:
            result.problems.extend(error.problems)
            continue
        existing = Dataset.objects.filter(pk=spec.id).only("spec_source").first()
        if existing is not None and existing.spec_source != SpecSource.FILE:
            result.problems.append(
                Problem(
                    path.name,
                    "id",
                    f"dataset {spec.id} was added by an administrator; the file does not "
                    "replace it",
                )
            )
            continue
        text = path.read_text(encoding="utf-8")
        _, outcome = save_spec(
            spec=spec, source=SpecSource.FILE, source_path=path.name, source_text=text, by=by
        )
        getattr(result, outcome).append(spec.id)
    return result


def _first_of_month(value: date | None, name: str) -> date | None:
    if value is not None and value.day != 1:
        raise CatalogueError(f"{name} is a month: give the first day of it, not {value}.")
    return value


def _relative_path(value: str) -> str:
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
        raise CatalogueError(
            f"The Parquet path must be relative to the data store, without '..' (got {value!r})."
        )
    return str(path)


def add_draft_version(
    *,
    dataset: Dataset,
    row_count: int,
    coverage_from: date | None,
    coverage_to: date | None,
    parquet_path: str,
    manifest_sha256: str,
    by: Any,
) -> DatasetVersion:
    """Record a loaded but unpublished version of ``dataset``'s data (for ingestion),
    numbered after the last one, under the dataset's current spec."""
    if len(manifest_sha256) != 64 or any(c not in "0123456789abcdef" for c in manifest_sha256):
        raise CatalogueError("The manifest's SHA-256 must be 64 lower-case hex digits.")
    if row_count < 0:
        raise CatalogueError("A version cannot have a negative number of rows.")
    _first_of_month(coverage_from, "coverage_from")
    _first_of_month(coverage_to, "coverage_to")
    if coverage_from and coverage_to and coverage_from > coverage_to:
        raise CatalogueError("Coverage must start before it ends.")
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        last = locked.versions.order_by("-number").values_list("number", flat=True).first()
        version = DatasetVersion.objects.create(
            dataset=locked,
            number=(last or 0) + 1,
            row_count=row_count,
            coverage_from=coverage_from,
            coverage_to=coverage_to,
            parquet_path=_relative_path(parquet_path),
            manifest_sha256=manifest_sha256,
            spec_version=locked.spec_version,
        )
        record("dataset.version_added", actor=by, target=locked, payload=version.audit_payload())
    return version


def _locked(dataset: Dataset, version: DatasetVersion) -> tuple[Dataset, DatasetVersion]:
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    row = DatasetVersion.objects.select_for_update().filter(pk=version.pk).first()
    if row is None or row.dataset_id != locked.pk:
        raise CatalogueError(f"That version does not belong to {locked.pk}.")
    return locked, row


def publish_version(
    *, dataset: Dataset, version: DatasetVersion, by: Any, request: HttpRequest | None = None
) -> DatasetVersion:
    """Make a draft ``version`` the one queries read. The pointer, the version's status and
    the audit event (``dataset.version_published``) are one transaction: all or nothing."""
    with transaction.atomic():
        locked, row = _locked(dataset, version)
        row.status = _step(row, "publish")
        row.published_at = timezone.now()
        row.save(update_fields=["status", "published_at"])
        previous = locked.current_version
        locked.current_version = row
        locked.save(update_fields=["current_version"])
        record(
            "dataset.version_published",
            actor=by,
            target=locked,
            payload=row.audit_payload()
            | {"previous_version": previous.number if previous else None},
            request=request,
        )
    dataset.current_version = row
    return row


def rollback_to(
    *, dataset: Dataset, version: DatasetVersion, by: Any, request: HttpRequest | None = None
) -> DatasetVersion:
    """Point ``dataset`` back at an earlier published ``version``; the version it leaves
    is marked rolled back and is never current again. Audited ``dataset.rolled_back``."""
    with transaction.atomic():
        locked, row = _locked(dataset, version)
        current = locked.current_version
        if current is None:
            raise StepNotAllowed(f"{locked.pk} has no published version to roll back from.")
        if row.number >= current.number:
            raise StepNotAllowed(
                f"Version {row.number} is not older than the current version "
                f"{current.number}: roll back only to an earlier version."
            )
        _step(row, "roll_back_to")
        current.status = _step(current, "roll_back_from")
        current.save(update_fields=["status"])
        locked.current_version = row
        locked.save(update_fields=["current_version"])
        record(
            "dataset.rolled_back",
            actor=by,
            target=locked,
            payload=row.audit_payload() | {"rolled_back_version": current.number},
            request=request,
        )
    dataset.current_version = row
    return row
