"""What ``safestats query`` and ``safestats extract`` share: their query options."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from safestats.accounts.models import User
from safestats.query.spec import Filter, QuerySpec


def add_query_arguments(parser: CommandParser) -> None:
    parser.add_argument("dataset", help="the dataset id (`safestats datasets` lists them)")
    parser.add_argument("--from", dest="date_from", help="first month (YYYY-MM) or day")
    parser.add_argument("--to", dest="date_to", help="last month (YYYY-MM) or day, inclusive")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="keep records whose FIELD is VALUE; repeat a field for several values",
    )
    parser.add_argument(
        "--data-version", type=int, help="read this published version (default: the current one)"
    )
    parser.add_argument("--user", help="act as this user, under their access decision")


def user_from_options(options: dict[str, Any]) -> User | None:
    email = options.get("user")
    if not email:
        return None
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise CommandError(f"There is no user {email}.")
    return user


def query_from_options(options: dict[str, Any], **extra: Any) -> QuerySpec:
    filters: dict[str, list[str]] = {}
    for item in options["where"]:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--where takes FIELD=VALUE; got {item!r}")
        filters.setdefault(name.strip(), []).append(value.strip())
    return QuerySpec(
        dataset=options["dataset"],
        version=options.get("data_version"),
        date_from=options.get("date_from"),
        date_to=options.get("date_to"),
        filters=[Filter(field=name, values=values) for name, values in filters.items()],
        **extra,
    )
