"""The instance folder (``SAFESTATS_HOME``): where one SafeStats instance keeps its files.

Everything an instance writes lives under its home, so two instances with different homes
never touch each other's files::

    HOME/
      db.sqlite3        control-plane database (when DATABASE_URL is not set)
      data/             the data store: published dataset versions (Parquet)
      raw/              every uploaded file, content-addressed, never changed
      reports/          generated reports
      agreements/       signed Data Sharing Agreements (PDF), content-addressed, never changed
      static/           collected static files served by the web server
      mail/             e-mail written to files (demo instances only)
      tmp/              scratch space for work in progress
      demo-secrets.json generated secrets (demo instances only)

This module has no Django import: settings use it before Django is set up.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path

DEMO_SECRETS_FILE = "demo-secrets.json"
DEMO_SECRET_NAMES = ("SAFESTATS_SECRET_KEY", "SAFESTATS_PSEUDONYMISATION_KEY")


class InstanceError(RuntimeError):
    """The instance folder cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class InstancePaths:
    home: Path
    database: Path
    data: Path
    raw: Path
    reports: Path
    agreements: Path
    static: Path
    mail: Path
    tmp: Path

    @classmethod
    def under(cls, home: Path) -> InstancePaths:
        return cls(
            home=home,
            database=home / "db.sqlite3",
            data=home / "data",
            raw=home / "raw",
            reports=home / "reports",
            agreements=home / "agreements",
            static=home / "static",
            mail=home / "mail",
            tmp=home / "tmp",
        )

    def folders(self) -> list[Path]:
        return [getattr(self, f.name) for f in fields(self) if f.name not in {"home", "database"}]


def prepare(home: Path) -> InstancePaths:
    """Create the instance folder and its sub-folders if missing (never deletes anything)."""
    paths = InstancePaths.under(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        for folder in paths.folders():
            folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise InstanceError(
            f"Cannot create the instance folder {home}: {exc.strerror}. "
            "Set SAFESTATS_HOME to a folder you can write to."
        ) from exc
    return paths


def ensure_demo_secrets(home: Path) -> bool:
    """Generate a demo instance's secrets once; return True if they were created now.

    Kept in the instance folder (readable by its owner only) so that re-running the demo
    keeps sessions and pseudonymisation tokens stable. Production secrets come from the
    environment only.
    """
    path = home / DEMO_SECRETS_FILE
    if path.exists():
        return False
    values = {name: secrets.token_urlsafe(48) for name in DEMO_SECRET_NAMES}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle, indent=2)
    return True


def read_demo_secret(home: Path, name: str) -> str:
    path = home / DEMO_SECRETS_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InstanceError(
            f"{name} is not set and this demo instance ({home}) has no generated secrets yet. "
            "Run `safestats demo` to prepare it, or set the variable in the environment."
        ) from None
    except (OSError, ValueError) as exc:
        raise InstanceError(f"Cannot read {path}: {exc}") from exc
    value = values.get(name)
    if not isinstance(value, str) or not value:
        raise InstanceError(f"{path} has no value for {name}.")
    return value
