"""``safestats audit verify`` and ``export`` run as the real command on a busy instance,
and several processes appending at once, on SQLite and (when the suite runs there) on
PostgreSQL."""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SAFESTATS, run_safestats, safestats_env, try_safestats
from tests.integration.audit_helpers import EXPECTED, TAMPERED_ROW

pytestmark = pytest.mark.slow

BUSY = 2000
SERVER_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRESQL = SERVER_URL.startswith(("postgres://", "postgresql://"))


@dataclass(frozen=True)
class Instance:
    home: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_safestats(self.home, *args, **self.env)

    def attempt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return try_safestats(self.home, *args, **self.env)

    def shell(self, code: str) -> str:
        return self.run("shell", "--no-imports", "-c", code).stdout


def _server_admin(statement: str, *names: str) -> None:
    import psycopg
    from psycopg import sql

    server = SERVER_URL.rpartition("/")[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))


def _database(name: str) -> dict[str, str]:
    return {"DATABASE_URL": f"{SERVER_URL.rpartition('/')[0]}/{name}"}


def _env(**extra: str) -> dict[str, str]:
    # The repository on the path lets `safestats shell` import the tests' helpers.
    return {"SAFESTATS_MODE": "test", "PYTHONPATH": str(REPO), **extra}


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """An instance with 2,000 events of mixed kinds, written once for the module; tests
    that change it work on a copy (:func:`copy_of_busy`)."""
    home = tmp_path_factory.mktemp("busy") / "instance"
    name = f"test_audit_busy_{uuid.uuid4().hex[:8]}"
    if ON_POSTGRESQL:
        _server_admin("CREATE DATABASE {}", name)
    instance = Instance(home, _env(**(_database(name) if ON_POSTGRESQL else {})))
    try:
        instance.run("migrate", "--no-input")
        instance.shell(
            f"from tests.integration.audit_helpers import write_busy_log; write_busy_log({BUSY})"
        )
        yield instance
    finally:
        if ON_POSTGRESQL:
            _server_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


@pytest.fixture
def copy_of_busy(busy: Instance, tmp_path: Path) -> Iterator[Instance]:
    home = tmp_path / "instance"
    home.mkdir()
    if not ON_POSTGRESQL:
        for path in busy.home.glob("db.sqlite3*"):
            shutil.copy(path, home / path.name)
        yield Instance(home, busy.env)
        return
    name = f"test_audit_copy_{uuid.uuid4().hex[:8]}"
    _server_admin(
        "CREATE DATABASE {} TEMPLATE {}", name, busy.env["DATABASE_URL"].rpartition("/")[2]
    )
    try:
        yield Instance(home, _env(**_database(name)))
    finally:
        _server_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def hash_of(instance: Instance, seq: int) -> str:
    return instance.shell(
        "from safestats.audit.models import AuditEvent\n"
        f"print(AuditEvent.objects.get(seq={seq}).hash)"
    ).strip()


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_verify_passes_on_a_busy_instance_and_prints_the_head_to_keep(busy: Instance) -> None:
    head = hash_of(busy, BUSY)
    result = busy.run("audit", "verify")
    assert result.stdout == f"Audit log intact: {BUSY} events, last hash {head}\n"
    assert result.stderr == ""
    assert busy.run("audit", "verify", "--known-head", f"{BUSY}:{head}").returncode == 0


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_verify_fails_at_the_tampered_row(copy_of_busy: Instance, kind: str) -> None:
    first_bad, reason = EXPECTED[kind]
    copy_of_busy.shell(
        f"from tests.integration.audit_helpers import tamper; tamper({kind!r}, {TAMPERED_ROW})"
    )
    last_good = hash_of(copy_of_busy, first_bad - 1)  # after an insertion, the forged row
    result = copy_of_busy.attempt("audit", "verify")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Audit log broken at row {first_bad}: {reason}.\n"
        f"Rows before it are intact ({first_bad - 1} events, last good hash {last_good}).\n"
    )


def test_verify_against_a_kept_head_finds_removed_newest_rows(copy_of_busy: Instance) -> None:
    head = hash_of(copy_of_busy, BUSY)
    copy_of_busy.shell(f"from tests.integration.audit_helpers import cut; cut({BUSY - 3})")
    assert copy_of_busy.run("audit", "verify").stdout.startswith(
        f"Audit log intact: {BUSY - 3} events"
    )
    result = copy_of_busy.attempt("audit", "verify", "--known-head", f"{BUSY}:{head}")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Audit log broken at row {BUSY - 2}: rows {BUSY - 2} to {BUSY} are missing "
        f"(the log ends at row {BUSY - 3} but a head hash was kept for row {BUSY}): "
        "the newest rows were removed.\n"
    )


