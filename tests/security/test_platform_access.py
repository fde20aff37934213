"""Every URL under /platform is for platform administrators only: walked as an analyst,
an organisation administrator, someone not signed in and a platform administrator. A new
/platform URL is covered by this walk as soon as it is routed. Every form posts with a
CSRF token and a post without one is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from safestats.accounts.models import Role
from tests.platform import signed_in, signed_in_admin
from tests.signin import csrf_from, make_member, make_organisation

pytestmark = pytest.mark.django_db

CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
SAMPLE = {"int": "1", "str": "sample", "slug": "sample", "path": "sample"}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def platform_paths() -> list[str]:
    """Each routed /platform URL, its parameters filled with sample values."""
    return sorted(
        "/" + CONVERTER.sub(lambda m: SAMPLE[m.group(1) or "str"], route)
        for route in _routes(get_resolver().url_patterns)
        if route.startswith("platform")
    )


def test_the_walk_finds_the_whole_console() -> None:
    paths = platform_paths()
    assert "/platform" in paths and "/platform/audit/download" in paths
    assert "/platform/agreements/1/document" in paths
    assert "/platform/users/1/sample/reason" in paths
    assert len(paths) >= 25


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ORGANISATION_ADMIN, Role.DATA_PROVIDER])
def test_other_roles_are_refused_every_platform_url(role: str) -> None:
    camden = make_organisation()
    client = signed_in(make_member(camden, "someone@camden.gov.uk", role=role))
    for path in platform_paths():
        assert client.get(path).status_code == 403, path
        assert client.post(path, {"reason": "x", "domain": "x"}).status_code == 403, path
    home = client.get("/").content.decode()
    assert 'href="/platform"' not in home


def test_nobody_signed_in_is_sent_to_sign_in() -> None:
    client = Client()
    for path in platform_paths():
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/sign-in"), path


def test_platform_administrators_reach_every_page_without_an_error() -> None:
    client, _ = signed_in_admin()
    for path in platform_paths():
        # 404 for the sample ids, 405 for buttons that only post: never 403 or 500.
        assert client.get(path).status_code in {200, 404, 405}, path
    home = client.get("/").content.decode()
    assert 'href="/platform"' in home and ">Platform</a>" in home


def test_posts_need_the_csrf_token() -> None:
    client, _ = signed_in_admin()
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    page = strict.get("/platform/organisations/new").content.decode()
    form = {"name": "Token Test", "type": "other", "domains": "token.gov.uk"}
    refused = strict.post("/platform/organisations/new", form)
    assert refused.status_code == 403
    accepted = strict.post(
        "/platform/organisations/new", {**form, "csrfmiddlewaretoken": csrf_from(page)}
    )
    assert accepted.status_code == 302
