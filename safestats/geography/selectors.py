"""Reading geography: areas by code or name, what is loaded, areas as GeoJSON for maps,
and the process's cached :class:`~safestats.geography.engine.GeographyEngine`, rebuilt
when a load has changed the data (in this process or any other)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from django.db.models import Count, Q, QuerySet

from safestats.geography import codes
from safestats.geography.engine import Centroid, GeographyEngine, LsoaShape
from safestats.geography.models import Borough, GeographyFile, Lsoa, Msoa, Ward

MapLevel = Literal["borough", "ward", "msoa", "lsoa"]
_MODELS: dict[str, Any] = {"borough": Borough, "ward": Ward, "msoa": Msoa, "lsoa": Lsoa}


def borough(code: str) -> Borough | None:
    return Borough.objects.filter(code=code.strip().upper()).first()


def borough_by_name(name: str) -> Borough | None:
    return Borough.objects.filter(name__iexact=name.strip()).first()


def ward(code: str, vintage: str = "WD25") -> Ward | None:
    return Ward.objects.filter(code=code.strip().upper(), vintage=vintage).first()


def wards_by_name(name: str, vintage: str = "WD25") -> QuerySet[Ward]:
    """Ward names repeat across boroughs (there are several 'St Mary's'), so a list."""
    return Ward.objects.filter(name__iexact=name.strip(), vintage=vintage).select_related("borough")


def lsoa(code: str, vintage: str = "2021") -> Lsoa | None:
    return (
        Lsoa.objects.filter(code=code.strip().upper(), vintage=vintage)
        .select_related("borough", "msoa", "ward")
        .first()
    )


def lsoa_by_name(name: str, vintage: str = "2021") -> Lsoa | None:
    return (
        Lsoa.objects.filter(name__iexact=name.strip(), vintage=vintage)
        .select_related("borough", "msoa", "ward")
        .first()
    )


@dataclass(frozen=True)
class LevelStatus:
    level: str
    vintage: str
    count: int
    with_boundaries: int


@dataclass(frozen=True)
class Status:
    levels: tuple[LevelStatus, ...]
    files: tuple[GeographyFile, ...]

    @property
    def boundaries_loaded(self) -> bool:
        return any(level.with_boundaries for level in self.levels)


def status() -> Status:
    """What is loaded: per level and vintage, how many areas and how many with boundaries."""
    levels = [
        LevelStatus(
            "borough",
            "",
            Borough.objects.count(),
            Borough.objects.exclude(boundary=None).count(),
        )
    ]
    for label, model in (("ward", Ward), ("msoa", Msoa), ("lsoa", Lsoa)):
        rows = (
            model.objects.values("vintage")
            .annotate(count=Count("pk"), shaped=Count("pk", filter=~Q(boundary=None)))
            .order_by("vintage")
        )
        levels.extend(
            LevelStatus(label, row["vintage"], row["count"], row["shaped"]) for row in rows
        )
    return Status(tuple(levels), tuple(GeographyFile.objects.all()))


@dataclass(frozen=True)
class BoundariesAbsent:
    """The areas of a level have no boundaries loaded: a map must say so, not draw."""

    level: str
    vintage: str
    message: str
    available: bool = False


@dataclass(frozen=True)
class MapAreas:
    level: str
    vintage: str
    feature_collection: dict[str, Any] = field(repr=False)
    available: bool = True


def areas_for_map(level: MapLevel, vintage: str = "") -> MapAreas | BoundariesAbsent:
    """Every area of a level (and vintage) as a GeoJSON FeatureCollection in WGS 84, with
    ``code``, ``name`` and ``borough`` properties, or :class:`BoundariesAbsent`."""
    if level not in _MODELS:
        raise ValueError(f"level must be one of {', '.join(_MODELS)}; got {level!r}")
    model = _MODELS[level]
    rows: QuerySet[Any] = model.objects.order_by("code")
    if level != "borough":
        rows = rows.filter(vintage=vintage)
    total = rows.count()
    rows = rows.exclude(boundary=None)
    values = list(
        rows.values_list(
            "code", "name", "boundary", *(["borough__code"] if level != "borough" else [])
        )
    )
    if not values:
        what = f"{level} {vintage}".strip()
        reason = (
            f"No {what} areas are loaded."
            if total == 0
            else f"Boundaries for {what} areas are not loaded"
        )
        return BoundariesAbsent(
            level,
            vintage,
            f"{reason}: an operator loads them with `safestats geography load DIR`.",
        )
    geometries = shapely.from_wkb([bytes(row[2]) for row in values])
    shapes = shapely.to_geojson(geometries)
    features = [
        {
            "type": "Feature",
            "id": row[0],
            "properties": {
                "code": row[0],
                "name": row[1],
                "borough": row[3] if len(row) > 3 else row[0],
            },
            "geometry": json.loads(text),
        }
        for row, text in zip(values, shapes, strict=True)
    ]
    return MapAreas(level, vintage, {"type": "FeatureCollection", "features": features})


# --- The cached engine -----------------------------------------------------------------------

_lock = threading.Lock()
_engines: dict[str, tuple[tuple[tuple[str, str], ...], GeographyEngine | None]] = {}


def _data_key() -> tuple[tuple[str, str], ...]:
    """Changes whenever a load changes the data: the loaded files and their hashes."""
    return tuple(GeographyFile.objects.order_by("name").values_list("name", "sha256"))


def engine(vintage: str = "2021") -> GeographyEngine | None:
    """The engine for a census vintage's LSOAs, or None when their boundaries are absent.

    Built on first use and kept for the life of the process; every call checks (one small
    query) whether a load has changed the data since, and rebuilds if so.
    """
    if vintage not in codes.CENSUS_VINTAGES:
        raise ValueError(f"vintage must be one of {', '.join(codes.CENSUS_VINTAGES)}")
    key = _data_key()
    cached = _engines.get(vintage)
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        cached = _engines.get(vintage)
        if cached is not None and cached[0] == key:
            return cached[1]
        built = build_engine(vintage)
        _engines[vintage] = (key, built)
        return built


def build_engine(vintage: str) -> GeographyEngine | None:
    rows = list(
        Lsoa.objects.filter(vintage=vintage)
        .exclude(boundary=None)
        .values_list(
            "code", "boundary", "borough__code", "ward__code", "centroid_lon", "centroid_lat"
        )
    )
    if not rows:
        return None
    ward_vintage = codes.LSOA_WARD_VINTAGE[vintage]
    ward_centroids = {
        code: Centroid(float(lon or 0.0), float(lat or 0.0))
        for code, lon, lat in Ward.objects.filter(vintage=ward_vintage)
        .exclude(centroid_lon=None)
        .exclude(centroid_lat=None)
        .values_list("code", "centroid_lon", "centroid_lat")
    }
    shapes = [
        LsoaShape(
            code=code,
            boundary=bytes(boundary or b""),
            borough=borough_code,
            ward=ward_code,
            centroid_lon=float(lon if lon is not None else np.nan),
            centroid_lat=float(lat if lat is not None else np.nan),
        )
        for code, boundary, borough_code, ward_code, lon, lat in rows
    ]
    return GeographyEngine(vintage=vintage, lsoas=shapes, ward_centroids=ward_centroids)
