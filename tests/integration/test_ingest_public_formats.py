"""The two public formats load exactly as published: every row is published or quarantined
with a reason, and counts by month x category and in total equal counts taken straight
from the files with Python's csv module.

The files here are synthetic, written in the published layouts with what real files
carry (byte-order marks, CRLF line ends, quoted values with commas, anti-social behaviour
rows without a Crime ID, rows without a location, Aviation Security rows, empty month
cells). To check real downloads, put them in a folder and run with
``SAFESTATS_ACCEPTANCE_FILES=/that/folder``: each ``*street*.csv`` is loaded as
police-uk-street, each file with "ward" in its name as mps-ward-crime-counts and each with
"borough" as mps-borough-crime-counts, and compared the same way.
"""

from __future__ import annotations

import csv
import os
import random
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from safestats.ingest.models import JobStatus
from safestats.query.services import count_matching, run_query
from safestats.query.spec import QuerySpec
from tests.ingest_helpers import catalogue, current_rows, load, stores  # noqa: F401

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
CRIME_TYPES = [
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
    "Other crime",
]
OUTCOMES = [
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Status update unavailable",
    "Awaiting court outcome",
    "Offender given a caution",
    "Court result unavailable",
]


def street_file(path: Path, month: str, rows: int, seed: int, *, crlf: bool) -> Path:
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    force = "Metropolitan Police Service"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(STREET)
        for n in range(rows):
            crime_type = rng.choice(CRIME_TYPES)
            asb = crime_type == "Anti-social behaviour"
            located = rng.random() > 0.03
            lsoa = f"E0100{rng.randint(1000, 4999)}"
            writer.writerow(
                [
                    "" if asb else f"{rng.getrandbits(256):064x}",
                    month,
                    force,
                    force,
                    f"{-0.5 + rng.random() * 0.8:.6f}" if located else "",
                    f"{51.3 + rng.random() * 0.4:.6f}" if located else "",
                    f"On or near {rng.choice(['High Street', 'Station Road', 'Park, Lane'])}"
                    if located
                    else "No Location",
                    lsoa if located else "",
                    f"Somewhere {n % 300:03d}A" if located else "",
                    crime_type,
                    "" if asb else rng.choice(OUTCOMES),
                    "" if rng.random() > 0.01 else 'Said "hello", then left',
                ]
            )
    return path


