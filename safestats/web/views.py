"""Service pages that belong to no single domain: start page, legal pages, health, errors."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from safestats.accounts.decorators import public
from safestats.web.context_processors import service_values
from safestats.web.health import check_health


@public
@require_safe
def start(request: HttpRequest) -> HttpResponse:
    return render(request, "web/start.html")


@public
@require_safe
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "web/accessibility.html")


@public
@require_safe
def cookies(request: HttpRequest) -> HttpResponse:
    return render(request, "web/cookies.html")


@public
@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "web/privacy.html")


@never_cache
@public
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    report = check_health()
    return JsonResponse(report.as_json(), status=200 if report.ok else 503)


# --- Error pages (wired in config/urls.py) -------------------------------------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request's context processors: whatever failed (the database,
    # the session) may be what they need. The page needs only the service's own values.
    page = loader.get_template("500.html").render(service_values())
    return HttpResponse(page, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
