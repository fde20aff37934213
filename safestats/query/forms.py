"""The query builder's form: a GET form (so that every result has a URL to come back to),
built from the dataset's spec and the user's access decision. It offers only what the
agreement allows, and says why the rest is not offered; whatever is sent all the same is
checked again by the query service, whose words are shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from pydantic import ValidationError

from safestats.catalogue.models import Dataset, VersionStatus
from safestats.catalogue.spec import Bands, DatasetSpec, FieldSpec
from safestats.geography.codes import BOROUGHS
from safestats.organisations.grants import PRECISIONS, is_finer
from safestats.query.figures import title_of
from safestats.query.spec import (
    MAX_GROUPS,
    WEEKDAYS,
    Limits,
    QuerySpec,
    area_field,
    geography_level,
    groupable,
    hour_field,
)

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
AREA_CODE = re.compile(r"^[A-Z]\d{8}$")
SEPARATORS = re.compile(r"[\s,;]+")
LEVEL_NAMES = {"borough": "Borough", "ward": "Ward", "lsoa": "LSOA"}
TIME_UNITS = [
    ("", "No unit of time"),
    ("month", "Month"),
    ("quarter", "Quarter"),
    ("year", "Year"),
    ("week", "Week"),
    ("day", "Day"),
]
CLOCK_UNITS = [
    ("hour", "Hour of the day"),
    ("weekday", "Day of the week"),
    ("weekday_hour", "Day of the week by hour of the day (a heatmap)"),
]
FILTER_PREFIX = "f_"


class JoinedTextInput(forms.TextInput):
    """A text input that reads every value sent under its name, joined by commas, so that
    a link giving a value per parameter asks the same as one giving them all at once."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if hasattr(data, "getlist"):
            values = [v for v in data.getlist(name) if v.strip()]
            return ", ".join(values) if values else data.get(name)
        return data.get(name)


@dataclass(frozen=True)
class Unavailable:
    name: str
    reason: str


def _why_not(spec: DatasetSpec, spec_field: FieldSpec, limits: Limits) -> str | None:
    """Why ``spec_field`` cannot be grouped or filtered under ``limits``, or None."""
    if spec_field.name in limits.withheld:
        return "Your organisation's agreement withholds it."
    if spec_field.role == "geography":
        level = geography_level(spec, spec_field.name)
        if level in PRECISIONS and is_finer(level, limits.precision):
            return (
                f"It is more precise ({LEVEL_NAMES.get(level, level)}) than your agreement "
                f"allows ({limits.precision.replace('_', ' ')})."
            )
    return None


def _groupable(spec: DatasetSpec, spec_field: FieldSpec) -> bool:
    if spec_field.pseudonymise == "drop":
        return False
    return groupable(spec, spec_field) or spec_field.type == "boolean"


def _month(value: str, what: str) -> str:
    value = value.strip()
    if value and not MONTH.match(value):
        raise forms.ValidationError(f"Enter the {what} month as a year and month, like 2024-01")
    return value


