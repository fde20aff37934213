"""Synthetic data for every dataset of a demo instance, loaded through the real ingestion
pipeline (raw store, checks, geography, pseudonymisation, Parquet versions), so the demo
shows the path real data takes.

Files are generated with a fixed seed, so a second run produces the same bytes and the
pipeline recognises them as already loaded; a dataset that already has data is skipped
without generating anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings

from safestats.audit.services import Actor
from safestats.catalogue.models import Dataset
from safestats.ingest import services
from safestats.ingest.models import IngestJob, JobStatus
from safestats.ingest.synthetic import Places, demo_plan, write_provider_file
from safestats.organisations.models import Organisation

DEMO = Actor.system("demo")
SEED = 20261125
# Which demo organisation's data providers may load which datasets.
PROVIDERS = {
    "Metropolitan Police Service": (
        "mps-recorded-crime",
        "mps-asb-incidents",
        "mps-victims",
        "mps-suspects",
        "mps-crime-outcomes",
    ),
    "Barts Health NHS Trust": ("istv-ed-attendances",),
}


class Output(Protocol):
    def write(self, msg: str) -> None: ...


class DemoDataError(RuntimeError):
    pass


def assign_demo_providers() -> None:
    for name, dataset_ids in PROVIDERS.items():
        organisation = Organisation.objects.filter(name=name).first()
        if organisation is None:
            continue
        for dataset in Dataset.objects.filter(pk__in=dataset_ids):
            dataset.provider_organisations.add(organisation)


def load_demo_data(out: Output) -> None:
    """Generate and load each dataset's synthetic file, unless it already has data."""
    assign_demo_providers()
    folder = Path(settings.SAFESTATS_HOME) / "demo-data"
    folder.mkdir(exist_ok=True)
    places = Places.from_database()
    plan = demo_plan()
    for dataset in Dataset.objects.order_by("pk"):
        if dataset.pk not in plan:
            continue
        current = dataset.current_version
        if current is not None:
            out.write(f"  {dataset.pk}: has data (version {current.number}).")
            continue
        months, rows = plan[dataset.pk]
        path = folder / f"{dataset.pk}.csv"
        started = time.monotonic()
        spec = dataset.parsed_spec()
        reason = places.lacks(spec)
        written = 0
        if reason is None:
            written = write_provider_file(
                spec, path, months=months, rows=rows, seed=SEED, places=places
            )
        if reason is not None or written == 0:
            out.write(f"  {dataset.pk}: no demo data ({reason or 'no places to put it'}).")
            continue
        job = services.receive(
            dataset=dataset,
            files=[services.Incoming(name=path.name, chunks=_chunks(path))],
            by=DEMO,
        )
        job = services.run_now(job)
        if job.status not in (JobStatus.PUBLISHED, JobStatus.UNCHANGED):
            raise DemoDataError(f"The demo data for {dataset.pk} did not load: {job.message}")
        out.write(f"  {dataset.pk}: {_words(job)} ({time.monotonic() - started:.1f} s)")


def _words(job: IngestJob) -> str:
    if job.status == JobStatus.UNCHANGED:
        return "already loaded"
    return f"version {job.version.number if job.version else '?'}, {job.rows_published:,} records"


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(1 << 20), b"")
