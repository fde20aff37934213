"""The fenced data engine: a DuckDB connection per query that can read only the Parquet
files of the version the access decision allowed, with every other file, the network and
configuration changes refused, and bounded memory and threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from safestats.query.compiler import Compiled


@contextmanager
def fenced(files: list[Path], *, memory_mb: int = 1024, threads: int = 2) -> Iterator[Any]:
    """A connection that may read ``files`` and nothing else."""
    connection = duckdb.connect(config={"threads": threads, "memory_limit": f"{memory_mb}MB"})
    try:
        connection.execute("SET allowed_paths = $paths", {"paths": [str(f) for f in files]})
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        yield connection
    finally:
        connection.close()


def run(compiled: Compiled, files: list[Path], *, memory_mb: int = 1024) -> pa.Table:
    """The compiled query's result, as an Arrow table."""
    with fenced(files, memory_mb=memory_mb) as connection:
        params = dict(compiled.params) | {"files": [str(f) for f in files]}
        return connection.sql(compiled.sql, params=params).to_arrow_table()


def stream(
    compiled: Compiled, files: list[Path], *, batch_rows: int = 65_536, memory_mb: int = 1024
) -> Iterator[pa.RecordBatch]:
    """The compiled query's rows in batches, for extracts of any size in flat memory."""
    with fenced(files, memory_mb=memory_mb) as connection:
        params = dict(compiled.params) | {"files": [str(f) for f in files]}
        reader = connection.sql(compiled.sql, params=params).to_arrow_reader(batch_rows)
        yield from reader