class QueryForm(forms.Form):
    version = forms.ChoiceField(label="Version", required=False)
    date_from = forms.CharField(
        label="From (month)",
        required=False,
        max_length=7,
        help_text="The first month, for example 2024-01. Leave empty to start at the beginning.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    date_to = forms.CharField(
        label="To (month)",
        required=False,
        max_length=7,
        help_text="The last month, included. Leave empty to go to the end.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    area_level = forms.ChoiceField(label="Area level", required=False)
    areas = forms.CharField(
        label="Area codes",
        required=False,
        max_length=6000,
        help_text="ONS codes of the areas to keep, separated by commas or new lines, for "
        "example E05013806.",
        widget=forms.Textarea,
    )
    boroughs = forms.MultipleChoiceField(
        label="Boroughs",
        required=False,
        choices=[(code, BOROUGHS[code]) for code in sorted(BOROUGHS, key=BOROUGHS.__getitem__)],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose only boroughs from the list"},
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Days of the week",
        required=False,
        coerce=int,
        choices=[(str(n), name) for n, name in enumerate(WEEKDAYS, start=1)],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose only days of the week from the list"},
    )
    hours = forms.TypedMultipleChoiceField(
        label="Hours of the day",
        required=False,
        coerce=int,
        choices=[(str(h), f"{h:02d}:00 to {h:02d}:59") for h in range(24)],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose only hours from the list"},
    )
    group_by = forms.MultipleChoiceField(
        label="Group by",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose only fields from the list to group by"},
    )
    time_unit = forms.ChoiceField(label="Unit of time", required=False)

    def __init__(
        self, *args: Any, dataset: Dataset, limits: Limits, counts: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.counts = counts  # a table of counts needs a grouping; an extract of records not
        self.dataset = dataset
        self.spec = spec = dataset.parsed_spec()
        self.limits = limits
        self.clock = hour_field(spec) is not None
        versions = dataset.versions.exclude(status=VersionStatus.DRAFT).order_by("-number")
        current = dataset.current_version
        cast(forms.ChoiceField, self.fields["version"]).choices = [
            ("", f"The newest (now version {current.number})" if current else "The newest"),
            *[
                (
                    str(v.number),
                    f"Version {v.number}"
                    + (" (rolled back)" if v.status == VersionStatus.ROLLED_BACK else ""),
                )
                for v in versions
            ],
        ]
        # Grouping: every field that could be grouped by, offered when the agreement allows.
        self.groupable: list[tuple[str, str]] = []
        self.unavailable: list[Unavailable] = []
        for spec_field in spec.fields:
            if not _groupable(spec, spec_field):
                continue
            reason = _why_not(spec, spec_field, limits)
            if reason is None:
                self.groupable.append((spec_field.name, title_of(spec_field.name)))
            else:
                self.unavailable.append(Unavailable(spec_field.name, reason))
        group_field = cast(forms.MultipleChoiceField, self.fields["group_by"])
        # Fields not offered are still valid choices (after those offered), so that the
        # service refuses them in the agreement's own words.
        group_field.choices = [
            *self.groupable,
            *[(u.name, title_of(u.name)) for u in self.unavailable],
        ]
        self.offered_groups = [name for name, _ in self.groupable]
        group_field.help_text = (
            f"Choose up to {MAX_GROUPS}. The first is shown down the side of the table."
        )
        # Filters on categories (geography is filtered by area below).
        self.filter_names: list[str] = []
        for spec_field in spec.fields:
            if spec_field.role == "geography" or not _groupable(spec, spec_field):
                continue
            if _why_not(spec, spec_field, limits) is not None:
                continue
            name = FILTER_PREFIX + spec_field.name
            codes = spec.code_values(spec_field)
            label = title_of(spec_field.name)
            if codes:
                choices = [(code.code, code.label) for code in codes]
            elif spec_field.type == "boolean":
                choices = [("true", "Yes"), ("false", "No")]
            elif isinstance(spec_field.generalise, Bands):
                choices = [(band, band) for band in spec_field.generalise.labels()]
            else:
                choices = []
            if choices:
                self.fields[name] = forms.MultipleChoiceField(
                    label=label,
                    required=False,
                    choices=choices,
                    widget=forms.CheckboxSelectMultiple,
                    error_messages={
                        "invalid_choice": f"Choose only values of {label} from the list"
                    },
                )
            else:
                self.fields[name] = forms.CharField(
                    label=label,
                    required=False,
                    max_length=2000,
                    help_text="Values to keep, separated by commas. Leave empty to keep all.",
                    widget=JoinedTextInput(attrs={"autocomplete": "off"}),
                )
            self.filter_names.append(name)
        # Areas: the levels the dataset places its records in and the agreement allows.
        self.levels = []
        for level, words in LEVEL_NAMES.items():
            holder = area_field(spec, level)
            if holder is None or holder in limits.withheld:
                continue
            if is_finer(level, limits.precision):
                continue
            self.levels.append((level, words))
        cast(forms.ChoiceField, self.fields["area_level"]).choices = [
            ("", "All of London"),
            *self.levels,
        ]
        self.offers_boroughs = any(level == "borough" for level, _ in self.levels)
        units = list(TIME_UNITS) + (CLOCK_UNITS if self.clock else [])
        cast(forms.ChoiceField, self.fields["time_unit"]).choices = units
        self.fields["time_unit"].help_text = (
            "Counts for each period, as well as for each group."
            if not self.clock
            else "Counts for each period, hour or day of the week, as well as for each group."
        )

    @property
    def filter_fields(self) -> list[tuple[forms.BoundField, bool]]:
        """Each category filter, and whether it is a list of checkboxes."""
        return [
            (self[name], isinstance(self.fields[name], forms.MultipleChoiceField))
            for name in self.filter_names
        ]

    # ------------------------------------------------------------------- field checks

    def clean_date_from(self) -> str:
        return _month(self.cleaned_data.get("date_from") or "", "first")

    def clean_date_to(self) -> str:
        return _month(self.cleaned_data.get("date_to") or "", "last")

    def clean_areas(self) -> list[str]:
        text = (self.cleaned_data.get("areas") or "").upper()
        codes = [code for code in SEPARATORS.split(text) if code]
        wrong = [code for code in codes if not AREA_CODE.match(code)]
        if wrong:
            raise forms.ValidationError(
                f"{wrong[0][:20]} is not an area code: give ONS codes like E05013806"
            )
        return list(dict.fromkeys(codes))

    def clean_group_by(self) -> list[str]:
        chosen: list[str] = self.cleaned_data.get("group_by") or []
        if len(chosen) > MAX_GROUPS:
            raise forms.ValidationError(f"Choose at most {MAX_GROUPS} fields to group by")
        return chosen

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        grouped = data.get("group_by") or data.get("time_unit")
        if self.counts and not grouped and "group_by" not in self.errors:
            self.add_error("group_by", "Choose at least one field to group by, or a unit of time")
        boroughs = data.get("boroughs") or []
        level = data.get("area_level") or ""
        areas = data.get("areas") or []
        if boroughs:
            if level not in ("", "borough"):
                self.add_error(
                    "boroughs",
                    "Choose boroughs only with the area level Borough, or leave the level empty",
                )
            else:
                data["area_level"] = "borough"
                data["areas"] = list(dict.fromkeys([*boroughs, *areas]))
        elif areas and not level:
            self.add_error("area_level", "Choose the level of the area codes you gave")
        elif level and not areas:
            self.add_error("areas", "Give at least one area code, or choose All of London")
        return data

    # ---------------------------------------------------------------------- the query

    def query(self) -> tuple[QuerySpec | None, list[str]]:
        """The query the form asks, or the problems that stop it being asked."""
        data = self.cleaned_data
        filters = []
        for name in self.filter_names:
            value = data.get(name)
            values = (
                [v.strip() for v in value.split(",") if v.strip()]
                if isinstance(value, str)
                else list(value or [])
            )
            if values:
                filters.append({"field": name.removeprefix(FILTER_PREFIX), "values": values})
        fields: dict[str, Any] = {
            "dataset": self.dataset.pk,
            "version": int(data["version"]) if data.get("version") else None,
            "date_from": data.get("date_from") or None,
            "date_to": data.get("date_to") or None,
            "filters": filters,
            "area_level": data.get("area_level") or None,
            "areas": data.get("areas") or [],
            "weekdays": data.get("weekdays") or [],
            "hours": data.get("hours") or [],
            "group_by": data.get("group_by") or [],
            "time_unit": data.get("time_unit") or None,
        }
        try:
            return QuerySpec.model_validate(fields), []
        except ValidationError as error:
            return None, [_words(item) for item in error.errors()]


def _words(item: Any) -> str:
    where = ".".join(str(part) for part in item.get("loc", ()))
    return f"{where}: {item.get('msg', 'not valid')}" if where else str(item.get("msg"))


def params_of(query: QuerySpec) -> dict[str, list[str]]:
    """The builder's GET parameters that ask ``query`` (for saved queries' links)."""
    params: dict[str, list[str]] = {"run": ["1"]}
    if query.version is not None:
        params["version"] = [str(query.version)]
    if query.date_from:
        params["date_from"] = [query.date_from[:7]]
    if query.date_to:
        params["date_to"] = [query.date_to[:7]]
    for item in query.filters:
        params[FILTER_PREFIX + item.field] = list(item.values)
    if query.area_level:
        params["area_level"] = [query.area_level]
        params["areas"] = ["\n".join(query.areas)]
    if query.weekdays:
        params["weekdays"] = [str(d) for d in query.weekdays]
    if query.hours:
        params["hours"] = [str(h) for h in query.hours]
    if query.group_by:
        params["group_by"] = list(query.group_by)
    if query.time_unit:
        params["time_unit"] = [query.time_unit]
    return params


class SaveForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=120,
        help_text="So that you and your colleagues can find it, for example "
        "Burglary by ward, last 12 months.",
        error_messages={
            "required": "Enter a name for the query",
            "max_length": "Enter a name of at most 120 characters",
        },
    )
    sharing = forms.ChoiceField(
        label="Who can open it",
        choices=[
            ("private", "Only me"),
            ("organisation", "Everyone in my organisation"),
        ],
        initial="private",
        widget=forms.RadioSelect,
        help_text="Whoever opens it sees only what their own access allows.",
        error_messages={"required": "Choose who can open it"},
    )
    version_choice = forms.ChoiceField(
        label="Which version of the data",
        initial="newest",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose which version of the data it runs on"},
    )

    def __init__(self, *args: Any, version: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("newest", "Always the newest version")]
        if version is not None:
            choices.append(("pinned", f"Always version {version}, as now"))
        cast(forms.ChoiceField, self.fields["version_choice"]).choices = choices


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="Review note",
        max_length=2000,
        widget=forms.Textarea,
        help_text="What you found and did, for example that the downloads were for the "
        "organisation's agreed purpose. It is kept in the audit log.",
        error_messages={"required": "Enter a note saying what you found"},
    )
