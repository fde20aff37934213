"""Synthetic provider files for every catalogued dataset: what each provider would upload,
in the first column layout of its spec, with London-like patterns in it.

A file has exactly the layout's headers, dates written in the layout's formats, codes from
each field's code list, wide month columns for melted layouts, raw ages for fields the
pipeline bands, plausible reference numbers, and coordinates, LSOAs, wards and boroughs that
exist. The patterns are those an analyst expects to see: violence peaking on Friday and
Saturday nights and in summer, residential burglary on winter evenings, theft in the West
End, far more crime in Westminster than in Sutton, and victims and suspects mostly aged
18 to 34.

The figures written down here (borough crime volumes, category mixes, hour-of-day curves,
age and sex mixes...) are round approximations of published London patterns, chosen to look
right on a map and in a chart. They are not statistics: nothing should be concluded from a
synthetic file.

Plain typed Python with no Django import at module level (:meth:`Places.from_database`
imports the geography models when it is called). Records are generated with numpy and
formatted with Arrow's string kernels a chunk at a time: no Python code runs per row of a
CSV file, memory stays flat however many rows are asked for, and the same arguments (the
seed included) always give the same bytes.
"""

from __future__ import annotations

import csv
import os
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from numpy.typing import NDArray

from safestats.catalogue.spec import TEMPORAL_TYPES, Bands, DatasetSpec, Layout
from safestats.geography import codes as geo_codes
from safestats.geography import engine

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
TextArray = NDArray[np.str_]
Format = Literal["csv", "xlsx"]

DEFAULT_SEED: Final = 20261125
# Records generated and written at a time: memory is bounded by this, not by the file.
CHUNK_ROWS: Final = 200_000
# Excel's sheet holds 1,048,576 rows, one of them the header.
XLSX_MAX_ROWS: Final = 1_048_575
# How boolean fields are written: the Y/N flags of police extracts.
YES: Final = "Y"
NO: Final = "N"
# Decimal places of coordinates (degrees): about 10 cm, as providers send them.
COORDINATE_PLACES: Final = 6
CITY: Final = "E09000001"
# Aggregated rows published for Heathrow, which is not a borough (see the borough spec).
AVIATION: Final = "Aviation Security (SO18)"


# ------------------------------------------------------------------------ borough facts


@dataclass(frozen=True)
class _Borough:
    """What the generator assumes about a borough. ``lon``/``lat``: the centroid of its
    boundary (from the ONS generalised boundaries, to 3 decimals); ``crimes``: roughly how
    many thousand crimes are recorded there a year; ``centrality``: how strongly central
    London offences (theft, robbery, drugs) concentrate there; ``districts``: postcode
    districts in it; ``stations``: London Fire Brigade stations in it."""

    lon: float
    lat: float
    crimes: float
    centrality: float
    districts: tuple[str, ...]
    stations: tuple[str, ...]


_BOROUGHS: Final[dict[str, _Borough]] = {
    "E09000001": _Borough(
        -0.092, 51.515, 7, 4.0, ("EC2V", "EC3V", "EC4M", "EC2M", "EC4V", "EC1A"), ("Dowgate",)
    ),
    "E09000002": _Borough(
        0.134, 51.545, 19, 0.6, ("IG11", "RM8", "RM9", "RM10"), ("Barking", "Dagenham")
    ),
    "E09000003": _Borough(
        -0.210,
        51.616,
        29,
        0.6,
        ("N3", "N12", "N20", "NW4", "NW7", "EN5", "NW11"),
        ("Barnet", "Finchley", "Hendon", "Mill Hill"),
    ),
    "E09000004": _Borough(
        0.140,
        51.459,
        15,
        0.5,
        ("DA5", "DA6", "DA7", "DA8", "DA14", "DA15", "DA16"),
        ("Bexley", "Erith", "Sidcup"),
    ),
    "E09000005": _Borough(
        -0.268,
        51.559,
        31,
        0.9,
        ("NW10", "HA9", "HA0", "NW2", "NW9"),
        ("Park Royal", "Wembley", "Willesden"),
    ),
    "E09000006": _Borough(
        0.051,
        51.372,
        23,
        0.5,
        ("BR1", "BR2", "BR3", "BR5", "BR6", "BR7"),
        ("Beckenham", "Biggin Hill", "Bromley", "Orpington"),
    ),
    "E09000007": _Borough(
        -0.157,
        51.546,
        38,
        2.2,
        ("NW1", "NW3", "NW5", "WC1H", "WC1X", "NW6"),
        ("Euston", "Kentish Town", "West Hampstead", "Belsize"),
    ),
    "E09000008": _Borough(
        -0.087,
        51.355,
        33,
        0.9,
        ("CR0", "CR2", "CR7", "SE25", "CR5", "CR8"),
        ("Addington", "Croydon", "Norbury", "Purley", "Woodside"),
    ),
    "E09000009": _Borough(
        -0.331,
        51.522,
        30,
        0.8,
        ("W5", "W13", "W3", "UB1", "UB2", "W7", "UB6"),
        ("Acton", "Ealing", "Northolt", "Southall"),
    ),
    "E09000010": _Borough(
        -0.087,
        51.651,
        28,
        0.6,
        ("EN1", "EN2", "EN3", "N9", "N13", "N21"),
        ("Edmonton", "Enfield", "Southgate"),
    ),
    "E09000011": _Borough(
        0.056,
        51.473,
        27,
        0.8,
        ("SE10", "SE18", "SE7", "SE9", "SE3", "SE2"),
        ("East Greenwich", "Eltham", "Greenwich", "Plumstead", "Lee Green"),
    ),
    "E09000012": _Borough(
        -0.063,
        51.552,
        32,
        1.5,
        ("E8", "E5", "E9", "N16", "E2"),
        ("Homerton", "Shoreditch", "Stoke Newington"),
    ),
    "E09000013": _Borough(
        -0.221, 51.496, 22, 1.4, ("W6", "W12", "W14", "SW6"), ("Fulham", "Hammersmith")
    ),
    "E09000014": _Borough(
        -0.108,
        51.590,
        29,
        1.0,
        ("N15", "N17", "N8", "N22", "N4", "N6", "N10"),
        ("Hornsey", "Tottenham"),
    ),
    "E09000015": _Borough(
        -0.341, 51.598, 14, 0.5, ("HA1", "HA2", "HA3", "HA5", "HA7"), ("Harrow", "Stanmore")
    ),
    "E09000016": _Borough(
        0.221,
        51.564,
        20,
        0.5,
        ("RM1", "RM2", "RM3", "RM7", "RM11", "RM12", "RM13", "RM14"),
        ("Harold Hill", "Hornchurch", "Romford", "Wennington"),
    ),
    "E09000017": _Borough(
        -0.446,
        51.541,
        27,
        0.7,
        ("UB3", "UB4", "UB7", "UB8", "UB10", "HA4"),
        ("Hayes", "Hillingdon", "Ruislip"),
    ),
    "E09000018": _Borough(
        -0.367,
        51.468,
        25,
        0.7,
        ("TW3", "TW4", "TW5", "TW7", "TW8", "TW13", "TW14", "W4"),
        ("Chiswick", "Feltham", "Heston"),
    ),
    "E09000019": _Borough(
        -0.110, 51.548, 29, 1.8, ("N1", "N7", "N19", "EC1V", "N5"), ("Holloway", "Islington")
    ),
    "E09000020": _Borough(
        -0.193,
        51.502,
        21,
        2.0,
        ("W8", "W10", "W11", "SW3", "SW5", "SW7", "SW10"),
        ("Chelsea", "Kensington", "North Kensington"),
    ),
    "E09000021": _Borough(
        -0.287,
        51.388,
        12,
        0.7,
        ("KT1", "KT2", "KT3", "KT5", "KT6", "KT9"),
        ("Kingston", "Surbiton"),
    ),
    "E09000022": _Borough(
        -0.118,
        51.453,
        36,
        1.6,
        ("SE1", "SE11", "SW2", "SW4", "SW8", "SW9", "SE27", "SW16"),
        ("Brixton", "Clapham", "Lambeth", "West Norwood"),
    ),
    "E09000023": _Borough(
        -0.020,
        51.448,
        27,
        0.8,
        ("SE4", "SE6", "SE8", "SE13", "SE14", "SE23"),
        ("Deptford", "Forest Hill", "Lewisham"),
    ),
    "E09000024": _Borough(
        -0.197, 51.410, 14, 0.6, ("SW19", "SW20", "CR4", "SM4"), ("Mitcham", "Wimbledon")
    ),
    "E09000025": _Borough(
        0.036,
        51.528,
        36,
        1.1,
        ("E6", "E7", "E12", "E13", "E15", "E16"),
        ("East Ham", "Plaistow", "Stratford"),
    ),
    "E09000026": _Borough(
        0.076,
        51.586,
        23,
        0.6,
        ("IG1", "IG2", "IG3", "IG4", "IG5", "IG6", "IG8", "E18"),
        ("Ilford", "Woodford"),
    ),
    "E09000027": _Borough(
        -0.313,
        51.442,
        12,
        0.6,
        ("TW1", "TW2", "TW9", "TW10", "TW11", "TW12", "SW13", "SW14"),
        ("Richmond", "Twickenham"),
    ),
    "E09000028": _Borough(
        -0.075,
        51.473,
        35,
        1.6,
        ("SE1", "SE5", "SE15", "SE16", "SE17", "SE22", "SE21"),
        ("Dockhead", "Old Kent Road", "Peckham"),
    ),
    "E09000029": _Borough(
        -0.178, 51.362, 12, 0.5, ("SM1", "SM2", "SM3", "SM5", "SM6"), ("Sutton", "Wallington")
    ),
    "E09000030": _Borough(
        -0.036,
        51.517,
        36,
        1.6,
        ("E1", "E1W", "E2", "E3", "E14"),
        ("Bethnal Green", "Millwall", "Poplar", "Shadwell", "Whitechapel"),
    ),
    "E09000031": _Borough(
        -0.013,
        51.594,
        23,
        0.8,
        ("E4", "E10", "E11", "E17"),
        ("Chingford", "Leyton", "Walthamstow"),
    ),
    "E09000032": _Borough(
        -0.186,
        51.451,
        25,
        1.1,
        ("SW11", "SW12", "SW15", "SW17", "SW18"),
        ("Battersea", "Tooting", "Wandsworth"),
    ),
    "E09000033": _Borough(
        -0.161,
        51.514,
        72,
        4.0,
        ("W1D", "W1F", "W1B", "W1K", "W2", "SW1A", "SW1P", "SW1V", "NW8", "WC2N", "WC2H"),
        ("Paddington", "Soho"),
    ),
}

# How far records spread around a place's centroid (standard deviation, metres).
_LSOA_SPREAD_M: Final = 110.0
_BOROUGH_SPREAD_M: Final = 500.0
_CITY_SPREAD_M: Final = 200.0


# ------------------------------------------------------------------------------- places


def _text_array(values: Sequence[str]) -> TextArray:
    return np.array(list(values), dtype=np.str_) if values else np.array([], dtype="<U1")


def _code_keys(codes: TextArray) -> NDArray[np.uint32]:
    """A stable 32-bit number per area code (CRC-32): places that must stay the same from
    file to file (map points, station grounds) hang off it, not off the random stream."""
    return np.array([zlib.crc32(str(code).encode()) for code in codes], dtype=np.uint32)


def _unit(keys: NDArray[np.uint32], salt: int) -> FloatArray:
    """A uniform number in [0, 1) from each key and a salt: a cheap integer hash."""
    x = (keys.astype(np.uint64) ^ np.uint64(salt * 0x9E3779B1 & 0xFFFFFFFF)) * np.uint64(0x85EBCA6B)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 2.0**32


