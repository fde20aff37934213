"""Aggregate queries and record-level extracts against baselines measured in the same run.

For each size (10M and 30M records by default) a throwaway instance is made (temporary
SAFESTATS_HOME, SQLite, demo mode, ``safestats migrate`` and ``safestats catalogue sync``),
then a child process of this script, with Django set up for that instance:

- writes synthetic MPS recorded-crime records directly as Parquet in the published layout
  (``processing.output_schema``: the spec's fields, ``_record_key``, ``_source_row``,
  ``_job``), 1M rows at a time, sorted by ``recorded_date`` as ingestion sorts them, in
  zstd files of at most ~256 MB with 122,880-row row groups (as ``build_version`` writes
  them), with a manifest like ``build_version``'s, and publishes it as the dataset's
  version (``add_draft_version`` + ``publish_version``);
- times each query of the query set on every engine: the median of QUERY_RUNS (5) rounds
  after a warm-up, each round running every engine once in turn (so that the load of a
  shared machine falls on all alike).
  ours: ``services.run_query(QuerySpec)`` as the operator, the whole path (access policy,
  check, compile, fenced DuckDB, the dataset's threshold disclosure control, audit event);
  engine: ``engine.run`` alone on the compiled query (the fenced connection and the SQL);
  DuckDB: the exact SQL ``compiler.compile_aggregate`` generates on a plain connection;
  pandas: the same groupby on a DataFrame of the needed columns (loaded once, untimed);
  SQLite and PostgreSQL: the same query on a table of the needed columns with an index on
  (major_category, recorded_date) (loading, indexing and ANALYZE untimed; PostgreSQL in a
  database made for the run on 127.0.0.1:5432 as postgres and dropped after it, skipped
  when the server cannot be reached); every baseline's answer is checked against DuckDB's.

Then record-level extracts of ~1M records (a tenth of the records in runs smaller than
10M) and of a quarter as many (to see whether memory stays flat), each in a fresh process
whose peak resident memory is measured: ``services.extract(csv)`` against DuckDB's
``COPY (same SELECT) TO 'x.csv'``, and ``services.extract(xlsx)`` against plain xlsxwriter
in constant-memory mode writing the same rows.

Prints a table with the targets beside the figures and a line for each target missed;
writes bench/results.json under "query" (keeping what else is there). Nothing is asserted.

    .venv/bin/python bench/query.py [ROWS ...]
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GEOGRAPHY = (REPO / ".." / "shared" / "data" / "geography").resolve()
LOOKUP = GEOGRAPHY / "lsoa2021_ward2025_derived_london.csv"
RESULTS = REPO / "bench" / "results.json"
DATASET = "mps-recorded-crime"
RUNS = int(os.environ.get("QUERY_RUNS", "5"))
SQLITE_LIMIT_S = float(os.environ.get("QUERY_SQLITE_LIMIT_S", "600"))
POSTGRES = "host=127.0.0.1 port=5432 user=postgres"

CHUNK = 1_000_000
FIRST_DAY = date(2023, 1, 1)
DAYS = (date(2025, 1, 1) - FIRST_DAY).days  # two years: 2023 and 2024
EPOCH_DAY = (FIRST_DAY - date(1970, 1, 1)).days
FILE_BYTES = 256 * 1024 * 1024  # as build_version's FILE_SIZE_BYTES
ROW_GROUP = 122_880  # as build_version's ROW_GROUP_SIZE
EXTRACT_ROWS = 1_000_000
SMALL_EXTRACT_ROWS = 250_000

# Targets (geometric means over the query set for the aggregate ratios).
TARGET_DUCKDB_RATIO = 1.5
TARGET_DUCKDB_MS = 50.0
TARGET_PANDAS = 5.0
TARGET_SQLITE = 12.0
TARGET_POSTGRES = 10.0
TARGET_CSV = 0.7
TARGET_XLSX = 1.0
FLAT_MB = 50  # peak memory growing by less than this from the small to the large extract


@dataclass(frozen=True)
class Query:
    """One aggregate of the query set: counts by ``group`` fields (then month)."""

    name: str
    label: str
    group: tuple[str, ...]
    month: bool
    categories: tuple[str, ...] = ()
    date_from: str | None = None  # YYYY-MM, inclusive
    date_to: str | None = None  # YYYY-MM, inclusive

    def bounds(self) -> tuple[date | None, date | None]:
        """The date range as [first day, first day after)."""
        first = date.fromisoformat(self.date_from + "-01") if self.date_from else None
        after = None
        if self.date_to:
            year, month = int(self.date_to[:4]), int(self.date_to[5:7])
            after = date(year + month // 12, month % 12 + 1, 1)
        return first, after


QUERIES = (
    Query(
        "borough_month",
        "month x borough, 2 categories, 12 months",
        ("borough_code",),
        True,
        ("Theft", "Violence Against the Person"),
        "2023-07",
        "2024-06",
    ),
    Query(
        "borough_category",
        "borough x major category, 1 year",
        ("borough_code", "major_category"),
        False,
        (),
        "2024-01",
        "2024-12",
    ),
    Query("month", "month, 1 category", (), True, ("Burglary",)),
)


# ------------------------------------------------------------------------- processes


def measured(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB and stdout of one process (its own peak, from wait4)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{stdout}\n{stderr[-4000:]}")
    return elapsed, usage.ru_maxrss // 1024, stdout


def instance(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        SAFESTATS_MODE="demo",
        SAFESTATS_HOME=str(home),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(REPO),
    )
    safestats = str(BIN / "safestats")
    subprocess.run([safestats, "migrate", "-v0"], env=env, check=True)
    subprocess.run([safestats, "catalogue", "sync"], env=env, check=True, capture_output=True)
    return env


def setup_django() -> None:
    """Django for the instance named by SAFESTATS_HOME (set by the parent process)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def timed(run_once: Callable[[], object]) -> float:
    started = time.perf_counter()
    run_once()
    return time.perf_counter() - started


