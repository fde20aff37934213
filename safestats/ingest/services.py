"""Ingestion as the pages and commands use it: who may load which dataset, receiving files
into a job, queueing and running it, noticing jobs whose process died, the problems and
quarantined rows of a job as CSV, and rolling a dataset back."""

from __future__ import annotations

import csv
import os
import shutil
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from safestats.accounts.models import Role
from safestats.audit.selectors import safe_cell
from safestats.audit.services import record
from safestats.catalogue.models import Dataset
from safestats.ingest import pipeline, rawstore
from safestats.ingest.models import IngestJob, JobFile, JobStatus, RawFile

# A job on another machine whose heartbeat is older than this is taken to have died.
STALE_AFTER = timedelta(minutes=15)
MAX_FILES_PER_JOB = 20


class IngestRefused(PermissionError):
    """The user may not load this dataset; the message says why."""


@dataclass(frozen=True)
class Incoming:
    """One file as received: its name and its bytes, in chunks."""

    name: str
    chunks: Iterable[bytes]


def datasets_for_upload(user: Any) -> QuerySet[Dataset]:
    """Datasets ``user`` may load: any for a platform administrator; for a data provider,
    those their organisation provides; none for anyone else."""
    datasets = Dataset.objects.order_by("title")
    role = getattr(user, "role", None)
    if role == Role.PLATFORM_ADMIN:
        return datasets
    if role == Role.DATA_PROVIDER and getattr(user, "organisation_id", None):
        return datasets.filter(provider_organisations=user.organisation_id)
    return datasets.none()


def may_upload(user: Any, dataset: Dataset) -> bool:
    return datasets_for_upload(user).filter(pk=dataset.pk).exists()


def default_tolerance() -> Decimal:
    return Decimal(str(settings.SAFESTATS_INGEST_TOLERANCE_PERCENT)).quantize(Decimal("0.01"))


def receive(
    *,
    dataset: Dataset,
    files: list[Incoming],
    by: Any,
    tolerance_percent: Decimal | None = None,
    request: HttpRequest | None = None,
) -> IngestJob:
    """Store ``files`` in the raw store and create a queued job loading them into
    ``dataset``. A user must be allowed to load it; the command line (an Actor) may load
    any dataset. Each file is audited as received, with its SHA-256."""
    is_user = hasattr(by, "role")
    if is_user and not may_upload(by, dataset):
        raise IngestRefused(f"You cannot load data into {dataset.title}.")
    if not files:
        raise ValueError("Choose at least one file.")
    if len(files) > MAX_FILES_PER_JOB:
        raise ValueError(f"Send at most {MAX_FILES_PER_JOB} files at a time.")
    tolerance = default_tolerance() if tolerance_percent is None else tolerance_percent
    if not Decimal(0) <= tolerance <= Decimal(100):
        raise ValueError("The error tolerance is a percentage from 0 to 100.")
    stored: list[tuple[str, RawFile, bool]] = []
    for incoming in files:
        raw, new = rawstore.store_chunks(incoming.chunks, name=incoming.name, by=by)
        stored.append((rawstore.safe_name(incoming.name), raw, new))
    with transaction.atomic():
        job = IngestJob.objects.create(
            dataset=dataset,
            tolerance_percent=tolerance,
            user=by if is_user else None,
            organisation_id=getattr(by, "organisation_id", None) if is_user else None,
            created_by=_label(by),
        )
        for position, (name, raw, new) in enumerate(stored):
            JobFile.objects.create(job=job, raw_file=raw, position=position, name=name)
            record(
                "ingest.file_received",
                actor=by,
                target=dataset,
                payload={
                    "job": job.pk,
                    "file": name,
                    "sha256": raw.sha256,
                    "bytes": raw.size,
                    "new_in_store": new,
                },
                request=request,
            )
    return job


def _label(by: Any) -> str:
    from safestats.audit.services import Actor

    return Actor.of(by).label


def enqueue(job: IngestJob) -> None:
    """Hand ``job`` to the background worker (``safestats worker``)."""
    from safestats.ingest.tasks import run_ingest_job

    run_ingest_job.enqueue(job.pk)


def run_now(job: IngestJob, *, hook: pipeline.ProgressHook | None = None) -> IngestJob:
    """Run ``job`` in this process (the command line, the demo, the worker)."""
    return pipeline.run(job, hook=hook)