def _area_weights(borough_code: TextArray, keys: NDArray[np.uint32]) -> FloatArray:
    """Each area's share of its borough's crime: the borough's volume split over its areas,
    unevenly (a roughly log-normal factor from the area's code), so that hot spots exist."""
    volume = np.array([_BOROUGHS[str(code)].crimes for code in borough_code])
    z = (_unit(keys, 1) + _unit(keys, 2) + _unit(keys, 3) - 1.5) * 2.0
    spread = np.exp(0.6 * z)
    _, inverse = np.unique(borough_code, return_inverse=True)
    totals = np.bincount(inverse, weights=spread)
    return np.asarray(volume * spread / totals[inverse], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Places:
    """Where synthetic records happen: one entry per area (an LSOA, or a whole borough when
    no finer geography is known) with its codes, names, centroid in WGS 84 and in the
    British National Grid, a weight (how much crime happens there, relative to the other
    entries) and how far records spread around the centroid. Codes and names of levels that
    are not known are empty strings."""

    lsoa_code: TextArray
    lsoa_name: TextArray
    ward_code: TextArray
    ward_name: TextArray
    borough_code: TextArray
    lon: FloatArray
    lat: FloatArray
    easting: FloatArray
    northing: FloatArray
    weight: FloatArray
    spread_m: FloatArray
    source: str = "given areas"

    def __post_init__(self) -> None:
        size = len(self.borough_code)
        if size == 0:
            raise ValueError("places need at least one area")
        for name in self._arrays():
            if len(getattr(self, name)) != size:
                raise ValueError(
                    f"places: {name} has {len(getattr(self, name))} entries, not {size}"
                )
        unknown = sorted({str(c) for c in self.borough_code} - set(geo_codes.BOROUGHS))
        if unknown:
            raise ValueError(f"places: not London borough codes: {', '.join(unknown[:5])}")
        if not np.all(np.isfinite(self.weight)) or np.any(self.weight < 0) or not self.weight.sum():
            raise ValueError("places: weights must be finite, not negative, and not all zero")
        (lon_min, lon_max), (lat_min, lat_max) = geo_codes.LONDON_LON, geo_codes.LONDON_LAT
        inside = (self.lon >= lon_min) & (self.lon <= lon_max)
        inside &= (self.lat >= lat_min) & (self.lat <= lat_max)
        if not np.all(inside):
            raise ValueError("places: every centroid must be in London (WGS 84 lon/lat)")

    def __len__(self) -> int:
        return len(self.borough_code)

    @classmethod
    def _arrays(cls) -> list[str]:
        return [field.name for field in fields(cls) if field.name != "source"]

    @property
    def has_lsoas(self) -> bool:
        """Whether the entries are LSOAs (not whole boroughs)."""
        return bool(np.any(self.lsoa_code != ""))

    @property
    def has_wards(self) -> bool:
        return bool(np.any(self.ward_code != ""))

    def subset(self, mask: BoolArray) -> Places:
        """The entries where ``mask`` is true."""
        arrays = {name: getattr(self, name)[mask] for name in self._arrays()}
        return Places(**arrays, source=self.source)

    @classmethod
    def from_areas(
        cls,
        *,
        lsoa_code: Sequence[str],
        lsoa_name: Sequence[str],
        ward_code: Sequence[str],
        ward_name: Sequence[str],
        borough_code: Sequence[str],
        lon: Sequence[float] | FloatArray,
        lat: Sequence[float] | FloatArray,
        source: str,
    ) -> Places:
        """Places from LSOAs: their codes, names and centroids (WGS 84); the grid
        coordinates, weights and spreads are worked out here."""
        lons, lats = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        easting, northing = engine.wgs84_to_bng(lons, lats)
        lsoas, boroughs = _text_array(lsoa_code), _text_array(borough_code)
        return cls(
            lsoa_code=lsoas,
            lsoa_name=_text_array(lsoa_name),
            ward_code=_text_array(ward_code),
            ward_name=_text_array(ward_name),
            borough_code=boroughs,
            lon=lons,
            lat=lats,
            easting=easting,
            northing=northing,
            weight=_area_weights(boroughs, _code_keys(lsoas)),
            spread_m=np.full(len(lsoas), _LSOA_SPREAD_M),
            source=source,
        )

    @classmethod
    def fallback(cls) -> Places:
        """The 33 boroughs with the centroids written down in this module: no file and no
        database needed, but no LSOAs or wards either (their columns are left empty, and a
        dataset that requires them cannot be made). Points spread a few hundred metres
        around each borough's centroid."""
        codes = sorted(_BOROUGHS)
        lon = np.array([_BOROUGHS[c].lon for c in codes])
        lat = np.array([_BOROUGHS[c].lat for c in codes])
        easting, northing = engine.wgs84_to_bng(lon, lat)
        boroughs = _text_array(codes)
        empty = np.full(len(codes), "", dtype="<U1")
        spread = np.array([_CITY_SPREAD_M if c == CITY else _BOROUGH_SPREAD_M for c in codes])
        return cls(
            lsoa_code=empty,
            lsoa_name=empty,
            ward_code=empty,
            ward_name=empty,
            borough_code=boroughs,
            lon=lon,
            lat=lat,
            easting=easting,
            northing=northing,
            weight=np.array([_BOROUGHS[c].crimes for c in codes], dtype=np.float64),
            spread_m=spread,
            source="the 33 borough centroids (no geography loaded)",
        )

    @classmethod
    def from_geography_dir(cls, path: str | Path) -> Places:
        """The 2021 LSOAs of a folder of ONS geography files (the folder ``safestats
        geography load`` reads): codes, names, best-fit 2025 ward and borough from
        ``lsoa2021_ward2025_derived_london.csv``, with the centroids given there, or
        computed from the boundaries in ``london_lsoa_2021.geojson`` when the lookup has
        none (or any outside London). Raises FileNotFoundError or ValueError."""
        folder = Path(path)
        lookup = folder / "lsoa2021_ward2025_derived_london.csv"
        if not lookup.is_file():
            raise FileNotFoundError(f"{folder} has no {lookup.name} (the LSOA to ward lookup)")
        with lookup.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [
                c for c in ("LSOA21CD", "WD25CD", "LADCD") if c not in (reader.fieldnames or [])
            ]
            if missing:
                raise ValueError(f"{lookup.name}: missing columns {', '.join(missing)}")
            rows = list(reader)
        if not rows:
            raise ValueError(f"{lookup.name} has no rows")
        codes = [row["LSOA21CD"] for row in rows]
        centroids = _csv_centroids(rows) or _geojson_centroids(folder, codes)
        return cls.from_areas(
            lsoa_code=codes,
            lsoa_name=[row.get("LSOA21NM") or "" for row in rows],
            ward_code=[row["WD25CD"] for row in rows],
            ward_name=[row.get("WD25NM") or "" for row in rows],
            borough_code=[row["LADCD"] for row in rows],
            lon=centroids[0],
            lat=centroids[1],
            source=f"{len(rows)} LSOAs (2021) from {folder}",
        )

    @classmethod
    def from_database(cls) -> Places:
        """The LSOAs of the loaded geography (2021, or 2011 when only those are loaded)
        with their centroids, best-fit wards and boroughs; :meth:`fallback` when no LSOA
        with a centroid is loaded."""
        from safestats.geography.models import Lsoa

        for vintage in geo_codes.CENSUS_VINTAGES[::-1]:
            rows = list(
                Lsoa.objects.filter(
                    vintage=vintage, centroid_lon__isnull=False, centroid_lat__isnull=False
                )
                .order_by("code")
                .values_list(
                    "code",
                    "name",
                    "ward__code",
                    "ward__name",
                    "borough__code",
                    "centroid_lon",
                    "centroid_lat",
                )
            )
            if rows:
                return cls.from_areas(
                    lsoa_code=[row[0] for row in rows],
                    lsoa_name=[row[1] for row in rows],
                    ward_code=[row[2] or "" for row in rows],
                    ward_name=[row[3] or "" for row in rows],
                    borough_code=[row[4] for row in rows],
                    lon=[float(row[5] or 0.0) for row in rows],
                    lat=[float(row[6] or 0.0) for row in rows],
                    source=f"{len(rows)} LSOAs ({vintage}) of the loaded geography",
                )
        return cls.fallback()

    def lacks(self, spec: DatasetSpec) -> str | None:
        """Why a file of ``spec`` cannot be made from these places, or None when it can."""
        geography = spec.geography
        if geography is not None and geography.field is not None:
            field = spec.field(geography.field)
            mapped = geography.field in spec.layouts[0].columns
            # A wide file of counts is nothing without its areas, required or not.
            needed = field is not None and (field.required or spec.layouts[0].melt is not None)
            if needed and mapped:
                if geography.source == "ward" and not self.has_wards:
                    return (
                        f"{spec.id} needs real ward codes, and {self.source} has no wards: "
                        "load the geography (safestats geography load DIR) or give a folder"
                    )
                if geography.source == "lsoa" and not self.has_lsoas:
                    return (
                        f"{spec.id} needs real LSOA codes, and {self.source} has no LSOAs: "
                        "load the geography (safestats geography load DIR) or give a folder"
                    )
        subset = _SUBSETS.get(spec.id, "all")
        if not np.any(_subset_mask(self, subset)):
            where = "the City of London" if subset == "city" else "the Metropolitan Police area"
            return f"{spec.id} happens in {where}, and {self.source} has no place there"
        return None


def _csv_centroids(rows: list[dict[str, str]]) -> tuple[list[float], list[float]] | None:
    """The lookup's own centroid columns, when it has them and every one is in London."""
    try:
        lon = [float(row["centroid_lon"]) for row in rows]
        lat = [float(row["centroid_lat"]) for row in rows]
    except (KeyError, TypeError, ValueError):
        return None
    (lon_min, lon_max), (lat_min, lat_max) = geo_codes.LONDON_LON, geo_codes.LONDON_LAT
    inside = all(lon_min <= x <= lon_max for x in lon) and all(lat_min <= y <= lat_max for y in lat)
    return (lon, lat) if inside else None


def _geojson_centroids(folder: Path, codes: list[str]) -> tuple[list[float], list[float]]:
    from safestats.geography import files

    name = "london_lsoa_2021.geojson"
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: the lookup has no centroids and there is no {name}")
    records, _ = files.read_geojson(path, files.GEOJSON[name])
    found = {r.code: (r.shape.centroid_lon, r.shape.centroid_lat) for r in records if r.shape}
    missing = [code for code in codes if code not in found]
    if missing:
        raise ValueError(f"{name} has no boundary for LSOA {missing[0]}")
    return [found[c][0] for c in codes], [found[c][1] for c in codes]


# Which places a dataset's records can be in: the Metropolitan Police does not police the
# City of London, and the City of London Police polices nothing else.
_SUBSETS: Final[dict[str, str]] = {
    "colp-crime": "city",
    "mps-recorded-crime": "mps",
    "mps-crime-outcomes": "mps",
    "mps-victims": "mps",
    "mps-suspects": "mps",
    "mps-asb-incidents": "mps",
    "mps-ward-crime-counts": "mps",
}


def _subset_mask(places: Places, subset: str) -> BoolArray:
    city = places.borough_code == CITY
    if subset == "city":
        return np.asarray(city)
    if subset == "mps":
        return np.asarray(~city)
    return np.ones(len(places), dtype=np.bool_)


# ------------------------------------------------------------------------------ rhythms


@dataclass(frozen=True)
class _Rhythm:
    """When something happens: relative weights per hour of the day (0-23) and per day of
    the week (Monday first), a yearly wave peaking in ``peak_month``, and boosts for Friday
    and Saturday nights (20:00 to 05:00), dark winter evenings (16:00 to 20:00, October to
    February) and Halloween and Bonfire Night."""

    hours: tuple[float, ...]
    weekdays: tuple[float, ...]
    peak_month: int
    amplitude: float
    weekend_nights: float = 1.0
    dark_evenings: float = 1.0
    bonfire: float = 1.0

    def season(self, month: IntArray) -> FloatArray:
        phase = 2 * np.pi * (month - self.peak_month) / 12
        return np.asarray(1.0 + self.amplitude * np.cos(phase), dtype=np.float64)


_NIGHT_HOURS: Final = (
    *(5.5, 4.6, 3.8, 2.9, 1.8, 1.1, 1.0, 1.4, 2.2, 2.8, 3.1, 3.4),
    *(3.8, 3.9, 4.1, 4.6, 5.0, 5.3, 5.5, 5.6, 5.7, 5.9, 6.0, 6.0),
)
_DAY_HOURS: Final = (
    *(0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.6, 4.0, 5.0, 5.6),
    *(6.0, 6.2, 6.3, 6.4, 6.5, 6.4, 5.8, 4.6, 3.2, 2.0, 1.1, 0.6),
)
_FIRE_HOURS: Final = (
    *(3.2, 2.7, 2.2, 1.8, 1.4, 1.2, 1.3, 2.0, 3.0, 3.6, 4.0, 4.3),
    *(4.6, 4.8, 5.0, 5.3, 5.6, 5.9, 6.1, 6.0, 5.6, 5.0, 4.3, 3.7),
)
_RHYTHMS: Final[dict[str, _Rhythm]] = {
    # Violence, public order, drugs: evenings and nights, Friday and Saturday nights above
    # all, a little more in summer.
    "night": _Rhythm(
        _NIGHT_HOURS, (0.90, 0.86, 0.90, 0.95, 1.08, 1.20, 1.12), 7, 0.10, weekend_nights=1.7
    ),
    # Residential burglary: early evenings, far more in the dark months.
    "evening": _Rhythm(
        (
            *(2.6, 2.0, 1.6, 1.3, 1.0, 0.8, 0.9, 1.3, 2.0, 2.7, 3.0, 3.0),
            *(3.1, 3.2, 3.4, 3.8, 4.4, 5.2, 6.0, 6.2, 5.6, 4.6, 3.8, 3.2),
        ),
        (1.02, 1.0, 1.0, 1.0, 1.02, 0.98, 0.96),
        12,
        0.22,
        dark_evenings=1.4,
    ),
    # Shoplifting, harassment, other theft: shop and office hours.
    "day": _Rhythm(_DAY_HOURS, (1.0, 1.0, 1.0, 1.02, 1.05, 1.12, 0.8), 12, 0.06),
    "cycling": _Rhythm(_DAY_HOURS, (1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.85), 7, 0.30),
    # Pickpocketing and transport crime: the rush hours, and late on weekend nights.
    "commute": _Rhythm(
        (
            *(2.0, 1.4, 0.8, 0.4, 0.3, 0.5, 1.5, 4.0, 6.0, 4.5, 3.5, 3.8),
            *(4.2, 4.3, 4.5, 5.0, 5.8, 6.5, 6.5, 5.5, 4.5, 4.0, 3.6, 3.0),
        ),
        (1.05, 1.07, 1.07, 1.07, 1.08, 0.85, 0.7),
        10,
        0.05,
        weekend_nights=1.2,
    ),
    # Vehicle crime, criminal damage: overnight, a little more in winter.
    "overnight": _Rhythm(
        (
            *(4.5, 4.2, 3.8, 3.3, 2.6, 2.0, 2.0, 2.6, 3.2, 3.4, 3.4, 3.5),
            *(3.6, 3.6, 3.7, 3.9, 4.1, 4.4, 4.8, 5.0, 5.1, 5.2, 5.0, 4.8),
        ),
        (0.97, 0.96, 0.97, 1.0, 1.05, 1.07, 1.0),
        1,
        0.08,
    ),
    "asb": _Rhythm(
        (
            *(3.0, 2.2, 1.6, 1.1, 0.7, 0.5, 0.6, 1.0, 1.8, 2.6, 3.2, 3.6),
            *(4.0, 4.3, 4.7, 5.3, 5.9, 6.3, 6.5, 6.6, 6.4, 6.0, 5.2, 4.1),
        ),
        (0.95, 0.92, 0.94, 0.98, 1.08, 1.12, 1.02),
        7,
        0.20,
        weekend_nights=1.3,
        bonfire=2.0,
    ),
    "fire": _Rhythm(_FIRE_HOURS, (0.98, 0.97, 0.98, 0.99, 1.02, 1.04, 1.02), 7, 0.08, bonfire=1.5),
    "outdoor_fire": _Rhythm(
        _FIRE_HOURS, (0.95, 0.95, 0.95, 0.97, 1.03, 1.1, 1.05), 7, 0.35, bonfire=2.5
    ),
    # Office work (outcomes being recorded): weekday working hours.
    "office": _Rhythm(
        (
            *(0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 1.5, 4.0, 6.0, 6.0, 5.5),
            *(4.5, 5.5, 6.0, 6.0, 5.0, 3.0, 1.5, 0.8, 0.5, 0.3, 0.2, 0.1),
        ),
        (1.1, 1.1, 1.1, 1.1, 1.05, 0.3, 0.25),
        3,
        0.03,
    ),
}
_RHYTHM_NAMES: Final = tuple(_RHYTHMS)

# ----------------------------------------------------------------------------- offences


@dataclass(frozen=True)
class _Offence:
    """A Home Office minor offence category as the Metropolitan Police publishes it:
    ``share`` of recorded crime (before normalising), when and where it happens, its
    data.police.uk category, plausible Home Office offence codes, and how often it is
    flagged as knife crime or domestic abuse."""

    major: str
    minor: str
    share: float
    rhythm: str
    where: Literal["general", "central", "residential"]
    police_uk: str
    offence_codes: tuple[str, ...]
    knife: float = 0.0
    domestic: float = 0.0


_VIOLENCE = "Violence Against the Person"
_VSO = "Violence and sexual offences"
_OFFENCES: Final[tuple[_Offence, ...]] = (
    _Offence(_VIOLENCE, "Homicide", 0.00012, "night", "general", _VSO, ("001/01",), 0.55, 0.15),
    _Offence(
        _VIOLENCE,
        "Violence with Injury",
        0.080,
        "night",
        "general",
        _VSO,
        ("008/06", "008/01", "005/01"),
        0.08,
        0.30,
    ),
    _Offence(
        _VIOLENCE,
        "Violence without Injury",
        0.120,
        "night",
        "general",
        _VSO,
        ("105/01", "104/01", "105/12"),
        0.03,
        0.32,
    ),
    _Offence(
        _VIOLENCE,
        "Stalking and Harassment",
        0.090,
        "day",
        "residential",
        _VSO,
        ("008/46", "008/54", "195/94"),
        0.005,
        0.45,
    ),
    _Offence(
        "Sexual Offences", "Rape", 0.009, "night", "general", _VSO, ("019/16", "019/07"), 0.01, 0.35
    ),
    _Offence(
        "Sexual Offences",
        "Other Sexual Offences",
        0.014,
        "night",
        "general",
        _VSO,
        ("020/04", "017/10", "088/01"),
        0.005,
        0.15,
    ),
    _Offence(
        "Robbery",
        "Robbery of Personal Property",
        0.033,
        "night",
        "central",
        "Robbery",
        ("034B/00",),
        0.18,
    ),
    _Offence(
        "Robbery",
        "Robbery of Business Property",
        0.003,
        "day",
        "central",
        "Robbery",
        ("034A/00",),
        0.2,
    ),
    _Offence(
        "Theft",
        "Other Theft",
        0.115,
        "day",
        "central",
        "Other theft",
        ("049/00", "049/04", "054/00"),
    ),
    _Offence(
        "Theft",
        "Theft from the Person",
        0.055,
        "commute",
        "central",
        "Theft from the person",
        ("039/00",),
    ),
    _Offence("Theft", "Shoplifting", 0.058, "day", "central", "Shoplifting", ("046/00",)),
    _Offence("Theft", "Bicycle Theft", 0.022, "cycling", "central", "Bicycle theft", ("044/00",)),
    _Offence(
        "Vehicle Offences",
        "Theft from a Motor Vehicle",
        0.058,
        "overnight",
        "residential",
        "Vehicle crime",
        ("045/00",),
    ),
    _Offence(
        "Vehicle Offences",
        "Theft or Taking of a Motor Vehicle",
        0.032,
        "overnight",
        "residential",
        "Vehicle crime",
        ("048/00", "037/02"),
    ),
    _Offence(
        "Vehicle Offences",
        "Interfering with a Motor Vehicle",
        0.008,
        "overnight",
        "residential",
        "Vehicle crime",
        ("126/00",),
    ),
    _Offence(
        "Burglary",
        "Burglary - Residential",
        0.050,
        "evening",
        "residential",
        "Burglary",
        ("028A/00", "028B/00", "028C/00"),
    ),
    _Offence(
        "Burglary",
        "Burglary - Business and Community",
        0.015,
        "overnight",
        "central",
        "Burglary",
        ("030A/00", "030B/00"),
    ),
    _Offence(
        "Arson and Criminal Damage",
        "Criminal Damage",
        0.055,
        "overnight",
        "general",
        "Criminal damage and arson",
        ("058A/00", "058C/00", "058J/00"),
        0.0,
        0.12,
    ),
    _Offence(
        "Arson and Criminal Damage",
        "Arson",
        0.003,
        "overnight",
        "residential",
        "Criminal damage and arson",
        ("056A/00", "056B/00"),
    ),
    _Offence(
        "Public Order Offences",
        "Public Fear Alarm or Distress",
        0.035,
        "night",
        "general",
        "Public order",
        ("125/10", "009/33"),
        0.01,
        0.2,
    ),
    _Offence(
        "Public Order Offences",
        "Racially or Religiously Aggravated Public Fear Alarm or Distress",
        0.006,
        "night",
        "central",
        "Public order",
        ("008/41",),
    ),
    _Offence(
        "Public Order Offences",
        "Other Offences Against the State or Public Order",
        0.006,
        "night",
        "central",
        "Public order",
        ("062/00", "066/00"),
    ),
    _Offence(
        "Drug Offences",
        "Possession of Drugs",
        0.036,
        "night",
        "central",
        "Drugs",
        ("092D/00", "092E/00"),
    ),
    _Offence(
        "Drug Offences",
        "Trafficking of Drugs",
        0.008,
        "night",
        "general",
        "Drugs",
        ("092A/00", "092C/00"),
    ),
    _Offence(
        "Possession of Weapons",
        "Possession of Article with Blade or Point",
        0.006,
        "night",
        "central",
        "Possession of weapons",
        ("010C/00",),
        1.0,
    ),
    _Offence(
        "Possession of Weapons",
        "Possession of Other Weapon",
        0.003,
        "night",
        "general",
        "Possession of weapons",
        ("010A/00",),
    ),
    _Offence(
        "Possession of Weapons",
        "Possession of Firearms Offences",
        0.0008,
        "night",
        "general",
        "Possession of weapons",
        ("081/03", "010D/00"),
    ),
    _Offence(
        "Miscellaneous Crimes Against Society",
        "Miscellaneous Crimes Against Society",
        0.015,
        "day",
        "general",
        "Other crime",
        ("802/00", "099/00", "066/01"),
        0.0,
        0.05,
    ),
)
_WHERE: Final = ("general", "central", "residential")
_OFF_MAJOR: Final = pa.array([o.major for o in _OFFENCES], pa.string())
_OFF_MINOR: Final = pa.array([o.minor for o in _OFFENCES], pa.string())
_OFF_RHYTHM: Final = np.array([_RHYTHM_NAMES.index(o.rhythm) for o in _OFFENCES])
_OFF_WHERE: Final = np.array([_WHERE.index(o.where) for o in _OFFENCES])
_OFF_KNIFE: Final = np.array([o.knife for o in _OFFENCES])
_OFF_DOMESTIC: Final = np.array([o.domestic for o in _OFFENCES])
_OFF_CODES: Final = pa.array([c for o in _OFFENCES for c in o.offence_codes], pa.string())
_OFF_CODE_COUNT: Final = np.array([len(o.offence_codes) for o in _OFFENCES])
_OFF_CODE_START: Final = np.concatenate([[0], np.cumsum(_OFF_CODE_COUNT)[:-1]])
# Recorded by the Metropolitan Police in a month, roughly.
_MPS_CRIMES_A_MONTH: Final = 78_000.0

# Multipliers on the shares above, per dataset (minor categories not named keep 1, or the
# default given with the mix).
_COLP_MIX: Final = {
    "Theft from the Person": 2.5,
    "Other Theft": 1.8,
    "Bicycle Theft": 2.0,
    "Shoplifting": 1.3,
    "Burglary - Residential": 0.1,
    "Burglary - Business and Community": 2.0,
    "Theft from a Motor Vehicle": 0.3,
    "Theft or Taking of a Motor Vehicle": 0.2,
    "Interfering with a Motor Vehicle": 0.3,
    "Stalking and Harassment": 0.4,
}
_TRANSPORT_MIX: Final = {
    "Theft from the Person": 6.0,
    "Other Theft": 0.8,
    "Shoplifting": 0.0,
    "Bicycle Theft": 0.3,
    "Theft from a Motor Vehicle": 0.0,
    "Theft or Taking of a Motor Vehicle": 0.0,
    "Interfering with a Motor Vehicle": 0.0,
    "Burglary - Residential": 0.0,
    "Burglary - Business and Community": 0.0,
    "Other Sexual Offences": 3.0,
    "Rape": 0.05,
    "Stalking and Harassment": 0.15,
    "Homicide": 0.0,
    "Public Fear Alarm or Distress": 2.5,
    "Racially or Religiously Aggravated Public Fear Alarm or Distress": 3.0,
    "Robbery of Business Property": 0.0,
    "Arson": 0.2,
    "Miscellaneous Crimes Against Society": 0.5,
}
# Victim records exist for crimes against people (default 0: no victim record).
_VICTIM_MIX: Final = {
    "Homicide": 1.0,
    "Violence with Injury": 1.0,
    "Violence without Injury": 1.0,
    "Stalking and Harassment": 1.0,
    "Rape": 1.0,
    "Other Sexual Offences": 1.0,
    "Robbery of Personal Property": 1.0,
    "Theft from the Person": 1.0,
    "Other Theft": 0.6,
    "Bicycle Theft": 0.3,
    "Burglary - Residential": 1.0,
    "Theft from a Motor Vehicle": 0.5,
    "Theft or Taking of a Motor Vehicle": 0.5,
    "Criminal Damage": 0.5,
    "Public Fear Alarm or Distress": 0.5,
    "Racially or Religiously Aggravated Public Fear Alarm or Distress": 1.0,
}
# Suspects are identified far more often for some crimes than for others.
_SUSPECT_MIX: Final = {
    "Homicide": 3.0,
    "Violence with Injury": 1.3,
    "Violence without Injury": 1.3,
    "Stalking and Harassment": 1.4,
    "Rape": 0.8,
    "Robbery of Personal Property": 0.5,
    "Other Theft": 0.3,
    "Theft from the Person": 0.15,
    "Shoplifting": 1.5,
    "Bicycle Theft": 0.2,
    "Theft from a Motor Vehicle": 0.15,
    "Theft or Taking of a Motor Vehicle": 0.15,
    "Interfering with a Motor Vehicle": 0.15,
    "Burglary - Residential": 0.3,
    "Burglary - Business and Community": 0.4,
    "Criminal Damage": 0.6,
    "Arson": 0.4,
    "Public Fear Alarm or Distress": 1.3,
    "Possession of Drugs": 2.5,
    "Trafficking of Drugs": 2.5,
    "Possession of Article with Blade or Point": 2.5,
    "Possession of Other Weapon": 2.5,
    "Possession of Firearms Offences": 2.5,
    "Miscellaneous Crimes Against Society": 1.2,
}


def _mix(multipliers: Mapping[str, float], default: float = 1.0) -> FloatArray:
    shares = np.array([o.share * multipliers.get(o.minor, default) for o in _OFFENCES])
    return np.asarray(shares / shares.sum(), dtype=np.float64)


# ------------------------------------------------------------------ people and incidents

_AGE_BANDS: Final = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
_VICTIM_AGES: Final = dict(zip(_AGE_BANDS, (10, 17, 27, 20, 12, 7, 5, 2), strict=True))
_SUSPECT_AGES: Final = dict(zip(_AGE_BANDS, (12, 22, 30, 18, 9, 4, 1, 4), strict=True))
_ETHNICITIES: Final = (
    *("W1", "W2", "W9", "M1", "M2", "M3", "M9", "A1", "A2"),
    *("A3", "A9", "B1", "B2", "B9", "O1", "O9", "NS"),
)
_VICTIM_ETHNICITY: Final = dict(
    zip(
        _ETHNICITIES,
        (31, 1, 10, 2, 1, 1, 1.5, 5, 3, 2.5, 4, 4, 6, 3, 1, 5, 19),
        strict=True,
    )
)
_SUSPECT_ETHNICITY: Final = dict(
    zip(
        _ETHNICITIES,
        (26, 1, 9, 3, 1, 1, 2, 3, 3, 2, 4, 8, 9, 6, 0.5, 5, 17.5),
        strict=True,
    )
)
# Patients' ages in years: (lowest, highest, weight) per band, skewed to 18-34.
_PATIENT_AGES: Final = (
    (1, 10, 1),
    (11, 17, 10),
    (18, 24, 24),
    (25, 34, 30),
    (35, 44, 17),
    (45, 54, 10),
    (55, 64, 5),
    (65, 92, 3),
)

_OUTCOMES: Final = {
    "18": 40,
    "16": 22,
    "15": 12,
    "14": 5,
    "1": 7,
    "8": 3,
    "3": 1.5,
    "2": 0.5,
    "21": 1,
    "20": 2,
    "22": 0.5,
    "6": 0.5,
    "4": 0.2,
    "10": 0.5,
    "12": 0.5,
    "13": 0.5,
}
_PROACTIVE_OUTCOMES: Final = {
    "1": 35,
    "8": 15,
    "7": 15,
    "3": 5,
    "15": 10,
    "16": 2,
    "18": 2,
    "21": 5,
    "22": 5,
    "20": 3,
    "6": 3,
}
_PROACTIVE: Final = np.array(
    [o.major in ("Drug Offences", "Possession of Weapons") for o in _OFFENCES]
)

_POLICE_UK_OUTCOMES: Final = {
    "Investigation complete; no suspect identified": 42,
    "Unable to prosecute suspect": 27,
    "Under investigation": 8,
    "Status update unavailable": 6,
    "Awaiting court outcome": 4,
    "Court result unavailable": 3,
    "Local resolution": 2,
    "Action to be taken by another organisation": 2,
    "Offender given a caution": 1,
    "Further investigation is not in the public interest": 1,
    "Formal action is not in the public interest": 1,
    "Offender given a drugs possession warning": 1,
    "Offender sent to prison": 1,
}
_FORCES: Final = (
    "Metropolitan Police Service",
    "City of London Police",
    "British Transport Police",
)

_STREETS: Final = (
    *("High Street", "Station Road", "Church Road", "Park Road", "London Road"),
    *("Victoria Road", "Green Lane", "Manor Road", "Mill Lane", "King Street"),
    *("Queen's Road", "The Broadway", "Albert Road", "Grove Road", "Alexandra Road"),
    *("Richmond Road", "Springfield Road", "Elm Grove", "Chestnut Avenue", "Kingsway"),
    *("The Parade", "Market Street", "Church Street", "Windsor Road", "York Road"),
    *("Clarence Road", "Cambridge Road", "Oxford Road", "North Road", "South Street"),
    *("West Street", "Highfield Road", "Sussex Road", "Essex Road", "Avenue Road"),
    *("Lansdowne Road", "Palmerston Road", "Stanley Road", "Beech Avenue", "Cedar Road"),
    *("Marlborough Road", "Warwick Road", "Hill Street", "Bridge Street", "Canal Way"),
)
_POINTS: Final = (
    *("Supermarket", "Parking Area", "Petrol Station", "Nightclub", "Shopping Area"),
    *("Sports/Recreation Area", "Further/Higher Educational Building", "Hospital"),
    *("Police Station", "Theatre/Concert Hall", "Pedestrian Subway"),
)
_MAP_POINT_NAMES: Final = pa.array([*_STREETS, *_STREETS, *_POINTS], pa.string())
_MAP_POINTS_PER_LSOA: Final = 8

# Stations and bus routes where transport crime happens: (name, mode, lon, lat, weight).
_TRANSPORT: Final[tuple[tuple[str, str, float, float, float], ...]] = (
    ("Oxford Circus", "underground", -0.1419, 51.5152, 10),
    ("King's Cross St. Pancras", "underground", -0.1238, 51.5308, 9),
    ("Stratford", "underground", -0.0036, 51.5416, 8),
    ("Waterloo", "underground", -0.1132, 51.5031, 7),
    ("Victoria", "underground", -0.1447, 51.4965, 7),
    ("London Bridge", "underground", -0.0864, 51.5052, 6),
    ("Liverpool Street", "underground", -0.0823, 51.5178, 6),
    ("Bank", "underground", -0.0886, 51.5133, 5),
    ("Leicester Square", "underground", -0.1281, 51.5113, 5),
    ("Tottenham Court Road", "underground", -0.1310, 51.5165, 5),
    ("Brixton", "underground", -0.1145, 51.4627, 5),
    ("Camden Town", "underground", -0.1426, 51.5392, 4),
    ("Euston", "underground", -0.1337, 51.5282, 4),
    ("Paddington", "underground", -0.1755, 51.5154, 4),
    ("Canary Wharf", "underground", -0.0195, 51.5036, 4),
    ("Whitechapel", "underground", -0.0597, 51.5195, 3),
    ("Seven Sisters", "underground", -0.0749, 51.5822, 3),
    ("Finsbury Park", "underground", -0.1065, 51.5642, 3),
    ("Elephant & Castle", "underground", -0.1001, 51.4943, 3),
    ("Hammersmith", "underground", -0.2240, 51.4927, 3),
    ("Wembley Park", "underground", -0.2795, 51.5635, 2),
    ("Walthamstow Central", "underground", -0.0199, 51.5830, 2),
    ("Tooting Broadway", "underground", -0.1681, 51.4275, 2),
    ("Shepherd's Bush", "underground", -0.2187, 51.5046, 2),
    ("Morden", "underground", -0.1948, 51.4022, 1),
    ("Highbury & Islington", "overground", -0.1040, 51.5460, 2),
    ("Dalston Junction", "overground", -0.0753, 51.5461, 2),
    ("Canada Water", "overground", -0.0502, 51.4982, 1.5),
    ("Peckham Rye", "overground", -0.0694, 51.4700, 1.5),
    ("Clapham Junction", "overground", -0.1704, 51.4643, 1.5),
    ("West Croydon", "overground", -0.1025, 51.3784, 1),
    ("Farringdon", "elizabeth_line", -0.1053, 51.5203, 2),
    ("Bond Street", "elizabeth_line", -0.1494, 51.5142, 2),
    ("Tottenham Court Road", "elizabeth_line", -0.1310, 51.5165, 2),
    ("Ilford", "elizabeth_line", 0.0686, 51.5590, 1.5),
    ("Ealing Broadway", "elizabeth_line", -0.3017, 51.5150, 1.5),
    ("Romford", "elizabeth_line", 0.1833, 51.5748, 1),
    ("Woolwich", "elizabeth_line", 0.0712, 51.4917, 1),
    ("Canning Town", "dlr", 0.0082, 51.5147, 2),
    ("Lewisham", "dlr", -0.0142, 51.4657, 1.5),
    ("Woolwich Arsenal", "dlr", 0.0693, 51.4900, 1.5),
    ("Poplar", "dlr", -0.0173, 51.5077, 1),
    ("Shadwell", "dlr", -0.0569, 51.5117, 1),
    ("East Croydon", "tram", -0.0927, 51.3755, 1),
    ("West Croydon", "tram", -0.1025, 51.3784, 0.8),
    ("Wimbledon", "tram", -0.2064, 51.4214, 0.8),
    ("Mitcham Junction", "tram", -0.1580, 51.3929, 0.4),
    ("Clapham Junction", "national_rail", -0.1704, 51.4643, 2.5),
    ("London Bridge", "national_rail", -0.0864, 51.5052, 2),
    ("Waterloo", "national_rail", -0.1132, 51.5031, 2),
    ("Victoria", "national_rail", -0.1447, 51.4965, 2),
    ("Liverpool Street", "national_rail", -0.0823, 51.5178, 1.5),
    ("East Croydon", "national_rail", -0.0927, 51.3755, 1.5),
    ("Lewisham", "national_rail", -0.0142, 51.4657, 1),
    ("Wimbledon", "national_rail", -0.2064, 51.4214, 1),
    ("Stratford", "national_rail", -0.0036, 51.5416, 1),
    ("Euston", "national_rail", -0.1337, 51.5282, 1),
    # Bus routes, placed around the middle of the route.
    ("Route 25", "bus", -0.0330, 51.5250, 9),
    ("Route 38", "bus", -0.1040, 51.5340, 7),
    ("Route 29", "bus", -0.1410, 51.5400, 7),
    ("Route 18", "bus", -0.2460, 51.5370, 6),
    ("Route 207", "bus", -0.3000, 51.5110, 6),
    ("Route 149", "bus", -0.0730, 51.5600, 6),
    ("Route 12", "bus", -0.0930, 51.4740, 6),
    ("Route 36", "bus", -0.1100, 51.4820, 6),
    ("Route 159", "bus", -0.1100, 51.4500, 5),
    ("Route 86", "bus", 0.0500, 51.5500, 5),
    ("Route 53", "bus", -0.0200, 51.4780, 4),
    ("Route 55", "bus", -0.0560, 51.5450, 4),
    ("Route 73", "bus", -0.0980, 51.5400, 4),
    ("Route 109", "bus", -0.1050, 51.4100, 3),
    ("Route 137", "bus", -0.1500, 51.4600, 3),
    ("Route 279", "bus", -0.0600, 51.6200, 3),
)
_RAIL: Final = tuple(row for row in _TRANSPORT if row[1] != "bus")
_STATION_SPREAD_M: Final = 80.0
_ROUTE_SPREAD_M: Final = 700.0

# London emergency departments: ODS-style site codes and a relative number of attendances.
_EMERGENCY_DEPARTMENTS: Final = {
    "R1H12": 10,
    "RJZ01": 9,
    "RJ122": 8,
    "RYJ02": 8,
    "RRV03": 6,
    "RJ701": 7,
    "RQXM1": 6,
    "RAL01": 5,
    "RKEQ4": 4,
    "RJ611": 6,
    "RF4QH": 5,
    "RAS01": 4,
    "RQM01": 5,
    "RQM91": 4,
    "R1K01": 5,
    "RJ224": 5,
    "RJ231": 5,
    "RAX01": 3,
    "RVR05": 3,
    "RJZ30": 3,
}
_ASSAULT_METHODS: Final = {"01": 58, "02": 10, "03": 10, "04": 6, "05": 0.5, "06": 8, "99": 7.5}
_OTHER_METHODS: Final = (
    *("Dog bite", "Bicycle lock", "Chair", "Hot drink", "Brick", "Belt"),
    *("Vehicle", "Corrosive substance", "Pepper spray", "Bite"),
)
_LOCATION_TYPES: Final = {"01": 30, "02": 38, "03": 12, "04": 5, "05": 3, "06": 5, "07": 4, "99": 3}
# Assault location descriptions per location type: places with no person in them. Those
# ending "on", "off" or "near" are followed by a street name.
_LOCATION_DESCRIPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "01": ("Home address", "Friend's flat", "Family home", "Partner's address", "Hostel on"),
    "02": (
        *("Street near", "Outside shops on", "Park near", "Bus stop on", "Footpath off"),
        *("Estate off", "Car park off", "Alleyway off"),
    ),
    "03": (
        *("Outside the Red Lion on", "Inside the White Hart on", "Outside the Kings Arms on"),
        *("Nightclub on", "Bar on", "Outside the Crown on", "Smoking area of the Royal Oak on"),
    ),
    "04": ("Shop on", "Off licence on", "Chicken shop on", "Petrol station on", "Takeaway on"),
    "05": ("School gates on", "College on", "Playground off"),
    "06": ("Bus on", "Bus stop on", "Station entrance on", "Station platform near"),
    "07": ("Gym on", "Car wash on", "Hospital grounds", "Place of worship on"),
}
_LOCATION_TEMPLATES: Final = tuple(_LOCATION_DESCRIPTIONS)