def median_ms(run_once: Callable[[], object], runs: int = RUNS) -> float:
    run_once()  # warm-up
    return statistics.median(timed(run_once) for _ in range(runs)) * 1000


def say(text: str) -> None:
    print(text, flush=True)


# ------------------------------------------------------------------------- the data


@dataclass
class Places:
    lsoa: pa.Array
    ward: pa.Array
    borough: pa.Array
    easting: np.ndarray
    northing: np.ndarray
    weights: np.ndarray
    real: bool


def places(rng: np.random.Generator) -> Places:
    """London's LSOAs with their ward and borough (the real 2021 LSOAs and 2025 wards when
    ../shared/data/geography is there, else plausible made-up codes), each with a centre
    in British National Grid metres and a weight: busier places get more records."""
    from safestats.geography import engine as geo

    if LOOKUP.is_file():
        with LOOKUP.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        lsoa = [row["LSOA21CD"] for row in rows]
        ward = [row["WD25CD"] for row in rows]
        borough = [row["LADCD"] for row in rows]
        lon = np.array([float(row["centroid_lon"]) for row in rows])
        lat = np.array([float(row["centroid_lat"]) for row in rows])
        easting, northing = geo.wgs84_to_bng(lon, lat)
        real = True
    else:
        lsoa, ward, borough = [], [], []
        for b in range(33):
            for w in range(20):
                for _ in range(7 + (b + w) % 2):
                    lsoa.append(f"E01{len(lsoa) + 1:06d}")
                    ward.append(f"E05{b * 20 + w + 1:06d}")
                    borough.append(f"E09{b + 1:06d}")
        easting = rng.uniform(505_000, 560_000, len(lsoa))
        northing = rng.uniform(157_000, 200_000, len(lsoa))
        real = False
    weights = rng.gamma(2.0, 1.0, len(lsoa))
    return Places(
        lsoa=pa.array(lsoa, pa.string()),
        ward=pa.array(ward, pa.string()),
        borough=pa.array(borough, pa.string()),
        easting=np.asarray(easting, dtype=float),
        northing=np.asarray(northing, dtype=float),
        weights=weights / weights.sum(),
        real=real,
    )


@dataclass
class Offences:
    major: pa.Array
    minor: pa.Array
    codes: pa.Array
    code_start: np.ndarray
    code_count: np.ndarray
    share: np.ndarray
    knife: np.ndarray
    domestic: np.ndarray


def offences() -> Offences:
    """The Home Office categories, shares and flags the synthetic generator uses."""
    from safestats.ingest import synthetic

    table = synthetic._OFFENCES
    codes = [code for offence in table for code in offence.offence_codes]
    counts = np.array([len(offence.offence_codes) for offence in table])
    share = np.array([offence.share for offence in table])
    return Offences(
        major=pa.array([offence.major for offence in table], pa.string()),
        minor=pa.array([offence.minor for offence in table], pa.string()),
        codes=pa.array(codes, pa.string()),
        code_start=np.concatenate([[0], np.cumsum(counts)[:-1]]),
        code_count=counts,
        share=share / share.sum(),
        knife=np.array([offence.knife for offence in table]),
        domestic=np.array([offence.domestic for offence in table]),
    )


