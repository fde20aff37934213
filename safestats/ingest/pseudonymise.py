"""Pseudonymisation: reference numbers to keyed tokens, ages to bands, and each record's
random key. Plain Python on Arrow arrays, no Django.

A token is HMAC-SHA256 of the value under a key derived for one dataset from the instance's
pseudonymisation key, so the same value always gives the same token within a dataset (and
records can still be counted or linked there) while the same value in two datasets gives
two unrelated tokens: no token joins datasets, and without the instance key no token can
be turned back into its value by trying candidate values.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from itertools import pairwise

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# 128 bits, collisions out of reach for any dataset (the SQL in tokens() says 32 too).
TOKEN_HEX_CHARS = 32
_CONTEXT = b"safestats pseudonymisation key v1 for dataset "


def dataset_key(master_key: str, dataset_id: str) -> bytes:
    """The key for one dataset's tokens (HMAC-SHA256 of the dataset id under the instance
    key: a one-way derivation, so one dataset's key says nothing of another's)."""
    if not master_key:
        raise ValueError("the pseudonymisation key is empty")
    return hmac.digest(master_key.encode("utf-8"), _CONTEXT + dataset_id.encode("utf-8"), "sha256")


def token(key: bytes, value: str) -> str:
    """The token of one value (exposed for tests and for looking a token up)."""
    return hmac.digest(key, value.encode("utf-8"), "sha256").hex()[:TOKEN_HEX_CHARS]


_local = threading.local()


def _engine() -> duckdb.DuckDBPyConnection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = duckdb.connect(
            config={"enable_external_access": False, "threads": 1}
        )
    return connection


def tokens(key: bytes, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Every value's token; nulls stay null. The same HMAC-SHA256 as :func:`token`,
    computed by the data engine over the whole array at once: SHA-256 of the outer padded
    key and the SHA-256 of the inner padded key and the value (RFC 2104). The key is a
    bound parameter, never part of the SQL text."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in block)
    outer = bytes(b ^ 0x5C for b in block)
    engine = _engine()
    engine.register("identifiers", pa.table({"value": values}))
    result = engine.sql(
        "SELECT left(sha256($outer || unhex(sha256($inner || encode(value)))), 32) AS token "
        "FROM identifiers",
        params={"inner": inner, "outer": outer},
    )
    column = result.to_arrow_table().column("token")
    engine.unregister("identifiers")
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def band_labels(edges: list[int]) -> list[str]:
    """[0, 18, 25] -> ["0-17", "18-24", "25+"]."""
    return [f"{low}-{high - 1}" for low, high in pairwise(edges)] + [f"{edges[-1]}+"]


def bands(values: pa.Array, edges: list[int]) -> pa.Array:
    """Whole numbers (ages) to the label of the band each falls in; null stays null, and a
    number below the first edge is null (the caller refuses those first)."""
    numbers = values.to_numpy(zero_copy_only=False)
    mask = pc.is_null(values).to_numpy(zero_copy_only=False)
    safe = np.where(mask, edges[0] - 1, numbers).astype(np.int64)
    index = np.searchsorted(np.asarray(edges, dtype=np.int64), safe, side="right") - 1
    labels = pa.array(band_labels(edges), type=pa.string())
    out = pc.take(labels, pa.array(np.where(index < 0, 0, index), type=pa.int32()))
    return pc.if_else(pa.array(mask | (index < 0)), pa.nulls(len(values), pa.string()), out)


def record_keys(count: int) -> pa.Array:
    """``count`` random 64-bit keys, one per new record, from the operating system's
    random source. Stored with the record and kept across versions."""
    return pa.array(np.frombuffer(os.urandom(8 * count), dtype=np.int64), type=pa.int64())