_ASB_TYPES: Final = {"personal": 22, "nuisance": 70, "environmental": 8}
_ASB_DESCRIPTIONS: Final[dict[str, dict[str, float]]] = {
    "personal": {
        "Rowdy or inconsiderate behaviour": 35,
        "Neighbour dispute": 35,
        "Malicious or nuisance communications": 20,
        "Intimidation": 10,
    },
    "nuisance": {
        "Rowdy or inconsiderate behaviour": 45,
        "Noise": 12,
        "Vehicle nuisance or inappropriate use": 12,
        "Street drinking": 7,
        "Begging or vagrancy": 6,
        "Drug use in public": 5,
        "Fireworks": 4,
        "Trespass": 4,
        "Hoax call": 3,
        "Prostitution related activity": 2,
    },
    "environmental": {
        "Littering or drugs paraphernalia": 35,
        "Fly-tipping": 30,
        "Abandoned vehicle": 20,
        "Animal problems": 15,
    },
}
_ASB_GRADES: Final = {"I": 12, "S": 38, "E": 30, "R": 20}
_ASB_RESPONSE_MEDIAN_S: Final = {"I": 660.0, "S": 2700.0, "E": 10800.0}

_INJURIES: Final = {"assault": 70, "stab": 12, "gunshot": 0.5, "glassing": 3, "other": 14.5}

