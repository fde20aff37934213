"""Checking, standardising, placing and pseudonymising records, a batch at a time.

:func:`make_plan` matches a file's headers to one of the spec's layouts. :func:`process`
then takes a batch of text columns and returns the records ready to publish, every problem
found (row, field, column, value, rule, message) and the rows quarantined because of them.
Everything works on whole Arrow/numpy arrays; Python runs per distinct value only where a
value needs a second look (a date that is not in the layout's exact form, a token).
No Django import: the pipeline gives the geography it needs as plain lookups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from safestats.catalogue.spec import (
    Bands,
    DatasetSpec,
    FieldSpec,
    Groups,
    Layout,
    LsoaCentroid,
    SnapGrid,
    WardCentroid,
)
from safestats.geography import engine as geo
from safestats.ingest import pseudonymise

DEFAULT_TEXT_LIMIT: Final = 2000
DEFAULT_CODE_LIMIT: Final = 200
VALUE_PREVIEW: Final = 200
MAX_AGE: Final = 120
INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$").pattern
PLAIN_INTEGER = re.compile(r"^-?[0-9]{1,18}$").pattern
THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+$").pattern
DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$").pattern
TRUE_WORDS: Final = ("true", "yes", "y", "1", "t")
FALSE_WORDS: Final = ("false", "no", "n", "0", "f")

PROBLEM_SCHEMA: Final = pa.schema(
    [
        ("row", pa.int64()),
        ("field", pa.string()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("rule", pa.string()),
        ("severity", pa.string()),
        ("message", pa.string()),
    ]
)
ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "string": pa.string(),
    "category": pa.string(),
    "code": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "date": pa.date32(),
    "month": pa.date32(),
    "time": pa.time32("s"),
    "datetime": pa.timestamp("s"),
    "boolean": pa.bool_(),
}
RECORD_KEY: Final = "_record_key"
SOURCE_ROW: Final = "_source_row"
JOB: Final = "_job"


class LayoutMismatch(ValueError):
    """No layout of the spec fits the file's headers; the message says what is missing."""


