"""Building a new version of a dataset's data in the data store.

A version is a folder of Parquet files, never changed once written, with a
``manifest.json`` naming each file, its SHA-256 and its rows. A new version is the current
one with the periods (months) of the new records replaced by them, sorted by time; it is
written to a hidden folder and moved into place in one rename, so the data store holds
either the whole version or nothing of it. Only then does the catalogue's
``publish_version`` make it current.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from safestats.catalogue.spec import DatasetSpec
from safestats.ingest.processing import RECORD_KEY

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Built:
    folder: str  # relative to the data store
    rows: int
    coverage_from: date | None
    coverage_to: date | None
    manifest_sha256: str
    periods_replaced: list[str]
    rows_replaced: int


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(_quote(str(p)) for p in paths) + "]"


def _file_order(name: str) -> tuple[int, str]:
    """part-2 before part-10: the order the engine wrote them, which is time order."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else -1, name)


def version_files(data_dir: Path, parquet_path: str) -> list[Path]:
    folder = data_dir / parquet_path
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    names = sorted((item["name"] for item in manifest["files"]), key=_file_order)
    return [folder / name for name in names]


@contextmanager
def dataset_lock(data_dir: Path, dataset_id: str, waiting: Callable[[], None]) -> Iterator[None]:
    """One load at a time per dataset, across processes on this machine (an exclusive lock
    on a file in the dataset's folder). ``waiting`` is called while another load holds it."""
    folder = data_dir / "datasets" / dataset_id
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waiting()
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record_identity(spec: DatasetSpec) -> str | None:
    """The field that says which record a row is, when the dataset has one: the first
    identifier that is kept, as a token or as published."""
    for spec_field in spec.fields:
        if spec_field.role == "identifier" and spec_field.pseudonymise in (
            "hmac_token",
            "keep_public",
        ):
            return spec_field.name
    return None


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def manifest_text(
    *,
    dataset: str,
    spec_version: int,
    job: int,
    rows: int,
    coverage_from: date | None,
    coverage_to: date | None,
    schema: pa.Schema,
    files: list[Path],
) -> bytes:
    """A version's manifest.json: what it holds, and each file's rows, size and SHA-256."""
    manifest = {
        "dataset": dataset,
        "spec_version": spec_version,
        "job": job,
        "rows": rows,
        "coverage_from": coverage_from.isoformat() if coverage_from else None,
        "coverage_to": coverage_to.isoformat() if coverage_to else None,
        "columns": [{"name": c.name, "type": str(c.type)} for c in schema],
        "files": [
            {
                "name": path.name,
                "sha256": _sha256(path),
                "rows": pq.ParquetFile(path).metadata.num_rows,
                "bytes": path.stat().st_size,
            }
            for path in files
        ],
    }
    return json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")


