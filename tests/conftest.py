"""Fixtures shared by the whole suite.

Browser journeys drive Debian's Chromium (``make browser`` installs it) through Playwright;
a missing browser is a failure with instructions, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SAFESTATS = Path(sys.executable).with_name("safestats")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def safestats_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for running the real ``safestats`` command on an instance folder.

    The suite's own settings are not passed on: the command reads its instance's SQLite
    database unless the test gives a DATABASE_URL (see ``process_database``).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SAFESTATS_")
        and key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env["SAFESTATS_HOME"] = str(home)
    env.update(extra)
    return env


def try_safestats(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``safestats`` command on the instance folder ``home``."""
    return subprocess.run(
        [str(SAFESTATS), *args],
        env=safestats_env(home, **env),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def run_safestats(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Like :func:`try_safestats`, but a non-zero exit fails the test with the output."""
    result = try_safestats(home, *args, **env)
    if result.returncode != 0:
        raise AssertionError(
            f"safestats {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@pytest.fixture
def process_database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Environment giving a ``safestats`` process a database of its own.

    When the suite runs on PostgreSQL, a fresh database on the same server (dropped
    afterwards), so that commands run in a subprocess are tested on PostgreSQL too;
    on SQLite, nothing: the process uses the SQLite file in its instance folder.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield {}
        return
    import psycopg
    from psycopg import sql

    server, _, base = url.rpartition("/")
    name = f"test_{base}_process_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {"DATABASE_URL": f"{server}/{name}"}
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "Chromium is not installed; browser journeys need it. Run `make browser` "
            "(Debian packages chromium and chromium-driver).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the database work the test
    # itself does (fixtures, teardown) is still synchronous, which Django must be told.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_audit_trigger() -> Iterator[None]:
    """Let the suite empty a PostgreSQL test database between transactional tests.

    Django empties the database after a transactional test (live-server journeys) with one
    TRUNCATE of every table, which the audit log's append-only trigger refuses. The suite
    flushes with ``session_replication_role = replica``, under which PostgreSQL fires no
    ordinary trigger: a superuser's privilege (the test server's user has it), scoped to
    the flush's own transaction by SET LOCAL. Nothing in SafeStats itself does this.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self: Any, *args: Any, **kwargs: Any) -> list[str]:
        statements = original(self, *args, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else []

    DatabaseOperations.sql_flush = sql_flush  # type: ignore[method-assign]
    yield
    DatabaseOperations.sql_flush = original  # type: ignore[method-assign]