def normalise_header(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


def name_key(text: str) -> str:
    """An area's name as compared with the names London's geography knows: case, spacing,
    "&" for "and" and a leading "London Borough of" do not matter."""
    key = " ".join(text.replace("&", " and ").split()).casefold()
    for prefix in ("london borough of ", "royal borough of "):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return {"city of westminster": "westminster"}.get(key, key)


# ---------------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class MeltColumn:
    source: str  # c7
    header: str  # 202401
    value: date


@dataclass(frozen=True)
class Plan:
    spec: DatasetSpec
    layout: Layout
    sources: dict[str, str]  # field -> raw column (c3)
    headers: dict[str, str]  # field -> the header as written in the file
    melt: list[MeltColumn]
    unused: list[str]  # headers that are read into nothing
    problems: list[str] = field(default_factory=list)  # melt headers that are not periods

    def column_of(self, name: str) -> str:
        if name in self.headers:
            return self.headers[name]
        if self.layout.melt and name in (self.layout.melt.into, self.layout.melt.value):
            return "(month columns)"
        return "(constant)" if name in self.layout.constants else ""


def _layout_fit(
    layout: Layout, positions: dict[str, int], spec: DatasetSpec
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    sources: dict[str, str] = {}
    written: dict[str, str] = {}
    missing: list[str] = []
    for name in layout.columns:
        for header in layout.headers(name):
            position = positions.get(normalise_header(header))
            if position is not None:
                sources[name] = f"c{position}"
                written[name] = header
                break
        else:
            spec_field = spec.field(name)
            if spec_field is not None and spec_field.required:
                missing.append(" or ".join(repr(h) for h in layout.headers(name)))
    return sources, written, missing


def make_plan(spec: DatasetSpec, headers: list[str]) -> Plan:
    """The layout that fits ``headers``: every required column present, and the most
    columns read. Raises :class:`LayoutMismatch` naming what the closest layout lacks."""
    positions: dict[str, int] = {}
    for index, header in enumerate(headers):
        positions.setdefault(normalise_header(header), index)
    best: tuple[int, Layout, dict[str, str], dict[str, str]] | None = None
    closest: tuple[int, Layout, list[str]] | None = None
    for layout in spec.layouts:
        sources, written, missing = _layout_fit(layout, positions, spec)
        melt_count = 0
        if layout.melt is not None:
            pattern = re.compile(layout.melt.columns)
            melt_count = sum(1 for h in headers if pattern.search(h.strip()))
            if melt_count == 0:
                missing.append(f"month columns matching {layout.melt.columns}")
        if missing:
            if closest is None or len(missing) < len(closest[2]):
                closest = (len(missing), layout, missing)
            continue
        score = len(sources) + melt_count
        if best is None or score > best[0]:
            best = (score, layout, sources, written)
    if best is None:
        if closest is None:  # a spec always has at least one layout
            raise LayoutMismatch(f"{spec.id} has no layout to read files with.")
        _, layout, missing = closest
        names = ", ".join(missing)
        raise LayoutMismatch(
            f"The columns do not match any layout of {spec.id}. The closest, {layout.name}, "
            f"needs: {names}. The file's columns are: "
            + ", ".join(repr(h) for h in headers[:40])
            + ("…" if len(headers) > 40 else "")
        )
    _, layout, sources, written = best
    melt: list[MeltColumn] = []
    problems: list[str] = []
    used = {int(source[1:]) for source in sources.values()}
    if layout.melt is not None:
        pattern = re.compile(layout.melt.columns)
        for index, header in enumerate(headers):
            text = header.strip()
            if index in used or not pattern.search(text):
                continue
            used.add(index)
            try:
                value = datetime.strptime(text, layout.melt.header_format).date()  # noqa: DTZ007
            except ValueError:
                problems.append(
                    f"The column {text!r} looks like a period but is not one "
                    f"({layout.melt.header_format}); it was not loaded."
                )
                continue
            melt.append(MeltColumn(source=f"c{index}", header=text, value=value.replace(day=1)))
    ignored = {normalise_header(h) for h in layout.ignore}
    unused = [
        header
        for index, header in enumerate(headers)
        if index not in used and normalise_header(header) not in ignored and header
    ]
    return Plan(
        spec=spec,
        layout=layout,
        sources=sources,
        headers=written,
        melt=melt,
        unused=unused,
        problems=problems,
    )


# ----------------------------------------------------------------------- geography input


@dataclass(frozen=True)
class Places:
    """What derivation needs of London's geography, as plain lookups: each LSOA's ward and
    borough, each ward's borough, names to codes, and the point-in-area engine (None when
    boundaries are not loaded)."""

    lsoa: Mapping[str, tuple[str | None, str]] = field(default_factory=dict)
    ward: Mapping[str, str] = field(default_factory=dict)
    boroughs: frozenset[str] = frozenset()
    names: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    engine: geo.GeographyEngine | None = None


# ----------------------------------------------------------------------------- the batch


@dataclass
class Outcome:
    records: pa.Table
    problems: pa.Table
    quarantine: pa.Table
    rows_in: int
    unknown_geography: int
    outside_area: int
    empty_cells: int = 0


class _Problems:
    def __init__(self) -> None:
        self.parts: list[pa.Table] = []
        self.bad: np.ndarray | None = None

    def add(
        self,
        mask: np.ndarray,
        *,
        rows: np.ndarray,
        name: str,
        column: str,
        values: pa.Array,
        rule: str,
        message: str,
        severity: str = "error",
    ) -> None:
        if not mask.any():
            return
        picked = pc.filter(values, pa.array(mask))
        shown = pc.utf8_slice_codeunits(pc.cast(picked, pa.string()), 0, VALUE_PREVIEW)
        count = int(mask.sum())
        self.parts.append(
            pa.table(
                {
                    "row": pa.array(rows[mask], pa.int64()),
                    "field": pa.array([name] * count, pa.string()),
                    "column": pa.array([column] * count, pa.string()),
                    "value": shown,
                    "rule": pa.array([rule] * count, pa.string()),
                    "severity": pa.array([severity] * count, pa.string()),
                    "message": pa.array([message] * count, pa.string()),
                },
                schema=PROBLEM_SCHEMA,
            )
        )
        if severity == "error":
            self.bad = mask.copy() if self.bad is None else (self.bad | mask)

    def table(self) -> pa.Table:
        if not self.parts:
            return PROBLEM_SCHEMA.empty_table()
        return pa.concat_tables(self.parts)


def _mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    filled = pc.fill_null(array, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def _clean_text(column: pa.Array) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.nulls(len(trimmed), pa.string()), trimmed)


def _text_fields(batch: pa.RecordBatch, plan: Plan) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Each field's text, trimmed (empty as null), and for each resulting row the position
    of its record in the batch; melted layouts give one row per record and period."""
    length = batch.num_rows
    texts: dict[str, pa.Array] = {}
    for name, source in plan.sources.items():
        texts[name] = _clean_text(batch.column(source))
    for name, value in plan.layout.constants.items():
        texts[name] = pa.array([value] * length, pa.string())
    if not plan.layout.melt:
        return texts, np.arange(length, dtype=np.int64)
    melt = plan.layout.melt
    periods = len(plan.melt)
    if periods == 0:
        return {name: array[:0] for name, array in texts.items()}, np.zeros(0, dtype=np.int64)
    take = pa.array(np.tile(np.arange(length, dtype=np.int64), periods))
    out = {name: pc.take(array, take) for name, array in texts.items()}
    out[melt.value] = pa.concat_arrays(
        [_clean_text(batch.column(column.source)) for column in plan.melt]
    )
    months = np.repeat(
        np.array([column.value for column in plan.melt], dtype="datetime64[D]"), length
    )
    out[melt.into] = pa.array(months.astype("datetime64[D]").astype(str), pa.string())
    return out, np.tile(np.arange(length, dtype=np.int64), periods)


_FORMAT_PARTS: Final = {
    "%Y": r"\d{4}",
    "%m": r"\d{1,2}",
    "%d": r"(?P<d>\d{1,2})",
    "%H": r"\d{1,2}",
    "%M": r"\d{1,2}",
    "%S": r"\d{1,2}",
    "%y": r"\d{2}",
    "%%": "%",
}


def _format_regex(fmt: str) -> str | None:
    """A regular expression matching what ``fmt`` reads, with the day captured as ``d``;
    None when the format uses a code this does not know (names of months, AM/PM...)."""
    out = ["^"]
    position = 0
    while position < len(fmt):
        if fmt[position] == "%":
            part = _FORMAT_PARTS.get(fmt[position : position + 2])
            if part is None:
                return None
            out.append(part)
            position += 2
        else:
            out.append(re.escape(fmt[position]))
            position += 1
    out.append("$")
    return "".join(out)


def _check_temporal(text: pa.Array, kind: str, fmt: str | None) -> tuple[pa.Array, np.ndarray]:
    """Parse text as ``kind`` with ``fmt`` (ISO when None). Returns the values and the mask
    of text that is not such a value. A date the parser accepts only by rolling over (31
    February becomes 2 March) is refused: the day written must be the day read."""
    iso = {
        "date": "%Y-%m-%d",
        "month": "%Y-%m-%d",
        "datetime": "%Y-%m-%d %H:%M:%S",
        "time": "%H:%M:%S",
    }
    fmt = fmt or iso[kind]
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    pattern = _format_regex(fmt)
    if pattern is not None:
        # The text must have the format's exact shape (a four-digit year for %Y...), and
        # the day written must be the day read.
        # With a day, one pass does both: the day is extracted where the shape matches
        # (and is null where it does not).
        days = pc.extract_regex(text, pattern) if "%d" in fmt else None
        shaped = pc.is_valid(days) if days is not None else pc.match_substring_regex(text, pattern)
        parsed = pc.if_else(pc.fill_null(shaped, False), parsed, pa.scalar(None, parsed.type))
        if days is not None:
            written = pc.struct_field(days, "d")
            rolled = pc.not_equal(pc.cast(written, pa.int64()), pc.day(parsed))
            parsed = pc.if_else(pc.fill_null(rolled, False), pa.scalar(None, parsed.type), parsed)
    elif "%d" in fmt:
        parsed = _strict_round_trip(text, parsed, fmt)
    full = parsed
    bad = _mask(pc.and_(pc.is_valid(text), pc.is_null(full)))
    if kind in ("date", "month"):
        day = pc.cast(full, pa.date32())
        if kind == "month":
            day = pc.cast(pc.floor_temporal(full, unit="month"), pa.date32())
        return day, bad
    if kind == "time":
        midnight = pc.floor_temporal(full, unit="day")
        seconds = pc.cast(
            pc.divide(pc.cast(pc.subtract(full, midnight), pa.int64()), 1), pa.int64()
        )
        return pc.cast(pc.cast(seconds, pa.int32()), pa.time32("s")), bad
    return full, bad


def _strict_round_trip(text: pa.Array, parsed: pa.Array, fmt: str) -> pa.Array:
    """For formats :func:`_format_regex` cannot read: each distinct value whose round
    trip differs is checked again by Python's strict parser."""
    encoded = pc.dictionary_encode(text)
    values = encoded.dictionary
    first = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    exact = _mask(pc.equal(pc.strftime(first, format=fmt), values))
    fixed = first.to_pylist()
    for index in np.flatnonzero(~exact):
        try:
            fixed[index] = datetime.strptime(values[int(index)].as_py(), fmt)  # noqa: DTZ007
        except ValueError:
            fixed[index] = None
    del parsed
    return pc.take(pa.array(fixed, pa.timestamp("s")), encoded.indices)


def _code_lookup(spec: DatasetSpec, spec_field: FieldSpec) -> tuple[pa.Array, pa.Array] | None:
    values = spec.code_values(spec_field)
    if values is None:
        return None
    keys: list[str] = []
    codes: list[str] = []
    for value in values:
        for key in (value.code, value.label):
            folded = normalise_header(key)
            if folded not in keys:
                keys.append(folded)
                codes.append(value.code)
    return pa.array(keys, pa.string()), pa.array(codes, pa.string())


Refusal = tuple[np.ndarray, str, str]  # which values, the rule, the message


def _check_field(
    spec: DatasetSpec,
    spec_field: FieldSpec,
    text: pa.Array,
    fmt: str | None,
    rows: np.ndarray,
    column: str,
    problems: _Problems,
) -> pa.Array:
    """The field's typed values (null where the text is refused), recording problems.

    Most columns repeat their values (categories, dates, codes): those are checked once
    per distinct value and the outcome spread back to the rows; columns of mostly unique
    values (references, coordinates) are checked as they are."""
    name = spec_field.name

    def refuse(mask: np.ndarray, rule: str, message: str) -> None:
        problems.add(
            mask, rows=rows, name=name, column=column, values=text, rule=rule, message=message
        )

    if spec_field.required:
        refuse(~_mask(pc.is_valid(text)), "required", f"{name} is required and is empty")
    encoded = None if _mostly_distinct(text) else pc.dictionary_encode(text)
    if encoded is None or len(encoded.dictionary) * 2 > len(text):
        values, refusals = _check_values(spec, spec_field, text, fmt)
        for mask, rule, message in refusals:
            refuse(mask, rule, message)
        return values
    distinct, refusals = _check_values(spec, spec_field, encoded.dictionary, fmt)
    indices = encoded.indices
    positions = np.asarray(pc.fill_null(indices, -1).to_numpy(zero_copy_only=False))
    present = positions >= 0
    safe = np.where(present, positions, 0)
    for mask, rule, message in refusals:
        refuse(mask[safe] & present, rule, message)
    return pc.take(distinct, indices)


DISTINCT_SAMPLE: Final = 4096


def _mostly_distinct(text: pa.Array) -> bool:
    """Whether the first values of a long column are mostly distinct (references,
    coordinates, times to the minute): then encoding the whole column to find its distinct
    values costs more than it saves. Only a shortcut: both ways give the same outcome."""
    if len(text) <= 4 * DISTINCT_SAMPLE:
        return False
    sample = text.slice(0, DISTINCT_SAMPLE)
    return int(pc.count_distinct(sample, mode="all").as_py()) * 2 > DISTINCT_SAMPLE


def _check_values(
    spec: DatasetSpec, spec_field: FieldSpec, text: pa.Array, fmt: str | None
) -> tuple[pa.Array, list[Refusal]]:
    """Typed values for ``text`` (null where refused) and every refusal, as masks over
    ``text``. Nulls are never refused here (required is checked per row)."""
    name, kind = spec_field.name, spec_field.type
    present = _mask(pc.is_valid(text))
    refusals: list[Refusal] = []

    def refuse(mask: np.ndarray, rule: str, message: str) -> None:
        if mask.any():
            refusals.append((mask, rule, message))

    if kind in ("string", "category", "code"):
        limit = spec_field.max_length or (
            DEFAULT_TEXT_LIMIT if kind == "string" else DEFAULT_CODE_LIMIT
        )
        long = _mask(pc.greater(pc.utf8_length(text), limit))
        refuse(long, "too_long", f"{name} is longer than {limit} characters")
        if spec_field.pattern:
            matches = _mask(pc.match_substring_regex(text, spec_field.pattern))
            refuse(
                present & ~matches & ~long,
                "pattern",
                f"{name} is not in the expected form ({spec_field.pattern})",
            )
        lookup = _code_lookup(spec, spec_field)
        if lookup is None:
            return text, refusals
        keys, codes = lookup
        position = pc.index_in(pc.utf8_lower(_fold_spaces(text)), value_set=keys)
        unknown = present & _mask(pc.is_null(position)) & ~long
        distinct = list(dict.fromkeys(codes.to_pylist()))  # a code is listed once
        shown = ", ".join(distinct[:12]) + ("…" if len(distinct) > 12 else "")
        refuse(unknown, "unknown_code", f"{name} is not one of its codes ({shown})")
        return pc.take(codes, position), refusals
    if kind == "integer":
        # Commas only as thousands separators ("1,234", never "12,34"); a leading plus
        # sign is dropped here because the engine's cast refuses it.
        plain = pc.match_substring_regex(text, PLAIN_INTEGER)
        if pc.all(plain).as_py() is not False:
            # Every value is digits with at most a minus sign (the usual column): nothing
            # to clean, and each casts as it is.
            numbers = pc.cast(text, pa.int64())
        else:
            grouped = _mask(pc.match_substring_regex(text, THOUSANDS))
            cleaned = pc.if_else(pa.array(grouped), pc.replace_substring(text, ",", ""), text)
            cleaned = pc.replace_substring_regex(cleaned, r"^\+([0-9])", r"\1")
            ok = _mask(pc.match_substring_regex(cleaned, INTEGER))
            refuse(present & ~ok, "not_integer", f"{name} is not a whole number")
            valid = pc.if_else(pa.array(ok), cleaned, pa.nulls(len(text), pa.string()))
            numbers = pc.cast(valid, pa.int64())
        if spec_field.role == "measure":
            refuse(_mask(pc.less(numbers, 0)), "negative", f"{name} cannot be negative")
        if isinstance(spec_field.generalise, Bands):
            outside = _mask(pc.or_(pc.less(numbers, 0), pc.greater(numbers, MAX_AGE)))
            refuse(outside, "out_of_range", f"{name} must be between 0 and {MAX_AGE}")
        return numbers, refusals
    if kind == "decimal":
        ok = _mask(pc.match_substring_regex(text, DECIMAL))
        refuse(present & ~ok, "not_number", f"{name} is not a number")
        valid = pc.if_else(pa.array(ok), text, pa.nulls(len(text), pa.string()))
        numbers = pc.cast(valid, pa.float64())
        huge = _mask(pc.is_inf(numbers))  # such as 1e999: too large to be a number stored
        refuse(huge, "not_number", f"{name} is too large to be a number")
        return pc.if_else(pa.array(huge), pa.nulls(len(text), pa.float64()), numbers), refusals
    if kind == "boolean":
        folded = pc.utf8_lower(text)
        true = _mask(pc.is_in(folded, value_set=pa.array(TRUE_WORDS)))
        false = _mask(pc.is_in(folded, value_set=pa.array(FALSE_WORDS)))
        refuse(present & ~true & ~false, "not_boolean", f"{name} is not yes or no")
        flags = pc.if_else(pa.array(true | false), pa.array(true), pa.nulls(len(text), pa.bool_()))
        return flags, refusals
    values, bad = _check_temporal(text, kind, fmt)
    form = fmt or "ISO 8601"
    refuse(bad, f"invalid_{kind}", f"{name} is not a valid {kind} in the form {form}")
    return values, refusals


def _fold_spaces(text: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(text, r"\s+", " ")


def _coordinates(
    plan: Plan, values: dict[str, pa.Array], rows: np.ndarray, problems: _Problems
) -> tuple[np.ndarray, np.ndarray] | None:
    location = plan.spec.location
    if location is None or location.x not in values or location.y not in values:
        return None
    x = _floats(values[location.x])
    y = _floats(values[location.y])
    if location.crs == "wgs84":
        bad_x, bad_y = np.abs(x) > 180, np.abs(y) > 90
        rule_words = "longitude must be between -180 and 180 and latitude between -90 and 90"
    else:
        bad_x, bad_y = (x < 0) | (x > 700_000), (y < 0) | (y > 1_300_000)
        rule_words = "easting and northing must be on the British National Grid"
    both = np.isfinite(x) & np.isfinite(y)
    # Each impossible coordinate is named with its own field and value.
    for name, bad in ((location.x, bad_x & both), (location.y, bad_y & both)):
        problems.add(
            bad,
            rows=rows,
            name=name,
            column=plan.column_of(name),
            values=pc.cast(values[name], pa.string()),
            rule="coordinates_out_of_range",
            message=f"the coordinates are impossible: {rule_words}",
        )
    # Half a location is named by the coordinate that is missing.
    for name, half in (
        (location.x, ~np.isfinite(x) & np.isfinite(y)),
        (location.y, np.isfinite(x) & ~np.isfinite(y)),
    ):
        problems.add(
            half,
            rows=rows,
            name=name,
            column=plan.column_of(name),
            values=pc.cast(values[name], pa.string()),
            rule="coordinates_incomplete",
            message="only one of the two coordinates is given",
        )
    return x, y


def _floats(array: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy(), dtype=float)


def _derive_geography(
    plan: Plan,
    values: dict[str, pa.Array],
    xy: tuple[np.ndarray, np.ndarray] | None,
    places: Places,
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray]:
    """The geography output fields, with the mask of rows left unknown and of rows naming
    an area outside the boroughs (kept as sent)."""
    geography = plan.spec.geography
    length = len(next(iter(values.values()))) if values else 0
    none = np.zeros(length, dtype=bool)
    if geography is None:
        return {}, none, none
    lsoa = ward = borough = None
    other = none
    if geography.source == "coordinates":
        if xy is None or places.engine is None:
            lsoa = ward = borough = np.full(length, None, dtype=object)
        else:
            x, y = xy
            if plan.spec.location is not None and plan.spec.location.crs == "bng":
                found = places.engine.assign_bng(x, y)
            else:
                found = places.engine.assign_lonlat(x, y)
            lsoa = _codes_at(found.lsoa_codes, found.lsoa_index)
            ward = _codes_at(found.ward_codes, found.ward_index)
            borough = _codes_at(found.borough_codes, found.borough_index)
    else:
        source = values.get(geography.field or "")
        if source is None:
            return {}, none, none
        items = pc.cast(source, pa.string())
        other = _other_areas(plan, values, length)
        encoded = pc.dictionary_encode(items)
        distinct = encoded.dictionary.to_pylist()
        resolved = [
            _resolve(geography.source, geography.match, value, places) for value in distinct
        ]
        index = encoded.indices.to_numpy(zero_copy_only=False)
        nulls = _mask(pc.is_null(encoded.indices))
        table = np.array([*resolved, (None, None, None)], dtype=object).reshape(-1, 3)
        picked = table[np.where(nulls, len(resolved), np.nan_to_num(index).astype(np.int64))]
        lsoa, ward, borough = picked[:, 0], picked[:, 1], picked[:, 2]
    by_level = {"lsoa": lsoa, "ward": ward, "borough": borough}
    outputs: dict[str, pa.Array] = {}
    unknown = np.zeros(length, dtype=bool)
    for level, name in geography.outputs.items():
        codes = by_level[level]
        array = codes if isinstance(codes, pa.Array) else pa.array(codes, pa.string())
        outputs[name] = array
        unknown |= _mask(pc.is_null(array))
    if not geography.outputs and geography.source != "coordinates":
        # Nothing is derived: the row's own area is unknown when no lookup knows it.
        own = by_level[geography.source]
        unknown |= np.asarray(own == None, dtype=bool) if own is not None else none  # noqa: E711
    return outputs, unknown & ~other, other


def _codes_at(codes: np.ndarray, index: np.ndarray) -> pa.Array:
    """Each point's code, from the engine's table of codes (ending in None for unknown)
    and each point's position in it (-1 for unknown), taken by Arrow."""
    table = pa.array(codes.tolist(), pa.string())
    return pc.take(table, pa.array(np.where(index < 0, len(codes) - 1, index), pa.int32()))


def _other_areas(plan: Plan, values: dict[str, pa.Array], length: int) -> np.ndarray:
    """Rows where any geography field names an area outside the boroughs (such as
    Aviation Security (SO18)), compared without regard to case or spacing."""
    other = np.zeros(length, dtype=bool)
    geography = plan.spec.geography
    if geography is None or not geography.other_areas:
        return other
    wanted = pa.array([" ".join(a.split()).casefold() for a in geography.other_areas])
    for spec_field in plan.spec.fields:
        array = values.get(spec_field.name)
        if spec_field.role != "geography" or array is None or array.type != pa.string():
            continue
        folded = pc.utf8_lower(_fold_spaces(array))
        other |= _mask(pc.is_in(folded, value_set=wanted))
    return other


def _resolve(
    level: str, match: str, value: str | None, places: Places
) -> tuple[str | None, str | None, str | None]:
    if value is None:
        return (None, None, None)
    key = value.strip()
    by_name = places.names.get(level, {})
    key = (by_name.get(name_key(key)) or "") if match == "name" else key.upper()
    if level == "lsoa":
        found = places.lsoa.get(key)
        return (key, found[0], found[1]) if found else (None, None, None)
    if level == "ward":
        borough = places.ward.get(key)
        return (None, key, borough) if borough else (None, None, None)
    return (None, None, key) if key in places.boroughs else (None, None, None)


def _suppress(
    plan: Plan,
    values: dict[str, pa.Array],
    xy: tuple[np.ndarray, np.ndarray] | None,
    places: Places,
) -> None:
    location = plan.spec.location
    if location is None or xy is None:
        return
    x, y = xy
    method = location.suppression
    if isinstance(method, SnapGrid):
        if location.crs == "bng":
            x, y = geo.snap_to_grid(x, y, method.metres)
        else:
            x, y = geo.snap_lonlat_to_grid(x, y, method.metres)
    elif isinstance(method, LsoaCentroid | WardCentroid):
        level: geo.SnapLevel = "lsoa" if isinstance(method, LsoaCentroid) else "ward"
        if places.engine is None:
            x = y = np.full(len(x), np.nan)
        elif location.crs == "bng":
            lon, lat = geo.bng_to_wgs84(x, y)
            x, y = geo.wgs84_to_bng(*places.engine.snap_to_centroid(lon, lat, level))
        else:
            x, y = places.engine.snap_to_centroid(x, y, level)
    else:
        return
    for name, array in ((location.x, x), (location.y, y)):
        finite = np.isfinite(array)
        values[name] = pa.array(np.where(finite, array, 0.0), pa.float64(), mask=~finite)


# What a free-text field screened for personal details must not keep (RE2 syntax): e-mail
# addresses, UK telephone numbers, NHS numbers (10 digits, often 3-3-4) and full postcodes.
PID_PATTERNS: Final = (
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"(?:\+44\s?|\b0)(?:\d[\s-]?){9,10}\b",
    r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b",
    r"(?i)\b[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}\b",
)
PID_REPLACEMENT: Final = "[removed]"


def _screen_free_text(
    plan: Plan, values: dict[str, pa.Array], rows: np.ndarray, problems: _Problems
) -> None:
    """Free text marked ``pid_screening`` keeps no e-mail address, telephone or NHS number
    or postcode: each is replaced by [removed], and the row gets a warning (which does not
    repeat the value)."""
    for spec_field in plan.spec.fields:
        text = values.get(spec_field.name)
        if not spec_field.pid_screening or text is None:
            continue
        found = np.zeros(len(text), dtype=bool)
        for pattern in PID_PATTERNS:
            found |= _mask(pc.match_substring_regex(text, pattern))
            text = pc.replace_substring_regex(text, pattern, PID_REPLACEMENT)
        values[spec_field.name] = text
        problems.add(
            found,
            rows=rows,
            name=spec_field.name,
            column=plan.column_of(spec_field.name),
            values=pa.array([PID_REPLACEMENT] * len(text), pa.string()),
            rule="personal_details_removed",
            severity="warning",
            message=(
                f"{spec_field.name} held what looks like an e-mail address, telephone or NHS "
                "number or postcode: it was replaced by [removed]"
            ),
        )


def _pseudonymise(plan: Plan, values: dict[str, pa.Array], key: bytes) -> None:
    for spec_field in plan.spec.fields:
        name = spec_field.name
        if name not in values:
            continue
        if spec_field.pseudonymise == "drop":
            del values[name]
        elif spec_field.pseudonymise == "hmac_token":
            values[name] = pseudonymise.tokens(key, values[name])
        elif isinstance(spec_field.generalise, Bands):
            values[name] = pseudonymise.bands(values[name], spec_field.generalise.edges)
        elif isinstance(spec_field.generalise, Groups):
            group_of = {
                code: group
                for group, codes in spec_field.generalise.groups.items()
                for code in codes
            }
            keys = pa.array(list(group_of), pa.string())
            groups = pa.array(list(group_of.values()), pa.string())
            values[name] = pc.take(groups, pc.index_in(values[name], value_set=keys))


def output_schema(spec: DatasetSpec) -> pa.Schema:
    """The columns of a published version: the spec's fields as stored (identifiers that
    are dropped are absent; banded and grouped characteristics are text), then the
    record key, the source row and the job."""
    columns = []
    for spec_field in spec.fields:
        if spec_field.pseudonymise == "drop":
            continue
        kind = ARROW_TYPES[spec_field.type]
        if spec_field.pseudonymise == "hmac_token" or isinstance(
            spec_field.generalise, Bands | Groups
        ):
            kind = pa.string()
        columns.append(pa.field(spec_field.name, kind))
    columns += [
        pa.field(RECORD_KEY, pa.int64()),
        pa.field(SOURCE_ROW, pa.int64()),
        pa.field(JOB, pa.int64()),
    ]
    return pa.schema(columns)


def process(
    batch: pa.RecordBatch,
    plan: Plan,
    *,
    rows_of: np.ndarray,
    places: Places,
    token_key: bytes,
    job: int,
) -> Outcome:
    """One batch of text records (``_record`` and ``c0 .. cN``) to published records,
    problems and quarantined rows. ``rows_of`` gives each record's row in the file."""
    spec = plan.spec
    texts, positions = _text_fields(batch, plan)
    skipped = 0
    if plan.layout.melt and len(positions):
        # An empty month cell holds no count: it is not a record, and not a problem.
        filled = _mask(pc.is_valid(texts[plan.layout.melt.value]))
        skipped = int((~filled).sum())
        if skipped:
            keep_filled = pa.array(filled)
            texts = {name: pc.filter(array, keep_filled) for name, array in texts.items()}
            positions = positions[filled]
    rows = np.asarray(rows_of, dtype=np.int64)[positions]
    length = len(positions)
    problems = _Problems()
    values: dict[str, pa.Array] = {}
    for spec_field in spec.fields:
        text = texts.get(spec_field.name)
        if text is None:
            if spec_field.required and not _derived(spec, spec_field.name):
                missing = pa.nulls(length, pa.string())
                problems.add(
                    np.ones(length, dtype=bool),
                    rows=rows,
                    name=spec_field.name,
                    column="",
                    values=missing,
                    rule="required",
                    message=f"{spec_field.name} is required and the file has no column for it",
                )
            continue
        fmt = plan.layout.date_formats.get(spec_field.name)
        if plan.layout.melt and spec_field.name == plan.layout.melt.into:
            fmt = "%Y-%m-%d"
        values[spec_field.name] = _check_field(
            spec, spec_field, text, fmt, rows, plan.column_of(spec_field.name), problems
        )
    xy = _coordinates(plan, values, rows, problems)
    bad = problems.bad if problems.bad is not None else np.zeros(length, dtype=bool)
    keep = pa.array(~bad)
    quarantine = _quarantine(batch, problems.table(), positions[bad], rows[bad])
    values = {name: pc.filter(array, keep) for name, array in values.items()}
    kept_rows = rows[~bad]
    if xy is not None:
        xy = (xy[0][~bad], xy[1][~bad])
    outputs, unknown, _ = _derive_geography(plan, values, xy, places)
    values.update(outputs)
    outside = np.zeros(len(kept_rows), dtype=bool)
    if (
        xy is not None
        and places.engine is not None  # without boundaries no point is known to be outside
        and spec.geography is not None
        and spec.geography.source == "coordinates"
    ):
        located = np.isfinite(xy[0]) & np.isfinite(xy[1])
        outside = located & unknown
    count = len(kept_rows)
    # A warning shows the point as sent, not as suppressed (which is no point at all when
    # it is outside every area).
    sent_x = values.get(spec.location.x) if spec.location is not None else None
    _suppress(plan, values, xy, places)
    _pseudonymise(plan, values, token_key)
    screening = _Problems()
    _screen_free_text(plan, values, kept_rows, screening)
    schema = output_schema(spec)
    columns = []
    for column in schema:
        if column.name == RECORD_KEY:
            columns.append(pseudonymise.record_keys(count))
        elif column.name == SOURCE_ROW:
            columns.append(pa.array(kept_rows, pa.int64()))
        elif column.name == JOB:
            columns.append(pa.array(np.full(count, job, dtype=np.int64)))
        elif column.name in values:
            columns.append(pc.cast(values[column.name], column.type))
        else:
            columns.append(pa.nulls(count, column.type))
    problem_table = pa.concat_tables([problems.table(), screening.table()])
    location = spec.location
    if outside.any() and location is not None:
        note = _Problems()
        note.add(
            outside,
            rows=kept_rows,
            name=location.x,
            column=plan.column_of(location.x),
            values=pc.cast(
                sent_x if sent_x is not None else pa.nulls(count, pa.float64()), pa.string()
            ),
            rule="outside_area",
            severity="warning",
            message="the point is not in any London LSOA: kept, with its geography unknown",
        )
        problem_table = pa.concat_tables([problem_table, note.table()])
    return Outcome(
        records=pa.Table.from_arrays(columns, schema=schema),
        problems=problem_table,
        quarantine=quarantine,
        rows_in=len(rows_of),
        unknown_geography=int(unknown.sum()),
        outside_area=int(outside.sum()),
        empty_cells=skipped,
    )


def _derived(spec: DatasetSpec, name: str) -> bool:
    return spec.geography is not None and name in spec.geography.outputs.values()


QUARANTINE_FIXED: Final = [
    pa.field("row", pa.int64()),
    pa.field("reasons", pa.string()),
    pa.field("text", pa.string()),
]


def quarantine_schema(headers: list[str]) -> pa.Schema:
    """Quarantined rows keep every value as sent: the row, why it was refused, the raw line
    (for rows that could not be read) and one text column per header of the file."""
    seen: dict[str, int] = {}
    names = []
    for index, header in enumerate(headers):
        label = header or f"column {index + 1}"
        seen[label] = seen.get(label, 0) + 1
        names.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return pa.schema(QUARANTINE_FIXED + [pa.field(name, pa.string()) for name in names])


def _quarantine(
    batch: pa.RecordBatch, problems: pa.Table, positions: np.ndarray, rows: np.ndarray
) -> pa.Table:
    """The file's rows behind refused records, once each, with every reason."""
    if len(positions) == 0:
        return pa.table({"row": pa.array([], pa.int64())})
    positions, first = np.unique(positions, return_index=True)
    chosen_rows = rows[first]
    picked = batch.take(pa.array(positions))
    errors = problems.filter(pc.equal(problems.column("severity"), "error"))
    reasons: dict[int, list[str]] = {}
    for row, name, rule in zip(
        errors.column("row").to_pylist(),
        errors.column("field").to_pylist(),
        errors.column("rule").to_pylist(),
        strict=True,
    ):
        words = f"{name}: {rule}"
        bucket = reasons.setdefault(row, [])
        if words not in bucket:
            bucket.append(words)
    columns = {
        "row": pa.array(chosen_rows, pa.int64()),
        "reasons": pa.array(["; ".join(reasons.get(int(r), [])) for r in chosen_rows], pa.string()),
        "text": pa.nulls(len(positions), pa.string()),
    }
    for name in batch.schema.names:
        if name != "_record":
            columns[name] = picked.column(name)
    return pa.table(columns)