_LFB_GROUPS: Final = {"False Alarm": 48, "Special Service": 33, "Fire": 19}
_LFB_STOP_CODES: Final[dict[str, dict[str, float]]] = {
    "Fire": {"Primary Fire": 55, "Secondary Fire": 42, "Chimney Fire": 1, "Late Call": 2},
    "False Alarm": {"AFA": 70, "False alarm - Good intent": 26, "False alarm - Malicious": 4},
    "Special Service": {"Special Service": 1},
}
_LFB_SPECIAL_SERVICES: Final = {
    "Effecting entry/exit": 20,
    "Flooding": 14,
    "Lift Release": 10,
    "RTC": 10,
    "Assist other agencies": 10,
    "Medical Incident": 6,
    "No action (not false alarm)": 6,
    "Making Safe (not RTC)": 5,
    "Removal of objects from people": 4,
    "Spills and Leaks (not RTC)": 4,
    "Animal assistance incidents": 3,
    "Other rescue/release of persons": 3,
    "Hazardous Materials incident": 2,
    "Suicide/attempts": 1,
    "Evacuation (no fire)": 1,
    "Stand By": 1,
}
_LFB_CATEGORIES: Final = (
    "Dwelling",
    "Non Residential",
    "Other Residential",
    "Road Vehicle",
    "Outdoor",
    "Outdoor Structure",
)
# Property category mix per stop code (same order as _LFB_CATEGORIES).
_LFB_CATEGORY_MIX: Final[dict[str, tuple[float, ...]]] = {
    "Primary Fire": (45, 20, 5, 20, 3, 7),
    "Secondary Fire": (0, 0, 0, 0, 60, 40),
    "Chimney Fire": (100, 0, 0, 0, 0, 0),
    "Late Call": (40, 20, 5, 10, 15, 10),
    "AFA": (45, 45, 8, 0, 1, 1),
    "False alarm - Good intent": (45, 15, 5, 5, 20, 10),
    "False alarm - Malicious": (30, 20, 5, 0, 35, 10),
    "Special Service": (50, 15, 4, 15, 12, 4),
}
_LFB_PROPERTY_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "Dwelling": (
        "House - single occupancy",
        "Purpose Built Flats/Maisonettes - 4 to 9 storeys",
        "Purpose Built Flats/Maisonettes - Up to 3 storeys",
        "Converted Flat/Maisonettes - 3 or more storeys",
        "Converted Flat/Maisonette - Up to 2 storeys",
        "Purpose Built Flats/Maisonettes - 10 or more storeys",
    ),
    "Non Residential": (
        "Restaurant/cafe",
        "Retail - other",
        "Office",
        "Hospital",
        "Supermarket",
        "Pub/wine bar/bar",
        "Warehouse",
        "Primary school",
    ),
    "Other Residential": (
        "Hotel/motel",
        "Student Hall of Residence",
        "Nursing/Care Home/Hospice",
        "Hostel (e.g. for homeless people)",
    ),
    "Road Vehicle": ("Car", "Van", "Motorcycle", "Bus/coach", "Lorry/HGV"),
    "Outdoor": (
        "Loose refuse",
        "Small refuse/rubbish container",
        "Scrub land",
        "Grass/heathland",
        "Other outdoor items including roadside furniture",
        "Tree scrub",
    ),
    "Outdoor Structure": (
        "Large refuse/rubbish container (eg skip/ paladin)",
        "Fence",
        "Bus shelter",
        "Garden shed",
        "Street cabinet",
    ),
}
_LFB_QUALIFIERS: Final[dict[str, tuple[str, ...]]] = {
    "building": (
        "Within same building",
        "Within same building",
        "Within same building",
        "Correct incident location",
        "On land associated with building",
    ),
    "outside": (
        "In street outside gazetteer location",
        "Open land/water - nearest gazetteer location",
        "In street close to gazetteer location",
        "On land associated with building",
        "Nearby address - street not listed in gazetteer",
    ),
    "road": (
        "In street outside gazetteer location",
        "In street close to gazetteer location",
        "On motorway / elevated road",
        "Nearby address - no building in street",
    ),
}
# The notional cost of one pump hour, pounds, by year (approximate published rates).
_PUMP_HOUR_COST: Final = {2019: 333, 2020: 339, 2021: 346, 2022: 352, 2023: 388, 2024: 399}
_XLSX_CREATED: Final = datetime(2026, 1, 1, tzinfo=UTC)
_POSTCODE_LETTERS: Final = np.frombuffer(b"ABDEFGHJLNPQRSTUWXYZ", dtype=np.uint8)


# --------------------------------------------------------------------- text, vectorised

_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_MONTH_ABBR: Final = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", np.uint8).reshape(12, 3)
_TOKENS: Final = re.compile(r"%.|[^%]+", re.DOTALL)
_NEEDS_QUOTES: Final = '[",\r\n]'