def build_version(
    *,
    spec: DatasetSpec,
    schema: pa.Schema,
    staging: list[Path],
    previous: list[Path],
    data_dir: Path,
    folder_name: str,
    scratch: Path,
    memory_mb: int,
    spec_version: int,
    job: int,
    staging_by_period: Mapping[date | None, list[Path]] | None = None,
) -> Built:
    """Write the new version under ``datasets/<id>/<folder_name>`` and return what it
    holds. Nothing is visible under that name until it is complete.

    ``staging_by_period``, when given, names the staging files of each month (None for
    records without a coverage date): a version of more than :data:`GROUP_ROWS` records is
    then sorted and written a few months at a time (each group a sort that fits in
    memory, in time order), not in one sort that spills to disk."""
    identity = record_identity(spec)
    parent = data_dir / "datasets" / spec.id
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / folder_name
    building = parent / f".building-{folder_name}"
    # The SQL below is built from the spec's field names (snake_case, checked when the spec
    # was loaded, and quoted as identifiers) and from paths the job chose (quoted as
    # literals); no value from any file is ever placed in it.
    if final.exists():
        raise FileExistsError(f"{final} already exists; a version folder is never overwritten")
    building.mkdir()
    coverage = _ident(spec.coverage_field)
    period = f"date_trunc('month', {coverage})"
    columns = ", ".join(
        f"CAST({_ident(column.name)} AS {_duck_type(column.type)}) AS {_ident(column.name)}"
        for column in schema
    )
    new = f"read_parquet({_files(staging)})"
    connection = duckdb.connect(
        config={
            "memory_limit": f"{memory_mb}MB",
            "threads": 2,
            "temp_directory": str(scratch / "spill"),
            "preserve_insertion_order": False,
        }
    )
    try:
        connection.execute(
            f"CREATE TEMP TABLE periods AS SELECT DISTINCT {period} AS period FROM {new} "
            f"WHERE {coverage} IS NOT NULL"
        )
        periods = [
            row[0] for row in connection.execute("SELECT period FROM periods ORDER BY 1").fetchall()
        ]
        replaced = 0
        if previous:
            old = f"read_parquet({_files(previous)}, union_by_name = true)"
            kept = (
                f"SELECT * FROM {old} WHERE {coverage} IS NULL "
                f"OR {period} NOT IN (SELECT period FROM periods)"
            )
            replaced_row = connection.execute(
                f"SELECT count(*) FROM {old} WHERE {period} IN (SELECT period FROM periods)"
            ).fetchone()
            replaced = int(replaced_row[0]) if replaced_row else 0
            incoming = f"SELECT * FROM {new}"
            if identity is not None:
                # A record sent again (the same identifier in a replaced month) keeps the
                # key it had, so cell-key noise does not change because a month was resent.
                key, ident = _ident(RECORD_KEY), _ident(identity)
                incoming = (
                    f"SELECT n.* REPLACE (coalesce(o.kept_key, n.{key}) AS {key}) "
                    f"FROM {new} AS n LEFT JOIN (SELECT {ident} AS kept_id, "
                    f"min({key}) AS kept_key FROM {old} WHERE {period} IN "
                    f"(SELECT period FROM periods) AND {ident} IS NOT NULL GROUP BY 1) AS o "
                    f"ON n.{ident} = o.kept_id"
                )
            source = f"({kept}) UNION ALL BY NAME ({incoming})"
        else:
            source = f"SELECT * FROM {new}"
        groups = (
            _groups(connection, staging_by_period, previous, coverage, period)
            if staging_by_period is not None
            else []
        )
        if len(groups) <= 1:
            connection.execute(
                f"COPY (SELECT {columns} FROM ({source}) ORDER BY {coverage} NULLS LAST) "
                f"TO {_quote(str(building))} ({_WRITE})"
            )
        else:
            written = 0
            for number, (low, high, files) in enumerate(groups):
                # The group's own staging files stand for the new records; the bounds are
                # bound parameters, and the engine takes them down to the old files' row
                # groups (a version is in time order, so most are skipped).
                part = source.replace(new, f"read_parquet({_files(files)})") if files else kept
                if low is None:
                    where, params = f"{coverage} IS NULL", {}
                elif high is None:
                    where, params = f"{coverage} >= $low", {"low": low}
                else:
                    where = f"{coverage} >= $low AND {coverage} < $high"
                    params = {"low": low, "high": high}
                folder = building / f".group-{number}"
                connection.execute(
                    f"COPY (SELECT {columns} FROM ({part}) WHERE {where} "
                    f"ORDER BY {coverage}) TO {_quote(str(folder))} ({_WRITE})",
                    params,
                )
                for path in sorted(folder.glob("*.parquet"), key=lambda p: _file_order(p.name)):
                    path.rename(building / f"part-{written}.parquet")
                    written += 1
                folder.rmdir()
        files = sorted(building.glob("*.parquet"), key=lambda path: _file_order(path.name))
        summary = connection.execute(
            f"SELECT count(*), min({period}), max({period}) FROM read_parquet({_files(files)})"
            if files
            else "SELECT 0, NULL, NULL"
        ).fetchone()
    finally:
        connection.close()
    if summary is None:
        raise RuntimeError("the engine returned no summary of the new version")
    rows, first, last = int(summary[0]), summary[1], summary[2]
    text = manifest_text(
        dataset=spec.id,
        spec_version=spec_version,
        job=job,
        rows=rows,
        coverage_from=first.date() if first else None,
        coverage_to=last.date() if last else None,
        schema=schema,
        files=files,
    )
    (building / MANIFEST).write_bytes(text)
    for path in [*files, building / MANIFEST]:
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
        path.chmod(0o444)
    os.replace(building, final)
    return Built(
        folder=str(final.relative_to(data_dir)),
        rows=rows,
        coverage_from=first.date() if first else None,
        coverage_to=last.date() if last else None,
        manifest_sha256=hashlib.sha256(text).hexdigest(),
        periods_replaced=[p.date().isoformat()[:7] for p in periods],
        rows_replaced=replaced,
    )


_WRITE = (
    "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880, FILE_SIZE_BYTES '256MB', "
    "FILENAME_PATTERN 'part-{i}', OVERWRITE_OR_IGNORE true"
)
# The most records sorted at once when the staging is split by month.
GROUP_ROWS = 1_000_000

Group = tuple[date | None, date | None, list[Path]]  # from, up to (not included), new files


def _month_after(day: date) -> date | None:
    """The first day of the next month; None after December 9999 (no such date)."""
    if day.year == date.max.year and day.month == 12:
        return None
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _groups(
    connection: duckdb.DuckDBPyConnection,
    staging_by_period: Mapping[date | None, list[Path]],
    previous: list[Path],
    coverage: str,
    period: str,
) -> list[Group]:
    """Consecutive months, each group holding at most :data:`GROUP_ROWS` records of the
    new version (a month larger than that alone), then records without a coverage date.
    Counted from the staging files' metadata and from the previous version's months that
    are kept."""
    counts: dict[date | None, int] = {}
    for month, paths in staging_by_period.items():
        counts[month] = counts.get(month, 0) + sum(
            pq.ParquetFile(path).metadata.num_rows for path in paths
        )
    if previous:
        rows = connection.execute(
            f"SELECT {period}, count(*) FROM read_parquet({_files(previous)}, "
            f"union_by_name = true) WHERE {coverage} IS NULL "
            f"OR {period} NOT IN (SELECT period FROM periods) GROUP BY 1"
        ).fetchall()
        for month, count in rows:
            key = month.date() if isinstance(month, datetime) else month
            counts[key] = counts.get(key, 0) + int(count)
    months = sorted(month for month in counts if month is not None)
    groups: list[Group] = []
    size = 0
    for month in months:
        files = list(staging_by_period.get(month, []))
        if groups and size + counts[month] <= GROUP_ROWS:
            low, _, held = groups[-1]
            groups[-1] = (low, _month_after(month), held + files)
            size += counts[month]
        else:
            groups.append((month, _month_after(month), files))
            size = counts[month]
    if counts.get(None):
        groups.append((None, None, list(staging_by_period.get(None, []))))
    return groups


_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
    pa.timestamp("s"): "TIMESTAMP",
    pa.time32("s"): "TIME",
    pa.bool_(): "BOOLEAN",
}


def _duck_type(kind: pa.DataType) -> str:
    return _DUCK_TYPES[kind]
