"""The audit event table: append-only, with no foreign keys (events outlive what they
name), ordered by ``seq`` and chained by ``prev_hash``/``hash``."""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.utils import timezone

from safestats.audit.chain import ChainFields


class ActorKind(models.TextChoices):
    USER = "user", "User"
    SYSTEM = "system", "System"
    ANONYMOUS = "anonymous", "Anonymous"


class AuditEvent(models.Model):
    seq = models.BigIntegerField(unique=True, help_text="Position in the chain, from 1.")
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.CharField(max_length=100, db_index=True, help_text="noun.verb")
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=254, blank=True, help_text="e.g. the email")
    organisation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    payload_json = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["event", "occurred_at"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event} by {self.actor_label or self.actor_kind}"

    @property
    def payload(self) -> dict[str, Any]:
        value = json.loads(self.payload_json)
        return value if isinstance(value, dict) else {}

    def chain_fields(self) -> ChainFields:
        return ChainFields(
            seq=self.seq,
            occurred_at=self.occurred_at,
            event=self.event,
            actor_kind=self.actor_kind,
            actor_id=self.actor_id,
            actor_label=self.actor_label,
            organisation_id=self.organisation_id,
            organisation_name=self.organisation_name,
            target_type=self.target_type,
            target_id=self.target_id,
            request_id=self.request_id,
            ip=self.ip,
            payload_json=self.payload_json,
            prev_hash=self.prev_hash,
        )
