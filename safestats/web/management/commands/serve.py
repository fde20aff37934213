"""``safestats serve``: the production web server (gunicorn; static files by WhiteNoise)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from safestats.web.server import serve


def pending_migrations() -> list[str]:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


class Command(BaseCommand):
    help = "Serve SafeStats with gunicorn (run `safestats migrate` first after an upgrade)."
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=os.environ.get("SAFESTATS_BIND", "127.0.0.1:8000"),
            help="address:port to listen on (default: $SAFESTATS_BIND or 127.0.0.1:8000)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("SAFESTATS_WORKERS", "2")),
            help="worker processes (default: $SAFESTATS_WORKERS or 2)",
        )
        parser.add_argument("--threads", type=int, default=4, help="threads per worker")
        parser.add_argument(
            "--skip-collectstatic",
            action="store_true",
            help="do not collect static files first (when a deployment step already did)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pending = pending_migrations()
        if pending:
            raise CommandError(
                f"The database is missing {len(pending)} migration(s) "
                f"({', '.join(pending[:3])}{', ...' if len(pending) > 3 else ''}). "
                "Run `safestats migrate` first."
            )
        if not options["skip_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"SafeStats listening on http://{options['bind']}/")
        serve(bind=options["bind"], workers=options["workers"], threads=options["threads"])
