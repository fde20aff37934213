"""The service pages: GOV.UK layout, content a user needs, and security headers on all."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

PAGES = {
    "web:start": "Community safety data for London",
    "web:accessibility": "Accessibility statement for SafeStats",
    "web:cookies": "Cookies",
    "web:privacy": "Privacy notice",
}

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def assert_security_headers(response) -> None:
    for header, value in SECURITY_HEADERS.items():
        assert response[header] == value, header
    csp = response["Content-Security-Policy"]
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in csp.split(";") if part.strip()
    )
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no CDN
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "geolocation=()", "microphone=()", "payment=()"):
        assert feature in permissions
    assert len(response["X-Request-ID"]) >= 8


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "heading"), PAGES.items())
def test_page_renders_in_the_govuk_layout(client: Client, name: str, heading: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<h1 class="govuk-heading-xl">{heading}</h1>' in html
    assert 'class="govuk-skip-link"' in html and 'href="#main-content"' in html
    assert 'id="main-content"' in html
    assert "govuk-phase-banner" in html
    assert "<title>" in html and "– SafeStats</title>" in html
    for link in ("/accessibility", "/cookies", "/privacy"):
        assert f'href="{link}"' in html
    assert "<script>" not in html  # every script is a file, so the CSP can forbid inline
    assert 'style="' not in html
    assert_security_headers(response)


@pytest.mark.django_db
def test_start_page_says_what_the_service_is_and_who_may_use_it(client: Client) -> None:
    html = client.get("/").content.decode()
    assert "secure service for finding, analysing and downloading community safety data" in html
    assert "Who can use this service" in html
    assert "named person in an approved organisation" in html
    assert "Crime and Disorder Act 1998" in html
    assert "Every sign-in, query and download is recorded" in html


@pytest.mark.django_db
def test_head_requests_are_answered(client: Client) -> None:
    assert client.head("/").status_code == 200


@pytest.mark.django_db
def test_other_methods_are_refused(client: Client) -> None:
    response = client.post("/", enforce_csrf_checks=False)
    assert response.status_code == 405


@pytest.mark.django_db
def test_not_found_page_is_govuk_styled_and_headed(client: Client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<h1 class="govuk-heading-l">Page not found</h1>' in html
    assert "govuk-footer" in html
    assert_security_headers(response)


@pytest.mark.django_db
def test_demo_banner_only_in_demo_mode(client: Client, settings) -> None:
    assert "Demonstration instance" not in client.get("/").content.decode()
    settings.IS_DEMO = True
    assert "Demonstration instance" in client.get("/").content.decode()


@pytest.mark.django_db
def test_request_id_from_a_proxy_is_kept_only_when_it_looks_like_one(client: Client) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "abc123-proxy-id"})
    assert kept["X-Request-ID"] == "abc123-proxy-id"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>x</script>"})
    assert replaced["X-Request-ID"] != "<script>x</script>"
    assert replaced["X-Request-ID"].isalnum()
