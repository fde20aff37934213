"""Organisations, their email domains, the security audit checklist and Data Sharing
Agreements with the datasets they grant.

Rows are changed only by :mod:`safestats.organisations.services`; states move only along
the tables in :mod:`safestats.organisations.lifecycle`. Whether an agreement is in force is
never stored: it is computed from its status and validity when asked, so an agreement
stops granting access at the exact instant it ends, with no job to run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from safestats.organisations import grants, lifecycle


class OrganisationType(models.TextChoices):
    LOCAL_AUTHORITY = "local_authority", "Local authority or community safety partnership"
    POLICE = "police", "Police"
    HEALTH = "health", "Health"
    FIRE = "fire", "Fire and rescue"
    TRANSPORT = "transport", "Transport"
    GLA_MOPAC = "gla_mopac", "GLA or MOPAC"
    VRU = "vru", "Violence Reduction Unit"
    OTHER = "other", "Other"


class OrganisationStatus(models.TextChoices):
    APPLIED = lifecycle.APPLIED, "Applied"
    UNDER_REVIEW = lifecycle.UNDER_REVIEW, "Under review"
    APPROVED = lifecycle.APPROVED, "Approved"
    SUSPENDED = lifecycle.SUSPENDED, "Suspended"
    WITHDRAWN = lifecycle.WITHDRAWN, "Withdrawn"


class Organisation(models.Model):
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=OrganisationType.choices)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=20, choices=OrganisationStatus.choices, default=OrganisationStatus.APPLIED
    )
    status_reason = models.TextField(blank=True, help_text="Why the last change was made.")
    status_changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organisation_name_unique_ci"),
            models.CheckConstraint(
                condition=models.Q(status__in=OrganisationStatus.values),
                name="organisation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.status == OrganisationStatus.APPROVED


class OrganisationDomain(models.Model):
    """An email domain whose addresses belong to the organisation. Subdomains are not
    included: each one an organisation uses is listed on its own."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(domain=Lower("domain")), name="organisation_domain_lower"
            ),
        ]

    def __str__(self) -> str:
        return self.domain


class ChecklistVersion(models.Model):
    """One version of the security audit checklist. ``questions`` is an ordered list of
    ``{"id", "text", "guidance"}``; a published version is never edited, a new one is
    published instead, and the highest published number is the current version."""

    number = models.PositiveIntegerField(unique=True)
    published = models.BooleanField(default=False)
    questions = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"Security audit checklist, version {self.number}"

    def question_ids(self) -> list[str]:
        return [str(question["id"]) for question in self.questions]


class ReviewOutcome(models.TextChoices):
    SIGNED_OFF = "signed_off", "Signed off"
    RETURNED = "returned", "Returned to the organisation"


