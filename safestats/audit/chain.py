"""The hash chain, as plain Python (no Django): how an event's hash is computed and how a
whole log is checked.

Each event's hash covers its position (``seq``), every recorded field and the previous
event's hash, so editing, deleting, inserting or reordering any row breaks the chain at
that row. The payload is hashed exactly as stored (canonical JSON text), so the hash does
not depend on how a database returns JSON.

:func:`verify` reads rows one at a time in ``seq`` order and keeps only the previous row's
number and hash, so it checks a log of any length in constant memory. It stops at the first
row it cannot vouch for and says, in words, what is wrong there.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

GENESIS = "0" * 64


def canonical_json(value: Mapping[str, Any]) -> str:
    """One text for one value: sorted keys, no spaces, non-ASCII kept, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_ip(value: str | None) -> str | None:
    """One spelling for one address, or None for a missing or malformed one.

    Databases spell addresses their own way (PostgreSQL's ``inet`` writes
    ``::ffff:1.2.3.4``, Python ``::ffff:102:304``), so the hash covers this spelling, not
    whatever the database hands back. An IPv4 address seen through IPv6 is its IPv4 self.
    """
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@dataclass(frozen=True)
class ChainFields:
    seq: int
    occurred_at: datetime
    event: str
    actor_kind: str
    actor_id: int | None
    actor_label: str
    organisation_id: int | None
    organisation_name: str
    target_type: str
    target_id: str
    request_id: str
    ip: str | None
    payload_json: str
    prev_hash: str

    def digest(self) -> str:
        when = self.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        # A malformed address (possible only by writing around record()) is hashed as it
        # stands, so that changing it is still an edit.
        ip = canonical_ip(self.ip) or self.ip
        material = canonical_json(
            {
                "seq": self.seq,
                "occurred_at": when,
                "event": self.event,
                "actor_kind": self.actor_kind,
                "actor_id": self.actor_id,
                "actor_label": self.actor_label,
                "organisation_id": self.organisation_id,
                "organisation_name": self.organisation_name,
                "target_type": self.target_type,
                "target_id": self.target_id,
                "request_id": self.request_id,
                "ip": ip,
                "payload": self.payload_json,
                "prev_hash": self.prev_hash,
            }
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()


class StoredRow(NamedTuple):
    """A row as the log holds it: the hashed fields and the hash stored beside them."""

    fields: ChainFields
    hash: str


class Head(NamedTuple):
    """A row number and its hash, as an operator noted them after an earlier check."""

    seq: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found.

    ``checked`` counts the rows proved intact: all of them when ``ok``, otherwise those
    before ``first_bad_seq``. ``last_seq``/``last_hash`` name the last intact row (0 and
    :data:`GENESIS` when there is none): the head hash to keep when the log is intact.
    """

    ok: bool
    checked: int
    last_seq: int
    last_hash: str
    first_bad_seq: int | None = None
    reason: str = ""


def _rows_missing(first: int, last: int) -> str:
    if first == last:
        return f"row {first} is missing"
    return f"rows {first} to {last} are missing"


def _broken_order(seq: int, previous: int | None) -> tuple[int, str] | None:
    """The first bad row number and the reason, when ``seq`` cannot follow ``previous``."""
    if previous is None:
        if seq == 1:
            return None
        if seq > 1:
            return 1, f"{_rows_missing(1, seq - 1)} (the log starts at row {seq})"
        return 1, f"the log does not start at row 1 (its first row is numbered {seq})"
    if seq == previous + 1:
        return None
    if seq > previous + 1:
        return previous + 1, (
            f"{_rows_missing(previous + 1, seq - 1)} (seq jumps from {previous} to {seq})"
        )
    if seq == previous:
        # Either copy may be the intruder, so the report names the number they share.
        return seq, f"row {seq} appears twice (duplicate seq)"
    return previous + 1, f"rows out of order (row {seq} comes after row {previous})"


def verify(rows: Iterable[StoredRow], *, known_head: Head | None = None) -> VerifyResult:
    """Check a log given in ``seq`` order; stop at the first row that is not intact.

    For each row, in this order: its number must follow the previous one (else a row is
    missing, duplicated or out of order); its ``prev_hash`` must be the previous row's hash
    (else a row was inserted, deleted or reordered, or its predecessor was rewritten along
    with its hash); its own hash must match its contents (else it was edited).

    A hash chain cannot see rows removed from the end, nor a log rewritten from some row
    onward with fresh hashes. ``known_head``, a row number and hash kept outside the
    database after an earlier check, catches both: that row must still be there, unchanged.
    """
    previous_seq: int | None = None
    previous_hash = GENESIS
    checked = 0

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(
            ok=False,
            checked=checked,
            last_seq=previous_seq or 0,
            last_hash=previous_hash,
            first_bad_seq=seq,
            reason=reason,
        )

    for fields, stored_hash in rows:
        seq = fields.seq
        order = _broken_order(seq, previous_seq)
        if order is not None:
            return broken(*order)
        if fields.prev_hash != previous_hash:
            if previous_seq is None:
                return broken(
                    seq,
                    f"row {seq} is not linked to the start of the chain "
                    "(its prev_hash is not the genesis hash)",
                )
            return broken(
                seq,
                f"row {seq} does not follow row {previous_seq} (prev_hash mismatch): "
                "a row was inserted, deleted or reordered",
            )
        if fields.digest() != stored_hash:
            return broken(seq, f"row {seq} was edited (its hash does not match its contents)")
        if known_head is not None and seq == known_head.seq and stored_hash != known_head.hash:
            return broken(
                seq,
                f"row {seq} does not match the head hash kept for it: the log was "
                f"rewritten up to or past row {seq}",
            )
        previous_seq, previous_hash = seq, stored_hash
        checked += 1

    last_seq = previous_seq or 0
    if known_head is not None and known_head.seq > last_seq:
        return broken(
            last_seq + 1,
            f"{_rows_missing(last_seq + 1, known_head.seq)} (the log ends at row {last_seq} "
            f"but a head hash was kept for row {known_head.seq}): the newest rows were removed",
        )
    return VerifyResult(ok=True, checked=checked, last_seq=last_seq, last_hash=previous_hash)
