"""The query compiler never places a user's text in SQL: the SQL depends only on the
dataset's own field names and on how many values were given; every value is a bound
parameter. Checked with Hypothesis over hostile text, and by running the SQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safestats.catalogue.loading import SPECS_DIR, load_spec_file
from safestats.query import compiler, engine
from safestats.query.spec import Filter, Limits, QuerySpec, check

STREET = load_spec_file(SPECS_DIR / "police-uk-street.yaml")
LAS = load_spec_file(SPECS_DIR / "las-violence-dispatches.yaml")
OPEN = Limits(withheld=frozenset(), precision="point", record_level=True)

hostile = st.text(min_size=1, max_size=40) | st.sampled_from(
    [
        "'); DROP TABLE x; --",
        '" OR 1=1 --',
        "$files",
        "$p0",
        "read_csv('/etc/passwd')",
        "'||(SELECT 1)||'",
        "\\x00",
        "Robbery",
    ]
)
periods = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 1)).map(
    lambda d: d.strftime("%Y-%m")
)


def street_query(values: list[str], areas: list[str], first: str | None) -> QuerySpec:
    return QuerySpec(
        dataset="police-uk-street",
        date_from=first,
        filters=[Filter(field="crime_type", values=values)],
        area_level="lsoa" if areas else None,
        areas=areas,
        group_by=["borough_code"],
        time_unit="month",
    )


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(hostile, min_size=1, max_size=5),
    others=st.lists(hostile, min_size=1, max_size=5),
    areas=st.lists(st.text(min_size=1, max_size=9), max_size=3),
    first=st.none() | periods,
)
def test_sql_depends_only_on_the_shape_of_the_query_never_on_its_values(
    values: list[str], others: list[str], areas: list[str], first: str | None
) -> None:
    others = (others * 5)[: len(values)]
    one = compiler.compile_aggregate(street_query(values, areas, first), STREET, cell_key=True)
    two = compiler.compile_aggregate(
        street_query(others, [(a + "x")[-9:] for a in areas], first), STREET, cell_key=True
    )
    assert one.sql == two.sql
    bound = list(one.params.values())
    for value in values:
        assert value in bound
    for area in areas:
        assert area in bound


def test_unknown_fields_are_refused_before_compiling() -> None:
    query = QuerySpec(dataset="police-uk-street", group_by=['crime_type" FROM x; --'])
    problems = check(query, STREET, OPEN)
    assert problems == [
        "Street-level crime and anti-social behaviour (data.police.uk) has no field "
        "'crime_type\" FROM x; --' to group."
    ]
    with pytest.raises(ValueError, match="unknown field"):
        compiler.compile_aggregate(query, STREET, cell_key=False)


def test_withheld_fields_and_finer_geography_are_refused() -> None:
    limits = Limits(withheld=frozenset({"sex"}), precision="ward", record_level=False)
    query = QuerySpec(
        dataset="las-violence-dispatches",
        group_by=["sex", "lsoa_code"],
        filters=[Filter(field="sex", values=["F"])],
    )
    assert check(query, LAS, limits) == [
        "Your organisation's agreement withholds sex: it cannot be filtered.",
        "Your organisation's agreement withholds sex: it cannot be grouped.",
        "lsoa_code is more precise (lsoa) than your agreement allows (ward).",
    ]
    fine = QuerySpec(dataset="las-violence-dispatches", group_by=["ward_code"], time_unit="hour")
    assert check(fine, LAS, limits) == []


@pytest.fixture
def street_file(tmp_path: Path) -> Path:
    table = pa.table(
        {
            "month": pa.array([date(2024, 1, 1), date(2024, 1, 1), date(2024, 2, 1)], pa.date32()),
            "crime_type": ["Robbery", "'); DROP TABLE x; --", "Robbery"],
            "borough_code": ["E09000033", "E09000033", None],
            "_record_key": pa.array([1, 2, -1], pa.int64()),
        }
    )
    path = tmp_path / "part-0.parquet"
    pq.write_table(table, path)
    return path


def test_hostile_values_are_matched_as_plain_values(street_file: Path) -> None:
    query = street_query(["'); DROP TABLE x; --"], [], "2024-01")
    compiled = compiler.compile_aggregate(query, STREET, cell_key=True)
    rows = engine.run(compiled, [street_file]).to_pylist()
    assert rows == [{"d0": "E09000033", "d1": "2024-01", "value": 1, "cell_key": 2}]


def test_cell_keys_are_the_wrapping_sum_of_the_records_keys(street_file: Path) -> None:
    query = QuerySpec(dataset="police-uk-street", group_by=["crime_type"])
    compiled = compiler.compile_aggregate(query, STREET, cell_key=True)
    rows = {r["d0"]: r for r in engine.run(compiled, [street_file]).to_pylist()}
    assert rows["Robbery"]["value"] == 2
    assert rows["Robbery"]["cell_key"] == (1 - 1) % 2**64
    assert rows["'); DROP TABLE x; --"]["cell_key"] == 2


def test_the_engine_reads_only_the_files_it_was_given(street_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    compiled = compiler.Compiled(sql="SELECT count(*) AS n FROM read_parquet($files)")
    assert engine.run(compiled, [street_file]).to_pylist() == [{"n": 3}]
    for sql in (
        f"SELECT * FROM read_parquet('{other}')",
        "SELECT * FROM read_csv('/etc/passwd')",
        f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
        "SET enable_external_access = true",
    ):
        with pytest.raises(duckdb.Error):
            engine.run(compiler.Compiled(sql=sql), [street_file])


def test_weekday_by_hour_is_two_dimensions_from_the_time_of_day(tmp_path: Path) -> None:
    query = QuerySpec(dataset="las-violence-dispatches", time_unit="weekday_hour")
    assert check(query, LAS, OPEN) == []
    compiled = compiler.compile_aggregate(query, LAS, cell_key=False)
    assert [(d.name, d.time_unit, d.field) for d in compiled.dimensions] == [
        ("weekday", "weekday", "call_at"),
        ("hour", "hour", "call_at"),
    ]
    path = tmp_path / "las.parquet"
    when = [  # wall-clock times, as the data holds them
        datetime(2024, 1, 1, 21, 15),  # noqa: DTZ001
        datetime(2024, 1, 1, 21, 40),  # noqa: DTZ001
        datetime(2024, 1, 6, 3),  # noqa: DTZ001
    ]
    pq.write_table(pa.table({"call_at": pa.array(when, pa.timestamp("us"))}), path)
    rows = sorted(engine.run(compiled, [path]).to_pylist(), key=lambda r: r["d0"])
    assert rows == [{"d0": "1", "d1": "21", "value": 2}, {"d0": "6", "d1": "3", "value": 1}]
    too_many = QuerySpec(
        dataset="las-violence-dispatches",
        time_unit="weekday_hour",
        group_by=["injury_type", "borough_code"],
    )
    assert check(too_many, LAS, OPEN) == [
        "Day of the week by hour is two dimensions already: group it by at most 1 field."
    ]
    street = QuerySpec(dataset="police-uk-street", time_unit="weekday_hour")
    assert check(street, STREET, OPEN) == [
        "Street-level crime and anti-social behaviour (data.police.uk) does not record the "
        "time of day or day of the week."
    ]


def test_an_extract_split_at_its_midpoint_is_the_whole_extract_in_the_same_order(
    tmp_path: Path,
) -> None:
    # As a version holds them: sorted by the coverage field, nulls last; ties at the middle.
    months = [date(2024, 1, 1)] * 3 + [date(2024, 2, 1)] * 4 + [date(2024, 3, 1)] * 2
    path = tmp_path / "part-0.parquet"
    pq.write_table(
        pa.table(
            {
                "month": pa.array([*months, None, None], pa.date32()),
                "crime_type": [f"r{n}" for n in range(11)],
            }
        ),
        path,
    )
    wanted = [Filter(field="crime_type", values=[f"r{n}" for n in range(1, 11)])]
    query = QuerySpec(dataset="police-uk-street", filters=wanted)
    columns = ["crime_type", "month"]
    whole = engine.run(compiler.compile_extract(query, STREET, columns), [path]).to_pylist()
    middle = engine.run(compiler.compile_extract_midpoint(query, STREET), [path]).to_pylist()
    assert middle == [{"midpoint": date(2024, 2, 1)}]
    parts = [
        engine.run(
            compiler.compile_extract(query, STREET, columns, part=(side, date(2024, 2, 1))),
            [path],
        ).to_pylist()
        for side in ("before", "from")
    ]
    assert len(parts[0]) == 2 and len(parts[1]) == 8
    assert parts[0] + parts[1] == whole
    assert [row["crime_type"] for row in whole] == [f"r{n}" for n in range(1, 11)]
    # Only records without a month: no midpoint, and the extract is not split.
    undated = [Filter(field="crime_type", values=["r9", "r10"])]
    nothing = compiler.compile_extract_midpoint(
        QuerySpec(dataset="police-uk-street", filters=undated), STREET
    )
    assert engine.run(nothing, [path]).to_pylist() == [{"midpoint": None}]
