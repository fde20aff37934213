"""``safestats extract DATASET --format csv|xlsx|json|geojson``: a record-level extract
through the same service as the page's download."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from pydantic import ValidationError

from safestats.query import exports, services
from safestats.query.cli import add_query_arguments, query_from_options, user_from_options


class Command(BaseCommand):
    help = (
        "Write the records of a dataset (refused where the agreement grants no record "
        "level; withheld fields absent; locations at the allowed precision), audited with "
        "the file's SHA-256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_query_arguments(parser)
        parser.add_argument("--format", choices=exports.FORMATS, default="csv")
        parser.add_argument("--output", type=Path, help="the file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_from_options(options)
        try:
            query = query_from_options(options)
        except ValidationError as error:
            raise CommandError(str(error)) from None
        target = options["output"]
        partial = target.with_name(target.name + ".part") if target else None
        try:
            if partial is not None:
                with partial.open("wb") as handle:
                    result = services.extract(query, fmt=options["format"], out=handle, user=user)
                partial.replace(target)
            else:
                result = services.extract(
                    query, fmt=options["format"], out=sys.stdout.buffer, user=user
                )
                sys.stdout.buffer.flush()
        except services.QueryError as error:
            if partial is not None:
                partial.unlink(missing_ok=True)
            raise CommandError(" ".join(error.problems)) from None
        except ValueError as error:
            if partial is not None:
                partial.unlink(missing_ok=True)
            raise CommandError(str(error)) from None
        self.stderr.write(
            f"{result.rows:,} records of {query.dataset} version {result.version.number}"
            f"{' to ' + str(target) if target else ''}; SHA-256 {result.sha256}"
        )
