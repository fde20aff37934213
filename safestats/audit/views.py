"""The platform administrator's audit log pages, under ``/platform/audit``: the log
filtered and paged, one event in full, the filtered events as a CSV download (itself
recorded as ``audit.exported`` before a row leaves) and a check of the hash chain
(recorded as ``audit.verified``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from safestats.accounts.decorators import role_required
from safestats.accounts.models import Role
from safestats.accounts.services import signed_in_user
from safestats.audit import selectors, services
from safestats.audit.forms import AuditFilterForm
from safestats.audit.models import AuditEvent

platform_admin = role_required(Role.PLATFORM_ADMIN)
PER_PAGE = 50


def _filter_form(request: HttpRequest) -> AuditFilterForm:
    data = request.GET.copy()
    data.pop("page", None)
    return AuditFilterForm(data or None, organisations=selectors.organisations_in_log())


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@platform_admin
@require_safe
def log(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        events = AuditEvent.objects.none()
    else:
        filters = form.filters() if form.is_bound else {}
        events = selectors.search_events(**filters).order_by("-seq")
    page = Paginator(events, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/platform/log.html",
        {"form": form, "page_obj": page, "query": _query(request)},
    )


def _shown(value: Any) -> str:
    """A payload value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@platform_admin
@require_safe
def event(request: HttpRequest, seq: int) -> HttpResponse:
    found = AuditEvent.objects.filter(seq=seq).first()
    if found is None:
        raise Http404("No such event")
    payload = [(key, _shown(value)) for key, value in sorted(found.payload.items())]
    has_next = AuditEvent.objects.filter(seq=found.seq + 1).exists()
    return render(
        request,
        "audit/platform/event.html",
        {"event": found, "payload": payload, "has_next": has_next},
    )


@platform_admin
@require_GET  # HEAD would be audited as a download without one
def download(request: HttpRequest) -> HttpResponseBase:
    form = _filter_form(request)
    if form.is_bound and not form.is_valid():
        page = Paginator(AuditEvent.objects.none(), PER_PAGE).get_page(1)
        return render(
            request,
            "audit/platform/log.html",
            {"form": form, "page_obj": page, "query": _query(request)},
            status=400,
        )
    filters = form.filters() if form.is_bound else {}
    events = services.start_export(
        by=signed_in_user(request), destination="download", request=request, **filters
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        selectors.csv_lines(events), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="safestats-audit-{stamp}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@platform_admin
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    result = None
    if request.method == "POST":
        result = services.check_chain(by=signed_in_user(request), request=request)
    return render(request, "audit/platform/verify.html", {"result": result})
