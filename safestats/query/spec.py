"""The query specification: what a user asks of one dataset, typed and checked.

A :class:`QuerySpec` is plain data (it is stored in saved queries and audit events as
JSON). :func:`check` compares it with the dataset's spec and the user's access decision
and returns every problem in words; only a spec with no problems is ever compiled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from safestats.catalogue.spec import DatasetSpec, FieldSpec
from safestats.organisations.grants import PRECISIONS, is_finer

TimeUnit = Literal["day", "week", "month", "quarter", "year", "hour", "weekday", "weekday_hour"]
# Units of time that need the time of day; "weekday_hour" is two dimensions at once, the day
# of the week and the hour (for a heatmap of when things happen).
CLOCK_UNITS = ("hour", "weekday", "weekday_hour")
# Dimensions each time unit adds to the result.
TIME_DIMENSIONS: dict[str, tuple[str, ...]] = {"weekday_hour": ("weekday", "hour")}
AreaLevel = Literal["borough", "ward", "lsoa"]
MAX_VALUES = 500
MAX_GROUPS = 2
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filter(_Strict):
    """Keep only records whose ``field`` is one of ``values``."""

    field: Annotated[str, Field(min_length=1, max_length=64)]
    values: Annotated[list[Annotated[str, Field(max_length=200)]], Field(min_length=1)]

    @field_validator("values")
    @classmethod
    def _not_too_many(cls, values: list[str]) -> list[str]:
        if len(values) > MAX_VALUES:
            raise ValueError(f"choose at most {MAX_VALUES} values")
        return values


class QuerySpec(_Strict):
    dataset: Annotated[str, Field(min_length=1, max_length=64)]
    version: Annotated[int, Field(ge=1)] | None = None
    date_from: str | None = None  # YYYY-MM or YYYY-MM-DD, inclusive
    date_to: str | None = None  # YYYY-MM (the whole month) or YYYY-MM-DD, inclusive
    filters: list[Filter] = Field(default_factory=list)
    area_level: AreaLevel | None = None
    areas: list[Annotated[str, Field(max_length=9)]] = Field(default_factory=list)
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list)
    hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(default_factory=list)
    group_by: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    time_unit: TimeUnit | None = None
    measure: Literal["count", "sum"] | None = None  # None: count records, or sum the measure

    @field_validator("date_from", "date_to")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None and not PERIOD.match(value):
            raise ValueError("give a month as YYYY-MM or a day as YYYY-MM-DD")
        return value

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_defaults=True)


def measure_of(query: QuerySpec, spec: DatasetSpec) -> str:
    """``count`` or ``sum``: a sum of the measure for datasets that hold counts already."""
    if query.measure is not None:
        return query.measure
    return "sum" if spec.kind == "aggregated" else "count"


def start_of(value: str) -> date:
    if len(value) == 7:
        return date(int(value[:4]), int(value[5:7]), 1)
    return date.fromisoformat(value)


def end_after(value: str) -> date:
    """The first day after the period ``value`` names (exclusive end)."""
    if len(value) == 7:
        year, month = int(value[:4]), int(value[5:7])
        return date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(date.fromisoformat(value).toordinal() + 1)


# ------------------------------------------------------------------------ the fields


@dataclass(frozen=True)
class Limits:
    """What the access decision allows the output to show."""

    withheld: frozenset[str]
    precision: str  # one of grants.PRECISIONS
    record_level: bool


def geography_level(spec: DatasetSpec, name: str) -> str:
    """The spatial precision a geography field shows: point for coordinates and
    descriptions of places, else the level of the area it names."""
    geography = spec.geography
    if geography is not None:
        for level, output in geography.outputs.items():
            if output == name:
                return level
        if geography.field == name and geography.source != "coordinates":
            return geography.source
    lowered = name.lower()
    for level in ("lsoa", "ward", "borough"):
        if lowered.startswith(level):
            return level
    return "point"


def area_field(spec: DatasetSpec, level: str) -> str | None:
    """The field holding each record's code at ``level`` (borough, ward, LSOA)."""
    geography = spec.geography
    if geography is None:
        return None
    if level in geography.outputs:
        return geography.outputs[level]
    if geography.source == level and geography.match == "code":
        return geography.field
    return None


