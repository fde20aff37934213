"""Throughput of the geography engine: 1M random points over London's bounding box, located
in the real 2021 LSOAs (../shared/data/geography). Prints what it measured, and the ratio to
shapely's own spatial-index query on the same points in the same run; asserts nothing.

    .venv/bin/python bench/geography_assign.py [POINTS]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

from safestats.geography import engine as geo
from safestats.geography import files

FOLDER = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "geography"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    spec = files.GEOJSON["london_lsoa_2021.geojson"]
    records, _ = files.read_geojson(FOLDER / "london_lsoa_2021.geojson", spec)
    shapes = [
        geo.LsoaShape(
            code=r.code,
            boundary=r.shape.wkb if r.shape else b"",
            borough=r.borough,
            ward=None,
            centroid_lon=r.shape.centroid_lon if r.shape else float("nan"),
            centroid_lat=r.shape.centroid_lat if r.shape else float("nan"),
        )
        for r in records
    ]
    started = time.perf_counter()
    engine = geo.GeographyEngine(vintage="2021", lsoas=shapes)
    print(f"built engine over {len(engine)} LSOAs in {time.perf_counter() - started:.2f} s")
    rng = np.random.default_rng(2021)
    lon = rng.uniform(-0.51, 0.33, count)
    lat = rng.uniform(51.29, 51.69, count)
    easting, northing = geo.wgs84_to_bng(lon, lat)
    for label, run in (
        ("WGS 84 -> LSOA", lambda: engine.assign_lonlat(lon, lat)),
        ("BNG -> LSOA", lambda: engine.assign_bng(easting, northing)),
        ("WGS 84 -> BNG", lambda: geo.wgs84_to_bng(lon, lat)),
        ("250 m grid snap (BNG)", lambda: geo.snap_to_grid(easting, northing, 250)),
        ("snap to LSOA centroid", lambda: engine.snap_to_centroid(lon, lat)),
    ):
        best = min(_timed(run) for _ in range(3))
        print(f"{label:<24} {count / best:>12,.0f} points/s  ({best:.3f} s best of 3)")
    # Baseline, measured in the same run: shapely's own vectorised spatial-index query.
    polygons = [shapely.from_wkb(shape.boundary) for shape in shapes if shape.boundary]
    tree = shapely.STRtree(polygons)
    points = shapely.points(lon, lat)
    baseline = min(_timed(lambda: tree.query(points, predicate="within")) for _ in range(3))
    ours = min(_timed(lambda: engine.assign_lonlat(lon, lat)) for _ in range(3))
    print(
        f"{'baseline: STRtree.query':<24} {count / baseline:>12,.0f} points/s  "
        f"-> SafeStats engine is {baseline / ours:.2f}x the baseline"
    )
    inside = engine.assign_lonlat(lon, lat).known.mean()
    print(f"{inside:.1%} of the random points fall in a London LSOA")


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
