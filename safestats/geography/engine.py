"""The geography engine: coordinate conversion between WGS 84 and the British National Grid,
point-in-area assignment (point -> LSOA -> ward and borough) and spatial suppression (snapping
to a grid or to an area's centroid). Plain typed Python with no Django import: ingestion
calls it on millions of rows, and tests drive it directly.

Every function takes and returns numpy arrays and works on the whole array at once; no
Python code runs per point. A point that is not in any area, or has a missing (NaN)
coordinate, is *unknown*: index -1, code None, coordinates NaN. Nothing here raises for a
point outside London.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

WGS84: Final = "EPSG:4326"
BNG: Final = "EPSG:27700"

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.int32]
CodeArray = NDArray[np.object_]  # str, or None for unknown

UNKNOWN: Final = -1

# pyproj documents Transformer objects as unsafe to share between threads, and the web
# server runs several threads per process: each thread gets its own pair.
_local = threading.local()


def _transformer(source: str, target: str) -> Transformer:
    cache: dict[tuple[str, str], Transformer] | None = getattr(_local, "transformers", None)
    if cache is None:
        cache = _local.transformers = {}
    key = (source, target)
    if key not in cache:
        # always_xy: longitude/easting first, whatever axis order the CRS defines.
        cache[key] = Transformer.from_crs(source, target, always_xy=True)
    return cache[key]


def _floats(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _convert(source: str, target: str, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    out_x, out_y = _transformer(source, target).transform(_floats(x), _floats(y))
    out_x, out_y = np.array(out_x, dtype=np.float64), np.array(out_y, dtype=np.float64)
    # PROJ answers inf for a point it cannot convert (or a NaN one): unknown is NaN here.
    bad = ~(np.isfinite(out_x) & np.isfinite(out_y))
    out_x[bad] = np.nan
    out_y[bad] = np.nan
    return out_x, out_y


def wgs84_to_bng(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS 84 longitude/latitude (degrees) to British National Grid easting/northing (m);
    NaN for a point that cannot be converted."""
    return _convert(WGS84, BNG, lon, lat)


