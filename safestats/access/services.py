"""The access decision for a real user: gathers the facts from the database (and, in a
web request, from the session) and asks :func:`safestats.access.policy.decide`.

Every page, API call, command and job that touches data calls :func:`decide` or
:func:`require`; nothing else decides access.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone

from safestats.access.policy import Decision, Facts, Level, SessionState
from safestats.access.policy import decide as decide_facts
from safestats.accounts.models import User
from safestats.accounts.services import conditions_accepted_in_session, mfa_verified
from safestats.organisations.grants import Grant
from safestats.organisations.selectors import grant_in_force, grants_in_force


class AccessDenied(Exception):
    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def _grant(organisation_id: int | None, dataset_id: str, at: datetime) -> Grant | None:
    if organisation_id is None:
        return None
    return grant_in_force(organisation_id=organisation_id, dataset_id=dataset_id, at=at)


def facts_for(
    user: User | None,
    dataset_id: str,
    level: Level | str,
    *,
    at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Facts:
    when = at or timezone.now()
    asked = Level(level)
    if user is None:
        return Facts(at=when, dataset_id=dataset_id, level=asked, user_exists=False)
    session = None
    if request is not None:
        session = SessionState(
            mfa_verified=mfa_verified(request.user),
            conditions_accepted=conditions_accepted_in_session(request),
        )
    organisation = user.organisation
    return Facts(
        at=when,
        dataset_id=dataset_id,
        level=asked,
        user_active=user.is_active,
        user_status=user.status if organisation is not None else "no_organisation",
        authorisation_expires_at=user.authorisation_expires_at,
        session=session,
        organisation_name=organisation.name if organisation else "",
        organisation_status=organisation.status if organisation else "withdrawn",
        grant=_grant(user.organisation_id, dataset_id, when),
    )


def decide(
    user: User | None,
    dataset_id: str,
    level: Level | str,
    *,
    at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Decision:
    """May ``user`` see ``dataset_id`` at ``level`` at instant ``at`` (default: now)?

    In a web request the session must also have given the second factor and accepted
    the Conditions of Use; a command or job acting for the user has no session.
    """
    return decide_facts(facts_for(user, dataset_id, level, at=at, request=request))


def require(
    user: User | None,
    dataset_id: str,
    level: Level | str,
    *,
    at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Decision:
    decision = decide(user, dataset_id, level, at=at, request=request)
    if not decision.allowed:
        raise AccessDenied(decision)
    return decision


def operator_decision(
    dataset_id: str, level: Level | str, *, at: datetime | None = None
) -> Decision:
    """The decision for the instance's operator (a command run without --user)."""
    return decide_facts(
        Facts(
            at=at or timezone.now(),
            dataset_id=dataset_id,
            level=Level(level),
            platform_operator=True,
        )
    )


def datasets_for(user: User, *, at: datetime | None = None) -> list[tuple[str, Decision]]:
    """Every dataset the user's organisation has an agreement for, each with the decision
    at its widest granted level (for "your access")."""
    when = at or timezone.now()
    if user.organisation_id is None:
        return []
    found = grants_in_force(organisation_id=user.organisation_id, at=when)
    return [
        (grant.dataset_id, decide(user, grant.dataset_id, grant.level, at=when))
        for grant in sorted(found, key=lambda g: g.dataset_id)
    ]
