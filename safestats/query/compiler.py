"""Compiling a checked query to parameterised SQL over a version's Parquet files.

Identifiers come only from the dataset's spec (its field names, snake_case by
construction, quoted all the same); every value the user gave — filter values, areas,
dates, hours, days — is a bound parameter. The text of a query spec never becomes SQL.
The files to read are a parameter too (``$files``), supplied by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import pyarrow as pa

from safestats.catalogue.spec import DatasetSpec
from safestats.query.spec import (
    CLOCK_UNITS,
    TIME_DIMENSIONS,
    QuerySpec,
    area_field,
    end_after,
    hour_field,
    measure_of,
    start_of,
)

MOD64: Final = 18446744073709551616
RECORD_KEY: Final = "_record_key"
INTERNAL: Final = ("_record_key", "_source_row", "_job")


def quote(name: str) -> str:
    """An identifier, quoted; names come from the spec, never from a request."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Dimension:
    """One column of the result before the value: a field, or a unit of time."""

    name: str
    label: str
    field: str
    time_unit: str | None = None


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    dimensions: list[Dimension] = field(default_factory=list)
    value_name: str = "count"
    with_cell_key: bool = False


class _Params:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


# Each unit of time as a key to group by (cheap: no text made per record) and the text
# the result shows, made once per group after grouping.
TIME_KEYS: Final = {
    "day": "CAST({t} AS DATE)",
    "week": "date_trunc('week', {t})",
    "month": "date_trunc('month', {t})",
    "quarter": "date_trunc('quarter', {t})",
    "year": "year({t})",
    "hour": "hour({t})",
    "weekday": "isodow({t})",
}
TIME_TEXT: Final = {
    "day": "strftime({k}, '%Y-%m-%d')",
    "week": "strftime({k}, '%Y-%m-%d')",
    "month": "strftime({k}, '%Y-%m')",
    "quarter": "CAST(year({k}) AS VARCHAR) || '-Q' || CAST(quarter({k}) AS VARCHAR)",
    "year": "CAST({k} AS VARCHAR)",
    "hour": "CAST({k} AS VARCHAR)",
    "weekday": "CAST({k} AS VARCHAR)",
}


def _conditions(query: QuerySpec, spec: DatasetSpec, params: _Params) -> list[str]:
    where: list[str] = []
    coverage = quote(spec.coverage_field)
    if query.date_from:
        where.append(f"{coverage} >= {params.add(start_of(query.date_from))}")
    if query.date_to:
        where.append(f"{coverage} < {params.add(end_after(query.date_to))}")
    for item in query.filters:
        spec_field = spec.field(item.field)
        if spec_field is None:
            raise ValueError(f"unknown field {item.field}")
        values: list[Any] = list(item.values)
        if spec_field.type == "boolean":
            values = [value.strip().lower() in ("true", "yes", "y", "1") for value in values]
        placeholders = ", ".join(params.add(value) for value in values)
        where.append(f"{quote(spec_field.name)} IN ({placeholders})")
    if query.area_level and query.areas:
        name = area_field(spec, query.area_level)
        if name is None:
            raise ValueError(f"no {query.area_level} field")
        placeholders = ", ".join(params.add(code) for code in query.areas)
        where.append(f"{quote(name)} IN ({placeholders})")
    clock = hour_field(spec)
    if query.weekdays and clock is not None:
        days = ", ".join(params.add(day) for day in sorted(set(query.weekdays)))
        where.append(f"isodow({quote(clock.name)}) IN ({days})")
    if query.hours and clock is not None:
        hours = ", ".join(params.add(hour) for hour in sorted(set(query.hours)))
        where.append(f"hour({quote(clock.name)}) IN ({hours})")
    return where


def compile_aggregate(query: QuerySpec, spec: DatasetSpec, *, cell_key: bool) -> Compiled:
    """SQL giving one row per combination of the dimensions present in the data, with
    the count (or sum) and, for cell-key datasets, the wrapping sum of the records' keys."""
    params = _Params()
    dimensions: list[Dimension] = []
    select: list[str] = []  # grouped, inside
    shown: list[str] = []  # the dimensions as text, outside
    for name in query.group_by:
        spec_field = spec.field(name)
        if spec_field is None:
            raise ValueError(f"unknown field {name}")
        alias = f"d{len(select)}"
        select.append(f"CAST({quote(name)} AS VARCHAR) AS {alias}")
        shown.append(alias)
        dimensions.append(Dimension(name=name, label=name, field=name))
    if query.time_unit is not None:
        source = spec.coverage_field
        if query.time_unit in CLOCK_UNITS:
            clock = hour_field(spec)
            if clock is None:
                raise ValueError("no time of day")
            source = clock.name
        for unit in TIME_DIMENSIONS.get(query.time_unit, (query.time_unit,)):
            alias = f"d{len(select)}"
            select.append(f"{TIME_KEYS[unit].format(t=quote(source))} AS {alias}")
            shown.append(f"{TIME_TEXT[unit].format(k=alias)} AS {alias}")
            dimensions.append(Dimension(name=unit, label=unit, field=source, time_unit=unit))
    measure = measure_of(query, spec)
    if measure == "sum":
        value_name = spec.measure or "count"
        select.append(f"sum({quote(value_name)}) AS value")
    else:
        value_name = "count"
        select.append("count(*) AS value")
    if cell_key:
        select.append(
            f"CAST(((sum(CAST({quote(RECORD_KEY)} AS HUGEINT)) % {MOD64}) + {MOD64}) % {MOD64} "
            "AS UBIGINT) AS cell_key"
        )
    where = _conditions(query, spec, params)
    sql = f"SELECT {', '.join(select)} FROM read_parquet($files)"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if dimensions:
        sql += " GROUP BY ALL"
        outside = [*shown, "value", *(["cell_key"] if cell_key else [])]
        sql = f"SELECT {', '.join(outside)} FROM ({sql}) AS grouped"
    return Compiled(
        sql=sql,
        params=params.values,
        dimensions=dimensions,
        value_name=value_name,
        with_cell_key=cell_key,
    )


