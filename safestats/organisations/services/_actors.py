"""Who may do what here, until the roles of the access-control work replace it.

Platform administrators (the GLA team) are staff or superusers; the instance operator
running the ``safestats`` command is the system actor. Nobody else may approve, review
or change agreements: a missing role means no, never yes.
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
    return bool(getattr(by, "is_active", False)) and bool(
        getattr(by, "is_staff", False) or getattr(by, "is_superuser", False)
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
