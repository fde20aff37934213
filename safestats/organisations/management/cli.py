"""What the ``organisations`` and ``agreements`` commands share: finding what an argument
names, and turning form errors and domain errors into one clear line each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from django import forms
from django.core.management.base import CommandError
from django.utils import timezone

from safestats.organisations import selectors
from safestats.organisations.errors import OrganisationsError
from safestats.organisations.models import DataSharingAgreement, Organisation


def form_error(form: forms.BaseForm, options: Mapping[str, str]) -> CommandError:
    """Every error of a form, each prefixed with the command-line option it came from."""
    lines = []
    for field, errors in form.errors.items():
        where = options.get(field, "")
        for message in errors:
            lines.append(f"{where}: {message}" if where else str(message))
    return CommandError("\n".join(lines))


@contextmanager
def domain_errors() -> Iterator[None]:
    """A rule the services refuse with becomes a CommandError (exit status 1)."""
    try:
        yield
    except OrganisationsError as exc:
        raise CommandError(exc.message) from exc


def organisation(name_or_id: str) -> Organisation:
    found = selectors.find_organisation(name_or_id)
    if found is None:
        raise CommandError(
            f"There is no organisation called or numbered {name_or_id!r}. "
            "`safestats organisations list` shows them."
        )
    return found


def agreement(reference: str) -> DataSharingAgreement:
    found = selectors.agreement_by_reference(reference)
    if found is None:
        raise CommandError(
            f"There is no agreement {reference!r}. `safestats agreements list` shows them."
        )
    return found


def when(value: datetime | None) -> str:
    """An instant in London time, to the minute."""
    if value is None:
        return "-"
    return timezone.localtime(value).strftime("%d %b %Y %H:%M")


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
