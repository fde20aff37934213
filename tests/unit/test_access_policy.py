"""The access policy over the whole matrix of user, session, organisation and agreement
states, levels and instants — and a property: any failed condition means no access."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safestats.access.policy import PRECISIONS, Decision, Facts, Grant, Level, SessionState, decide

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EARLY = datetime(2025, 1, 1, tzinfo=UTC)
LATE = datetime(2028, 1, 1, tzinfo=UTC)
TICK = timedelta(microseconds=1)
GRANT = Grant(
    agreement_id=1,
    agreement_reference="DSA-2026-001",
    dataset_id="mps-recorded-crime",
    level="record",
    withheld_fields=("victim_ethnicity",),
    precision="lsoa",
    valid_to=NOW + timedelta(days=30),
)
OK = Facts(
    at=NOW,
    dataset_id="mps-recorded-crime",
    level=Level.RECORD,
    authorisation_expires_at=NOW + timedelta(days=200),
    session=SessionState(mfa_verified=True, conditions_accepted=True),
    organisation_name="Camden Community Safety Partnership",
    grant=GRANT,
)


def test_everything_in_order_is_allowed_with_the_agreement_limits() -> None:
    decision = decide(OK)
    assert decision == Decision(
        allowed=True,
        reason="Allowed under Camden Community Safety Partnership's agreement DSA-2026-001 "
        "until 25 December 2026 12:00.",
        level=Level.RECORD,
        withheld_fields=("victim_ethnicity",),
        precision="lsoa",
        valid_until=NOW + timedelta(days=30),
        agreement_reference="DSA-2026-001",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"user_exists": False}, "There is no active account for this user."),
        ({"user_active": False}, "There is no active account for this user."),
        ({"user_status": "pending"}, "has not yet authorised your account"),
        ({"user_status": "invited"}, "follow the link in your invitation"),
        ({"user_status": "declined"}, "declined your request"),
        ({"user_status": "suspended"}, "Your account is suspended"),
        ({"authorisation_expires_at": None}, "Your authorisation has lapsed"),
        ({"authorisation_expires_at": NOW}, "Your authorisation has lapsed"),
        ({"session": SessionState(False, True)}, "security code"),
        ({"session": SessionState(True, False)}, "Accept the Conditions of Use"),
        ({"organisation_status": "applied"}, "has applied to use SafeStats"),
        ({"organisation_status": "under_review"}, "is being reviewed"),
        ({"organisation_status": "suspended"}, "access to SafeStats is suspended"),
        ({"organisation_status": "withdrawn"}, "no longer has access"),
        ({"grant": None}, "no data sharing agreement in force that covers the mps-recorded-crime"),
        ({"grant": replace(GRANT, valid_to=NOW)}, "agreement DSA-2026-001 has ended"),
        ({"grant": replace(GRANT, level="aggregate")}, "allows only aggregate results"),
    ],
)
def test_each_failed_condition_refuses_with_its_reason(
    change: dict[str, object], reason: str
) -> None:
    decision = decide(replace(OK, **change))  # type: ignore[arg-type]
    assert not decision.allowed
    assert reason in decision.reason
    assert decision.precision is None and decision.withheld_fields == ()


def test_expiry_instants_are_exact() -> None:
    ends = GRANT.valid_to
    assert ends is not None
    assert decide(replace(OK, at=ends - TICK)).allowed
    assert not decide(replace(OK, at=ends)).allowed
    lapses = NOW + timedelta(days=5)
    assert decide(replace(OK, authorisation_expires_at=lapses, at=lapses - TICK)).allowed
    assert not decide(replace(OK, authorisation_expires_at=lapses, at=lapses)).allowed


def test_aggregate_grants_allow_aggregate_only() -> None:
    aggregate = replace(OK, grant=replace(GRANT, level="aggregate"))
    assert decide(replace(aggregate, level=Level.AGGREGATE)).allowed
    assert not decide(replace(aggregate, level=Level.RECORD)).allowed
    assert decide(replace(OK, level=Level.AGGREGATE)).allowed  # record includes aggregate


def test_commands_and_jobs_have_no_session_to_check() -> None:
    assert decide(replace(OK, session=None)).allowed


def test_the_operator_is_allowed_everything() -> None:
    decision = decide(Facts(at=NOW, dataset_id="x", level=Level.RECORD, platform_operator=True))
    assert decision.allowed and decision.precision == "point"


USER_STATUSES = ["invited", "pending", "authorised", "declined", "suspended"]
ORG_STATUSES = ["applied", "under_review", "approved", "suspended", "withdrawn"]


def test_whole_matrix_allows_exactly_the_all_good_combinations() -> None:
    sessions = [
        None,
        SessionState(True, True),
        SessionState(False, True),
        SessionState(True, False),
    ]
    grants = [None, GRANT, replace(GRANT, level="aggregate"), replace(GRANT, valid_to=NOW)]
    expiries = [None, NOW - TICK, NOW, NOW + TICK]
    allowed = 0
    for user_status, org_status, session, grant, level, expires in itertools.product(
        USER_STATUSES, ORG_STATUSES, sessions, grants, list(Level), expiries
    ):
        facts = replace(
            OK,
            user_status=user_status,
            organisation_status=org_status,
            session=session,
            grant=grant,
            level=level,
            authorisation_expires_at=expires,
        )
        expected = (
            user_status == "authorised"
            and org_status == "approved"
            and (session is None or (session.mfa_verified and session.conditions_accepted))
            and grant is not None
            and grant.valid_to > NOW
            and (grant.level == "record" or level == Level.AGGREGATE)
            and expires is not None
            and expires > NOW
        )
        decision = decide(facts)
        assert decision.allowed is expected, facts
        assert decision.reason
        allowed += expected
    # Two complete session states (none, fully signed in) x three (grant, level) pairs:
    # record grant for record or aggregate, aggregate grant for aggregate.
    assert allowed == 2 * 3


INSTANTS = st.datetimes(
    min_value=EARLY.replace(tzinfo=None),
    max_value=LATE.replace(tzinfo=None),
    timezones=st.just(UTC),
)

facts_strategy = st.builds(
    Facts,
    at=st.datetimes(
        min_value=EARLY.replace(tzinfo=None),
        max_value=LATE.replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
    dataset_id=st.sampled_from(["mps-recorded-crime", "las-violence-dispatches"]),
    level=st.sampled_from(list(Level)),
    user_exists=st.booleans(),
    user_active=st.booleans(),
    user_status=st.sampled_from(USER_STATUSES),
    authorisation_expires_at=st.none()
    | st.datetimes(
        min_value=EARLY.replace(tzinfo=None),
        max_value=LATE.replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
    session=st.none() | st.builds(SessionState, st.booleans(), st.booleans()),
    organisation_name=st.text(max_size=20),
    organisation_status=st.sampled_from(ORG_STATUSES),
    grant=st.none()
    | st.builds(
        Grant,
        agreement_id=st.integers(1, 5),
        agreement_reference=st.text(min_size=1, max_size=12),
        dataset_id=st.just("mps-recorded-crime"),
        level=st.sampled_from(["aggregate", "record"]),
        withheld_fields=st.lists(
            st.sampled_from(["age_band", "sex", "ethnicity"]), unique=True
        ).map(tuple),
        precision=st.sampled_from(PRECISIONS),
        valid_to=INSTANTS,
    ),
)


@given(facts_strategy)
def test_no_combination_with_a_failed_condition_is_ever_allowed(facts: Facts) -> None:
    failed = (
        not facts.user_exists
        or not facts.user_active
        or facts.user_status != "authorised"
        or facts.authorisation_expires_at is None
        or facts.at >= facts.authorisation_expires_at
        or (
            facts.session is not None
            and not (facts.session.mfa_verified and facts.session.conditions_accepted)
        )
        or facts.organisation_status != "approved"
        or facts.grant is None
        or facts.at >= facts.grant.valid_to
        or (facts.grant.level == "aggregate" and facts.level == Level.RECORD)
    )
    decision = decide(facts)
    assert decision.allowed is not failed
    if decision.allowed:
        assert facts.grant is not None
        assert decision.precision == facts.grant.precision
        assert set(decision.withheld_fields) == set(facts.grant.withheld_fields)
