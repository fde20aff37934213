"""Named users and the Conditions of Use they accept.

A user is a named person, identified by their work email address, with one role. The
Conditions of Use are versioned; a user accepts the current version after every sign-in
and each acceptance is kept.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


def normalise_email(email: str) -> str:
    """Email addresses are compared case-insensitively: stored trimmed and lower-case."""
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=normalise_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.PLATFORM_ADMIN)
        extra.setdefault("status", UserStatus.AUTHORISED)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalise_email(username or ""))


class Role(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    ORGANISATION_ADMIN = "organisation_admin", "Organisation administrator"
    DATA_PROVIDER = "data_provider", "Data provider"
    PLATFORM_ADMIN = "platform_admin", "Platform administrator"


class UserStatus(models.TextChoices):
    INVITED = "invited", "Invited"
    PENDING = "pending", "Waiting for authorisation"
    AUTHORISED = "authorised", "Authorised"
    DECLINED = "declined", "Declined"
    SUSPENDED = "suspended", "Suspended"


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("work email address", unique=True)
    role = models.CharField(max_length=30, choices=Role.choices, default=Role.ANALYST)
    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.PROTECT,
        related_name="members",
        null=True,  # only the instance's bootstrap superuser; such a user gets no data
        blank=True,
    )
    status = models.CharField(max_length=20, choices=UserStatus.choices, default=UserStatus.PENDING)
    status_reason = models.TextField(blank=True, help_text="Why the last change was made.")
    status_changed_at = models.DateTimeField(default=timezone.now)
    purpose = models.TextField(
        blank=True, help_text="What the user needs SafeStats data for, as they stated it."
    )
    authorised_at = models.DateTimeField(null=True, blank=True)
    authorised_by_id = models.BigIntegerField(null=True, blank=True)
    authorisation_expires_at = models.DateTimeField(null=True, blank=True)
    # Raised by "sign out everywhere": every session remembers the epoch it started in,
    # and a session from an older epoch is ended on its next request.
    session_epoch = models.PositiveIntegerField(default=0)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can use the back office (platform staff only)."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalise_email(self.email)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class ConditionsOfUse(models.Model):
    """One version of the Conditions of Use. The newest published version is current."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200, default="SafeStats Conditions of Use")
    body = models.TextField(help_text="Plain text; a blank line starts a new paragraph.")
    published_at = models.DateTimeField(default=timezone.now)
    published_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = "Conditions of Use"
        verbose_name_plural = "Conditions of Use"

    def __str__(self) -> str:
        return f"{self.title}, version {self.version}"

    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.body.split("\n\n") if part.strip()]


class ConditionsAcceptance(models.Model):
    """A user accepted a version of the Conditions of Use (once per sign-in)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="acceptances")
    conditions = models.ForeignKey(ConditionsOfUse, on_delete=models.PROTECT)
    accepted_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.user} accepted version {self.conditions.version} at {self.accepted_at}"
