"""Helpers every service here shares."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from safestats.organisations.errors import Conflict, InvalidValue

_SPACES = re.compile(r"\s+")


def tidy(text: str) -> str:
    """One line of text as stored: trimmed, runs of white space made one space."""
    return _SPACES.sub(" ", text).strip()


def require_aware(value: datetime, what: str) -> datetime:
    if timezone.is_naive(value):
        raise InvalidValue(f"{what} must include a time zone.")
    return value


@contextmanager
def conflict_on_integrity_error(message: str, *, field: str) -> Iterator[None]:
    """Turn a unique constraint caught at the database (two writers racing past the check
    done in Python) into the same Conflict the check would have raised. The savepoint
    keeps the outer transaction usable on PostgreSQL."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        raise Conflict(message, field=field) from exc
