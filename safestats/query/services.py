"""Queries and extracts, for the pages, the commands and the API alike.

``run_query`` asks the access policy, checks the query against the dataset and the
agreement's limits, compiles it, runs it in the fenced engine over the version's files,
applies the dataset's disclosure control to every cell and total, records the query in the
audit log, and returns a :class:`Result` that says which version it read and which rules
it applied. ``extract`` does the same for record-level output, streamed to a file.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
from django.conf import settings
from django.http import HttpRequest

from safestats.access import services as access
from safestats.access.policy import Decision
from safestats.audit.services import Actor, record
from safestats.catalogue.models import Dataset, DatasetVersion, VersionStatus
from safestats.catalogue.spec import CellKey, DatasetSpec
from safestats.geography.codes import BOROUGHS
from safestats.ingest.publishing import version_files
from safestats.organisations.grants import BOROUGH, LSOA, POINT, SNAPPED_POINT, WARD, is_finer
from safestats.query import compiler, disclosure, engine
from safestats.query.spec import (
    WEEKDAYS,
    Limits,
    QuerySpec,
    check,
    geography_level,
    measure_of,
)

SUPPRESSED = "[c]"  # the GSS symbol for a value suppressed to protect confidentiality
UNKNOWN = "Unknown"
SNAP_METRES = 250  # points shown to agreements that allow "snapped points"


class QueryError(Exception):
    """The query cannot be answered; ``problems`` say why, in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class QueryRefused(QueryError):
    """The access policy refused: the reason is the policy's own."""


@dataclass(frozen=True)
class Cell:
    labels: tuple[str, ...]
    codes: tuple[str | None, ...]
    value: float | int | None  # None when suppressed
    shown: str  # what to print: a number, or [c]
    primary: bool = False


@dataclass
class Result:
    dataset: Dataset
    version: DatasetVersion
    query: QuerySpec
    dimensions: list[compiler.Dimension]
    value_name: str
    cells: list[Cell]
    totals: dict[str, list[Cell]]
    grand_total: Cell
    rules: list[str]
    decision: Decision
    actor_label: str
    counts_shape: tuple[int, ...] = ()
    axes: list[list[str | None]] = field(default_factory=list)

    @property
    def suppressed(self) -> int:
        return sum(1 for cell in self.cells if cell.value is None)

    def about(self) -> dict[str, Any]:
        """What every output of this result carries: the version, the query, the rules."""
        return {
            "dataset": self.dataset.pk,
            "dataset_title": self.dataset.title,
            "version": self.version.number,
            "version_published_at": (
                self.version.published_at.isoformat() if self.version.published_at else None
            ),
            "query": self.query.as_json(),
            "disclosure_control": self.rules,
        }


# ------------------------------------------------------------------------ the decision


def decide(dataset_id: str, level: str, *, user: Any, request: HttpRequest | None) -> Decision:
    if user is None:
        return access.operator_decision(dataset_id, level)
    return access.decide(user, dataset_id, level, request=request)


def limits_of(decision: Decision, record: Decision | None = None) -> Limits:
    return Limits(
        withheld=frozenset(decision.withheld_fields),
        precision=decision.precision or POINT,
        record_level=bool(record and record.allowed),
    )


def _actor(user: Any) -> Any:
    return user if user is not None else Actor.system("operator")


def _version(dataset: Dataset, query: QuerySpec) -> DatasetVersion:
    if query.version is not None:
        version = (
            dataset.versions.filter(number=query.version)
            .exclude(status=VersionStatus.DRAFT)
            .first()
        )
        if version is None:
            raise QueryError([f"{dataset.title} has no published version {query.version}."])
        return version
    if dataset.current_version is None:
        raise QueryError([f"{dataset.title} has no data yet."])
    return dataset.current_version


def _files(version: DatasetVersion) -> list[Path]:
    return version_files(Path(settings.SAFESTATS_DATA_DIR), version.parquet_path)


def normalise(query: QuerySpec, spec: DatasetSpec) -> tuple[QuerySpec, list[str]]:
    """Filter values as the data holds them: a code list's labels and codes are both
    accepted, whatever their case; a value a code list does not have is a problem."""
    problems: list[str] = []
    filters = []
    for item in query.filters:
        spec_field = spec.field(item.field)
        codes = spec.code_values(spec_field) if spec_field is not None else None
        if not codes:
            filters.append(item)
            continue
        lookup: dict[str, str] = {}
        for code in codes:
            lookup.setdefault(code.code.casefold(), code.code)
            lookup.setdefault(code.label.casefold(), code.code)
        values = []
        for value in item.values:
            found = lookup.get(value.strip().casefold())
            if found is None:
                problems.append(f"{value!r} is not a value of {item.field}.")
            else:
                values.append(found)
        filters.append(item.model_copy(update={"values": values or item.values}))
    return query.model_copy(update={"filters": filters}), problems


