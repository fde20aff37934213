"""Reads of the catalogue: the list of datasets with what the asking user may see of
each, and one dataset's page. The catalogue's descriptions are open to every signed-in
user; the data itself is not, and each row carries the access decision for it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from safestats.access.policy import Decision, Level
from safestats.access.services import decide
from safestats.accounts.models import User
from safestats.catalogue.models import Dataset, DatasetSpecVersion, DatasetVersion, VersionStatus
from safestats.catalogue.spec import DatasetSpec


@dataclass(frozen=True)
class CatalogueEntry:
    dataset: Dataset
    spec: DatasetSpec
    decision: Decision


def access_to(user: User, dataset_id: str, *, request: HttpRequest | None = None) -> Decision:
    """The widest access the user has: records if allowed, else totals; if neither, the
    refusal at aggregate level (its reason is the more basic one)."""
    records = decide(user, dataset_id, Level.RECORD, request=request)
    if records.allowed:
        return records
    return decide(user, dataset_id, Level.AGGREGATE, request=request)


def catalogue_for(user: User, *, request: HttpRequest | None = None) -> list[CatalogueEntry]:
    datasets = Dataset.objects.select_related("current_version").order_by("title")
    return [
        CatalogueEntry(dataset, dataset.parsed_spec(), access_to(user, dataset.pk, request=request))
        for dataset in datasets
    ]


def dataset_by_id(dataset_id: str) -> Dataset | None:
    return Dataset.objects.select_related("current_version").filter(pk=dataset_id).first()


def data_versions(dataset: Dataset) -> list[DatasetVersion]:
    return list(dataset.versions.order_by("-number"))


def spec_history(dataset: Dataset) -> list[DatasetSpecVersion]:
    return list(
        dataset.spec_versions.order_by("-number").only(
            "number", "spec_hash", "source", "source_path", "created_at", "created_by"
        )
    )


def rollback_targets(dataset: Dataset) -> set[int]:
    """The numbers of the versions ``dataset`` can be rolled back to: the published ones
    older than its current version."""
    current = dataset.current_version
    if current is None:
        return set()
    return set(
        dataset.versions.filter(
            status=VersionStatus.PUBLISHED, number__lt=current.number
        ).values_list("number", flat=True)
    )
