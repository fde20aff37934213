"""The dataset specification: what one dataset is — its fields, their types, roles and code
lists, how identifiers are pseudonymised and personal characteristics generalised, where
its locations are and how they are suppressed, how geography is derived, which disclosure
rule its outputs follow — and the column layouts its providers send.

Plain typed Python (pydantic, no Django), so ingestion, the query engine and the tests use
it directly. A spec is validated strictly: unknown keys are refused (a misspelt key must
never be silently ignored), values are not coerced (YAML's ``no`` is not the text "no"),
and the parts are checked against each other (a layout naming a field that does not
exist, a measure that is missing, a derivation from a field that is not geographic...).
Reading spec text, with the file, path and line of every problem, is in
:mod:`safestats.catalogue.loading`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from safestats.organisations.validators import DATASET_ID, FIELD_NAME

Frequency = Literal["monthly", "weekly", "daily", "quarterly", "annual", "irregular"]
FieldType = Literal[
    "string",
    "integer",
    "decimal",
    "date",
    "month",
    "time",
    "datetime",
    "boolean",
    "category",
    "code",
]
FieldRole = Literal[
    "time",
    "geography",
    "category",
    "measure",
    "identifier",
    "free_text",
    "personal_characteristic",
]
GeographyLevel = Literal["lsoa", "ward", "borough"]

TEMPORAL_TYPES = ("date", "month", "time", "datetime")
NUMERIC_TYPES = ("integer", "decimal")
CODED_TYPES = ("category", "code")
# Finest first: a derivation only ever goes to a coarser level.
LEVELS: tuple[GeographyLevel, ...] = ("lsoa", "ward", "borough")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]


def _snake_case(value: str) -> str:
    if not FIELD_NAME.match(value) or "__" in value or value.endswith("_"):
        raise PydanticCustomError(
            "snake_case",
            "'{value}' is not a snake_case name: use lower-case letters, digits and single "
            "underscores, starting with a letter, like crime_type",
            {"value": value},
        )
    return value


SnakeName = Annotated[str, AfterValidator(_snake_case)]


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise PydanticCustomError(
            "slug",
            "'{value}' is not a valid name: use lower-case letters, digits and hyphens, "
            "like street-csv",
            {"value": value},
        )
    return value


Slug = Annotated[str, AfterValidator(_slug)]


def _dataset_id(value: str) -> str:
    if not DATASET_ID.match(value):
        raise PydanticCustomError(
            "dataset_id",
            "'{value}' is not a dataset id: use 2 to 64 lower-case letters, digits and "
            "hyphens, starting with a letter or digit, like mps-recorded-crime",
            {"value": value},
        )
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise PydanticCustomError(
            "regex",
            "'{value}' is not a valid regular expression: {error}",
            {
                "value": value,
                "error": str(error),
            },
        ) from None
    return value


Regex = Annotated[str, AfterValidator(_regex)]

# A fixed instant with every part distinct, to check that a date format reads back what it
# writes (a typo such as %Q, or a format that loses the month, fails the round trip).
_PROBE = datetime(2019, 11, 23, 14, 37, 52)  # noqa: DTZ001 - a naive probe value, no zone meant


def _date_format(value: str) -> str:
    if "%" not in value:
        raise PydanticCustomError(
            "date_format",
            "'{value}' is not a date format: use strftime codes, like %Y-%m or %d/%m/%Y",
            {"value": value},
        )
    try:
        datetime.strptime(_PROBE.strftime(value), value)  # noqa: DTZ007 - format check only
    except ValueError:
        raise PydanticCustomError(
            "date_format",
            "'{value}' is not a date format that can be read back: check the % codes",
            {"value": value},
        ) from None
    return value


DateFormat = Annotated[str, AfterValidator(_date_format)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------------------- code lists


class Code(_Strict):
    """One value of a code list, as it appears in the data, with its meaning."""

    code: Text
    label: Text
    description: str = ""


def _unique_codes(values: list[Code]) -> list[Code]:
    seen = Counter(value.code for value in values)
    repeated = sorted(code for code, count in seen.items() if count > 1)
    if repeated:
        raise PydanticCustomError(
            "duplicate_code",
            "code values must be unique; repeated: {codes}",
            {"codes": ", ".join(repr(code) for code in repeated)},
        )
    return values


CodeValues = Annotated[list[Code], Field(min_length=1), AfterValidator(_unique_codes)]


class InlineCodes(_Strict):
    """The code list written out in the field itself."""

    values: CodeValues


class NamedCodes(_Strict):
    """A code list defined once under the spec's ``code_lists``."""

    named: SnakeName