def prepare(
    query: QuerySpec, *, user: Any, request: HttpRequest | None, level: str
) -> tuple[Dataset, DatasetSpec, QuerySpec, Decision, Limits]:
    dataset = Dataset.objects.select_related("current_version").filter(pk=query.dataset).first()
    if dataset is None:
        raise QueryError([f"There is no dataset {query.dataset!r}."])
    decision = decide(dataset.pk, level, user=user, request=request)
    if not decision.allowed:
        raise QueryRefused([decision.reason])
    record_decision = decision if level == "record" else None
    limits = limits_of(decision, record_decision)
    spec = dataset.parsed_spec()
    query, problems = normalise(query, spec)
    problems += check(query, spec, limits)
    if problems:
        raise QueryError(problems)
    return dataset, spec, query, decision, limits


# ----------------------------------------------------------------------------- queries


def _axis(
    dimension: compiler.Dimension,
    spec: DatasetSpec,
    present: list[str | None],
    query: QuerySpec,
    version: DatasetVersion,
) -> list[str | None]:
    """Every value of one dimension the table shows, zeros included: each period of the
    range, each code of a code list, each borough, plus whatever else the data holds."""
    values: list[str | None] = []
    if dimension.time_unit is not None:
        first = _first_day(query.date_from, version.coverage_from)
        last = _last_day(query.date_to, version.coverage_to)
        if first is not None and last is not None and first <= last:
            values = list(compiler.period_values(dimension.time_unit, first, last))
        elif dimension.time_unit in ("hour", "weekday"):
            any_day = date(2000, 1, 1)  # hours and weekdays do not depend on the range
            values = list(compiler.period_values(dimension.time_unit, any_day, any_day))
    else:
        spec_field = spec.field(dimension.field)
        codes = spec.code_values(spec_field) if spec_field is not None else None
        if codes:
            values = [code.code for code in codes]
        elif spec_field is not None and geography_level(spec, spec_field.name) == BOROUGH:
            values = list(BOROUGHS)
    extra = sorted({value for value in present if value not in values and value is not None})
    out: list[str | None] = [*values, *extra]
    if any(value is None for value in present):
        out.append(None)
    return out


def _first_day(text: str | None, coverage: date | None) -> date | None:
    if text:
        return date.fromisoformat(text + "-01" if len(text) == 7 else text)
    return coverage


def _last_day(text: str | None, coverage: date | None) -> date | None:
    from safestats.query.spec import end_after

    if text:
        return date.fromordinal(end_after(text).toordinal() - 1)
    if coverage is None:
        return None
    return date.fromordinal(end_after(coverage.strftime("%Y-%m")).toordinal() - 1)


def label_of(dimension: compiler.Dimension, spec: DatasetSpec, value: str | None) -> str:
    if value is None:
        return UNKNOWN
    if dimension.time_unit == "weekday":
        return WEEKDAYS[int(value) - 1]
    if dimension.time_unit == "hour":
        return f"{int(value):02d}:00"
    if dimension.time_unit is None:
        spec_field = spec.field(dimension.field)
        codes = spec.code_values(spec_field) if spec_field is not None else None
        for code in codes or []:
            if code.code == value:
                return code.label
        if spec_field is not None and geography_level(spec, spec_field.name) == BOROUGH:
            return BOROUGHS.get(value, value)
    return value


def _shown(value: float | None, measure: bool) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return SUPPRESSED
    if measure and not float(value).is_integer():
        return f"{value:.2f}"
    return str(int(value))


