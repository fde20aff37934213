"""The user model: email identity, Argon2 hashes, password rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.test import RequestFactory

from tests.conftest import run_safestats

User = get_user_model()


@pytest.mark.django_db
def test_email_is_the_identity_and_is_case_insensitive() -> None:
    user = User.objects.create_user("  Ana.Analyst@Camden.GOV.uk ", "a long passphrase here")
    assert user.email == "ana.analyst@camden.gov.uk"
    request = RequestFactory().post("/sign-in")
    assert authenticate(
        request, username="ANA.ANALYST@camden.gov.uk", password="a long passphrase here"
    )
    with pytest.raises(IntegrityError):
        User.objects.create_user("ana.analyst@camden.gov.uk", "another passphrase")


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2() -> None:
    user = User.objects.create_user("hash@example.org", "correct horse battery staple")
    assert user.password.startswith("argon2$argon2id$")
    assert "correct horse" not in user.password


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt!pass", "at least 12 characters"),
        ("password1234", "too common"),
        ("738492018475", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_password(password)
    assert any(message in text for text in info.value.messages)


def test_createsuperuser_through_the_safestats_command(
    tmp_path: Path, process_database: dict[str, str]
) -> None:
    home = tmp_path / "instance"
    run_safestats(home, "migrate", "--no-input", SAFESTATS_MODE="demo", **process_database)
    run_safestats(
        home,
        "createsuperuser",
        "--no-input",
        "--email",
        "Platform.Admin@example.org",
        "--full_name",
        "Platform Admin",
        SAFESTATS_MODE="demo",
        **process_database,
        DJANGO_SUPERUSER_PASSWORD="a long demo passphrase",
    )
    shown = run_safestats(
        home,
        "shell",
        "-c",
        "from safestats.accounts.models import User; u = User.objects.get(); "
        "print(u.email, u.is_superuser, u.password.split('$')[0])",
        SAFESTATS_MODE="demo",
        **process_database,
    )
    assert shown.stdout.strip().splitlines()[-1].split() == [
        "platform.admin@example.org",
        "True",
        "argon2",
    ]
