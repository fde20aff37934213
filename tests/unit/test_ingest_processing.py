"""Checking, standardising, placing and pseudonymising records: every validation rule with
the exact row, field, column, value and rule it reports; what is accepted and how it is
stored; that every row sent is either published or quarantined; matching headers to a
layout; and the same through the real pipeline, down to the problems CSV. Synthetic data
throughout."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from django.conf import settings

from safestats.audit.services import Actor
from safestats.catalogue.loading import load_spec_file
from safestats.catalogue.spec import DatasetSpec
from safestats.geography import engine as geo
from safestats.geography.services import load_folder
from safestats.ingest import processing, pseudonymise, services
from safestats.ingest.models import JobStatus
from tests.ingest_helpers import (
    catalogue,
    current_rows,
    load,
    stores,  # noqa: F401 - fixture
    write_rows,
)
from tests.integration.geography_files import EAST, write_folder

SPECS = Path(processing.__file__).resolve().parent.parent / "catalogue" / "specs"
KEY = b"k" * 32


def kit_spec() -> DatasetSpec:
    """A record-level spec with a field of every type and every check."""
    described = {"description": "A synthetic field."}
    fields: list[dict[str, Any]] = [
        {"name": "ref", "type": "string", "role": "identifier", "pseudonymise": "hmac_token"}
        | {"required": True},
        {"name": "month", "type": "month", "role": "time", "required": True},
        {"name": "recorded", "type": "date", "role": "time"},
        {"name": "at_time", "type": "time", "role": "time"},
        {"name": "at", "type": "datetime", "role": "time"},
        {
            "name": "crime_type",
            "type": "category",
            "role": "category",
            "codes": {
                "values": [
                    {"code": "burglary", "label": "Burglary"},
                    {"code": "robbery", "label": "Robbery of personal property"},
                ]
            },
        },
        {"name": "note", "type": "string", "role": "free_text", "max_length": 1000},
        {
            "name": "station",
            "type": "code",
            "role": "category",
            "pattern": "^[A-Z]{2}[0-9]{2}$",
            "codes": {"values": [{"code": "AB12", "label": "Abbey"}]},
        },
        {"name": "count", "type": "integer", "role": "measure"},
        {
            "name": "age",
            "type": "integer",
            "role": "personal_characteristic",
            "generalise": {"method": "bands", "edges": [0, 18, 25, 65]},
        },
        {"name": "armed", "type": "boolean", "role": "category"},
        {"name": "cost", "type": "decimal", "role": "measure"},
        {"name": "longitude", "type": "decimal", "role": "geography"},
        {"name": "latitude", "type": "decimal", "role": "geography"},
        {"name": "lsoa_code", "type": "string", "role": "geography"},
        {"name": "borough_code", "type": "string", "role": "geography"},
    ]
    return DatasetSpec.model_validate(
        {
            "id": "test-kit",
            "title": "Kit",
            "provider": "Test",
            "description": "Synthetic.",
            "update_frequency": "monthly",
            "kind": "record",
            "coverage_field": "month",
            "fields": [field | described for field in fields],
            "location": {
                "crs": "wgs84",
                "x": "longitude",
                "y": "latitude",
                "suppression": {"method": "none", "reason": "Synthetic."},
            },
            "geography": {
                "source": "coordinates",
                "outputs": {"lsoa": "lsoa_code", "borough": "borough_code"},
            },
            "disclosure": {"method": "threshold", "k": 5},
            "layouts": [
                {
                    "name": "kit",
                    "description": "The synthetic layout.",
                    "columns": {
                        "ref": "Ref",
                        "month": "Month",
                        "recorded": "Recorded",
                        "at_time": "Time",
                        "at": "At",
                        "crime_type": ["Crime type", "Offence"],
                        "note": "Note",
                        "station": "Station",
                        "count": "Count",
                        "age": "Age",
                        "armed": "Armed",
                        "cost": "Cost",
                        "longitude": "Longitude",
                        "latitude": "Latitude",
                    },
                    "date_formats": {
                        "month": "%Y-%m",
                        "recorded": "%d/%m/%Y",
                        "at_time": "%H:%M",
                        "at": "%Y-%m-%d %H:%M:%S",
                    },
                    "ignore": ["Internal use"],
                }
            ],
        }
    )


KIT = kit_spec()
HEADERS = [
    "Ref",
    "Month",
    "Recorded",
    "Time",
    "At",
    "Crime type",
    "Note",
    "Station",
    "Count",
    "Age",
    "Armed",
    "Cost",
    "Longitude",
    "Latitude",
]
GOOD = dict(
    zip(
        HEADERS,
        [
            "R1",
            "2024-01",
            "01/02/2024",
            "10:30",
            "2024-01-02 03:04:05",
            "Burglary",
            "Nothing to see",
            "AB12",
            "5",
            "30",
            "yes",
            "1.5",
            "-0.15",
            "51.5",
        ],
        strict=True,
    )
)
LSOA, BOROUGH = "E01000001", "E09000033"
ENGINE = geo.GeographyEngine(
    vintage="2021",
    lsoas=[
        geo.LsoaShape(
            code=LSOA,
            boundary=shapely.box(-0.2, 51.4, -0.1, 51.6),
            borough=BOROUGH,
            ward=None,
            centroid_lon=-0.15,
            centroid_lat=51.5,
        )
    ],
)
PLACES = processing.Places(engine=ENGINE, boroughs=frozenset({BOROUGH}))

Problem = tuple[int, str, str, str | None, str, str]


def batch_of(headers: list[str], rows: list[list[str | None]]) -> pa.RecordBatch:
    columns = {"_record": pa.array(range(1, len(rows) + 1), pa.int64())}
    for index in range(len(headers)):
        columns[f"c{index}"] = pa.array([row[index] for row in rows], pa.string())
    return pa.record_batch(columns)


def run(
    rows: Sequence[Mapping[str, str | None]],
    *,
    spec: DatasetSpec = KIT,
    headers: list[str] = HEADERS,
    places: processing.Places = PLACES,
) -> processing.Outcome:
    plan = processing.make_plan(spec, headers)
    outcome = processing.process(
        batch_of(headers, [[row.get(h) for h in headers] for row in rows]),
        plan,
        rows_of=np.arange(2, len(rows) + 2, dtype=np.int64),
        places=places,
        token_key=KEY,
        job=7,
    )
    # Nothing is lost: each row is published or quarantined (never both, never neither).
    published = set(outcome.records.column(processing.SOURCE_ROW).to_pylist())
    quarantined = set(outcome.quarantine.column("row").to_pylist())
    assert published.isdisjoint(quarantined)
    assert published | quarantined == set(range(2, len(rows) + 2))
    assert outcome.records.num_rows + outcome.quarantine.num_rows == len(rows)
    assert outcome.rows_in == len(rows)
    return outcome


def problems_of(outcome: processing.Outcome) -> list[Problem]:
    return sorted(
        (p["row"], p["field"], p["column"], p["value"], p["rule"], p["severity"])
        for p in outcome.problems.to_pylist()
    )


def record(outcome: processing.Outcome, row: int) -> dict[str, Any]:
    for item in outcome.records.to_pylist():
        if item[processing.SOURCE_ROW] == row:
            return item
    raise AssertionError(f"row {row} was not published")


def good(**changes: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = dict(GOOD)
    for key, value in changes.items():
        row[key.replace("_", " ")] = value
    return row


# ------------------------------------------------------------------- one rule at a time

E = "error"
REFUSED = [
    # (changes, field, column, value reported, rule)
    ({"Ref": ""}, "ref", "Ref", None, "required"),
    ({"Ref": "   \t "}, "ref", "Ref", None, "required"),
    ({"Month": ""}, "month", "Month", None, "required"),
    ({"Month": "2024-13"}, "month", "Month", "2024-13", "invalid_month"),
    ({"Month": "2024-00"}, "month", "Month", "2024-00", "invalid_month"),
    ({"Month": "January 2024"}, "month", "Month", "January 2024", "invalid_month"),
    ({"Recorded": "31/02/2024"}, "recorded", "Recorded", "31/02/2024", "invalid_date"),
    ({"Recorded": "29/02/2023"}, "recorded", "Recorded", "29/02/2023", "invalid_date"),
    ({"Recorded": "0/1/2024"}, "recorded", "Recorded", "0/1/2024", "invalid_date"),
    ({"Recorded": "2024-02-01"}, "recorded", "Recorded", "2024-02-01", "invalid_date"),
    ({"Recorded": "1/2/24"}, "recorded", "Recorded", "1/2/24", "invalid_date"),
    ({"Time": "25:00"}, "at_time", "Time", "25:00", "invalid_time"),
    ({"Time": "10:60"}, "at_time", "Time", "10:60", "invalid_time"),
    ({"Time": "10:30:00"}, "at_time", "Time", "10:30:00", "invalid_time"),
    ({"At": "2024-02-30 00:00:00"}, "at", "At", "2024-02-30 00:00:00", "invalid_datetime"),
    ({"At": "2024-01-02T03:04:05"}, "at", "At", "2024-01-02T03:04:05", "invalid_datetime"),
    ({"Count": "12,34"}, "count", "Count", "12,34", "not_integer"),
    ({"Count": "1,2345"}, "count", "Count", "1,2345", "not_integer"),
    ({"Count": "1.5"}, "count", "Count", "1.5", "not_integer"),
    ({"Count": "+-5"}, "count", "Count", "+-5", "not_integer"),
    ({"Count": "five"}, "count", "Count", "five", "not_integer"),
    ({"Count": "9" * 19}, "count", "Count", "9" * 19, "not_integer"),
    ({"Count": "-3"}, "count", "Count", "-3", "negative"),
    ({"Count": "-1,234"}, "count", "Count", "-1,234", "negative"),
    ({"Age": "150"}, "age", "Age", "150", "out_of_range"),
    ({"Age": "121"}, "age", "Age", "121", "out_of_range"),
    ({"Age": "-1"}, "age", "Age", "-1", "out_of_range"),
    ({"Armed": "maybe"}, "armed", "Armed", "maybe", "not_boolean"),
    ({"Cost": "1,5"}, "cost", "Cost", "1,5", "not_number"),
    ({"Cost": "NaN"}, "cost", "Cost", "NaN", "not_number"),
    ({"Cost": "1e999"}, "cost", "Cost", "1e999", "not_number"),
    ({"Cost": "-1e999"}, "cost", "Cost", "-1e999", "not_number"),
    ({"Crime type": "Theft"}, "crime_type", "Crime type", "Theft", "unknown_code"),
    ({"Station": "ab12"}, "station", "Station", "ab12", "pattern"),
    ({"Station": "ZZ99"}, "station", "Station", "ZZ99", "unknown_code"),
    ({"Latitude": "500"}, "latitude", "Latitude", "500", "coordinates_out_of_range"),
    ({"Longitude": "-200"}, "longitude", "Longitude", "-200", "coordinates_out_of_range"),
    ({"Latitude": ""}, "latitude", "Latitude", None, "coordinates_incomplete"),
    ({"Longitude": ""}, "longitude", "Longitude", None, "coordinates_incomplete"),
]


@pytest.mark.parametrize(
    ("changes", "field", "column", "value", "rule"),
    REFUSED,
    ids=[f"{case[4]}:{next(iter(case[0].values()))!r}" for case in REFUSED],
)
def test_each_refused_value_names_its_row_field_column_value_and_rule(
    changes: dict[str, str], field: str, column: str, value: str | None, rule: str
) -> None:
    row = dict(GOOD) | changes
    outcome = run([dict(GOOD), row, dict(GOOD)])
    assert problems_of(outcome) == [(3, field, column, value, rule, E)]
    [quarantined] = outcome.quarantine.to_pylist()
    assert quarantined["row"] == 3
    assert quarantined["reasons"] == f"{field}: {rule}"
    # The quarantined row keeps every value exactly as sent, untrimmed.
    sent = [quarantined[f"c{i}"] for i in range(len(HEADERS))]
    assert sent == [row[h] for h in HEADERS]
    assert outcome.records.column(processing.SOURCE_ROW).to_pylist() == [2, 4]


def test_a_row_with_several_problems_is_quarantined_once_with_every_reason() -> None:
    outcome = run([good(Month="2024-13", Count="-1", Armed="perhaps", Latitude="95")])
    assert problems_of(outcome) == [
        (2, "armed", "Armed", "perhaps", "not_boolean", E),
        (2, "count", "Count", "-1", "negative", E),
        (2, "latitude", "Latitude", "95", "coordinates_out_of_range", E),
        (2, "month", "Month", "2024-13", "invalid_month", E),
    ]
    [quarantined] = outcome.quarantine.to_pylist()
    assert quarantined["reasons"] == (
        "month: invalid_month; count: negative; armed: not_boolean; "
        "latitude: coordinates_out_of_range"
    )


def test_the_refused_value_is_cut_to_a_preview_and_the_message_names_the_limit() -> None:
    huge = "A" * 1_000_001
    outcome = run([good(Note="x" * 1001), good(Note=huge)])
    assert problems_of(outcome) == [
        (2, "note", "Note", "x" * processing.VALUE_PREVIEW, "too_long", E),
        (3, "note", "Note", "A" * processing.VALUE_PREVIEW, "too_long", E),
    ]
    assert set(outcome.problems.column("message").to_pylist()) == {
        "note is longer than 1000 characters"
    }
    assert outcome.quarantine.column("c6").to_pylist() == ["x" * 1001, huge]  # kept whole


def test_the_unknown_code_message_lists_each_code_once() -> None:
    outcome = run([good(Crime_type="Theft")])
    assert outcome.problems.column("message").to_pylist() == [
        "crime_type is not one of its codes (burglary, robbery)"
    ]


# ---------------------------------------------------------------- accepted, standardised

ACCEPTED = [
    # (changes, field, stored value)
    ({"Count": "1,234"}, "count", 1234),
    ({"Count": "1,234,567"}, "count", 1234567),
    ({"Count": "+5"}, "count", 5),
    ({"Count": " 7 "}, "count", 7),
    ({"Count": "0"}, "count", 0),
    ({"Count": "-0"}, "count", 0),
    ({"Count": "007"}, "count", 7),
    ({"Count": ""}, "count", None),
    ({"Recorded": "1/2/2024"}, "recorded", date(2024, 2, 1)),
    ({"Recorded": "29/02/2024"}, "recorded", date(2024, 2, 29)),
    ({"Recorded": " 31/12/2023 "}, "recorded", date(2023, 12, 31)),
    ({"Month": "2024-1"}, "month", date(2024, 1, 1)),
    ({"Month": "2024-12"}, "month", date(2024, 12, 1)),
    ({"Time": "9:05"}, "at_time", time(9, 5)),
    ({"Time": "00:00"}, "at_time", time(0, 0)),
    ({"Time": "23:59"}, "at_time", time(23, 59)),
    ({"At": "2024-1-2 3:04:05"}, "at", datetime(2024, 1, 2, 3, 4, 5)),  # noqa: DTZ001
    ({"Crime type": "  ROBBERY  of  personal property "}, "crime_type", "robbery"),
    ({"Crime type": "burglary"}, "crime_type", "burglary"),
    ({"Crime type": "BURGLARY"}, "crime_type", "burglary"),
    ({"Armed": "Y"}, "armed", True),
    ({"Armed": "TRUE"}, "armed", True),
    ({"Armed": "1"}, "armed", True),
    ({"Armed": "no"}, "armed", False),
    ({"Armed": "F"}, "armed", False),
    ({"Armed": "0"}, "armed", False),
    ({"Age": "0"}, "age", "0-17"),
    ({"Age": "17"}, "age", "0-17"),
    ({"Age": "18"}, "age", "18-24"),
    ({"Age": "64"}, "age", "25-64"),
    ({"Age": "65"}, "age", "65+"),
    ({"Age": "120"}, "age", "65+"),
    ({"Age": ""}, "age", None),
    ({"Cost": ".5"}, "cost", 0.5),
    ({"Cost": "+1e3"}, "cost", 1000.0),
    ({"Cost": "-2.25"}, "cost", -2.25),
    ({"Station": "AB12"}, "station", "AB12"),
    ({"Note": "  padded  "}, "note", "padded"),
]


@pytest.mark.parametrize(
    ("changes", "field", "stored"),
    ACCEPTED,
    ids=[f"{case[1]}:{next(iter(case[0].values()))!r}" for case in ACCEPTED],
)
def test_each_accepted_value_is_stored_standardised(
    changes: dict[str, str], field: str, stored: object
) -> None:
    outcome = run([dict(GOOD) | changes])
    assert problems_of(outcome) == []
    assert record(outcome, 2)[field] == stored


HOSTILE = [
    '=HYPERLINK("http://example.invalid","click")',
    "+44 20 7946 0000",
    "-2+3",
    "@SUM(A1:A2)",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "'); DROP TABLE x;--",
    "1; SELECT * FROM accounts_user --",
    "${jndi:ldap://example.invalid/a}",
    "%s%n%x",
    "\\x00 not a nul",
    "emoji 🚓 and 中文 and \u202eRTL",
]


def test_formulas_markup_and_sql_are_stored_as_plain_text() -> None:
    outcome = run([good(Note=text) for text in HOSTILE])
    assert problems_of(outcome) == []
    assert outcome.records.column("note").to_pylist() == HOSTILE


def test_a_record_is_pseudonymised_placed_and_keyed() -> None:
    outcome = run([good(Ref="LAS-000123"), good(Ref="LAS-000123"), good(Ref="other")])
    records = outcome.records.to_pylist()
    tokens = [item["ref"] for item in records]
    assert tokens[0] == tokens[1] == pseudonymise.token(KEY, "LAS-000123") != tokens[2]
    assert all(len(t) == 32 and t == t.lower() for t in tokens)
    assert "LAS-000123" not in str(records)
    assert [(item["lsoa_code"], item["borough_code"]) for item in records] == [(LSOA, BOROUGH)] * 3
    assert len({item[processing.RECORD_KEY] for item in records}) == 3
    assert [item[processing.JOB] for item in records] == [7, 7, 7]
    assert outcome.records.schema == processing.output_schema(KIT)


def test_a_point_outside_london_is_kept_with_unknown_geography_and_a_warning() -> None:
    outcome = run([good(), good(Longitude="-2.5", Latitude="53.4"), good(Longitude="")])
    assert problems_of(outcome) == [
        (3, "longitude", "Longitude", "-2.5", "outside_area", "warning"),
        (4, "longitude", "Longitude", None, "coordinates_incomplete", E),
    ]
    kept = record(outcome, 3)
    assert (kept["longitude"], kept["latitude"]) == (-2.5, 53.4)
    assert (kept["lsoa_code"], kept["borough_code"]) == (None, None)
    assert (outcome.outside_area, outcome.unknown_geography) == (1, 1)
    assert outcome.quarantine.column("row").to_pylist() == [4]


def test_a_record_without_a_location_is_kept_with_unknown_geography_and_no_warning() -> None:
    outcome = run([good(Longitude="", Latitude="")])
    assert problems_of(outcome) == []
    assert (outcome.outside_area, outcome.unknown_geography) == (0, 1)


def test_without_boundaries_no_point_is_said_to_be_outside_london() -> None:
    outcome = run([good(), good(Longitude="-2.5", Latitude="53.4")], places=processing.Places())
    assert problems_of(outcome) == []
    assert (outcome.outside_area, outcome.unknown_geography) == (0, 2)
    assert outcome.records.column("lsoa_code").to_pylist() == [None, None]


def test_an_empty_batch_gives_empty_tables() -> None:
    outcome = run([])
    assert (outcome.records.num_rows, outcome.problems.num_rows) == (0, 0)


# ------------------------------------------------------------------------------ layouts


def test_make_plan_matches_headers_whatever_their_case_spacing_and_order() -> None:
    headers = ["  LATITUDE", "longitude  ", "count", "AGE", "ref", "month", "Crime  TYPE"]
    headers += ["at", "TIME", "recorded", "note", "station", "armed", "cost\t"]
    plan = processing.make_plan(KIT, headers)
    assert plan.sources == {
        "ref": "c4",
        "month": "c5",
        "recorded": "c9",
        "at_time": "c8",
        "at": "c7",
        "crime_type": "c6",
        "note": "c10",
        "station": "c11",
        "count": "c2",
        "age": "c3",
        "armed": "c12",
        "cost": "c13",
        "longitude": "c1",
        "latitude": "c0",
    }
    assert plan.unused == []


def test_make_plan_reads_an_alternative_header_and_lists_extra_columns_but_not_ignored() -> None:
    headers = ["Ref", "Month", "offence", "Internal use", "Officer", "", "Ref"]
    plan = processing.make_plan(KIT, headers)
    assert plan.sources == {"ref": "c0", "month": "c1", "crime_type": "c2"}
    assert plan.headers["crime_type"] == "Offence"
    assert plan.unused == ["Officer", "Ref"]  # a second Ref is read into nothing


def test_make_plan_names_what_the_closest_layout_lacks() -> None:
    with pytest.raises(processing.LayoutMismatch) as caught:
        processing.make_plan(KIT, ["Reference", "Month", "Count"])
    assert str(caught.value) == (
        "The columns do not match any layout of test-kit. The closest, kit, needs: 'Ref'. "
        "The file's columns are: 'Reference', 'Month', 'Count'"
    )


def test_a_required_field_missing_from_the_file_is_refused_in_every_row() -> None:
    # make_plan refuses such a file first; process still refuses every row on its own.
    plan = processing.make_plan(KIT, HEADERS)
    sources = {name: source for name, source in plan.sources.items() if name != "month"}
    bare = processing.Plan(
        spec=KIT, layout=plan.layout, sources=sources, headers={}, melt=[], unused=[]
    )
    batch = batch_of(HEADERS, [[GOOD[h] for h in HEADERS]])
    outcome = processing.process(
        batch, bare, rows_of=np.array([2]), places=PLACES, token_key=KEY, job=1
    )
    assert problems_of(outcome) == [(2, "month", "", None, "required", E)]
    assert outcome.records.num_rows == 0 and outcome.quarantine.num_rows == 1


WARD = load_spec_file(SPECS / "mps-ward-crime-counts.yaml")
WARD_HEADERS = ["MajorText", "MinorText", "WardName", "WardCode", "LookUp_BoroughName"]


def test_a_wide_file_melts_and_a_bad_cell_quarantines_its_row_once() -> None:
    """An empty month cell holds no count: it is neither a record nor a problem (the
    pipeline notes how many there were)."""
    headers = [*WARD_HEADERS, "202401", "202402", "202413", "2024-03"]
    plan = processing.make_plan(WARD, headers)
    assert [m.header for m in plan.melt] == ["202401", "202402"]
    assert plan.problems == [
        "The column '202413' looks like a period but is not one (%Y%m); it was not loaded."
    ]
    assert plan.unused == ["2024-03"]
    places = processing.Places(ward={"E05013806": BOROUGH}, boroughs=frozenset({BOROUGH}))
    row = ["Theft", "Shoplifting", "St James's", "E05013806", "Westminster"]
    rows: list[list[str | None]] = [
        [*row, "1,234", "0", "9", "9"],
        [*row, "-1", "3", "9", "9"],
        [*row, "4", "", "9", "9"],
    ]
    outcome = processing.process(
        batch_of(headers, rows),
        plan,
        rows_of=np.array([2, 3, 4]),
        places=places,
        token_key=KEY,
        job=1,
    )
    assert problems_of(outcome) == [(3, "count", "(month columns)", "-1", "negative", E)]
    assert outcome.empty_cells == 1
    published = sorted(
        (item["month"].isoformat(), item[processing.SOURCE_ROW], item["count"])
        for item in outcome.records.to_pylist()
    )
    assert published == [
        ("2024-01-01", 2, 1234),
        ("2024-01-01", 4, 4),
        ("2024-02-01", 2, 0),
        ("2024-02-01", 3, 3),
    ]
    assert [(q["row"], q["reasons"]) for q in outcome.quarantine.to_pylist()] == [
        (3, "count: negative"),
    ]
    assert outcome.rows_in == 3


# ------------------------------------------------------------------ through the pipeline

STREET = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
MPS = "Metropolitan Police Service"


def street(n: int, **changes: str) -> list[str]:
    row = dict(
        zip(
            STREET,
            [
                f"{n:064x}",
                "2024-01",
                MPS,
                MPS,
                "-0.135",
                "51.505",
                "On or near Whitehall",
                "E01004736",
                "Westminster 001A",
                "Burglary",
                "Under investigation",
                "",
            ],
            strict=True,
        )
    )
    row.update({key.replace("_", " "): value for key, value in changes.items()})
    return [row[name] for name in STREET]


@pytest.fixture
def ready(stores: Path, tmp_path: Path) -> Path:  # noqa: F811
    load_folder(write_folder(tmp_path / "geo"), by=Actor.system("test"))
    catalogue()
    return stores


@pytest.mark.django_db
def test_a_hostile_file_publishes_or_quarantines_every_row_and_reports_each_exactly(
    ready: Path, tmp_path: Path
) -> None:
    rows = [
        street(1, Location="On or near Café Zoë"),  # UTF-8, so the last line's byte is bad
        street(2, Location=HOSTILE[0], Context=HOSTILE[4]),
        street(3, Month="31/02/2024"),
        street(4, Crime_type="=1+2"),
        street(5, Crime_type="+cmd"),
        street(6, Crime_type="-cmd"),
        street(7, Crime_type="@cmd"),
        street(8, Context="x" * 1001),
        street(9, Latitude="500"),
        street(10, Longitude=""),
        street(11, Location="'); DROP TABLE x;--", LSOA_name="<b>bold</b>"),
        street(12, Crime_ID="not a hash"),
        street(13, Longitude="-2.5", Latitude="53.4", LSOA_code="W01000001"),
    ]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerows([STREET, *rows[:5]])
    text.write("only,three,values\n")  # line 7: ragged
    writer.writerows(rows[5:])
    data = text.getvalue().encode() + b"Caf\xe9,bad\n"  # line 15: not UTF-8, and short
    path = tmp_path / "street.csv"
    path.write_bytes(data)
    sent = len(rows) + 2

    job = load("police-uk-street", path, tolerance="100")

    assert job.status == JobStatus.PUBLISHED, job.message
    assert job.rows_total == sent
    assert job.rows_published + job.rows_quarantined == sent
    assert (job.rows_published, job.rows_quarantined) == (4, 11)
    problems = [
        (p["row"], p["field"], p["value"], p["rule"], p["severity"])
        for p in services.first_problems(job)
    ]
    assert sorted(problems) == [
        (4, "month", "31/02/2024", "invalid_month", E),
        (5, "crime_type", "=1+2", "unknown_code", E),
        (6, "crime_type", "+cmd", "unknown_code", E),
        (7, "", "only,three,values", "ragged_row", E),
        (8, "crime_type", "-cmd", "unknown_code", E),
        (9, "crime_type", "@cmd", "unknown_code", E),
        (10, "context", "x" * processing.VALUE_PREVIEW, "too_long", E),
        (11, "latitude", "500", "coordinates_out_of_range", E),
        (12, "longitude", None, "coordinates_incomplete", E),
        (14, "crime_id", "not a hash", "pattern", E),
        (16, "", "Caf\ufffd,bad", "invalid_encoding", E),
    ]
    quarantine = pq.read_table(services.quarantine_path(job)).to_pylist()
    assert sorted(q["row"] for q in quarantine) == [4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16]
    assert len(quarantine) == job.rows_quarantined

    published = current_rows(
        "police-uk-street", "_source_row, location, context, lsoa_name, borough_code", "1"
    )
    assert len(published) == job.rows_published
    assert published == [
        (2, "On or near Café Zoë", None, "Westminster 001A", "E09000033"),
        (3, HOSTILE[0], HOSTILE[4], "Westminster 001A", "E09000033"),
        (13, "'); DROP TABLE x;--", None, "<b>bold</b>", "E09000033"),
        (15, "On or near Whitehall", None, "Westminster 001A", None),
    ]


@pytest.mark.django_db
def test_the_problems_and_quarantine_csvs_defuse_every_formula_start(
    ready: Path, tmp_path: Path
) -> None:
    rows = [street(1)] + [
        street(n, Crime_type=start + "cmd") for n, start in enumerate("=+-@", start=2)
    ]
    job = load("police-uk-street", write_rows(tmp_path / "s.csv", STREET, rows), tolerance="100")
    text = "".join(services.problems_csv(job))
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row[3] for row in table[1:]] == ["'=cmd", "'+cmd", "'-cmd", "'@cmd"]
    assert [row[4] for row in table[1:]] == ["unknown_code"] * 4
    quarantine = list(csv.reader(io.StringIO("".join(services.quarantine_csv(job)))))
    crime_type = quarantine[0].index("Crime type")
    assert [row[crime_type] for row in quarantine[1:]] == ["'=cmd", "'+cmd", "'-cmd", "'@cmd"]


LAS = [
    "IncidentNumber",
    "CallDateTime",
    "ArrivedDateTime",
    "InjuryType",
    "PatientAge",
    "PatientSex",
    "Latitude",
    "Longitude",
]


@pytest.mark.django_db
def test_dispatch_coordinates_outside_london_warn_and_impossible_ones_are_refused(
    ready: Path, tmp_path: Path
) -> None:
    inside = (str(EAST[1] + 0.003), str(EAST[0] + 0.004))
    rows = [
        ["LAS-1", "2024-03-02 23:15:00", "", "stab", "19", "M", *inside],
        ["LAS-2", "2024-03-02 23:15:00", "", "Stabbing", "150", "F", *inside],
        ["LAS-3", "2024-03-02 23:15:00", "", "assault", "+40", "U", "53.4", "-2.5"],
        ["LAS-4", "2024-03-02 23:15:00", "", "assault", "40", "U", "500", "-0.13"],
        ["LAS-5", "2024-03-02 23:15:00", "", "assault", "40", "U", "51.5", ""],
        ["LAS-6", "2024-03-02 25:00:00", "", "assault", "1,234", "U", *inside],
    ]
    path = write_rows(tmp_path / "las.csv", LAS, rows)
    job = load("las-violence-dispatches", path, tolerance="100")
    assert job.status == JobStatus.PUBLISHED, job.message
    problems = sorted(
        (p["row"], p["field"], p["value"], p["rule"], p["severity"])
        for p in services.first_problems(job)
    )
    assert problems == [
        (3, "age_band", "150", "out_of_range", E),
        (4, "longitude", "-2.5", "outside_area", "warning"),
        (5, "latitude", "500", "coordinates_out_of_range", E),
        (6, "longitude", None, "coordinates_incomplete", E),
        (7, "age_band", "1,234", "out_of_range", E),
        (7, "call_at", "2024-03-02 25:00:00", "invalid_datetime", E),
    ]
    assert (job.rows_published, job.rows_quarantined) == (2, 4)
    assert job.summary["outside_area"] == 1
    assert job.unknown_geography == 1
    key = pseudonymise.dataset_key(
        settings.SAFESTATS_PSEUDONYMISATION_KEY, "las-violence-dispatches"
    )
    assert current_rows(
        "las-violence-dispatches", "incident_number, age_band, lsoa_code", "age_band"
    ) == [
        (pseudonymise.token(key, "LAS-1"), "18-24", "E01004737"),
        (pseudonymise.token(key, "LAS-3"), "35-44", None),
    ]