def run_query(
    query: QuerySpec,
    *,
    user: Any = None,
    request: HttpRequest | None = None,
    purpose: str = "results",
) -> Result:
    """Answer ``query`` as ``user`` (None: the instance's operator), disclosure-controlled
    and audited (``purpose`` says in the audit entry what the answer was for). A query with
    no grouping is a table of one cell, protected as any other. Raises
    :class:`QueryRefused` or :class:`QueryError`."""
    dataset, spec, query, decision, _ = prepare(
        query, user=user, request=request, level="aggregate"
    )
    version = _version(dataset, query)
    rule = spec.disclosure
    compiled = compiler.compile_aggregate(query, spec, cell_key=isinstance(rule, CellKey))
    table = engine.run(compiled, _files(version), memory_mb=settings.SAFESTATS_ENGINE_MEMORY_MB)
    dims = compiled.dimensions
    present = [table.column(f"d{i}").to_pylist() for i in range(len(dims))]
    axes = [_axis(dim, spec, present[i], query, version) for i, dim in enumerate(dims)]
    shape = tuple(len(axis) for axis in axes)
    counts = np.zeros(shape, dtype=np.float64 if measure_of(query, spec) == "sum" else np.int64)
    keys = np.zeros(shape, dtype=np.uint64) if compiled.with_cell_key else None
    positions = [{value: i for i, value in enumerate(axis)} for axis in axes]
    values = table.column("value").to_pylist()
    cell_keys = table.column("cell_key").to_pylist() if compiled.with_cell_key else None
    for row in range(table.num_rows):
        index = tuple(positions[i][present[i][row]] for i in range(len(dims)))
        counts[index] = values[row] or 0
        if keys is not None and cell_keys is not None:
            keys[index] = cell_keys[row]
    measure = measure_of(query, spec) == "sum"
    if dims:
        protected = disclosure.protect(counts, rule, cell_keys=keys, measure=measure)
        # Each value's label once per axis, not once per cell.
        labels = [[label_of(dims[i], spec, value) for value in axis] for i, axis in enumerate(axes)]
        cells = [
            Cell(
                labels=tuple(labels[i][j] for i, j in enumerate(index)),
                codes=tuple(axes[i][j] for i, j in enumerate(index)),
                value=None if protected.suppressed[index] else _number(protected.values[index]),
                shown=_shown(
                    None if protected.suppressed[index] else protected.values[index], measure
                ),
                primary=bool(protected.primary[index]),
            )
            for index in itertools.product(*(range(n) for n in shape))
        ]
        totals, grand = _totals(protected, dims, axes, spec, measure)
        suppressed = sum(1 for cell in cells if cell.value is None)
    else:  # no grouping: one cell, protected as a table of one
        protected = disclosure.protect(
            counts.reshape(1),
            rule,
            cell_keys=None if keys is None else keys.reshape(1),
            measure=measure,
        )
        hidden = bool(protected.suppressed[0])
        cells, totals, suppressed = [], {}, int(hidden)
        grand = Cell(
            labels=("Total",),
            codes=(None,),
            value=None if hidden else _number(protected.values[0]),
            shown=_shown(None if hidden else protected.values[0], measure),
            primary=bool(protected.primary[0]),
        )
    result = Result(
        dataset=dataset,
        version=version,
        query=query,
        dimensions=dims,
        value_name=compiled.value_name,
        cells=cells,
        totals=totals,
        grand_total=grand,
        rules=list(protected.rules),
        decision=decision,
        actor_label=Actor.of(_actor(user)).label,
        counts_shape=shape,
        axes=axes,
    )
    record(
        "query.run",
        actor=_actor(user),
        target=dataset,
        payload={
            "version": version.number,
            "query": query.as_json(),
            "purpose": purpose,
            "cells": len(cells) if dims else 1,
            "suppressed": suppressed,
            "disclosure": rule.method,
        },
        request=request,
    )
    return result


def count_matching(
    query: QuerySpec, *, user: Any = None, request: HttpRequest | None = None
) -> Result:
    """How many records ``query``'s filters select (or the sum of the measure), before any
    grouping: the builder's live count. It is a query like any other: the access policy,
    the agreement's limits and the dataset's disclosure control apply to its one cell, and
    it is audited (purpose "count")."""
    ungrouped = query.model_copy(update={"group_by": [], "time_unit": None})
    return run_query(ungrouped, user=user, request=request, purpose="count")


def _number(value: Any) -> float | int:
    number = float(value)
    return int(number) if number.is_integer() else number


def _totals(
    protected: disclosure.Protected,
    dims: list[compiler.Dimension],
    axes: list[list[str | None]],
    spec: DatasetSpec,
    measure: bool,
) -> tuple[dict[str, list[Cell]], Cell]:
    """For each dimension, its total over all the others, and the grand total."""
    count = len(dims)
    everything = tuple(range(count))
    out: dict[str, list[Cell]] = {}
    for i, dim in enumerate(dims):
        if count < 2:
            break
        summed = tuple(axis for axis in everything if axis != i)
        found = protected.totals.get(summed)
        if found is None:
            continue
        values, suppressed = found
        out[dim.name] = [
            Cell(
                labels=(label_of(dim, spec, axes[i][j]),),
                codes=(axes[i][j],),
                value=None if suppressed[j] else _number(values[j]),
                shown=_shown(None if suppressed[j] else values[j], measure),
            )
            for j in range(len(axes[i]))
        ]
    grand_values, grand_suppressed = protected.totals.get(everything, (None, None))
    if grand_values is None:
        value = None
        shown = SUPPRESSED
    else:
        hidden = bool(np.asarray(grand_suppressed).reshape(-1)[0])
        number = np.asarray(grand_values).reshape(-1)[0]
        value = None if hidden else _number(number)
        shown = _shown(None if hidden else number, measure)
    return out, Cell(labels=("Total",), codes=(None,), value=value, shown=shown)


# ----------------------------------------------------------------------------- extracts


