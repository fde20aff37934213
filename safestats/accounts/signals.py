"""Audit events for what django-axes decides on its own: a lockout."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.dispatch import receiver

from safestats.audit.services import Actor, record


@receiver(user_locked_out)
def record_lockout(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    email = (username or "").strip().lower()[:254]
    record(
        "user.locked_out",
        actor=Actor.anonymous(email),
        payload={"email": email, "ip_address": kwargs.get("ip_address") or ""},
        request=request,
    )
