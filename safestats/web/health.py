"""Health checks: is the control-plane database reachable, and the data store usable?

Used by ``/healthz`` (load balancers, uptime monitors) and by ``safestats demo`` before it
serves. Messages say what failed without revealing paths or connection strings.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from django.conf import settings
from django.db import DatabaseError, connections


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "unavailable",
            "checks": {
                check.name: {"status": "ok" if check.ok else "failed", "detail": check.detail}
                for check in self.checks
            },
        }


def check_database(alias: str = "default") -> Check:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check("database", False, f"cannot query the database ({type(exc).__name__})")
    return Check("database", True, f"{connections[alias].vendor} answered")


def check_data_store(path: Path | None = None) -> Check:
    """The data store must be a folder we can write to, and the query engine must load."""
    folder = Path(path or settings.SAFESTATS_DATA_DIR)
    if not folder.is_dir():
        return Check("data_store", False, "the data store folder does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=".healthz-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError:
        return Check("data_store", False, "the data store folder is not writable")
    try:
        with duckdb.connect(":memory:") as engine:
            engine.execute("SELECT 1").fetchone()
    except duckdb.Error as exc:
        return Check("data_store", False, f"the query engine failed to start ({exc})")
    return Check("data_store", True, "writable; query engine ready")


def check_health() -> HealthReport:
    return HealthReport(checks=[check_database(), check_data_store()])