def wide_file(path: Path, *, kind: str, months: list[date], seed: int) -> Path:
    """An MPS ward or borough file (current or historic layout), UTF-8 with a BOM."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    boroughs = ["Camden", "Westminster", "Hammersmith and Fulham", "Kingston upon Thames"]
    majors = {
        "Burglary": ["Burglary - Residential", "Burglary - Business and Community"],
        "Theft": ["Shoplifting", "Theft from the Person", "Other Theft"],
        "Violence Against the Person": ["Common Assault", "Wounding with Intent"],
    }
    historic = kind.endswith("historic")
    stamps = [m.strftime("%Y%m") for m in months]
    if kind.startswith("ward"):
        header = (
            ["WardCode", "Ward Name", "Borough", "Major Category", "Minor Category"]
            if historic
            else ["MajorText", "MinorText", "WardName", "WardCode", "LookUp_BoroughName"]
        )
    else:
        header = (
            ["Borough", "Major Category", "Minor Category"]
            if historic
            else ["MajorText", "MinorText", "BoroughName"]
        )
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header + stamps)
        areas = [*boroughs, "Aviation Security (SO18)"]
        for area_index, borough in enumerate(areas):
            wards = [(f"E0501{area_index:02d}{w:03d}", f"{borough} ward {w}") for w in range(3)]
            if borough.startswith("Aviation"):
                wards = [("E05000000", "Aviation Security (SO18)")]
            places = wards if kind.startswith("ward") else [("", "")]
            for ward_code, ward_name in places:
                for major, minors in majors.items():
                    for minor in minors:
                        counts = [
                            "" if rng.random() < 0.02 else str(rng.randint(0, 60)) for _ in stamps
                        ]
                        if kind.startswith("ward"):
                            first = (
                                [ward_code, ward_name, borough, major, minor]
                                if historic
                                else [major, minor, ward_name, ward_code, borough]
                            )
                        else:
                            first = [borough, major, minor] if historic else [major, minor, borough]
                        writer.writerow(first + counts)
    return path


def straight_counts(path: Path, dataset: str) -> Counter[tuple[str, str]]:
    """Counts taken straight from the file: month x crime type for street files (rows),
    month x major category for MPS files (sum of the month cells)."""
    counts: Counter[tuple[str, str]] = Counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if dataset == "police-uk-street":
                counts[(row["Month"], row["Crime type"])] += 1
                continue
            major = row.get("MajorText") or row.get("Major Category") or ""
            for header, value in row.items():
                if header and header.isdigit() and len(header) == 6 and value and value.strip():
                    counts[(f"{header[:4]}-{header[4:]}", major)] += int(value)
    return counts


def published_counts(dataset: str) -> Counter[tuple[str, str]]:
    if dataset == "police-uk-street":
        return Counter({(m, t): n for m, t, n in _grouped(dataset, "crime_type", "count(*)")})
    return Counter({(m, t): n for m, t, n in _grouped(dataset, "major_category", "sum(count)")})


def _grouped(dataset: str, category: str, measure: str) -> list[tuple[str, str, int]]:
    import duckdb
    from django.conf import settings

    from safestats.catalogue.models import Dataset
    from safestats.ingest.publishing import version_files

    version = Dataset.objects.get(pk=dataset).current_version
    assert version is not None
    files = version_files(Path(settings.SAFESTATS_DATA_DIR), version.parquet_path)
    names = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    sql = (
        f"SELECT strftime(month, '%Y-%m'), {category}, {measure} "  # noqa: S608 - test only
        f"FROM read_parquet({names}) GROUP BY 1, 2"
    )
    return [(m, t, int(n)) for m, t, n in duckdb.connect().execute(sql).fetchall()]


def check(dataset: str, *paths: Path) -> None:
    job = load(dataset, *paths, tolerance="100")
    assert job.status == JobStatus.PUBLISHED, job.message
    expected: Counter[tuple[str, str]] = Counter()
    rows_in_files = 0
    for path in paths:
        expected.update(straight_counts(path, dataset))
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows_in_files += sum(1 for _ in csv.reader(handle)) - 1
    # Every row of every file is accounted for.
    assert job.rows_total == rows_in_files
    if job.rows_quarantined:
        pytest.fail(
            f"{job.rows_quarantined} rows were quarantined; first problems: "
            f"{[(p['row'], p['field'], p['value'], p['rule']) for p in _problems(job)]}"
        )
    published = published_counts(dataset)
    assert published == expected
    assert sum(published.values()) == sum(expected.values())
    # The query service (as the pages and `safestats query` use it) gives the same counts.
    category = "crime_type" if dataset == "police-uk-street" else "major_category"
    result = run_query(QuerySpec(dataset=dataset, group_by=[category], time_unit="month"))
    answered = Counter(
        {(cell.codes[1], cell.codes[0]): cell.value for cell in result.cells if cell.value}
    )
    assert answered == +expected
    assert result.grand_total.value == sum(expected.values())
    # So does the builder's live count (records, or the sum of the published counts).
    assert count_matching(QuerySpec(dataset=dataset)).grand_total.value == sum(expected.values())


def _problems(job: object) -> list[dict[str, object]]:
    from safestats.ingest import services

    return services.first_problems(job, 10)  # type: ignore[arg-type]


@pytest.fixture
def ready(stores: Path) -> Path:  # noqa: F811
    catalogue()
    return stores


def test_street_files_load_as_published(ready: Path, tmp_path: Path) -> None:
    january = street_file(
        tmp_path / "2024-01-metropolitan-street.csv", "2024-01", 3000, 1, crlf=True
    )
    february = street_file(
        tmp_path / "2024-02-metropolitan-street.csv", "2024-02", 2500, 2, crlf=False
    )
    check("police-uk-street", january, february)


def test_mps_ward_files_current_and_historic_load_into_one_history(
    ready: Path, tmp_path: Path
) -> None:
    recent = [date(2023, m, 1) for m in range(1, 13)] + [date(2024, m, 1) for m in range(1, 13)]
    current = wide_file(
        tmp_path / "MPS Ward Level Crime (most recent 24 months).csv",
        kind="ward",
        months=recent,
        seed=3,
    )
    historic = wide_file(
        tmp_path / "MPS_Ward_Level_Crime_Historic_NewWard.csv",
        kind="ward-historic",
        months=[date(2010, m, 1) for m in range(1, 13)],
        seed=4,
    )
    check("mps-ward-crime-counts", current, historic)
    classifications = {
        row[0] for row in current_rows("mps-ward-crime-counts", "DISTINCT classification")
    }
    assert classifications == {"home_office_2019", "previous"}


def test_mps_borough_file_loads_with_boroughs_found_by_name(ready: Path, tmp_path: Path) -> None:
    path = wide_file(
        tmp_path / "MPS Borough Level Crime (most recent 24 months).csv",
        kind="borough",
        months=[date(2024, m, 1) for m in range(1, 13)],
        seed=5,
    )
    check("mps-borough-crime-counts", path)
    places = dict(current_rows("mps-borough-crime-counts", "DISTINCT borough_name, borough_code"))
    assert places["Hammersmith and Fulham"] == "E09000013"
    assert places["Kingston upon Thames"] == "E09000021"
    assert places["Aviation Security (SO18)"] is None


def _real_files() -> list[tuple[str, Path]]:
    folder = os.environ.get("SAFESTATS_ACCEPTANCE_FILES", "")
    if not folder:
        return []
    found = []
    for path in sorted(Path(folder).glob("*.csv")):
        name = path.name.lower()
        if "street" in name:
            found.append(("police-uk-street", path))
        elif "ward" in name:
            found.append(("mps-ward-crime-counts", path))
        elif "borough" in name:
            found.append(("mps-borough-crime-counts", path))
    return found


@pytest.mark.parametrize(
    ("dataset", "path"),
    _real_files()
    or [pytest.param("", Path(), marks=pytest.mark.skip(reason="no real files given"))],
)
def test_real_public_files_load_as_published(ready: Path, dataset: str, path: Path) -> None:
    check(dataset, path)
