"""Loading geography folders in process, on small synthetic files: counts, idempotence,
replacement in one transaction, the audit event, hostile input refused with a message
naming file, feature or row and field, and the selectors and cached engine afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.geography import selectors, services
from safestats.geography.files import GeographyFileError
from safestats.geography.models import Borough, GeographyFile, Lsoa, Ward
from tests.integration.geography_files import EAST, WEST, write_folder

pytestmark = pytest.mark.django_db
OPERATOR = Actor.system()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "geography")


def load(path: Path | str) -> services.LoadResult:
    return services.load_folder(path, by=OPERATOR)


def test_boroughs_exist_without_any_folder_and_maps_say_boundaries_are_absent() -> None:
    services.ensure_boroughs()
    assert Borough.objects.count() == 33
    westminster = selectors.borough("e09000033")
    assert westminster is not None and westminster.name == "Westminster"
    city = selectors.borough_by_name("city of london")
    assert city is not None and city.code == "E09000001"
    absent = selectors.areas_for_map("borough")
    assert isinstance(absent, selectors.BoundariesAbsent) and not absent.available
    assert "Boundaries for borough areas are not loaded" in absent.message
    no_lsoas = selectors.areas_for_map("lsoa", "2021")
    assert isinstance(no_lsoas, selectors.BoundariesAbsent)
    assert "No lsoa 2021 areas are loaded" in no_lsoas.message
    assert selectors.engine("2021") is None


def test_load_counts_every_level_and_a_second_load_changes_nothing(folder: Path) -> None:
    first = load(folder)
    assert first.changed
    assert first.counts == {
        "borough": 33, "ward_WD25": 1, "ward_WD19": 1,
        "msoa_2011": 1, "msoa_2021": 1, "lsoa_2011": 2, "lsoa_2021": 2,
    }  # fmt: skip
    lsoa = selectors.lsoa("E01004736", "2021")
    assert lsoa is not None and lsoa.msoa.code == "E02000977"
    assert lsoa.ward is not None and lsoa.ward.code == "E05013806"
    assert lsoa.borough.code == "E09000033"
    lsoa_2011 = selectors.lsoa("E01004736", "2011")
    assert lsoa_2011 is not None and lsoa_2011.ward is not None
    assert lsoa_2011.ward.vintage == "WD19"
    assert [w.code for w in selectors.wards_by_name("st james's")] == ["E05013806"]
    assert lsoa.easting and 529_000 < lsoa.easting < 531_000

    rows = list(Lsoa.objects.values_list("pk", "code", "vintage"))
    events = AuditEvent.objects.filter(event="geography.loaded")
    assert events.count() == 1
    payload = events.get().payload
    assert payload["counts"]["lsoa_2021"] == 2
    assert len(payload["files"]) == 10 and all(len(h) == 64 for h in payload["files"].values())

    again = load(folder)
    assert not again.changed
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert list(Lsoa.objects.values_list("pk", "code", "vintage")) == rows
    assert events.count() == 1


def test_a_changed_file_replaces_what_changed(folder: Path, tmp_path: Path) -> None:
    load(folder)
    before = Lsoa.objects.get(code="E01004736", vintage="2021").pk
    write_folder(folder, lsoa_name="Westminster 001A renamed")
    result = load(folder)
    assert result.changed and result.created == 0 and result.deleted == 0
    assert result.updated == 2  # the LSOA in both vintages
    changed = Lsoa.objects.get(code="E01004736", vintage="2021")
    assert changed.pk == before and changed.name == "Westminster 001A renamed"
    assert AuditEvent.objects.filter(event="geography.loaded").count() == 2


def rewrite(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "london_lsoa_2021.geojson", '"LADCD_ACTIVE": "E09000033"', '"LADCD_ACTIVE": "E07000001"',
            "london_lsoa_2021.geojson: feature 1 (E01004736), LADCD_ACTIVE: 'E07000001' is not an ONS borough code",
        ),
        (
            "london_boroughs.geojson", '"LAD13CD": "E09000001"', '"LAD13CD": "E09000099"',
            "london_boroughs.geojson: feature 1, LAD13CD: E09000099 is not one of the 33 London borough codes",
        ),
        (
            "london_msoa_2011.geojson", '"MSOA11CD": "E02000977"', '"MSOA11CD": "W02000977"',
            "london_msoa_2011.geojson: feature 1, MSOA11CD: 'W02000977' is not an ONS msoa code",
        ),
        (
            "lsoa2021_ward2025_derived_london.csv", "WD25CD,", "WARD,",
            "lsoa2021_ward2025_derived_london.csv: header: lacks the column WD25CD",
        ),
        (
            "lsoa2011_msoa2011_borough_london.csv", "E01004737", "E01009999",
            "lsoa2011_msoa2011_borough_london.csv: line 3, LSOA11CD: E01009999 is not in london_lsoa_2011.geojson",
        ),
        (
            "london_wards_2025.geojson", "51.5", "52.5",
            "london_wards_2025.geojson: feature 1 (E05013806), geometry: lies outside London",
        ),
    ],
)  # fmt: skip
def test_bad_files_are_refused_naming_file_place_and_field_and_keep_the_previous_data(
    folder: Path, file: str, old: str, new: str, message: str
) -> None:
    load(folder)
    manifest = list(GeographyFile.objects.values_list("name", "sha256"))
    rewrite(folder / file, old, new)
    with pytest.raises(GeographyFileError) as refused:
        load(folder)
    assert str(refused.value).startswith(message)
    assert list(GeographyFile.objects.values_list("name", "sha256")) == manifest
    assert Lsoa.objects.count() == 4
    assert AuditEvent.objects.filter(event="geography.loaded").count() == 1


def test_a_truncated_file_is_refused_and_nothing_is_loaded(folder: Path) -> None:
    path = folder / "london_lsoa_2011.geojson"
    path.write_bytes(path.read_bytes()[:-300])
    with pytest.raises(
        GeographyFileError,
        match=r"london_lsoa_2011.geojson: reading feature \d: invalid or truncated JSON",
    ):
        load(folder)
    assert Lsoa.objects.count() == 0 and not GeographyFile.objects.exists()


def test_a_file_that_is_not_a_feature_collection_is_refused(folder: Path) -> None:
    (folder / "london_msoa_2021.geojson").write_text(json.dumps({"type": "Feature"}))
    with pytest.raises(
        GeographyFileError, match=r"london_msoa_2021\.geojson: is not a GeoJSON FeatureCollection"
    ):
        load(folder)


def test_the_folder_is_handled_as_a_path_and_only_known_files_are_read(
    folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    traversing = tmp_path / "elsewhere" / ".." / "geography"
    assert load(str(traversing)).folder == folder.resolve()
    with pytest.raises(GeographyFileError, match="is not a folder"):
        load(str(tmp_path / "elsewhere" / ".." / ".." / "no-such-folder"))
    (folder / "london_wards_2025.geojson").unlink()
    with pytest.raises(GeographyFileError, match=r"the folder lacks london_wards_2025\.geojson"):
        load(folder)


def test_map_areas_and_the_cached_engine_follow_the_loaded_data(folder: Path) -> None:
    load(folder)
    boroughs = selectors.areas_for_map("borough")
    assert isinstance(boroughs, selectors.MapAreas)
    assert len(boroughs.feature_collection["features"]) == 33
    lsoas = selectors.areas_for_map("lsoa", "2021")
    assert isinstance(lsoas, selectors.MapAreas)
    first = lsoas.feature_collection["features"][0]
    assert first["properties"] == {
        "code": "E01004736",
        "name": "Westminster 001A",
        "borough": "E09000033",
    }
    assert first["geometry"]["type"] == "Polygon"
    assert not selectors.areas_for_map("ward", "WD19").available  # lookup only: no boundaries

    engine = selectors.engine("2021")
    assert engine is not None and selectors.engine("2021") is engine
    points = engine.assign_lonlat([WEST[0] + 0.005, EAST[0] + 0.005, 0.3], [51.505] * 3)
    assert points.lsoa.tolist() == ["E01004736", "E01004737", None]
    assert points.ward.tolist() == ["E05013806", "E05013806", None]

    # Another load (here a change of name) makes the next call rebuild.
    write_folder(folder, lsoa_name="Renamed 001A")
    load(folder)
    assert selectors.engine("2021") is not engine
    assert Ward.objects.filter(vintage="WD25").count() == 1