def bng_to_wgs84(easting: ArrayLike, northing: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """British National Grid easting/northing (m) to WGS 84 longitude/latitude (degrees);
    NaN for a point that cannot be converted."""
    return _convert(BNG, WGS84, easting, northing)


def snap_to_grid(
    easting: ArrayLike, northing: ArrayLike, cell_m: float
) -> tuple[FloatArray, FloatArray]:
    """Each BNG point moved to the centre of its ``cell_m``-metre grid square.

    Squares are aligned to the grid's origin, so every dataset snapped with the same size
    shares one grid, and a point already at a centre stays there.
    """
    if not np.isfinite(cell_m) or cell_m <= 0:
        raise ValueError(f"the grid size must be a positive number of metres; got {cell_m!r}")
    half = cell_m / 2
    snapped_e = np.floor(_floats(easting) / cell_m) * cell_m + half
    snapped_n = np.floor(_floats(northing) / cell_m) * cell_m + half
    return snapped_e, snapped_n


def snap_lonlat_to_grid(
    lon: ArrayLike, lat: ArrayLike, cell_m: float
) -> tuple[FloatArray, FloatArray]:
    """WGS 84 points snapped to the centre of their BNG grid square, back in WGS 84."""
    easting, northing = wgs84_to_bng(lon, lat)
    return bng_to_wgs84(*snap_to_grid(easting, northing, cell_m))


class AreaIndex:
    """Point-in-polygon over a set of areas that tile space without overlapping (LSOAs of
    one vintage, wards of one vintage).

    Built once from shapely geometries; :meth:`locate` answers for whole arrays, and no
    Python code runs per point or per area: space is cut into a regular grid of cells
    about half an area wide, each cell listing the areas whose bounding box reaches it.
    Each point is tested, with GEOS's prepared point-in-polygon and only inside the area's
    bounding box, against the first area of its cell, then those still unplaced against
    the second, and so on: a handful of rounds over whole arrays. A point on the shared
    edge of two areas goes to the one listed first.
    """

    def __init__(self, geometries: Sequence[Any] | NDArray[np.object_]) -> None:
        self.geometries: NDArray[np.object_] = np.asarray(geometries, dtype=object)
        if self.geometries.ndim != 1:
            raise ValueError("AreaIndex needs a one-dimensional sequence of geometries")
        missing = shapely.is_missing(self.geometries) | shapely.is_empty(self.geometries)
        if missing.any():
            raise ValueError(f"area {int(np.flatnonzero(missing)[0])} has no geometry")
        shapely.prepare(self.geometries)
        self.bounds: FloatArray = shapely.bounds(self.geometries).reshape(-1, 4)
        # GEOS's prepared polygons are not safe to test from two threads at once (that
        # corrupts memory, as ingestion's two workers did now and then): one at a time.
        self._lock = threading.Lock()
        if len(self.geometries) == 0:
            self._origin = np.zeros(2)
            self._cell = np.ones(2)
            self._shape = (1, 1)
            self._cells = np.zeros((0, 4), dtype=np.int64)
            self._index_cells()
            return
        low, high = self.bounds[:, :2].min(axis=0), self.bounds[:, 2:].max(axis=0)
        typical = np.median(self.bounds[:, 2:] - self.bounds[:, :2], axis=0) / 2
        extent = np.maximum(high - low, 1e-9)
        # At most 1024 cells a side: enough for thousands of areas, and the table of cell
        # starts stays a few megabytes.
        counts = np.clip(np.ceil(extent / np.maximum(typical, extent / 1024)), 1, 1024)
        self._origin = low
        self._cell = extent / counts
        self._shape = (int(counts[0]), int(counts[1]))
        first = self._cell_of(self.bounds[:, 0], self.bounds[:, 1])
        last = self._cell_of(self.bounds[:, 2], self.bounds[:, 3])
        # An area's top or right edge may sit exactly on the grid's far side.
        columns, rows = self._shape
        self._cells = np.column_stack(
            [
                np.clip(first[0], 0, columns - 1),
                np.clip(last[0], 0, columns - 1),
                np.clip(first[1], 0, rows - 1),
                np.clip(last[1], 0, rows - 1),
            ]
        )
        self._index_cells()

    def _index_cells(self) -> None:
        """For each cell, the areas whose bounding box reaches it, in area order: the
        areas of cell ``c`` are ``_cell_areas[_cell_starts[c]:_cell_starts[c + 1]]``. The
        cell after the last (where points outside the grid go) has none."""
        columns, rows = self._shape
        cells: list[NDArray[np.int64]] = []
        areas: list[NDArray[np.int64]] = []
        for area, (i0, i1, j0, j1) in enumerate(self._cells.tolist()):
            ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1), indexing="ij")
            cells.append((ii * rows + jj).ravel())
            areas.append(np.full(ii.size, area, dtype=np.int64))
        cell = np.concatenate(cells) if cells else np.zeros(0, dtype=np.int64)
        area_of = np.concatenate(areas) if areas else np.zeros(0, dtype=np.int64)
        order = np.lexsort((area_of, cell))
        self._cell_areas: NDArray[np.int32] = area_of[order].astype(np.int32)
        self._cell_starts: NDArray[np.int64] = np.searchsorted(
            cell[order], np.arange(columns * rows + 2), side="left"
        ).astype(np.int64)

    def __len__(self) -> int:
        return len(self.geometries)

    def _cell_of(self, x: FloatArray, y: FloatArray) -> tuple[NDArray[np.int64], ...]:
        columns, rows = self._shape
        with np.errstate(invalid="ignore"):
            i = np.floor((x - self._origin[0]) / self._cell[0])
            j = np.floor((y - self._origin[1]) / self._cell[1])
        return (
            np.clip(np.nan_to_num(i, nan=-1), -1, columns).astype(np.int64),
            np.clip(np.nan_to_num(j, nan=-1), -1, rows).astype(np.int64),
        )

    def locate(self, x: ArrayLike, y: ArrayLike) -> IndexArray:
        """The index of the area containing each point, or -1 (:data:`UNKNOWN`)."""
        xs_in, ys_in = _floats(x), _floats(y)
        if xs_in.shape != ys_in.shape or xs_in.ndim != 1:
            raise ValueError("x and y must be one-dimensional arrays of the same length")
        found = np.full(len(xs_in), UNKNOWN, dtype=np.int32)
        if len(xs_in) == 0 or len(self) == 0:
            return found
        columns, rows = self._shape
        i, j = self._cell_of(xs_in, ys_in)
        # Points outside the grid (and NaN coordinates) share one cell after the last,
        # which no area's range reaches.
        outside = (i < 0) | (i >= columns) | (j < 0) | (j >= rows)
        cell = np.where(outside, columns * rows, i * rows + j)
        start, stop = self._cell_starts[cell], self._cell_starts[cell + 1]
        # Round k tests each point still unplaced against the k-th area of its cell, in
        # area order, so a point in two areas (on their shared edge) goes to the first.
        pending = np.flatnonzero(stop > start)
        rank = 0
        while pending.size:
            position = start[pending] + rank
            left = position < stop[pending]
            pending, position = pending[left], position[left]
            if pending.size == 0:
                break
            area = self._cell_areas[position]
            box = self.bounds[area]
            px, py = xs_in[pending], ys_in[pending]
            hit = (px >= box[:, 0]) & (px <= box[:, 2]) & (py >= box[:, 1]) & (py <= box[:, 3])
            boxed = np.flatnonzero(hit)
            with self._lock:
                inside = shapely.intersects_xy(self.geometries[area[boxed]], px[boxed], py[boxed])
            hit[boxed] = inside
            found[pending[hit]] = area[hit]
            pending = pending[~hit]
            rank += 1
        return found


