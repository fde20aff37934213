"""Preparing a demo instance: everything ``safestats demo`` does before it serves.

Every step is idempotent: running the demo again keeps the instance as it was and only
adds what is missing (new migrations, new static files).
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.core.management import call_command

from safestats.audit.services import Actor
from safestats.catalogue.services import sync_specs
from safestats.geography.files import GeographyFileError
from safestats.geography.services import load_folder
from safestats.web.demo_accounts import ensure_demo_accounts
from safestats.web.demo_data import DemoDataError, load_demo_data
from safestats.web.health import check_health


class DemoError(RuntimeError):
    pass


class Output(Protocol):
    def write(self, msg: str) -> None: ...


def prepare_demo_instance(out: Output) -> None:
    if not settings.IS_DEMO:
        raise DemoError(
            "safestats demo generates its own secrets and is for synthetic data only, so it "
            "runs only in demo mode (SAFESTATS_MODE=demo); this instance is in "
            f"{settings.SAFESTATS_MODE} mode."
        )
    out.write(f"Instance folder: {settings.SAFESTATS_HOME}")
    call_command("migrate", interactive=False, verbosity=0)
    out.write("Database is up to date.")
    load_demo_geography(out)
    call_command("collectstatic", interactive=False, verbosity=0)
    synced = sync_specs(by=Actor.system("demo"))
    if synced.problems:
        raise DemoError("Some dataset specs did not load: " + "; ".join(map(str, synced.problems)))
    out.write(
        f"Catalogue: {len(synced.created)} datasets added, {len(synced.changed)} updated, "
        f"{len(synced.unchanged)} unchanged."
    )
    credentials = ensure_demo_accounts(settings.SAFESTATS_HOME)
    out.write("Demo data (synthetic, through the ingestion pipeline):")
    try:
        load_demo_data(out)
    except DemoDataError as exc:
        raise DemoError(str(exc)) from exc
    out.write("")
    out.write("DEMO ACCOUNTS (synthetic; for this demo instance only)")
    out.write("Sign in with the email and password, then enter the 6-digit code an")
    out.write("authenticator app makes from the secret (or: oathtool --totp -b SECRET).")
    for credential in credentials:
        out.write(
            f"  {credential.role:<20} {credential.email:<30} password: {credential.password}"
            f"   TOTP secret: {credential.totp_secret}"
        )
    out.write("")
    report = check_health()
    if not report.ok:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in report.checks if not c.ok)
        raise DemoError(f"The demo instance is not healthy: {failed}")


def load_demo_geography(out: Output) -> None:
    """Load SAFESTATS_GEOGRAPHY_DIR when given (a no-op when those files are loaded)."""
    folder = settings.SAFESTATS_GEOGRAPHY_DIR
    if folder is None:
        out.write("No geography folder given: boundaries absent, maps will say so.")
        return
    try:
        result = load_folder(folder, by=Actor.system("demo"))
    except GeographyFileError as exc:
        raise DemoError(f"SAFESTATS_GEOGRAPHY_DIR could not be loaded: {exc}") from exc
    counts = ", ".join(f"{key} {count}" for key, count in sorted(result.counts.items()))
    if result.changed:
        out.write(f"Geography loaded from {result.folder}: {counts}.")
    else:
        out.write(f"Geography from {result.folder} is already loaded: {counts}.")
