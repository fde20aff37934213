"""The access policy as a pure function of facts (no Django): easy to test exhaustively.

Access is allowed only when every condition holds at the instant asked about:

1. the user's account is active and authorised by their organisation administrator,
   and that authorisation has not lapsed (it lasts 12 months unless reconfirmed);
2. in a web session: the second factor was given and the current Conditions of Use
   accepted in this session (a command or job acting for the user has no session);
3. the user's organisation is approved;
4. a Data Sharing Agreement in force covers the dataset at the level asked for
   (record level includes aggregate).

The first failed condition gives the reason, in words a user understands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from safestats.organisations import grants
from safestats.organisations.grants import PRECISIONS, Grant

LONDON = ZoneInfo("Europe/London")


class Level(StrEnum):
    AGGREGATE = grants.AGGREGATE
    RECORD = grants.RECORD


@dataclass(frozen=True)
class SessionState:
    mfa_verified: bool
    conditions_accepted: bool


@dataclass(frozen=True)
class Facts:
    at: datetime
    dataset_id: str
    level: Level
    user_exists: bool = True
    user_active: bool = True
    user_status: str = "authorised"  # invited | pending | authorised | declined | suspended
    authorisation_expires_at: datetime | None = None
    session: SessionState | None = None  # None: a command or job acting for the user
    organisation_name: str = ""
    organisation_status: str = "approved"
    grant: Grant | None = None
    platform_operator: bool = False  # the instance's own operator (CLI without --user)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    level: Level
    withheld_fields: tuple[str, ...] = field(default_factory=tuple)
    precision: str | None = None
    valid_until: datetime | None = None
    agreement_reference: str = ""

    def __bool__(self) -> bool:
        return self.allowed


USER_STATUS_REASONS = {
    "no_organisation": "Your account does not belong to an organisation.",
    "invited": "Your account has not been set up yet: follow the link in your invitation.",
    "pending": "Your organisation's administrator has not yet authorised your account.",
    "declined": "Your organisation's administrator declined your request for access.",
    "suspended": "Your account is suspended. Ask your organisation's administrator why.",
}

ORGANISATION_STATUS_REASONS = {
    "applied": "{org} has applied to use SafeStats but is not approved yet.",
    "under_review": "{org} is being reviewed by the SafeStats team and is not approved yet.",
    "suspended": "{org}'s access to SafeStats is suspended.",
    "withdrawn": "{org} no longer has access to SafeStats.",
}


def decide(facts: Facts) -> Decision:
    level = facts.level

    def refuse(reason: str) -> Decision:
        return Decision(allowed=False, reason=reason, level=level)

    if facts.platform_operator:
        return Decision(
            allowed=True,
            reason="The instance operator may use every dataset; outputs are still "
            "disclosure-controlled and audited.",
            level=level,
            precision=PRECISIONS[0],
        )
    if not facts.user_exists or not facts.user_active:
        return refuse("There is no active account for this user.")
    if facts.user_status != "authorised":
        return refuse(USER_STATUS_REASONS.get(facts.user_status, "Your account is not authorised."))
    if facts.authorisation_expires_at is None or facts.at >= facts.authorisation_expires_at:
        return refuse(
            "Your authorisation has lapsed: it lasts 12 months. Ask your organisation's "
            "administrator to reconfirm it."
        )
    if facts.session is not None:
        if not facts.session.mfa_verified:
            return refuse("Enter the security code from your authenticator app first.")
        if not facts.session.conditions_accepted:
            return refuse("Accept the Conditions of Use first.")
    org = facts.organisation_name or "Your organisation"
    if facts.organisation_status != "approved":
        template = ORGANISATION_STATUS_REASONS.get(
            facts.organisation_status, "{org} is not approved to use SafeStats."
        )
        return refuse(template.format(org=org))
    grant = facts.grant
    if grant is None:
        return refuse(
            f"{org} has no data sharing agreement in force that covers the "
            f"{facts.dataset_id} dataset."
        )
    if facts.at >= grant.valid_to:
        return refuse(f"{org}'s agreement {grant.agreement_reference} has ended.")
    if not grants.level_allows(grant.level, level):
        return refuse(
            f"{org}'s agreement {grant.agreement_reference} allows only aggregate results "
            f"from {facts.dataset_id}, not individual records."
        )
    if grant.precision not in PRECISIONS:
        return refuse(f"{org}'s agreement {grant.agreement_reference} is incomplete.")
    return Decision(
        allowed=True,
        reason=(
            f"Allowed under {org}'s agreement {grant.agreement_reference} "
            f"until {grant.valid_to.astimezone(LONDON):%d %B %Y %H:%M}."
        ),
        level=level,
        withheld_fields=tuple(sorted(grant.withheld_fields)),
        precision=grant.precision,
        # The authorisation expiry was checked above, so it is set.
        valid_until=min(grant.valid_to, facts.authorisation_expires_at),
        agreement_reference=grant.agreement_reference,
    )
