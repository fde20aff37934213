"""The instance folder: created without losing anything; demo secrets made once."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from safestats import instance


def test_prepare_creates_every_folder(tmp_path: Path) -> None:
    home = tmp_path / "nested" / "home"
    paths = instance.prepare(home)
    assert paths.home == home
    for folder in ("data", "raw", "reports", "agreements", "static", "mail", "tmp"):
        assert (home / folder).is_dir()
    assert paths.database == home / "db.sqlite3"


def test_prepare_twice_keeps_existing_files(tmp_path: Path) -> None:
    instance.prepare(tmp_path)
    kept = tmp_path / "raw" / "upload.csv"
    kept.write_text("a,b\n1,2\n")
    instance.prepare(tmp_path)
    assert kept.read_text() == "a,b\n1,2\n"


def test_prepare_explains_an_unusable_home(tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(instance.InstanceError, match="Cannot create the instance folder"):
        instance.prepare(blocker)


def test_demo_secrets_are_created_once_and_private(tmp_path: Path) -> None:
    assert instance.ensure_demo_secrets(tmp_path) is True
    path = tmp_path / instance.DEMO_SECRETS_FILE
    first = json.loads(path.read_text())
    assert instance.ensure_demo_secrets(tmp_path) is False
    assert json.loads(path.read_text()) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = instance.read_demo_secret(tmp_path, "SAFESTATS_SECRET_KEY")
    pseudo = instance.read_demo_secret(tmp_path, "SAFESTATS_PSEUDONYMISATION_KEY")
    assert key == first["SAFESTATS_SECRET_KEY"]
    assert len(key) >= 48 and len(pseudo) >= 48 and key != pseudo


def test_two_homes_get_different_secrets(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        instance.ensure_demo_secrets(tmp_path / name)
    a = instance.read_demo_secret(tmp_path / "a", "SAFESTATS_SECRET_KEY")
    b = instance.read_demo_secret(tmp_path / "b", "SAFESTATS_SECRET_KEY")
    assert a != b


def test_missing_demo_secrets_say_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(instance.InstanceError, match="Run `safestats demo`"):
        instance.read_demo_secret(tmp_path, "SAFESTATS_SECRET_KEY")
