"""The audit log page's filters: dates are whole London days, both ends included."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _date_errors(what: str) -> dict[str, str]:
    return {"invalid": f"The {what} date must be a real date, like 2025-04-01"}


class AuditFilterForm(forms.Form):
    since = forms.DateField(
        label="From",
        required=False,
        help_text="For example, 2025-04-01",
        error_messages=_date_errors("from"),
    )
    until = forms.DateField(
        label="To",
        required=False,
        help_text="Included",
        error_messages=_date_errors("to"),
    )
    event = forms.CharField(
        label="Event",
        max_length=100,
        required=False,
        help_text="The start of its name, like user. or organisation.approved",
    )
    actor = forms.CharField(
        label="Who did it",
        max_length=254,
        required=False,
        help_text="Their email address, or operator",
    )
    organisation = forms.TypedChoiceField(
        label="Organisation", required=False, coerce=int, empty_value=None
    )
    target_type = forms.CharField(
        label="Target type", max_length=100, required=False, help_text="Like accounts.user"
    )
    target_id = forms.CharField(label="Target id", max_length=200, required=False)

    def __init__(self, *args: Any, organisations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[Any, str]] = [("", "Any organisation"), *organisations]
        # A link from an organisation's page names it even before it has any event.
        asked = str(self.data.get("organisation", "")) if self.is_bound else ""
        if asked.isdigit() and int(asked) not in {pk for pk, _ in organisations}:
            choices.append((int(asked), f"Organisation {asked}"))
        cast(forms.ChoiceField, self.fields["organisation"]).choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The to date must be the same as or after the from date")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The filters as :func:`safestats.audit.selectors.search_events` takes them."""
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return {
            "since": _start_of(since) if since else None,
            "until": _start_of(until + timedelta(days=1)) if until else None,
            "event_prefix": (data.get("event") or "").strip(),
            "actor": (data.get("actor") or "").strip(),
            "organisation_id": data.get("organisation"),
            "target_type": (data.get("target_type") or "").strip(),
            "target_id": (data.get("target_id") or "").strip(),
        }
