"""Uploads and the jobs that load them.

A :class:`RawFile` is one file as received, kept for ever in the raw store under its
SHA-256 (the same bytes are stored once however often they are sent). An
:class:`IngestJob` loads one or more raw files into a dataset: it reads, checks,
standardises and pseudonymises them, and publishes a new version of the dataset, or
fails and says why. Its progress (stage, rows done, percentage) is written as it goes, so
a page or a terminal can follow it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RawFile(models.Model):
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveBigIntegerField()
    stored_path = models.CharField(
        max_length=200, help_text="Path in the raw store, relative to it."
    )
    first_name = models.CharField(
        max_length=255, help_text="The file's name when it was first received."
    )
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.CharField(max_length=254)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.first_name} ({self.sha256[:12]})"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    PUBLISHED = "published", "Published"
    UNCHANGED = "unchanged", "Already loaded: nothing to do"
    REJECTED = "rejected", "Rejected: too many problems"
    FAILED = "failed", "Failed"


FINISHED = (JobStatus.PUBLISHED, JobStatus.UNCHANGED, JobStatus.REJECTED, JobStatus.FAILED)


class IngestJob(models.Model):
    dataset = models.ForeignKey(
        "catalogue.Dataset", on_delete=models.PROTECT, related_name="ingest_jobs"
    )
    files = models.ManyToManyField(RawFile, through="JobFile", related_name="jobs")
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED)
    stage = models.CharField(max_length=100, blank=True)
    percent = models.PositiveSmallIntegerField(default=0)
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    rows_published = models.PositiveBigIntegerField(default=0)
    rows_quarantined = models.PositiveBigIntegerField(default=0)
    problem_count = models.PositiveBigIntegerField(default=0)
    unknown_geography = models.PositiveBigIntegerField(default=0)
    tolerance_percent = models.DecimalField(max_digits=5, decimal_places=2)
    message = models.TextField(blank=True, help_text="What happened, in words, when it ended.")
    summary = models.JSONField(default=dict, blank=True)
    version = models.ForeignKey(
        "catalogue.DatasetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ingest_jobs",
        help_text="The version this job published.",
    )
    base_version = models.ForeignKey(
        "catalogue.DatasetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The version that was current when the new one was built from it.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ingest_jobs",
    )
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ingest_jobs",
    )
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(
        max_length=100, blank=True, help_text="host:pid of the process running the job."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"ingest job {self.pk} ({self.dataset_id})"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def label(self) -> str:
        return JobStatus(self.status).label


class JobFile(models.Model):
    job = models.ForeignKey(IngestJob, on_delete=models.CASCADE, related_name="job_files")
    raw_file = models.ForeignKey(RawFile, on_delete=models.PROTECT, related_name="job_files")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=255, help_text="The file's name in this upload.")

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="ingest_jobfile_position")
        ]

    def __str__(self) -> str:
        return f"{self.name} in job {self.job_id}"
