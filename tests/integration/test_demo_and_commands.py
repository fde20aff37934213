"""The demo instance and the onboarding commands, as an operator would use them: the real
``safestats`` command in a subprocess, on a demo instance prepared once for the module."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_safestats, try_safestats

pytestmark = pytest.mark.slow
DEMO = {"SAFESTATS_MODE": "demo"}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("demo") / "instance"
    output = run_safestats(home, "demo", "--prepare-only").stdout
    return home, output


@pytest.fixture
def home(prepared: tuple[Path, str], tmp_path: Path) -> Path:
    copy = tmp_path / "instance"
    shutil.copytree(prepared[0], copy)
    return copy


def test_demo_prints_one_account_per_role_with_password_and_totp_secret(
    prepared: tuple[Path, str],
) -> None:
    _, output = prepared
    accounts = re.findall(
        r"^\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)\s+TOTP secret: ([A-Z2-7]{32})$",
        output,
        re.MULTILINE,
    )
    assert {role for role, *_ in accounts} == {
        "analyst",
        "organisation_admin",
        "data_provider",
        "platform_admin",
    }
    assert "synthetic; for this demo instance only" in output
    assert "No geography folder given: boundaries absent, maps will say so." in output


def test_the_demo_loads_synthetic_data_through_the_pipeline(
    prepared: tuple[Path, str],
) -> None:
    home, output = prepared
    loaded = dict(re.findall(r"^  ([a-z0-9-]+): version 1, ([\d,]+) records", output, re.MULTILINE))
    # Without boundaries there are no wards to count crimes in; every other dataset loads.
    assert "  mps-ward-crime-counts: no demo data" in output
    assert len(loaded) == 12
    datasets = run_safestats(home, "datasets", **DEMO).stdout.strip().splitlines()
    for line in datasets:
        name = line.split()[0]
        if name in loaded:
            assert re.search(r"version 1, [1-9]\d* rows, \d{4}-\d{2} to \d{4}-\d{2}$", line)
    # Every file came through the raw store, and no identifier reached the data store.
    assert len(list((home / "raw").glob("*/*"))) == 12
    first = (home / "demo-data" / "las-violence-dispatches.csv").read_text().splitlines()[1]
    incident = first.split(",")[0]
    for path in (home / "data").rglob("*.parquet"):
        assert incident.encode() not in path.read_bytes()


def test_running_the_demo_again_keeps_the_same_instance(
    home: Path, prepared: tuple[Path, str]
) -> None:
    again = run_safestats(home, "demo", "--prepare-only").stdout
    lines = lambda text: sorted(line for line in text.splitlines() if "password:" in line)  # noqa: E731
    assert lines(again) == lines(prepared[1])
    users = run_safestats(home, "users", "list", **DEMO).stdout.strip().splitlines()
    assert len(users) == 4
    verify = run_safestats(home, "audit", "verify", **DEMO)
    assert verify.stdout.startswith("Audit log intact:")
    assert again.count(": has data (version 1).") == 12


def test_access_check_explains_allowed_and_refused(home: Path) -> None:
    allowed = run_safestats(
        home, "access", "check", "--user", "analyst@camden.gov.uk",
        "--dataset", "mps-recorded-crime", "--level", "aggregate", **DEMO,
    )  # fmt: skip
    assert allowed.stdout.startswith("ALLOWED: Allowed under Camden Community Safety Partnership")
    assert "Finest location: ward" in allowed.stdout
    refused = try_safestats(
        home, "access", "check", "--user", "analyst@camden.gov.uk",
        "--dataset", "mps-recorded-crime", "--level", "record", **DEMO,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "allows only aggregate results from mps-recorded-crime" in refused.stdout
    unknown = try_safestats(
        home, "access", "check", "--user", "nobody@example.org",
        "--dataset", "x", "--level", "record", **DEMO,
    )  # fmt: skip
    assert unknown.returncode != 0
    assert "There is no user with the email address nobody@example.org" in unknown.stderr


def test_users_commands_create_suspend_and_refuse_bad_input(home: Path) -> None:
    bad_org = try_safestats(
        home, "users", "create", "--email", "x@camden.gov.uk", "--name", "X",
        "--organisation", "Nowhere", "--role", "analyst", "--purpose", "p", **DEMO,
    )  # fmt: skip
    assert bad_org.returncode != 0
    assert "There is no organisation called 'Nowhere'" in bad_org.stderr

    created = run_safestats(
        home, "users", "create", "--email", "New.Person@camden.gov.uk", "--name", "New Person",
        "--organisation", "Camden Community Safety Partnership", "--role", "analyst",
        "--purpose", "Tasking", "--password-env", "NEW_PASSWORD",
        NEW_PASSWORD="a long passphrase here", **DEMO,
    )  # fmt: skip
    assert created.stdout.startswith("Created new.person@camden.gov.uk (Analyst, Camden")

    weak = try_safestats(
        home, "users", "create", "--email", "weak@camden.gov.uk", "--name", "Weak",
        "--organisation", "Camden Community Safety Partnership", "--role", "analyst",
        "--purpose", "Tasking", "--password-env", "WEAK", WEAK="password1234", **DEMO,
    )  # fmt: skip
    assert weak.returncode != 0 and "too common" in weak.stderr

    no_reason = try_safestats(home, "users", "suspend", "new.person@camden.gov.uk", **DEMO)
    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr
    suspended = run_safestats(
        home, "users", "suspend", "new.person@camden.gov.uk", "--reason", "Left", **DEMO
    )
    assert "Suspended new.person@camden.gov.uk" in suspended.stdout
    again = try_safestats(
        home, "users", "suspend", "new.person@camden.gov.uk", "--reason", "x", **DEMO
    )
    assert again.returncode != 0 and "The account is already suspended." in again.stderr
    check = try_safestats(
        home, "access", "check", "--user", "new.person@camden.gov.uk",
        "--dataset", "mps-recorded-crime", "--level", "aggregate", **DEMO,
    )  # fmt: skip
    assert check.returncode == 1 and "Your account is suspended" in check.stdout

    export = run_safestats(home, "audit", "export", "--event", "user.", **DEMO).stdout
    assert "user.created" in export and "user.suspended" in export
    assert ",system,operator," in export
