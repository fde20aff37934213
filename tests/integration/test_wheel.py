"""A built wheel carries the built front-end assets, so installing it needs no Node.js."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_wheel_contains_the_built_assets_and_templates(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("safestats-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "safestats/web/static/web/dist/application.css",
        "safestats/web/static/web/dist/application.mjs",
        "safestats/web/static/web/dist/govuk-frontend.min.js",
        "safestats/web/static/web/dist/js-enabled.js",
        "safestats/web/static/web/dist/images/govuk-crest.svg",
        "safestats/web/templates/base.html",
        "safestats/web/templates/web/start.html",
        "safestats/accounts/migrations/0001_initial.py",
        "safestats/catalogue/specs/police-uk-street.yaml",
        "safestats/catalogue/specs/dataset-spec.schema.json",
        "safestats/catalogue/templates/catalogue/dataset.html",
        "config/settings.py",
    ):
        assert expected in names, expected
    assert not any(name.startswith(("tests/", "node_modules/", "var/")) for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "safestats = safestats.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
