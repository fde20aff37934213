"""The fenced engine: a kept connection reads only its version's files and refuses every
setting, is kept per thread and closed when evicted; CSV extracts are written by DuckDB,
byte for byte as specified (formula-safe text, numbers as numbers), from the files or from
Arrow batches alike, and may write nothing but their own scratch file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from safestats.query import compiler, engine


@pytest.fixture(autouse=True)
def _fresh_connections() -> Iterator[None]:
    engine.close_kept()
    yield
    engine.close_kept()


def parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


@pytest.fixture
def version(tmp_path: Path) -> list[Path]:
    return [parquet(tmp_path / "part-0.parquet", pa.table({"n": [1, 2, 3]}))]


@pytest.fixture
def other(tmp_path: Path) -> Path:
    return parquet(tmp_path / "other.parquet", pa.table({"secret": ["x"]}))


COUNT = compiler.Compiled(sql="SELECT count(*) AS n FROM read_parquet($files)")


def test_queries_on_one_version_share_a_kept_connection_per_thread(version: list[Path]) -> None:
    assert engine.run(COUNT, version).to_pylist() == [{"n": 3}]
    kept = engine.kept(version)
    assert engine.run(COUNT, version).to_pylist() == [{"n": 3}]
    assert engine.kept(version) is kept
    elsewhere: list[object] = []
    thread = threading.Thread(target=lambda: elsewhere.append(engine.kept(version)))
    thread.start()
    thread.join()
    assert elsewhere[0] is not kept  # DuckDB connections are not shared between threads


def test_a_kept_connection_reads_no_other_file_and_refuses_every_setting(
    version: list[Path], other: Path, tmp_path: Path
) -> None:
    engine.run(COUNT, version)
    cursor = engine.kept(version).cursor()
    assert cursor.execute(
        "SELECT sum(n) FROM read_parquet($f)", {"f": [str(version[0])]}
    ).fetchone() == (6,)
    refused = [
        f"SELECT * FROM read_parquet('{other}')",  # noqa: S608 - test paths only
        "SELECT * FROM read_csv('/etc/passwd')",
        f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
        "SET enable_external_access = true",
        f"SET allowed_paths = ['{other}']",
        "RESET allowed_paths",
        "SET lock_configuration = false",
        "SET memory_limit = '64GB'",
    ]
    for sql in refused:
        with pytest.raises(duckdb.Error):
            cursor.execute(sql)
        with pytest.raises(duckdb.Error):
            engine.run(compiler.Compiled(sql=sql), version)
    assert engine.run(COUNT, version).to_pylist() == [{"n": 3}]  # and it still works


def test_the_least_recently_used_connection_is_closed_when_a_thread_keeps_too_many(
    tmp_path: Path,
) -> None:
    versions = [
        [parquet(tmp_path / f"v{i}.parquet", pa.table({"n": list(range(i))}))]
        for i in range(engine.KEPT_PER_THREAD + 1)
    ]
    first = engine.kept(versions[0])
    for files in versions[1:]:
        engine.run(COUNT, files)
    with pytest.raises(duckdb.ConnectionException):
        first.execute("SELECT 1")
    assert engine.run(COUNT, versions[0]).to_pylist() == [{"n": 0}]  # connected again


HOSTILE = pa.table(
    {
        "text": pa.array(
            [
                '=HYPERLINK("http://evil.example","click")',
                "+44 20 7946 0000",
                "-1",
                "@SUM(A1:A2)",
                "\tTab",
                "\rReturn",
                'He said "hi", then left\nand came back',
                "<script>alert('x')</script>",
                " =not at the start",
                "",
                None,
            ]
        ),
        "whole": pa.array([-7, 0, 2**62, None, 1, 2, 3, 4, 5, 6, 7], pa.int64()),
        "real": pa.array(
            [-0.1276, 51.5072, 1.5, None, -1e-7, 0.0, 2.0, 3.25, -4.0, 100.0, 1e20], pa.float64()
        ),
        "flag": pa.array([True, False, None, True, True, True, True, True, True, True, False]),
        "day": pa.array([date(2024, 1, 31)] * 10 + [None], pa.date32()),
        "clock": pa.array([time(21, 15, 30)] * 10 + [None], pa.time32("s")),
        "at": pa.array(
            [datetime(2024, 1, 31, 21, 15, 30)] * 10 + [None],  # noqa: DTZ001 - wall clock
            pa.timestamp("s"),
        ),
    }
)
# What a reader sees: formula starts behind an apostrophe (but not a number, however
# negative), quotes doubled, commas and line breaks kept inside quotes, HTML as it is,
# nulls as empty fields, timestamps to the second, booleans as True and False.
HOSTILE_CSV = (
    '"\'=HYPERLINK(""http://evil.example"",""click"")",-7,-0.1276,True,2024-01-31,21:15:30,'
    "2024-01-31 21:15:30\n"
    "'+44 20 7946 0000,0,51.5072,False,2024-01-31,21:15:30,2024-01-31 21:15:30\n"
    "'-1,4611686018427387904,1.5,,2024-01-31,21:15:30,2024-01-31 21:15:30\n"
    "'@SUM(A1:A2),,,True,2024-01-31,21:15:30,2024-01-31 21:15:30\n"
    "'\tTab,1,-1e-07,True,2024-01-31,21:15:30,2024-01-31 21:15:30\n"
    '"\'\rReturn",2,0.0,True,2024-01-31,21:15:30,2024-01-31 21:15:30\n'
    '"He said ""hi"", then left\nand came back",3,2.0,True,2024-01-31,21:15:30,'
    "2024-01-31 21:15:30\n"
    "<script>alert('x')</script>,4,3.25,True,2024-01-31,21:15:30,2024-01-31 21:15:30\n"
    " =not at the start,5,-4.0,True,2024-01-31,21:15:30,2024-01-31 21:15:30\n"
    '"",6,100.0,True,2024-01-31,21:15:30,2024-01-31 21:15:30\n'
    ",7,1e+20,False,,,\n"
)


def test_a_csv_extract_body_is_exact_for_hostile_values(tmp_path: Path) -> None:
    files = [parquet(tmp_path / "part-0.parquet", HOSTILE)]
    columns = HOSTILE.column_names
    select = compiler.csv_select(columns, pq.ParquetFile(files[0]).schema_arrow)
    compiled = compiler.Compiled(sql="SELECT * FROM read_parquet($files)")
    target = tmp_path / "body.csv"
    target.touch()
    assert engine.copy_csv(compiled, select, files, target) == HOSTILE.num_rows
    assert target.read_bytes().decode("utf-8") == HOSTILE_CSV
    # The same text from Arrow batches (the path for points moved to a grid in Python).
    again = tmp_path / "again.csv"
    again.touch()
    batches = HOSTILE.to_batches(max_chunksize=4)
    assert engine.copy_batches_csv(batches, select, again) == HOSTILE.num_rows
    assert again.read_bytes() == target.read_bytes()


def test_a_csv_copy_may_write_its_target_and_nothing_else(
    version: list[Path], other: Path, tmp_path: Path
) -> None:
    target = tmp_path / "body.csv"
    target.touch()
    with engine.fenced([*version, target]) as connection:
        connection.execute(f"COPY (SELECT 1) TO '{target}' (USE_TMP_FILE false)")
        for sql in (
            f"COPY (SELECT 1) TO '{tmp_path / 'elsewhere.csv'}'",
            f"SELECT * FROM read_parquet('{other}')",  # noqa: S608 - test paths only
            "SET enable_external_access = true",
        ):
            with pytest.raises(duckdb.Error):
                connection.execute(sql)
    # The connection that writes Arrow batches as CSV reads no file at all.
    with engine.fenced([target]) as connection, pytest.raises(duckdb.Error):
        connection.execute(f"SELECT * FROM read_parquet('{version[0]}')")  # noqa: S608


def test_the_csv_select_depends_only_on_the_columns_and_their_types() -> None:
    schema = pa.schema([("a b", pa.string()), ('x"; DROP TABLE t; --', pa.int64())])
    sql = compiler.csv_select(['x"; DROP TABLE t; --', "a b"], schema)
    assert sql == (
        '"x""; DROP TABLE t; --" AS "x""; DROP TABLE t; --", '
        'CASE WHEN unicode("a b") IN (9, 13, 43, 45, 61, 64) '
        'THEN \'\'\'\' || "a b" ELSE "a b" END AS "a b"'
    )
