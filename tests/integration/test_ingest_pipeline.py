"""The ingestion pipeline end to end, through the real stores, engine and catalogue: what
is published, quarantined and reported; no-ops; tolerance; resubmission by period;
rollback; pseudonymisation and spatial suppression as the specs say."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from unittest import mock

import pyarrow.parquet as pq
import pytest
from django.conf import settings

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset, VersionStatus
from safestats.catalogue.services import rollback_to
from safestats.geography.services import load_folder
from safestats.ingest import pseudonymise, publishing, services
from safestats.ingest.models import IngestJob, JobStatus, RawFile
from tests.ingest_helpers import (
    catalogue,
    current_rows,
    data_store_files,
    load,
    stores,  # noqa: F401 - fixture
    version_rows,
    write_rows,
)
from tests.integration.geography_files import EAST, WEST, write_folder

pytestmark = pytest.mark.django_db

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


def crime_id(n: int) -> str:
    return f"{n:064x}"


def street_row(
    n: int, month: str, crime_type: str = "Burglary", lsoa: str = "E01004736"
) -> list[str]:
    return [
        crime_id(n),
        month,
        MPS,
        MPS,
        str(WEST[0] + 0.005),
        str(WEST[1] + 0.005),
        "On or near Whitehall",
        lsoa,
        "Westminster 001A",
        crime_type,
        "Under investigation",
        "",
    ]


@pytest.fixture
def geography(tmp_path: Path) -> None:
    load_folder(write_folder(tmp_path / "geo"), by=Actor.system("test"))


@pytest.fixture
def ready(stores: Path, geography: None) -> Path:  # noqa: F811
    catalogue()
    return stores


def test_a_street_file_is_published_with_derived_geography_and_its_bad_row_quarantined(
    ready: Path, tmp_path: Path
) -> None:
    path = write_rows(
        tmp_path / "2024-01-metropolitan-street.csv",
        STREET,
        [
            [
                "",
                "2024-01",
                MPS,
                MPS,
                "-0.135",
                "51.505",
                "On or near X",
                "E01004736",
                "Westminster 001A",
                "Anti-social behaviour",
                "",
                "",
            ],
            street_row(1, "2024-01"),
            [
                crime_id(2),
                "2024-01",
                MPS,
                MPS,
                "",
                "",
                "No Location",
                "",
                "",
                "Violence and sexual offences",
                "Under investigation",
                "",
            ],
            [
                crime_id(3),
                "2024-01",
                MPS,
                MPS,
                "-2.5",
                "53.4",
                "On or near Y",
                "E01012345",
                "Elsewhere 001A",
                "vehicle crime",
                "Under investigation",
                "",
            ],
            [crime_id(4), "2024-02-31", MPS, MPS, "", "", "", "", "", "Rustling", "", ""],
        ],
    )
    job = load("police-uk-street", path, tolerance="25")

    assert job.status == JobStatus.PUBLISHED, job.message
    assert (job.rows_total, job.rows_published, job.rows_quarantined) == (5, 4, 1)
    assert job.unknown_geography == 2  # no location; an LSOA outside London
    rows = current_rows(
        "police-uk-street",
        "crime_id, month::VARCHAR, crime_type, ward_code, borough_code",
        "_source_row",
    )
    assert rows == [
        (None, "2024-01-01", "Anti-social behaviour", "E05013806", "E09000033"),
        (crime_id(1), "2024-01-01", "Burglary", "E05013806", "E09000033"),
        (crime_id(2), "2024-01-01", "Violence and sexual offences", None, None),
        (crime_id(3), "2024-01-01", "Vehicle crime", None, None),  # standardised code
    ]
    problems = services.first_problems(job)
    assert [(p["row"], p["field"], p["value"], p["rule"]) for p in problems] == [
        (6, "month", "2024-02-31", "invalid_month"),
        (6, "crime_type", "Rustling", "unknown_code"),
    ]
    quarantined = pq.read_table(services.quarantine_path(job)).to_pylist()
    assert len(quarantined) == 1
    assert quarantined[0]["row"] == 6
    assert quarantined[0]["reasons"] == "month: invalid_month; crime_type: unknown_code"
    assert quarantined[0]["Crime type"] == "Rustling"  # kept exactly as sent

    dataset = Dataset.objects.get(pk="police-uk-street")
    assert dataset.current_version == job.version
    assert job.version is not None
    assert str(job.version.coverage_from) == "2024-01-01"
    events = list(
        AuditEvent.objects.filter(target_id="police-uk-street").values_list("event", flat=True)
    )
    for event in ("ingest.file_received", "ingest.validated", "dataset.version_published"):
        assert event in events


def test_the_problems_csv_names_row_field_value_and_rule_and_defuses_formulas(
    ready: Path, tmp_path: Path
) -> None:
    path = write_rows(
        tmp_path / "street.csv",
        STREET,
        [street_row(1, "2024-01"), street_row(2, '=HYPERLINK("http://x")')],
    )
    job = load("police-uk-street", path, tolerance="50")
    text = "".join(services.problems_csv(job))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["row", "field", "column", "value", "rule", "severity", "message"]
    assert rows[1][:5] == ["3", "month", "Month", '\'=HYPERLINK("http://x")', "invalid_month"]


def test_the_same_file_twice_is_a_no_op_that_says_so(ready: Path, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "street.csv", STREET, [street_row(1, "2024-01")])
    first = load("police-uk-street", path)
    before = data_store_files(ready)
    second = load("police-uk-street", path)
    assert second.status == JobStatus.UNCHANGED
    assert f"job {first.pk}, version 1" in second.message
    assert data_store_files(ready) == before
    assert RawFile.objects.count() == 1  # stored once
    assert Dataset.objects.get(pk="police-uk-street").versions.count() == 1


def test_too_many_problems_rejects_the_load_and_changes_nothing(
    ready: Path, tmp_path: Path
) -> None:
    good = write_rows(tmp_path / "good.csv", STREET, [street_row(1, "2024-01")])
    first = load("police-uk-street", good)
    before = data_store_files(ready)
    bad = write_rows(
        tmp_path / "bad.csv",
        STREET,
        [street_row(2, "2024-02"), street_row(3, "2024-02", crime_type="Nonsense")],
    )
    job = load("police-uk-street", bad, tolerance="10")
    assert job.status == JobStatus.REJECTED
    assert "1 of 2 rows (50.00%)" in job.message
    assert "more than the 10.00% allowed" in job.message
    assert Dataset.objects.get(pk="police-uk-street").current_version == first.version
    assert data_store_files(ready) == before
    assert services.problem_counts(job) == [("unknown_code", "error", 1)]


def test_a_resubmitted_month_replaces_that_month_only_and_other_records_keep_their_keys(
    ready: Path, tmp_path: Path
) -> None:
    january = [street_row(n, "2024-01") for n in range(1, 4)]
    february = [street_row(n, "2024-02") for n in range(10, 12)]
    first = load("police-uk-street", write_rows(tmp_path / "a.csv", STREET, january + february))
    keys_before = dict(current_rows("police-uk-street", "crime_id, _record_key"))

    again = [street_row(n, "2024-02", crime_type="Robbery") for n in range(20, 25)]
    second = load("police-uk-street", write_rows(tmp_path / "b.csv", STREET, again))

    assert second.status == JobStatus.PUBLISHED, second.message
    assert second.summary["periods_replaced"] == ["2024-02"]
    assert second.summary["rows_replaced"] == 2
    rows = current_rows("police-uk-street", "month::VARCHAR, crime_type")
    grouped = sorted({(m, t, rows.count((m, t))) for m, t in rows})
    assert grouped == [("2024-01-01", "Burglary", 3), ("2024-02-01", "Robbery", 5)]
    keys_after = dict(current_rows("police-uk-street", "crime_id, _record_key"))
    for n in range(1, 4):
        assert keys_after[crime_id(n)] == keys_before[crime_id(n)]
    # The first version is untouched on disk and still readable.
    assert first.version is not None
    assert len(version_rows(first.version)) == 5


def test_rollback_points_queries_back_at_an_earlier_version(ready: Path, tmp_path: Path) -> None:
    first = load(
        "police-uk-street", write_rows(tmp_path / "a.csv", STREET, [street_row(1, "2024-01")])
    )
    second = load(
        "police-uk-street", write_rows(tmp_path / "b.csv", STREET, [street_row(2, "2024-02")])
    )
    dataset = Dataset.objects.get(pk="police-uk-street")
    assert first.version and second.version
    rollback_to(dataset=dataset, version=first.version, by=Actor.system("test"))
    dataset.refresh_from_db()
    second.version.refresh_from_db()
    assert dataset.current_version == first.version
    assert second.version.status == VersionStatus.ROLLED_BACK
    assert len(current_rows("police-uk-street")) == 1


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


def test_las_dispatches_are_tokenised_banded_and_moved_to_the_lsoa_centroid(
    ready: Path, tmp_path: Path
) -> None:
    path = write_rows(
        tmp_path / "las.csv",
        LAS,
        [
            [
                "LAS-000123",
                "2024-03-02 23:15:00",
                "2024-03-02 23:24:00",
                "stab",
                "19",
                "M",
                str(EAST[1] + 0.0031),
                str(EAST[0] + 0.0047),
            ],
            ["LAS-000124", "2024-03-03 01:02:03", "", "Assault", "67", "F", "", ""],
            ["LAS-000125", "2024-03-03 02:00:00", "", "glassing", "150", "F", "51.5", "-0.13"],
        ],
    )
    job = load("las-violence-dispatches", path, tolerance="50")
    assert job.status == JobStatus.PUBLISHED, job.message
    rows = current_rows(
        "las-violence-dispatches",
        "incident_number, injury_type, age_band, sex, latitude, longitude, lsoa_code",
        "_source_row",
    )
    key = pseudonymise.dataset_key(
        settings.SAFESTATS_PSEUDONYMISATION_KEY, "las-violence-dispatches"
    )
    assert rows[0][0] == pseudonymise.token(key, "LAS-000123")
    assert rows[0][1:4] == ("stab", "18-24", "M")
    assert rows[0][6] == "E01004737"
    # The exact point is gone: the stored point is the LSOA's centroid.
    from safestats.geography.models import Lsoa

    centre = Lsoa.objects.get(code="E01004737", vintage="2021")
    assert rows[0][4] == pytest.approx(centre.centroid_lat)
    assert rows[0][5] == pytest.approx(centre.centroid_lon)
    assert rows[1][1:4] == ("assault", "65+", "F")
    assert rows[1][4:7] == (None, None, None)
    assert [(p["row"], p["rule"]) for p in services.first_problems(job)] == [(4, "out_of_range")]
    raw_file = job.files.get()
    assert b"LAS-000123" in (Path(settings.SAFESTATS_RAW_DIR) / raw_file.stored_path).read_bytes()
    for path_in_store in (ready / "data").rglob("*.parquet"):
        assert b"LAS-000123" not in path_in_store.read_bytes()


WARD = ["MajorText", "MinorText", "WardName", "WardCode", "LookUp_BoroughName", "202401", "202402"]


def test_a_wide_ward_file_is_melted_into_one_count_per_month(ready: Path, tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "MPS Ward Level Crime (most recent 24 months).csv",
        WARD,
        [
            [
                "Burglary",
                "Burglary - Residential",
                "St James's",
                "E05013806",
                "Westminster",
                "7",
                "3",
            ],
            ["Theft", "Shoplifting", "St James's", "E05013806", "Westminster", "40", "0"],
            ["Theft", "Shoplifting", "Heathrow", "E05999999", "Aviation Security (SO18)", "5", "2"],
        ],
    )
    job = load("mps-ward-crime-counts", path)
    assert job.status == JobStatus.PUBLISHED, job.message
    rows = current_rows(
        "mps-ward-crime-counts",
        "month::VARCHAR, minor_category, ward_code, borough_code, classification, count",
        "month, ward_code, minor_category",
    )
    assert rows == [
        ("2024-01-01", "Burglary - Residential", "E05013806", "E09000033", "home_office_2019", 7),
        ("2024-01-01", "Shoplifting", "E05013806", "E09000033", "home_office_2019", 40),
        ("2024-01-01", "Shoplifting", "E05999999", None, "home_office_2019", 5),
        ("2024-02-01", "Burglary - Residential", "E05013806", "E09000033", "home_office_2019", 3),
        ("2024-02-01", "Shoplifting", "E05013806", "E09000033", "home_office_2019", 0),
        ("2024-02-01", "Shoplifting", "E05999999", None, "home_office_2019", 2),
    ]
    assert job.unknown_geography == 0  # an area outside the boroughs is not "unknown"


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1252", "|")],
)
def test_any_common_encoding_and_delimiter_reads_the_same(
    ready: Path, tmp_path: Path, encoding: str, delimiter: str
) -> None:
    row = street_row(1, "2024-01")
    row[6] = "On or near Café £5 “Quotes”"
    path = write_rows(
        tmp_path / "street.csv", STREET, [row], encoding=encoding, delimiter=delimiter
    )
    job = load("police-uk-street", path)
    assert job.status == JobStatus.PUBLISHED, job.message
    assert current_rows("police-uk-street", "location") == [("On or near Café £5 “Quotes”",)]


def test_a_spreadsheet_loads_like_its_csv(ready: Path, tmp_path: Path) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(LAS)
    sheet.append(["LAS-9", datetime(2024, 5, 1, 22, 30), None, "gunshot", 30, "M", None, None])  # noqa: DTZ001 - a naive spreadsheet cell
    path = tmp_path / "las.xlsx"
    book.save(path)
    job = load("las-violence-dispatches", path)
    assert job.status == JobStatus.PUBLISHED, job.message
    assert current_rows("las-violence-dispatches", "call_at::VARCHAR, injury_type, age_band") == [
        ("2024-05-01 22:30:00", "gunshot", "25-34")
    ]


def test_a_file_whose_columns_match_no_layout_fails_and_names_what_is_missing(
    ready: Path, tmp_path: Path
) -> None:
    path = write_rows(tmp_path / "x.csv", ["Month", "Whatever"], [["2024-01", "1"]])
    job = load("police-uk-street", path)
    assert job.status == JobStatus.FAILED
    assert "The columns do not match any layout of police-uk-street" in job.message
    assert "'Crime type'" in job.message
    assert Dataset.objects.get(pk="police-uk-street").current_version is None
    assert IngestJob.objects.get(pk=job.pk).finished_at is not None


def test_a_record_sent_again_in_a_resubmitted_month_keeps_its_record_key(
    ready: Path, tmp_path: Path
) -> None:
    first = [street_row(n, "2024-03") for n in range(1, 5)]
    load("police-uk-street", write_rows(tmp_path / "a.csv", STREET, first))
    before = dict(current_rows("police-uk-street", "crime_id, _record_key"))
    # The month again: crimes 1 and 2 corrected, 3 and 4 withdrawn, 5 new.
    again = [street_row(n, "2024-03", crime_type="Robbery") for n in (1, 2, 5)]
    job = load("police-uk-street", write_rows(tmp_path / "b.csv", STREET, again))
    assert job.status == JobStatus.PUBLISHED, job.message
    after = dict(current_rows("police-uk-street", "crime_id, _record_key"))
    assert set(after) == {crime_id(1), crime_id(2), crime_id(5)}
    assert after[crime_id(1)] == before[crime_id(1)]
    assert after[crime_id(2)] == before[crime_id(2)]
    assert after[crime_id(5)] not in before.values()


def test_rows_after_an_unreadable_row_keep_their_line_numbers_everywhere(
    ready: Path, tmp_path: Path
) -> None:
    """A CSV file is checked as it streams, before the rows the engine cannot read are
    known: the records, problems and quarantined rows after such a row are renumbered."""
    good = [street_row(n, "2024-01") for n in range(1, 4)]
    bad = [crime_id(9), "2024-02-31", MPS, MPS, "", "", "", "", "", "Rustling", "", ""]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([STREET, good[0]])  # lines 1 and 2
    buffer.write("too,few,values\n")  # line 3: unreadable
    writer.writerows([good[1], bad, good[2]])  # lines 4, 5 and 6
    path = tmp_path / "street.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")

    job = load("police-uk-street", path, tolerance="50")

    assert job.status == JobStatus.PUBLISHED, job.message
    assert (job.rows_total, job.rows_published, job.rows_quarantined) == (6 - 1, 3, 2)
    assert current_rows("police-uk-street", "crime_id, _source_row", "_source_row") == [
        (crime_id(1), 2),
        (crime_id(2), 4),
        (crime_id(3), 6),
    ]
    problems = services.first_problems(job)
    assert [(p["row"], p["field"], p["rule"]) for p in problems] == [
        (3, "", "ragged_row"),  # the unreadable rows first, as they always were
        (5, "month", "invalid_month"),
        (5, "crime_type", "unknown_code"),
    ]
    quarantined = pq.read_table(services.quarantine_path(job)).to_pylist()
    assert [(q["row"], q["reasons"]) for q in quarantined] == [
        (3, "ragged_row"),
        (5, "month: invalid_month; crime_type: unknown_code"),
    ]
    assert job.summary["files"][0]["rows"] == 5
    assert job.summary["files"][0]["rejected_unreadable"] == 1


def test_a_large_version_is_sorted_a_few_months_at_a_time_into_files_in_time_order(
    ready: Path, tmp_path: Path
) -> None:
    """Staged by month, a version of more than GROUP_ROWS records is written a group of
    months at a time: the files, in the manifest's order, are in time order and hold
    exactly what one sort of everything would (old months kept with their keys, the
    resubmitted month replaced, a record sent again keeping its key)."""
    months = ["2024-03", "2024-01", "2024-04", "2024-02"]
    rows = [street_row(10 * i + n, month) for i, month in enumerate(months) for n in range(3)]
    with mock.patch.object(publishing, "GROUP_ROWS", 4):
        first = load("police-uk-street", write_rows(tmp_path / "a.csv", STREET, rows))
        keys_before = dict(current_rows("police-uk-street", "crime_id, _record_key"))
        again = [street_row(30, "2024-02"), street_row(99, "2024-02", crime_type="Robbery")]
        second = load("police-uk-street", write_rows(tmp_path / "b.csv", STREET, again))

    assert first.status == second.status == JobStatus.PUBLISHED, second.message
    assert second.summary["periods_replaced"] == ["2024-02"]
    assert second.version is not None
    files = publishing.version_files(Path(settings.SAFESTATS_DATA_DIR), second.version.parquet_path)
    assert len(files) > 1
    in_order = [
        (row["month"].isoformat()[:7], row["crime_id"])
        for path in files
        for row in pq.read_table(path, columns=["month", "crime_id"]).to_pylist()
    ]
    assert [month for month, _ in in_order] == sorted(month for month, _ in in_order)
    expected = {crime_id(n) for n in (0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 99)}
    assert {ident for _, ident in in_order} == expected
    keys_after = dict(current_rows("police-uk-street", "crime_id, _record_key"))
    for n in (0, 1, 2, 10, 11, 12, 20, 21, 22, 30):  # kept months, and the record sent again
        assert keys_after[crime_id(n)] == keys_before[crime_id(n)]
