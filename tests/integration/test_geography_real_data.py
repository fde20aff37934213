"""The real ONS files for London (../shared/data/geography beside the repository), loaded
once in process: counts per level, known places, the Thames estuary outside London,
agreement between point-in-LSOA and the LSOA -> ward lookup, and a second load as a no-op.
In CI the folder is always beside the checkout, so there a missing folder fails; on a
contributor's machine without it the test is skipped and says why."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import shapely

from safestats.audit.services import Actor
from safestats.geography import engine as geo
from safestats.geography import selectors, services
from safestats.geography.models import Borough, Lsoa, Msoa, Ward

REPO = Path(__file__).resolve().parents[2]
REAL = (REPO / ".." / "shared" / "data" / "geography").resolve()

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_folder() -> Path:
    if not (REAL / "london_lsoa_2021.geojson").is_file():
        message = (
            f"The real London geography files are missing: expected them in {REAL} "
            "(../shared/data/geography beside the repository)."
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return REAL


def test_the_real_london_files_load_and_locate_known_places(real_folder: Path) -> None:
    result = services.load_folder(real_folder, by=Actor.system())
    assert result.changed
    assert Borough.objects.exclude(boundary=None).count() == 33
    assert Lsoa.objects.filter(vintage="2011").count() == 4835
    assert Lsoa.objects.filter(vintage="2021").count() == 4994
    assert Msoa.objects.filter(vintage="2011").count() == 983
    assert Msoa.objects.filter(vintage="2021").count() == 1002
    assert Ward.objects.filter(vintage="WD25").count() == 704
    assert Ward.objects.filter(vintage="WD25", borough__code="E09000001").count() == 25
    assert Lsoa.objects.filter(vintage="2021", borough__code="E09000001").count() == 6

    engine = selectors.engine("2021")
    assert engine is not None and len(engine) == 4994
    # Trafalgar Square; Canvey Island in the Thames estuary (Essex, not London); a NaN.
    points = engine.assign_lonlat([-0.1281, 0.58, np.nan], [51.5080, 51.52, 51.5])
    assert points.borough.tolist() == ["E09000033", None, None]
    assert points.lsoa[0] is not None and points.lsoa[1:].tolist() == [None, None]
    e, n = geo.wgs84_to_bng([-0.1281], [51.5080])
    assert engine.assign_bng(e, n).lsoa.tolist() == [points.lsoa[0]]
    engine_2011 = selectors.engine("2011")
    assert engine_2011 is not None
    assert engine_2011.assign_lonlat([-0.1281], [51.5080]).borough.tolist() == ["E09000033"]

    # A point surely inside each LSOA is assigned to that LSOA.
    shapes = list(Lsoa.objects.filter(vintage="2021").values_list("code", "boundary"))
    inner = shapely.point_on_surface(shapely.from_wkb([bytes(b or b"") for _, b in shapes]))
    found = engine.assign_lonlat(shapely.get_x(inner), shapely.get_y(inner)).lsoa
    assert (found == np.array([c for c, _ in shapes], dtype=object)).mean() > 0.999

    # Point in LSOA agrees with the LSOA -> ward lookup, and with the ward boundaries, at
    # the centroids the lookup was derived from (where they fall in their own LSOA: a
    # concave LSOA's centroid can lie outside it).
    with (real_folder / "lsoa2021_ward2025_derived_london.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    lon = np.array([float(r["centroid_lon"]) for r in rows])
    lat = np.array([float(r["centroid_lat"]) for r in rows])
    assigned = engine.assign_lonlat(lon, lat)
    own = assigned.lsoa == np.array([r["LSOA21CD"] for r in rows], dtype=object)
    assert own.mean() > 0.95
    assert (assigned.ward[own] == np.array([r["WD25CD"] for r in rows])[own]).all()
    wards = list(Ward.objects.filter(vintage="WD25").values_list("code", "boundary"))
    ward_index = geo.AreaIndex(shapely.from_wkb([bytes(b or b"") for _, b in wards]))
    ward_codes = np.array([c for c, _ in wards] + [None], dtype=object)
    containing = ward_codes[ward_index.locate(lon, lat)]
    assert (containing[own] == assigned.ward[own]).mean() > 0.99

    map_areas = selectors.areas_for_map("ward", "WD25")
    assert (
        isinstance(map_areas, selectors.MapAreas)
        and len(map_areas.feature_collection["features"]) == 704
    )

    again = services.load_folder(real_folder, by=Actor.system())
    assert not again.changed and again.counts["lsoa_2021"] == 4994