def compile_extract(
    query: QuerySpec, spec: DatasetSpec, columns: list[str], *, part: tuple[str, Any] | None = None
) -> Compiled:
    """SQL giving the records themselves, only ``columns`` (already limited by the access
    decision), in the version's (time) order.

    ``part`` limits them to one side of a value of the coverage field (from
    :func:`compile_extract_midpoint`): ``("before", value)`` the records before it,
    ``("from", value)`` the records from it on and those without a time. A version's files
    are sorted by the coverage field, nulls last, so the two parts, one after the other,
    are the whole extract in the same order."""
    params = _Params()
    select = ", ".join(quote(name) for name in columns)
    sql = f"SELECT {select} FROM read_parquet($files)"
    where = _conditions(query, spec, params)
    if part is not None:
        side, value = part
        coverage = quote(spec.coverage_field)
        if side == "before":
            where.append(f"{coverage} < {params.add(value)}")
        elif side == "from":
            where.append(f"({coverage} >= {params.add(value)} OR {coverage} IS NULL)")
        else:
            raise ValueError(f"an extract's part is 'before' or 'from' a value, not {side!r}")
    if where:
        sql += " WHERE " + " AND ".join(where)
    # No ORDER BY: a version's files are written in time order and read in that order, so
    # the records stream out in time order without the engine holding them all to sort.
    return Compiled(sql=sql, params=params.values)


def compile_extract_midpoint(query: QuerySpec, spec: DatasetSpec) -> Compiled:
    """SQL giving (approximately) the median of the coverage field over the records an
    extract selects, null when none has one: where to split it into two parts of about
    the same size (see :func:`compile_extract`)."""
    params = _Params()
    sql = (
        f"SELECT approx_quantile({quote(spec.coverage_field)}, 0.5) AS midpoint "
        "FROM read_parquet($files)"
    )
    where = _conditions(query, spec, params)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return Compiled(sql=sql, params=params.values)


# Text a spreadsheet would run as a formula starts with one of these characters (their
# Unicode code points): a tab, a carriage return, + - = or @.
FORMULA_STARTS: Final = (9, 13, 43, 45, 61, 64)
NUMBERS_DATES_AND_TIMES: Final = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal,
    pa.types.is_date,
    pa.types.is_time,
    pa.types.is_timestamp,  # written by COPY as CSV_COPY_OPTIONS says
)
TEXT: Final = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
# DuckDB's CSV writer's options for a record-level extract's records: no header (it is
# written with the about line), and timestamps to the second, as the data holds them.
CSV_COPY_OPTIONS: Final = "FORMAT csv, HEADER false, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S'"


def csv_select(columns: list[str], schema: pa.Schema) -> str:
    """A SELECT list giving each of ``columns`` (of the types ``schema`` says) as a CSV
    extract writes it, with :data:`CSV_COPY_OPTIONS`: numbers, dates and times as they are
    (a negative number stays a number), timestamps as ``YYYY-MM-DD HH:MM:SS``, booleans as
    True or False, and text a spreadsheet would run as a formula prefixed with an
    apostrophe. Nulls stay null (an empty field). The names are the extract's columns,
    chosen from the dataset's spec; the SQL depends only on them and their types."""
    starts = ", ".join(str(code) for code in FORMULA_STARTS)
    select = []
    for name in columns:
        kind = schema.field(name).type
        column = quote(name)
        if any(test(kind) for test in NUMBERS_DATES_AND_TIMES):
            text = column
        elif pa.types.is_boolean(kind):
            text = f"CASE WHEN {column} THEN 'True' WHEN NOT {column} THEN 'False' END"
        else:
            if not any(test(kind) for test in TEXT):
                column = f"CAST({column} AS VARCHAR)"  # anything else, as text
            # unicode(): the code point of the first character (-1 for '', null for null)
            text = (
                f"CASE WHEN unicode({column}) IN ({starts}) THEN '''' || {column} ELSE {column} END"
            )
        select.append(f"{text} AS {quote(name)}")
    return ", ".join(select)


def period_values(unit: str, first: date, last: date) -> list[str]:
    """Every period of ``unit`` from ``first`` to ``last`` (inclusive), as the SQL writes
    them, so that empty periods appear as zero rather than disappear."""
    out: list[str] = []
    if unit == "month":
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    elif unit == "year":
        out = [str(year) for year in range(first.year, last.year + 1)]
    elif unit == "quarter":
        year, quarter = first.year, (first.month - 1) // 3 + 1
        while (year, quarter) <= (last.year, (last.month - 1) // 3 + 1):
            out.append(f"{year}-Q{quarter}")
            year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    elif unit == "day":
        out = [
            date.fromordinal(day).isoformat()
            for day in range(first.toordinal(), last.toordinal() + 1)
        ]
    elif unit == "week":
        monday = first.toordinal() - first.weekday()
        out = [date.fromordinal(day).isoformat() for day in range(monday, last.toordinal() + 1, 7)]
    elif unit == "hour":
        out = [str(hour) for hour in range(24)]
    elif unit == "weekday":
        out = [str(day) for day in range(1, 8)]
    return out
