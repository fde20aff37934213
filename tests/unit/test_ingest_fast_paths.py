"""The shortcuts ingestion takes for speed give exactly what the plain way gives, for any
input, checked with Hypothesis: a column checked value by value (when its first values
are mostly distinct) and the same column checked once per distinct value report the same
problems, quarantine the same rows and publish the same values; and a file's line endings
are judged mixed or not the same whether chunks without a carriage return are skipped or
searched; and a column of plain whole numbers casts as it is to what cleaning it gives.
Also how publishing groups the months it sorts at once."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safestats.ingest import processing, publishing, reading
from tests.unit.test_ingest_processing import GOOD, HEADERS, KEY, KIT, PLACES, batch_of

# Values chosen to hit every rule: well-formed ones, near misses (31 February, a two-digit
# year, 12,34, +5, 1e999, codes in other case and spacing), blanks and odd characters.
HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "R1",
        "2024-01",
        "2024-13",
        "24-01",
        "01/02/2024",
        "31/02/2024",
        "1/2/2024",
        "01/02/24",
        "10:30",
        "25:61",
        "2024-01-02 03:04:05",
        "2024-02-30 03:04:05",
        "Burglary",
        " burglary ",
        "ROBBERY  OF personal property",
        "Theft",
        "AB12",
        "ab12",
        "ZZ99",
        "5",
        "-3",
        "+5",
        "1,234",
        "12,34",
        "130",
        "yes",
        "N",
        "maybe",
        "1.5",
        "1e999",
        ".5",
        "-0.15",
        "51.5",
        "181",
        "x@example.com",
        "é\u2028",
    ]
)


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, str | None]]:
    count = draw(st.integers(1, 12))
    out = []
    for _ in range(count):
        row: dict[str, str | None] = dict(GOOD)
        for header in draw(st.lists(st.sampled_from(HEADERS), max_size=5)):
            value = draw(HOSTILE)
            row[header] = value if value != "" else None
        out.append(row)
    return out


def outcome_of(
    data: list[dict[str, str | None]], *, distinct: bool
) -> tuple[list[Any], list[Any], list[Any]]:
    plan = processing.make_plan(KIT, HEADERS)
    batch = batch_of(HEADERS, [[row.get(h) for h in HEADERS] for row in data])
    with mock.patch.object(processing, "_mostly_distinct", return_value=distinct):
        outcome = processing.process(
            batch,
            plan,
            rows_of=np.arange(2, len(data) + 2, dtype=np.int64),
            places=PLACES,
            token_key=KEY,
            job=7,
        )
    records = outcome.records.drop_columns([processing.RECORD_KEY]).to_pylist()
    return records, outcome.problems.to_pylist(), outcome.quarantine.to_pylist()


@settings(max_examples=150, deadline=None)
@given(data=rows())
def test_checking_value_by_value_agrees_with_checking_each_distinct_value(
    data: list[dict[str, str | None]],
) -> None:
    assert outcome_of(data, distinct=True) == outcome_of(data, distinct=False)


def test_a_long_column_of_distinct_values_takes_the_value_by_value_way() -> None:
    size = 5 * processing.DISTINCT_SAMPLE
    unique = processing.pa.array([f"R{i}" for i in range(size)])
    repeated = processing.pa.array([f"R{i % 7}" for i in range(size)])
    assert processing._mostly_distinct(unique)
    assert not processing._mostly_distinct(repeated)
    assert not processing._mostly_distinct(unique.slice(0, 100))  # short: never


def reference_mixed_line_endings(data: bytes, chunk: int) -> bool:
    """The plain way: every chunk searched for CRLF, lone LF and lone CR."""
    kinds: set[str] = set()
    for start in range(0, len(data), chunk):
        part = data[start : start + chunk]
        if b"\r\n" in part:
            kinds.add("crlf")
        if reading._LONE_LF.search(part):
            kinds.add("lf")
        if reading._LONE_CR.search(part):
            kinds.add("cr")
        if len(kinds) > 1:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b'"', b","]), max_size=60),
    chunk=st.integers(1, 16),
)
def test_mixed_line_endings_skips_chunks_without_cr_and_agrees_with_searching_them(
    data: list[bytes], chunk: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    content = b"".join(data)
    path = tmp_path_factory.mktemp("endings") / "file.csv"
    path.write_bytes(content)
    with mock.patch.object(reading, "CHUNK", chunk):
        assert reading.mixed_line_endings(path) is reference_mixed_line_endings(content, chunk)


def reference_integers(text: pa.Array) -> tuple[list[int | None], list[bool]]:
    """The plain way: thousands separators and a leading plus cleaned, then the shape."""
    grouped = processing._mask(pc.match_substring_regex(text, processing.THOUSANDS))
    cleaned = pc.if_else(pa.array(grouped), pc.replace_substring(text, ",", ""), text)
    cleaned = pc.replace_substring_regex(cleaned, r"^\+([0-9])", r"\1")
    ok = processing._mask(pc.match_substring_regex(cleaned, processing.INTEGER))
    valid = pc.if_else(pa.array(ok), cleaned, pa.nulls(len(text), pa.string()))
    present = processing._mask(pc.is_valid(text))
    return pc.cast(valid, pa.int64()).to_pylist(), (present & ~ok).tolist()


INTEGER_TEXT = st.one_of(
    st.none(),
    st.text(alphabet="0123456789-+, x", max_size=22),
    st.integers(-(10**18) + 1, 10**18 - 1).map(str),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(INTEGER_TEXT, max_size=8))
def test_plain_integer_columns_cast_as_they_are_and_agree_with_cleaning_them(
    values: list[str | None],
) -> None:
    spec_field = KIT.field("count")
    assert spec_field is not None
    text = pa.array(values, pa.string())
    numbers, refusals = processing._check_values(KIT, spec_field, text, None)
    refused = [False] * len(values)
    for mask, rule, _ in refusals:
        if rule == "not_integer":
            refused = mask.tolist()
    assert (numbers.to_pylist(), refused) == reference_integers(text)


def test_months_are_grouped_in_order_up_to_the_rows_sorted_at_once(tmp_path: Path) -> None:
    def staged(name: str, rows: int) -> list[Path]:
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({"x": list(range(rows))}), path)
        return [path]

    by_period = {
        date(2024, 3, 1): staged("march", 2),
        None: staged("none", 1),
        date(2024, 1, 1): staged("january", 3),
        date(2024, 2, 1): staged("february", 1),
        date(9999, 12, 1): staged("last", 5),
    }
    with mock.patch.object(publishing, "GROUP_ROWS", 4):
        groups = publishing._groups(duckdb.connect(), by_period, [], '"day"', "month")
    assert [(low, high, [p.stem for p in files]) for low, high, files in groups] == [
        (date(2024, 1, 1), date(2024, 3, 1), ["january", "february"]),
        (date(2024, 3, 1), date(2024, 4, 1), ["march"]),
        (date(9999, 12, 1), None, ["last"]),  # larger than a group: alone
        (None, None, ["none"]),  # records without a coverage date come last
    ]