def _alive(worker: str) -> bool | None:
    """Whether the process named ``host:pid`` is alive: None when it is on another host."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale_jobs() -> list[IngestJob]:
    """Mark failed every running job whose process is gone (killed, or the machine
    restarted), clearing its scratch files. The dataset was never touched by it: a job
    changes the current version only in its last transaction."""
    reaped = []
    now = timezone.now()
    for job in IngestJob.objects.filter(status=JobStatus.RUNNING):
        alive = _alive(job.worker)
        stale = job.heartbeat_at is None or now - job.heartbeat_at > STALE_AFTER
        if alive is False or (alive is None and stale):
            updated = IngestJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED,
                finished_at=now,
                stage="Stopped",
                rows_published=0,
                message=(
                    f"The process running this load stopped while it was at "
                    f"“{job.stage or 'the start'}” (it was killed, or the machine restarted). "
                    "Nothing was published; send the file again to retry."
                ),
            )
            if updated:
                job.refresh_from_db()
                shutil.rmtree(pipeline.scratch_dir(job), ignore_errors=True)
                for partial in (
                    Path(settings.SAFESTATS_DATA_DIR) / "datasets" / job.dataset_id
                ).glob(f".building-*-job{job.pk}"):
                    shutil.rmtree(partial, ignore_errors=True)
                record(
                    "ingest.failed",
                    actor=pipeline.actor_of(job),
                    target=job.dataset,
                    payload={"job": job.pk, "reason": "the worker process stopped"},
                )
                reaped.append(job)
    return reaped


# ------------------------------------------------------------------------ job's outputs

PROBLEM_HEADERS = ["row", "field", "column", "value", "rule", "severity", "message"]


def problems_path(job: IngestJob) -> Path:
    return pipeline.report_dir(job) / "problems.parquet"


def quarantine_path(job: IngestJob) -> Path:
    return pipeline.report_dir(job) / "quarantine.parquet"


def first_problems(job: IngestJob, limit: int = 100) -> list[dict[str, Any]]:
    path = problems_path(job)
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    for batch in pq.ParquetFile(path).iter_batches(batch_size=limit):
        out.extend(batch.to_pylist())
        if len(out) >= limit:
            break
    return out[:limit]


def problem_counts(job: IngestJob) -> list[tuple[str, str, int]]:
    """(rule, severity, rows) for the job's problems, most frequent first."""
    path = problems_path(job)
    if not path.exists():
        return []
    counts: dict[tuple[str, str], int] = {}
    for batch in pq.ParquetFile(path).iter_batches(columns=["rule", "severity"]):
        for rule, severity in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
        ):
            counts[(rule, severity)] = counts.get((rule, severity), 0) + 1
    return sorted(((r, s, n) for (r, s), n in counts.items()), key=lambda item: -item[2])


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(path: Path, headers: list[str] | None) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"
    if not path.exists():
        yield writer.writerow(headers or [])
        return
    parquet = pq.ParquetFile(path)
    names = headers or parquet.schema_arrow.names
    yield writer.writerow([safe_cell(name) for name in names])
    for batch in parquet.iter_batches(batch_size=10_000):
        columns = [batch.column(name).to_pylist() for name in parquet.schema_arrow.names]
        for values in zip(*columns, strict=True):
            yield writer.writerow([safe_cell(value) for value in values])


def problems_csv(job: IngestJob) -> Iterator[str]:
    """Every problem of the job as CSV lines (UTF-8 with byte-order mark for Excel; cells
    that a spreadsheet would run as formulas are prefixed with an apostrophe)."""
    return _csv_lines(problems_path(job), PROBLEM_HEADERS)


def quarantine_csv(job: IngestJob) -> Iterator[str]:
    """The quarantined rows exactly as sent, with the row and the reasons."""
    return _csv_lines(quarantine_path(job), None)


def write_lines(lines: Iterable[str], stream: IO[str]) -> None:
    for line in lines:
        stream.write(line)


def record_download(job: IngestJob, what: str, *, by: Any, request: HttpRequest | None) -> None:
    record(
        "ingest.report_downloaded",
        actor=by,
        target=job.dataset,
        payload={"job": job.pk, "what": what},
        request=request,
    )


# ------------------------------------------------------------------- who provides what


def set_provider_organisations(
    *,
    dataset: Dataset,
    organisation_ids: Iterable[int],
    by: Any,
    request: HttpRequest | None = None,
) -> list[int]:
    """Make ``organisation_ids`` the organisations whose data providers may load
    ``dataset``. An organisation can be added only while it is approved (one already a
    provider may stay while suspended, so that removing it is a separate decision).
    Audited ``dataset.providers_changed`` with the ids before and after; returns the ids
    after, sorted. Raises ValueError naming an organisation that cannot be added."""
    from safestats.organisations.models import Organisation, OrganisationStatus

    wanted = sorted(set(organisation_ids))
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        before = sorted(locked.provider_organisations.values_list("pk", flat=True))
        found = {o.pk: o for o in Organisation.objects.filter(pk__in=wanted)}
        for pk in wanted:
            organisation = found.get(pk)
            if organisation is None:
                raise ValueError(f"There is no organisation {pk}.")
            if pk not in before and organisation.status != OrganisationStatus.APPROVED:
                raise ValueError(
                    f"{organisation.name} is {organisation.get_status_display().lower()}: "
                    "only approved organisations can be made providers of a dataset."
                )
        if wanted == before:
            return before
        locked.provider_organisations.set(wanted)
        record(
            "dataset.providers_changed",
            actor=by,
            target=locked,
            payload={
                "dataset": locked.pk,
                "before": before,
                "after": wanted,
                "added": [pk for pk in wanted if pk not in before],
                "removed": [pk for pk in before if pk not in wanted],
            },
            request=request,
        )
    return wanted