def _codes_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return "named" if "named" in value else "inline"
    if isinstance(value, NamedCodes):
        return "named"
    if isinstance(value, InlineCodes):
        return "inline"
    return None


CodeListRef = Annotated[
    Annotated[InlineCodes, Tag("inline")] | Annotated[NamedCodes, Tag("named")],
    Discriminator(_codes_tag),
]


class CodeList(_Strict):
    """A named code list: its values here, or a reference to an editable reference list
    kept outside the spec (for lists that change, or that are not public, such as the
    ISB 1594 assault methods)."""

    description: Text
    values: CodeValues | None = None
    reference: Slug | None = None

    @model_validator(mode="after")
    def _values_or_reference(self) -> CodeList:
        if (self.values is None) == (self.reference is None):
            raise ValueError(
                "give either values (the codes themselves) or reference (the name of an "
                "editable reference list), not both or neither"
            )
        return self


# ----------------------------------------------------------------- personal characteristics


class Bands(_Strict):
    """A number (an age) kept only as a band. ``edges`` are each band's lowest value:
    [0, 18, 25] gives 0-17, 18-24 and 25+."""

    method: Literal["bands"]
    edges: Annotated[list[int], Field(min_length=2)]

    @field_validator("edges")
    @classmethod
    def _increasing(cls, edges: list[int]) -> list[int]:
        if edges[0] < 0 or any(b <= a for a, b in pairwise(edges)):
            raise PydanticCustomError(
                "band_edges", "band edges must start at 0 or more and strictly increase"
            )
        return edges

    def labels(self) -> list[str]:
        pairs = pairwise(self.edges)
        return [f"{low}-{high - 1}" for low, high in pairs] + [f"{self.edges[-1]}+"]


class Groups(_Strict):
    """Codes kept only as the broader group they belong to (e.g. 16+1 ethnicity codes to
    five broad groups). Every code of the field's list is in exactly one group."""

    method: Literal["group"]
    groups: Annotated[dict[Text, Annotated[list[Text], Field(min_length=1)]], Field(min_length=2)]


class AsProvided(_Strict):
    """Already as coarse as it may be at source; ``note`` says why that is enough."""

    method: Literal["as_provided"]
    note: Text


Generalisation = Annotated[Bands | Groups | AsProvided, Field(discriminator="method")]

# ----------------------------------------------------------------------------- fields

Pseudonymisation = Literal["drop", "hmac_token", "keep_public"]


