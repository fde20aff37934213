"""Datasets, the history of their specs, and the versions of their data.

A dataset's spec is stored as validated, canonical JSON with its hash and a version
number; every change keeps the previous spec in :class:`DatasetSpecVersion`. Each load of
data becomes an immutable :class:`DatasetVersion` (its Parquet files live in the data
store); the dataset's ``current_version`` says which one queries read, and is switched in
one transaction by :mod:`safestats.catalogue.services`.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from safestats.catalogue.spec import DatasetSpec


class SpecSource(models.TextChoices):
    FILE = "file", "Spec file in the repository"
    UI = "ui", "Added by a platform administrator"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ROLLED_BACK = "rolled_back", "Rolled back"


class Dataset(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    title = models.CharField(max_length=200)
    provider = models.CharField(max_length=200)
    spec = models.JSONField(help_text="The validated spec, canonical JSON.")
    spec_source = models.CharField(max_length=10, choices=SpecSource.choices)
    spec_path = models.CharField(
        max_length=300, blank=True, help_text="The spec file's name, for specs from files."
    )
    spec_version = models.PositiveIntegerField(default=1)
    spec_hash = models.CharField(max_length=64)
    current_version = models.ForeignKey(
        "DatasetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    provider_organisations = models.ManyToManyField(
        "organisations.Organisation",
        blank=True,
        related_name="provided_datasets",
        help_text="Organisations whose data providers may load this dataset.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.id

    def parsed_spec(self) -> DatasetSpec:
        return DatasetSpec.model_validate(self.spec)


class DatasetSpecVersion(models.Model):
    """One spec a dataset has had: kept for ever, so any version of the data can be read
    with the spec it was loaded under."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="spec_versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    spec_hash = models.CharField(max_length=64)
    source = models.CharField(max_length=10, choices=SpecSource.choices)
    source_path = models.CharField(max_length=300, blank=True)
    source_text = models.TextField(blank=True, help_text="The YAML as given.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="spec_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} spec v{self.number}"


class DatasetVersion(models.Model):
    """One immutable load of a dataset's data. Coverage is in whole months (stored as the
    first day of each month)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    row_count = models.PositiveBigIntegerField(default=0)
    coverage_from = models.DateField(null=True, blank=True)
    coverage_to = models.DateField(null=True, blank=True)
    parquet_path = models.CharField(
        max_length=300,
        help_text="Folder of the version's Parquet files, relative to the data store.",
    )
    manifest_sha256 = models.CharField(max_length=64)
    spec_version = models.PositiveIntegerField(
        help_text="The number of the spec the data was loaded under."
    )

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_version_unique"),
            models.CheckConstraint(
                condition=models.Q(coverage_from__lte=models.F("coverage_to"))
                | models.Q(coverage_from__isnull=True)
                | models.Q(coverage_to__isnull=True),
                name="dataset_version_coverage_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} v{self.number}"

    def audit_payload(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset_id,
            "version": self.number,
            "rows": self.row_count,
            "coverage_from": self.coverage_from.isoformat() if self.coverage_from else None,
            "coverage_to": self.coverage_to.isoformat() if self.coverage_to else None,
            "manifest_sha256": self.manifest_sha256,
        }
