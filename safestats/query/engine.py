"""The fenced data engine: DuckDB connections that can read only the Parquet files of the
version the access decision allowed, with every other file, the network and configuration
changes refused, and bounded memory and threads.

Aggregate queries (:func:`run`) use a connection kept per thread for the version's files:
a version's files never change (versions are immutable), the fence is fixed when the
connection is made and then locked, so a kept connection can read exactly what a new one
could, and a repeated query on the same version skips the cost of connecting and setting
the fence. Each query runs in a cursor of its own (a fresh client context on the same
fenced database), and the least recently used connection is closed when a thread keeps
more than :data:`KEPT_PER_THREAD`.

Record-level extracts (:func:`stream`) use a new connection each time: against an extract
of many records the cost of connecting is negligible, and a half-read stream never
depends on a connection another query could close.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from safestats.query.compiler import Compiled

KEPT_PER_THREAD: Final = 4


def _connect(paths: list[str], *, memory_mb: int, threads: int) -> duckdb.DuckDBPyConnection:
    """A new connection that may touch ``paths`` and nothing else, its settings locked."""
    connection = duckdb.connect(config={"threads": threads, "memory_limit": f"{memory_mb}MB"})
    try:
        connection.execute("SET allowed_paths = $paths", {"paths": paths})
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def fenced(
    files: Iterable[Path], *, memory_mb: int = 1024, threads: int = 2
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new connection that may read ``files`` and nothing else; closed on leaving."""
    connection = _connect([str(f) for f in files], memory_mb=memory_mb, threads=threads)
    try:
        yield connection
    finally:
        connection.close()


class _Kept(threading.local):
    """This thread's fenced connections, least recently used first."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.connections: OrderedDict[
            tuple[tuple[str, ...], int, int], duckdb.DuckDBPyConnection
        ] = OrderedDict()


_kept = _Kept()


def kept(
    files: list[Path], *, memory_mb: int = 1024, threads: int = 2
) -> duckdb.DuckDBPyConnection:
    """This thread's fenced connection for exactly ``files`` (made and fenced if there is
    none yet). Use it through a cursor: ``kept(files).cursor()``."""
    if _kept.pid != os.getpid():  # a forked child must not use its parent's connections
        _kept.connections = OrderedDict()
        _kept.pid = os.getpid()
    paths = tuple(str(f) for f in files)
    key = (paths, memory_mb, threads)
    connection = _kept.connections.get(key)
    if connection is not None:
        _kept.connections.move_to_end(key)
        return connection
    connection = _connect(list(paths), memory_mb=memory_mb, threads=threads)
    _kept.connections[key] = connection
    while len(_kept.connections) > KEPT_PER_THREAD:
        _, oldest = _kept.connections.popitem(last=False)
        oldest.close()
    return connection


def close_kept() -> None:
    """Close this thread's kept connections."""
    while _kept.connections:
        _, connection = _kept.connections.popitem()
        connection.close()


def run(compiled: Compiled, files: list[Path], *, memory_mb: int = 1024) -> pa.Table:
    """The compiled query's result, as an Arrow table."""
    cursor = kept(files, memory_mb=memory_mb).cursor()
    try:
        params = dict(compiled.params) | {"files": [str(f) for f in files]}
        return cursor.sql(compiled.sql, params=params).to_arrow_table()
    finally:
        cursor.close()


def stream(
    compiled: Compiled, files: list[Path], *, batch_rows: int = 65_536, memory_mb: int = 1024
) -> Iterator[pa.RecordBatch]:
    """The compiled query's rows in batches, for extracts of any size in flat memory."""
    with fenced(files, memory_mb=memory_mb) as connection:
        params = dict(compiled.params) | {"files": [str(f) for f in files]}
        reader = connection.sql(compiled.sql, params=params).to_arrow_reader(batch_rows)
        yield from reader
