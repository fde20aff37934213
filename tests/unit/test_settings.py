"""Settings come from the environment; a missing required value stops start-up loudly.

Each case runs the real ``safestats`` command in a fresh process, because settings are
read once per process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_safestats, try_safestats

PRODUCTION = {
    "SAFESTATS_MODE": "production",
    "SAFESTATS_SECRET_KEY": "s" * 40,
    "SAFESTATS_PSEUDONYMISATION_KEY": "p" * 40,
    "SAFESTATS_ALLOWED_HOSTS": "safestats.example.org",
    "SAFESTATS_EMAIL_HOST": "smtp.example.org",
}

SHOW_SETTINGS = [
    "shell",
    "-c",
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'https': s.HTTPS, 'session_secure': s.SESSION_COOKIE_SECURE,"
    "'csrf_secure': s.CSRF_COOKIE_SECURE, 'hsts': s.SECURE_HSTS_SECONDS,"
    "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS,"
    "'db': str(s.DATABASES['default']['NAME']), 'engine': s.DATABASES['default']['ENGINE'],"
    "'data': str(s.SAFESTATS_DATA_DIR), 'secret': s.SECRET_KEY,"
    "'session_httponly': s.SESSION_COOKIE_HTTPONLY, 'csrf_httponly': s.CSRF_COOKIE_HTTPONLY,"
    "'samesite': s.SESSION_COOKIE_SAMESITE, 'hashers': s.PASSWORD_HASHERS[0]}))",
]


def show(home: Path, **env: str) -> dict[str, object]:
    result = run_safestats(home, *SHOW_SETTINGS, **env)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "missing",
    [
        "SAFESTATS_SECRET_KEY",
        "SAFESTATS_PSEUDONYMISATION_KEY",
        "SAFESTATS_ALLOWED_HOSTS",
        "SAFESTATS_EMAIL_HOST",
    ],
)
def test_production_refuses_to_start_without_a_required_value(tmp_path: Path, missing: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = try_safestats(tmp_path, "check", **env)
    assert result.returncode != 0
    assert missing in result.stderr
    assert "Traceback" not in result.stderr


def test_production_is_the_default_mode(tmp_path: Path) -> None:
    result = try_safestats(tmp_path, "check")
    assert result.returncode != 0
    assert "SAFESTATS_SECRET_KEY is required in production" in result.stderr


def test_production_secret_must_be_long(tmp_path: Path) -> None:
    result = try_safestats(tmp_path, "check", **{**PRODUCTION, "SAFESTATS_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_production_refuses_debug(tmp_path: Path) -> None:
    result = try_safestats(tmp_path, "check", **PRODUCTION, SAFESTATS_DEBUG="true")
    assert result.returncode != 0
    assert "SAFESTATS_DEBUG cannot be on in production" in result.stderr


def test_unknown_mode_and_bad_flags_are_named(tmp_path: Path) -> None:
    result = try_safestats(tmp_path, "check", SAFESTATS_MODE="staging")
    assert "SAFESTATS_MODE must be one of production, demo, test" in result.stderr
    result = try_safestats(tmp_path, "check", **PRODUCTION, SAFESTATS_HTTPS="maybe")
    assert "SAFESTATS_HTTPS must be true or false; got 'maybe'" in result.stderr


def test_production_cookies_are_secure_and_hsts_is_on(tmp_path: Path) -> None:
    values = show(tmp_path, **PRODUCTION)
    assert values["https"] is True
    assert values["session_secure"] is True
    assert values["csrf_secure"] is True
    assert values["ssl_redirect"] is True
    assert values["hsts"] == 31536000
    assert values["debug"] is False
    assert values["session_httponly"] is True
    assert values["csrf_httponly"] is True
    assert values["samesite"] == "Lax"
    assert values["hosts"] == ["safestats.example.org"]
    assert values["hashers"] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_demo_mode_generates_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    first = show(tmp_path, SAFESTATS_MODE="demo")
    second = show(tmp_path, SAFESTATS_MODE="demo")
    assert first["secret"] == second["secret"]
    assert first["https"] is False  # the demo serves plain HTTP on localhost
    assert first["hosts"] == ["127.0.0.1", "localhost", "[::1]"]


def test_instances_with_different_homes_share_no_files(tmp_path: Path) -> None:
    a = show(tmp_path / "a", SAFESTATS_MODE="demo")
    b = show(tmp_path / "b", SAFESTATS_MODE="demo")
    assert a["db"] == str(tmp_path / "a" / "db.sqlite3")
    assert b["db"] == str(tmp_path / "b" / "db.sqlite3")
    assert a["data"] == str(tmp_path / "a" / "data")
    assert b["data"] == str(tmp_path / "b" / "data")
    assert a["secret"] != b["secret"]


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    values = show(
        tmp_path,
        **PRODUCTION,
        DATABASE_URL="postgres://safestats@db.example.org:5432/safestats",
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db"] == "safestats"
