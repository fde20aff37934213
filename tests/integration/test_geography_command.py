"""``safestats geography load`` and ``status`` run for real in a process of their own on a
fresh instance, with a synthetic folder: what they print, how they refuse, the audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_safestats, try_safestats
from tests.integration.geography_files import write_folder

pytestmark = pytest.mark.slow


def test_status_load_reload_and_refusal(tmp_path: Path, process_database: dict[str, str]) -> None:
    home = tmp_path / "instance"
    env = {"SAFESTATS_MODE": "demo", **process_database}
    run_safestats(home, "migrate", "--no-input", "-v", "0", **env)
    status = run_safestats(home, "geography", "status", **env).stdout
    assert "boroughs: 33 (boundaries absent)" in status
    assert "No geography folder has been loaded" in status

    folder = write_folder(tmp_path / "geography")
    loaded = run_safestats(home, "geography", "load", str(folder), **env).stdout
    assert "Loaded geography from" in loaded and "LSOAs 2021: 2" in loaded
    again = run_safestats(home, "geography", "load", str(folder), **env).stdout
    assert "already loaded (same files): nothing changed" in again
    status = run_safestats(home, "geography", "status", **env).stdout
    assert "boroughs: 33 (boundaries present)" in status
    assert "wards WD19: 1 (boundaries absent)" in status
    assert "london_lsoa_2021.geojson  sha256 " in status

    (folder / "lsoa2021_msoa2021_borough_london.csv").write_text("LSOA21CD,LADCD\n")
    refused = try_safestats(home, "geography", "load", str(folder), **env)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert (
        "Nothing was loaded. lsoa2021_msoa2021_borough_london.csv: header: lacks the column MSOA21CD"
        in refused.stderr
    )

    events = run_safestats(
        home, "shell", "-c",
        "from safestats.audit.models import AuditEvent as A; "
        "print([(e.event, e.actor_kind, e.actor_label) for e in A.objects.filter(event='geography.loaded')])",
        **env,
    ).stdout  # fmt: skip
    assert events.strip().splitlines()[-1] == "[('geography.loaded', 'system', 'operator')]"


def test_the_demo_loads_the_geography_folder_it_is_given_once(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    folder = write_folder(tmp_path / "geography")
    env = {"SAFESTATS_GEOGRAPHY_DIR": str(folder)}
    first = run_safestats(home, "demo", "--prepare-only", **env).stdout
    assert f"Geography loaded from {folder}: borough 33," in first
    again = run_safestats(home, "demo", "--prepare-only", **env).stdout
    assert f"Geography from {folder} is already loaded" in again
