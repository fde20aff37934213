"""Reading a folder of ONS geography files into checked records, ready to store: which files
a folder must hold, the columns and properties taken from each, and every check, with an
error that names the file, the feature or row, and the field. No Django import.

GeoJSON files are read as a stream, one feature at a time, so a large boundary file never
has to be held as one JSON document; each file's SHA-256 is computed over exactly the bytes
that were parsed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import shapely
import shapely.geometry

from safestats.geography import codes
from safestats.geography.engine import centroids

CHUNK: Final = 1 << 16


class GeographyFileError(ValueError):
    """A file in a geography folder is missing, malformed or inconsistent."""

    def __init__(self, file: str, message: str, *, where: str = "") -> None:
        self.file, self.where, self.message = file, where, message
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")


@dataclass(frozen=True)
class GeoJsonSpec:
    level: str
    vintage: str
    code: str
    name: str
    borough: str | None  # the property naming the borough; None for the boroughs file


@dataclass(frozen=True)
class CsvSpec:
    columns: tuple[str, ...]


GEOJSON: Final[dict[str, GeoJsonSpec]] = {
    "london_boroughs.geojson": GeoJsonSpec("borough", "LAD13", "LAD13CD", "LAD13NM", None),
    "london_wards_2025.geojson": GeoJsonSpec("ward", "WD25", "WD25CD", "WD25NM", "LAD25CD"),
    "london_msoa_2011.geojson": GeoJsonSpec("msoa", "2011", "MSOA11CD", "MSOA11NM", "LADCD_ACTIVE"),
    "london_msoa_2021.geojson": GeoJsonSpec("msoa", "2021", "MSOA21CD", "MSOA21NM", "LADCD_ACTIVE"),
    "london_lsoa_2011.geojson": GeoJsonSpec("lsoa", "2011", "LSOA11CD", "LSOA11NM", "LADCD_ACTIVE"),
    "london_lsoa_2021.geojson": GeoJsonSpec("lsoa", "2021", "LSOA21CD", "LSOA21NM", "LADCD_ACTIVE"),
}
LSOA_MSOA_CSV: Final = {
    "2011": "lsoa2011_msoa2011_borough_london.csv",
    "2021": "lsoa2021_msoa2021_borough_london.csv",
}
LSOA_WARD_CSV: Final = {
    "2011": "lsoa2011_ward2019_lad2019_london.csv",
    "2021": "lsoa2021_ward2025_derived_london.csv",
}
CSV: Final[dict[str, CsvSpec]] = {
    LSOA_MSOA_CSV["2011"]: CsvSpec(("LSOA11CD", "MSOA11CD", "LADCD")),
    LSOA_MSOA_CSV["2021"]: CsvSpec(("LSOA21CD", "MSOA21CD", "LADCD")),
    LSOA_WARD_CSV["2011"]: CsvSpec(("LSOA11CD", "WD19CD", "WD19NM", "LAD19CD")),
    LSOA_WARD_CSV["2021"]: CsvSpec(("LSOA21CD", "WD25CD", "LADCD")),
}
FILES: Final = (*GEOJSON, *CSV)

# Coordinates must be WGS 84 longitude/latitude; these are the names ONS files use for it.
WGS84_NAMES: Final = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326"}


@dataclass(frozen=True)
class Shape:
    """A boundary as stored: WKB in WGS 84, its centroid in both systems and its bounding
    box in degrees (for prefiltering)."""

    wkb: bytes
    centroid_lon: float
    centroid_lat: float
    easting: float
    northing: float
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True)
class AreaRecord:
    level: str
    vintage: str
    code: str
    name: str
    borough: str
    shape: Shape | None = None
    msoa: str | None = None  # LSOAs: the MSOA they are in
    ward: str | None = None  # LSOAs: the ward the lookup gives them


@dataclass(frozen=True)
class FileDigest:
    name: str
    sha256: str
    size: int


@dataclass
class FolderContents:
    boroughs: list[AreaRecord] = field(default_factory=list)
    wards: list[AreaRecord] = field(default_factory=list)
    msoas: list[AreaRecord] = field(default_factory=list)
    lsoas: list[AreaRecord] = field(default_factory=list)
    files: list[FileDigest] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {"borough": len(self.boroughs)}
        for label, records in (("ward", self.wards), ("msoa", self.msoas), ("lsoa", self.lsoas)):
            for record in records:
                key = f"{label}_{record.vintage}"
                found[key] = found.get(key, 0) + 1
        return found


def folder_path(raw: str | Path) -> Path:
    """The folder a command-line argument names, resolved; an error if it is not one.

    Only the fixed file names in :data:`FILES` are ever opened inside it, so ``..`` in the
    argument changes which folder is read, never which files.
    """
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise GeographyFileError(str(raw), f"is not a folder (resolved to {path})")
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise GeographyFileError(
            str(path), "the folder lacks " + ", ".join(missing) + " (see the geography README)"
        )
    return path


def digest(path: Path) -> FileDigest:
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
            size += len(chunk)
    return FileDigest(path.name, hasher.hexdigest(), size)


def digests(folder: Path) -> list[FileDigest]:
    return [digest(folder / name) for name in FILES]


class _HashingText:
    """Text chunks from a binary file, hashing the bytes as they pass."""

    def __init__(self, handle: IO[bytes], name: str) -> None:
        self.handle, self.name = handle, name
        self.hasher = hashlib.sha256()
        self.size = 0
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()

    def read(self, size: int) -> str:
        raw = self.handle.read(size)
        self.hasher.update(raw)
        self.size += len(raw)
        try:
            return self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise GeographyFileError(
                self.name, f"is not UTF-8 text near byte {self.size - len(raw) + exc.start}"
            ) from exc

    def lines(self) -> Iterator[str]:
        for raw in self.handle:
            self.hasher.update(raw)
            self.size += len(raw)
            try:
                yield self.decoder.decode(raw)
            except UnicodeDecodeError as exc:
                raise GeographyFileError(self.name, "is not UTF-8 text") from exc

    def file_digest(self) -> FileDigest:
        return FileDigest(self.name, self.hasher.hexdigest(), self.size)


_SPACE = re.compile(r"\s*")


class _DocumentError(ValueError):
    """The file as a whole is wrong (not one feature of it)."""


class _JsonStream:
    """An incremental reader of one JSON document: values are decoded one at a time from
    a sliding buffer, so only the value being read is ever held in memory whole."""

    def __init__(self, source: _HashingText) -> None:
        self.source = source
        self.buffer = ""
        self.pos = 0
        self.ended = False
        self.decoder = json.JSONDecoder()

    def _more(self, size: int = CHUNK) -> bool:
        if self.ended:
            return False
        chunk = self.source.read(size)
        if not chunk:
            self.ended = True
            return False
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            match = _SPACE.match(self.buffer, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def take(self, expected: str) -> str:
        found = self.peek()
        if found not in expected or not found:
            wanted = " or ".join(repr(c) for c in expected)
            raise ValueError(f"expected {wanted}, found {found or 'the end of the file'!r}")
        self.pos += 1
        return found

    def value(self) -> Any:
        self.peek()
        size = CHUNK
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # Probably cut off by the buffer's end: read more (doubling, so a large
                # value is re-parsed only a few times) and try again.
                if not self._more(size):
                    raise ValueError(f"invalid or truncated JSON ({exc.msg})") from exc
                size *= 2
                continue
            # A number at the buffer's end may continue in the next chunk.
            if end == len(self.buffer) and self._more(size):
                continue
            self.pos = end
            return value


def iter_features(source: _HashingText) -> Iterator[dict[str, Any]]:
    """Each feature of a GeoJSON FeatureCollection, in order, read as a stream."""
    stream = _JsonStream(source)
    members: dict[str, Any] = {}
    stream.take("{")
    if stream.peek() == "}":
        stream.take("}")
    else:
        while True:
            key = stream.value()
            if not isinstance(key, str):
                raise ValueError("expected a member name")
            stream.take(":")
            if key == "features":
                members[key] = True
                stream.take("[")
                if stream.peek() == "]":
                    stream.take("]")
                else:
                    while True:
                        yield stream.value()
                        if stream.take(",]") == "]":
                            break
            else:
                members[key] = stream.value()
            if stream.take(",}") == "}":
                break
    if stream.peek() != "":
        raise _DocumentError("unexpected text after the end of the FeatureCollection")
    if members.get("type") != "FeatureCollection" or "features" not in members:
        raise _DocumentError("is not a GeoJSON FeatureCollection")
    crs = members.get("crs")
    if crs is not None:
        name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
        if name not in WGS84_NAMES:
            raise _DocumentError(
                f"coordinates must be WGS 84 longitude/latitude; the crs is {name!r}"
            )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_geojson(path: Path, spec: GeoJsonSpec) -> tuple[list[AreaRecord], FileDigest]:
    """Every feature of one boundary file, checked; raises GeographyFileError."""
    name = path.name
    rows: list[tuple[str, str, str]] = []
    geometries: list[Any] = []
    seen: dict[str, int] = {}
    number = 0
    with path.open("rb") as handle:
        source = _HashingText(handle, name)
        try:
            for number, feature in enumerate(iter_features(source), start=1):
                rows.append(_feature_row(feature, number, spec, name, seen))
                geometries.append(_feature_geometry(feature, number, rows[-1][0], name))
        except ValueError as exc:
            if isinstance(exc, GeographyFileError):
                raise
            where = "" if isinstance(exc, _DocumentError) else f"reading feature {number + 1}"
            raise GeographyFileError(name, str(exc), where=where) from exc
    if not rows:
        raise GeographyFileError(name, "has no features")
    shapes = _shapes(geometries)
    records = [
        AreaRecord(spec.level, spec.vintage, code, area_name, borough, shape)
        for (code, area_name, borough), shape in zip(rows, shapes, strict=True)
    ]
    return records, source.file_digest()


def _feature_row(
    feature: Any, number: int, spec: GeoJsonSpec, file: str, seen: dict[str, int]
) -> tuple[str, str, str]:
    where = f"feature {number}"
    properties = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(properties, dict):
        raise GeographyFileError(file, "is not a GeoJSON Feature with properties", where=where)
    for prop in (spec.code, spec.name, spec.borough):
        if prop is not None and prop not in properties:
            raise GeographyFileError(file, f"has no property {prop}", where=where)
    code = _text(properties[spec.code])
    if problem := codes.code_problem(spec.level, properties[spec.code]):
        raise GeographyFileError(file, problem, where=f"{where}, {spec.code}")
    where = f"feature {number} ({code})"
    if code in seen:
        raise GeographyFileError(file, f"repeats {code} (first at feature {seen[code]})")
    seen[code] = number
    area_name = _text(properties[spec.name])
    if not area_name:
        raise GeographyFileError(file, "is empty", where=f"{where}, {spec.name}")
    if spec.borough is None:
        borough = code
    else:
        borough = _text(properties[spec.borough])
        if problem := codes.code_problem("borough", properties[spec.borough]):
            raise GeographyFileError(file, problem, where=f"{where}, {spec.borough}")
    return code, area_name, borough


def _feature_geometry(feature: dict[str, Any], number: int, code: str, file: str) -> Any:
    where = f"feature {number} ({code}), geometry"
    raw = feature.get("geometry")
    if not isinstance(raw, dict) or raw.get("type") not in {"Polygon", "MultiPolygon"}:
        kind = raw.get("type") if isinstance(raw, dict) else raw
        raise GeographyFileError(
            file, f"must be a Polygon or MultiPolygon, not {kind!r}", where=where
        )
    try:
        geometry = shapely.geometry.shape(raw)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise GeographyFileError(file, f"has malformed coordinates ({exc})", where=where) from exc
    if geometry.is_empty:
        raise GeographyFileError(file, "is empty", where=where)
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    lon_low, lon_high = codes.LONDON_LON
    lat_low, lat_high = codes.LONDON_LAT
    if not (
        lon_low <= min_lon and max_lon <= lon_high and lat_low <= min_lat and max_lat <= lat_high
    ):
        raise GeographyFileError(
            file,
            f"lies outside London (longitude {min_lon:.4f} to {max_lon:.4f}, latitude "
            f"{min_lat:.4f} to {max_lat:.4f}); coordinates must be WGS 84 degrees",
            where=where,
        )
    if not geometry.is_valid:
        # Generalised boundaries can carry tiny self-intersections; repairing keeps the
        # area's extent, which is all point-in-area needs.
        geometry = shapely.make_valid(geometry)
    return geometry


def _shapes(geometries: list[Any]) -> list[Shape]:
    array = np.array([*geometries, None], dtype=object)[:-1]
    lon, lat, easting, northing = centroids(array)
    bounds = shapely.bounds(array)
    wkb = shapely.to_wkb(array)
    return [
        Shape(
            wkb=bytes(wkb[i]),
            centroid_lon=round(float(lon[i]), 7),
            centroid_lat=round(float(lat[i]), 7),
            easting=round(float(easting[i]), 2),
            northing=round(float(northing[i]), 2),
            min_lon=float(bounds[i, 0]),
            min_lat=float(bounds[i, 1]),
            max_lon=float(bounds[i, 2]),
            max_lat=float(bounds[i, 3]),
        )
        for i in range(len(array))
    ]


def read_csv(
    path: Path, spec: CsvSpec, on_row: Callable[[int, dict[str, str]], None]
) -> FileDigest:
    """Call ``on_row(line, row)`` for each row of a lookup CSV whose header has every column
    the spec needs (other columns are ignored); empty values are refused."""
    name = path.name
    with path.open("rb") as handle:
        source = _HashingText(handle, name)
        reader = csv.reader(source.lines())
        try:
            header = [column.strip() for column in next(reader, [])]
            missing = [column for column in spec.columns if column not in header]
            if missing:
                raise GeographyFileError(
                    name, "lacks the column " + ", ".join(missing), where="header"
                )
            positions = {column: header.index(column) for column in spec.columns}
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                where = f"line {reader.line_num}"
                if len(row) != len(header):
                    raise GeographyFileError(
                        name,
                        f"has {len(row)} fields where the header has {len(header)}",
                        where=where,
                    )
                values = {column: row[i].strip() for column, i in positions.items()}
                for column, value in values.items():
                    if not value:
                        raise GeographyFileError(name, "is empty", where=f"{where}, {column}")
                on_row(reader.line_num, values)
        except csv.Error as exc:
            raise GeographyFileError(
                name, f"is not valid CSV ({exc})", where=f"line {reader.line_num}"
            ) from exc
    return source.file_digest()


def read_folder(folder: Path) -> FolderContents:
    """Read and cross-check every file of a geography folder (see :data:`FILES`)."""
    contents = FolderContents()
    areas: dict[str, list[AreaRecord]] = {}
    for name, spec in GEOJSON.items():
        records, file_digest = read_geojson(folder / name, spec)
        areas[name] = records
        contents.files.append(file_digest)

    boroughs = areas["london_boroughs.geojson"]
    absent = sorted(set(codes.BOROUGHS) - {record.code for record in boroughs})
    if absent:
        raise GeographyFileError(
            "london_boroughs.geojson", "lacks the boroughs " + ", ".join(absent)
        )
    contents.boroughs = boroughs

    wd25 = areas["london_wards_2025.geojson"]
    wd25_codes = {record.code: record for record in wd25}
    wd19: dict[str, AreaRecord] = {}
    contents.wards = list(wd25)

    for vintage in codes.CENSUS_VINTAGES:
        msoa_file, lsoa_file = f"london_msoa_{vintage}.geojson", f"london_lsoa_{vintage}.geojson"
        msoas = {record.code: record for record in areas[msoa_file]}
        lsoas = {record.code: record for record in areas[lsoa_file]}
        suffix = vintage[2:]
        parents = _lsoa_parents(folder, vintage, suffix, lsoas, msoas, contents)
        ward_of = _lsoa_wards(folder, vintage, suffix, lsoas, wd25_codes, wd19, contents)
        contents.msoas.extend(msoas.values())
        contents.lsoas.extend(
            AreaRecord(
                "lsoa",
                vintage,
                code,
                record.name,
                record.borough,
                record.shape,
                msoa=parents[code],
                ward=ward_of[code],
            )
            for code, record in lsoas.items()
        )
    contents.wards.extend(wd19.values())
    return contents


def _lsoa_parents(
    folder: Path,
    vintage: str,
    suffix: str,
    lsoas: dict[str, AreaRecord],
    msoas: dict[str, AreaRecord],
    contents: FolderContents,
) -> dict[str, str]:
    name = LSOA_MSOA_CSV[vintage]
    lsoa_column, msoa_column = f"LSOA{suffix}CD", f"MSOA{suffix}CD"
    parents: dict[str, str] = {}

    def on_row(line: int, row: dict[str, str]) -> None:
        where = f"line {line}"
        lsoa = row[lsoa_column]
        if lsoa not in lsoas:
            raise GeographyFileError(
                name,
                f"{lsoa} is not in london_lsoa_{vintage}.geojson",
                where=f"{where}, {lsoa_column}",
            )
        if lsoa in parents:
            raise GeographyFileError(name, f"repeats {lsoa}", where=f"{where}, {lsoa_column}")
        msoa = msoas.get(row[msoa_column])
        if msoa is None:
            raise GeographyFileError(
                name,
                f"{row[msoa_column]} is not in london_msoa_{vintage}.geojson",
                where=f"{where}, {msoa_column}",
            )
        if row["LADCD"] != lsoas[lsoa].borough or msoa.borough != lsoas[lsoa].borough:
            raise GeographyFileError(
                name,
                f"{lsoa} is in borough {lsoas[lsoa].borough} by its boundary file, but this row "
                f"gives {row['LADCD']} (and its MSOA is in {msoa.borough})",
                where=f"{where}, LADCD",
            )
        parents[lsoa] = msoa.code

    contents.files.append(read_csv(folder / name, CSV[name], on_row))
    _require_all(name, lsoas, parents)
    return parents


def _lsoa_wards(
    folder: Path,
    vintage: str,
    suffix: str,
    lsoas: dict[str, AreaRecord],
    wd25: dict[str, AreaRecord],
    wd19: dict[str, AreaRecord],
    contents: FolderContents,
) -> dict[str, str]:
    name = LSOA_WARD_CSV[vintage]
    lsoa_column = f"LSOA{suffix}CD"
    ward_vintage = codes.LSOA_WARD_VINTAGE[vintage]
    ward_column = f"{ward_vintage}CD"
    borough_column = "LAD19CD" if ward_vintage == "WD19" else "LADCD"
    ward_of: dict[str, str] = {}

    def on_row(line: int, row: dict[str, str]) -> None:
        where = f"line {line}"
        lsoa, ward = row[lsoa_column], row[ward_column]
        if lsoa not in lsoas:
            raise GeographyFileError(
                name,
                f"{lsoa} is not in london_lsoa_{vintage}.geojson",
                where=f"{where}, {lsoa_column}",
            )
        if lsoa in ward_of:
            raise GeographyFileError(name, f"repeats {lsoa}", where=f"{where}, {lsoa_column}")
        if problem := codes.code_problem("ward", ward):
            raise GeographyFileError(name, problem, where=f"{where}, {ward_column}")
        if problem := codes.code_problem("borough", row[borough_column]):
            raise GeographyFileError(name, problem, where=f"{where}, {borough_column}")
        if ward_vintage == "WD25":
            if ward not in wd25:
                raise GeographyFileError(
                    name,
                    f"{ward} is not in london_wards_2025.geojson",
                    where=f"{where}, {ward_column}",
                )
        else:
            known = wd19.get(ward)
            borough = row[borough_column]
            if known is None:
                wd19[ward] = AreaRecord("ward", "WD19", ward, row["WD19NM"], borough)
            elif (known.name, known.borough) != (row["WD19NM"], borough):
                raise GeographyFileError(
                    name,
                    f"{ward} was {known.name!r} in {known.borough} on an earlier line",
                    where=f"{where}, {ward_column}",
                )
        ward_of[lsoa] = ward

    contents.files.append(read_csv(folder / name, CSV[name], on_row))
    _require_all(name, lsoas, ward_of)
    return ward_of


def _require_all(file: str, lsoas: dict[str, AreaRecord], found: dict[str, str]) -> None:
    missing = sorted(set(lsoas) - set(found))
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise GeographyFileError(file, f"has no row for the LSOAs {shown}")