def day_counts(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Records per day over the two years: a seasonal swell and quieter Sundays."""
    day = np.arange(DAYS)
    weekday = (FIRST_DAY.weekday() + day) % 7
    weight = 1 + 0.12 * np.sin(2 * np.pi * (day - 100) / 365.25) - 0.15 * (weekday == 6)
    return rng.multinomial(rows, weight / weight.sum())


def _hex_tokens(rng: np.random.Generator, size: int) -> pa.Array:
    """Random 32-hex-digit tokens, the shape of the pseudonymised crime reference."""
    raw = np.frombuffer(rng.bytes(16 * size), dtype=np.uint8).reshape(size, 16)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    text = np.empty((size, 32), dtype=np.uint8)
    text[:, 0::2] = digits[raw >> 4]
    text[:, 1::2] = digits[raw & 15]
    return pa.array(text.view("S32").ravel(), pa.binary()).cast(pa.string())


def chunk(
    rng: np.random.Generator,
    schema: pa.Schema,
    start: int,
    day: np.ndarray,
    where: Places,
    what: Offences,
) -> pa.Table:
    """Records ``start`` to ``start + len(day)`` of the version, in the published layout."""
    size = len(day)
    offence = rng.choice(len(what.share), size=size, p=what.share)
    place = rng.choice(len(where.weights), size=size, p=where.weights)
    lag_days = rng.geometric(0.6, size) - 1
    committed = (EPOCH_DAY + day - lag_days) * 86_400 + rng.integers(0, 86_400, size) // 60 * 60
    window = np.where(rng.random(size) < 0.4, rng.integers(0, 12, size) * 3600, 0)
    committed_to = pa.array(
        (committed + window).astype("datetime64[s]"), mask=rng.random(size) < 0.05
    )
    code = what.code_start[offence] + (rng.random(size) * what.code_count[offence]).astype(int)
    place_index = pa.array(place)
    columns: dict[str, pa.Array] = {
        "crime_reference": _hex_tokens(rng, size),
        "recorded_date": pa.array((EPOCH_DAY + day).astype(np.int32), pa.int32()).cast(pa.date32()),
        "committed_from": pa.array(committed.astype("datetime64[s]")),
        "committed_to": committed_to,
        "major_category": what.major.take(pa.array(offence)),
        "minor_category": what.minor.take(pa.array(offence)),
        "offence_code": what.codes.take(pa.array(code)),
        "domestic_abuse": pa.array(rng.random(size) < what.domestic[offence]),
        "knife_crime": pa.array(rng.random(size) < what.knife[offence]),
        "easting": pa.array(np.rint(where.easting[place] + rng.normal(0, 250, size)).astype(int)),
        "northing": pa.array(np.rint(where.northing[place] + rng.normal(0, 250, size)).astype(int)),
        "lsoa_code": where.lsoa.take(place_index),
        "ward_code": where.ward.take(place_index),
        "borough_code": where.borough.take(place_index),
        "_record_key": pa.array(
            rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size, dtype=np.int64)
        ),
        "_source_row": pa.array(np.arange(start, start + size, dtype=np.int64) + 2),
        "_job": pa.array(np.ones(size, dtype=np.int64)),
    }
    missing = set(schema.names) ^ set(columns)
    if missing:
        raise SystemExit(f"the published layout changed; columns to revisit: {sorted(missing)}")
    return pa.Table.from_arrays(
        [columns[name].cast(schema.field(name).type) for name in schema.names], schema=schema
    )


def publish(rows: int, seed: int) -> dict[str, Any]:
    """Write ``rows`` synthetic records as a version of the dataset and publish it."""
    from django.conf import settings

    from safestats.audit.services import Actor
    from safestats.catalogue.models import Dataset
    from safestats.catalogue.services import add_draft_version, publish_version
    from safestats.ingest import processing, publishing

    dataset = Dataset.objects.get(pk=DATASET)
    spec = dataset.parsed_spec()
    schema = processing.output_schema(spec)
    data_dir = Path(settings.SAFESTATS_DATA_DIR)
    relative = f"datasets/{DATASET}/v0001-bench"
    folder = data_dir / relative
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    where, what = places(rng), offences()
    counts = day_counts(rng, rows)
    days = np.repeat(np.arange(DAYS, dtype=np.int64), counts)  # sorted, as ingestion sorts
    started = time.perf_counter()
    files: list[Path] = []
    writer: pq.ParquetWriter | None = None
    for start in range(0, rows, CHUNK):
        if writer is None or files[-1].stat().st_size >= FILE_BYTES:
            if writer is not None:
                writer.close()
            files.append(folder / f"part-{len(files)}.parquet")
            writer = pq.ParquetWriter(files[-1], schema, compression="zstd")
        table = chunk(rng, schema, start, days[start : start + CHUNK], where, what)
        writer.write_table(table, row_group_size=ROW_GROUP)
    if writer is not None:
        writer.close()
    written = time.perf_counter() - started
    first = FIRST_DAY + timedelta(days=int(days[0]))
    last = FIRST_DAY + timedelta(days=int(days[-1]))
    text = publishing.manifest_text(
        dataset=DATASET,
        spec_version=dataset.spec_version,
        job=1,
        rows=rows,
        coverage_from=first.replace(day=1),
        coverage_to=last.replace(day=1),
        schema=schema,
        files=files,
    )
    (folder / "manifest.json").write_bytes(text)
    for path in [*files, folder / "manifest.json"]:
        path.chmod(0o444)
    actor = Actor.system("bench")
    version = add_draft_version(
        dataset=dataset,
        row_count=rows,
        coverage_from=first.replace(day=1),
        coverage_to=last.replace(day=1),
        parquet_path=relative,
        manifest_sha256=hashlib.sha256(text).hexdigest(),
        by=actor,
    )
    publish_version(dataset=dataset, version=version, by=actor)
    return {
        "files": [str(path) for path in files],
        "parquet_mb": round(sum(path.stat().st_size for path in files) / 1e6, 1),
        "write_s": round(written, 2),
        "real_geography": where.real,
        "day_counts": counts.tolist(),
    }


# --------------------------------------------------------------------- the baselines


Answer = dict[tuple[str, ...], int]


def _where_sql(query: Query, style: str) -> tuple[list[str], list[Any]]:
    """Conditions and parameters for SQLite (?) or PostgreSQL (%s)."""
    mark = "?" if style == "sqlite" else "%s"
    first, after = query.bounds()
    where: list[str] = []
    params: list[Any] = []
    if query.categories:
        where.append(f"major_category IN ({', '.join(mark for _ in query.categories)})")
        params += list(query.categories)
    if first is not None:
        where.append(f"recorded_date >= {mark}")
        params.append(first.isoformat() if style == "sqlite" else first)
    if after is not None:
        where.append(f"recorded_date < {mark}")
        params.append(after.isoformat() if style == "sqlite" else after)
    return where, params


def baseline_sql(query: Query, style: str) -> tuple[str, list[Any]]:
    month = (
        "substr(recorded_date, 1, 7)" if style == "sqlite" else "to_char(recorded_date, 'YYYY-MM')"
    )
    select = [*query.group, *([month] if query.month else [])]
    where, params = _where_sql(query, style)
    sql = f"SELECT {', '.join(select)}, count(*) FROM crimes"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(select)))
    return sql, params


def fetch(connection: Any, sql: str, args: list[Any]) -> list[Any]:
    """Every row of one query on a DB-API connection (SQLite's or psycopg's)."""
    return list(connection.execute(sql, args).fetchall())


def answer_of(rows: list[tuple[Any, ...]]) -> Answer:
    return {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in rows}


def pandas_groupby(frame: Any, query: Query) -> Any:
    """The query as a pandas user would write it: mask, then groupby().size()."""
    mask = np.ones(len(frame), dtype=bool)
    if query.categories:
        mask &= frame["major_category"].isin(query.categories).to_numpy()
    first, after = query.bounds()
    dates = frame["recorded_date"]
    if first is not None:
        mask &= (dates >= np.datetime64(first)).to_numpy()
    if after is not None:
        mask &= (dates < np.datetime64(after)).to_numpy()
    selected = frame[mask]
    keys = [selected[name] for name in query.group]
    if query.month:
        keys.append(selected["recorded_date"].dt.to_period("M"))
    return selected.groupby(keys, observed=True, sort=False).size()


def pandas_answer(series: Any) -> Answer:
    out: Answer = {}
    for key, value in series.items():
        parts = key if isinstance(key, tuple) else (key,)
        out[tuple(str(part) for part in parts)] = int(value)
    return out


def sqlite_load(files: list[str], path: Path) -> float:
    """The needed columns in an SQLite table, indexed and analysed; returns the seconds,
    or raises TimeoutError past QUERY_SQLITE_LIMIT_S."""
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute(
        "CREATE TABLE crimes (recorded_date TEXT NOT NULL, major_category TEXT NOT NULL, "
        "borough_code TEXT NOT NULL)"
    )
    source = duckdb.connect()
    reader = source.sql(
        "SELECT strftime(recorded_date, '%Y-%m-%d'), major_category, borough_code "
        "FROM read_parquet($files)",
        params={"files": files},
    ).to_arrow_reader(200_000)
    for batch in reader:
        connection.executemany(
            "INSERT INTO crimes VALUES (?, ?, ?)",
            zip(*(column.to_pylist() for column in batch.columns), strict=True),
        )
        if time.perf_counter() - started > SQLITE_LIMIT_S:
            connection.close()
            source.close()
            raise TimeoutError
    connection.commit()
    connection.execute(
        "CREATE INDEX crimes_category_date ON crimes (major_category, recorded_date)"
    )
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()
    source.close()
    return time.perf_counter() - started


def postgres_load(files: list[str], scratch: Path) -> tuple[Any, str, float]:
    """A fresh database holding the needed columns, indexed, vacuumed and analysed."""
    import psycopg

    started = time.perf_counter()
    name = f"safestats_bench_{os.getpid()}"
    admin = psycopg.connect(POSTGRES, dbname="postgres", autocommit=True, connect_timeout=5)
    admin.execute(f"CREATE DATABASE {name}")
    admin.close()
    connection = psycopg.connect(POSTGRES, dbname=name, autocommit=True)
    try:
        connection.execute(
            "CREATE TABLE crimes (recorded_date date NOT NULL, major_category text NOT NULL, "
            "borough_code text NOT NULL)"
        )
        text = scratch / "postgres.csv"
        duckdb.connect().execute(
            "COPY (SELECT recorded_date, major_category, borough_code FROM read_parquet($files)) "
            f"TO '{text}' (FORMAT csv, HEADER false)",
            {"files": files},
        )
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY crimes FROM STDIN (FORMAT csv)") as copy,
            text.open("rb") as handle,
        ):
            for block in iter(lambda: handle.read(1 << 20), b""):
                copy.write(block)
        text.unlink()
        connection.execute(
            "CREATE INDEX crimes_category_date ON crimes (major_category, recorded_date)"
        )
        connection.execute("VACUUM ANALYZE crimes")
    except BaseException:
        connection.close()
        postgres_drop(name)
        raise
    return connection, name, time.perf_counter() - started


def postgres_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def postgres_reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES, dbname="postgres", connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return None


# --------------------------------------------------------------- measuring one size


def query_spec(query: Query) -> Any:
    from safestats.query.spec import Filter, QuerySpec

    return QuerySpec(
        dataset=DATASET,
        date_from=query.date_from,
        date_to=query.date_to,
        filters=(
            [Filter(field="major_category", values=list(query.categories))]
            if query.categories
            else []
        ),
        group_by=list(query.group),
        time_unit="month" if query.month else None,
    )


def _ours_check(result: Any, reference: Answer) -> str | None:
    """Whether our shown cells agree with DuckDB's counts (suppressed cells aside)."""
    wrong = 0
    for cell in result.cells:
        if cell.value is not None and cell.value != reference.get(tuple(cell.codes), 0):
            wrong += 1
    return f"{wrong} of our cells differ from DuckDB's counts" if wrong else None


def _extract_range(counts: list[int], wanted: int) -> tuple[str, str, int]:
    """The longest run of days from the first whose records stay within ``wanted``."""
    total, days = 0, 0
    for count in counts:
        if total + count > wanted and days:
            break
        total += count
        days += 1
    last = FIRST_DAY + timedelta(days=days - 1)
    return FIRST_DAY.isoformat(), last.isoformat(), total


def _literal(value: Any) -> str:
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def extract_plan(files: list[str], date_from: str, date_to: str) -> str:
    """The SQL ``services.extract`` runs for this date range, with its values written in
    (the baselines run it as plain SQL)."""
    from safestats.query import compiler, services
    from safestats.query.spec import QuerySpec

    query = QuerySpec(dataset=DATASET, date_from=date_from, date_to=date_to)
    _, spec, query, _, limits = services.prepare(query, user=None, request=None, level="record")
    columns = services.extract_columns(spec, limits, pq.ParquetFile(files[0]).schema_arrow.names)
    compiled = compiler.compile_extract(query, spec, columns)
    sql = compiled.sql.replace("$files", "[" + ", ".join(_literal(f) for f in files) + "]")
    for name in sorted(compiled.params, key=len, reverse=True):
        sql = sql.replace(f"${name}", _literal(compiled.params[name]))
    return sql


def interleaved(runners: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The median milliseconds of each runner over RUNS rounds, after a warm-up of each;
    each round runs every runner once, in an order that turns, so that the load of a
    shared machine falls on all of them alike."""
    names = list(runners)
    for name in names:
        runners[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(RUNS):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(timed(runners[name]))
    return {name: round(statistics.median(values) * 1000, 2) for name, values in seconds.items()}


def extract_sizes(rows: int) -> tuple[int, int]:
    """~1M records (a tenth of the records in smaller runs), and a quarter of that."""
    large = min(EXTRACT_ROWS, max(rows // 10, 1))
    return large, max(large // 4, 1)


def measure_child(work: Path, rows: int) -> None:
    """In the instance's own process: publish the data, time every engine, write
    ``work/measure.json``."""
    setup_django()
    from django.conf import settings

    from safestats.catalogue.models import Dataset
    from safestats.catalogue.spec import CellKey
    from safestats.query import compiler, engine, services

    say(f"[{rows:,}] writing {rows:,} records as Parquet")
    data = publish(rows, seed=rows)
    files = data["files"]
    paths = [Path(f) for f in files]
    say(f"[{rows:,}] {data['parquet_mb']} MB in {len(files)} files, {data['write_s']} s")
    spec = Dataset.objects.get(pk=DATASET).parsed_spec()
    memory_mb = settings.SAFESTATS_ENGINE_MEMORY_MB
    notes: list[str] = []
    loads: dict[str, float | None] = {}

    # pandas: the needed columns, loaded once.
    import pandas as pd  # type: ignore[import-untyped]

    started = time.perf_counter()
    frame = (
        pads.dataset(files, format="parquet")
        .to_table(columns=["recorded_date", "major_category", "borough_code"])
        .to_pandas(date_as_object=False)
    )
    loads["pandas"] = round(time.perf_counter() - started, 2)
    say(f"[{rows:,}] pandas {pd.__version__}: loaded in {loads['pandas']} s")

    # SQLite, indexed.
    sqlite_path = work / "bench.sqlite3"
    lite: sqlite3.Connection | None = None
    try:
        loads["sqlite"] = round(sqlite_load(files, sqlite_path), 2)
        lite = sqlite3.connect(sqlite_path)
        say(f"[{rows:,}] SQLite: loaded, indexed and analysed in {loads['sqlite']} s")
    except TimeoutError:
        loads["sqlite"] = None
        notes.append(
            f"SQLite not measured at {rows:,} rows: loading took over {SQLITE_LIMIT_S:.0f} s"
        )
        say(f"[{rows:,}] {notes[-1]}")

    # PostgreSQL, indexed, in a database of its own (dropped at the end).
    pg: Any = None
    pg_name = ""
    unreachable = postgres_reachable()
    if unreachable:
        loads["postgres"] = None
        notes.append(f"PostgreSQL not measured: 127.0.0.1:5432 unreachable ({unreachable})")
        say(f"[{rows:,}] {notes[-1]}")
    else:
        pg, pg_name, postgres_s = postgres_load(files, work)
        loads["postgres"] = round(postgres_s, 2)
        say(f"[{rows:,}] PostgreSQL: loaded, indexed and analysed in {loads['postgres']} s")

    plain = duckdb.connect()
    measures: list[dict[str, Any]] = []
    try:
        for query in QUERIES:
            spec_query = query_spec(query)
            normalised, problems = services.normalise(spec_query, spec)
            if problems:
                raise SystemExit(f"{query.name}: {problems}")
            compiled = compiler.compile_aggregate(
                normalised, spec, cell_key=isinstance(spec.disclosure, CellKey)
            )
            params = dict(compiled.params) | {"files": files}
            runners: dict[str, Callable[[], object]] = {
                "ours": partial(services.run_query, spec_query),
                "engine": partial(engine.run, compiled, paths, memory_mb=memory_mb),
                "duckdb": partial(duck, plain, compiled.sql, params),
                "pandas": partial(pandas_groupby, frame, query),
            }
            if lite is not None:
                runners["sqlite"] = partial(fetch, lite, *baseline_sql(query, "sqlite"))
            if pg is not None:
                runners["postgres"] = partial(fetch, pg, *baseline_sql(query, "postgres"))
            medians = interleaved(runners)
            # Every answer, checked against DuckDB's.
            table = duck(plain, compiled.sql, params)
            names = [f"d{i}" for i in range(len(compiled.dimensions))]
            reference = answer_of(
                list(zip(*(table.column(n).to_pylist() for n in [*names, "value"]), strict=True))
            )
            result = services.run_query(spec_query)
            problem = _ours_check(result, reference)
            if problem:
                notes.append(f"{query.name}: {problem}")
            answers = {"pandas": pandas_answer(pandas_groupby(frame, query))}
            if lite is not None:
                answers["sqlite"] = answer_of(fetch(lite, *baseline_sql(query, "sqlite")))
            if pg is not None:
                answers["postgres"] = answer_of(fetch(pg, *baseline_sql(query, "postgres")))
            for name, answer in answers.items():
                if answer != reference:
                    notes.append(f"{query.name}: {name}'s answer differs from DuckDB's")
            measures.append(
                {
                    "name": query.name,
                    "label": query.label,
                    "query": spec_query.as_json(),
                    "sql": compiled.sql,
                    "groups": len(reference),
                    "records": sum(reference.values()),
                    "cells": len(result.cells),
                    "suppressed": result.suppressed,
                    **{f"{name}_ms": value for name, value in medians.items()},
                }
            )
            say(
                f"[{rows:,}] {query.label}: "
                + ", ".join(f"{name} {value:,.1f} ms" for name, value in medians.items())
            )
    finally:
        plain.close()
        if lite is not None:
            lite.close()
        sqlite_path.unlink(missing_ok=True)
        if pg is not None:
            pg.close()
            postgres_drop(pg_name)
    del frame

    extracts = {}
    for label, wanted in zip(("large", "small"), extract_sizes(rows), strict=True):
        date_from, date_to, expected = _extract_range(data["day_counts"], wanted)
        extracts[label] = {
            "date_from": date_from,
            "date_to": date_to,
            "rows": expected,
            "sql": extract_plan(files, date_from, date_to),
        }
    out = {
        "rows": rows,
        "files": len(files),
        "parquet_mb": data["parquet_mb"],
        "write_s": data["write_s"],
        "real_geography": data["real_geography"],
        "loads_s": loads,
        "queries": measures,
        "notes": notes,
        "extract_plan": extracts,
    }
    (work / "measure.json").write_text(json.dumps(out, indent=2))


def duck(connection: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pa.Table:
    return connection.sql(sql, params=params).to_arrow_table()


# --------------------------------------------------------------------------- extracts


def extract_child(fmt: str, date_from: str, date_to: str, target: Path) -> None:
    """``services.extract`` of one date range to ``target``; prints seconds and rows."""
    setup_django()
    from safestats.query import services
    from safestats.query.spec import QuerySpec

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    query = QuerySpec(dataset=DATASET, date_from=date_from, date_to=date_to)
    started = time.perf_counter()
    with target.open("wb") as handle:
        result = services.extract(query, fmt=fmt, out=handle)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": result.rows, "before_mb": before}))


def copy_child(sql: str, target: Path) -> None:
    """DuckDB's own CSV writer on the same SELECT."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(f"COPY ({sql}) TO '{target}' (FORMAT csv, HEADER true)")
    seconds = time.perf_counter() - started
    rows = sum(1 for _ in target.open("rb")) - 1
    print(json.dumps({"seconds": seconds, "rows": rows, "before_mb": before}))


def xlsxwriter_child(sql: str, target: Path) -> None:
    """Plain xlsxwriter in constant-memory mode writing the same rows, as DuckDB gives
    them (Arrow batches turned into Python rows)."""
    import xlsxwriter

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    connection = duckdb.connect()
    started = time.perf_counter()
    relation = connection.sql(sql)
    book = xlsxwriter.Workbook(str(target), {"constant_memory": True})
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, relation.columns)
    number = 0
    for batch in relation.to_arrow_reader(65_536):
        for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            number += 1
            sheet.write_row(number, 0, row)
    book.close()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": number, "before_mb": before}))


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    wall, peak, out = measured([str(BIN / "python"), str(Path(__file__).resolve()), *args], env)
    figures = json.loads(out.strip().splitlines()[-1])
    return figures | {"wall_s": round(wall, 2), "peak_mb": peak}


def measure_extracts(env: dict[str, str], work: Path, plan: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    large, small = plan["large"], plan["small"]
    target = work / "extract.out"
    runs: list[tuple[str, list[str]]] = [
        ("csv_ours", ["--extract", "csv", large["date_from"], large["date_to"], str(target)]),
        ("csv_ours_small", ["--extract", "csv", small["date_from"], small["date_to"], str(target)]),
        ("csv_duckdb", ["--copy", large["sql"], str(target)]),
        ("csv_duckdb_small", ["--copy", small["sql"], str(target)]),
        ("xlsx_ours", ["--extract", "xlsx", large["date_from"], large["date_to"], str(target)]),
        ("xlsx_xlsxwriter", ["--xlsxwriter", large["sql"], str(target)]),
    ]
    for name, args in runs:
        figures = _child(args, env)
        figures["mb"] = round(target.stat().st_size / 1e6, 1)
        figures["seconds"] = round(figures["seconds"], 3)
        figures["rows_per_s"] = round(figures["rows"] / figures["seconds"])
        out[name] = figures
        target.unlink()
        say(
            f"  extract {name}: {figures['rows']:,} rows in {figures['seconds']:.2f} s, "
            f"peak {figures['peak_mb']} MB"
        )
    return out


# ----------------------------------------------------------------- the whole run


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def summarise(result: dict[str, Any]) -> None:
    """Ratios, geometric means and the targets each size missed, added to ``result``."""
    missed: list[str] = []
    queries = result["queries"]
    for q in queries:
        ours = q["ours_ms"]
        q["ours_over_duckdb"] = round(ours / q["duckdb_ms"], 3)
        q["ours_minus_duckdb_ms"] = round(ours - q["duckdb_ms"], 2)
        for base in ("pandas", "sqlite", "postgres"):
            if q.get(f"{base}_ms") is not None:
                q[f"{base}_over_ours"] = round(q[f"{base}_ms"] / ours, 3)
    summary: dict[str, Any] = {
        "ours_over_duckdb": round(geomean([q["ours_over_duckdb"] for q in queries]), 3),
        "ours_minus_duckdb_ms": round(
            statistics.mean(q["ours_minus_duckdb_ms"] for q in queries), 2
        ),
    }
    for base in ("pandas", "sqlite", "postgres"):
        ratios = [q[f"{base}_over_ours"] for q in queries if f"{base}_over_ours" in q]
        summary[f"{base}_over_ours"] = round(geomean(ratios), 3) if ratios else None
    result["geomean"] = summary
    rows = f"{result['rows']:,} rows"
    if (
        summary["ours_over_duckdb"] > TARGET_DUCKDB_RATIO
        and summary["ours_minus_duckdb_ms"] > TARGET_DUCKDB_MS
    ):
        missed.append(
            f"{rows}: ours is {summary['ours_over_duckdb']:.2f}x raw DuckDB and "
            f"+{summary['ours_minus_duckdb_ms']:.0f} ms (target within {TARGET_DUCKDB_RATIO}x "
            f"or +{TARGET_DUCKDB_MS:.0f} ms)"
        )
    for base, label, target in (
        ("pandas", "pandas", TARGET_PANDAS),
        ("sqlite", "indexed SQLite", TARGET_SQLITE),
        ("postgres", "indexed PostgreSQL", TARGET_POSTGRES),
    ):
        value = summary[f"{base}_over_ours"]
        if value is not None and value < target:
            missed.append(
                f"{rows}: {label} takes {value:.2f}x our time, geometric mean (target >= {target}x)"
            )
    extracts = result.get("extracts", {})
    if extracts:
        csv_ratio = extracts["csv_ours"]["rows_per_s"] / extracts["csv_duckdb"]["rows_per_s"]
        growth = extracts["csv_ours"]["peak_mb"] - extracts["csv_ours_small"]["peak_mb"]
        xlsx_ratio = extracts["xlsx_xlsxwriter"]["seconds"] / extracts["xlsx_ours"]["seconds"]
        result["extract_ratios"] = {
            "csv_rate_over_duckdb": round(csv_ratio, 3),
            "csv_peak_growth_mb": growth,
            "xlsx_xlsxwriter_time_over_ours": round(xlsx_ratio, 3),
        }
        if csv_ratio < TARGET_CSV:
            missed.append(
                f"{rows}: CSV extract runs at {csv_ratio:.2f}x DuckDB COPY's rate "
                f"(target >= {TARGET_CSV}x)"
            )
        if growth > FLAT_MB:
            missed.append(
                f"{rows}: CSV extract memory is not flat: peak grows {growth} MB from "
                f"{extracts['csv_ours_small']['rows']:,} to {extracts['csv_ours']['rows']:,} rows"
            )
        if xlsx_ratio < TARGET_XLSX:
            missed.append(
                f"{rows}: XLSX extract takes {1 / xlsx_ratio:.2f}x plain xlsxwriter's time "
                "(target: no slower)"
            )
    result["missed"] = missed


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def print_table(results: list[dict[str, Any]]) -> None:
    say(
        f"\nAggregate queries: median of {RUNS} runs after a warm-up, milliseconds "
        "(ours = services.run_query, the whole path; engine = the fenced DuckDB run alone)"
    )
    head = (
        f"{'rows':>11} {'query':<42} {'ours':>8} {'engine':>8} {'DuckDB':>8} {'ours/DB':>8} "
        f"{'+ms':>7} {'pandas':>8} {'pd/ours':>8} {'SQLite':>9} {'SQ/ours':>8} "
        f"{'Postgres':>9} {'PG/ours':>8}"
    )
    say(head)
    for r in results:
        for q in r["queries"]:
            say(
                f"{r['rows']:>11,} {q['label']:<42} {_ms(q['ours_ms']):>8} "
                f"{_ms(q['engine_ms']):>8} {_ms(q['duckdb_ms']):>8} "
                f"{_x(q['ours_over_duckdb']):>8} {q['ours_minus_duckdb_ms']:>+7.1f} "
                f"{_ms(q.get('pandas_ms')):>8} {_x(q.get('pandas_over_ours')):>8} "
                f"{_ms(q.get('sqlite_ms')):>9} {_x(q.get('sqlite_over_ours')):>8} "
                f"{_ms(q.get('postgres_ms')):>9} {_x(q.get('postgres_over_ours')):>8}"
            )
        g = r["geomean"]
        say(
            f"{r['rows']:>11,} {'geometric mean (+ms: arithmetic mean)':<42} {'':>8} {'':>8} "
            f"{'':>8} {_x(g['ours_over_duckdb']):>8} {g['ours_minus_duckdb_ms']:>+7.1f} "
            f"{'':>8} {_x(g['pandas_over_ours']):>8} {'':>9} {_x(g['sqlite_over_ours']):>8} "
            f"{'':>9} {_x(g['postgres_over_ours']):>8}"
        )
    say(
        f"targets: ours/DB <= {TARGET_DUCKDB_RATIO}x or +{TARGET_DUCKDB_MS:.0f} ms; "
        f"pd/ours >= {TARGET_PANDAS}x; SQ/ours >= {TARGET_SQLITE}x; "
        f"PG/ours >= {TARGET_POSTGRES}x (geometric means over the query set)"
    )
    say(
        "\nRecord-level extracts, each in a fresh process (s: the extract alone; start MB: "
        "resident memory before it, after imports; peak MB: the process's peak)"
    )
    say(
        f"{'rows':>11} {'extract':<30} {'records':>9} {'s':>7} {'records/s':>10} "
        f"{'start MB':>9} {'peak MB':>8} {'file MB':>8}"
    )
    labels = {
        "csv_ours": "CSV, services.extract",
        "csv_ours_small": "CSV, services.extract (small)",
        "csv_duckdb": "CSV, DuckDB COPY",
        "csv_duckdb_small": "CSV, DuckDB COPY (small)",
        "xlsx_ours": "XLSX, services.extract",
        "xlsx_xlsxwriter": "XLSX, plain xlsxwriter",
    }
    for r in results:
        for key, label in labels.items():
            e = r.get("extracts", {}).get(key)
            if e is None:
                continue
            say(
                f"{r['rows']:>11,} {label:<30} {e['rows']:>9,} {e['seconds']:>7.2f} "
                f"{e['rows_per_s']:>10,} {e['before_mb']:>9} {e['peak_mb']:>8} {e['mb']:>8}"
            )
        ratios = r.get("extract_ratios")
        if ratios:
            say(
                f"{r['rows']:>11,} CSV rate {ratios['csv_rate_over_duckdb']:.2f}x DuckDB COPY's "
                f"(target >= {TARGET_CSV}x), peak +{ratios['csv_peak_growth_mb']} MB from the "
                f"small extract to the large (flat: < {FLAT_MB} MB); XLSX: xlsxwriter's time is "
                f"{ratios['xlsx_xlsxwriter_time_over_ours']:.2f}x ours (target >= {TARGET_XLSX}x)"
            )
    for r in results:
        for note in r["notes"]:
            say(f"note: {r['rows']:,} rows: {note}")
    missed = [line for r in results for line in r["missed"]]
    for line in missed:
        say(f"TARGET MISSED: {line}")
    if not missed:
        say("every target met")


def measure(rows: int, folder: Path) -> dict[str, Any]:
    work = folder / f"size-{rows}"
    work.mkdir()
    env = instance(work / "home")
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "python"), str(Path(__file__).resolve()), "--measure", str(work), str(rows)],
        env=env,
        check=True,
    )
    result: dict[str, Any] = json.loads((work / "measure.json").read_text())
    result["extracts"] = measure_extracts(env, work, result["extract_plan"])
    for plan in result["extract_plan"].values():
        plan.pop("sql")
    result["seconds"] = round(time.perf_counter() - started, 1)
    summarise(result)
    return result


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000_000, 30_000_000]
    results = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="safestats-bench-query-") as folder:
        for rows in sizes:
            results.append(measure(rows, Path(folder)))
    print_table(results)
    existing: dict[str, Any] = {}
    if RESULTS.exists():
        existing = json.loads(RESULTS.read_text())
    existing["query"] = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_average": load,
        "runs": RUNS,
        "query_set": [asdict(query) for query in QUERIES],
        "targets": {
            "ours_over_duckdb_at_most": TARGET_DUCKDB_RATIO,
            "or_ours_minus_duckdb_ms_at_most": TARGET_DUCKDB_MS,
            "pandas_over_ours_at_least": TARGET_PANDAS,
            "sqlite_over_ours_at_least": TARGET_SQLITE,
            "postgres_over_ours_at_least": TARGET_POSTGRES,
            "csv_rate_over_duckdb_copy_at_least": TARGET_CSV,
            "xlsxwriter_time_over_ours_at_least": TARGET_XLSX,
        },
        "results": results,
    }
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
    say(f"written to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "--measure":
        measure_child(Path(sys.argv[2]), int(sys.argv[3]))
    elif mode == "--extract":
        extract_child(sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5]))
    elif mode == "--copy":
        copy_child(sys.argv[2], Path(sys.argv[3]))
    elif mode == "--xlsxwriter":
        xlsxwriter_child(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
