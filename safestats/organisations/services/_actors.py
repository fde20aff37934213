"""Who may change organisations and agreements: platform administrators (users with that
role whose account is authorised and active) and the instance operator running the
``safestats`` command (the system actor). Nobody else: a missing role means no.
"""

from __future__ import annotations

from typing import Any

from safestats.audit.models import ActorKind
from safestats.audit.services import Actor
from safestats.organisations.errors import NotPermitted

# The type services accept for ``by``: a user or an audit Actor.
By = Any


def is_platform_administrator(by: By) -> bool:
    if isinstance(by, Actor):
        return by.kind == ActorKind.SYSTEM
    if by is None or not getattr(by, "is_authenticated", False):
        return False
    return (
        bool(getattr(by, "is_active", False))
        and getattr(by, "role", None) == "platform_admin"
        and getattr(by, "status", None) == "authorised"
    )


def require_platform_administrator(by: By, doing: str) -> None:
    if not is_platform_administrator(by):
        raise NotPermitted(f"Only a platform administrator can {doing}.")


def user_or_none(by: By) -> Any:
    """The user to keep in a foreign key, or None for the system or nobody."""
    if isinstance(by, Actor) or by is None or not getattr(by, "is_authenticated", False):
        return None
    return by


def label(by: By) -> str:
    return Actor.of(by).label
