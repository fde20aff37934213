"""Ingestion as real processes: a load killed half-way changes nothing that was published
and is marked failed once its process is known to be gone, after which the same file
loads; and the background worker runs a queued job. Each test runs the real
``safestats`` command on an instance folder and database of its own (PostgreSQL when the
suite runs there), and reads the job's progress straight from that database."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from safestats.instance import InstancePaths
from tests.conftest import SAFESTATS, run_safestats, safestats_env

STREET = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
MPS = "Metropolitan Police Service"
BIG_ROWS = 600_000


@dataclass(frozen=True)
class Instance:
    home: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_safestats(self.home, *args, **self.env)

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as output:
            return subprocess.Popen(
                [str(SAFESTATS), *args],
                env=safestats_env(self.home, **self.env),
                cwd=self.home.parent,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows from the instance's own database, read as another process would."""
        url = self.env.get("DATABASE_URL", "")
        if url:
            import psycopg

            with psycopg.connect(url, autocommit=True) as connection:
                return list(connection.execute(sql).fetchall())
        database = InstancePaths.under(self.home).database
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
            return connection.execute(sql).fetchall()

    def job(self, pk: int) -> tuple[str, str, int, str]:
        [row] = self.query(
            f"SELECT status, stage, rows_done, message FROM ingest_ingestjob WHERE id = {pk}"  # noqa: S608 - an integer
        )
        return str(row[0]), str(row[1]), int(row[2]), str(row[3])

    def last_job(self) -> int:
        rows = self.query("SELECT max(id) FROM ingest_ingestjob")
        return int(rows[0][0] or 0)

    def street_version(self) -> int | None:
        """The number of police-uk-street's current version."""
        rows = self.query(
            "SELECT v.number FROM catalogue_dataset d "
            "JOIN catalogue_datasetversion v ON v.id = d.current_version_id "
            "WHERE d.id = 'police-uk-street'"
        )
        return int(rows[0][0]) if rows else None


@pytest.fixture
def instance(tmp_path: Path, process_database: dict[str, str]) -> Iterator[Instance]:
    home = tmp_path / "instance"
    ready = Instance(home, {"SAFESTATS_MODE": "test", **process_database})
    ready.run("migrate", "--no-input", "-v", "0")
    ready.run("catalogue", "sync")
    yield ready


def write_street(path: Path, rows: int, months: tuple[str, ...], first: int = 0) -> Path:
    """A synthetic street-level file of ``rows`` records, written in one go."""
    index = np.arange(first, first + rows)
    columns = {
        "Crime ID": pa.array([f"{n:064x}" for n in index.tolist()]),
        "Month": pa.array(np.array(months)[index % len(months)]),
        "Reported by": pa.array(np.full(rows, MPS)),
        "Falls within": pa.array(np.full(rows, MPS)),
        "Longitude": pa.array(np.round(-0.135 + (index % 100) * 1e-4, 6).astype(str)),
        "Latitude": pa.array(np.round(51.505 + (index % 97) * 1e-4, 6).astype(str)),
        "Location": pa.array(np.full(rows, "On or near Whitehall")),
        "LSOA code": pa.array(np.where(index % 3 == 0, "E01004736", "E01004737")),
        "LSOA name": pa.array(np.full(rows, "Westminster 001A")),
        "Crime type": pa.array(np.where(index % 5 == 0, "Burglary", "Robbery")),
        "Last outcome category": pa.array(np.full(rows, "Under investigation")),
        "Context": pa.array(np.full(rows, "")),
    }
    pacsv.write_csv(pa.table(columns), path)
    return path


def data_store(home: Path) -> dict[str, str]:
    """Every file under the instance's data folder with the SHA-256 of its bytes."""
    data = InstancePaths.under(home).data
    return {
        str(path.relative_to(data)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(data.rglob("*"))
        if path.is_file()
    }


def test_a_load_killed_half_way_publishes_nothing_and_is_failed_then_retried(
    instance: Instance, tmp_path: Path
) -> None:
    first = write_street(tmp_path / "first.csv", 50, ("2024-01",))
    assert (
        "Published version 1"
        in instance.run("ingest", "police-uk-street", str(first), "--no-progress").stdout
    )
    before = data_store(instance.home)
    assert any(name.endswith("manifest.json") for name in before)
    first_job = instance.last_job()

    big = write_street(tmp_path / "big.csv", BIG_ROWS, ("2024-01", "2024-02"), first=1000)
    log = tmp_path / "ingest.log"
    process = instance.start("ingest", "police-uk-street", str(big), "--no-progress", log=log)
    try:
        deadline = time.monotonic() + 300
        job = 0
        while True:
            assert process.poll() is None, (
                f"the load ended before it was killed:\n{log.read_text()}"
            )
            assert time.monotonic() < deadline, "the load never reached its checking stage"
            job = instance.last_job()
            if job > first_job:
                # Checking: past reading, and seconds before anything is written to the
                # data store (a version is built only after every row is checked).
                status, stage, rows_done, _ = instance.job(job)
                if status == "running" and stage.startswith("Checking") and rows_done > 0:
                    break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)  # reaped: its pid no longer answers
    assert process.returncode == -signal.SIGKILL

    status, stage, _, _ = instance.job(job)
    assert status == "running"  # nothing has noticed yet
    assert instance.street_version() == 1
    assert data_store(instance.home) == before  # not a byte changed, nothing added
    scratch = InstancePaths.under(instance.home).tmp / "ingest" / f"job-{job}"
    assert scratch.exists()

    reaped = instance.run("worker", "--batch").stdout
    assert f"Job {job} had stopped with its process: marked failed." in reaped
    status, stage_after, _, message = instance.job(job)
    assert (status, stage_after) == ("failed", "Stopped")
    assert message.startswith(
        f"The process running this load stopped while it was at “{stage}” "
        "(it was killed, or the machine restarted). Nothing was published"
    )
    assert not scratch.exists()
    assert data_store(instance.home) == before
    assert instance.street_version() == 1

    again = instance.run("ingest", "police-uk-street", str(big), "--no-progress").stdout
    assert f"big.csv: {BIG_ROWS:,} rows, UTF-8, layout street-csv" in again
    assert "Published version 2" in again
    assert instance.street_version() == 2
    assert instance.job(instance.last_job())[0] == "published"
    after = data_store(instance.home)
    assert {name: after[name] for name in before} == before  # version 1 is untouched


def test_the_worker_runs_a_queued_job(instance: Instance, tmp_path: Path) -> None:
    path = write_street(tmp_path / "street.csv", 20, ("2024-03",))
    queued = instance.run("ingest", "police-uk-street", str(path), "--queue").stdout
    job = instance.last_job()
    assert f"Job {job}: loading 1 file(s) into police-uk-street." in queued
    assert "Queued: `safestats worker` will run it." in queued
    assert instance.job(job)[0] == "queued"
    assert instance.street_version() is None

    instance.run("worker", "--batch")

    status, stage, rows_done, message = instance.job(job)
    assert (status, stage, rows_done) == ("published", "Done", 20)
    assert message == "Published version 1 with 20 records: 20 new records for 2024-03."
    assert instance.street_version() == 1
