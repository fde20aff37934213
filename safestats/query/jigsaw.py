"""Jigsaw-risk monitoring (MD3007: data "when considered as a whole" could identify
people). When a user downloads record-level data for small areas (wards or LSOAs) and has
already downloaded records of another dataset for an overlapping set of those areas and an
overlapping period, the download still proceeds, and an alert is recorded for the
platform team (an audit event and a row on their alerts page)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from safestats.audit.selectors import search_events
from safestats.audit.services import record
from safestats.catalogue.models import Dataset
from safestats.geography.models import Lsoa
from safestats.query.models import JigsawAlert
from safestats.query.spec import QuerySpec, end_after, geography_level, start_of

SMALL_AREAS = ("lsoa", "ward")
LOOK_BACK = timedelta(days=90)


def _wards_of(level: str | None, areas: list[str]) -> set[str]:
    """Areas as wards, so that an LSOA download and a ward download can be compared."""
    if level == "ward":
        return set(areas)
    if level == "lsoa":
        wards = Lsoa.objects.filter(code__in=areas).exclude(ward=None)
        return set(wards.values_list("ward__code", flat=True)) | {f"lsoa:{a}" for a in areas}
    return set()


def small_areas(dataset_id: str, query: dict[str, Any]) -> set[str]:
    """The wards and LSOAs a query (as JSON) is limited to, as comparable keys: its area
    filter, and any filter on a field holding ward or LSOA codes."""
    found: set[str] = set()
    level = query.get("area_level")
    if level in SMALL_AREAS and query.get("areas"):
        areas = list(query["areas"])
        found |= _wards_of(level, areas) | {f"{level}:{code}" for code in areas}
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return found
    spec = dataset.parsed_spec()
    for item in query.get("filters", []):
        field_level = geography_level(spec, item.get("field", ""))
        if field_level in SMALL_AREAS:
            values = list(item.get("values", []))
            found |= _wards_of(field_level, values) | {f"{field_level}:{v}" for v in values}
    return found


def _period(query: dict[str, Any]) -> tuple[date, date]:
    first = start_of(query["date_from"]) if query.get("date_from") else date.min
    last = end_after(query["date_to"]) if query.get("date_to") else date.max
    return first, last


def check_download(
    *, user: Any, dataset: Dataset, query: QuerySpec, request: HttpRequest | None
) -> JigsawAlert | None:
    here = small_areas(dataset.pk, query.as_json())
    if not here:
        return None
    first, last = _period(query.as_json())
    earlier = search_events(
        since=timezone.now() - LOOK_BACK, event_prefix="query.extracted", actor=user.email
    )
    matches = []
    for event in earlier:
        if event.target_id == dataset.pk:
            continue
        other = event.payload.get("query", {})
        shared = here & small_areas(event.target_id, other)
        other_first, other_last = _period(other)
        if shared and other_first < last and first < other_last:
            matches.append((event, shared, max(first, other_first), min(last, other_last)))
    if not matches:
        return None
    datasets = sorted({dataset.pk, *(event.target_id for event, *_ in matches)})
    shared_areas = sorted(set().union(*(found for _, found, *_ in matches)))
    start = min(period_start for *_, period_start, _ in matches)
    end = max(period_end for *_, period_end in matches)
    alert = JigsawAlert.objects.create(
        user=user,
        organisation_name=user.organisation.name if user.organisation_id else "",
        datasets=datasets,
        areas=[area.split(":", 1)[-1] for area in shared_areas],
        period_from=None if start == date.min else start,
        period_to=None if end == date.max else end,
        detail={
            "downloads": [
                {"seq": event.seq, "dataset": event.target_id, "query": event.payload.get("query")}
                for event, *_ in matches
            ],
            "this_download": {"dataset": dataset.pk, "query": query.as_json()},
        },
    )
    record(
        "query.jigsaw_alert",
        actor=user,
        target=dataset,
        payload={"alert": alert.pk, "datasets": datasets, "areas": alert.areas},
        request=request,
    )
    return alert
