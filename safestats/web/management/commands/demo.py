"""``safestats demo``: prepare a demo instance (kept between runs) and serve it."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safestats.web.demo import DemoError, prepare_demo_instance
from safestats.web.server import serve, start_worker, stop_worker


class Command(BaseCommand):
    help = "Prepare (or update) a demo instance in SAFESTATS_HOME and serve it on localhost."
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port"
        )
        parser.add_argument(
            "--prepare-only",
            action="store_true",
            help="prepare (or update) the instance, then exit without serving",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            prepare_demo_instance(self.stdout)
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        if options["prepare_only"]:
            self.stdout.write("Demo instance ready.")
            return
        url = f"http://{options['host']}:{options['port']}/"
        worker = start_worker()
        self.stdout.write("Background worker started (it runs uploads as they arrive).")
        self.stdout.write(self.style.SUCCESS(f"SafeStats demo: open {url} (Ctrl+C stops it)"))
        try:
            serve(bind=f"{options['host']}:{options['port']}", workers=2, threads=4)
        finally:
            stop_worker(worker)
