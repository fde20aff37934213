"""Settings for the test suite: the project's settings in test mode, in a throw-away home.

The database is the SQLite default, or whatever DATABASE_URL names (CI sets it to the
local PostgreSQL server for the second run of the suite).
"""

import os
import tempfile
from pathlib import Path

from safestats import instance

os.environ["SAFESTATS_MODE"] = "test"
os.environ.setdefault("SAFESTATS_HOME", tempfile.mkdtemp(prefix="safestats-test-home-"))
instance.prepare(Path(os.environ["SAFESTATS_HOME"]))

from config.settings import *  # noqa: E402, F403

# Background jobs run at once, inside the request that queues them, so a test sees a load
# finished when the upload page answers (django-tasks' own synchronous backend).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
