"""The fenced engine: a kept connection reads only its version's files and refuses every
setting, is kept per thread and closed when evicted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
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
