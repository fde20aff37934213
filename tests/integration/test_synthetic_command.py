"""``safestats synthetic``: one provider file per call, with places from the loaded
geography, from a folder, or from the borough fallback; clear errors otherwise. Also
:meth:`Places.from_database` on a loaded (small) geography."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from safestats.audit.services import Actor
from safestats.geography import services
from safestats.ingest.management.commands.synthetic import Command
from safestats.ingest.synthetic import Places
from tests.integration.geography_files import write_folder

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(Command(), *args, stdout=out)
    return out.getvalue()


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_without_geography_the_file_is_made_from_the_borough_centroids(tmp_path: Path) -> None:
    output = tmp_path / "crime.csv"
    said = run("mps-recorded-crime", "--rows", "50", "--months", "2", "--output", str(output))
    assert said.startswith("Wrote 50 rows of mps-recorded-crime (layout mps-crime-extract")
    assert "33 borough centroids" in said
    rows = read(output)
    assert rows[0][:2] == ["CrimeReference", "RecordedDate"] and len(rows) == 51


def test_the_format_follows_the_file_name_and_the_seed_fixes_the_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    for output in (first, second):
        run("lfb-incidents", "--rows", "20", "--seed", "5", "--output", str(output))
    assert first.read_bytes()[:2] == b"PK"  # a zip: an xlsx workbook
    assert first.read_bytes() == second.read_bytes()


def test_an_unknown_dataset_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        CommandError, match=r"There is no dataset 'nope'\. The datasets are: colp-crime, "
    ):
        run("nope", "--rows", "5", "--output", str(tmp_path / "x.csv"))


def test_ward_counts_need_wards(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="needs real ward codes"):
        run("mps-ward-crime-counts", "--rows", "5", "--output", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()


def test_bad_arguments_are_command_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="must be 1 or more"):
        run("mps-victims", "--rows", "0", "--output", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="does not exist"):
        run("mps-victims", "--rows", "5", "--output", str(tmp_path / "no" / "x.csv"))
    with pytest.raises(CommandError, match="--geography: "):
        run(
            "mps-victims",
            "--rows",
            "5",
            "--output",
            str(tmp_path / "x.csv"),
            "--geography",
            str(tmp_path),
        )


def test_places_come_from_the_loaded_geography(tmp_path: Path) -> None:
    services.load_folder(write_folder(tmp_path / "geography"), by=Actor.system())
    places = Places.from_database()
    assert places.lsoa_code.tolist() == ["E01004736", "E01004737"]
    assert set(places.ward_code.tolist()) == {"E05013806"}
    output = tmp_path / "wards.csv"
    said = run("mps-ward-crime-counts", "--rows", "1000", "--months", "3", "--output", str(output))
    assert "2 LSOAs (2021) of the loaded geography" in said
    rows = read(output)
    assert {row[3] for row in rows[1:]} == {"E05013806"}
    assert len(rows[0]) == 5 + 3


def test_places_come_from_a_folder_when_given(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "geography")
    output = tmp_path / "street.csv"
    said = run(
        "police-uk-street", "--rows", "40", "--geography", str(folder), "--output", str(output)
    )
    assert f"2 LSOAs (2021) from {folder}" in said
    lsoas = {row[7] for row in read(output)[1:]}
    assert lsoas <= {"E01004736", "E01004737", ""} and lsoas - {""}