class FieldSpec(_Strict):
    name: SnakeName
    type: FieldType
    description: Text
    role: FieldRole
    required: bool = False
    unit: str = ""
    codes: CodeListRef | None = None
    pattern: Regex | None = None
    max_length: Annotated[int, Field(gt=0)] | None = None
    pseudonymise: Pseudonymisation | None = None
    generalise: Generalisation | None = None
    pid_screening: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        problems = list(_field_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _field_problems(field: FieldSpec) -> Iterator[str]:
    name, kind, role = field.name, field.type, field.role
    if role == "identifier" and field.pseudonymise is None:
        yield (
            f"{name} is an identifier, so it must say how it is pseudonymised: "
            "pseudonymise: drop, hmac_token or keep_public"
        )
    if role != "identifier" and field.pseudonymise is not None:
        yield f"only identifiers are pseudonymised, and {name} has role {role}"
    if role == "personal_characteristic" and field.generalise is None:
        yield (
            f"{name} is a personal characteristic, so it must say how it is generalised: "
            "generalise: with method bands, group or as_provided"
        )
    if role != "personal_characteristic" and field.generalise is not None:
        yield f"only personal characteristics are generalised, and {name} has role {role}"
    if isinstance(field.generalise, Bands) and kind != "integer":
        yield f"{name} is generalised to bands, so its type must be integer, not {kind}"
    if isinstance(field.generalise, Groups) and field.codes is None:
        yield f"{name} is generalised by group, so it needs the code list the groups cover"
    if kind == "code" and field.codes is None:
        yield f"{name} has type code, so it needs a code list (codes: values or named)"
    if field.codes is not None and kind not in CODED_TYPES:
        yield f"only category and code fields have code lists, and {name} has type {kind}"
    if role == "time" and kind not in (*TEMPORAL_TYPES, "integer"):
        yield f"{name} has role time, so its type must be date, month, time, datetime or integer"
    if role == "measure" and kind not in NUMERIC_TYPES:
        yield f"{name} has role measure, so its type must be integer or decimal, not {kind}"
    if role == "free_text":
        if kind != "string":
            yield f"{name} has role free_text, so its type must be string, not {kind}"
        if field.max_length is None:
            yield f"{name} is free text, so it needs a max_length"
    if field.pattern is not None and kind not in ("string", "code"):
        yield f"only string and code fields have a pattern, and {name} has type {kind}"
    if field.max_length is not None and kind not in ("string", "code", "category"):
        yield f"only text fields have a max_length, and {name} has type {kind}"
    if field.pid_screening and role != "free_text":
        yield f"pid_screening applies to free text only, and {name} has role {role}"


# --------------------------------------------------------------------- location, geography


class NoSuppression(_Strict):
    """Locations kept as sent; ``reason`` says why that is safe (already snapped by the
    publisher, or precision limited per agreement on every output)."""

    method: Literal["none"]
    reason: Text


class SnapGrid(_Strict):
    method: Literal["snap_grid"]
    metres: Annotated[int, Field(ge=10, le=10_000)]


class LsoaCentroid(_Strict):
    method: Literal["lsoa_centroid"]


class WardCentroid(_Strict):
    method: Literal["ward_centroid"]


Suppression = Annotated[
    NoSuppression | SnapGrid | LsoaCentroid | WardCentroid, Field(discriminator="method")
]


class Location(_Strict):
    """Where the coordinates are and how they are suppressed before anything is stored.
    ``x`` is the longitude (WGS84) or easting (British National Grid)."""

    crs: Literal["wgs84", "bng"]
    x: SnakeName
    y: SnakeName
    suppression: Suppression


class Geography(_Strict):
    """How each row is placed in London's geography: from the coordinates, or from a code
    (or name) field at one level, filling the coarser levels in ``outputs``."""

    source: Literal["coordinates", "lsoa", "ward", "borough"]
    field: SnakeName | None = None
    match: Literal["code", "name"] = "code"
    outputs: dict[GeographyLevel, SnakeName] = Field(default_factory=dict)
    # Values naming an area outside the boroughs (e.g. "Aviation Security (SO18)"):
    # kept as sent, with no derived geography, rather than refused.
    other_areas: list[Text] = Field(default_factory=list)


# ----------------------------------------------------------------------------- disclosure


class NoControl(_Strict):
    """No disclosure control: only for data already published openly, named here."""

    method: Literal["none"]
    public_source: Text


class Threshold(_Strict):
    """``k`` is the smallest count shown: counts from 1 to k-1 are suppressed (shown as
    ``[c]``, the GSS symbol); zero is shown as 0. With ``rounding_base``, every other count
    is rounded to that base."""

    method: Literal["threshold"]
    k: Annotated[int, Field(ge=2, le=100)]
    rounding_base: Annotated[int, Field(ge=2, le=100)] | None = None
    secondary_suppression: bool = True


class Rounding(_Strict):
    method: Literal["round"]
    base: Annotated[int, Field(ge=2, le=100)]


class CellKey(_Strict):
    """Consistent noise from each record's key: the same records give the same noise in
    every table. Counts from 1 to k-1 are also suppressed when ``k`` is given."""

    method: Literal["cell_key"]
    max_noise: Annotated[int, Field(ge=1, le=10)]
    k: Annotated[int, Field(ge=2, le=100)] | None = None


Disclosure = Annotated[NoControl | Threshold | Rounding | CellKey, Field(discriminator="method")]


def describe_disclosure(rule: NoControl | Threshold | Rounding | CellKey) -> str:
    """The rule in words, for the data dictionary page."""
    if isinstance(rule, NoControl):
        return (
            "No disclosure control: this data is already published openly "
            f"({rule.public_source}), and outputs show it as published."
        )
    if isinstance(rule, Threshold):
        words = (
            f"Counts from 1 to {rule.k - 1} are suppressed and shown as [c]; zero is shown as 0."
        )
        if rule.rounding_base:
            words += f" Other counts are rounded to the nearest {rule.rounding_base}."
        if rule.secondary_suppression:
            words += " Further cells are suppressed where totals would reveal a suppressed one."
        return words
    if isinstance(rule, Rounding):
        return f"Every count is rounded to the nearest {rule.base}."
    words = (
        f"Counts are perturbed by up to {rule.max_noise} either way, consistently: the same "
        "records give the same change in every table."
    )
    if rule.k:
        words += f" Counts from 1 to {rule.k - 1} are suppressed and shown as [c]."
    return words


# -------------------------------------------------------------------------------- layouts


class Melt(_Strict):
    """A wide file: every column whose header matches ``columns`` becomes rows, the header
    read with ``header_format`` into field ``into`` and the cell into field ``value``."""

    columns: Regex
    into: SnakeName
    header_format: DateFormat
    value: SnakeName


class Layout(_Strict):
    """One column layout a provider sends. ``columns`` gives, per field, the header (or
    the headers, any one of which may appear) it is read from."""

    name: Slug
    description: Text
    columns: dict[SnakeName, Text | Annotated[list[Text], Field(min_length=1)]]
    date_formats: dict[SnakeName, DateFormat] = Field(default_factory=dict)
    melt: Melt | None = None
    constants: dict[SnakeName, Text] = Field(default_factory=dict)
    ignore: list[Text] = Field(default_factory=list)

    def headers(self, field: str) -> list[str]:
        found = self.columns.get(field, [])
        return [found] if isinstance(found, str) else list(found)


# ------------------------------------------------------------------------------- the spec


class DatasetSpec(_Strict):
    """One dataset. ``coverage_field`` is the time field whose range is a version's
    coverage. An aggregated dataset names its ``measure`` (the count column)."""

    # Raised when the meaning of a key changes, so stored specs are migrated knowingly.
    format: Literal[1] = 1
    id: Annotated[str, AfterValidator(_dataset_id)]
    title: Text
    provider: Text
    description: Text
    update_frequency: Frequency
    kind: Literal["record", "aggregated"]
    measure: SnakeName | None = None
    coverage_field: SnakeName
    fields: Annotated[list[FieldSpec], Field(min_length=1)]
    code_lists: dict[SnakeName, CodeList] = Field(default_factory=dict)
    location: Location | None = None
    geography: Geography | None = None
    disclosure: Disclosure
    layouts: Annotated[list[Layout], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        problems = list(consistency_problems(self))
        if problems:
            raise PydanticCustomError(
                "spec_inconsistent",
                "{summary}",
                {
                    "summary": "; ".join(f"{_dotted(loc)}: {msg}" for loc, msg in problems),
                    "problems": [{"loc": list(loc), "msg": msg} for loc, msg in problems],
                },
            )
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def code_values(self, field: FieldSpec) -> list[Code] | None:
        """The field's codes, inline or named; None when kept as outside reference data."""
        if isinstance(field.codes, InlineCodes):
            return list(field.codes.values)
        if isinstance(field.codes, NamedCodes):
            named = self.code_lists.get(field.codes.named)
            return list(named.values) if named and named.values else None
        return None


Loc = tuple[str | int, ...]


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def consistency_problems(spec: DatasetSpec) -> Iterator[tuple[Loc, str]]:
    """Every way the parts of a structurally valid spec disagree, each with its path."""
    by_name: dict[str, FieldSpec] = {}
    for index, field in enumerate(spec.fields):
        if field.name in by_name:
            yield ("fields", index, "name"), f"field {field.name} is defined more than once"
        by_name.setdefault(field.name, field)

    def lacks(name: str) -> bool:
        return name not in by_name

    # Kind and measure.
    if spec.kind == "aggregated":
        if spec.measure is None:
            yield ("measure",), "an aggregated dataset must name its measure column (measure:)"
        elif lacks(spec.measure):
            yield ("measure",), f"the measure {spec.measure} is not one of the fields"
        elif by_name[spec.measure].role != "measure":
            yield ("measure",), f"the measure {spec.measure} must have role measure"
    elif spec.measure is not None:
        yield ("measure",), "only an aggregated dataset has a measure; this one is record level"

    coverage = by_name.get(spec.coverage_field)
    if coverage is None:
        yield (
            ("coverage_field",),
            f"the coverage field {spec.coverage_field} is not one of the fields",
        )
    elif coverage.role != "time" or coverage.type not in ("date", "month", "datetime"):
        yield (
            ("coverage_field",),
            f"the coverage field {spec.coverage_field} must have role time and type date, "
            "month or datetime",
        )

    # Code lists.
    used: set[str] = set()
    for index, field in enumerate(spec.fields):
        if isinstance(field.codes, NamedCodes):
            used.add(field.codes.named)
            if field.codes.named not in spec.code_lists:
                yield (
                    ("fields", index, "codes", "named"),
                    f"{field.name} uses code list {field.codes.named}, which is not defined "
                    "under code_lists",
                )
        if isinstance(field.generalise, Groups):
            yield from _group_problems(spec, index, field, field.generalise)
    for name in sorted(set(spec.code_lists) - used):
        yield ("code_lists", name), f"code list {name} is not used by any field"

    if spec.disclosure.method != "none":
        for index, field in enumerate(spec.fields):
            if field.pseudonymise == "keep_public":
                yield (
                    ("fields", index, "pseudonymise"),
                    f"{field.name}: keep_public is only for data already published openly "
                    "(disclosure method none); use drop or hmac_token",
                )

    yield from _location_problems(spec, by_name)
    yield from _geography_problems(spec, by_name)
    for index, layout in enumerate(spec.layouts):
        yield from _layout_problems(spec, by_name, index, layout)
    names = Counter(layout.name for layout in spec.layouts)
    for name in sorted(n for n, count in names.items() if count > 1):
        yield ("layouts",), f"layout name {name} is used more than once"


def _group_problems(
    spec: DatasetSpec, index: int, field: FieldSpec, groups: Groups
) -> Iterator[tuple[Loc, str]]:
    where: Loc = ("fields", index, "generalise", "groups")
    grouped = Counter(code for codes in groups.groups.values() for code in codes)
    twice = sorted(code for code, count in grouped.items() if count > 1)
    if twice:
        yield where, f"{field.name}: codes in more than one group: {', '.join(twice)}"
    values = spec.code_values(field)
    if values is None:
        return
    known = {value.code for value in values}
    unknown = sorted(set(grouped) - known)
    if unknown:
        yield where, f"{field.name}: groups name codes not in its code list: {', '.join(unknown)}"
    missing = sorted(known - set(grouped))
    if missing:
        yield where, f"{field.name}: codes in no group: {', '.join(missing)}"


def _location_problems(
    spec: DatasetSpec, by_name: dict[str, FieldSpec]
) -> Iterator[tuple[Loc, str]]:
    location = spec.location
    if location is None:
        return
    for axis in ("x", "y"):
        name = getattr(location, axis)
        field = by_name.get(name)
        if field is None:
            yield ("location", axis), f"the coordinate field {name} is not one of the fields"
        elif field.type not in NUMERIC_TYPES or field.role != "geography":
            yield (
                ("location", axis),
                f"the coordinate field {name} must be a number (integer or decimal) with role "
                "geography",
            )
    if location.x == location.y:
        yield ("location", "y"), "x and y must be different fields"
    needs = {"lsoa_centroid": "lsoa", "ward_centroid": "ward"}.get(location.suppression.method)
    if needs:
        geography = spec.geography
        reaches = set()
        if geography is not None:
            reaches = set(geography.outputs) | (
                {geography.source} if geography.source != "coordinates" else set()
            )
        if needs not in reaches:
            yield (
                ("location", "suppression"),
                f"suppression to the {needs.upper() if needs == 'lsoa' else needs} centroid "
                f"needs the geography to give each row its {needs} (geography.outputs)",
            )


def _geography_problems(
    spec: DatasetSpec, by_name: dict[str, FieldSpec]
) -> Iterator[tuple[Loc, str]]:
    geography = spec.geography
    if geography is None:
        return
    if geography.source == "coordinates":
        if spec.location is None:
            yield (
                ("geography", "source"),
                "geography from coordinates needs a location: section naming them",
            )
        if geography.field is not None:
            yield ("geography", "field"), "geography from coordinates takes no field"
        finest = -1
    else:
        finest = LEVELS.index(geography.source)
        name = geography.field
        if name is None:
            yield (
                ("geography", "field"),
                f"geography from {geography.source} must name the field it is read from",
            )
        elif name not in by_name:
            yield ("geography", "field"), f"the geography field {name} is not one of the fields"
        elif by_name[name].role != "geography":
            yield ("geography", "field"), f"the geography field {name} must have role geography"
    for level, name in geography.outputs.items():
        where: Loc = ("geography", "outputs", level)
        position = LEVELS.index(level)
        same_level_by_name = position == finest and geography.match == "name"
        if position < finest or (position == finest and not same_level_by_name):
            yield (
                where,
                (
                    f"{level} is not coarser than {geography.source}: a derivation goes from "
                    "LSOA to ward to borough"
                ),
            )
        if name not in by_name:
            yield where, f"the output field {name} is not one of the fields"
        elif by_name[name].role != "geography":
            yield where, f"the output field {name} must have role geography"
        elif name == geography.field:
            yield where, f"the output field {name} is the field the geography is read from"


def _layout_problems(
    spec: DatasetSpec, by_name: dict[str, FieldSpec], index: int, layout: Layout
) -> Iterator[tuple[Loc, str]]:
    here: Loc = ("layouts", index)
    mapped = set(layout.columns)
    headers: dict[str, str] = {}
    for name in layout.columns:
        if name not in by_name:
            yield (
                (*here, "columns", name),
                f"layout {layout.name} reads a column into {name}, which is not one of the fields",
            )
        for header in layout.headers(name):
            if header in headers and headers[header] != name:
                yield (
                    (*here, "columns", name),
                    f"layout {layout.name}: header {header!r} is given for both "
                    f"{headers[header]} and {name}",
                )
            headers.setdefault(header, name)
    for header in layout.ignore:
        if header in headers:
            yield (
                (*here, "ignore"),
                f"layout {layout.name}: header {header!r} is both read and ignored",
            )

    melt = layout.melt
    if melt is not None:
        for key, name, role, types in (
            ("into", melt.into, "time", ("month", "date")),
            ("value", melt.value, "measure", NUMERIC_TYPES),
        ):
            field = by_name.get(name)
            if field is None:
                yield (*here, "melt", key), f"melt {key} {name} is not one of the fields"
            elif field.role != role or field.type not in types:
                yield (
                    (*here, "melt", key),
                    f"melt {key} {name} must have role {role} and type {' or '.join(types)}",
                )
            if name in mapped:
                yield (*here, "melt", key), f"{name} is both melted into and read from a column"
        mapped |= {melt.into, melt.value}
        for header in headers:
            if re.search(melt.columns, header):
                yield (
                    (*here, "melt", "columns"),
                    f"layout {layout.name}: the header {header!r} of {headers[header]} also "
                    "matches the melt pattern",
                )

    for name, value in layout.constants.items():
        where: Loc = (*here, "constants", name)
        field = by_name.get(name)
        if field is None:
            yield where, f"layout {layout.name} sets {name}, which is not one of the fields"
            continue
        if name in mapped:
            yield where, f"layout {layout.name} both reads and sets {name}"
        values = spec.code_values(field)
        if values is not None and value not in {v.code for v in values}:
            yield where, f"'{value}' is not a code of {name}"
    mapped |= set(layout.constants)

    for name, _ in layout.date_formats.items():
        where = (*here, "date_formats", name)
        field = by_name.get(name)
        if field is None:
            yield where, f"layout {layout.name} has a date format for {name}, which is not a field"
        elif field.type not in TEMPORAL_TYPES:
            yield where, f"{name} has type {field.type}, so it takes no date format"
        elif name not in layout.columns:
            yield where, f"layout {layout.name} has a date format for {name} but no column for it"
    for name in sorted(mapped & set(by_name)):
        temporal = by_name[name].type in TEMPORAL_TYPES
        if temporal and name in layout.columns and name not in layout.date_formats:
            yield (
                (*here, "date_formats"),
                f"layout {layout.name} reads {name} ({by_name[name].type}) but gives no "
                "date format for it",
            )

    derived = set(spec.geography.outputs.values()) if spec.geography else set()
    for field in spec.fields:
        if field.required and field.name not in mapped | derived:
            yield (
                (*here, "columns"),
                f"layout {layout.name} gives no column for the required field {field.name}",
            )


# ------------------------------------------------------------------------ schema and hash


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, for editors (``safestats catalogue schema``)."""
    schema = DatasetSpec.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "SafeStats dataset specification",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def canonical(spec: DatasetSpec) -> dict[str, Any]:
    """The spec as plain JSON data, every default written out: what is stored and hashed."""
    return spec.model_dump(mode="json")


def spec_hash(spec: DatasetSpec) -> str:
    """SHA-256 of the canonical JSON: the same spec always has the same hash, however its
    YAML was laid out or commented."""
    text = json.dumps(canonical(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
