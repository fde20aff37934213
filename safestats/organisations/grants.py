"""What an agreement grants for one dataset, and which grant wins when several agreements
in force cover the same dataset.

Plain Python (no Django): the access policy and its tests use it directly. Access levels
and spatial precisions are ordered here, once; nothing else compares them by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

AGGREGATE = "aggregate"
RECORD = "record"
# From narrowest to widest: record-level access includes what aggregate access allows.
LEVELS: tuple[str, ...] = (AGGREGATE, RECORD)

POINT = "point"
SNAPPED_POINT = "snapped_point"
LSOA = "lsoa"
WARD = "ward"
BOROUGH = "borough"
# From finest to coarsest.
PRECISIONS: tuple[str, ...] = (POINT, SNAPPED_POINT, LSOA, WARD, BOROUGH)


def level_rank(level: str) -> int:
    """0 for aggregate, 1 for record; ValueError for anything else."""
    try:
        return LEVELS.index(level)
    except ValueError:
        raise ValueError(f"unknown access level {level!r}") from None


def precision_rank(precision: str) -> int:
    """0 for the finest (point) to 4 for the coarsest (borough); ValueError otherwise."""
    try:
        return PRECISIONS.index(precision)
    except ValueError:
        raise ValueError(f"unknown spatial precision {precision!r}") from None


def is_finer(a: str, b: str) -> bool:
    """True if precision ``a`` is strictly finer than ``b`` (point is finer than LSOA)."""
    return precision_rank(a) < precision_rank(b)


def coarsest(*precisions: str) -> str:
    """The coarsest of the precisions given: what output may show when several apply."""
    return max(precisions, key=precision_rank)


def precision_allows(granted: str, requested: str) -> bool:
    """Whether output at ``requested`` precision is allowed under ``granted``: it is when it
    is the same or coarser (a grant at LSOA allows ward and borough, never points)."""
    return precision_rank(requested) >= precision_rank(granted)


def level_allows(granted: str, requested: str) -> bool:
    """Record-level access allows aggregate output; aggregate access never allows records."""
    return level_rank(requested) <= level_rank(granted)


@dataclass(frozen=True)
class Grant:
    """One dataset as one agreement in force grants it."""

    agreement_id: int
    agreement_reference: str
    dataset_id: str
    level: str
    withheld_fields: tuple[str, ...]
    precision: str
    valid_to: datetime


def _preference(grant: Grant) -> tuple[int, int, int, float, int]:
    # Smaller sorts first: the widest level, then the finest precision, then the fewest
    # withheld fields; then the agreement that runs longest and, last, the lowest id, so
    # that the answer never depends on the order rows come back from the database.
    return (
        -level_rank(grant.level),
        precision_rank(grant.precision),
        len(grant.withheld_fields),
        -grant.valid_to.timestamp(),
        grant.agreement_id,
    )


def choose(candidates: Iterable[Grant]) -> Grant | None:
    """The most generous of several grants for one dataset, or None if there are none.

    One agreement's grant is chosen whole; grants are never merged, so every output can
    name the one agreement that allowed it.
    """
    return min(candidates, key=_preference, default=None)
