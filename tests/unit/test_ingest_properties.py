"""Properties of ingestion that must hold for any input, checked with Hypothesis: a CSV
file written by Python's csv module reads back value for value in any delimiter and
encoding; tokens are stable within a dataset, unrelated across datasets and always 32
lower-case hex digits; every age falls in the band whose edges contain it; and a file's
columns are matched to their layout whatever their order, case and spacing."""

from __future__ import annotations

import csv
import io
import random
import tempfile
from pathlib import Path
from unittest import mock

import pyarrow as pa
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safestats.catalogue.loading import load_spec_files
from safestats.catalogue.spec import DatasetSpec, Layout
from safestats.ingest import processing, pseudonymise, reading

# Any text a cell can hold: every character but NUL (which makes a file binary) and lone
# surrogates (which no encoding can write).
CELL = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=12,
)


def _cp1252(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


CP1252_CELL = st.text(
    alphabet=st.sampled_from([chr(code) for code in range(1, 0x2200) if _cp1252(chr(code))]),
    max_size=12,
)


def write(rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def read_back(data: bytes) -> tuple[list[str], list[list[str | None]], int]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "upload").write_bytes(data)
        table = reading.read_csv(root / "upload", root / "raw.parquet", root)
        rows = [row for batch in reading.batches(table) for row in batch.to_pylist()]
    width = len(table.headers)
    values = [[row[f"c{i}"] for i in range(width)] for row in rows]
    return table.headers, values, len(table.rejected)


@st.composite
def tables(draw: st.DrawFn, cell: st.SearchStrategy[str]) -> list[list[str]]:
    width = draw(st.integers(2, 5))
    header = [f"Column {i}" for i in range(width)]
    body = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=8))
    return [header, *body]


def expected(rows: list[list[str]]) -> list[list[str | None]]:
    return [[value if value != "" else None for value in row] for row in rows]


DELIMITERS = st.sampled_from(reading.DELIMITERS)


