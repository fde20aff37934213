"""The errors the catalogue's services raise when a rule refuses a request. The message is
written for the person who asked; pages and commands show it as it is."""

from __future__ import annotations


class CatalogueError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatasetExists(CatalogueError):
    """A dataset with this id is already in the catalogue."""


class StepNotAllowed(CatalogueError):
    """A version cannot take this step from the state it is in."""
