"""`.env.example` lists every variable SafeStats reads from the environment."""

from __future__ import annotations

import re

from tests.conftest import REPO

READ = re.compile(
    r"""(?:env\.get|environ\.get|_flag|_list|_secret)\(\s*["']((?:SAFESTATS_[A-Z_]+)|DATABASE_URL)["']"""
)
DOCUMENTED = re.compile(r"^((?:SAFESTATS_[A-Z_]+)|DATABASE_URL)=", re.MULTILINE)


def test_every_variable_read_is_documented() -> None:
    sources = [*REPO.joinpath("config").rglob("*.py"), *REPO.joinpath("safestats").rglob("*.py")]
    read = {name for path in sources for name in READ.findall(path.read_text())}
    documented = set(DOCUMENTED.findall(REPO.joinpath(".env.example").read_text()))
    assert {"SAFESTATS_SECRET_KEY", "SAFESTATS_HOME", "DATABASE_URL", "SAFESTATS_BIND"} <= read
    assert read - documented == set()