@settings(max_examples=120, deadline=None)
@given(rows=tables(CELL), delimiter=DELIMITERS, encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_any_csv_reads_back_value_for_value_in_utf8_and_utf16(
    rows: list[list[str]], delimiter: str, encoding: str
) -> None:
    headers, values, rejected = read_back(write(rows, delimiter, encoding))
    assert headers == rows[0]
    assert rejected == 0
    assert values == expected(rows[1:])


@settings(max_examples=120, deadline=None)
@given(rows=tables(CP1252_CELL), delimiter=DELIMITERS)
def test_any_windows_1252_csv_reads_back_value_for_value(
    rows: list[list[str]], delimiter: str
) -> None:
    data = write(rows, delimiter, "cp1252")
    # Bytes that are also UTF-8 text, such as "Ã©", cannot be told from it: such a file
    # is read as the UTF-8 it is. Outside that, the file is Windows-1252.
    assume(not reading._UTF8_MULTIBYTE.search(data))
    headers, values, rejected = read_back(data)
    assert headers == rows[0]
    assert rejected == 0
    assert values == expected(rows[1:])


@settings(max_examples=80, deadline=None)
@given(
    rows=tables(CELL),
    delimiter=DELIMITERS,
    endings=st.lists(st.sampled_from(["\r\n", "\n", "\r"]), min_size=9, max_size=9),
    chunk=st.sampled_from([1, 2, 7, reading.CHUNK]),
)
def test_any_mix_of_row_endings_reads_back_value_for_value(
    rows: list[list[str]], delimiter: str, endings: list[str], chunk: int
) -> None:
    buffer = io.StringIO()
    for row, ending in zip(rows, endings, strict=False):
        # Written with CRLF, so that a value holding either character is quoted (the
        # module quotes only the characters of its own line ending), then re-ended.
        line = io.StringIO()
        csv.writer(line, delimiter=delimiter).writerow(row)
        buffer.write(line.getvalue().removesuffix("\r\n") + ending)
    with mock.patch.object(reading, "CHUNK", chunk):  # small reads test the joins
        headers, values, rejected = read_back(buffer.getvalue().encode())
    assert headers == rows[0]
    assert rejected == 0
    assert values == expected(rows[1:])


# ---------------------------------------------------------------------- pseudonymisation

VALUES = st.lists(st.text(max_size=30), min_size=1, max_size=30)
DATASET_IDS = st.from_regex(r"\A[a-z][a-z0-9-]{1,20}\Z")


@settings(max_examples=100, deadline=None)
@given(master=st.text(min_size=1, max_size=40), dataset=DATASET_IDS, values=VALUES)
def test_the_same_value_under_the_same_key_always_gives_the_same_token(
    master: str, dataset: str, values: list[str]
) -> None:
    key = pseudonymise.dataset_key(master, dataset)
    assert key == pseudonymise.dataset_key(master, dataset)
    first = pseudonymise.tokens(key, pa.array([*values, None], pa.string())).to_pylist()
    again = pseudonymise.tokens(key, pa.array(list(reversed(values)), pa.string())).to_pylist()
    assert first[:-1] == list(reversed(again))
    assert first[-1] is None
    assert first[:-1] == [pseudonymise.token(key, value) for value in values]
    # Distinct values, distinct tokens.
    assert len(set(first[:-1])) == len(set(values))


@settings(max_examples=100, deadline=None)
@given(
    master=st.text(min_size=1, max_size=40),
    datasets=st.lists(DATASET_IDS, min_size=2, max_size=2, unique=True),
    values=VALUES,
)
def test_two_datasets_never_share_a_token_for_the_same_values(
    master: str, datasets: list[str], values: list[str]
) -> None:
    one, two = (pseudonymise.dataset_key(master, dataset) for dataset in datasets)
    assert one != two
    tokens_one = set(pseudonymise.tokens(one, pa.array(values, pa.string())).to_pylist())
    tokens_two = set(pseudonymise.tokens(two, pa.array(values, pa.string())).to_pylist())
    assert tokens_one.isdisjoint(tokens_two)


@settings(max_examples=100, deadline=None)
@given(key=st.binary(min_size=1, max_size=64), value=st.text(max_size=200))
def test_a_token_is_32_lower_case_hex_digits(key: bytes, value: str) -> None:
    token = pseudonymise.token(key, value)
    assert len(token) == pseudonymise.TOKEN_HEX_CHARS == 32
    assert set(token) <= set("0123456789abcdef")


@st.composite
def band_edges(draw: st.DrawFn) -> list[int]:
    inner = draw(st.lists(st.integers(1, 120), max_size=10, unique=True))
    return [0, *sorted(inner)]


@settings(max_examples=100, deadline=None)
@given(edges=band_edges())
def test_every_age_from_0_to_120_is_in_the_band_whose_edges_contain_it(edges: list[int]) -> None:
    ages = list(range(0, 121))
    labels = pseudonymise.bands(pa.array([*ages, None], pa.int64()), edges).to_pylist()
    assert labels[-1] is None
    assert set(labels[:-1]) <= set(pseudonymise.band_labels(edges))
    for age, label in zip(ages, labels[:-1], strict=True):
        assert label is not None
        if label.endswith("+"):
            assert age >= int(label[:-1]) == edges[-1]
        else:
            low, high = (int(part) for part in label.split("-"))
            assert low <= age <= high
            assert low in edges and high + 1 in edges


# --------------------------------------------------------------------------- layouts

SPECS = [spec for _, spec in load_spec_files()]
LAYOUTS = [(spec, layout) for spec in SPECS for layout in spec.layouts]


def disguise(header: str, rng: random.Random) -> str:
    """The same header as a person might type it: any case, extra spaces around and
    between its words."""
    cased = "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in header)
    words = cased.split(" ")
    gaps = [rng.choice([" ", "  ", " \t "]) for _ in words[1:]]
    joined = words[0] + "".join(gap + word for gap, word in zip(gaps, words[1:], strict=True))
    return rng.choice(["", " ", "\t"]) + joined + rng.choice(["", " ", "  "])


@settings(max_examples=80, deadline=None)
@given(chosen=st.sampled_from(LAYOUTS), seed=st.integers(0, 2**32 - 1))
def test_make_plan_finds_the_layout_whatever_the_order_case_and_spacing(
    chosen: tuple[DatasetSpec, Layout], seed: int
) -> None:
    spec, layout = chosen
    rng = random.Random(seed)  # noqa: S311 - reproducible shuffles, not secrets
    named = {field: rng.choice(layout.headers(field)) for field in layout.columns}
    headers = [disguise(header, rng) for header in named.values()]
    fields = list(named)
    if layout.melt is not None:
        periods = ["202401", "202402", "202312"]
        headers += periods
        fields += [""] * len(periods)
    order = list(range(len(headers)))
    rng.shuffle(order)
    shuffled = [headers[i] for i in order]
    plan = processing.make_plan(spec, shuffled)
    assert plan.layout.name == layout.name
    for position, index in enumerate(order):
        if fields[index]:
            assert plan.sources[fields[index]] == f"c{position}"
    assert plan.unused == []
    if layout.melt is not None:
        assert sorted(column.header for column in plan.melt) == ["202312", "202401", "202402"]
