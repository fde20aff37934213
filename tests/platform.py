"""Helpers for the platform administrator's pages: a GLA administrator signed in through
the real pages, and the newest audit event of a kind."""

from __future__ import annotations

import html
import re

from django.test import Client

from safestats.accounts.models import Role, User
from safestats.audit.models import AuditEvent
from tests.signin import enrol, make_organisation, make_user, sign_in


def signed_in_admin(email: str = "gla.admin@london.gov.uk") -> tuple[Client, User]:
    """A platform administrator of the GLA, signed in (password, code, Conditions)."""
    gla = make_organisation("Greater London Authority", "london.gov.uk", type="gla_mopac")
    admin = make_user(
        email, role=Role.PLATFORM_ADMIN, status="authorised", organisation=gla, purpose="GLA team"
    )
    client = Client()
    sign_in(client, admin, enrol(admin))
    return client, admin


def signed_in(user: User) -> Client:
    client = Client()
    sign_in(client, user, enrol(user))
    return client


def event(name: str) -> AuditEvent:
    """The newest event called ``name`` (fails when there is none)."""
    return AuditEvent.objects.filter(event=name).order_by("-seq")[0]


def text(response) -> str:
    """The page's visible text, tags removed and white space collapsed, for asserting on
    messages that the markup splits across lines."""
    markup = response.content.decode()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())
