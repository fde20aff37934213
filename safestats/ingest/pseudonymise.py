"""Pseudonymisation: reference numbers to keyed tokens, ages to bands, and each record's
random key. Plain Python on Arrow arrays, no Django.

A token is HMAC-SHA256 of the value under a key derived for one dataset from the instance's
pseudonymisation key, so the same value always gives the same token within a dataset (and
records can still be counted or linked there) while the same value in two datasets gives
two unrelated tokens: no token joins datasets, and without the instance key no token can
be turned back into its value by trying candidate values.
"""

from __future__ import annotations

import hmac
import os
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TOKEN_HEX_CHARS = 32  # 128 bits: collisions are out of reach for any dataset's size
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


def tokens(key: bytes, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Every value's token; nulls stay null. Each distinct value is hashed once."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    dictionary = encoded.dictionary.to_pylist()
    digest = hmac.digest
    hashed = pa.array(
        [
            digest(key, value.encode("utf-8"), "sha256").hex()[:TOKEN_HEX_CHARS]
            for value in dictionary
        ],
        type=pa.string(),
    )
    return pc.take(hashed, encoded.indices)


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
