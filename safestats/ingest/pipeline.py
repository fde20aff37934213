"""Running one ingestion job from its raw files to a published version.

Stages: read each file into text columns; check, standardise, place and pseudonymise the
records a batch at a time (writing the clean records, every problem and every quarantined
row to the job's own files); refuse the whole load when more rows were quarantined than the
job's tolerance allows; otherwise build the new version and publish it. The job's row is
updated as it goes (stage, rows done, percentage, heartbeat). Whatever happens, the
dataset's current version changes only in the final publication transaction: a failure,
or the process being killed, at any earlier point leaves it as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safestats.audit.services import Actor, record
from safestats.catalogue.models import Dataset, DatasetVersion
from safestats.catalogue.services import add_draft_version, publish_version
from safestats.ingest import processing, publishing, rawstore, reading
from safestats.ingest.models import IngestJob, JobStatus
from safestats.ingest.pseudonymise import dataset_key
from safestats.ingest.selectors import places as load_places

log = logging.getLogger(__name__)

BATCH_ROWS = 262_144
WORKERS = 2
# Share of the progress bar each stage fills.
STAGES = {"reading": (0, 25), "checking": (25, 85), "publishing": (85, 100)}
PROGRESS_EVERY_SECONDS = 0.5

ProgressHook = Callable[[IngestJob], None]


class JobFailed(Exception):
    """A job cannot go on; the message, for the person who sent the file, says why."""


def report_dir(job: IngestJob) -> Path:
    return Path(settings.SAFESTATS_REPORTS_DIR) / "ingest" / f"job-{job.pk}"


def scratch_dir(job: IngestJob) -> Path:
    return Path(settings.SAFESTATS_TMP_DIR) / "ingest" / f"job-{job.pk}"


def actor_of(job: IngestJob) -> Any:
    return job.user if job.user_id else Actor.system(job.created_by or "operator")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Tracker:
    job: IngestJob
    hook: ProgressHook | None
    last: float = 0.0

    def stage(self, name: str, words: str, fraction: float = 0.0, *, force: bool = True) -> None:
        low, high = STAGES[name]
        percent = int(low + (high - low) * max(0.0, min(1.0, fraction)))
        self.job.stage = words
        self.job.percent = max(self.job.percent, percent)
        now = time.monotonic()
        if force or now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            self.job.heartbeat_at = timezone.now()
            IngestJob.objects.filter(pk=self.job.pk).update(
                stage=self.job.stage,
                percent=self.job.percent,
                rows_total=self.job.rows_total,
                rows_done=self.job.rows_done,
                heartbeat_at=self.job.heartbeat_at,
            )
            if self.hook:
                self.hook(self.job)


# Staged records are split into files of one month each (of the spec's coverage field), so
# that publishing sorts a few months at a time in memory rather than everything at once;
# past this many months in one load, the rest go into one file and publishing sorts all.
MAX_STAGED_PERIODS = 400
NO_PERIOD = -1  # records without a coverage date
MIXED = -2  # records staged after MAX_STAGED_PERIODS was reached


@dataclass
class _Staging:
    """The job's clean records, as Parquet files in the scratch folder, each holding one
    month of one input file's records (keyed year * 100 + month)."""

    folder: Path
    schema: pa.Schema
    coverage: str
    writers: dict[int, pq.ParquetWriter] = field(default_factory=dict)
    paths: dict[int, list[Path]] = field(default_factory=dict)
    current: list[Path] = field(default_factory=list)  # the files of the file being read
    rows: int = 0
    partitioned: bool = True

    def __post_init__(self) -> None:
        self.partitioned = self.coverage in self.schema.names and pa.types.is_temporal(
            self.schema.field(self.coverage).type
        )

    @property
    def files(self) -> list[Path]:
        return [path for key in sorted(self.paths) for path in self.paths[key]]

    def by_period(self) -> dict[date | None, list[Path]] | None:
        """The files of each month (None: records without a coverage date), when every
        record was staged by month."""
        if not self.partitioned or MIXED in self.paths:
            return None
        return {
            (None if key == NO_PERIOD else date(key // 100, key % 100, 1)): paths
            for key, paths in self.paths.items()
        }

    def write(self, table: pa.Table, tag: str) -> None:
        if table.num_rows == 0:
            return
        self.rows += table.num_rows
        if not self.partitioned:
            self._write(MIXED, table, tag)
            return
        column = table.column(self.coverage)
        keys = np.asarray(
            pc.fill_null(
                pc.add(pc.multiply(pc.year(column), 100), pc.month(column)), NO_PERIOD
            ).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.flatnonzero(np.diff(ordered)) + 1
        firsts = [int(ordered[0]), *(int(ordered[i]) for i in starts)]
        if len(set(firsts) | set(self.paths)) > MAX_STAGED_PERIODS:
            self.partitioned = False
            self._write(MIXED, table, tag)
            return
        if len(firsts) == 1:
            self._write(firsts[0], table, tag)
            return
        table = table.take(pa.array(order))
        bounds = [0, *starts.tolist(), len(keys)]
        for key, low, high in zip(firsts, bounds[:-1], bounds[1:], strict=True):
            self._write(key, table.slice(low, high - low), tag)

    def _write(self, key: int, table: pa.Table, tag: str) -> None:
        writer = self.writers.get(key)
        if writer is None:
            name = "mixed" if key == MIXED else "none" if key == NO_PERIOD else str(key)
            path = self.folder / f"{tag}-{name}.parquet"
            # Read once, by the engine that publishes: no compression, dictionaries or
            # statistics to compute for a file that lives for a minute.
            writer = self.writers[key] = pq.ParquetWriter(
                path, self.schema, compression="none", use_dictionary=False, write_statistics=False
            )
            self.paths.setdefault(key, []).append(path)
            self.current.append(path)
        writer.write_table(table)

    def close_file(self) -> list[Path]:
        """Close the files of the input file just read; returns them."""
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
        done, self.current = self.current, []
        return done


@dataclass
class _Writers:
    folder: Path
    problems: pq.ParquetWriter | None = None
    quarantine: pq.ParquetWriter | None = None

    def write_problems(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self.problems is None:
            self.problems = pq.ParquetWriter(
                self.folder / "problems.parquet", processing.PROBLEM_SCHEMA
            )
        self.problems.write_table(table)

    def write_quarantine(self, table: pa.Table, schema: pa.Schema) -> None:
        if table.num_rows == 0:
            return
        if self.quarantine is None:
            self.quarantine = pq.ParquetWriter(self.folder / "quarantine.parquet", schema)
        self.quarantine.write_table(table)

    def close(self) -> None:
        for writer in (self.problems, self.quarantine):
            if writer is not None:
                writer.close()
        self.problems = self.quarantine = None


def _rejected_table(rejected: list[reading.Rejected], file_label: str) -> tuple[pa.Table, pa.Table]:
    rows = pa.array([item.row for item in rejected], pa.int64())
    problems = pa.table(
        {
            "row": rows,
            "field": pa.array([""] * len(rejected), pa.string()),
            "column": pa.array([file_label] * len(rejected), pa.string()),
            "value": pa.array([item.text[: processing.VALUE_PREVIEW] for item in rejected]),
            "rule": pa.array([item.rule for item in rejected], pa.string()),
            "severity": pa.array(["error"] * len(rejected), pa.string()),
            "message": pa.array([item.message for item in rejected], pa.string()),
        },
        schema=processing.PROBLEM_SCHEMA,
    )
    quarantine = pa.table(
        {
            "row": rows,
            "reasons": pa.array([item.rule for item in rejected], pa.string()),
            "text": pa.array([item.text for item in rejected], pa.string()),
        }
    )
    return problems, quarantine


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for column in schema:
        if column.name in table.column_names:
            columns.append(table.column(column.name).cast(column.type))
        else:
            columns.append(pa.nulls(table.num_rows, column.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _check_file_problem(problems: list[str], words: str) -> None:
    if words not in problems:
        problems.append(words)


def already_loaded(job: IngestJob) -> IngestJob | None:
    """An earlier job that published every one of this job's files into the same dataset,
    and whose version is still current or earlier in the history (a no-op then)."""
    hashes = sorted(job.files.values_list("sha256", flat=True))
    candidates = (
        IngestJob.objects.filter(
            dataset_id=job.dataset_id,
            status=JobStatus.PUBLISHED,
        )
        .exclude(pk=job.pk)
        .order_by("-pk")
        .prefetch_related("files")
    )
    for earlier in candidates:
        if sorted(f.sha256 for f in earlier.files.all()) == hashes:
            return earlier
    return None


def run(job: IngestJob, *, hook: ProgressHook | None = None) -> IngestJob:
    """Run ``job`` to the end in this process. Returns it finished, whatever happened."""
    started = IngestJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        worker=worker_name(),
        stage="Starting",
    )
    job.refresh_from_db()
    if not started:
        return job
    tracker = _Tracker(job, hook)
    try:
        earlier = already_loaded(job)
        if earlier is not None:
            version = earlier.version.number if earlier.version else None
            _finish(
                job,
                JobStatus.UNCHANGED,
                f"These files were already loaded on {earlier.finished_at:%d %B %Y at %H:%M} "
                f"(job {earlier.pk}, version {version}): nothing was changed.",
                hook=hook,
            )
            record(
                "ingest.unchanged",
                actor=actor_of(job),
                target=job.dataset,
                payload={"job": job.pk, "earlier_job": earlier.pk},
            )
            return job
        _run_stages(job, tracker)
    except JobFailed as failure:
        _fail(job, str(failure), hook=hook)
    except Exception as error:  # the job must end failed and say why, whatever went wrong
        log.exception("ingest job %s failed", job.pk)
        _fail(
            job,
            f"The load failed unexpectedly ({type(error).__name__}: {str(error)[:300]}). "
            "Nothing was published.",
            hook=hook,
            detail=traceback.format_exc(limit=5),
        )
    finally:
        shutil.rmtree(scratch_dir(job), ignore_errors=True)
    return job


@dataclass
class _Input:
    """One of the job's files, sniffed: a spreadsheet is read whole into a table of text
    (small by nature); a CSV file is streamed while it is checked."""

    name: str
    read: reading.RawTable | reading.CsvSource

    @property
    def headers(self) -> list[str]:
        return self.read.headers


def _run_stages(job: IngestJob, tracker: _Tracker) -> None:
    dataset = Dataset.objects.get(pk=job.dataset_id)
    spec = dataset.parsed_spec()
    scratch = scratch_dir(job)
    reports = report_dir(job)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    reports.mkdir(parents=True, exist_ok=True)
    memory = int(settings.SAFESTATS_ENGINE_MEMORY_MB)
    began = time.monotonic()
    files = list(job.job_files.select_related("raw_file").order_by("position"))
    inputs: list[_Input] = []
    summary: dict[str, Any] = {"files": []}
    estimated = 0
    for index, job_file in enumerate(files):
        tracker.stage("reading", f"Reading {job_file.name}", index / max(len(files), 1))
        source = rawstore.path_of(job_file.raw_file)
        folder = scratch / f"file-{index}"
        folder.mkdir()
        try:
            kind = reading.sniff_kind(source)
            if kind == "xlsx":
                table = reading.read_xlsx(
                    source,
                    folder / "raw.parquet",
                    date_formats=lambda headers: _xlsx_formats(spec, headers),
                )
                inputs.append(_Input(job_file.name, table))
                estimated += table.rows + len(table.rejected)
            else:
                stream = reading.open_csv(source, folder, memory_mb=memory)
                inputs.append(_Input(job_file.name, stream))
                estimated += stream.estimated_rows
        except reading.UnreadableFile as error:
            raise JobFailed(f"{job_file.name}: {error}") from None
    job.rows_total = estimated  # CSV rows are known once read: until then, an estimate
    tracker.stage("reading", "Read", 1.0)
    seconds = {"reading": time.monotonic() - began, "checking": 0.0}
    began = time.monotonic()

    schema = processing.output_schema(spec)
    places = load_places()
    token_key = dataset_key(settings.SAFESTATS_PSEUDONYMISATION_KEY, spec.id)
    writers = _Writers(reports)
    staging_folder = scratch / "staging"
    staging_folder.mkdir()
    staging = _Staging(staging_folder, schema, spec.coverage_field)
    notes: list[str] = []
    totals = _Totals()
    rows_total = 0
    try:
        for index, item in enumerate(inputs):
            name = item.name
            try:
                plan = processing.make_plan(spec, item.headers)
            except processing.LayoutMismatch as error:
                raise JobFailed(f"{name}: {error}") from None
            for problem in plan.problems:
                _check_file_problem(notes, f"{name}: {problem}")
            if plan.unused:
                _check_file_problem(
                    notes,
                    f"{name}: these columns are not in the layout {plan.layout.name} and were "
                    "not loaded (they are kept in the raw file): "
                    + ", ".join(repr(h) for h in plan.unused[:20]),
                )
            label = name if len(inputs) > 1 else ""
            folder = scratch / f"file-{index}"
            try:
                checked = _check_file(
                    item,
                    plan,
                    label=label,
                    context=_Context(places, token_key, job, tracker, schema, seconds),
                    writers=writers,
                    staging=staging,
                    tag=f"file-{index}",
                    folder=folder,
                    totals=totals,
                    estimated=estimated,
                )
            except reading.UnreadableFile as error:
                raise JobFailed(f"{name}: {error}") from None
            rows_total += checked
            estimated = max(estimated - checked, 0)
            read = item.read
            summary["files"].append(
                {
                    "name": name,
                    "format": "csv" if isinstance(read, reading.CsvSource) else read.format,
                    "encoding": read.encoding,
                    "delimiter": read.delimiter,
                    "layout": plan.layout.name,
                    "rows": checked,
                    "rejected_unreadable": len(read.rejected),
                }
            )
    finally:
        writers.close()
    job.rows_total = rows_total
    quarantined, rows_in = totals.quarantined, totals.rows_in
    unknown, outside, empty_cells = totals.unknown, totals.outside, totals.empty_cells
    problem_count = (
        pq.ParquetFile(reports / "problems.parquet").metadata.num_rows
        if (reports / "problems.parquet").exists()
        else 0
    )
    job.rows_quarantined = quarantined
    job.unknown_geography = unknown
    job.problem_count = problem_count
    if empty_cells:
        notes.append(f"{empty_cells:,} empty month cells hold no count and were not loaded.")
    summary["notes"] = notes
    # Time spent waiting for the engine to parse the next CSV batch counts as reading.
    seconds["checking"] = time.monotonic() - began - seconds["checking"]
    summary["seconds"] = {stage: round(value, 3) for stage, value in seconds.items()}
    summary["outside_area"] = outside
    job.summary = summary
    tracker.stage("checking", "Checked", 1.0)
    share = Decimal(100 * quarantined) / Decimal(max(rows_in, 1))
    outcome_payload = {
        "job": job.pk,
        "rows": rows_in,
        "rows_quarantined": quarantined,
        "problems": problem_count,
        "unknown_geography": unknown,
        "tolerance_percent": str(job.tolerance_percent),
    }
    if rows_in == 0:
        record(
            "ingest.validated",
            actor=actor_of(job),
            target=job.dataset,
            payload=outcome_payload | {"outcome": "empty"},
        )
        raise JobFailed("The file has no records below its header: nothing was published.")
    if share > job.tolerance_percent or not staging.files:
        record(
            "ingest.validated",
            actor=actor_of(job),
            target=job.dataset,
            payload=outcome_payload | {"outcome": "rejected"},
        )
        job.rows_published = 0
        _finish(
            job,
            JobStatus.REJECTED,
            f"{quarantined:,} of {rows_in:,} rows ({share:.2f}%) have problems, more than the "
            f"{job.tolerance_percent}% allowed, so nothing was published. Download the "
            "problems, correct the file and send it again.",
            hook=tracker.hook,
        )
        return
    record(
        "ingest.validated",
        actor=actor_of(job),
        target=job.dataset,
        payload=outcome_payload | {"outcome": "accepted"},
    )
    # The checks' buffers are done with: give them back before the engine sorts, and let
    # it use half the engine memory (it spills the rest of a large sort to disk), so the
    # process's peak stays flat however large the file.
    pa.default_memory_pool().release_unused()
    _publish(job, dataset, spec, schema, staging, tracker, scratch, max(memory // 2, 128))


@dataclass
class _Totals:
    rows_in: int = 0
    quarantined: int = 0
    unknown: int = 0
    outside: int = 0
    empty_cells: int = 0


@dataclass
class _Context:
    places: processing.Places
    token_key: bytes
    job: IngestJob
    tracker: _Tracker
    schema: pa.Schema
    seconds: dict[str, float]  # "reading" grows by the time spent waiting for the engine


def _check_file(
    item: _Input,
    plan: processing.Plan,
    *,
    label: str,
    context: _Context,
    writers: _Writers,
    staging: _Staging,
    tag: str,
    folder: Path,
    totals: _Totals,
    estimated: int,
) -> int:
    """Check one file's records a batch at a time, writing its clean records, problems and
    quarantined rows. Returns the rows the file holds.

    A CSV file's rows are numbered while it streams as if no row were unreadable; the rows
    the engine could not read are known at the end, and only then, when there are any,
    are the numbers of the rows after them moved down (in the clean records, the problems
    and the quarantine). Problems and quarantined rows are kept apart until then, so that
    the file's unreadable rows come first, as they always have."""
    job = context.job
    quarantine_schema = processing.quarantine_schema(item.headers)
    held = _Writers(folder)
    read = item.read
    if isinstance(read, reading.RawTable):
        batches: Iterator[pa.RecordBatch] = reading.batches(read, BATCH_ROWS)
        rows_of: Callable[[np.ndarray], np.ndarray] = read.rows_of
        job.rows_done += len(read.rejected)
    else:
        batches = _timed(read.batches(BATCH_ROWS), context.seconds)
        rows_of = _provisional_rows
    rows_in = 0
    try:
        for outcome in _processed(batches, rows_of, plan, context):
            staging.write(outcome.records, tag)
            problems = outcome.problems
            if label and problems.num_rows:
                problems = problems.set_column(
                    2,
                    "column",
                    pc.binary_join_element_wise(label, problems.column("column"), ": "),
                )
            held.write_problems(problems)
            if outcome.quarantine.num_rows:
                renamed = outcome.quarantine.rename_columns(
                    [
                        quarantine_schema.field(int(c[1:]) + 3).name
                        if c.startswith("c") and c[1:].isdigit()
                        else c
                        for c in outcome.quarantine.column_names
                    ]
                )
                held.write_quarantine(_conform(renamed, quarantine_schema), quarantine_schema)
            totals.quarantined += outcome.quarantine.num_rows
            totals.unknown += outcome.unknown_geography
            totals.outside += outcome.outside_area
            totals.empty_cells += outcome.empty_cells
            rows_in += outcome.rows_in
            job.rows_done += outcome.rows_in
            job.rows_published += outcome.records.num_rows
            job.rows_total = max(job.rows_total, job.rows_done + estimated - rows_in)
            context.tracker.stage(
                "checking",
                f"Checking {item.name}",
                job.rows_done / max(job.rows_total, 1),
                force=False,
            )
    finally:
        held.close()
        staged = staging.close_file()
    rejected = read.rejected
    remap: Callable[[np.ndarray], np.ndarray] | None = None
    if isinstance(read, reading.CsvSource):
        job.rows_done += len(rejected)
        if rejected:
            remap = read.rows_of_provisional
            for path in staged:
                _renumber_records(path, remap)
    if rejected:
        problems, rejected_rows = _rejected_table(rejected, label)
        writers.write_problems(problems)
        writers.write_quarantine(_conform(rejected_rows, quarantine_schema), quarantine_schema)
        totals.quarantined += len(rejected)
    _copy_rows(folder / "problems.parquet", writers.write_problems, remap)
    _copy_rows(
        folder / "quarantine.parquet",
        lambda part: writers.write_quarantine(part, quarantine_schema),
        remap,
    )
    rows = rows_in + len(rejected)
    totals.rows_in += rows
    return rows


def _provisional_rows(records: np.ndarray) -> np.ndarray:
    return np.asarray(records, dtype=np.int64) + 1


def _timed(
    batches: Iterator[pa.RecordBatch], seconds: dict[str, float]
) -> Iterator[pa.RecordBatch]:
    """The batches, adding the time spent waiting for each to ``seconds["reading"]`` (and
    to ``seconds["checking"]``, which is the time outside it)."""
    while True:
        began = time.monotonic()
        batch = next(batches, None)
        waited = time.monotonic() - began
        seconds["reading"] += waited
        seconds["checking"] += waited
        if batch is None:
            return
        yield batch


def _renumber(table: pa.Table, column: str, remap: Callable[[np.ndarray], np.ndarray]) -> pa.Table:
    position = table.schema.get_field_index(column)
    rows = table.column(column).to_numpy()
    return table.set_column(position, column, pa.array(remap(rows), pa.int64()))


def _copy_rows(
    path: Path,
    write: Callable[[pa.Table], None],
    remap: Callable[[np.ndarray], np.ndarray] | None,
) -> None:
    """Append a file's held problems or quarantined rows to the job's own, renumbered."""
    if not path.exists():
        return
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
        part = pa.Table.from_batches([batch])
        write(_renumber(part, "row", remap) if remap is not None else part)
    path.unlink()


def _renumber_records(path: Path, remap: Callable[[np.ndarray], np.ndarray]) -> None:
    """Rewrite a file's clean records with their source rows moved past unreadable rows."""
    renumbered = path.with_name(f"renumbered-{path.name}")
    source = pq.ParquetFile(path)
    with pq.ParquetWriter(
        renumbered,
        source.schema_arrow,
        compression="none",
        use_dictionary=False,
        write_statistics=False,
    ) as writer:
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            writer.write_table(
                _renumber(pa.Table.from_batches([batch]), processing.SOURCE_ROW, remap)
            )
    os.replace(renumbered, path)


def _processed(
    batches: Iterator[pa.RecordBatch],
    rows_of: Callable[[np.ndarray], np.ndarray],
    plan: processing.Plan,
    context: _Context,
) -> Iterator[processing.Outcome]:
    """Each batch's outcome, in file order. Batches are worked on two at a time: the
    engines below (Arrow, DuckDB, shapely) release Python's lock while they compute, so
    this uses both cores while keeping at most a few batches in memory."""

    def work(batch: pa.RecordBatch) -> processing.Outcome:
        rows = rows_of(batch.column("_record").to_numpy(zero_copy_only=False))
        return processing.process(
            batch,
            plan,
            rows_of=rows,
            places=context.places,
            token_key=context.token_key,
            job=context.job.pk,
        )

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ingest") as pool:
        pending: deque[Future[processing.Outcome]] = deque()
        for batch in batches:
            pending.append(pool.submit(work, batch))
            if len(pending) > WORKERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _xlsx_formats(spec: Any, headers: list[str]) -> dict[int, str]:
    """For each column of a sheet, the date format its layout field expects."""
    formats: dict[int, str] = {}
    normalised = [processing.normalise_header(h) for h in headers]
    for layout in spec.layouts:
        for name, fmt in layout.date_formats.items():
            for header in layout.headers(name):
                key = processing.normalise_header(header)
                if key in normalised:
                    formats.setdefault(normalised.index(key), fmt)
    return formats


def _publish(
    job: IngestJob,
    dataset: Dataset,
    spec: Any,
    schema: pa.Schema,
    staging: _Staging,
    tracker: _Tracker,
    scratch: Path,
    memory: int,
) -> None:
    data_dir = Path(settings.SAFESTATS_DATA_DIR)
    began = time.monotonic()
    tracker.stage("publishing", "Waiting for the dataset", 0.0)

    def waiting() -> None:
        tracker.stage("publishing", "Waiting for another load of this dataset to finish", 0.0)

    with publishing.dataset_lock(data_dir, spec.id, waiting):
        dataset.refresh_from_db()
        current: DatasetVersion | None = dataset.current_version
        previous = publishing.version_files(data_dir, current.parquet_path) if current else []
        last = dataset.versions.order_by("-number").values_list("number", flat=True).first()
        number = (last or 0) + 1
        tracker.stage("publishing", "Writing the new version", 0.1)
        built = publishing.build_version(
            spec=spec,
            schema=schema,
            staging=staging.files,
            staging_by_period=staging.by_period(),
            previous=previous,
            data_dir=data_dir,
            folder_name=f"v{number:04d}-job{job.pk}",
            scratch=scratch,
            memory_mb=memory,
            spec_version=dataset.spec_version,
            job=job.pk,
        )
        tracker.stage("publishing", "Publishing", 0.9)
        actor = actor_of(job)
        with transaction.atomic():
            version = add_draft_version(
                dataset=dataset,
                row_count=built.rows,
                coverage_from=built.coverage_from,
                coverage_to=built.coverage_to,
                parquet_path=built.folder,
                manifest_sha256=built.manifest_sha256,
                by=actor,
            )
            publish_version(dataset=dataset, version=version, by=actor)
            job.version = version
            job.base_version = current
            job.summary = dict(job.summary) | {
                "periods_replaced": built.periods_replaced,
                "rows_replaced": built.rows_replaced,
            }
            job.summary["seconds"] = dict(job.summary.get("seconds", {})) | {
                "publishing": round(time.monotonic() - began, 3)
            }
            periods = built.periods_replaced
            span = f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else (periods or ["-"])[0]
            quarantine_words = (
                f"; {_rows(job.rows_quarantined)} quarantined" if job.rows_quarantined else ""
            )
            _finish(
                job,
                JobStatus.PUBLISHED,
                f"Published version {version.number} with {_records(built.rows)}: "
                f"{job.rows_published:,} new {_noun(job.rows_published, 'record')} for {span}"
                f"{quarantine_words}.",
                hook=tracker.hook,
            )


def _noun(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _records(count: int) -> str:
    return f"{count:,} record" if count == 1 else f"{count:,} records"


def _finish(job: IngestJob, status: str, message: str, *, hook: ProgressHook | None) -> None:
    job.status = status
    job.message = message
    job.finished_at = timezone.now()
    if status in (JobStatus.PUBLISHED, JobStatus.UNCHANGED):
        job.percent = 100
        job.stage = "Done"
    else:
        job.stage = "Stopped"
    job.save()
    if hook:
        hook(job)


def _fail(job: IngestJob, message: str, *, hook: ProgressHook | None, detail: str = "") -> None:
    job.rows_published = 0
    _finish(job, JobStatus.FAILED, message, hook=hook)
    record(
        "ingest.failed",
        actor=actor_of(job),
        target=job.dataset,
        payload={"job": job.pk, "reason": message[:500]},
    )
    if detail:
        log.error("ingest job %s: %s", job.pk, detail)