class ChecklistResponse(models.Model):
    """An organisation's answers to one checklist version: ``answers`` maps each question
    id to ``{"answer": "yes" | "no", "evidence": text}``. Reviewed once, by a platform
    administrator; a returned response is answered again with a new response."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="checklist_responses"
    )
    version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(default=dict)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_by_label = models.CharField(max_length=254, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices, blank=True)
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by_label = models.CharField(max_length=254, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.organisation} — checklist version {self.version.number}"

    @property
    def is_signed_off(self) -> bool:
        return self.outcome == ReviewOutcome.SIGNED_OFF


class LegalBasis(models.TextChoices):
    S17 = "s17", "Crime and Disorder Act 1998, section 17"
    S115 = "s115", "Crime and Disorder Act 1998, section 115"
    OTHER = "other", "Other"


class AgreementStatus(models.TextChoices):
    DRAFT = lifecycle.DRAFT, "Draft"
    ACTIVE = lifecycle.ACTIVE, "Active"
    REVOKED = lifecycle.REVOKED, "Revoked"


class AgreementQuerySet(models.QuerySet["DataSharingAgreement"]):
    def in_force(self, at: datetime) -> AgreementQuerySet:
        """Agreements in force at the instant ``at``: active, started, not yet ended."""
        if timezone.is_naive(at):
            raise ValueError("`at` must be an aware datetime")
        return self.filter(status=AgreementStatus.ACTIVE, valid_from__lte=at, valid_to__gt=at)


class DataSharingAgreement(models.Model):
    """A signed Data Sharing Agreement (DSA) between the platform and one organisation.

    In force at instant ``at`` if and only if it is active and
    ``valid_from <= at < valid_to``. The signed PDF is kept outside the web root, named by
    its SHA-256 (:mod:`safestats.organisations.documents`).
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="agreements"
    )
    reference = models.CharField(max_length=64, unique=True)
    legal_basis = models.CharField(max_length=10, choices=LegalBasis.choices)
    legal_basis_other = models.TextField(
        blank=True, help_text="The legal basis in words, when it is not s17 or s115."
    )
    purpose = models.TextField()
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(help_text="The first instant the agreement is not in force.")
    status = models.CharField(
        max_length=10, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT
    )
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_name = models.CharField(max_length=200, blank=True, help_text="As uploaded.")
    document_size = models.PositiveBigIntegerField(null=True, blank=True)
    document_uploaded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "valid_from", "reference"]
        indexes = [
            models.Index(
                fields=["organisation", "status", "valid_from", "valid_to"],
                name="agreement_in_force_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_to__gt=models.F("valid_from")),
                name="agreement_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=AgreementStatus.values),
                name="agreement_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=AgreementStatus.ACTIVE) | ~models.Q(document_sha256=""),
                name="active_agreement_has_document",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def is_in_force(self, at: datetime) -> bool:
        return self.status == AgreementStatus.ACTIVE and self.valid_from <= at < self.valid_to

    @property
    def legal_basis_text(self) -> str:
        if self.legal_basis == LegalBasis.OTHER:
            return self.legal_basis_other
        return str(LegalBasis(self.legal_basis).label)


class AccessLevel(models.TextChoices):
    AGGREGATE = grants.AGGREGATE, "Aggregate (counts and rates)"
    RECORD = grants.RECORD, "Record level"


class Precision(models.TextChoices):
    """Spatial precision, from finest to coarsest (see :mod:`grants` to compare them)."""

    POINT = grants.POINT, "Point"
    SNAPPED_POINT = grants.SNAPPED_POINT, "Snapped point"
    LSOA = grants.LSOA, "LSOA"
    WARD = grants.WARD, "Ward"
    BOROUGH = grants.BOROUGH, "Borough"


class AgreementDataset(models.Model):
    """One dataset an agreement grants: the access level, the fields withheld from every
    output and the finest spatial precision allowed."""

    agreement = models.ForeignKey(
        DataSharingAgreement, on_delete=models.CASCADE, related_name="grants"
    )
    # The catalogue's dataset id (a slug); not a foreign key until the catalogue exists.
    dataset_id = models.CharField(max_length=64)
    access_level = models.CharField(max_length=10, choices=AccessLevel.choices)
    withheld_fields = models.JSONField(default=list, blank=True)
    precision = models.CharField(max_length=20, choices=Precision.choices)
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["agreement", "dataset_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "dataset_id"], name="one_grant_per_dataset_per_agreement"
            ),
            models.CheckConstraint(
                condition=models.Q(access_level__in=AccessLevel.values),
                name="grant_access_level_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(precision__in=Precision.values), name="grant_precision_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agreement.reference}: {self.dataset_id}"

    def as_grant(self) -> grants.Grant:
        return grants.Grant(
            agreement_id=self.agreement.pk,
            agreement_reference=self.agreement.reference,
            dataset_id=self.dataset_id,
            level=self.access_level,
            withheld_fields=tuple(self.withheld_fields),
            precision=self.precision,
            valid_to=self.agreement.valid_to,
        )

    def snapshot(self) -> dict[str, Any]:
        """The grant as recorded in the audit log's before/after."""
        return {
            "dataset_id": self.dataset_id,
            "access_level": self.access_level,
            "withheld_fields": list(self.withheld_fields),
            "precision": self.precision,
        }
