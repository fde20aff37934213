"""The hash chain, as plain Python (no Django): how an event's hash is computed.

Each event's hash covers its position (``seq``), every recorded field and the previous
event's hash, so editing, deleting, inserting or reordering any row breaks the chain at
that row. The payload is hashed exactly as stored (canonical JSON text), so the hash does
not depend on how a database returns JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Mapping[str, Any]) -> str:
    """One text for one value: sorted keys, no spaces, non-ASCII kept, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


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
                "ip": self.ip,
                "payload": self.payload_json,
                "prev_hash": self.prev_hash,
            }
        )
        return hashlib.sha256(material.encode("utf-8")).hexdigest()
