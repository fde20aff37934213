"""How views declare who may reach them. Every view is for fully signed-in users unless
it says otherwise, so a view that forgets to say is closed, not open.

Stages of signing in, checked by :class:`safestats.accounts.middleware.SignInGateMiddleware`:

- ``public``: anyone, signed in or not.
- ``mfa``: email and password checked, second factor not yet given.
- ``conditions``: second factor given, Conditions of Use not yet accepted in this session.
- ``full`` (the default): signed in, second factor given, Conditions of Use accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

PUBLIC = "public"
MFA = "mfa"
CONDITIONS = "conditions"
FULL = "full"

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def _stage(stage: str) -> Callable[[View], View]:
    def mark(view: View) -> View:
        view.sign_in_stage = stage  # type: ignore[attr-defined]
        return view

    return mark


public = _stage(PUBLIC)
mfa_step = _stage(MFA)
conditions_step = _stage(CONDITIONS)


def role_required(*roles: str) -> Callable[[View], View]:
    """Only users with one of ``roles`` (checked on the server, every request)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if getattr(request.user, "role", None) not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
