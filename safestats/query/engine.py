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

Record-level extracts use a new connection each time: a CSV extract's connection must
also be allowed to write one scratch file, named per extract, and ``allowed_paths`` cannot
change once the configuration is locked; against an extract of many records the cost of
connecting is negligible. :func:`stream` (XLSX, JSON, GeoJSON, snapped points) does the
same, so that a half-read stream never depends on a connection another query could close.
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

from safestats.query.compiler import CSV_COPY_OPTIONS, Compiled

KEPT_PER_THREAD: Final = 4
# Written straight to the target (not to a temporary file beside it, which the fence
# would refuse).
COPY_OPTIONS: Final = f"{CSV_COPY_OPTIONS}, USE_TMP_FILE false"
# One thread writes each COPY. With two, DuckDB keeps the records in the files' order by
# holding back the batches one thread finishes ahead of the other, and its memory grew
# with the extract (by 140-220 MB from 250k to 1M records, measured; bounded only by a
# share of the memory limit); with one, the records are written in order as they are
# read, in flat memory. A CSV extract gets its parallelism instead from two COPYs at once,
# over the two halves of its time range (services.extract, exports.write_csv).
COPY_THREADS: Final = 1


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
    """A new connection that may read (and, for a file COPY writes, write) ``files`` and
    nothing else; closed on leaving."""
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


def _literal(path: Path) -> str:
    # COPY takes its target as a literal, not a parameter. The target is always a scratch
    # file this process named (never anything from a request), quoted all the same.
    return "'" + str(path).replace("'", "''") + "'"


def copy_csv(
    compiled: Compiled, select: str, files: list[Path], target: Path, *, memory_mb: int = 1024
) -> int:
    """Write the compiled query's rows, as ``select`` (a SELECT list over its columns)
    gives them, to ``target`` as CSV without a header, by DuckDB's own CSV writer in a new
    connection fenced to ``files`` and ``target``. Returns the number of rows written."""
    with fenced([*files, target], memory_mb=memory_mb, threads=COPY_THREADS) as connection:
        params = dict(compiled.params) | {"files": [str(f) for f in files]}
        # The SELECT list and the query come from the compiler (identifiers from the spec,
        # every value a bound parameter); the target is a scratch file named here.
        sql = (
            f"COPY (SELECT {select} FROM ({compiled.sql}) AS records) "  # noqa: S608
            f"TO {_literal(target)} ({COPY_OPTIONS})"
        )
        row = connection.execute(sql, params).fetchone()
        return int(row[0]) if row else 0


def copy_batches_csv(
    batches: Iterable[pa.RecordBatch], select: str, target: Path, *, memory_mb: int = 1024
) -> int:
    """Write ``batches``, as ``select`` gives them, to ``target`` as CSV without a header,
    by DuckDB's CSV writer in a new connection that may write ``target`` and read nothing
    at all (the rows come from Python, already read and transformed). Returns the rows."""
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None:
        target.write_bytes(b"")
        return 0
    records = pa.RecordBatchReader.from_batches(first.schema, _chain(first, iterator))
    with fenced([target], memory_mb=memory_mb, threads=COPY_THREADS) as connection:
        connection.register("records", records)
        row = connection.execute(
            f"COPY (SELECT {select} FROM records) TO {_literal(target)} ({COPY_OPTIONS})"  # noqa: S608 - as in copy_csv
        ).fetchone()
        return int(row[0]) if row else 0


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest
