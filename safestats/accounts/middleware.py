"""The sign-in gate: every request by a signed-in user passes the session limits (idle
30 minutes, absolute 12 hours, "sign out everywhere"), and no page but the next sign-in
step is reachable until the second factor is given and the Conditions of Use accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from safestats.accounts import services
from safestats.accounts.decorators import CONDITIONS, FULL, MFA, PUBLIC

EXPIRY_MESSAGES = {
    "idle timeout": "You were signed out because you had not done anything for 30 minutes.",
    "absolute timeout": "You were signed out because you had been signed in for 12 hours.",
    "signed out everywhere": "You were signed out because all your sessions were ended.",
    "session incomplete": "You were signed out. Sign in again.",
}


def _to(name: str, next_path: str = "") -> HttpResponseRedirect:
    url = reverse(name)
    if next_path and next_path != "/":
        url += "?" + urlencode({"next": next_path})
    return HttpResponseRedirect(url)


class SignInGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        stage = getattr(view_func, "sign_in_stage", FULL)
        user = request.user
        if user.is_authenticated:
            now = timezone.now()
            reason = services.session_expiry_reason(request, user, now)
            if reason:
                services.sign_out(request, reason=reason)
                messages.info(request, EXPIRY_MESSAGES[reason])
                return None if stage == PUBLIC else _to("accounts:sign_in", request.get_full_path())
            request.session[services.LAST_SEEN] = now.isoformat()

        if stage == PUBLIC:
            return None
        if not user.is_authenticated:
            return _to("accounts:sign_in", request.get_full_path())

        verified = services.mfa_verified(user)
        if stage == MFA:
            return None
        if not verified:
            enrolled = services.has_confirmed_mfa(user)
            step = "accounts:mfa_challenge" if enrolled else "accounts:mfa_setup"
            return _to(step, request.get_full_path())
        if stage == CONDITIONS:
            return None
        if not services.conditions_accepted_in_session(request):
            return _to("accounts:conditions", request.get_full_path())
        return None