@dataclass
class Extract:
    columns: list[str]
    rows: int
    sha256: str
    version: DatasetVersion
    query: QuerySpec
    rules: list[str]


def extract_columns(spec: DatasetSpec, limits: Limits, available: list[str]) -> list[str]:
    """The fields a record-level extract may carry under ``limits``: never the internal
    columns, a withheld field, or geography finer than the agreement's precision (points
    are kept for snapped-point agreements and moved to a grid on the way out)."""
    columns = []
    location = spec.location
    coordinates = {location.x, location.y} if location else set()
    for spec_field in spec.fields:
        name = spec_field.name
        if name not in available or name in compiler.INTERNAL or name in limits.withheld:
            continue
        if spec_field.role == "geography":
            level = geography_level(spec, name)
            if name in coordinates:
                if is_finer(SNAPPED_POINT, limits.precision) or limits.precision not in (
                    POINT,
                    SNAPPED_POINT,
                ):
                    continue
            elif level in (LSOA, WARD, BOROUGH):
                if is_finer(level, limits.precision):
                    continue
            elif is_finer(POINT, limits.precision):
                continue  # descriptions of places ("On or near ...") are as fine as points
        columns.append(name)
    return columns


class _Hashing:
    """A binary stream that hashes what is written through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()


def extract(
    query: QuerySpec,
    *,
    fmt: str,
    out: IO[bytes],
    user: Any = None,
    request: HttpRequest | None = None,
) -> Extract:
    """Write the records ``query`` selects to ``out`` in ``fmt`` (csv, xlsx, json,
    geojson), as ``user`` may see them, and audit the download with the file's SHA-256."""
    from safestats.query import exports, jigsaw

    dataset, spec, query, _, limits = prepare(query, user=user, request=request, level="record")
    version = _version(dataset, query)
    files = _files(version)
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(files[0]).schema_arrow if files else pa.schema([])
    available = schema.names
    columns = extract_columns(spec, limits, available)
    compiled = compiler.compile_extract(query, spec, columns)
    rules = [_record_words(limits)]
    about = {
        "dataset": dataset.pk,
        "dataset_title": dataset.title,
        "version": version.number,
        "query": query.as_json(),
        "disclosure_control": rules,
        "columns": columns,
    }
    memory_mb = settings.SAFESTATS_ENGINE_MEMORY_MB
    location = spec.location if limits.precision == SNAPPED_POINT else None
    batches: Iterator[pa.RecordBatch] = engine.stream(compiled, files, memory_mb=memory_mb)
    if location is not None:
        batches = exports.snapped(batches, location, SNAP_METRES)
    hashing = _Hashing(out)
    if fmt == "csv":
        # DuckDB writes the CSV text: from the snapped batches when points are moved to a
        # grid first (in Python); otherwise straight from the files, in two parts (before
        # and from the middle of the records' times) written at once, each on one thread.
        select = compiler.csv_select(columns, schema)
        parts: list[Callable[[Path], int]] = []
        if location is not None:
            parts = [partial(engine.copy_batches_csv, batches, select, memory_mb=memory_mb)]
        else:
            midpoint = compiler.compile_extract_midpoint(query, spec)
            middle = engine.run(midpoint, files, memory_mb=memory_mb).column(0)[0].as_py()
            pieces = (
                [compiled]
                if middle is None
                else [
                    compiler.compile_extract(query, spec, columns, part=(side, middle))
                    for side in ("before", "from")
                ]
            )
            parts = [  # sharing the engine's memory between them
                partial(engine.copy_csv, piece, select, files, memory_mb=memory_mb // len(pieces))
                for piece in pieces
            ]
        rows = exports.write_csv(parts, columns, about, hashing)
    else:
        rows = exports.write(fmt, batches, columns, about, hashing, spec)
    digest = hashing.sha.hexdigest()
    record(
        "query.extracted",
        actor=_actor(user),
        target=dataset,
        payload={
            "version": version.number,
            "query": query.as_json(),
            "format": fmt,
            "rows": rows,
            "bytes": hashing.size,
            "sha256": digest,
            "columns": columns,
        },
        request=request,
    )
    if user is not None:
        jigsaw.check_download(user=user, dataset=dataset, query=query, request=request)
    return Extract(
        columns=columns, rows=rows, sha256=digest, version=version, query=query, rules=rules
    )


def _record_words(limits: Limits) -> str:
    words = "Record-level output as the agreement allows"
    if limits.withheld:
        words += f"; withheld fields absent ({', '.join(sorted(limits.withheld))})"
    if limits.precision == SNAPPED_POINT:
        words += f"; points moved to the centre of their {SNAP_METRES} m grid square"
    elif limits.precision != POINT:
        words += f"; locations no finer than {limits.precision}"
    return words + "."
