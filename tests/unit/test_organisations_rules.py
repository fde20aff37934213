"""The plain-Python rules of organisations and agreements: the lifecycle tables, the
order of access levels and precisions, which grant wins, and the value checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safestats.organisations import grants, lifecycle
from safestats.organisations.errors import InvalidValue, TransitionNotAllowed
from safestats.organisations.grants import Grant, choose
from safestats.organisations.models import AccessLevel, AgreementStatus, OrganisationStatus
from safestats.organisations.models import Precision as PrecisionChoices
from safestats.organisations.validators import (
    email_domain,
    normalise_dataset_id,
    normalise_domain,
    normalise_field_names,
    normalise_reference,
)

END = datetime(2028, 4, 1, tzinfo=UTC)


def grant(
    agreement_id: int = 1,
    level: str = "aggregate",
    precision: str = "lsoa",
    withheld: tuple[str, ...] = (),
    valid_to: datetime = END,
) -> Grant:
    return Grant(
        agreement_id=agreement_id,
        agreement_reference=f"DSA-{agreement_id}",
        dataset_id="las-dispatch",
        level=level,
        withheld_fields=withheld,
        precision=precision,
        valid_to=valid_to,
    )


def test_the_django_choices_are_the_engine_values_in_order() -> None:
    assert tuple(PrecisionChoices.values) == grants.PRECISIONS
    assert tuple(AccessLevel.values) == grants.LEVELS
    assert set(OrganisationStatus.values) == set(lifecycle.ORGANISATION.states)
    assert set(AgreementStatus.values) == set(lifecycle.AGREEMENT.states)


def test_precisions_run_from_finest_to_coarsest() -> None:
    assert grants.PRECISIONS == ("point", "snapped_point", "lsoa", "ward", "borough")
    assert grants.is_finer("point", "snapped_point")
    assert grants.is_finer("lsoa", "borough")
    assert not grants.is_finer("ward", "lsoa")
    assert not grants.is_finer("ward", "ward")
    assert grants.coarsest("lsoa", "point", "ward") == "ward"
    assert grants.precision_allows("lsoa", "borough")
    assert grants.precision_allows("lsoa", "lsoa")
    assert not grants.precision_allows("lsoa", "point")
    assert grants.level_allows("record", "aggregate")
    assert not grants.level_allows("aggregate", "record")
    with pytest.raises(ValueError, match="unknown spatial precision 'postcode'"):
        grants.precision_rank("postcode")
    with pytest.raises(ValueError, match="unknown access level"):
        grants.level_rank("everything")


def test_record_level_beats_aggregate_whatever_else() -> None:
    wide = grant(1, "record", "borough", ("age_band", "sex"))
    narrow = grant(2, "aggregate", "point")
    assert choose([narrow, wide]) == wide


def test_at_equal_level_the_finest_precision_wins_then_fewest_withheld() -> None:
    fine = grant(1, "record", "lsoa", ("age_band",))
    coarse = grant(2, "record", "ward")
    assert choose([coarse, fine]) == fine
    fewer = grant(3, "record", "lsoa")
    assert choose([fine, fewer, coarse]) == fewer


def test_ties_break_by_the_longest_running_then_the_lowest_id() -> None:
    assert choose([grant(1), grant(2, valid_to=END + timedelta(days=1))]) == grant(
        2, valid_to=END + timedelta(days=1)
    )
    assert choose([grant(5), grant(3)]) == grant(3)


def test_no_candidates_no_grant() -> None:
    assert choose([]) is None


candidates = st.lists(
    st.builds(
        grant,
        agreement_id=st.integers(1, 50),
        level=st.sampled_from(grants.LEVELS),
        precision=st.sampled_from(grants.PRECISIONS),
        withheld=st.lists(st.sampled_from(["age_band", "sex", "time"]), unique=True).map(tuple),
        valid_to=st.integers(0, 5).map(lambda days: END + timedelta(days=days)),
    ),
    max_size=8,
    # An agreement grants a dataset once (a unique constraint), so ids do not repeat.
    unique_by=lambda g: g.agreement_id,
)


@given(candidates)
def test_the_choice_is_one_of_the_candidates_and_none_is_more_generous(
    offered: list[Grant],
) -> None:
    chosen = choose(offered)
    if not offered:
        assert chosen is None
        return
    assert chosen in offered
    for other in offered:
        assert grants.level_rank(other.level) <= grants.level_rank(chosen.level)
        if other.level == chosen.level:
            assert grants.precision_rank(other.precision) >= grants.precision_rank(chosen.precision)
    assert choose(list(reversed(offered))) == chosen


def test_lifecycle_messages_are_sentences() -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        lifecycle.AGREEMENT.step("revoked", "active")
    assert refused.value.message == "An agreement that is revoked cannot be activated."
    with pytest.raises(TransitionNotAllowed, match="no organisation status called 'closed'"):
        lifecycle.ORGANISATION.step("approved", "closed")
    step = lifecycle.AGREEMENT.step("draft", "active")
    assert step.event == "agreement.activated" and step.needs_signed_document


def test_every_event_is_noun_dot_verb() -> None:
    for table in (lifecycle.ORGANISATION, lifecycle.AGREEMENT):
        for step in table.transitions:
            noun, verb = step.event.split(".")
            assert noun == table.noun and verb


@pytest.mark.parametrize(
    ("given_value", "stored"),
    [
        ("Camden.GOV.uk", "camden.gov.uk"),
        ("  camden.gov.uk. ", "camden.gov.uk"),
        ("nhs.net", "nhs.net"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_domains_are_stored_in_one_form(given_value: str, stored: str) -> None:
    assert normalise_domain(given_value) == stored


def test_email_domain() -> None:
    assert email_domain("Ana@Camden.gov.uk") == "camden.gov.uk"
    assert email_domain("odd@name@camden.gov.uk") == "camden.gov.uk"
    assert email_domain("nobody") is None
    assert email_domain("ana@gmail.com") is None


@pytest.mark.parametrize("good", ["las-dispatch", "mps-crime-2024", "a1"])
def test_good_dataset_ids(good: str) -> None:
    assert normalise_dataset_id(f" {good} ") == good


@pytest.mark.parametrize("bad", ["", "a", "LAS", "-las", "las_dispatch", "las dispatch", "x" * 65])
def test_bad_dataset_ids(bad: str) -> None:
    with pytest.raises(InvalidValue, match="Enter a dataset id"):
        normalise_dataset_id(bad)


def test_field_names_are_snake_case_once_each_and_sorted() -> None:
    assert normalise_field_names(["sex", "age_band", "sex", " "]) == ["age_band", "sex"]
    with pytest.raises(InvalidValue, match="'DateOfBirth' is not a field name"):
        normalise_field_names(["DateOfBirth"])


def test_references() -> None:
    assert normalise_reference(" DSA/2025-014 ") == "DSA/2025-014"
    with pytest.raises(InvalidValue, match="like DSA-2025-014"):
        normalise_reference("../etc")
