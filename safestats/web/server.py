"""Serving SafeStats with gunicorn, from inside the ``safestats`` command.

The WSGI application is loaded once in the gunicorn master (``preload_app``) so that a
broken configuration fails before any worker starts; database connections opened while
loading are closed before the workers fork.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections
from gunicorn.app.base import BaseApplication


class SafeStatsServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.application: WSGIHandler = get_wsgi_application()
        connections.close_all()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self) -> WSGIHandler:
        return self.application


def serve(*, bind: str, workers: int, threads: int, access_log: bool = True) -> None:
    """Run until interrupted (Ctrl+C or SIGTERM stop it gracefully)."""
    SafeStatsServer(
        {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "preload_app": True,
            "timeout": 120,
            "graceful_timeout": 20,
            "accesslog": "-" if access_log else None,
            "errorlog": "-",
            # Proxies' X-Forwarded-* headers are trusted only when SAFESTATS_BEHIND_PROXY
            # is set (see settings); gunicorn itself trusts none.
            "forwarded_allow_ips": "",
            "proc_name": "safestats",
            # gunicorn's control socket defaults to one path per user, which two instances
            # on one machine would share; SafeStats does not use it.
            "control_socket_disable": True,
        }
    ).run()


def start_worker() -> subprocess.Popen[bytes]:
    """``safestats worker`` beside the web server, for a demo: one process, the same
    instance (its environment), stopped with the server."""
    return subprocess.Popen([sys.executable, "-m", "safestats.cli", "worker"], env=dict(os.environ))


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
