"""``safestats catalogue``: print the JSON Schema of spec files, check spec files, and
load the shipped spec files into the catalogue (``sync``), audited as the operator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestats.audit.services import Actor
from safestats.catalogue.loading import SPECS_DIR, SpecError, load_spec_file
from safestats.catalogue.services import sync_specs
from safestats.catalogue.spec import json_schema


class Command(BaseCommand):
    help = "Dataset specs: print their JSON Schema, check files, load the shipped files."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("schema", help="print the JSON Schema of a spec file")
        check = actions.add_parser("check", help="check spec files without loading them")
        check.add_argument("files", nargs="+", type=Path, metavar="FILE.yaml")
        sync = actions.add_parser("sync", help="load or update datasets from the spec files")
        sync.add_argument(
            "--directory",
            type=Path,
            default=SPECS_DIR,
            help="folder of spec files (default: the ones shipped with SafeStats)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "schema":
            self.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False))
        elif action == "check":
            self.check_files(options["files"])
        else:
            self.sync(options["directory"])

    def check_files(self, files: list[Path]) -> None:
        failed = False
        for path in files:
            try:
                spec = load_spec_file(path)
            except OSError as error:
                failed = True
                self.stderr.write(f"{path}: cannot be read: {error.strerror}")
            except SpecError as error:
                failed = True
                for problem in error.problems:
                    self.stderr.write(str(problem))
            else:
                self.stdout.write(f"{path}: {spec.id} is valid.")
        if failed:
            raise CommandError("Some spec files have problems.")

    def sync(self, directory: Path) -> None:
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        result = sync_specs(by=Actor.system(), directory=directory)
        for label, ids in (
            ("Added", result.created),
            ("Updated", result.changed),
            ("Unchanged", result.unchanged),
        ):
            if ids:
                self.stdout.write(f"{label} ({len(ids)}): {', '.join(ids)}")
        for problem in result.problems:
            self.stderr.write(str(problem))
        if result.problems:
            raise CommandError("Some spec files were not loaded: see above.")