def _codes_with_unknown(codes: Iterable[str | None]) -> CodeArray:
    """Codes as an object array with None appended, so index -1 reads as None."""
    table = np.array([*codes, None], dtype=object)
    return table


@dataclass(frozen=True)
class Assignment:
    """Where each of a batch of points fell: an LSOA, and through the lookups its ward and
    borough. Index arrays hold -1 for unknown; code arrays hold None."""

    lsoa_index: IndexArray
    ward_index: IndexArray
    borough_index: IndexArray
    lsoa_codes: CodeArray = field(repr=False)
    ward_codes: CodeArray = field(repr=False)
    borough_codes: CodeArray = field(repr=False)

    def __len__(self) -> int:
        return len(self.lsoa_index)

    @property
    def lsoa(self) -> CodeArray:
        return self.lsoa_codes[self.lsoa_index]

    @property
    def ward(self) -> CodeArray:
        return self.ward_codes[self.ward_index]

    @property
    def borough(self) -> CodeArray:
        return self.borough_codes[self.borough_index]

    @property
    def known(self) -> NDArray[np.bool_]:
        return self.lsoa_index != UNKNOWN


@dataclass(frozen=True)
class LsoaShape:
    """One LSOA as the engine needs it: its boundary (WGS 84 shapely geometry or WKB), its
    borough and the ward the lookup gives it (None when the lookup has none)."""

    code: str
    boundary: Any
    borough: str
    ward: str | None
    centroid_lon: float
    centroid_lat: float


@dataclass(frozen=True)
class Centroid:
    lon: float
    lat: float


SnapLevel = Literal["lsoa", "ward"]


