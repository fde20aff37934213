"""GOV.UK-style error pages for 400, 403, 404, 500 and a failed CSRF check."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from config.urls import urlpatterns as project_urls
from safestats.accounts.decorators import public
from tests.integration.test_pages import assert_security_headers


@public
def _suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("tampered")


@public
def _denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


@public
def _broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


@public
def _form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("saved")


urlpatterns = [
    *project_urls,
    path("test/suspicious", _suspicious),
    path("test/denied", _denied),
    path("test/broken", _broken),
    path("test/form", _form),
]
handler400 = "safestats.web.views.bad_request"
handler403 = "safestats.web.views.permission_denied"
handler404 = "safestats.web.views.page_not_found"
handler500 = "safestats.web.views.server_error"


@pytest.fixture(autouse=True)
def _routes(settings) -> None:
    settings.ROOT_URLCONF = __name__


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "status", "heading"),
    [
        ("/test/suspicious", 400, "There is a problem with your request"),
        ("/test/denied", 403, "You do not have permission to see this page"),
        ("/nowhere", 404, "Page not found"),
    ],
)
def test_error_page(client: Client, url: str, status: int, heading: str) -> None:
    response = client.get(url)
    assert response.status_code == status
    html = response.content.decode()
    assert f'<h1 class="govuk-heading-l">{heading}</h1>' in html
    assert "govuk-skip-link" in html
    assert_security_headers(response)


@pytest.mark.django_db
def test_server_error_page_hides_the_error(settings) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/test/broken")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Sorry, there is a problem with the service" in html
    assert "boom" not in html and "Traceback" not in html
    assert_security_headers(response)


@pytest.mark.django_db
def test_csrf_failure_explains_and_saves_nothing() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/test/form", {"field": "value"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your form could not be sent" in html
    assert "saved" not in html.replace("Nothing you sent has been saved", "")
