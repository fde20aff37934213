"""``safestats query DATASET --by FIELD[,FIELD] ...``: a disclosure-controlled table, through
the same service as the pages."""

from __future__ import annotations

import io
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from pydantic import ValidationError

from safestats.query import exports, services
from safestats.query.cli import add_query_arguments, query_from_options, user_from_options


class Command(BaseCommand):
    help = (
        "Print a disclosure-controlled table of a dataset: one column per group-by field, "
        "then the count (or the measure); suppressed cells show as [c]. Acts as --user "
        "under their access decision, or as the instance's operator. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_query_arguments(parser)
        parser.add_argument(
            "--by", default="", help="group by these fields, comma separated (at most two)"
        )
        parser.add_argument(
            "--time",
            choices=["day", "week", "month", "quarter", "year", "hour", "weekday", "weekday_hour"],
            help="also group by this unit of time",
        )
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument(
            "--no-about",
            action="store_true",
            help="leave out the first line naming the version, query and rules (CSV)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_from_options(options)
        try:
            query = query_from_options(
                options,
                group_by=[name.strip() for name in options["by"].split(",") if name.strip()],
                time_unit=options["time"],
            )
            result = services.run_query(query, user=user)
        except ValidationError as error:
            raise CommandError(_validation_words(error)) from None
        except services.QueryError as error:
            raise CommandError(" ".join(error.problems)) from None
        buffer = io.BytesIO()
        exports.write_result(options["format"], result, buffer)
        text = buffer.getvalue().decode("utf-8").lstrip("\ufeff")
        if options["format"] == "csv" and options["no_about"]:
            text = text.split("\n", 1)[1]
        sys.stdout.write(text)
        sys.stdout.flush()


def _validation_words(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
    )
