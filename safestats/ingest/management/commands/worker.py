"""``safestats worker``: run queued background jobs (ingestion) as they arrive."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from safestats.ingest.services import reap_stale_jobs


class Command(BaseCommand):
    help = "Run queued background jobs (ingestion) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-tasks", type=int, default=0, help="stop after this many jobs (0: never)"
        )
        parser.add_argument("--batch", action="store_true", help="stop when the queue is empty")

    def handle(self, *args: Any, **options: Any) -> None:
        for job in reap_stale_jobs():
            self.stdout.write(f"Job {job.pk} had stopped with its process: marked failed.")
        arguments = ["--no-startup-delay", "--interval", "1"]
        if options["batch"]:
            arguments.append("--batch")
        if options["max_tasks"]:
            arguments += ["--max-tasks", str(options["max_tasks"])]
        call_command("db_worker", *arguments)
