"""The small data set the query tests share: 24 police.uk street crimes (12 burglaries and
3 robberies in January 2024, 9 burglaries in February) and 40 London Ambulance Service
dispatches (30 assaults, 7 stabbings, 3 gunshot wounds), over the synthetic two-LSOA
geography, loaded through the real pipeline."""

from __future__ import annotations

from pathlib import Path

from safestats.audit.services import Actor
from safestats.geography.services import load_folder
from tests.ingest_helpers import catalogue, load, write_rows
from tests.integration.geography_files import EAST, WEST, write_folder

STREET = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]  # fmt: skip
LAS = [
    "IncidentNumber", "CallDateTime", "ArrivedDateTime", "InjuryType", "PatientAge",
    "PatientSex", "Latitude", "Longitude",
]  # fmt: skip
MPS = "Metropolitan Police Service"
LAS_ID = "las-violence-dispatches"


def street(n: int, month: str, crime_type: str, point: tuple[float, float] = WEST) -> list[str]:
    lsoa = "E01004736" if point == WEST else "E01004737"
    return [
        f"{n:064x}", month, MPS, MPS, str(point[0] + 0.004), str(point[1] + 0.004),
        "On or near Whitehall", lsoa, "Westminster 001A", crime_type, "Under investigation", "",
    ]  # fmt: skip


def dispatch(n: int) -> list[str]:
    injury = "assault" if n < 30 else ("stab" if n < 37 else "gunshot")
    point = WEST if n % 2 else EAST
    return [
        f"LAS-{n:05d}",
        f"2024-01-{1 + n % 28:02d} 2{n % 4}:15:00",
        "",
        injury,
        str(18 + n),
        "M" if n % 3 else "F",
        str(point[1] + 0.004),
        str(point[0] + 0.004),
    ]


def load_query_data(folder: Path) -> Path:
    """Geography, the catalogue, and both datasets published; returns the street file."""
    load_folder(write_folder(folder / "geo"), by=Actor.system("test"))
    catalogue()
    rows = (
        [street(n, "2024-01", "Burglary") for n in range(12)]
        + [street(100 + n, "2024-01", "Robbery", EAST) for n in range(3)]
        + [street(200 + n, "2024-02", "Burglary", EAST) for n in range(9)]
    )
    path = write_rows(folder / "street.csv", STREET, rows)
    assert load("police-uk-street", path).status == "published"
    las = write_rows(folder / "las.csv", LAS, [dispatch(n) for n in range(40)])
    assert load(LAS_ID, las).status == "published"
    return path
