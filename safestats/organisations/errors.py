"""The errors this app's services raise when a rule of the domain refuses a request.

Plain Python, so the engines can raise them too. The message is written for the person
who asked: the page, the API and the command line show it as it is. Pages map each class
to one HTTP status in one place.
"""

from __future__ import annotations


class OrganisationsError(Exception):
    """A request the domain refuses. ``field`` names the form field at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidValue(OrganisationsError):
    """A value is malformed (a domain name, a dataset id, a field name)."""


class Conflict(OrganisationsError):
    """The value is already taken (an organisation name, an email domain, a reference)."""


class TransitionNotAllowed(OrganisationsError):
    """The lifecycle has no such step, or a condition of the step is not met."""


class ApprovalRefused(TransitionNotAllowed):
    """Approval without a signed-off security audit checklist."""


class NotPermitted(OrganisationsError):
    """The actor may not do this (only platform administrators may)."""


class DocumentRefused(OrganisationsError):
    """An agreement document that is not a PDF, too large, missing or altered."""
