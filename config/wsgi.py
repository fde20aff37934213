"""WSGI entry point (``safestats serve`` runs it under gunicorn)."""

import os
from pathlib import Path

from django.core.wsgi import get_wsgi_application

from safestats import instance

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
instance.prepare(Path(os.environ.get("SAFESTATS_HOME", "./var")).expanduser().resolve())
application = get_wsgi_application()
