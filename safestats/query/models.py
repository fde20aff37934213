"""Saved queries, and the jigsaw-risk alerts raised when one user downloads records of
several datasets about the same small area and period."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class SavedQuery(models.Model):
    """A query a user kept: private, or shared with their organisation; re-run on the
    newest version, or pinned to the version it names. Opening one still asks the access
    policy as whoever opens it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_queries"
    )
    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="saved_queries"
    )
    name = models.CharField(max_length=120)
    spec = models.JSONField(help_text="The query specification.")
    shared = models.BooleanField(default=False, help_text="Shared with the organisation.")
    pinned = models.BooleanField(
        default=False, help_text="Always re-run on the version in the spec."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "saved queries"

    def __str__(self) -> str:
        return self.name


class JigsawAlert(models.Model):
    """One user downloaded record-level data from two or more datasets for the same small
    area and overlapping periods: the download went ahead, and the platform team is told."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jigsaw_alerts"
    )
    organisation_name = models.CharField(max_length=200, blank=True)
    datasets = models.JSONField(help_text="The dataset ids downloaded.")
    areas = models.JSONField(help_text="The small areas the downloads share.")
    period_from = models.DateField(null=True, blank=True)
    period_to = models.DateField(null=True, blank=True)
    detail = models.JSONField(default=dict, help_text="The downloads, from the audit log.")
    raised_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=254, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"jigsaw alert {self.pk} ({self.user_id})"
