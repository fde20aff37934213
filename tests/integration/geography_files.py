"""A small synthetic geography folder in the layout of the ONS files SafeStats loads: every
borough a tiny square, one ward, one MSOA and two LSOAs per census vintage."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from safestats.geography.codes import BOROUGHS

CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "name": "x", "crs": CRS, "features": features}


def feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


# Westminster (E09000033): two LSOAs side by side, west and east, in one MSOA and one ward.
WEST = (-0.14, 51.50)
EAST = (-0.13, 51.50)


def write_folder(folder: Path, lsoa_name: str = "Westminster 001A") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    boroughs = [
        feature(
            {"LAD13CD": code, "LAD13NM": name},
            square(-0.4 + 0.02 * (i % 20), 51.3 + 0.02 * (i // 20)),
        )
        for i, (code, name) in enumerate(BOROUGHS.items())
    ]
    (folder / "london_boroughs.geojson").write_text(json.dumps(collection(boroughs)))
    ward = feature(
        {"WD25CD": "E05013806", "WD25NM": "St James's", "LAD25CD": "E09000033"},
        square(-0.14, 51.50, 0.02),
    )
    (folder / "london_wards_2025.geojson").write_text(json.dumps(collection([ward])))
    for vintage in ("2011", "2021"):
        y = vintage[2:]
        msoa = feature(
            {
                f"MSOA{y}CD": "E02000977",
                f"MSOA{y}NM": "Westminster 001",
                "LADCD_ACTIVE": "E09000033",
            },
            square(-0.14, 51.50, 0.02),
        )
        (folder / f"london_msoa_{vintage}.geojson").write_text(json.dumps(collection([msoa])))
        lsoas = [
            feature(
                {f"LSOA{y}CD": "E01004736", f"LSOA{y}NM": lsoa_name, "LADCD_ACTIVE": "E09000033"},
                square(*WEST),
            ),
            feature(
                {
                    f"LSOA{y}CD": "E01004737",
                    f"LSOA{y}NM": "Westminster 001B",
                    "LADCD_ACTIVE": "E09000033",
                },
                square(*EAST),
            ),
        ]
        (folder / f"london_lsoa_{vintage}.geojson").write_text(json.dumps(collection(lsoas)))
        write_csv(
            folder / f"lsoa{vintage}_msoa{vintage}_borough_london.csv",
            [f"LSOA{y}CD", f"LSOA{y}NM", f"MSOA{y}CD", f"MSOA{y}NM", "LADCD", "LADNM"],
            [
                [code, "x", "E02000977", "Westminster 001", "E09000033", "Westminster"]
                for code in ("E01004736", "E01004737")
            ],
        )
    write_csv(
        folder / "lsoa2011_ward2019_lad2019_london.csv",
        ["FID", "LSOA11CD", "LSOA11NM", "WD19CD", "WD19NM", "LAD19CD", "LAD19NM"],
        [
            [str(i), code, "x", "E05000644", "St James's", "E09000033", "Westminster"]
            for i, code in enumerate(("E01004736", "E01004737"))
        ],
    )
    write_csv(
        folder / "lsoa2021_ward2025_derived_london.csv",
        ["LSOA21CD", "LSOA21NM", "WD25CD", "WD25NM", "LADCD", "centroid_lon", "centroid_lat"],
        [
            [code, "x", "E05013806", "St James's", "E09000033", "0", "0"]
            for code in ("E01004736", "E01004737")
        ],
    )
    return folder
