"""The platform overview (``/platform``): organisations under review with their checklist
state, organisations by status, agreements ending soon and users waiting anywhere."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from safestats.accounts import selectors as accounts
from safestats.organisations import selectors
from safestats.organisations.models import OrganisationStatus
from safestats.organisations.views._common import platform_admin

ENDING_WITHIN = timedelta(days=60)


@platform_admin
@require_safe
def overview(request: HttpRequest) -> HttpResponse:
    counts = selectors.organisation_counts()
    return render(
        request,
        "organisations/platform/overview.html",
        {
            "under_review": selectors.organisations_under_review(),
            "counts": [
                (status, label, counts[status]) for status, label in OrganisationStatus.choices
            ],
            "ending": selectors.agreements_ending(at=timezone.now(), within=ENDING_WITHIN),
            "ending_days": ENDING_WITHIN.days,
            "waiting": accounts.waiting_users(),
        },
    )