def _digits(values: IntArray, width: int) -> NDArray[np.uint8]:
    """Non-negative integers as zero-padded ASCII digits, one row per value."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = np.asarray(values, dtype=np.int64).copy()
    for column in range(width - 1, -1, -1):
        out[:, column] = 48 + rest % 10
        rest //= 10
    return out


def _width(values: IntArray, least: int) -> int:
    """Digits needed for the largest value, at least ``least``."""
    top = int(values.max()) if len(values) else 0
    return max(least, len(str(top)))


def _literal(text: str, size: int) -> NDArray[np.uint8]:
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return np.broadcast_to(raw, (size, len(raw)))


def _fixed(parts: Sequence[NDArray[np.uint8]], size: int) -> Any:
    """Strings of equal byte length, built column by column, as an Arrow string array."""
    matrix = np.ascontiguousarray(np.hstack(parts) if parts else np.empty((size, 0), np.uint8))
    offsets = np.arange(size + 1, dtype=np.int32) * matrix.shape[1]
    return pa.StringArray.from_buffers(
        size, pa.py_buffer(offsets), pa.py_buffer(matrix.reshape(-1))
    )


def _blank(values: Any, blank: BoolArray | None) -> Any:
    if blank is None or not blank.any():
        return values
    return pc.if_else(pa.array(blank), pa.scalar(None, values.type), values)


def _month_bounds(seconds: IntArray) -> tuple[IntArray, IntArray]:
    """The first instant of each instant's month, and of the month after."""
    months = (seconds // 86_400).astype("datetime64[D]").astype("datetime64[M]")
    first = months.astype("datetime64[D]").astype(np.int64) * 86_400
    following = (months + 1).astype("datetime64[D]").astype(np.int64) * 86_400
    return np.asarray(first, dtype=np.int64), np.asarray(following, dtype=np.int64)


def _calendar(seconds: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month and day of each instant (seconds since 1970, naive local time)."""
    days = (seconds // 86_400).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    number = months.astype(np.int64)
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return number // 12 + 1970, number % 12 + 1, day


def _format_moments(seconds: IntArray, blank: BoolArray | None, fmt: str) -> Any:
    """Instants written with a strftime format: %Y %y %m %d %H %M %S %b and literal text
    are built as bytes; any other format goes through Arrow's strftime."""
    size = len(seconds)
    year, month, day = _calendar(seconds)
    in_day = seconds - (seconds // 86_400) * 86_400
    fields = {
        "%Y": lambda: _digits(year, 4),
        "%y": lambda: _digits(year % 100, 2),
        "%m": lambda: _digits(month, 2),
        "%d": lambda: _digits(day, 2),
        "%H": lambda: _digits(in_day // 3600, 2),
        "%M": lambda: _digits(in_day // 60 % 60, 2),
        "%S": lambda: _digits(in_day % 60, 2),
        "%b": lambda: _MONTH_ABBR[month - 1],
    }
    parts: list[NDArray[np.uint8]] = []
    for piece in _TOKENS.findall(fmt):
        if piece in fields:
            parts.append(fields[piece]())
        elif piece == "%%":
            parts.append(_literal("%", size))
        elif piece.startswith("%"):
            stamps = pa.array(seconds.astype("datetime64[s]"))
            return _blank(pc.strftime(stamps, format=fmt, locale="C"), blank)
        else:
            parts.append(_literal(piece, size))
    return _blank(_fixed(parts, size), blank)


def _decimal_text(values: Any, places: int) -> Any:
    """Floats written with exactly ``places`` decimals (never in exponent form)."""
    numbers = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    missing = ~np.isfinite(numbers)
    safe = np.where(missing, 0.0, numbers)
    scale = 10**places
    scaled = np.rint(np.abs(safe) * scale).astype(np.int64)
    whole = pc.cast(pa.array(scaled // scale), pa.string())
    fraction = _fixed([_digits(scaled % scale, places)], len(numbers))
    sign = pc.if_else(pa.array((safe < 0) & (scaled > 0)), "-", "")
    text = pc.binary_join_element_wise(sign, whole, ".", fraction, "")
    return _blank(text, missing)


# Arrow's CSV writer is fast but never quotes only the cells that need it: such cells are
# given to it with stand-in bytes for their quotes, commas and line breaks, swapped back in
# the written bytes. (A chunk whose text already holds a stand-in byte is joined cell by
# cell instead, which is slower.)
_SPECIALS: Final = (b",", b'"', b"\n", b"\r")
_STAND_INS: Final = (b"\x01", b"\x02", b"\x03", b"\x04")
_RESTORE: Final = bytes.maketrans(b"".join(_STAND_INS), b'",\n\r')


def _scan(text: Any) -> tuple[bool, bool]:
    """Whether a string array's bytes hold a comma, quote or line break (so some cells may
    need quotes), and whether they hold a stand-in byte: a quick scan of the whole buffer."""
    data = text.buffers()[2]
    if data is None or not data.size:
        return False, False
    raw = data.to_pybytes()
    return any(b in raw for b in _SPECIALS), any(b in raw for b in _STAND_INS)


def _quoted(text: Any, needs: Any, *, stand_in: bool) -> Any:
    """The cells marked ``needs`` in quotes, with their quotes doubled (as stand-in bytes
    when ``stand_in``)."""
    if not stand_in:
        wrapped = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        return pc.if_else(needs, wrapped, text)
    inner = pc.replace_substring(text, '"', "\x01\x01")
    for special, replacement in ((",", "\x02"), ("\n", "\x03"), ("\r", "\x04")):
        inner = pc.replace_substring(inner, special, replacement)
    return pc.if_else(needs, pc.binary_join_element_wise("\x01", inner, "\x01", ""), text)


def _csv_chunk(columns: list[Any]) -> Any:
    """The CSV bytes of a chunk of rows: cells quoted only where needed, as spreadsheet
    exports are; floats with a fixed number of decimals."""
    cells: list[tuple[Any, Any]] = []
    plain = True
    for column in columns:
        text = (
            _decimal_text(column, COORDINATE_PLACES)
            if pa.types.is_floating(column.type)
            else column
        )
        needs = None
        if pa.types.is_string(text.type):
            may_quote, holds_stand_in = _scan(text)
            plain = plain and not holds_stand_in
            if may_quote:
                found = pc.fill_null(pc.match_substring_regex(text, _NEEDS_QUOTES), False)
                needs = found if pc.any(found).as_py() else None
        cells.append((text, needs))
    if plain:
        stand_in = any(needs is not None for _, needs in cells)
        arrays = [t if n is None else _quoted(t, n, stand_in=True) for t, n in cells]
        table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
        sink = pa.BufferOutputStream()
        options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
        pa_csv.write_csv(table, sink, options)
        data = sink.getvalue()
        return data.to_pybytes().translate(_RESTORE) if stand_in else data
    texts = []
    for text, needs in cells:
        text = text if pa.types.is_string(text.type) else pc.cast(text, pa.string())
        text = text if needs is None else _quoted(text, needs, stand_in=False)
        texts.append(pc.fill_null(text, ""))
    lines = pc.binary_join_element_wise(*texts, ",") if len(texts) > 1 else texts[0]
    return _string_bytes(pc.binary_join_element_wise(lines, "", "\n"))


def _hex_ids(rng: np.random.Generator, size: int) -> Any:
    """64 lower-case hex digits per row (the shape of a data.police.uk Crime ID)."""
    raw = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    out = np.empty((size, 64), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    return _fixed([out], size)


# Odd and not multiples of 5, so coprime with any power of ten: one per kind of reference,
# so that two references of one row do not share digits.
_MULTIPLIERS: Final = (7_368_787, 3_141_593, 2_718_281, 1_618_033)


def _permuted(index: IntArray, modulus: int, salt: int, stream: int = 0) -> IntArray:
    """Distinct numbers below ``modulus`` (a power of ten) for distinct indexes below it,
    scattered so consecutive rows do not get consecutive references."""
    multiplier = _MULTIPLIERS[stream]
    return np.asarray(
        (index % modulus * multiplier + salt * (stream + 1)) % modulus, dtype=np.int64
    )


def _take(labels: Any, index: IntArray, blank: BoolArray | None = None) -> Any:
    return pc.take(labels, pa.array(index, type=pa.int64(), mask=blank))


def _labels(values: Sequence[str]) -> Any:
    return pa.array(list(values), pa.string())


def _pick(rng: np.random.Generator, weights: Sequence[float] | FloatArray, size: int) -> IntArray:
    """Indexes drawn with the given (relative) weights."""
    return _quantile(np.asarray(weights, dtype=np.float64), rng.random(size))


def _quantile(weights: FloatArray, uniform: FloatArray) -> IntArray:
    """Indexes drawn with the given weights from given uniform numbers (inverse CDF)."""
    cdf = np.cumsum(weights)
    found = np.searchsorted(cdf, uniform * cdf[-1], side="right")
    return np.minimum(found, len(cdf) - 1).astype(np.int64)


def _lognormal(
    rng: np.random.Generator, median: FloatArray | float, sigma: float, size: int
) -> FloatArray:
    return np.asarray(median * np.exp(sigma * rng.standard_normal(size)), dtype=np.float64)


# ---------------------------------------------------------------------- generation state


@dataclass(frozen=True)
class _Moments:
    """The instants of a temporal field (seconds since 1970, London local time, naive);
    written with the layout's date format for the field. ``blank`` marks empty cells."""

    seconds: IntArray
    blank: BoolArray | None = None


Column = Any  # an Arrow array (string, int64 or float64) or _Moments


class _Context:
    """What the generators of one file share: the spec, the months, the places, the
    calendar cells each rhythm samples from, and the running state of daily reference
    sequences (so references stay unique from chunk to chunk)."""

    def __init__(
        self, spec: DatasetSpec, months: list[date], places: Places, seed: int, rows: int
    ) -> None:
        self.spec, self.layout, self.places = spec, spec.layouts[0], places
        self.months, self.seed, self.rows = months, seed, rows
        self.salt = (zlib.crc32(spec.id.encode()) ^ seed) % 1_000_003
        spans = []
        for month in months:
            first = np.datetime64(month, "D")
            following = (first.astype("datetime64[M]") + 1).astype("datetime64[D]")
            spans.append(np.arange(first, following))
        self.days = np.concatenate(spans)
        self.day_number = self.days.astype(np.int64)
        self.day_seconds = self.day_number * 86_400
        self.day_month = self.days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        self.day_weekday = (self.day_number + 3) % 7  # 1 January 1970 was a Thursday
        day_of_month = (self.days - self.days.astype("datetime64[M]")).astype(np.int64) + 1
        self.bonfire = ((self.day_month == 10) & (day_of_month == 31)) | (
            (self.day_month == 11) & (day_of_month == 5)
        )
        self.month_numbers = np.array([np.datetime64(m, "M").astype(np.int64) for m in months])
        self.centrality = np.array([_BOROUGHS[str(b)].centrality for b in places.borough_code])
        self.keys = _code_keys(
            np.where(places.lsoa_code != "", places.lsoa_code, places.borough_code)
        )
        self._cdfs: dict[str, FloatArray] = {}
        self._place_cdfs: dict[tuple[str, int], tuple[IntArray, FloatArray]] = {}
        self._daily: dict[str, dict[int, int]] = {}
        self._per_place: dict[str, TextArray] = {}
        self._place_labels: dict[str, tuple[Any, BoolArray]] = {}
        self._stations: IntArray | None = None

    # --- time

    def _cdf(self, name: str) -> FloatArray:
        if name not in self._cdfs:
            rhythm = _RHYTHMS[name]
            per_day = rhythm.season(self.day_month) * np.array(rhythm.weekdays)[self.day_weekday]
            per_day = per_day * np.where(self.bonfire, rhythm.bonfire, 1.0)
            cells = per_day[:, None] * np.array(rhythm.hours)[None, :]
            weekend = np.zeros((7, 24))
            weekend[4, 20:] = weekend[5, :5] = weekend[5, 20:] = weekend[6, :5] = 1.0
            cells *= 1.0 + (rhythm.weekend_nights - 1.0) * weekend[self.day_weekday]
            dark = (
                np.isin(self.day_month, (10, 11, 12, 1, 2))[:, None]
                & ((np.arange(24) >= 16) & (np.arange(24) < 20))[None, :]
            )
            cells *= np.where(dark, rhythm.dark_evenings, 1.0)
            self._cdfs[name] = np.cumsum(cells.ravel())
        return self._cdfs[name]

    def times(self, rng: np.random.Generator, rhythm: str, size: int) -> IntArray:
        """Instants within the months, following the rhythm (to the second)."""
        cdf = self._cdf(rhythm)
        cell = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
        cell = np.minimum(cell, len(cdf) - 1)
        day, hour = cell // 24, cell % 24
        return np.asarray(
            self.day_seconds[day] + hour * 3600 + rng.integers(0, 3600, size), dtype=np.int64
        )

    def offence_times(self, rng: np.random.Generator, offences: IntArray) -> IntArray:
        out = np.empty(len(offences), dtype=np.int64)
        rhythms = _OFF_RHYTHM[offences]
        for number in np.unique(rhythms):
            chosen = rhythms == number
            out[chosen] = self.times(rng, _RHYTHM_NAMES[number], int(chosen.sum()))
        return out

    def in_months(self, seconds: IntArray) -> BoolArray:
        month = (seconds // 86_400).astype("datetime64[D]").astype("datetime64[M]")
        return np.isin(month.astype(np.int64), self.month_numbers)

    def later(
        self, seconds: IntArray, lag_days: IntArray, *, within: IntArray | None = None
    ) -> IntArray:
        """The day ``lag_days`` after each instant (midnight), kept within the months: a
        date that would fall outside them is the day of ``within`` (an instant known to
        be within them; by default the instant itself)."""
        moved = seconds // 86_400 * 86_400 + lag_days * 86_400
        fallback = (seconds if within is None else within) // 86_400 * 86_400
        return np.where(self.in_months(moved), moved, fallback)

    # --- places

    def place_cdf(self, subset: str, where: int) -> tuple[IntArray, FloatArray]:
        key = (subset, where)
        if key not in self._place_cdfs:
            index = np.flatnonzero(_subset_mask(self.places, subset))
            weight = self.places.weight[index]
            if _WHERE[where] == "central":
                weight = weight * self.centrality[index]
            elif _WHERE[where] == "residential":
                weight = weight / np.sqrt(self.centrality[index])
            self._place_cdfs[key] = index.astype(np.int64), np.cumsum(weight)
        return self._place_cdfs[key]

    def sample_places(
        self, rng: np.random.Generator, size: int, subset: str, where: IntArray | int = 0
    ) -> IntArray:
        wheres = np.broadcast_to(np.asarray(where, dtype=np.int64), (size,))
        out = np.empty(size, dtype=np.int64)
        for number in np.unique(wheres):
            chosen = wheres == number
            index, cdf = self.place_cdf(subset, int(number))
            found = np.searchsorted(cdf, rng.random(int(chosen.sum())) * cdf[-1], side="right")
            out[chosen] = index[np.minimum(found, len(index) - 1)]
        return out

    def points(
        self, rng: np.random.Generator, place: IntArray, scale: float = 1.0
    ) -> tuple[FloatArray, FloatArray]:
        """Grid points spread around each place's centroid (easting, northing; metres)."""
        spread = self.places.spread_m[place] * scale
        dx = np.clip(rng.standard_normal(len(place)), -2.5, 2.5) * spread
        dy = np.clip(rng.standard_normal(len(place)), -2.5, 2.5) * spread
        return self.places.easting[place] + dx, self.places.northing[place] + dy

    def per_place(self, kind: str) -> TextArray:
        """Text fixed per place: its borough's name, or the postcode district, fire
        station ground and neighbouring station it is given (from its code, so the same
        in every file)."""
        if kind not in self._per_place:
            values = []
            for code, key in zip(
                self.places.borough_code.tolist(), self.keys.tolist(), strict=True
            ):
                facts = _BOROUGHS[code]
                if kind == "borough_name":
                    values.append(geo_codes.BOROUGHS[code])
                elif kind == "district":
                    values.append(facts.districts[key % len(facts.districts)])
                else:
                    turn = 1 if kind == "neighbour" else 0
                    values.append(facts.stations[(key + turn) % len(facts.stations)])
            self._per_place[kind] = _text_array(values)
        return self._per_place[kind]

    def at_places(self, name: str, place: IntArray) -> Any:
        """A text of each row's place (a Places attribute such as ``ward_code``, or a
        :meth:`per_place` kind), blank where the place has none."""
        if name not in self._place_labels:
            fixed = name in ("borough_name", "district", "ground", "neighbour")
            values = self.per_place(name) if fixed else getattr(self.places, name)
            self._place_labels[name] = pa.array(values.tolist(), pa.string()), values == ""
        labels, empty = self._place_labels[name]
        blank = empty[place]
        return pc.take(labels, pa.array(place, mask=blank if blank.any() else None))

    def station_places(self) -> IntArray:
        """For each rail station, the place whose centroid is nearest it."""
        if self._stations is None:
            lon = np.array([row[2] for row in _RAIL])
            lat = np.array([row[3] for row in _RAIL])
            easting, northing = engine.wgs84_to_bng(lon, lat)
            de = easting[:, None] - self.places.easting[None, :]
            dn = northing[:, None] - self.places.northing[None, :]
            self._stations = np.argmin(de * de + dn * dn, axis=1).astype(np.int64)
        return self._stations

    # --- codes and references

    def coded(self, field: str, weights: Mapping[str, float]) -> tuple[Any, FloatArray]:
        """The values a field may take, with their weights: the field's code list when the
        spec has one (codes not weighted here get none), else the keys given."""
        spec_field = self.spec.field(field)
        allowed = self.spec.code_values(spec_field) if spec_field is not None else None
        if allowed is None:
            codes, weight = list(weights), np.array(list(weights.values()), dtype=np.float64)
        else:
            codes = [value.code for value in allowed]
            weight = np.array([weights.get(code, 0.0) for code in codes], dtype=np.float64)
            if not weight.sum():
                weight = np.ones(len(codes))
        return _labels(codes), weight

    def pick_code(
        self,
        rng: np.random.Generator,
        field: str,
        weights: Mapping[str, float],
        size: int,
    ) -> tuple[Any, Any]:
        """Codes drawn for ``field``: (the chosen values, the list of codes as text)."""
        labels, weight = self.coded(field, weights)
        index = _pick(rng, weight, size)
        return labels, index

    def daily_sequence(self, name: str, seconds: IntArray) -> IntArray:
        """1, 2, 3... per calendar day, continuing across chunks: day-numbered references
        (CAD numbers, LFB incident numbers) stay unique in the whole file."""
        counts = self._daily.setdefault(name, {})
        day = seconds // 86_400
        order = np.argsort(day, kind="stable")
        days, first, size = np.unique(day[order], return_index=True, return_counts=True)
        carried = np.array([counts.get(int(d), 0) for d in days], dtype=np.int64)
        ranks = np.arange(len(day)) - np.repeat(first, size) + np.repeat(carried, size)
        out = np.empty(len(day), dtype=np.int64)
        out[order] = ranks + 1
        for d, total in zip(days.tolist(), (carried + size).tolist(), strict=True):
            counts[d] = total
        return out

    def crime_references(self, index: IntArray, seconds: IntArray) -> Any:
        """Metropolitan Police CRIS-style references: seven digits and the year (5201234/24)."""
        year, _, _ = _calendar(seconds)
        size = len(index)
        number = _permuted(index, 10**7, self.salt)
        return _fixed([_digits(number, 7), _literal("/", size), _digits(year % 100, 2)], size)


# ------------------------------------------------------------------------- generators

Generator = Callable[[_Context, np.random.Generator, int, int], dict[str, Column]]


_YES_NO: Final = pa.array([YES, NO], pa.string())


def _yes_no(flags: BoolArray) -> Any:
    return pc.take(_YES_NO, pa.array(np.where(flags, 0, 1)))


def _ints(values: IntArray | FloatArray, blank: BoolArray | None = None) -> Any:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=blank)


def _floats(values: FloatArray, blank: BoolArray | None = None) -> Any:
    return pa.array(np.round(values, COORDINATE_PLACES), type=pa.float64(), mask=blank)


def _lonlat(easting: FloatArray, northing: FloatArray) -> tuple[FloatArray, FloatArray]:
    lon, lat = engine.bng_to_wgs84(easting, northing)
    (lon_min, lon_max), (lat_min, lat_max) = geo_codes.LONDON_LON, geo_codes.LONDON_LAT
    return np.clip(lon, lon_min, lon_max), np.clip(lat, lat_min, lat_max)


def _offence_columns(offences: IntArray) -> dict[str, Column]:
    return {
        "major_category": pc.take(_OFF_MAJOR, pa.array(offences)),
        "minor_category": pc.take(_OFF_MINOR, pa.array(offences)),
    }


def _recorded_crime(
    ctx: _Context, rng: np.random.Generator, start: int, size: int
) -> dict[str, Column]:
    offences = _pick(rng, _mix({}), size)
    place = ctx.sample_places(rng, size, "mps", _OFF_WHERE[offences])
    committed = ctx.offence_times(rng, offences)
    # Burglary, vehicle crime and damage are found later: a window, not an instant.
    windowed = np.isin(
        _OFF_RHYTHM[offences], (_RHYTHM_NAMES.index("overnight"), _RHYTHM_NAMES.index("evening"))
    )
    window = np.where(windowed, _lognormal(rng, 5 * 3600.0, 0.8, size), 0.0).astype(np.int64)
    committed_from = committed // 60 * 60
    committed_to = committed_from + window // 60 * 60
    recorded = ctx.later(committed_to, rng.geometric(0.6, size) - 1, within=committed_from)
    code = _OFF_CODE_START[offences] + (rng.random(size) * _OFF_CODE_COUNT[offences]).astype(
        np.int64
    )
    easting, northing = ctx.points(rng, place)
    return {
        "crime_reference": ctx.crime_references(start + np.arange(size), recorded),
        "recorded_date": _Moments(recorded),
        "committed_from": _Moments(committed_from),
        "committed_to": _Moments(committed_to),
        **_offence_columns(offences),
        "offence_code": pc.take(_OFF_CODES, pa.array(code)),
        "domestic_abuse": _yes_no(rng.random(size) < _OFF_DOMESTIC[offences]),
        "knife_crime": _yes_no(rng.random(size) < _OFF_KNIFE[offences]),
        "easting": _ints(np.rint(easting)),
        "northing": _ints(np.rint(northing)),
    }


def _colp_crime(
    ctx: _Context, rng: np.random.Generator, start: int, size: int
) -> dict[str, Column]:
    offences = _pick(rng, _mix(_COLP_MIX), size)
    place = ctx.sample_places(rng, size, "city")
    committed = ctx.offence_times(rng, offences)
    recorded = ctx.later(committed, rng.geometric(0.55, size) - 1)
    year, _, _ = _calendar(recorded)
    number = _permuted(start + np.arange(size), 10**7, ctx.salt)
    reference = _fixed(
        [_literal("COL", size), _digits(year % 100, 2), _literal("/", size), _digits(number, 7)],
        size,
    )
    easting, northing = ctx.points(rng, place, scale=0.5)
    return {
        "crime_reference": reference,
        "recorded_date": _Moments(recorded),
        "committed_date": _Moments(committed // 86_400 * 86_400, rng.random(size) < 0.05),
        **_offence_columns(offences),
        "easting": _ints(np.rint(easting)),
        "northing": _ints(np.rint(northing)),
    }


def _crime_outcomes(
    ctx: _Context, rng: np.random.Generator, start: int, size: int
) -> dict[str, Column]:
    offences = _pick(rng, _mix({}), size)
    place = ctx.sample_places(rng, size, "mps", _OFF_WHERE[offences])
    outcome = ctx.times(rng, "office", size) // 86_400 * 86_400
    general_labels, general_weight = ctx.coded("outcome_type", _OUTCOMES)
    proactive_labels, proactive_weight = ctx.coded("outcome_type", _PROACTIVE_OUTCOMES)
    proactive = _PROACTIVE[offences]
    general_pick = _take(general_labels, _pick(rng, general_weight, size))
    proactive_pick = _take(proactive_labels, _pick(rng, proactive_weight, size))
    outcome_type = pc.if_else(pa.array(proactive), proactive_pick, general_pick)
    # No suspect identified is decided within weeks; a charge takes months.
    quick = pc.equal(outcome_type, "18").to_numpy(zero_copy_only=False)
    lag = rng.exponential(np.where(quick, 20.0, np.where(proactive, 45.0, 90.0))).astype(np.int64)
    recorded = outcome - lag * 86_400
    return {
        "crime_reference": ctx.crime_references(start + np.arange(size), recorded),
        "recorded_date": _Moments(recorded),
        "outcome_date": _Moments(outcome),
        "outcome_type": outcome_type,
        **_offence_columns(offences),
        "borough_code": ctx.at_places("borough_code", place),
    }


_SEXES: Final = pa.array(["M", "F", "U"], pa.string())


def _people(
    ctx: _Context,
    rng: np.random.Generator,
    start: int,
    size: int,
    *,
    mix: FloatArray,
    shared: float,
    prefix: str,
    ages: Mapping[str, float],
    ethnicity: Mapping[str, float],
    male: float,
    male_sexual: float,
    male_domestic: float,
    people: float,
) -> dict[str, Column]:
    """Victim or suspect records: several rows can share a crime (group offending,
    several victims), each row a person with an ethnicity, sex and broad age."""
    new_crime = rng.random(size) >= shared
    if size:
        new_crime[0] = True
    crime = np.cumsum(new_crime) - 1
    first_row = np.flatnonzero(new_crime)
    crimes = len(first_row)
    offences = _pick(rng, mix, crimes)
    place = ctx.sample_places(rng, crimes, "mps", _OFF_WHERE[offences])
    committed = ctx.offence_times(rng, offences)
    recorded = ctx.later(committed, rng.geometric(0.6, crimes) - 1)
    reference = ctx.crime_references(start + first_row, recorded)
    row_offence = offences[crime]
    sexual = np.array([o.major == "Sexual Offences" for o in _OFFENCES])[row_offence]
    domestic = rng.random(size) < _OFF_DOMESTIC[row_offence]
    p_male = np.where(sexual, male_sexual, np.where(domestic, male_domestic, male))
    # People recur (repeat victims, prolific suspects): a person's sex, ethnicity and age
    # come from their number, so they are the same on every row.
    who = rng.integers(0, max(1, int(ctx.rows * people)), size)
    key = (who ^ ctx.salt).astype(np.uint32)
    draw = _unit(key, 21)
    sex = pc.take(_SEXES, pa.array(np.where(draw < p_male * 0.98, 0, np.where(draw < 0.98, 1, 2))))
    age_labels, age_weight = ctx.coded("age_range", ages)
    eth_labels, eth_weight = ctx.coded("ethnicity", ethnicity)
    age_index = _quantile(age_weight, _unit(key, 22))
    eth_index = _quantile(eth_weight, _unit(key, 23))
    person = _permuted(who, 10**9, ctx.salt, 1)
    own = _permuted(start + np.arange(size), 10**8, ctx.salt, 2)
    return {
        f"{'victim' if prefix == 'V' else 'suspect'}_reference": _fixed(
            [_literal(prefix, size), _digits(own, 8)], size
        ),
        "crime_reference": pc.take(reference, pa.array(crime)),
        "person_reference": _blank(_fixed([_digits(person, 9)], size), rng.random(size) < 0.03),
        "recorded_date": _Moments(recorded[crime]),
        "ethnicity": _take(eth_labels, eth_index),
        "sex": _restrict(ctx, "sex", sex),
        "age_range": _take(age_labels, age_index),
        **_offence_columns(row_offence),
        "ward_code": ctx.at_places("ward_code", place[crime]),
    }


def _restrict(ctx: _Context, field: str, values: Any) -> Any:
    """Values kept only where they are codes of the field (others left blank)."""
    spec_field = ctx.spec.field(field)
    allowed = ctx.spec.code_values(spec_field) if spec_field is not None else None
    if allowed is None:
        return values
    return _blank(
        values,
        ~pc.is_in(values, pa.array([v.code for v in allowed])).to_numpy(zero_copy_only=False),
    )


def _victims(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    return _people(
        ctx,
        rng,
        start,
        size,
        mix=_mix(_VICTIM_MIX, default=0.0),
        shared=0.08,
        prefix="V",
        ages=_VICTIM_AGES,
        ethnicity=_VICTIM_ETHNICITY,
        male=0.55,
        male_sexual=0.12,
        male_domestic=0.25,
        people=4.0,  # about one victim record in nine is a repeat victim's
    )


def _suspects(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    return _people(
        ctx,
        rng,
        start,
        size,
        mix=_mix(_SUSPECT_MIX),
        shared=0.2,
        prefix="S",
        ages=_SUSPECT_AGES,
        ethnicity=_SUSPECT_ETHNICITY,
        male=0.84,
        male_sexual=0.97,
        male_domestic=0.8,
        people=2.0,  # about one suspect record in five is a repeat suspect's
    )


def _patient_ages(rng: np.random.Generator, size: int) -> IntArray:
    band = _pick(rng, [weight for _, _, weight in _PATIENT_AGES], size)
    low = np.array([low for low, _, _ in _PATIENT_AGES])[band]
    high = np.array([high for _, high, _ in _PATIENT_AGES])[band]
    return np.asarray(low + (rng.random(size) * (high - low + 1)).astype(np.int64), dtype=np.int64)


def _day_references(
    ctx: _Context, name: str, seconds: IntArray, stride: int, rng: np.random.Generator
) -> IntArray:
    """Numbers counting up through each day with gaps (the dataset is a slice of all the
    calls), unique within the day."""
    sequence = ctx.daily_sequence(name, seconds)
    return np.asarray(
        (sequence - 1) * stride + rng.integers(0, stride, len(seconds)) + 1, dtype=np.int64
    )


def _las(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    call = ctx.times(rng, "night", size)
    place = ctx.sample_places(rng, size, "all")
    injury_labels, injury = ctx.pick_code(rng, "injury_type", _INJURIES, size)
    injury_text = _take(injury_labels, injury)
    urgent = pc.is_in(injury_text, pa.array(["stab", "gunshot"])).to_numpy(zero_copy_only=False)
    response = _lognormal(rng, np.where(urgent, 450.0, 960.0), 0.5, size).astype(np.int64)
    sex_labels, sex = ctx.pick_code(rng, "sex", {"M": 68, "F": 29, "U": 3}, size)
    year, month, day = _calendar(call)
    number = _day_references(ctx, "las", call, 3, rng)
    width = _width(number, 4)
    reference = _fixed(
        [
            _digits(year % 100, 2),
            _digits(month, 2),
            _digits(day, 2),
            _literal("/", size),
            _digits(number, width),
        ],
        size,
    )
    easting, northing = ctx.points(rng, place)
    lon, lat = _lonlat(easting, northing)
    return {
        "incident_number": reference,
        "call_at": _Moments(call),
        "arrived_at": _Moments(call + response, rng.random(size) < 0.05),
        "injury_type": injury_text,
        "age_band": _ints(_patient_ages(rng, size), rng.random(size) < 0.04),
        "sex": _take(sex_labels, sex),
        "latitude": _floats(lat),
        "longitude": _floats(lon),
    }


def _asb(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    reported = ctx.times(rng, "asb", size)
    place = ctx.sample_places(rng, size, "mps")
    type_labels, kind = ctx.pick_code(rng, "asb_type", _ASB_TYPES, size)
    kind_text = _take(type_labels, kind)
    kinds = type_labels.to_pylist()
    description = pa.nulls(size, pa.string())
    for name, table in _ASB_DESCRIPTIONS.items():
        chosen = kind == kinds.index(name) if name in kinds else np.zeros(size, np.bool_)
        if chosen.any():
            picked = _take(_labels(list(table)), _pick(rng, list(table.values()), size))
            description = pc.if_else(pa.array(chosen), picked, description)
    grade_labels, grade = ctx.pick_code(rng, "response_grade", _ASB_GRADES, size)
    grades = grade_labels.to_pylist()
    # Seconds to arrive, typically, per grade; grades not listed (Referred) get no visit.
    median = np.array([_ASB_RESPONSE_MEDIAN_S.get(str(g), np.nan) for g in grades])[grade]
    response = _lognormal(rng, np.nan_to_num(median), 0.6, size).astype(np.int64)
    unattended = np.isnan(median) | (rng.random(size) < 0.08)
    year, month, day = _calendar(reported)
    number = _day_references(ctx, "asb", reported, 5, rng)
    reference = _fixed(
        [
            _literal("CAD", size),
            _digits(number, _width(number, 4)),
            _literal("/", size),
            _digits(day, 2),
            _MONTH_ABBR[month - 1],
            _digits(year % 100, 2),
        ],
        size,
    )
    easting, northing = ctx.points(rng, place)
    return {
        "incident_reference": reference,
        "reported_at": _Moments(reported),
        "arrived_at": _Moments(reported + response, unattended),
        "response_seconds": _ints(response, unattended),
        "response_grade": _take(grade_labels, grade),
        "asb_type": kind_text,
        "incident_description": description,
        "easting": _ints(np.rint(easting)),
        "northing": _ints(np.rint(northing)),
    }


def _police_uk(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    asb = rng.random(size) < 0.22
    offences = _pick(rng, _mix({}), size)
    where = np.where(asb, 0, _OFF_WHERE[offences])
    place = ctx.sample_places(rng, size, "all", where)
    when = np.empty(size, dtype=np.int64)
    when[asb] = ctx.times(rng, "asb", int(asb.sum()))
    when[~asb] = ctx.offence_times(rng, offences[~asb])
    month, _ = _month_bounds(when)
    crime_type = pc.if_else(
        pa.array(asb),
        pa.scalar("Anti-social behaviour"),
        pc.take(_labels([o.police_uk for o in _OFFENCES]), pa.array(offences)),
    )
    crime_type = _restrict(ctx, "crime_type", crime_type)
    # Every LSOA has a few fixed anonymous map points, each on a named street or place.
    point = rng.integers(0, _MAP_POINTS_PER_LSOA, size)
    keys = ctx.keys[place]
    spread = ctx.places.spread_m[place] * 0.7
    dx = (_unit(keys ^ point.astype(np.uint32), 11) - 0.5) * 2 * spread
    dy = (_unit(keys ^ point.astype(np.uint32), 12) - 0.5) * 2 * spread
    lon, lat = _lonlat(ctx.places.easting[place] + dx, ctx.places.northing[place] + dy)
    street = (keys.astype(np.int64) + 13 * point) % len(_MAP_POINT_NAMES)
    location = pc.binary_join_element_wise(
        "On or near", pc.take(_MAP_POINT_NAMES, pa.array(street)), " "
    )
    lsoa_place = place.copy()
    force = np.where(ctx.places.borough_code[place] == CITY, 1, 0)
    # British Transport Police rows: at a station, in the LSOA nearest to it.
    btp = ~asb & (rng.random(size) < 0.03)
    if btp.any():
        chosen = _pick(rng, [row[4] for row in _RAIL], int(btp.sum()))
        lon[btp] = np.array([row[2] for row in _RAIL])[chosen]
        lat[btp] = np.array([row[3] for row in _RAIL])[chosen]
        names = pa.array([f"On or near {row[0]}" for row in _RAIL])
        location = pc.replace_with_mask(location, pa.array(btp), pc.take(names, pa.array(chosen)))
        lsoa_place[btp] = ctx.station_places()[chosen]
        force[btp] = 2
    nowhere = rng.random(size) < 0.015
    location = pc.if_else(pa.array(nowhere), pa.scalar("No Location"), location)
    no_lsoa = nowhere | (ctx.places.lsoa_code[lsoa_place] == "")
    outcome_labels, outcome = ctx.pick_code(rng, "last_outcome_category", _POLICE_UK_OUTCOMES, size)
    forces = pc.take(_labels(_FORCES), pa.array(force))
    return {
        "crime_id": _blank(_hex_ids(rng, size), asb),
        "month": _Moments(month),
        "reported_by": forces,
        "falls_within": forces,
        "longitude": _floats(lon, nowhere),
        "latitude": _floats(lat, nowhere),
        "location": location,
        "lsoa_code": _blank(ctx.at_places("lsoa_code", lsoa_place), no_lsoa),
        "lsoa_name": _blank(ctx.at_places("lsoa_name", lsoa_place), no_lsoa),
        "crime_type": crime_type,
        "last_outcome_category": _take(outcome_labels, outcome, asb),
        "context": pa.nulls(size, pa.string()),
    }


def _transport(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    offences = _pick(rng, _mix(_TRANSPORT_MIX), size)
    committed = ctx.times(rng, "commute", size)
    violent = _OFF_RHYTHM[offences] == _RHYTHM_NAMES.index("night")
    committed = np.where(violent, ctx.times(rng, "night", size), committed)
    stop = _pick(rng, [row[4] for row in _TRANSPORT], size)
    modes = sorted({row[1] for row in _TRANSPORT})
    mode = np.array([modes.index(row[1]) for row in _TRANSPORT])[stop]
    bus = mode == modes.index("bus")
    lon0 = np.array([row[2] for row in _TRANSPORT])[stop]
    lat0 = np.array([row[3] for row in _TRANSPORT])[stop]
    e0, n0 = engine.wgs84_to_bng(lon0, lat0)
    spread = np.where(bus, _ROUTE_SPREAD_M, _STATION_SPREAD_M)
    e = e0 + np.clip(rng.standard_normal(size), -2.5, 2.5) * spread
    n = n0 + np.clip(rng.standard_normal(size), -2.5, 2.5) * spread
    lon, lat = _lonlat(e, n)
    mps = bus | (mode == modes.index("tram"))
    year, _, _ = _calendar(committed)
    number = _permuted(start + np.arange(size), 10**7, ctx.salt)
    btp_ref = _fixed(
        [_literal("BTP-", size), _digits(year % 100, 2), _literal("-", size), _digits(number, 7)],
        size,
    )
    reference = pc.if_else(
        pa.array(~mps), btp_ref, ctx.crime_references(start + np.arange(size), committed)
    )
    minor = _blank(pc.take(_OFF_MINOR, pa.array(offences)), rng.random(size) < 0.02)
    return {
        "crime_reference": reference,
        "force": _restrict(
            ctx, "force", pc.take(_labels(["MPS", "BTP"]), pa.array(np.where(mps, 0, 1)))
        ),
        "committed_date": _Moments(committed // 86_400 * 86_400),
        "committed_time": _Moments(committed, rng.random(size) < 0.08),
        "mode": _restrict(ctx, "mode", pc.take(_labels(modes), pa.array(mode))),
        "station_or_route": pa.array([row[0] for row in _TRANSPORT]).take(pa.array(stop)),
        "major_category": pc.take(_OFF_MAJOR, pa.array(offences)),
        "minor_category": minor,
        "latitude": _floats(lat),
        "longitude": _floats(lon),
    }


def _istv(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    arrival = ctx.times(rng, "night", size)
    delay = np.clip(_lognormal(rng, 75 * 60.0, 0.9, size), 600, 3 * 86_400).astype(np.int64)
    assault = (arrival - delay) // 60 * 60
    first, following = _month_bounds(arrival)
    last = following - 86_400
    site_labels, site = ctx.pick_code(rng, "site_code", _EMERGENCY_DEPARTMENTS, size)
    method_labels, method = ctx.pick_code(rng, "assault_method", _ASSAULT_METHODS, size)
    method_text = _take(method_labels, method)
    other = pc.equal(method_text, "06").to_numpy(zero_copy_only=False)
    other_text = _take(_labels(_OTHER_METHODS), rng.integers(0, len(_OTHER_METHODS), size), ~other)
    type_labels, kind = ctx.pick_code(rng, "assault_location_type", _LOCATION_TYPES, size)
    kind_text = _take(type_labels, kind)
    # A description fitting the location type (none for "not known").
    table = np.array([_index_or(_LOCATION_TEMPLATES, code) for code in type_labels.to_pylist()])
    which = table[kind]
    unknown = which < 0
    templates = _within(rng, _LOCATION_FLAT, np.where(unknown, 0, which))
    street = _take(_labels(_STREETS), rng.integers(0, len(_STREETS), size))
    needs_street = pc.match_substring_regex(templates, " (on|off|near)$")
    place_text = pc.if_else(
        needs_street, pc.binary_join_element_wise(templates, street, " "), templates
    )
    return {
        "reporting_period_start": _Moments(first),
        "reporting_period_end": _Moments(last),
        "site_code": _take(site_labels, site),
        "arrival_at": _Moments(arrival // 60 * 60),
        "assault_at": _Moments(assault),
        "assault_method": method_text,
        "assault_method_other": other_text,
        "assault_location_type": kind_text,
        "assault_location_description": _blank(place_text, unknown | (rng.random(size) < 0.05)),
    }


def _index_or(items: Sequence[str], item: str, missing: int = -1) -> int:
    return items.index(item) if item in items else missing


def _flat(tables: Sequence[Sequence[str]]) -> tuple[Any, IntArray, IntArray]:
    """Lists of labels flattened into one: (labels, start of each list, length of each)."""
    sizes = np.array([len(table) for table in tables], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return _labels([label for table in tables for label in table]), starts, sizes


_LOCATION_FLAT: Final = _flat(list(_LOCATION_DESCRIPTIONS.values()))
_LFB_STOP_NAMES: Final = [stop for table in _LFB_STOP_CODES.values() for stop in table]
_LFB_TYPES: Final = _flat([_LFB_PROPERTY_TYPES[c] for c in _LFB_CATEGORIES])
_LFB_QUALIFIER_KINDS: Final = ("building", "building", "building", "road", "outside", "outside")
_LFB_QUALIFIER_LISTS: Final = _flat([_LFB_QUALIFIERS[kind] for kind in _LFB_QUALIFIER_KINDS])


def _within(
    rng: np.random.Generator, tables: tuple[Any, IntArray, IntArray], which: IntArray
) -> Any:
    """A label drawn evenly from list ``which`` of flattened lists, per row."""
    labels, starts, sizes = tables
    index = starts[which] + (rng.random(len(which)) * sizes[which]).astype(np.int64)
    return pc.take(labels, pa.array(index))


def _lfb(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    group_labels, group = ctx.pick_code(rng, "incident_group", _LFB_GROUPS, size)
    group_text = _take(group_labels, group)
    group_names = group_labels.to_pylist()

    def of_group(name: str) -> BoolArray:
        return group == group_names.index(name) if name in group_names else np.zeros(size, bool)

    stop = np.zeros(size, dtype=np.int64)
    offset = 0
    for name, table in _LFB_STOP_CODES.items():
        chosen = of_group(name)
        stop[chosen] = offset + _pick(rng, list(table.values()), int(chosen.sum()))
        offset += len(table)
    secondary = stop == _LFB_STOP_NAMES.index("Secondary Fire")
    call = np.where(secondary, ctx.times(rng, "outdoor_fire", size), ctx.times(rng, "fire", size))
    place = ctx.sample_places(rng, size, "all", _WHERE.index("residential"))
    category = np.zeros(size, dtype=np.int64)
    for position, name in enumerate(_LFB_STOP_NAMES):
        chosen = stop == position
        category[chosen] = _pick(rng, _LFB_CATEGORY_MIX[name], int(chosen.sum()))
    dwelling = category == _LFB_CATEGORIES.index("Dwelling")
    special = of_group("Special Service")
    services = list(_LFB_SPECIAL_SERVICES)
    service = _take(
        _labels(services), _pick(rng, list(_LFB_SPECIAL_SERVICES.values()), size), ~special
    )
    district = ctx.at_places("district", place)
    unit = _POSTCODE_LETTERS[rng.integers(0, len(_POSTCODE_LETTERS), (size, 2))]
    postcode = pc.binary_join_element_wise(
        district, _fixed([_digits(rng.integers(0, 10, size), 1), unit], size), " "
    )
    ground, neighbour = ctx.at_places("ground", place), ctx.at_places("neighbour", place)
    fire = of_group("Fire")
    big = fire & ~secondary
    pumps = np.where(
        big,
        np.array([1, 2, 3, 4, 6, 8])[_pick(rng, [35, 45, 10, 5, 3, 2], size)],
        np.array([1, 2])[_pick(rng, [70, 30], size)],
    )
    stations_attending = np.minimum(pumps, 1 + rng.binomial(np.maximum(pumps - 1, 0), 0.5))
    hours = np.where(fire, _lognormal(rng, 1.2, 0.7, size), _lognormal(rng, 0.4, 0.5, size))
    pump_hours = np.maximum(1, np.ceil(pumps * hours)).astype(np.int64)
    year, month, day = _calendar(call)
    years = np.arange(2000, 2101)
    rate = np.array([_PUMP_HOUR_COST.get(int(y), 399 + 12 * (int(y) - 2024)) for y in years])
    first_time = np.clip(_lognormal(rng, 320.0, 0.35, size), 60, 1500).astype(np.int64)
    gap = np.clip(_lognormal(rng, 90.0, 0.6, size), 10, 1200).astype(np.int64)
    no_first = rng.random(size) < 0.02
    no_second = no_first | (pumps < 2)
    exact_e, exact_n = (np.rint(axis) for axis in ctx.points(rng, place))
    lon, lat = _lonlat(exact_e, exact_n)
    number = ctx.daily_sequence("lfb", call)
    reference = _fixed(
        [
            _digits(number, _width(number, 6)),
            _literal("-", size),
            _digits(day, 2),
            _digits(month, 2),
            _digits(year, 4),
        ],
        size,
    )
    uprn = _fixed([_literal("100", size), _digits(rng.integers(0, 10**9, size), 9)], size)
    usrn = _fixed([_literal("2", size), _digits(rng.integers(0, 10**7, size), 7)], size)
    return {
        "incident_number": reference,
        "date_of_call": _Moments(call // 86_400 * 86_400),
        "cal_year": _ints(year),
        "time_of_call": _Moments(call),
        "hour_of_call": _ints(call % 86_400 // 3600),
        "incident_group": group_text,
        "stop_code_description": pc.take(_labels(_LFB_STOP_NAMES), pa.array(stop)),
        "special_service_type": service,
        "property_category": pc.take(_labels(_LFB_CATEGORIES), pa.array(category)),
        "property_type": _within(rng, _LFB_TYPES, category),
        "address_qualifier": _within(rng, _LFB_QUALIFIER_LISTS, category),
        "postcode_full": _blank(postcode, dwelling),
        "postcode_district": district,
        "uprn": _blank(uprn, dwelling | (rng.random(size) < 0.4)),
        "usrn": _blank(usrn, rng.random(size) < 0.1),
        "borough_code": ctx.at_places("borough_code", place),
        "borough_name": pc.utf8_upper(ctx.at_places("borough_name", place)),
        "ward_code": ctx.at_places("ward_code", place),
        "ward_name": pc.utf8_upper(ctx.at_places("ward_name", place)),
        "easting_m": _ints(exact_e, dwelling),
        "northing_m": _ints(exact_n, dwelling),
        "easting_rounded": _ints(np.rint(exact_e / 50) * 50),
        "northing_rounded": _ints(np.rint(exact_n / 50) * 50),
        "latitude": _floats(lat, dwelling),
        "longitude": _floats(lon, dwelling),
        "frs": pc.fill_null(pa.nulls(size, pa.string()), "London"),
        "incident_station_ground": ground,
        "first_pump_attendance_seconds": _ints(first_time, no_first),
        "first_pump_station": _blank(
            pc.if_else(pa.array(rng.random(size) < 0.8), ground, neighbour), no_first
        ),
        "second_pump_attendance_seconds": _ints(first_time + gap, no_second),
        "second_pump_station": _blank(
            pc.if_else(pa.array(rng.random(size) < 0.5), ground, neighbour), no_second
        ),
        "stations_with_pumps_attending": _ints(stations_attending),
        "pumps_attending": _ints(pumps),
        "pump_count": _ints(pumps + (rng.random(size) < 0.1)),
        "pump_hours": _ints(pump_hours),
        "notional_cost": _ints(pump_hours * rate[np.clip(year, 2000, 2100) - 2000]),
        "calls": _ints(1 + rng.poisson(np.where(fire, 0.8, 0.1))),
    }


def _generic(ctx: _Context, rng: np.random.Generator, start: int, size: int) -> dict[str, Column]:
    """Records for a spec with no generator of its own, from its fields' types, roles and
    code lists alone: valid, if not very realistic."""
    place = ctx.sample_places(rng, size, "all")
    when = ctx.times(rng, "day", size)
    easting, northing = ctx.points(rng, place)
    lon, lat = _lonlat(easting, northing)
    location = ctx.spec.location
    out: dict[str, Column] = {}
    for name in ctx.layout.columns:
        field = ctx.spec.field(name)
        if field is None:
            continue
        values = ctx.spec.code_values(field)
        if field.type in TEMPORAL_TYPES:
            first, _ = _month_bounds(when)
            day = when // 86_400 * 86_400
            out[name] = _Moments(
                first if field.type == "month" else day if field.type == "date" else when
            )
        elif values:
            out[name] = _take(_labels([v.code for v in values]), rng.integers(0, len(values), size))
        elif field.role == "identifier":
            number = _permuted(start + np.arange(size), 10**8, ctx.salt)
            out[name] = _fixed([_literal("REF", size), _digits(number, 8)], size)
        elif location is not None and name in (location.x, location.y):
            x_axis = name == location.x
            if location.crs == "bng":
                out[name] = _ints(np.rint(easting if x_axis else northing))
            else:
                out[name] = _floats(lon if x_axis else lat)
        elif field.type == "boolean":
            out[name] = _yes_no(rng.random(size) < 0.2)
        elif field.type == "integer":
            ages = isinstance(field.generalise, Bands)
            out[name] = _ints(_patient_ages(rng, size) if ages else rng.integers(0, 100, size))
        elif field.type == "decimal":
            out[name] = _floats(np.round(rng.random(size) * 100, 2))
        elif field.role == "geography":
            out[name] = _generic_area(ctx, field.name, field.pattern or "", place)
        elif field.role == "free_text":
            out[name] = pa.nulls(size, pa.string())
        else:
            letters = _labels([f"{field.name.replace('_', ' ').capitalize()} {c}" for c in "ABCDE"])
            out[name] = _take(letters, _pick(rng, [40, 25, 15, 12, 8], size))
    return out


def _generic_area(ctx: _Context, name: str, pattern: str, place: IntArray) -> Any:
    named = name.endswith("_name")
    if "E05" in pattern or "ward" in name:
        return ctx.at_places("ward_name" if named else "ward_code", place)
    if "E01" in pattern or "lsoa" in name:
        return ctx.at_places("lsoa_name" if named else "lsoa_code", place)
    return ctx.at_places("borough_name" if named else "borough_code", place)


# ------------------------------------------------------------------ wide (melted) files

WideGenerator = Callable[[_Context, np.random.Generator, int], tuple[dict[str, Column], IntArray]]
# The order of the published files: by major then minor category.
_OFFENCE_ORDER: Final = np.array(
    sorted(range(len(_OFFENCES)), key=lambda i: (_OFFENCES[i].major, _OFFENCES[i].minor))
)
# Not every crime can be placed in a ward: ward counts fall a little short of the borough's.
_PLACED_IN_A_WARD: Final = 0.97
# Minor categories published for Heathrow (Aviation Security, SO18), and its share of each.
_AVIATION_OFFENCES: Final = {
    "Other Theft": 0.004,
    "Theft from the Person": 0.002,
    "Possession of Drugs": 0.01,
    "Violence without Injury": 0.002,
    "Public Fear Alarm or Distress": 0.003,
    "Possession of Article with Blade or Point": 0.004,
    "Shoplifting": 0.002,
}


def _choose_rows(rng: np.random.Generator, total: int, rows: int) -> IntArray:
    """All ``total`` combinations, or ``rows`` of them spread over the whole list, in order."""
    if rows >= total:
        return np.arange(total, dtype=np.int64)
    return np.sort(rng.choice(total, size=rows, replace=False)).astype(np.int64)


def _monthly_counts(
    ctx: _Context, rng: np.random.Generator, offences: IntArray, share: FloatArray
) -> IntArray:
    """Poisson counts per row and month: London's monthly volume times the area's share,
    the category's share and the category's season."""
    month_of_year = np.array([m.month for m in ctx.months])
    seasons = np.stack([_RHYTHMS[name].season(month_of_year) for name in _RHYTHM_NAMES])
    expected = _MPS_CRIMES_A_MONTH * (_mix({})[offences] * share)[:, None]
    expected = expected * seasons[_OFF_RHYTHM[offences]]
    return np.asarray(rng.poisson(expected), dtype=np.int64)


def _ward_counts(
    ctx: _Context, rng: np.random.Generator, rows: int
) -> tuple[dict[str, Column], IntArray]:
    places = ctx.places
    usable = _subset_mask(places, "mps") & (places.ward_code != "")
    codes, first, inverse = np.unique(
        places.ward_code[usable], return_index=True, return_inverse=True
    )
    weight = np.bincount(inverse, weights=places.weight[usable])
    names = places.ward_name[usable][first]
    boroughs = places.borough_code[usable][first]
    borough_names = np.array([geo_codes.BOROUGHS[str(code)] for code in boroughs])
    ward_order = np.lexsort((codes, names, borough_names))
    chosen = _choose_rows(rng, len(codes) * len(_OFFENCES), rows)
    ward = ward_order[chosen // len(_OFFENCES)]
    offences = _OFFENCE_ORDER[chosen % len(_OFFENCES)]
    share = weight[ward] / weight.sum() * _PLACED_IN_A_WARD
    counts = _monthly_counts(ctx, rng, offences, share)
    columns: dict[str, Column] = {
        **_offence_columns(offences),
        "ward_name": pa.array(names[ward]),
        "ward_code": pa.array(codes[ward]),
        "borough_name": pa.array(borough_names[ward]),
    }
    return columns, counts


def _borough_counts(
    ctx: _Context, rng: np.random.Generator, rows: int
) -> tuple[dict[str, Column], IntArray]:
    boroughs = sorted(
        (code for code in _BOROUGHS if code != CITY), key=lambda c: geo_codes.BOROUGHS[c]
    )
    volume = np.array([_BOROUGHS[code].crimes for code in boroughs])
    names = [geo_codes.BOROUGHS[code] for code in boroughs]
    combos: list[tuple[int, str, float]] = []
    for offence in _OFFENCE_ORDER.tolist():
        minor = _OFFENCES[offence].minor
        area_share = volume / volume.sum()
        combos.extend((offence, name, float(s)) for name, s in zip(names, area_share, strict=True))
        if minor in _AVIATION_OFFENCES:
            combos.append((offence, AVIATION, _AVIATION_OFFENCES[minor]))
    chosen = _choose_rows(rng, len(combos), rows)
    offences = np.array([combos[i][0] for i in chosen.tolist()], dtype=np.int64)
    share = np.array([combos[i][2] for i in chosen.tolist()], dtype=np.float64)
    columns: dict[str, Column] = {
        **_offence_columns(offences),
        "borough_name": pa.array([combos[i][1] for i in chosen.tolist()], pa.string()),
    }
    return columns, _monthly_counts(ctx, rng, offences, share)


def _generic_wide(
    ctx: _Context, rng: np.random.Generator, rows: int
) -> tuple[dict[str, Column], IntArray]:
    columns = _generic(ctx, rng, 0, rows)
    counts = rng.poisson(20.0, size=(rows, len(ctx.months))).astype(np.int64)
    return columns, counts


_RECORDS: Final[dict[str, Generator]] = {
    "mps-recorded-crime": _recorded_crime,
    "colp-crime": _colp_crime,
    "mps-crime-outcomes": _crime_outcomes,
    "mps-victims": _victims,
    "mps-suspects": _suspects,
    "las-violence-dispatches": _las,
    "mps-asb-incidents": _asb,
    "police-uk-street": _police_uk,
    "transport-crime": _transport,
    "istv-ed-attendances": _istv,
    "lfb-incidents": _lfb,
}
_WIDE: Final[dict[str, WideGenerator]] = {
    "mps-ward-crime-counts": _ward_counts,
    "mps-borough-crime-counts": _borough_counts,
}


# ------------------------------------------------------------------------------ writing

_DEFAULT_FORMATS: Final = {
    "date": "%Y-%m-%d",
    "month": "%Y-%m",
    "time": "%H:%M:%S",
    "datetime": "%Y-%m-%d %H:%M:%S",
}


def _render(ctx: _Context, columns: Mapping[str, Column], size: int) -> list[Any]:
    """The layout's columns in order, temporal ones written with their date formats."""
    out = []
    for name in ctx.layout.columns:
        value = columns.get(name)
        field = ctx.spec.field(name)
        if value is None:
            value = pa.nulls(size, pa.string())
        elif isinstance(value, _Moments):
            kind = field.type if field is not None else "datetime"
            fmt = ctx.layout.date_formats.get(name, _DEFAULT_FORMATS.get(kind, "%Y-%m-%d"))
            value = _format_moments(value.seconds, value.blank, fmt)
        if len(value) != size:
            raise RuntimeError(f"{ctx.spec.id}: column {name} has {len(value)} rows, not {size}")
        out.append(value)
    return out


def _headers(layout: Layout) -> list[str]:
    return [layout.headers(name)[0] for name in layout.columns]


def _rng(seed: int, dataset: str, chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(dataset.encode()), chunk])


def _record_batches(ctx: _Context, generator: Generator) -> Iterator[list[Any]]:
    for chunk, start in enumerate(range(0, ctx.rows, CHUNK_ROWS)):
        size = min(CHUNK_ROWS, ctx.rows - start)
        columns = generator(ctx, _rng(ctx.seed, ctx.spec.id, chunk), start, size)
        yield _render(ctx, columns, size)


def _wide_batches(ctx: _Context, generator: WideGenerator) -> tuple[list[str], list[Any]]:
    melt = ctx.layout.melt
    if melt is None:
        raise ValueError(f"{ctx.spec.id}: the first layout is not a wide (melted) one")
    columns, counts = generator(ctx, _rng(ctx.seed, ctx.spec.id, 0), ctx.rows)
    size = len(counts)
    month_headers = [month.strftime(melt.header_format) for month in ctx.months]
    for header in month_headers:
        if not re.search(melt.columns, header):
            raise ValueError(
                f"{ctx.spec.id}: month header {header!r} does not match the layout's "
                f"pattern {melt.columns!r}"
            )
    rendered = _render(ctx, columns, size)
    rendered += [pa.array(counts[:, i], pa.int64()) for i in range(len(ctx.months))]
    return _headers(ctx.layout) + month_headers, rendered


def _csv_cell(text: str) -> str:
    if re.search(_NEEDS_QUOTES, text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _string_bytes(array: Any) -> memoryview:
    """The bytes of a string array's values, back to back (no copy)."""
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=width)
    first, last = offsets[array.offset], offsets[array.offset + len(array)]
    return memoryview(array.buffers()[2])[int(first) : int(last)]


def _write_csv(path: Path, headers: list[str], batches: Iterator[list[Any]]) -> int:
    written = 0
    with path.open("wb") as handle:
        handle.write((",".join(_csv_cell(h) for h in headers) + "\n").encode("utf-8"))
        for columns in batches:
            size = len(columns[0])
            if not size:
                continue
            handle.write(_csv_chunk(columns))
            written += size
    return written


def _write_xlsx(path: Path, headers: list[str], batches: Iterator[list[Any]]) -> int:
    import xlsxwriter

    options = {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    # A fixed creation time: the same arguments give the same bytes.
    workbook.set_properties({"created": _XLSX_CREATED})
    sheet = workbook.add_worksheet("Sheet1")
    for column, header in enumerate(headers):
        sheet.write_string(0, column, header)
    row = 1
    for columns in batches:
        for values in zip(*(column.to_pylist() for column in columns), strict=True):
            for column, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(row, column, value)
                else:
                    sheet.write_number(row, column, value)
            row += 1
    workbook.close()
    return row - 1


# ----------------------------------------------------------------------------- public API


def recent_months(count: int, *, today: date | None = None) -> list[date]:
    """The first days of the ``count`` whole months before the current one, oldest first
    (what a provider's latest extract covers)."""
    if count < 1:
        raise ValueError(f"a file covers at least one month; got {count}")
    current = today or datetime.now(ZoneInfo("Europe/London")).date()
    index = current.year * 12 + current.month - 1  # the current month, counted from year 0
    return [date((i - 1) // 12, (i - 1) % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


def _month_list(months: Sequence[date] | int) -> list[date]:
    if isinstance(months, int):
        return recent_months(months)
    found = sorted({date(m.year, m.month, 1) for m in months})
    if not found:
        raise ValueError("give at least one month")
    return found


def write_provider_file(
    spec: DatasetSpec,
    path: Path | str,
    *,
    months: list[date] | int,
    rows: int,
    seed: int = DEFAULT_SEED,
    places: Places,
    fmt: Format = "csv",
) -> int:
    """Write a synthetic file of ``spec`` as its provider would send it, in the spec's
    first layout, and return how many rows it has.

    ``months`` are the months the file covers (their first days, or a number of whole
    months ending last month); every record's coverage date falls in them. ``rows`` is the
    number of records, or for a wide layout the number of wide rows (one count column per
    month); a wide file has at most one row per area and category, so it may have fewer.
    ``places`` says where records happen. The same arguments give the same bytes; the file
    is written beside ``path`` and moved there when complete. Raises ValueError when the
    arguments cannot make a file (see :meth:`Places.lacks`).
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"the format is csv or xlsx, not {fmt!r}")
    if rows < 0:
        raise ValueError(f"rows must not be negative; got {rows}")
    if seed < 0:
        raise ValueError(f"the seed must not be negative; got {seed}")
    if fmt == "xlsx" and rows > XLSX_MAX_ROWS:
        raise ValueError(f"an xlsx sheet holds at most {XLSX_MAX_ROWS:,} rows; use csv")
    reason = places.lacks(spec)
    if reason:
        raise ValueError(reason)
    ctx = _Context(spec, _month_list(months), places, seed, rows)
    if ctx.layout.melt is not None:
        headers, columns = _wide_batches(ctx, _WIDE.get(spec.id, _generic_wide))
        batches: Iterator[list[Any]] = iter([columns])
    else:
        headers = _headers(ctx.layout)
        batches = _record_batches(ctx, _RECORDS.get(spec.id, _generic))
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        write = _write_csv if fmt == "csv" else _write_xlsx
        written = write(partial, headers, batches)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return written


def demo_plan() -> dict[str, tuple[int, int]]:
    """Per dataset id, (months, rows) for the demo: two years of each dataset, sized so the
    whole set loads in well under a minute. Wide files ask for every ward (or borough)
    and minor category, as published; they get as many as the places have."""
    months = 24
    categories = len(_OFFENCES)
    return {
        "mps-recorded-crime": (months, 40_000),
        "police-uk-street": (months, 30_000),
        "mps-asb-incidents": (months, 20_000),
        "lfb-incidents": (months, 15_000),
        "mps-victims": (months, 15_000),
        "mps-crime-outcomes": (months, 15_000),
        "mps-suspects": (months, 8_000),
        "las-violence-dispatches": (months, 8_000),
        "transport-crime": (months, 6_000),
        "istv-ed-attendances": (months, 4_000),
        "colp-crime": (months, 3_000),
        "mps-ward-crime-counts": (months, 704 * categories),
        "mps-borough-crime-counts": (
            months,
            (len(_BOROUGHS) - 1) * categories + len(_AVIATION_OFFENCES),
        ),
    }
