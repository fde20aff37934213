"""Synthetic provider files: every catalogued dataset in CSV and xlsx, read back as the
pipeline will read them (headers, codes, date formats, coordinates, area codes), the same
seed giving the same bytes, London's patterns visible in the data, and the places they are
built from (the borough fallback, and a folder of ONS files)."""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safestats.catalogue.loading import load_spec_files
from safestats.catalogue.spec import TEMPORAL_TYPES, Bands, DatasetSpec
from safestats.geography import codes as geo_codes
from safestats.geography import engine
from safestats.ingest import synthetic
from safestats.ingest.synthetic import Places, demo_plan, recent_months, write_provider_file

REPO = Path(__file__).resolve().parents[2]
REAL = (REPO / ".." / "shared" / "data" / "geography").resolve()
SPECS: dict[str, DatasetSpec] = {spec.id: spec for _, spec in load_spec_files()}
MONTHS = [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
YEAR = [date(2024, m, 1) for m in range(1, 13)]
RECORD_IDS = sorted(i for i, s in SPECS.items() if s.layouts[0].melt is None)

# Real 2021 LSOAs (codes, names, best-fit 2025 wards and centroids from the ONS-derived
# lookup), for when the geography folder is not beside the repository.
TINY_ROWS = [
    (
        "E01000001",
        "City of London 001A",
        "E05009288",
        "Aldersgate",
        "E09000001",
        -0.096773,
        51.518007,
    ),
    ("E01000842", "Camden 011A", "E05013652", "Belsize", "E09000007", -0.167828, 51.546804),
    ("E01001571", "Greenwich 008A", "E05014072", "Abbey Wood", "E09000011", 0.111583, 51.488277),
    (
        "E01001596",
        "Greenwich 032A",
        "E05014086",
        "Mottingham, Coldharbour & New Eltham",
        "E09000011",
        0.065471,
        51.428244,
    ),
    ("E01004076", "Sutton 011A", "E05013754", "Beddington", "E09000029", -0.140866, 51.38057),
    ("E01004646", "Westminster 002A", "E05013792", "Abbey Road", "E09000033", -0.180139, 51.537426),
]


def tiny_places() -> Places:
    columns = list(zip(*TINY_ROWS, strict=True))
    return Places.from_areas(
        lsoa_code=columns[0],
        lsoa_name=columns[1],
        ward_code=columns[2],
        ward_name=columns[3],
        borough_code=columns[4],
        lon=columns[5],
        lat=columns[6],
        source="six LSOAs",
    )


PLACES = (
    Places.from_geography_dir(REAL)
    if (REAL / "lsoa2021_ward2025_derived_london.csv").is_file()
    else tiny_places()
)


def read_table(path: Path, fmt: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows as text, as a pipeline reads them ('' for an empty cell)."""
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    else:
        workbook = openpyxl.load_workbook(path, read_only=True)
        sheet = workbook.worksheets[0]
        rows = [
            ["" if value is None else str(value) for value in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        workbook.close()
    return rows[0], rows[1:]


def in_london(lon: float, lat: float) -> bool:
    (lon_min, lon_max), (lat_min, lat_max) = geo_codes.LONDON_LON, geo_codes.LONDON_LAT
    return lon_min <= lon <= lon_max and lat_min <= lat <= lat_max


def check_file(
    spec: DatasetSpec, header: list[str], rows: list[list[str]], months: list[date]
) -> None:
    """Everything a pipeline relies on in a provider file of ``spec``'s first layout."""
    layout = spec.layouts[0]
    expected = [layout.headers(name)[0] for name in layout.columns]
    if layout.melt is not None:
        expected += [m.strftime(layout.melt.header_format) for m in months]
    assert header == expected
    assert all(len(row) == len(header) for row in rows)
    covered = {(m.year, m.month) for m in months}
    lsoas, wards = set(PLACES.lsoa_code.tolist()), set(PLACES.ward_code.tolist())
    derived = set(spec.geography.outputs.values()) if spec.geography else set()
    identifiers = [n for n in layout.columns if spec.field(n).role == "identifier"]  # type: ignore[union-attr]
    for index, name in enumerate(layout.columns):
        field = spec.field(name)
        assert field is not None
        cells = [row[index] for row in rows]
        filled = [cell for cell in cells if cell != ""]
        if field.required:
            assert len(filled) == len(cells), f"{name} is required but has empty cells"
        values = spec.code_values(field)
        if values is not None:
            assert set(filled) <= {v.code for v in values}, name
        if field.pattern is not None:
            assert all(re.search(field.pattern, cell) for cell in filled), name
        if field.type in TEMPORAL_TYPES:
            fmt = layout.date_formats[name]
            parsed = [datetime.strptime(cell, fmt) for cell in filled]  # noqa: DTZ007
            if name == spec.coverage_field:
                assert {(p.year, p.month) for p in parsed} <= covered
        if isinstance(field.generalise, Bands):
            assert all(cell.isdigit() and int(cell) <= 110 for cell in filled), name
        elif field.type == "integer":
            assert all(re.fullmatch(r"-?\d+", cell) for cell in filled), name
        elif field.type == "decimal":
            assert all(float(cell) == float(cell) for cell in filled)
        if field.role == "geography" and name not in derived:
            for cell in filled:
                if re.fullmatch(r"E01\d{6}", cell):
                    assert cell in lsoas
                elif re.fullmatch(r"E05\d{6}", cell):
                    assert cell in wards
                elif re.fullmatch(r"E09\d{6}", cell):
                    assert cell in geo_codes.BOROUGHS
        if identifiers and name == identifiers[0]:
            assert len(set(filled)) == len(filled), f"{name} repeats"
    location = spec.location
    if location is not None and location.x in layout.columns:
        names = list(layout.columns)
        x, y = names.index(location.x), names.index(location.y)
        points = [(float(r[x]), float(r[y])) for r in rows if r[x] and r[y]]
        assert points or not rows
        if location.crs == "bng":
            lon, lat = engine.bng_to_wgs84([p[0] for p in points], [p[1] for p in points])
            points = list(zip(lon.tolist(), lat.tolist(), strict=True))
        assert all(in_london(lon, lat) for lon, lat in points)
    if layout.melt is not None:
        width = len(layout.columns)
        assert all(cell.isdigit() for row in rows for cell in row[width:])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("dataset", sorted(SPECS))
def test_every_dataset_makes_a_valid_provider_file(tmp_path: Path, dataset: str, fmt: str) -> None:
    spec = SPECS[dataset]
    path = tmp_path / f"{dataset}.{fmt}"
    written = write_provider_file(spec, path, months=MONTHS, rows=300, places=PLACES, fmt=fmt)  # type: ignore[arg-type]
    header, rows = read_table(path, fmt)
    assert written == len(rows)
    # A wide file has at most a row per area and category: fewer with few places.
    assert written == 300 or (spec.layouts[0].melt is not None and 0 < written < 300)
    check_file(spec, header, rows, MONTHS)


def test_a_wide_file_has_at_most_one_row_per_area_and_category(tmp_path: Path) -> None:
    spec = SPECS["mps-borough-crime-counts"]
    path = tmp_path / "boroughs.csv"
    written = write_provider_file(spec, path, months=YEAR, rows=10**6, places=PLACES)
    header, rows = read_table(path, "csv")
    assert written == len(rows) < 10**6
    keys = [tuple(row[:3]) for row in rows]
    assert len(set(keys)) == len(keys)
    assert {row[2] for row in rows} == {
        *(n for c, n in geo_codes.BOROUGHS.items() if c != "E09000001"),
        synthetic.AVIATION,
    }
    totals = Counter[str]()
    for row in rows:
        totals[row[2]] += sum(int(cell) for cell in row[3:])
    # Westminster records far more crime than Sutton; London about 78,000 a month.
    assert totals["Westminster"] > 4 * totals["Sutton"]
    assert 800_000 < sum(totals.values()) < 1_100_000
    check_file(spec, header, rows, YEAR)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_same_seed_gives_the_same_bytes_and_another_seed_others(
    tmp_path: Path, fmt: str
) -> None:
    spec = SPECS["lfb-incidents"]

    def make(name: str, seed: int) -> bytes:
        path = tmp_path / f"{name}.{fmt}"
        write_provider_file(spec, path, months=MONTHS, rows=500, seed=seed, places=PLACES, fmt=fmt)  # type: ignore[arg-type]
        return path.read_bytes()

    first = make("a", 7)
    assert make("b", 7) == first
    assert make("c", 8) != first


@settings(max_examples=25, deadline=None)
@given(
    dataset=st.sampled_from(RECORD_IDS),
    rows=st.integers(min_value=1, max_value=400),
    seed=st.integers(min_value=0, max_value=2**63),
)
def test_any_rows_and_seed_give_exactly_that_many_records(
    dataset: str, rows: int, seed: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.csv"
        written = write_provider_file(
            SPECS[dataset], path, months=MONTHS, rows=rows, seed=seed, places=PLACES
        )
        _, data = read_table(path, "csv")
    assert written == len(data) == rows


def test_references_stay_unique_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 97)
    for dataset in ("mps-asb-incidents", "lfb-incidents", "las-violence-dispatches", "mps-victims"):
        spec = SPECS[dataset]
        path = tmp_path / f"{dataset}.csv"
        assert (
            write_provider_file(spec, path, months=[date(2024, 5, 1)], rows=1500, places=PLACES)
            == 1500
        )
        header, rows = read_table(path, "csv")
        check_file(spec, header, rows, [date(2024, 5, 1)])


def test_a_file_covers_only_the_months_given(tmp_path: Path) -> None:
    months = [date(2023, 12, 1), date(2024, 6, 1)]
    for dataset in (
        "mps-recorded-crime",
        "mps-crime-outcomes",
        "istv-ed-attendances",
        "police-uk-street",
    ):
        path = tmp_path / f"{dataset}.csv"
        write_provider_file(SPECS[dataset], path, months=months, rows=800, places=PLACES)
        header, rows = read_table(path, "csv")
        check_file(SPECS[dataset], header, rows, months)


# ------------------------------------------------------------------------------ realism


def records(
    tmp_path: Path, dataset: str, rows: int, months: list[date] = YEAR
) -> list[dict[str, str]]:
    path = tmp_path / f"{dataset}.csv"
    write_provider_file(SPECS[dataset], path, months=months, rows=rows, places=PLACES)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_violence_peaks_on_weekend_nights_and_in_summer_burglary_on_winter_evenings(
    tmp_path: Path,
) -> None:
    crimes = records(tmp_path, "mps-recorded-crime", 50_000)
    violence = [
        datetime.strptime(r["CommittedFrom"], "%d/%m/%Y %H:%M")  # noqa: DTZ007
        for r in crimes
        if r["MinorCategory"] in ("Violence with Injury", "Violence without Injury")
    ]
    # Saturday 20:00 to Sunday 02:00 against Tuesday 06:00 to 12:00: six hours each.
    saturday_night = sum(
        1
        for t in violence
        if (t.weekday() == 5 and t.hour >= 20) or (t.weekday() == 6 and t.hour < 2)
    )
    tuesday_morning = sum(1 for t in violence if t.weekday() == 1 and 6 <= t.hour < 12)
    assert saturday_night > 2 * tuesday_morning
    quiet = sum(1 for t in violence if 4 <= t.hour < 7)
    evening = sum(1 for t in violence if 19 <= t.hour < 22)
    assert evening > 3 * quiet
    by_month = Counter(t.month for t in violence)
    assert by_month[7] > 1.08 * by_month[1]

    burglary = [
        datetime.strptime(r["CommittedFrom"], "%d/%m/%Y %H:%M")  # noqa: DTZ007
        for r in crimes
        if r["MinorCategory"] == "Burglary - Residential"
    ]
    winter = sum(1 for t in burglary if t.month in (12, 1) and 16 <= t.hour < 22)
    summer = sum(1 for t in burglary if t.month in (6, 7) and 16 <= t.hour < 22)
    assert winter > 1.3 * summer

    # A London mix: violence against the person around 30%, theft around a quarter.
    majors = Counter(r["MajorCategory"] for r in crimes)
    assert 0.25 < majors["Violence Against the Person"] / len(crimes) < 0.36
    assert 0.20 < majors["Theft"] / len(crimes) < 0.32


def test_westminster_far_above_sutton(tmp_path: Path) -> None:
    outcomes = records(tmp_path, "mps-crime-outcomes", 6000, MONTHS)
    boroughs = Counter(r["BoroughCode"] for r in outcomes)
    assert boroughs["E09000033"] > 3 * boroughs["E09000029"]
    assert "E09000001" not in boroughs  # the City is not policed by the Metropolitan Police


def test_people_are_mostly_young_adults_and_male_where_violence_is(tmp_path: Path) -> None:
    victims = records(tmp_path, "mps-victims", 4000, MONTHS)
    ages = Counter(r["AgeRange"] for r in victims)
    assert ages["18-24"] + ages["25-34"] > ages["0-17"] + ages["55-64"] + ages["65+"]
    sexual = Counter(r["Sex"] for r in victims if r["MajorCategory"] == "Sexual Offences")
    assert sexual["F"] > 3 * sexual["M"]
    suspects = records(tmp_path, "mps-suspects", 4000, MONTHS)
    assert Counter(r["Sex"] for r in suspects).most_common(1)[0][0] == "M"
    patients = records(tmp_path, "las-violence-dispatches", 4000, MONTHS)
    patient_ages = sorted(int(r["PatientAge"]) for r in patients if r["PatientAge"])
    assert 18 <= patient_ages[len(patient_ages) // 2] <= 34
    sexes = Counter(r["PatientSex"] for r in patients)
    assert sexes["M"] > 1.5 * sexes["F"]
    assert all(r["ArrivedDateTime"] >= r["CallDateTime"] for r in patients if r["ArrivedDateTime"])


def test_asb_response_times_follow_their_grade(tmp_path: Path) -> None:
    incidents = records(tmp_path, "mps-asb-incidents", 4000, MONTHS)
    by_grade: dict[str, list[int]] = {}
    for r in incidents:
        if r["ResponseTimeSeconds"]:
            by_grade.setdefault(r["ResponseGrade"], []).append(int(r["ResponseTimeSeconds"]))
    median = {g: sorted(v)[len(v) // 2] for g, v in by_grade.items()}
    assert median["I"] < median["S"] < median["E"]
    assert "R" not in median  # referred incidents are not attended


# ------------------------------------------------------------------------------- places


def test_fallback_places_need_no_files() -> None:
    places = Places.fallback()
    assert len(places) == 33 and set(places.borough_code.tolist()) == set(geo_codes.BOROUGHS)
    assert not places.has_lsoas and not places.has_wards
    assert places.lacks(SPECS["mps-recorded-crime"]) is None
    reason = places.lacks(SPECS["mps-ward-crime-counts"])
    assert reason is not None and "ward" in reason


def test_fallback_places_make_borough_level_files(tmp_path: Path) -> None:
    places = Places.fallback()
    for dataset in ("colp-crime", "las-violence-dispatches", "police-uk-street", "lfb-incidents"):
        path = tmp_path / f"{dataset}.csv"
        assert (
            write_provider_file(SPECS[dataset], path, months=MONTHS, rows=400, places=places) == 400
        )
        header, rows = read_table(path, "csv")
        assert header == [
            SPECS[dataset].layouts[0].headers(n)[0] for n in SPECS[dataset].layouts[0].columns
        ]
        if dataset == "police-uk-street":
            assert {row[7] for row in rows} == {""}  # no LSOA codes without LSOAs
    with pytest.raises(ValueError, match="needs real ward codes"):
        write_provider_file(
            SPECS["mps-ward-crime-counts"], tmp_path / "w.csv", months=1, rows=5, places=places
        )


def test_places_without_the_city_cannot_make_city_of_london_police_files(tmp_path: Path) -> None:
    places = tiny_places()
    outside = places.subset(places.borough_code != "E09000001")
    with pytest.raises(ValueError, match="City of London"):
        write_provider_file(
            SPECS["colp-crime"], tmp_path / "c.csv", months=1, rows=5, places=outside
        )


def test_places_from_a_folder_with_boundaries_but_no_centroids(tmp_path: Path) -> None:
    def square(lon: float, lat: float) -> dict[str, object]:
        ring = [
            [lon, lat],
            [lon + 0.01, lat],
            [lon + 0.01, lat + 0.01],
            [lon, lat + 0.01],
            [lon, lat],
        ]
        return {"type": "Polygon", "coordinates": [ring]}

    features = [
        {
            "type": "Feature",
            "properties": {"LSOA21CD": code, "LSOA21NM": name, "LADCD_ACTIVE": "E09000033"},
            "geometry": square(lon, 51.50),
        }
        for code, name, lon in (
            ("E01004736", "Westminster 018A", -0.14),
            ("E01004737", "Westminster 018B", -0.13),
        )
    ]
    collection = {"type": "FeatureCollection", "features": features}
    (tmp_path / "london_lsoa_2021.geojson").write_text(json.dumps(collection))
    (tmp_path / "lsoa2021_ward2025_derived_london.csv").write_text(
        "LSOA21CD,WD25CD,LADCD\nE01004736,E05013806,E09000033\nE01004737,E05013806,E09000033\n"
    )
    places = Places.from_geography_dir(tmp_path)
    assert places.lsoa_code.tolist() == ["E01004736", "E01004737"]
    assert abs(places.lon[0] - -0.135) < 0.001 and abs(places.lat[0] - 51.505) < 0.001
    assert places.lsoa_name.tolist() == ["", ""] and places.has_wards


def test_a_folder_without_the_lookup_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"lsoa2021_ward2025_derived_london\.csv"):
        Places.from_geography_dir(tmp_path)


def test_places_from_the_real_geography_folder() -> None:
    if not (REAL / "lsoa2021_ward2025_derived_london.csv").is_file():
        pytest.skip(f"the real London geography files are not in {REAL}")
    places = Places.from_geography_dir(REAL)
    assert len(places) == 4994 and places.has_lsoas and places.has_wards
    assert set(places.borough_code.tolist()) == set(geo_codes.BOROUGHS)
    assert (places.borough_code == "E09000001").sum() == 6
    assert all(code.startswith("E05") for code in places.ward_code.tolist())
    weight = {
        code: places.weight[places.borough_code == code].sum()
        for code in ("E09000033", "E09000029")
    }
    assert weight["E09000033"] > 4 * weight["E09000029"]


# ---------------------------------------------------------------------------- the rest


def test_recent_months_are_the_whole_months_before_this_one() -> None:
    assert recent_months(3, today=date(2026, 1, 15)) == [
        date(2025, 10, 1),
        date(2025, 11, 1),
        date(2025, 12, 1),
    ]
    assert len(recent_months(24)) == 24
    with pytest.raises(ValueError, match="at least one month"):
        recent_months(0)


def test_the_demo_plan_covers_every_dataset() -> None:
    plan = demo_plan()
    assert set(plan) == set(SPECS)
    assert all(months == 24 and 500 <= rows <= 40_000 for months, rows in plan.values())
    assert sum(rows for months, rows in plan.values()) < 250_000


def test_a_spec_without_a_generator_of_its_own_still_gets_a_valid_file(tmp_path: Path) -> None:
    from safestats.catalogue.spec import DatasetSpec as Spec
    from tests.catalogue_specs import minimal_spec

    spec = Spec.model_validate(minimal_spec("test-crime"))
    path = tmp_path / "test.csv"
    assert write_provider_file(spec, path, months=MONTHS, rows=200, places=PLACES) == 200
    header, rows = read_table(path, "csv")
    check_file(spec, header, rows, MONTHS)


def test_arguments_that_cannot_make_a_file_are_refused(tmp_path: Path) -> None:
    spec = SPECS["mps-recorded-crime"]
    with pytest.raises(ValueError, match="csv or xlsx"):
        write_provider_file(spec, tmp_path / "x", months=1, rows=1, places=PLACES, fmt="json")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most"):
        write_provider_file(
            spec, tmp_path / "x", months=1, rows=2_000_000, places=PLACES, fmt="xlsx"
        )
    with pytest.raises(ValueError, match="negative"):
        write_provider_file(spec, tmp_path / "x", months=1, rows=-1, places=PLACES)
    assert not list(tmp_path.iterdir())
