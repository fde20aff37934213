"""The geography engine, with no database: grid snapping, coordinate round trips and
point-in-area on synthetic squares, checked with Hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safestats.geography import engine

LONDON_LON = st.floats(-0.52, 0.34)
LONDON_LAT = st.floats(51.28, 51.70)
EASTING = st.floats(0, 700_000)
NORTHING = st.floats(0, 1_300_000)
CELL = st.one_of(st.integers(1, 5000).map(float), st.floats(0.5, 5000))


@given(e=EASTING, n=NORTHING, cell=CELL)
def test_grid_snap_gives_a_cell_centre_near_the_point_and_is_idempotent(
    e: float, n: float, cell: float
) -> None:
    (se,), (sn,) = engine.snap_to_grid([e], [n], cell)
    # A cell centre: half a cell past a multiple of the cell size.
    for value in (se, sn):
        k = (value - cell / 2) / cell
        assert abs(k - round(k)) < 1e-6
    assert math.hypot(se - e, sn - n) <= cell * math.sqrt(2) / 2 + 1e-6
    (se2,), (sn2,) = engine.snap_to_grid([se], [sn], cell)
    assert (se2, sn2) == (se, sn)


@pytest.mark.parametrize("cell", [0, -10, float("nan"), float("inf")])
def test_grid_size_must_be_a_positive_number(cell: float) -> None:
    with pytest.raises(ValueError, match="positive number of metres"):
        engine.snap_to_grid([1.0], [1.0], cell)


@settings(max_examples=200)
@given(lon=LONDON_LON, lat=LONDON_LAT)
def test_wgs84_to_bng_and_back_is_within_a_millionth_of_a_degree(lon: float, lat: float) -> None:
    e, n = engine.wgs84_to_bng([lon], [lat])
    assert 490_000 < e[0] < 570_000 and 150_000 < n[0] < 210_000
    back_lon, back_lat = engine.bng_to_wgs84(e, n)
    assert abs(back_lon[0] - lon) < 1e-6
    assert abs(back_lat[0] - lat) < 1e-6


def test_known_bng_position_of_trafalgar_square() -> None:
    e, n = engine.wgs84_to_bng([-0.1281], [51.5080])
    # Within a few metres (pyproj's Helmert transformation, no OSTN15 grid).
    assert abs(e[0] - 530_000) < 150 and abs(n[0] - 180_450) < 150


def test_snapping_lonlat_to_a_grid_lands_on_a_bng_cell_centre() -> None:
    lon, lat = engine.snap_lonlat_to_grid([-0.1281, np.nan], [51.5080, 51.5], 250)
    e, n = engine.wgs84_to_bng(lon[:1], lat[:1])
    # Back in BNG it is a cell centre, to the millimetre the two conversions cost.
    for value in (e[0], n[0]):
        offset = (value - 125) / 250
        assert abs(offset - round(offset)) * 250 < 0.01
    assert np.isnan(lon[1]) and np.isnan(lat[1])


# --- point-in-area on a grid of unit squares ------------------------------------------------

SIDE = 4  # a 4 x 4 block of squares: (0..4) x (0..4)


def square_codes() -> list[str]:
    return [f"E0100{i:04d}" for i in range(SIDE * SIDE)]


def squares_engine() -> engine.GeographyEngine:
    shapes = []
    for i, code in enumerate(square_codes()):
        x, y = i % SIDE, i // SIDE
        shapes.append(
            engine.LsoaShape(
                code=code,
                boundary=shapely.box(x, y, x + 1, y + 1),
                borough="E09000001" if x < 2 else "E09000002",
                ward=f"E0500{i // 2:04d}",
                centroid_lon=x + 0.5,
                centroid_lat=y + 0.5,
            )
        )
    return engine.GeographyEngine(vintage="2021", lsoas=shapes)


SQUARES = squares_engine()
INSIDE = st.floats(0, SIDE, exclude_min=True, exclude_max=True).filter(
    lambda v: abs(v - round(v)) > 1e-9
)


@given(xs=st.lists(INSIDE, min_size=1, max_size=50), data=st.data())
def test_every_point_inside_one_square_gets_that_square(
    xs: list[float], data: st.DataObject
) -> None:
    ys = data.draw(st.lists(INSIDE, min_size=len(xs), max_size=len(xs)))
    result = SQUARES.assign_lonlat(xs, ys)
    expected = [square_codes()[int(y) * SIDE + int(x)] for x, y in zip(xs, ys, strict=True)]
    assert list(result.lsoa) == expected
    assert list(result.borough) == ["E09000001" if int(x) < 2 else "E09000002" for x in xs]
    assert result.known.all()


OUTSIDE = st.one_of(
    st.floats(-1000, -1e-9),
    st.floats(SIDE + 1e-9, 1000),
)


@given(x=OUTSIDE, y=st.floats(-1000, 1000))
def test_points_outside_every_square_are_unknown(x: float, y: float) -> None:
    for px, py in ((x, y), (y, x)):
        result = SQUARES.assign_lonlat([px], [py])
        assert result.lsoa.tolist() == [None]
        assert result.ward.tolist() == [None]
        assert result.borough.tolist() == [None]
        assert result.lsoa_index.tolist() == [engine.UNKNOWN]


def test_missing_coordinates_and_empty_input_are_unknown_not_errors() -> None:
    result = SQUARES.assign_lonlat([np.nan, 0.5, np.inf], [0.5, np.nan, 0.5])
    assert result.lsoa.tolist() == [None, None, None]
    assert len(SQUARES.assign_lonlat([], [])) == 0


def test_a_point_on_a_shared_edge_gets_exactly_one_square() -> None:
    result = SQUARES.assign_lonlat([1.0, 2.0], [0.5, 2.0])
    assert result.known.all()
    assert result.lsoa[0] in {square_codes()[0], square_codes()[1]}


def test_snapping_to_an_area_centroid() -> None:
    lon, lat = SQUARES.snap_to_centroid([0.2, 3.7, 9.0], [0.9, 3.1, 9.0])
    assert lon[:2].tolist() == [0.5, 3.5] and lat[:2].tolist() == [0.5, 3.5]
    assert np.isnan(lon[2]) and np.isnan(lat[2])
    # Wards without a boundary have no centroid: unknown, never invented.
    ward_lon, _ = SQUARES.snap_to_centroid([0.2], [0.9], level="ward")
    assert np.isnan(ward_lon[0])


def test_bng_points_are_located_against_boundaries_converted_once() -> None:
    london = engine.GeographyEngine(
        vintage="2021",
        lsoas=[
            engine.LsoaShape(
                code="E01000001",
                boundary=shapely.box(-0.2, 51.45, -0.05, 51.55),
                borough="E09000033",
                ward="E05000001",
                centroid_lon=-0.125,
                centroid_lat=51.5,
            )
        ],
        ward_centroids={"E05000001": engine.Centroid(-0.1, 51.5)},
    )
    e, n = engine.wgs84_to_bng([-0.1281, 0.5], [51.5080, 51.5])
    assert london.assign_bng(e, n).lsoa.tolist() == ["E01000001", None]
    ward_lon, ward_lat = london.snap_to_centroid([-0.1281], [51.5080], level="ward")
    assert (ward_lon[0], ward_lat[0]) == (-0.1, 51.5)
