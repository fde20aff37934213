"""Point-in-area by rounds over whole arrays (``AreaIndex.locate``) places every point
exactly where the plain way does, checked with Hypothesis on tilings whose areas share
edges and corners, with points on those edges and corners, inside, outside and NaN: the
plain way loops over the areas in order and gives each point to the first whose
prepared polygon holds it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safestats.geography.engine import UNKNOWN, AreaIndex

REPO = Path(__file__).resolve().parents[2]


def reference_locate(index: AreaIndex, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The plain way: for each area in order, the points under its cells not yet placed."""
    found = np.full(len(x), UNKNOWN, dtype=np.int32)
    i, j = index._cell_of(x, y)
    for area, (i0, i1, j0, j1) in enumerate(index._cells.tolist()):
        under = (i >= i0) & (i <= i1) & (j >= j0) & (j <= j1) & (found == UNKNOWN)
        if not under.any():
            continue
        candidates = np.flatnonzero(under)
        inside = shapely.intersects_xy(index.geometries[area], x[candidates], y[candidates])
        found[candidates[inside]] = area
    return found


@st.composite
def tilings(draw: st.DrawFn) -> tuple[list[shapely.Geometry], np.ndarray]:
    """A k-by-k grid of quadrilaterals with jittered shared corners, each cut into two
    triangles (so areas share edges exactly), some areas left out (holes in the map),
    and the corners themselves (points on edges and corners)."""
    k = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    corners = np.stack(np.meshgrid(np.arange(k + 1.0), np.arange(k + 1.0), indexing="ij"), -1)
    corners[1:-1, 1:-1] += rng.uniform(-0.3, 0.3, size=(max(k - 1, 0), max(k - 1, 0), 2))
    areas = []
    for a in range(k):
        for b in range(k):
            p, q, r, s = corners[a, b], corners[a + 1, b], corners[a + 1, b + 1], corners[a, b + 1]
            areas += [shapely.Polygon([p, q, r]), shapely.Polygon([p, r, s])]
    kept = [area for area in areas if rng.random() > 0.15] or areas[:1]
    order = rng.permutation(len(kept))
    return [kept[int(n)] for n in order], corners.reshape(-1, 2)


@settings(max_examples=120, deadline=None)
@given(tiling=tilings(), seed=st.integers(0, 2**32 - 1), count=st.integers(0, 300))
def test_locating_by_rounds_agrees_with_the_loop_over_areas(
    tiling: tuple[list[shapely.Geometry], np.ndarray], seed: int, count: int
) -> None:
    geometries, corners = tiling
    rng = np.random.default_rng(seed)
    span = float(corners.max()) + 1
    x = np.concatenate(
        [
            rng.uniform(-1, span, count),
            corners[:, 0],
            (corners[:-1, 0] + corners[1:, 0]) / 2,  # on or near edges
            [np.nan, 0.5, np.nan, 1e9, -1e9],
        ]
    )
    y = np.concatenate(
        [
            rng.uniform(-1, span, count),
            corners[:, 1],
            (corners[:-1, 1] + corners[1:, 1]) / 2,
            [0.5, np.nan, np.nan, 0.5, 0.5],
        ]
    )
    index = AreaIndex(geometries)
    assert index.locate(x, y).tolist() == reference_locate(index, x, y).tolist()


def test_an_index_of_no_areas_places_nothing() -> None:
    index = AreaIndex([])
    assert index.locate([0.5, np.nan], [0.5, 0.5]).tolist() == [UNKNOWN, UNKNOWN]


def _areas_for_threads() -> list[shapely.Geometry]:
    """The real London LSOAs when they are beside the repository (their detail is what
    makes the race likely), else a synthetic tiling."""
    real = REPO / ".." / "shared" / "data" / "geography" / "london_lsoa_2021.geojson"
    if real.is_file():
        features = json.loads(real.read_text(encoding="utf-8"))["features"]
        return [shapely.from_geojson(json.dumps(f["geometry"])) for f in features]
    rng = np.random.default_rng(7)
    corners = np.stack(np.meshgrid(np.arange(21.0), np.arange(21.0), indexing="ij"), -1)
    corners[1:-1, 1:-1] += rng.uniform(-0.3, 0.3, size=(19, 19, 2))
    return [
        shapely.Polygon(
            [corners[a, b], corners[a + 1, b], corners[a + 1, b + 1], corners[a, b + 1]]
        )
        for a in range(20)
        for b in range(20)
    ]


def test_threads_locating_at_once_get_what_one_gets() -> None:
    """GEOS's prepared polygons corrupt memory when two threads test them at once (the
    process aborts): ingestion's two workers locate their batches at the same time."""
    areas = np.array(_areas_for_threads(), dtype=object)
    low, high = shapely.bounds(areas)[:, :2].min(axis=0), shapely.bounds(areas)[:, 2:].max(axis=0)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(low[0], high[0], 200_000), rng.uniform(low[1], high[1], 200_000)
    for _ in range(4):
        index = AreaIndex(shapely.from_wkb(shapely.to_wkb(areas)))

        def part(k: int, index: AreaIndex = index) -> list[int]:
            return index.locate(x[k::4], y[k::4]).tolist()

        with ThreadPoolExecutor(max_workers=4) as pool:
            parts = list(pool.map(part, range(4)))
        expected = index.locate(x, y)
        for k in range(4):
            assert parts[k] == expected[k::4].tolist()