def test_export_filters_writes_safe_csv_and_is_itself_audited(
    copy_of_busy: Instance, tmp_path: Path
) -> None:
    output = tmp_path / "analyst3.csv"
    result = copy_of_busy.run(
        "audit", "export", "--from", "2000-01-01", "--to", "2999-12-31",
        "--event", "query.", "--actor", "ANALYST3@borough.gov.uk", "--output", str(output),
    )  # fmt: skip
    rows = read_csv(output.read_bytes())
    # write_busy_log: every fifth event from n=1 is a query by analyst{n % 7}.
    expected = [n + 1 for n in range(BUSY) if n % 5 == 1 and n % 7 == 3]
    assert [int(row["seq"]) for row in rows] == expected
    assert result.stdout == f"Exported {len(expected)} events to {output}\n"
    assert {row["event"] for row in rows} == {"query.run"}
    assert rows[0]["payload"].startswith('{"filters":{"ward":"Holborn – St Giles"')
    assert rows[0]["occurred_at"].endswith("Z")

    everything = copy_of_busy.run("audit", "export", "--event", "dataset.")
    downloads = read_csv(everything.stdout.encode("utf-8"))
    assert {row["actor_label"] for row in downloads} == {"'=HYPERLINK()"}

    audit_events = read_csv(
        copy_of_busy.run("audit", "export", "--event", "audit.").stdout.encode()
    )
    assert [
        (row["seq"], row["event"], row["actor_kind"], row["actor_label"]) for row in audit_events
    ] == [
        (str(BUSY + 1), "audit.exported", "system", "operator"),
        (str(BUSY + 2), "audit.exported", "system", "operator"),
    ]
    assert copy_of_busy.run("audit", "verify").stdout.startswith(
        f"Audit log intact: {BUSY + 3} events"
    )
    nothing = copy_of_busy.run("audit", "export", "--to", "2000-01-01")
    assert read_csv(nothing.stdout.encode()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["export", "--from", "2026-02-30"],
            "CommandError: dates are YYYY-MM-DD; got '2026-02-30'",
        ),
        (
            ["export", "--from", "2026-03-02", "--to", "2026-03-01"],
            "--from must be on or before --to",
        ),
        (["verify", "--known-head", "17"], "--known-head is SEQ:HASH"),
        (["verify", "--chunk-size", "0"], "must be a whole number above 0"),
        ([], "the following arguments are required"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(
    busy: Instance, args: list[str], message: str
) -> None:
    result = busy.attempt("audit", *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_processes_appending_at_once_keep_one_unbroken_chain(
    tmp_path: Path, process_database: dict[str, str]
) -> None:
    instance = Instance(tmp_path / "instance", _env(**process_database))
    instance.run("migrate", "--no-input")
    gate = tmp_path / "gate"  # every process is up and waiting before the first write
    gate.mkdir()
    writers = [
        subprocess.Popen(
            [
                str(SAFESTATS),
                "shell",
                "--no-imports",
                "-c",
                "from tests.integration.audit_helpers import append_concurrently; "
                f"append_concurrently('writer-{n}', 100, {str(gate)!r})",
            ],
            env=safestats_env(instance.home, **instance.env),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    deadline = time.monotonic() + 300
    while len(list(gate.iterdir())) < 4:
        assert time.monotonic() < deadline, "the writers did not all start"
        assert all(w.poll() is None for w in writers), "a writer stopped before the gate"
        time.sleep(0.05)
    (gate / "go").touch()
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    assert instance.run("audit", "verify").stdout.startswith("Audit log intact: 400 events")

    rows = read_csv(instance.run("audit", "export", "--event", "load.").stdout.encode())
    assert [int(row["seq"]) for row in rows] == list(range(1, 401))
    labels = [row["actor_label"] for row in rows]
    assert Counter(labels) == {f"writer-{n}": 100 for n in range(4)}
    runs = 1 + sum(1 for a, b in itertools.pairwise(labels) if a != b)
    assert runs > 4, "the writers ran at the same time, not one after another"
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row["hash"])