def hour_field(spec: DatasetSpec) -> FieldSpec | None:
    """The field that says at what time of day: the coverage field when it is a
    datetime, else the first datetime or time field with role time."""
    coverage = spec.field(spec.coverage_field)
    if coverage is not None and coverage.type == "datetime":
        return coverage
    for spec_field in spec.fields:
        if spec_field.role == "time" and spec_field.type in ("datetime", "time"):
            return spec_field
    return None


def groupable(spec: DatasetSpec, spec_field: FieldSpec) -> bool:
    if spec_field.role in ("category", "personal_characteristic"):
        return True
    if spec_field.role == "geography" and spec_field.type in ("string", "code", "category"):
        return spec_field.role == "geography" and geography_level(spec, spec_field.name) != "point"
    return False


def check(query: QuerySpec, spec: DatasetSpec, limits: Limits) -> list[str]:
    """Every reason ``query`` cannot run on ``spec`` under ``limits``, in words."""
    problems: list[str] = []

    def field_problem(name: str, use: str) -> FieldSpec | None:
        spec_field = spec.field(name)
        if spec_field is None or spec_field.pseudonymise == "drop":
            problems.append(f"{spec.title} has no field {name!r} to {use}.")
            return None
        if name in limits.withheld:
            problems.append(
                f"Your organisation's agreement withholds {name}: it cannot be {use}ed."
            )
            return None
        if spec_field.role == "geography":
            level = geography_level(spec, name)
            if level in PRECISIONS and is_finer(level, limits.precision):
                problems.append(
                    f"{name} is more precise ({level}) than your agreement allows "
                    f"({limits.precision})."
                )
                return None
        return spec_field

    for item in query.filters:
        spec_field = field_problem(item.field, "filter")
        if spec_field is not None and not (
            groupable(spec, spec_field) or spec_field.type == "boolean"
        ):
            problems.append(f"{item.field} cannot be filtered by value.")
    if len(query.group_by) > MAX_GROUPS:
        problems.append(f"Group by at most {MAX_GROUPS} fields (and a time unit).")
    elif query.time_unit == "weekday_hour" and len(query.group_by) > MAX_GROUPS - 1:
        problems.append(
            "Day of the week by hour is two dimensions already: group it by at most "
            f"{MAX_GROUPS - 1} field."
        )
    if len(set(query.group_by)) != len(query.group_by):
        problems.append("Each field can be grouped by only once.")
    for name in query.group_by:
        spec_field = field_problem(name, "group")
        if spec_field is not None and not (
            groupable(spec, spec_field) or spec_field.type == "boolean"
        ):
            problems.append(f"{name} cannot be grouped by: it is not a category or an area.")
    if query.area_level is not None or query.areas:
        if query.area_level is None or not query.areas:
            problems.append("Give both the area level and at least one area.")
        else:
            holder = area_field(spec, query.area_level)
            if holder is None:
                problems.append(f"{spec.title} has no {query.area_level} for its records.")
            else:
                field_problem(holder, "filter")
    if query.date_from and query.date_to and start_of(query.date_from) >= end_after(query.date_to):
        problems.append("The start of the date range must be before its end.")
    if (query.weekdays or query.hours or query.time_unit in CLOCK_UNITS) and hour_field(
        spec
    ) is None:
        problems.append(f"{spec.title} does not record the time of day or day of the week.")
    if query.measure == "sum" and (spec.kind != "aggregated" or spec.measure is None):
        problems.append(f"{spec.title} is record level: count its records instead of a sum.")
    if spec.kind == "aggregated" and query.measure == "count":
        problems.append(
            f"{spec.title} holds counts already: ask for the sum of {spec.measure}, not a "
            "count of rows."
        )
    return problems
