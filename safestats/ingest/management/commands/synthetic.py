"""``safestats synthetic DATASET --rows N --output FILE``: write one synthetic provider file
for a catalogued dataset, in the first layout of its spec, as its provider would send it
(for demos, tests and load testing; the data is invented)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestats.catalogue.loading import SpecError, load_spec_files
from safestats.geography.files import GeographyFileError
from safestats.ingest.synthetic import DEFAULT_SEED, Format, Places, write_provider_file


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more; got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more; got {value}")
    return value


class Command(BaseCommand):
    help = (
        "Write a synthetic provider file for a dataset, in the first layout of its spec. "
        "Places come from the loaded geography (or --geography DIR); without any, from the "
        "33 borough centroids."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", metavar="DATASET", help="the dataset id")
        parser.add_argument(
            "--rows",
            type=_positive,
            required=True,
            help="records to write (wide layouts: wide rows, one count column per month)",
        )
        parser.add_argument(
            "--months",
            type=_positive,
            default=24,
            help="whole months covered, ending last month (default 24)",
        )
        parser.add_argument(
            "--seed",
            type=_seed,
            default=DEFAULT_SEED,
            help=f"the same seed gives the same file (default {DEFAULT_SEED})",
        )
        parser.add_argument(
            "--format",
            choices=("csv", "xlsx"),
            help="the file format (default: from the output file's name, else csv)",
        )
        parser.add_argument("--output", required=True, metavar="FILE", help="the file to write")
        parser.add_argument(
            "--geography",
            metavar="DIR",
            help="a folder of ONS geography files to take places from, instead of the database",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            specs = {spec.id: spec for _, spec in load_spec_files()}
        except SpecError as exc:
            raise CommandError(f"The dataset specs have problems:\n{exc}") from exc
        dataset = options["dataset"]
        spec = specs.get(dataset)
        if spec is None:
            known = ", ".join(sorted(specs))
            raise CommandError(f"There is no dataset {dataset!r}. The datasets are: {known}.")
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"--output: the folder {output.parent} does not exist")
        fmt: Format = options["format"] or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
        places = self._places(options["geography"])
        try:
            written = write_provider_file(
                spec,
                output,
                months=options["months"],
                rows=options["rows"],
                seed=options["seed"],
                places=places,
                fmt=fmt,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Wrote {written} rows of {spec.id} (layout {spec.layouts[0].name}, "
            f"{options['months']} months, seed {options['seed']}) to {output}; "
            f"places: {places.source}."
        )

    def _places(self, folder: str | None) -> Places:
        if folder is None:
            return Places.from_database()
        try:
            return Places.from_geography_dir(folder)
        except (OSError, GeographyFileError, ValueError) as exc:
            raise CommandError(f"--geography: {exc}") from exc
