"""``safestats geography``: load a folder of ONS geography files (``load DIR``) and show
what is loaded (``status``). Loads are audited as the operator."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestats.audit.services import Actor
from safestats.geography import selectors, services
from safestats.geography.files import FILES, GeographyFileError

LABELS = {"borough": "boroughs", "ward": "wards", "msoa": "MSOAs", "lsoa": "LSOAs"}


def describe_counts(counts: dict[str, int]) -> list[str]:
    lines = []
    for key, count in sorted(counts.items()):
        level, _, vintage = key.partition("_")
        lines.append(f"  {LABELS.get(level, level)} {vintage}".rstrip() + f": {count}")
    return lines


class Command(BaseCommand):
    help = "Load London boundaries and lookups from a folder of ONS files, or show what is loaded."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = actions.add_parser(
            "load",
            help="load (or reload) a folder of ONS geography files",
            description="The folder must hold: " + ", ".join(FILES),
        )
        load.add_argument("folder", metavar="DIR")
        actions.add_parser("status", help="what is loaded: levels, vintages, counts, boundaries")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load":
            self.load(options["folder"])
        else:
            self.show_status()

    def load(self, folder: str) -> None:
        try:
            result = services.load_folder(folder, by=Actor.system())
        except GeographyFileError as exc:
            raise CommandError(f"Nothing was loaded. {exc}") from exc
        if result.changed:
            self.stdout.write(
                f"Loaded geography from {result.folder}: {result.created} areas added, "
                f"{result.updated} changed, {result.deleted} removed."
            )
        else:
            self.stdout.write(
                f"Geography in {result.folder} is already loaded (same files): nothing changed."
            )
        for line in describe_counts(result.counts):
            self.stdout.write(line)

    def show_status(self) -> None:
        status = selectors.status()
        for level in status.levels:
            label = f"{LABELS[level.level]} {level.vintage}".rstrip()
            boundaries = (
                "boundaries present"
                if level.with_boundaries == level.count
                else "boundaries absent"
                if level.with_boundaries == 0
                else f"boundaries for {level.with_boundaries}"
            )
            self.stdout.write(f"{label}: {level.count} ({boundaries})")
        if status.files:
            loaded = min(item.loaded_at for item in status.files)
            self.stdout.write(f"Loaded {loaded:%Y-%m-%d %H:%M} from {len(status.files)} files:")
            for item in status.files:
                self.stdout.write(f"  {item.name}  sha256 {item.sha256}")
        else:
            self.stdout.write(
                "No geography folder has been loaded: boundaries are absent "
                "(`safestats geography load DIR`)."
            )
