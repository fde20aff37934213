"""Password rules: length, common passwords and the patterns breach corpora are full of."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from safestats.accounts.passwords import PatternPasswordValidator

validator = PatternPasswordValidator()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("MySafeStatsLogin99", "name of this service"),
        ("aaaaaaaaaaaaaa", "more than a few different characters"),
        ("ababababababab", "more than a few different characters"),
        ("zz qwerty horse", "run of keys"),
        ("horse 54321 battery", "run of keys"),
        ("Password2024!!", "common word with numbers or symbols added"),
        ("!!welcome9876", "common word with numbers or symbols added"),
    ],
)
def test_guessable_patterns_are_refused_with_a_reason(password: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        validator.validate(password)
    assert message in info.value.messages[0]


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "violet-lamp-harbour-91", "Tr4ffic cone Orbit"]
)
def test_good_passphrases_pass_every_rule(password: str) -> None:
    validate_password(password)


@settings(max_examples=200)
@given(
    word=st.sampled_from(["password", "welcome", "football", "monkey", "sunshine", "princess"]),
    suffix=st.text(alphabet="0123456789!@#$%&*_.", min_size=1, max_size=8),
    capitalise=st.booleans(),
)
def test_any_common_word_with_digits_and_symbols_added_is_refused(
    word: str, suffix: str, capitalise: bool
) -> None:
    password = (word.capitalize() if capitalise else word) + suffix
    with pytest.raises(ValidationError):
        validator.validate(password)
