"""Reading the audit log: searching it, writing it out as CSV and checking its chain.

The platform administrator's audit page and ``safestats audit`` share these, so a filter
or a CSV column means the same wherever it is used. Everything here streams: the log may
hold millions of rows.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from django.db.models import Max, QuerySet, Subquery

from safestats.audit.chain import ChainFields, Head, StoredRow, VerifyResult, verify
from safestats.audit.models import AuditEvent

CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "event",
    "actor_kind",
    "actor_label",
    "organisation_name",
    "target_type",
    "target_id",
    "request_id",
    "ip",
    "payload",
    "hash",
)
# A spreadsheet treats a cell starting with one of these as a formula; in an export opened
# by an administrator, a label such as "=HYPERLINK(...)" chosen by a user must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000

# Read in ChainFields' own order, so a row becomes ChainFields(*values) without a model.
_CHAIN_COLUMNS = (*(field.name for field in dataclasses.fields(ChainFields)), "hash")


def search_events(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    event_prefix: str = "",
    actor: str = "",
    organisation_id: int | None = None,
    target_type: str = "",
    target_id: str = "",
) -> QuerySet[AuditEvent]:
    """Events in ``seq`` order matching every filter given.

    ``since`` is inclusive and ``until`` exclusive. ``event_prefix`` matches the start of
    the event name (``account.`` or ``account.signed_in``). ``actor`` is the actor's label,
    usually an email address, compared without regard to case.
    """
    events = AuditEvent.objects.order_by("seq")
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    if event_prefix:
        # Event names are lower case; SQLite's LIKE ignores case and PostgreSQL's does not,
        # so the prefix is lowered to mean the same on both.
        events = events.filter(event__startswith=event_prefix.strip().lower())
    if actor:
        events = events.filter(actor_label__iexact=actor.strip())
    if organisation_id is not None:
        events = events.filter(organisation_id=organisation_id)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    return events


def safe_cell(value: object) -> str:
    """A value as CSV text that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_row(event: AuditEvent) -> list[str]:
    return [
        str(event.seq),
        event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        safe_cell(event.event),
        safe_cell(event.actor_kind),
        safe_cell(event.actor_label),
        safe_cell(event.organisation_name),
        safe_cell(event.target_type),
        safe_cell(event.target_id),
        safe_cell(event.request_id),
        safe_cell(event.ip),
        safe_cell(event.payload_json),
        event.hash,
    ]


class _Line:
    """A file-like object that hands back what the csv writer writes, one row at a time."""

    def write(self, text: str) -> str:
        return text


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """``events`` as CSV text, a row at a time: first a byte-order mark (so spreadsheets
    read the text as UTF-8) with the header, then one line per event. For streaming a
    download; :func:`write_events_csv` writes the same text to a stream."""
    if isinstance(events, QuerySet):
        events = events.iterator(chunk_size=CHUNK_SIZE)
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(CSV_COLUMNS)
    for event in events:
        yield writer.writerow(csv_row(event))


def write_events_csv(events: Iterable[AuditEvent], stream: TextIO) -> int:
    """Write ``events`` to a UTF-8 text stream as CSV (see :func:`csv_lines`); return how
    many rows were written."""
    count = -1  # the first line is the header
    for line in csv_lines(events):
        stream.write(line)
        count += 1
    return count


def organisations_in_log() -> list[tuple[int, str]]:
    """Each organisation named in the log, as (id, the name its newest event recorded), by
    name: the choices of the audit page's organisation filter. The log keeps names as
    they were, so this needs no other app's tables."""
    newest = (
        AuditEvent.objects.filter(organisation_id__isnull=False)
        .order_by()
        .values("organisation_id")
        .annotate(newest=Max("seq"))
        .values("newest")
    )
    rows = AuditEvent.objects.filter(seq__in=Subquery(newest)).values_list(
        "organisation_id", "organisation_name"
    )
    named = [(int(pk), name or f"Organisation {pk}") for pk, name in rows if pk is not None]
    return sorted(named, key=lambda item: (item[1].lower(), item[0]))


def chain_rows(chunk_size: int = CHUNK_SIZE) -> Iterator[StoredRow]:
    """Every event, in ``seq`` order, as the chain engine reads it, fetched in chunks (a
    server-side cursor on PostgreSQL) so memory does not grow with the log."""
    rows = (
        AuditEvent.objects.order_by("seq")
        .values_list(*_CHAIN_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )
    for *fields, stored_hash in rows:
        yield StoredRow(ChainFields(*fields), stored_hash)


def verify_chain(*, known_head: Head | None = None, chunk_size: int = CHUNK_SIZE) -> VerifyResult:
    """Check the whole log's chain (see :func:`safestats.audit.chain.verify`)."""
    return verify(chain_rows(chunk_size), known_head=known_head)
