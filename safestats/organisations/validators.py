"""Checks and normal forms for the values organisations and agreements are keyed by: email
domains, dataset ids, field names and agreement references.

Plain Python (no Django). Each function returns the value in its stored form or raises
:class:`InvalidValue` with a message a person can act on; forms and services both call
them, so a value refused on a page is refused on the command line too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from safestats.organisations.errors import InvalidValue

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LEVEL = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
DATASET_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{1,63}$")

# Anyone can have an address at these, so none of them can identify an organisation.
PUBLIC_EMAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "btinternet.com",
        "gmail.com",
        "googlemail.com",
        "gmx.com",
        "hotmail.co.uk",
        "hotmail.com",
        "icloud.com",
        "live.co.uk",
        "live.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "sky.com",
        "virginmedia.com",
        "yahoo.co.uk",
        "yahoo.com",
    }
)


def normalise_domain(value: str) -> str:
    """An email domain as stored: trimmed, lower case, ASCII (IDNA), no trailing dot."""
    domain = value.strip().lower().rstrip(".")
    if not domain:
        raise InvalidValue("Enter an email domain, like camden.gov.uk.")
    if "@" in domain or "/" in domain or ":" in domain:
        raise InvalidValue(
            f"Enter the email domain only, like camden.gov.uk, without a name, @ or https:// "
            f"(got {value.strip()!r})."
        )
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidValue(f"{value.strip()!r} is not a valid domain name.") from None
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not _TOP_LEVEL.match(labels[-1])
    ):
        raise InvalidValue(
            f"{value.strip()!r} is not a valid domain name. Enter a domain like camden.gov.uk."
        )
    if domain in PUBLIC_EMAIL_DOMAINS:
        raise InvalidValue(
            f"{domain} is a public email service. Enter a domain that only your "
            "organisation's staff have addresses at."
        )
    return domain


def email_domain(email: str) -> str | None:
    """The domain of an email address in stored form, or None if it has none."""
    _, at, domain = email.strip().rpartition("@")
    if not at or not domain:
        return None
    try:
        return normalise_domain(domain)
    except InvalidValue:
        return None


def normalise_dataset_id(value: str) -> str:
    dataset_id = value.strip()
    if not DATASET_ID.match(dataset_id):
        raise InvalidValue(
            "Enter a dataset id of 2 to 64 lower-case letters, digits and hyphens, starting "
            f"with a letter or digit, like mps-recorded-crime (got {value.strip()!r})."
        )
    return dataset_id


def normalise_field_names(values: Iterable[str]) -> list[str]:
    """Withheld field names: snake_case, each once, sorted (so a change is visible)."""
    names: set[str] = set()
    for value in values:
        name = value.strip()
        if not name:
            continue
        if not FIELD_NAME.match(name):
            raise InvalidValue(
                f"{name!r} is not a field name. Field names are lower case with underscores, "
                "like date_of_birth."
            )
        names.add(name)
    return sorted(names)


def normalise_reference(value: str) -> str:
    reference = value.strip()
    if not REFERENCE.match(reference):
        raise InvalidValue(
            "Enter an agreement reference of 2 to 64 letters, digits, slashes, dots, hyphens "
            f"or underscores, like DSA-2025-014 (got {value.strip()!r})."
        )
    return reference