class GeographyEngine:
    """Point -> LSOA -> ward and borough for one census vintage, and snapping to the
    centroid of the LSOA or ward a point is in.

    The LSOA boundaries are held twice, in WGS 84 (as published) and in BNG (converted once
    when built), so that points in either system are located without converting millions
    of points.
    """

    def __init__(
        self,
        *,
        vintage: str,
        lsoas: Iterable[LsoaShape],
        ward_centroids: Mapping[str, Centroid] | None = None,
    ) -> None:
        shapes = sorted(lsoas, key=lambda shape: shape.code)
        self.vintage = vintage
        geometries = np.array(
            [
                shape.boundary
                if isinstance(shape.boundary, shapely.Geometry)
                else shapely.from_wkb(shape.boundary)
                for shape in shapes
            ]
            + [None],
            dtype=object,
        )[:-1]  # the None keeps numpy from unpacking the geometries into their parts
        self._wgs84 = AreaIndex(geometries)
        self._bng = AreaIndex(shapely.transform(geometries, _to_bng_coordinates, interleaved=False))
        ward_list = sorted({shape.ward for shape in shapes if shape.ward is not None})
        ward_position = {code: i for i, code in enumerate(ward_list)}
        borough_list = sorted({shape.borough for shape in shapes})
        borough_position = {code: i for i, code in enumerate(borough_list)}
        self.lsoa_codes = _codes_with_unknown(shape.code for shape in shapes)
        self.ward_codes = _codes_with_unknown(ward_list)
        self.borough_codes = _codes_with_unknown(borough_list)
        # Lookups indexed by LSOA position, with a trailing -1 so UNKNOWN maps to UNKNOWN.
        self._lsoa_ward = np.array(
            [ward_position[s.ward] if s.ward is not None else UNKNOWN for s in shapes] + [UNKNOWN],
            dtype=np.int32,
        )
        self._lsoa_borough = np.array(
            [borough_position[s.borough] for s in shapes] + [UNKNOWN], dtype=np.int32
        )
        nan = float("nan")
        self._lsoa_centroids = np.array(
            [(s.centroid_lon, s.centroid_lat) for s in shapes] + [(nan, nan)], dtype=np.float64
        ).reshape(-1, 2)
        wards = ward_centroids or {}
        self._ward_centroids = np.array(
            [
                (wards[code].lon, wards[code].lat) if code in wards else (nan, nan)
                for code in ward_list
            ]
            + [(nan, nan)],
            dtype=np.float64,
        ).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self._wgs84)

    def _assignment(self, lsoa_index: IndexArray) -> Assignment:
        return Assignment(
            lsoa_index=lsoa_index,
            ward_index=self._lsoa_ward[lsoa_index],
            borough_index=self._lsoa_borough[lsoa_index],
            lsoa_codes=self.lsoa_codes,
            ward_codes=self.ward_codes,
            borough_codes=self.borough_codes,
        )

    def assign_lonlat(self, lon: ArrayLike, lat: ArrayLike) -> Assignment:
        """The LSOA, ward and borough of each WGS 84 point."""
        return self._assignment(self._wgs84.locate(lon, lat))

    def assign_bng(self, easting: ArrayLike, northing: ArrayLike) -> Assignment:
        """The LSOA, ward and borough of each British National Grid point."""
        return self._assignment(self._bng.locate(easting, northing))

    def snap_to_centroid(
        self, lon: ArrayLike, lat: ArrayLike, level: SnapLevel = "lsoa"
    ) -> tuple[FloatArray, FloatArray]:
        """Each WGS 84 point moved to the centroid of its LSOA or ward; NaN where the point
        is outside every LSOA or the ward has no boundary (and so no centroid)."""
        assignment = self.assign_lonlat(lon, lat)
        if level == "lsoa":
            centres = self._lsoa_centroids[assignment.lsoa_index]
        elif level == "ward":
            centres = self._ward_centroids[assignment.ward_index]
        else:
            raise ValueError(f"snapping is to an 'lsoa' or 'ward' centroid; got {level!r}")
        return centres[:, 0].copy(), centres[:, 1].copy()


def _to_bng_coordinates(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    return wgs84_to_bng(x, y)


def centroids(
    geometries: Sequence[Any] | NDArray[np.object_],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The area-weighted centroid of each WGS 84 geometry, as lon, lat, easting, northing.

    Computed in BNG, where areas are true areas, then converted back: a centroid computed
    in degrees would be pulled north, since a degree of longitude shrinks with latitude.
    """
    array = np.array([*geometries, None], dtype=object)[:-1]
    projected = shapely.transform(array, _to_bng_coordinates, interleaved=False)
    points = shapely.centroid(projected)
    easting, northing = shapely.get_x(points), shapely.get_y(points)
    lon, lat = bng_to_wgs84(easting, northing)
    return lon, lat, _floats(easting), _floats(northing)
