"""Disclosure control applied to every query output: what of a table of counts (or of sums of
a public measure) may be shown, under the dataset's rule.

Plain typed Python (numpy and scipy, no Django). The query engine computes a dense table of
counts, zeros included, with one to three dimensions (up to two group-by fields and an
optional time dimension), and calls :func:`protect` with the dataset's rule; the result says
which cells and which totals may be shown, with what values, and the rules in words for the
output's header.

The rules (see :mod:`safestats.catalogue.spec`):

- :class:`NoControl`: public data, shown as it is.
- :class:`Rounding`: every count and every total rounded to the nearest base, each on its
  own.
- :class:`Threshold`: counts and totals from 1 to k-1 are suppressed (primary suppression);
  then further cells are suppressed (secondary suppression) so that no suppressed count can be
  worked out from the cells and totals shown; optionally every shown value is rounded.
- :class:`CellKey`: each count and total is perturbed by a bounded, unbiased amount chosen
  by its cell key, the wrapping sum of the random keys of the records it counts, so the same
  records always get the same noise; optionally small results are suppressed.

**The table with its totals.** A table of shape ``(n0, n1, ...)`` is handled as its
*extended* table of shape ``(n0 + 1, n1 + 1, ...)``, where index ``n_a`` on axis ``a`` is the
total over that axis: entry ``[i, n1]`` is the total of row ``i``, ``[n0, n1]`` the grand
total. Every *line* of the extended table (all entries along one axis, the others fixed) says
that its first ``n_a`` entries add up to its last. The entries whose total indices are exactly
the axes ``A`` form the *level* ``A``: the table summed over ``A``, which another query (one
that does not group by those axes) shows as its own table.

**Secondary suppression** works level by level, from the grand total down to the cells, and
at each level only suppresses entries of that level, taking the levels above as settled. So
the totals in this output are suppressed exactly as the query that shows them as its cells
would suppress them, and an analyst who asks for both learns nothing from one that the other
hides. At each level:

1. *Line rule* (every size): in each line with a suppressed entry, at least two entries are
   suppressed; when the line's total is shown, the suppressed entries add up to at least k,
   so each can lie anywhere from 0 to their known sum. A line short of that gets the cell
   that also helps the most other short lines, then the smallest cell that makes the sum
   enough (else the largest), then the first. Repeated until nothing changes.
2. *Audit* (levels of two or more dimensions with at most :data:`LP_AUDIT_LIMIT` entries):
   each primary entry must range over at least k among all non-negative tables that agree
   with everything shown. Linear programmes (HiGHS) find such tables: first a few that push
   all the primary entries up, then down, which settle most of them at once; then, for any
   entry not yet seen k apart, its own largest and smallest value. Where the range is
   narrower than k, a repair programme finds two tables, agreeing with the truth on every
   entry left shown, whose values of that entry are k apart, changing as little shown as it
   can, and what they change is suppressed. Adding a suppression only widens every range, so
   one pass over the primary entries is enough. Zeros are suppressed only when nothing else
   can do it (``[[3, 10], [10, 0]]`` with its totals known gives 3 = 13 - (10 - 0)), and
   totals above the level only when even that fails (which happens in three dimensions: the
   2-D totals of a 2 x 2 x 2 table leave one degree of freedom); the rules say so when either
   happens.

   A level with one dimension needs no audit: there the line rule is exact. Larger levels
   (for example LSOA x month) rely on the line rule alone, which prevents most but not all
   recovery: see :data:`LP_AUDIT_LIMIT`.

Deterministic: the same table and rule always give the same output.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Final, TypeVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from safestats.catalogue.spec import CellKey, NoControl, Rounding, Threshold

Rule = NoControl | Threshold | Rounding | CellKey
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Keys = NDArray[np.uint64]
Number = TypeVar("Number", bound=np.generic)

SUPPRESSED: Final = "[c]"
"""The GSS symbol shown in place of a suppressed value."""

LP_AUDIT_LIMIT: Final = 2000
"""The largest level (entries of the extended table, totals included) audited by linear
programming. The audit's cost grows with the number of suppressed entries and how they are
linked: a few hundredths of a second for most tables, up to about two seconds for a sparse
11 x 11 x 11 table (1,728 entries). Larger levels, such as LSOA x month (5,000 x 24) or the
cells of borough x month x category (33 x 24 x 14), are protected by the line rule alone.
It guarantees that every line through a suppressed cell hides at least two cells adding up
to at least k, but combining several lines can still narrow a suppressed cell (in simulated
tables of those shapes, at most 1 in 300 primary cells ranged over less than k, and none was
worked out exactly). Their totals, being smaller levels, are audited."""

MAX_DIMENSIONS: Final = 3

# Costs per unit of change of a shown entry in the repair programme: cells of the level
# first, then zeros of the level, then (only when nothing else works) totals above it.
_COST_CELL: Final = 1.0
_COST_ZERO: Final = 1e3
_COST_TOTAL: Final = 1e6
_TOLERANCE: Final = 1e-6


@dataclass(frozen=True)
class Protected:
    """A table after disclosure control: what may be shown, and the rules in words.

    ``values`` has the shape of the counts: what may be shown, as floats, with NaN where a
    value is suppressed (never the true value, so a renderer that forgot ``suppressed``
    shows "nan" rather than a small count). ``suppressed`` marks what is shown as
    :data:`SUPPRESSED`; ``primary`` what is suppressed because it is small itself (the rest
    is suppressed to protect it). ``totals`` maps each set of axes summed over, in
    increasing order (``(0,)``, ``(1,)``, ``(0, 1)`` for a 2-D table), to ``(values,
    suppressed)`` of those totals, shaped as ``counts.sum(axis=axes)``. ``rules`` says in
    words what was done, for the output's header.
    """

    values: Floats
    suppressed: Bools
    primary: Bools
    totals: dict[tuple[int, ...], tuple[Floats, Bools]]
    rules: list[str]


def protect(
    counts: NDArray[np.generic],
    rule: Rule,
    *,
    cell_keys: NDArray[np.generic] | None = None,
    measure: bool = False,
) -> Protected:
    """Apply ``rule`` to ``counts`` and to all its totals.

    ``counts`` is a dense array of one to three dimensions: non-negative integers, one per
    combination of the group-by values (zeros included), or, with ``measure=True``, sums of
    a measure column of a public aggregated dataset (any real numbers; only
    :class:`NoControl` and :class:`Rounding` apply to those). ``cell_keys`` is needed for
    :class:`CellKey`: for each cell, the sum modulo 2**64 of the keys of the records it
    counts (uint64, or int64 read as its bits). Raises ValueError for anything else.
    """
    table = _checked_table(counts, measure)
    if measure and not isinstance(rule, NoControl | Rounding):
        raise ValueError(
            f"sums of a measure can only be shown as published or rounded, not under a "
            f"{rule.method} rule"
        )
    if isinstance(rule, NoControl):
        return _no_control(table, rule)
    if isinstance(rule, Rounding):
        return _rounding(table, rule, measure)
    if isinstance(rule, Threshold):
        return _threshold(np.asarray(table, dtype=np.int64), rule)
    keys = _checked_keys(cell_keys, table.shape)
    return _cell_key(np.asarray(table, dtype=np.int64), rule, keys)


# ---------------------------------------------------------------------------- the table


def _checked_table(counts: NDArray[np.generic], measure: bool) -> NDArray[np.generic]:
    if not isinstance(counts, np.ndarray):
        raise ValueError("counts must be a numpy array")
    if not 1 <= counts.ndim <= MAX_DIMENSIONS:
        raise ValueError(f"counts must have 1 to {MAX_DIMENSIONS} dimensions, not {counts.ndim}")
    kind = counts.dtype.kind
    if measure:
        if kind not in "iuf":
            raise ValueError(f"measure sums must be numbers, not {counts.dtype}")
        if kind == "f" and not np.isfinite(counts).all():
            raise ValueError("measure sums must be finite numbers")
        return counts
    if kind not in "iu":
        raise ValueError(f"counts must be integers, not {counts.dtype}")
    if counts.size and counts.min() < 0:
        raise ValueError("counts must not be negative")
    return counts


def _checked_keys(cell_keys: NDArray[np.generic] | None, shape: tuple[int, ...]) -> Keys:
    if cell_keys is None:
        raise ValueError("the cell-key rule needs the cell keys of the table")
    if not isinstance(cell_keys, np.ndarray) or cell_keys.shape != shape:
        raise ValueError(f"cell keys must be an array of the table's shape {shape}")
    if cell_keys.dtype in (np.uint64, np.int64):
        return np.ascontiguousarray(cell_keys).view(np.uint64)
    raise ValueError(f"cell keys must be uint64 (or int64), not {cell_keys.dtype}")


def extend(table: NDArray[Number]) -> NDArray[Number]:
    """The table with its totals: one more entry on every axis, the sum along that axis
    (for uint64 cell keys, the sum modulo 2**64, as numpy's integer sums wrap)."""
    extended = table
    for axis in range(table.ndim):
        extended = np.concatenate(
            [extended, extended.sum(axis=axis, keepdims=True, dtype=table.dtype)], axis=axis
        )
    return extended


def margin_axes(ndim: int) -> list[tuple[int, ...]]:
    """Every set of axes a total sums over, fewest first: (0,), (1,), (0, 1) for 2-D."""
    return [
        axes for size in range(1, ndim + 1) for axes in itertools.combinations(range(ndim), size)
    ]


def _level_index(shape: tuple[int, ...], axes: Sequence[int]) -> tuple[int | slice, ...]:
    """Index of the extended table giving the totals over ``axes`` (the cells for none)."""
    return tuple(n if axis in axes else slice(0, n) for axis, n in enumerate(shape))


def _split(
    shape: tuple[int, ...], values: Floats, suppressed: Bools, primary: Bools
) -> tuple[Floats, Bools, Bools, dict[tuple[int, ...], tuple[Floats, Bools]]]:
    """Cells and totals of extended arrays, with NaN where a value is suppressed."""
    shown = np.where(suppressed, np.nan, values)
    cells = _level_index(shape, ())
    totals = {}
    for axes in margin_axes(len(shape)):
        index = _level_index(shape, axes)
        totals[axes] = (np.array(shown[index]), np.array(suppressed[index]))
    return np.array(shown[cells]), np.array(suppressed[cells]), np.array(primary[cells]), totals


def _plural(low: int, high: int) -> str:
    return f"of {low}" if low == high else f"from {low} to {high}"


# ------------------------------------------------------------------ no control, rounding


def _no_control(table: NDArray[np.generic], rule: NoControl) -> Protected:
    extended = extend(table).astype(np.float64)
    none = np.zeros(extended.shape, dtype=np.bool_)
    values, suppressed, primary, totals = _split(table.shape, extended, none, none)
    return Protected(
        values,
        suppressed,
        primary,
        totals,
        [
            "No disclosure control: this data is already published openly "
            f"({rule.public_source}), and is shown as published."
        ],
    )


def round_to(values: NDArray[np.generic], base: int) -> Floats:
    """``values`` rounded to the nearest multiple of ``base``, halves away from zero (for
    counts: 0 stays 0 and, with base 5, 1-2 give 0, 3-7 give 5)."""
    as_float = np.asarray(values, dtype=np.float64)
    return np.sign(as_float) * np.floor(np.abs(as_float) / base + 0.5) * base


def _rounding_rule(base: int, measure: bool) -> str:
    what = "value and total" if measure else "count and total"
    words = (
        f"Every {what} shown is rounded to the nearest {base}, each on its own, so a total "
        f"may differ from the sum of the rounded {'values' if measure else 'counts'}"
    )
    if not measure and base > 2:
        words += f"; counts {_plural(1, (base - 1) // 2)} are shown as 0"
    return words + "."


def _rounding(table: NDArray[np.generic], rule: Rounding, measure: bool) -> Protected:
    rounded = round_to(extend(table), rule.base)
    none = np.zeros(rounded.shape, dtype=np.bool_)
    values, suppressed, primary, totals = _split(table.shape, rounded, none, none)
    return Protected(values, suppressed, primary, totals, [_rounding_rule(rule.base, measure)])


# ------------------------------------------------------------------------------ threshold


@dataclass
class Report:
    """What secondary suppression had to do beyond the usual, for the rules text."""

    zeros: bool = False
    totals: bool = False


def _threshold(table: Ints, rule: Threshold) -> Protected:
    k = rule.k
    extended = extend(table)
    primary = (extended >= 1) & (extended < k)
    suppressed = primary.copy()
    report = Report()
    if rule.secondary_suppression:
        secondary_suppression(extended, suppressed, k, report)
    shown = extended.astype(np.float64)
    if rule.rounding_base:
        shown = round_to(extended, rule.rounding_base)
    values, cells_suppressed, cells_primary, totals = _split(
        table.shape, shown, suppressed, primary
    )
    words = [
        f"Counts and totals {_plural(1, k - 1)} are suppressed and shown as {SUPPRESSED}; "
        "zero is shown as 0."
    ]
    if rule.secondary_suppression:
        words.append(
            f"Further counts are suppressed, also shown as {SUPPRESSED}, so that no "
            "suppressed count can be worked out from the counts and totals that are shown."
        )
        if report.zeros:
            words.append(
                f"Some zeros had to be suppressed for that too, so here {SUPPRESSED} may "
                "stand for 0."
            )
        if report.totals:
            words.append("Some totals had to be suppressed for that too.")
    else:
        words.append(
            "No further counts are suppressed, so a suppressed count may be worked out "
            "from the totals."
        )
    if rule.rounding_base:
        words.append(_rounding_rule(rule.rounding_base, measure=False))
    return Protected(values, cells_suppressed, cells_primary, totals, words)


def levels(ndim: int) -> list[tuple[int, ...]]:
    """The levels of an extended table in the order they are protected: the grand total
    first, the cells (no axes summed) last."""
    return [*sorted(margin_axes(ndim), key=lambda axes: (-len(axes), axes)), ()]


def secondary_suppression(extended: Ints, suppressed: Bools, k: int, report: Report) -> None:
    """Add to ``suppressed`` (primary suppressions of the extended table) the entries that
    must also be hidden so that no primary one can be narrowed below a range of k."""
    shape = tuple(n - 1 for n in extended.shape)
    for axes in levels(extended.ndim):
        # The level and the totals above it: an extended table of its own (a view).
        index = tuple(shape[axis] if axis in axes else slice(None) for axis in range(len(shape)))
        values, hidden = extended[index], suppressed[index]
        if values.ndim == 0:
            continue
        _line_rule(values, hidden, k)
        if values.ndim >= 2 and values.size <= LP_AUDIT_LIMIT:
            _Audit(values, hidden, k, report).run()


def _interior(shape: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(0, n - 1) for n in shape)


def _line_rule(values: Ints, hidden: Bools, k: int) -> None:
    """Make every line with a suppressed entry hide at least two, adding up to at least k
    when its total is shown; only cells (not totals) are added. In place, to a fixed point."""
    ndim = values.ndim
    cells = _interior(values.shape)
    cell_values = values[cells]
    nonzero = cell_values > 0
    top = (1 << 40) - 1
    capped = np.minimum(cell_values, top)
    changed = True
    while changed:
        changed = False
        for axis in range(ndim):
            short = [_short_lines(values, hidden, k, a) for a in range(ndim)]
            need, deficit = short[axis]
            if not need.any():
                continue
            # How many short lines along the other axes pass through each cell.
            helps = np.zeros(cell_values.shape, dtype=np.int64)
            for other in range(ndim):
                if other != axis:
                    helps += short[other][0]
            open_ = nonzero & ~hidden[cells]
            enough = cell_values >= deficit
            order = np.where(enough, top - capped, capped)
            score = np.where(open_, (helps * 2 + enough) * (top + 1) + order, -1)
            # Lines along ``axis``: move it last; the best cell of each line.
            lines = np.moveaxis(score, axis, -1)
            best = lines.argmax(axis=-1)[..., None]
            chosen = np.moveaxis(need, axis, -1) & (np.take_along_axis(lines, best, -1) >= 0)
            if not chosen.any():
                continue
            add = np.zeros(lines.shape, dtype=np.bool_)
            np.put_along_axis(add, best, chosen, -1)
            hidden[cells] |= np.moveaxis(add, -1, axis)
            changed = True


def _short_lines(values: Ints, hidden: Bools, k: int, axis: int) -> tuple[Bools, Ints]:
    """For the lines along ``axis`` through the cells: which break the line rule, and how
    much their suppressed cells fall short of k; shaped like the cells, with 1 on ``axis``."""
    n = values.shape[axis] - 1
    others = tuple(
        slice(None) if a == axis else slice(0, values.shape[a] - 1) for a in range(values.ndim)
    )
    line_values, line_hidden = values[others], hidden[others]
    cells = tuple(slice(0, n) if a == axis else slice(None) for a in range(values.ndim))
    total_index = tuple(slice(n, n + 1) if a == axis else slice(None) for a in range(values.ndim))
    count = line_hidden[cells].sum(axis=axis, keepdims=True)
    total = np.where(line_hidden[cells], line_values[cells], 0).sum(axis=axis, keepdims=True)
    total_hidden = line_hidden[total_index]
    short_of_k = np.maximum(k - total, 0)
    # A line with a suppressed total needs one suppressed cell, of any size; one with a
    # shown total, none or at least two adding up to k.
    need = np.where(total_hidden, count == 0, (count >= 1) & ((count < 2) | (short_of_k > 0)))
    deficit = np.where(total_hidden, 0, short_of_k)
    return need, deficit


def line_matrix(shape: tuple[int, ...]) -> sp.csc_array:
    """The lines of an extended table of ``shape`` as linear equations over its entries
    (flattened in C order): one row per line, +1 for its cells and -1 for its total."""
    size = int(np.prod(shape))
    index = np.arange(size).reshape(shape)
    rows, columns, signs = [], [], []
    start = 0
    for axis, n in enumerate(shape):
        lines = np.moveaxis(index, axis, -1).reshape(-1, n)
        count = lines.shape[0]
        rows.append(np.repeat(np.arange(start, start + count), n))
        columns.append(lines.ravel())
        sign = np.ones(n)
        sign[-1] = -1.0
        signs.append(np.tile(sign, count))
        start += count
    return sp.csc_array(
        (np.concatenate(signs), (np.concatenate(rows), np.concatenate(columns))),
        shape=(start, size),
    )


class _Audit:
    """The linear-programming audit and repair of one level with the totals above it (an
    extended table of two or three dimensions, whose cells are the level).

    Every table found on the way that agrees with everything shown is remembered, as the
    smallest and largest value it gave each entry: a primary entry whose remembered values
    are already k apart is protected without a programme of its own. A few programmes
    pushing all the primary entries up, then down, usually settle most of them at once."""

    def __init__(self, values: Ints, hidden: Bools, k: int, report: Report) -> None:
        self.view = hidden
        self.k = k
        self.report = report
        self.values = values.ravel().astype(np.float64)
        self.hidden = hidden.ravel().copy()
        self.lines = line_matrix(values.shape)
        cells = np.zeros(values.shape, dtype=np.bool_)
        cells[_interior(values.shape)] = True
        self.cells = cells.ravel()
        self.primary = np.flatnonzero((self.values >= 1) & (self.values < k))
        self.low = self.values.copy()
        self.high = self.values.copy()
        # A bound on every entry for the pushing programmes (the truth is well inside it).
        self.cap = 2 * float(self.values.max(initial=0)) + k
        self._components: tuple[NDArray[np.intp], NDArray[np.int32]] | None = None

    def run(self) -> None:
        k = self.k - _TOLERANCE
        pending = self.primary
        while pending.size:
            before = pending.size
            for sign in (1.0, -1.0):
                self.push(pending, sign)
            pending = pending[self.high[pending] - self.low[pending] < k]
            if pending.size > 0.9 * before:
                break
        for entry in map(int, self.primary):
            for _ in range(10):
                if self.high[entry] - self.low[entry] >= k or self.wide(entry):
                    break
                self.repair(entry)
            else:  # pragma: no cover - the repair always opens the range
                raise RuntimeError("secondary suppression could not protect a small count")
        self.view[...] = self.hidden.reshape(self.view.shape)

    def seen(self, table: Floats) -> None:
        """Remember a table that agrees with everything shown."""
        np.minimum(self.low, table, out=self.low)
        np.maximum(self.high, table, out=self.high)

    def push(self, entries: NDArray[np.intp], sign: float) -> None:
        """Find (and remember) a table agreeing with everything shown that takes as many of
        ``entries`` as it can up to k above the smallest value seen (sign 1), or down to k
        below the largest (sign -1): the gain of each is capped there, so the programme
        spreads the change over all of them rather than piling it on a few."""
        hidden = np.flatnonzero(self.hidden)
        known = np.where(self.hidden, 0.0, self.values)
        count = len(entries)
        # Variables: the suppressed entries, then one gain z per entry, with
        # z <= sign * x and z <= sign * (the target), maximising the sum of the gains.
        target = self.low[entries] + self.k if sign > 0 else -(self.high[entries] - self.k)
        a_ub = sp.hstack(
            [
                sp.csr_array(
                    (np.full(count, -sign), (np.arange(count), np.searchsorted(hidden, entries))),
                    shape=(count, len(hidden)),
                ),
                sp.eye_array(count, format="csr"),
            ]
        )
        a_eq = sp.hstack([self.lines[:, hidden], sp.csc_array((self.lines.shape[0], count))])
        bounds = [(0.0, self.cap)] * len(hidden) + [(None, float(t)) for t in target]
        result = linprog(
            np.concatenate([np.zeros(len(hidden)), -np.ones(count)]),
            A_ub=a_ub,
            b_ub=np.zeros(count),
            A_eq=a_eq,
            b_eq=-(self.lines @ known),
            bounds=bounds,
            method="highs",
        )
        if result.status == 0:
            table = self.values.copy()
            table[hidden] = result.x[: len(hidden)]
            self.seen(table)

    def components(self) -> tuple[NDArray[np.intp], NDArray[np.int32]]:
        """The suppressed entries, and for each a label of the group of suppressed entries
        linked to it through lines (the ranges of one group do not depend on the others)."""
        if self._components is None:
            hidden = np.flatnonzero(self.hidden)
            pattern = (self.lines[:, hidden] != 0).astype(np.int8)
            _, labels = connected_components(pattern.T @ pattern, directed=False)
            self._components = hidden, labels
        return self._components

    def wide(self, entry: int) -> bool:
        """Whether a suppressed entry ranges over at least k among all non-negative tables
        agreeing with everything shown: its largest value, then if need be its smallest,
        each from a linear programme over the entries linked to it (remembering the
        tables found)."""
        hidden, labels = self.components()
        group = hidden[labels == labels[np.searchsorted(hidden, entry)]]
        known = np.where(self.hidden, 0.0, self.values)
        block = self.lines[:, group]
        rows = np.flatnonzero(abs(block) @ np.ones(len(group)))
        a_eq, b_eq = block[rows], -(self.lines @ known)[rows]
        objective = np.zeros(len(group))
        objective[np.searchsorted(group, entry)] = 1.0
        for sign in (-1.0, 1.0):
            result = linprog(sign * objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
            if result.status == 3:  # unbounded above
                return True
            if result.status != 0:  # pragma: no cover - the truth is a solution
                raise RuntimeError(f"audit programme failed: {result.message}")
            table = self.values.copy()
            table[group] = result.x
            self.seen(table)
            if self.high[entry] - self.low[entry] >= self.k - _TOLERANCE:
                return True
        return False

    def repair(self, entry: int) -> None:
        """Suppress the cheapest shown entries that let ``entry`` range over k: find two
        tables, each agreeing with the truth on every entry left shown, whose values of
        ``entry`` are k apart, changing as little shown as possible (cells cost 1 a unit,
        zeros 1,000, totals above the level 1,000,000), and suppress what they change."""
        hidden = np.flatnonzero(self.hidden)
        shown = np.flatnonzero(~self.hidden)
        cost = np.where(
            self.cells[shown],
            np.where(self.values[shown] > 0, _COST_CELL, _COST_ZERO),
            _COST_TOTAL,
        )
        # Each table: [suppressed entries, increases of shown ones, decreases of shown ones].
        block = sp.hstack([self.lines[:, hidden], self.lines[:, shown], -self.lines[:, shown]])
        b_eq = -(self.lines @ np.where(self.hidden, 0.0, self.values))
        width = block.shape[1]
        where = int(np.searchsorted(hidden, entry))
        upper = np.concatenate([np.full(len(hidden) + len(shown), np.inf), self.values[shown]])
        result = linprog(
            np.tile(np.concatenate([np.zeros(len(hidden)), cost, cost]), 2),
            # The entry in the first table at least k above its value in the second.
            A_ub=sp.csr_array(([-1.0, 1.0], ([0, 0], [where, width + where])), (1, 2 * width)),
            b_ub=[-float(self.k)],
            A_eq=sp.block_diag([block, block], format="csc"),
            b_eq=np.tile(b_eq, 2),
            bounds=np.column_stack([np.zeros(2 * width), np.tile(upper, 2)]),
            method="highs",
        )
        if result.status != 0:  # pragma: no cover - raising every total is always feasible
            raise RuntimeError(f"repair programme failed: {result.message}")
        moved = np.zeros(len(self.values), dtype=np.bool_)
        tables = []
        for copy in result.x.reshape(2, width):
            change = copy[len(hidden) : len(hidden) + len(shown)] - copy[len(hidden) + len(shown) :]
            moved[shown] |= np.abs(change) > 1e-9
            table = self.values.copy()
            table[hidden] = copy[: len(hidden)]
            table[shown] += change
            tables.append(table)
        if not moved.any():  # pragma: no cover - the range was narrower than k
            raise RuntimeError("repair programme changed nothing")
        self.report.zeros |= bool((moved & (self.values == 0)).any())
        self.report.totals |= bool((moved & ~self.cells).any())
        self.hidden |= moved
        self._components = None
        for table in tables:
            self.seen(table)


# ------------------------------------------------------------------------------- cell key


@cache
def p_table(max_noise: int) -> tuple[tuple[Fraction, ...], ...]:
    """The perturbation table of the cell-key rule: row ``r`` (for counts ``c`` with
    ``min(c, max_noise) == r``; row 0 is unused) gives the probability of each noise from
    ``-max_noise`` to ``+max_noise``, as exact fractions.

    For counts of at least ``D = max_noise`` the noise is triangular: ``P(n)`` is
    proportional to ``D + 1 - |n|`` (for D = 2: 1/9, 2/9, 3/9, 2/9, 1/9), with variance
    ``D(D + 2)/6`` (4/3 for D = 2). A smaller count ``c`` cannot go below 0, so its row is the
    triangle cut at ``-c``, mixed with a point mass at ``-c`` (the count shown as 0) just
    large enough to bring the mean back to 0: ``(1 - l) q + l [n = -c]`` with
    ``l = m / (m + c)``, ``m`` the mean of the cut triangle ``q``. So every row has mean 0
    (perturbed counts are unbiased), noise is never more than D either way, nothing goes
    negative, and small counts are often shown as 0 (for D = 2 a count of 1 is shown as 0,
    1, 2 or 3 with probabilities 2/5, 3/10, 1/5, 1/10).
    """
    rows: list[tuple[Fraction, ...]] = [tuple(Fraction(0) for _ in range(2 * max_noise + 1))]
    for count in range(1, max_noise + 1):
        noises = range(-max_noise, max_noise + 1)
        weight = {
            n: Fraction(max_noise + 1 - abs(n)) if n >= -count else Fraction(0) for n in noises
        }
        total = sum(weight.values(), Fraction(0))
        cut = {n: w / total for n, w in weight.items()}
        mean = sum((n * p for n, p in cut.items()), Fraction(0))
        share = mean / (mean + count)
        rows.append(
            tuple((1 - share) * cut[n] + (share if n == -count else Fraction(0)) for n in noises)
        )
    return tuple(rows)


_BITS: Final = 53


@cache
def _thresholds(max_noise: int) -> NDArray[np.uint64]:
    """For each row of the p-table, the cumulative probabilities scaled to 2**53 (integers,
    so the noise is the same on every machine)."""
    rows = []
    for row in p_table(max_noise):
        cumulative = itertools.accumulate(row)
        rows.append([int(c * (1 << _BITS)) for c in cumulative])
    return np.array(rows, dtype=np.uint64)


def _mix(keys: Keys) -> Keys:
    """splitmix64's finaliser: a fixed bijection of 64-bit numbers that spreads any
    difference in a key over all its bits (numpy's uint64 arithmetic wraps)."""
    z = keys.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def cell_key_noise(counts: Ints, keys: Keys, max_noise: int) -> Ints:
    """The noise for each cell, a function of its count and its cell key only: the key,
    mixed, picks a point in [0, 1) (53 bits), and the noise is where that point falls in the
    cumulative distribution of the count's row of :func:`p_table`. Zero for a count of 0."""
    thresholds = _thresholds(max_noise)
    point = _mix(np.asarray(keys, dtype=np.uint64)) >> np.uint64(64 - _BITS)
    row = np.minimum(counts, max_noise)
    noise = (thresholds[row] <= point[..., None]).sum(axis=-1) - max_noise
    return np.where(counts > 0, noise, 0).astype(np.int64)


def _cell_key(table: Ints, rule: CellKey, keys: Keys) -> Protected:
    extended = extend(table)
    extended_keys = extend(keys)
    perturbed = extended + cell_key_noise(extended, extended_keys, rule.max_noise)
    small = np.zeros(perturbed.shape, dtype=np.bool_)
    if rule.k:
        small = (perturbed >= 1) & (perturbed < rule.k)
    values, suppressed, primary, totals = _split(
        table.shape, perturbed.astype(np.float64), small, small
    )
    words = [
        f"Every count and total is changed by up to {rule.max_noise} either way (cell-key "
        "perturbation). The change depends only on the records counted, so the same records "
        "always get the same change, and repeating or differencing queries does not remove "
        "it. Totals are changed on their own, so a total may differ from the sum of the "
        "counts shown. Nothing is made negative, zero stays 0, and small counts may be "
        "shown as 0."
    ]
    if rule.k:
        words.append(
            f"Counts and totals {_plural(1, rule.k - 1)} after that are suppressed and shown "
            f"as {SUPPRESSED}."
        )
    return Protected(values, suppressed, primary, totals, words)
