"""What the organisations pages share: who may reach them, the acting user, and how a
service's refusal is shown."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from safestats.accounts.decorators import role_required
from safestats.accounts.models import Role, User
from safestats.accounts.services import signed_in_user
from safestats.organisations.errors import NotPermitted, OrganisationsError
from safestats.web.refusals import refused

platform_admin = role_required(Role.PLATFORM_ADMIN)


def acting(request: HttpRequest) -> User:
    return signed_in_user(request)


def refusal(
    request: HttpRequest, error: OrganisationsError, *, back_url: str, back_text: str
) -> HttpResponse:
    """The page for a refused button: 403 when the actor may not act at all, else 409."""
    if isinstance(error, NotPermitted):
        raise PermissionDenied(error.message)
    return refused(request, error.message, back_url=back_url, back_text=back_text)
