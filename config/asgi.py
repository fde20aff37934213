"""ASGI entry point, for servers that speak ASGI."""

import os
from pathlib import Path

from django.core.asgi import get_asgi_application

from safestats import instance

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
instance.prepare(Path(os.environ.get("SAFESTATS_HOME", "./var")).expanduser().resolve())
application = get_asgi_application()
