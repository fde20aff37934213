"""Writing to the audit log. Every change, sign-in, query and download calls
:func:`record` inside the same transaction as the thing it records, so an event is
written if and only if the change is. :func:`start_export` (a page's download) and
:func:`export_events` (the command's file) are the audited export of the log itself;
reading and checking the log are in :mod:`safestats.audit.selectors`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from safestats.audit.chain import GENESIS, VerifyResult, canonical_ip, canonical_json
from safestats.audit.models import ActorKind, AuditEvent
from safestats.audit.selectors import search_events, verify_chain, write_events_csv

EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# The column's length: a longer name would be refused by PostgreSQL but kept by SQLite.
EVENT_NAME_MAX = AuditEvent._meta.get_field("event").max_length or 100
# Keys that must never reach the log, however they are nested.
FORBIDDEN_KEYS = re.compile(r"password|secret|otp_token|totp|recovery_code|api_key", re.I)
# Any 64-bit number serves: it only has to be the same for every writer.
_CHAIN_LOCK = 0x5AFE57A75


@dataclass(frozen=True)
class Actor:
    """Who did it: a user, the system (the instance operator, a background job) or nobody
    signed in (a failed sign-in, a registration)."""

    kind: str
    id: int | None = None
    label: str = ""
    organisation_id: int | None = None
    organisation_name: str = ""

    @classmethod
    def system(cls, label: str = "operator") -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def anonymous(cls, label: str = "") -> Actor:
        return cls(kind=ActorKind.ANONYMOUS, label=label)

    @classmethod
    def of(cls, who: Any) -> Actor:
        """An Actor for a user, an Actor, or None (anonymous)."""
        if isinstance(who, Actor):
            return who
        if who is None or not getattr(who, "is_authenticated", False):
            return cls.anonymous()
        organisation = getattr(who, "organisation", None)
        return cls(
            kind=ActorKind.USER,
            id=who.pk,
            label=getattr(who, "email", "") or str(who),
            organisation_id=getattr(organisation, "pk", None),
            organisation_name=getattr(organisation, "name", "") or "",
        )


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; behind a trusted proxy, the address the proxy saw."""
    if getattr(settings, "SAFESTATS_BEHIND_PROXY", False):
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR") or None


def _check_payload(value: Any, path: str = "payload") -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path} keys must be strings")
            if FORBIDDEN_KEYS.search(key):
                raise ValueError(f"{path}.{key} looks like a secret and must not be audited")
            _check_payload(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_payload(item, f"{path}[{index}]")


def _lock_chain() -> None:
    """Serialise writers so the chain stays one line.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: transactions begin IMMEDIATE
    (see settings), so the database write lock already serialises them.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])


def record(
    event: str,
    *,
    actor: Any,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    payload: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
    organisation: Any = None,
) -> AuditEvent:
    """Append one event to the log and return it.

    ``actor`` is a user, an :class:`Actor` or None (anonymous). ``target`` is a model
    instance (its label and primary key are recorded) or use ``target_type``/``target_id``.
    ``organisation`` overrides the actor's organisation (e.g. an administrator acting on
    another organisation). Raises ValueError for a malformed event name or a payload
    carrying something that looks like a secret.
    """
    if len(event) > EVENT_NAME_MAX:
        raise ValueError(f"audit event names are at most {EVENT_NAME_MAX} characters long")
    if not EVENT_NAME.match(event):
        raise ValueError(f"audit event names are noun.verb in lower case; got {event!r}")
    body = dict(payload or {})
    _check_payload(body)
    who = Actor.of(actor)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    organisation_id, organisation_name = who.organisation_id, who.organisation_name
    if organisation is not None:
        organisation_id = organisation.pk
        organisation_name = getattr(organisation, "name", "")

    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        entry = AuditEvent(
            seq=(last.seq + 1) if last else 1,
            occurred_at=timezone.now(),
            event=event,
            actor_kind=who.kind,
            actor_id=who.id,
            actor_label=who.label[:254],
            organisation_id=organisation_id,
            organisation_name=organisation_name[:200],
            target_type=target_type[:100],
            target_id=str(target_id)[:200],
            request_id=(getattr(request, "id", "") or "")[:64] if request else "",
            # Stored as hashed: one spelling, and a malformed address (a forged header)
            # dropped rather than refused by PostgreSQL's inet column.
            ip=canonical_ip(client_ip(request)) if request else None,
            payload_json=canonical_json(body),
            prev_hash=last.hash if last else GENESIS,
        )
        entry.hash = entry.chain_fields().digest()
        entry.save(force_insert=True)
    return entry


def start_export(
    *,
    by: Any,
    since: datetime | None = None,
    until: datetime | None = None,
    event_prefix: str = "",
    actor: str = "",
    organisation_id: int | None = None,
    target_type: str = "",
    target_id: str = "",
    destination: str = "",
    request: HttpRequest | None = None,
) -> QuerySet[AuditEvent]:
    """Record an export of the events matching the filters (``audit.exported``) and
    return exactly those events, for the caller to write out (a file, a download).

    The event is recorded before a single row leaves, so no export goes unrecorded even
    if writing fails part-way. The events stop at the last one that existed when the
    export was recorded, so the recorded count is exact and an export never contains its
    own event.
    """
    filters = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "event_prefix": event_prefix,
        "actor": actor,
        "organisation_id": organisation_id,
        "target_type": target_type,
        "target_id": target_id,
    }
    with transaction.atomic():
        newest = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
        events = search_events(
            since=since,
            until=until,
            event_prefix=event_prefix,
            actor=actor,
            organisation_id=organisation_id,
            target_type=target_type,
            target_id=target_id,
        ).filter(seq__lte=newest or 0)
        count = events.count()
        record(
            "audit.exported",
            actor=by,
            target_type="audit.log",
            payload={
                "filters": filters,
                "rows": count,
                "up_to_seq": newest or 0,
                "destination": destination,
            },
            request=request,
        )
    return events


def export_events(
    stream: TextIO,
    *,
    by: Any,
    since: datetime | None = None,
    until: datetime | None = None,
    event_prefix: str = "",
    actor: str = "",
    organisation_id: int | None = None,
    target_type: str = "",
    target_id: str = "",
    destination: str = "",
) -> int:
    """Write the events matching the filters to ``stream`` as CSV; return how many.
    Recorded first, as :func:`start_export` describes."""
    events = start_export(
        by=by,
        since=since,
        until=until,
        event_prefix=event_prefix,
        actor=actor,
        organisation_id=organisation_id,
        target_type=target_type,
        target_id=target_id,
        destination=destination,
    )
    return write_events_csv(events, stream)


def check_chain(*, by: Any, request: HttpRequest | None = None) -> VerifyResult:
    """Check the whole chain for a person who asked (a page's button) and record that
    they did and what was found (``audit.verified``): reading the log is audited too."""
    result = verify_chain()
    record(
        "audit.verified",
        actor=by,
        target_type="audit.log",
        payload={
            "ok": result.ok,
            "checked": result.checked,
            "last_seq": result.last_seq,
            "last_hash": result.last_hash,
            "first_bad_seq": result.first_bad_seq,
            "reason": result.reason,
        },
        request=request,
    )
    return result
