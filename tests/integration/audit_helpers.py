"""Writing a busy audit log and tampering with it, for the audit tests.

Imported both by the tests and by ``safestats shell -c`` in a subprocess (with the
repository on PYTHONPATH), so that an instance run by the real command is filled and
tampered with by the same code as the test database.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor, record

ADDRESSES = ["192.0.2.10", "2001:DB8::7", "::ffff:198.51.100.4", "203.0.113.9"]


def _request(n: int) -> HttpRequest:
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = ADDRESSES[n % len(ADDRESSES)]
    request.id = f"req-{n:06d}"  # type: ignore[attr-defined]
    return request


def write_busy_log(count: int) -> None:
    """``count`` events of mixed kinds: users of several organisations, the system and
    anonymous visitors; with and without requests, targets and nested payloads."""
    with transaction.atomic():
        for n in range(count):
            kind = n % 5
            if kind == 0:
                record(
                    "account.signed_in",
                    actor=Actor.anonymous(f"visitor{n}@example.org"),
                    request=_request(n),
                )
            elif kind == 1:
                user = Actor(
                    kind="user",
                    id=n,
                    label=f"analyst{n % 7}@borough.gov.uk",
                    organisation_id=n % 3 + 1,
                    organisation_name=f"Borough {n % 3 + 1}",
                )
                record(
                    "query.run",
                    actor=user,
                    request=_request(n),
                    target_type="catalogue.dataset",
                    target_id=str(n % 11),
                    payload={"filters": {"ward": "Holborn – St Giles", "year": 2024}, "rows": n},
                )
            elif kind == 2:
                record(
                    "dataset.downloaded",
                    actor=Actor(kind="user", id=7, label="=HYPERLINK()"),
                    target_type="catalogue.version",
                    target_id=f"v{n}",
                    payload={"format": "csv", "cells": [1, 2, 3]},
                )
            elif kind == 3:
                record(
                    "ingest.job_finished",
                    actor=Actor.system("ingest worker"),
                    payload={"errors": [], "quarantined": n % 4},
                )
            else:
                record(
                    "organisation.updated",
                    actor=Actor.system(),
                    payload={"changed": ["name"], "note": "ünïcödé ✓"},
                )


def append_concurrently(label: str, count: int, gate: str) -> None:
    """Say this process is ready (a file in the folder ``gate``), wait until the test
    opens the gate (a file named ``go``), then append ``count`` events one transaction
    each. A barrier, not a time: on a busy machine processes start late."""
    folder = Path(gate)
    (folder / label).touch()
    deadline = time.monotonic() + 300
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the gate never opened")
        time.sleep(0.01)
    for n in range(count):
        record("load.tested", actor=Actor.system(label), payload={"n": n})


def _shift_up_from(cursor: Any, seq: int) -> None:
    # Through negative numbers: the unique constraint on seq is checked row by row.
    cursor.execute("UPDATE audit_auditevent SET seq = -seq WHERE seq >= %s", [seq])
    cursor.execute("UPDATE audit_auditevent SET seq = 1 - seq WHERE seq < 0")


def _forge_at(seq: int) -> None:
    """A row numbered ``seq``, linked to the row before it, with a hash that matches its
    own contents: everything a forger without the rest of the chain can get right."""
    before = AuditEvent.objects.get(seq=seq - 1)
    forged = AuditEvent(
        seq=seq,
        occurred_at=before.occurred_at,
        event="account.signed_in",
        actor_kind="user",
        actor_id=1,
        actor_label="alibi@borough.gov.uk",
        payload_json="{}",
        prev_hash=before.hash,
    )
    forged.hash = forged.chain_fields().digest()
    forged.save(force_insert=True)


def _swap(cursor: Any, a: int, b: int) -> None:
    cursor.execute("UPDATE audit_auditevent SET seq = -1 WHERE seq = %s", [a])
    cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [a, b])
    cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE seq = -1", [b])


def cut(keep: int) -> None:
    """Remove every row after ``keep``: the one removal the chain alone cannot show."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def tamper(kind: str, seq: int) -> None:
    """Tamper with row ``seq`` as someone with write access to the database would.

    On PostgreSQL the append-only trigger is bypassed for this transaction only, as a
    superuser can: ``session_replication_role = replica`` fires no ordinary trigger.
    """
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET LOCAL session_replication_role = replica")
        if kind == "edit-payload":
            cursor.execute(
                "UPDATE audit_auditevent SET payload_json = %s WHERE seq = %s", ['{"rows":0}', seq]
            )
        elif kind == "edit-actor":
            cursor.execute(
                "UPDATE audit_auditevent SET actor_label = %s WHERE seq = %s",
                ["someone.else@borough.gov.uk", seq],
            )
        elif kind == "delete":
            cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [seq])
        elif kind == "insert":
            _shift_up_from(cursor, seq)
            _forge_at(seq)
        elif kind == "reorder":
            _swap(cursor, seq, seq + 1)
        else:
            raise ValueError(f"no such tampering: {kind}")
        if postgresql:
            cursor.execute("SET LOCAL session_replication_role = origin")


# What verify reports after each tampering with row 17 (or, for a reorder, rows 17 and 18).
TAMPERED_ROW = 17
EXPECTED: dict[str, tuple[int, str]] = {
    "edit-payload": (17, "row 17 was edited (its hash does not match its contents)"),
    "edit-actor": (17, "row 17 was edited (its hash does not match its contents)"),
    "delete": (17, "row 17 is missing (seq jumps from 16 to 18)"),
    # The forged row 17 links correctly; the row it displaced, now 18, no longer does.
    "insert": (
        18,
        "row 18 does not follow row 17 (prev_hash mismatch): "
        "a row was inserted, deleted or reordered",
    ),
    "reorder": (
        17,
        "row 17 does not follow row 16 (prev_hash mismatch): "
        "a row was inserted, deleted or reordered",
    ),
}
