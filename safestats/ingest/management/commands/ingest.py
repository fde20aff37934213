"""``safestats ingest DATASET FILE...``: load files into a dataset through the same pipeline
as an upload, with a progress bar, and print what happened."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset
from safestats.ingest import rawstore, services
from safestats.ingest.models import IngestJob, JobStatus

CHUNK = 1 << 20


class Command(BaseCommand):
    # Django's system checks import every page's code (over half a second) and say nothing
    # about a load; `safestats check` and the web server still run them.
    requires_system_checks: list[str] = []
    help = (
        "Load one or more files (CSV in any common encoding and delimiter, or XLSX) into a "
        "dataset: check, standardise, pseudonymise and publish a new version. Exits 0 when "
        "a version was published (or the files were already loaded), 1 otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="the dataset id, as `safestats datasets` lists it")
        parser.add_argument("files", nargs="+", type=Path, help="the files to load")
        parser.add_argument(
            "--tolerance",
            help="the percentage of rows that may be quarantined before the whole load is "
            "refused (default: SAFESTATS_INGEST_TOLERANCE_PERCENT)",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="queue the job for `safestats worker` instead of running it here",
        )
        parser.add_argument(
            "--problems",
            type=Path,
            help="write every problem found (row, field, value, rule) to this CSV file",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--json",
            action="store_true",
            help="print the job's outcome as one JSON object (for scripts) instead of words",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(pk=options["dataset"]).first()
        if dataset is None:
            known = ", ".join(Dataset.objects.order_by("pk").values_list("pk", flat=True))
            raise CommandError(f"There is no dataset {options['dataset']!r}. Known: {known}")
        tolerance = None
        if options["tolerance"] is not None:
            try:
                tolerance = Decimal(options["tolerance"])
            except InvalidOperation:
                raise CommandError("--tolerance is a percentage, such as 2.5") from None
        for path in options["files"]:
            if not path.is_file():
                raise CommandError(f"{path} is not a file.")
        services.reap_stale_jobs()
        incoming = [
            services.Incoming(name=path.name, chunks=_chunks(path)) for path in options["files"]
        ]
        try:
            job = services.receive(
                dataset=dataset, files=incoming, by=Actor.system(), tolerance_percent=tolerance
            )
        except (ValueError, rawstore.UploadTooLarge) as error:
            raise CommandError(str(error)) from None
        if not options["json"]:
            self.stdout.write(f"Job {job.pk}: loading {len(incoming)} file(s) into {dataset.pk}.")
        if options["queue"]:
            services.enqueue(job)
            self.stdout.write("Queued: `safestats worker` will run it.")
            return
        bar = None
        if not options["no_progress"] and not options["json"]:
            bar = tqdm(total=100, unit="%", desc="Starting", file=self.stderr._out, leave=True)

        def hook(current: IngestJob) -> None:
            if bar is None:
                return
            bar.set_description_str(current.stage[:40])
            bar.set_postfix_str(f"{current.rows_done:,} rows")
            bar.update(current.percent - bar.n)

        try:
            job = services.run_now(job, hook=hook)
        finally:
            if bar is not None:
                bar.close()
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(job), sort_keys=True))
        else:
            self._report(job, options["problems"])
        if job.status not in (JobStatus.PUBLISHED, JobStatus.UNCHANGED):
            raise CommandError(f"{job.get_status_display()}: {job.message}")

    def _report(self, job: IngestJob, problems: Path | None) -> None:
        for file in job.summary.get("files", []):
            self.stdout.write(
                f"  {file['name']}: {file['rows']:,} rows, {file['encoding']}, "
                f"layout {file['layout']}"
            )
        for note in job.summary.get("notes", []):
            self.stdout.write(f"  Note: {note}")
        if job.problem_count:
            self.stdout.write(f"  {job.problem_count:,} problems:")
            for rule, severity, count in services.problem_counts(job):
                self.stdout.write(f"    {rule} ({severity}): {count:,}")
            for item in services.first_problems(job, 10):
                self.stdout.write(
                    f"    row {item['row']}, {item['field'] or item['column'] or 'row'}: "
                    f"{item['message']} (value {item['value']!r})"
                )
        if job.unknown_geography:
            self.stdout.write(f"  {job.unknown_geography:,} records kept with unknown geography.")
        if problems is not None:
            with problems.open("w", encoding="utf-8", newline="") as handle:
                services.write_lines(services.problems_csv(job), handle)
            self.stdout.write(f"  Problems written to {problems}.")
        if job.status in (JobStatus.PUBLISHED, JobStatus.UNCHANGED):
            self.stdout.write(self.style.SUCCESS(job.message))


def _as_json(job: IngestJob) -> dict[str, Any]:
    return {
        "job": job.pk,
        "dataset": job.dataset_id,
        "status": job.status,
        "message": job.message,
        "rows": job.rows_total,
        "rows_published": job.rows_published,
        "rows_quarantined": job.rows_quarantined,
        "problems": job.problem_count,
        "unknown_geography": job.unknown_geography,
        "version": job.version.number if job.version else None,
        "summary": job.summary,
    }


def _chunks(path: Path) -> Any:
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(CHUNK), b"")
