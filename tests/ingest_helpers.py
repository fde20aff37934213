"""Helpers for ingestion tests: an instance's stores in a temporary folder, loading files
through the real pipeline, and reading back what a version holds."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.test import override_settings

from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset, DatasetVersion
from safestats.catalogue.services import sync_specs
from safestats.ingest import publishing, services
from safestats.ingest.models import IngestJob


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Path]:
    """Fresh data, raw, reports and scratch folders for one test."""
    home = tmp_path / "home"
    for name in ("data", "raw", "reports", "tmp"):
        (home / name).mkdir(parents=True)
    with override_settings(
        SAFESTATS_DATA_DIR=home / "data",
        SAFESTATS_RAW_DIR=home / "raw",
        SAFESTATS_REPORTS_DIR=home / "reports",
        SAFESTATS_TMP_DIR=home / "tmp",
    ):
        yield home


def catalogue() -> None:
    result = sync_specs(by=Actor.system("test"))
    assert not result.problems


def write_rows(path: Path, header: list[str], rows: list[list[Any]], **options: Any) -> Path:
    encoding = options.pop("encoding", "utf-8")
    buffer = io.StringIO()
    csv.writer(buffer, **options).writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def load(dataset_id: str, *paths: Path, tolerance: str | None = None, by: Any = None) -> IngestJob:
    dataset = Dataset.objects.get(pk=dataset_id)
    files = [services.Incoming(name=p.name, chunks=[p.read_bytes()]) for p in paths]
    job = services.receive(
        dataset=dataset,
        files=files,
        by=by or Actor.system("test"),
        tolerance_percent=Decimal(tolerance) if tolerance is not None else None,
    )
    return services.run_now(job)


def version_rows(
    version: DatasetVersion, columns: str = "*", order: str = ""
) -> list[tuple[Any, ...]]:
    from django.conf import settings

    files = publishing.version_files(Path(settings.SAFESTATS_DATA_DIR), version.parquet_path)
    names = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    sql = f"SELECT {columns} FROM read_parquet({names})"  # noqa: S608 - test paths only
    if order:
        sql += f" ORDER BY {order}"
    return duckdb.connect().execute(sql).fetchall()


def current_rows(dataset_id: str, columns: str = "*", order: str = "") -> list[tuple[Any, ...]]:
    dataset = Dataset.objects.select_related("current_version").get(pk=dataset_id)
    assert dataset.current_version is not None
    return version_rows(dataset.current_version, columns, order)


def data_store_files(home: Path) -> set[str]:
    return {
        str(path.relative_to(home / "data"))
        for path in (home / "data").rglob("*")
        if path.is_file() and path.name != ".lock"
    }


# A police.uk street-level crime file, as the upload pages and journeys send it.
STREET_HEADERS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
MPS = "Metropolitan Police Service"


def street_row(n: int, month: str = "2024-01", crime_type: str = "Burglary") -> list[str]:
    """A good record in Westminster (inside the synthetic geography's western LSOA)."""
    return [
        f"{n:064x}",
        month,
        MPS,
        MPS,
        "-0.135",
        "51.505",
        "On or near Whitehall",
        "E01004736",
        "Westminster 001A",
        crime_type,
        "Under investigation",
        "",
    ]


# A record whose month is no date and whose crime type is not in the code list.
BAD_STREET_ROW = [f"{999:064x}", "2024-02-31", MPS, MPS, "", "", "", "", "", "Rustling", "", ""]


def street_csv(good: int, *, bad: bool = True) -> bytes:
    """``good`` good records, then (by default) the one bad record, as CSV bytes."""
    buffer = io.StringIO()
    rows = [street_row(n) for n in range(1, good + 1)] + ([BAD_STREET_ROW] if bad else [])
    csv.writer(buffer).writerows([STREET_HEADERS, *rows])
    return buffer.getvalue().encode("utf-8")
