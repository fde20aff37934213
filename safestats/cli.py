"""The ``safestats`` command: Django's management commands with SafeStats' settings.

``safestats demo`` defaults to demo mode and prepares the instance folder (with its
generated secrets) before settings are read; every other command uses the mode and
secrets from the environment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from safestats import instance


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "safestats"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    command = argv[1] if len(argv) > 1 else ""
    if command == "demo":
        os.environ.setdefault("SAFESTATS_MODE", "demo")
    mode = os.environ.get("SAFESTATS_MODE", "production").strip().lower()
    try:
        home = Path(os.environ.get("SAFESTATS_HOME", "./var")).expanduser().resolve()
        if command not in {"", "help", "--help", "-h", "--version"}:
            instance.prepare(home)
            if mode == "demo":
                instance.ensure_demo_secrets(home)
        from django.core.management import execute_from_command_line

        execute_from_command_line(argv)
    except instance.InstanceError as exc:
        sys.exit(f"safestats: {exc}")
    except BrokenPipeError:
        # The reader went away (e.g. `safestats users list | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as exc:  # a configuration error must read as one, not as a traceback
        from django.core.exceptions import ImproperlyConfigured

        if isinstance(exc, ImproperlyConfigured):
            sys.exit(f"safestats: configuration error: {exc}")
        raise


if __name__ == "__main__":
    main()
