"""Whether the signed-in user may query any dataset: the service navigation's "Query" link.
Worked out only when a page's template asks, once per request."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import HttpRequest

from safestats.access.services import datasets_for
from safestats.accounts.models import User


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}

    @cache
    def can_query() -> bool:
        return any(decision.allowed for _, decision in datasets_for(user))

    return {"can_query": can_query}
