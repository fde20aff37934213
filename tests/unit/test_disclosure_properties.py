"""Disclosure control, checked with Hypothesis on random small tables of one to three
dimensions with many small counts: under a threshold rule nothing from 1 to k-1 is shown, and
an independent linear programme finds that every small count or total ranges over at least
k among all tables agreeing with everything shown; the totals are suppressed as the queries
that show them as cells would suppress them; and the same table always gives the same
output."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from safestats.catalogue.spec import CellKey, Threshold
from safestats.query.disclosure import Protected, protect

# Many zeros and small counts, some larger ones.
COUNT = st.one_of(st.just(0), st.integers(1, 4), st.integers(0, 15), st.integers(5, 60))
SIDES = {1: 8, 2: 5, 3: 3}


@st.composite
def tables(draw: st.DrawFn, dims: tuple[int, ...] = (1, 2, 3)) -> np.ndarray:
    ndim = draw(st.sampled_from(dims))
    shape = tuple(draw(st.integers(1, SIDES[ndim])) for _ in range(ndim))
    return draw(arrays(np.int64, shape, elements=COUNT))


K = st.sampled_from([2, 3, 5, 10])


def entries(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every entry of the table with its totals: index n on an axis of length n is the total
    over that axis."""
    return list(itertools.product(*[range(n + 1) for n in shape]))


def truth_and_hidden(
    counts: np.ndarray, result: Protected
) -> tuple[dict[tuple[int, ...], int], dict[tuple[int, ...], bool]]:
    """The true value of every cell and total, and whether the output suppresses it."""
    shape = counts.shape
    truth, hidden = {}, {}
    for entry in entries(shape):
        summed = tuple(axis for axis, i in enumerate(entry) if i == shape[axis])
        part = tuple(slice(None) if i == shape[axis] else i for axis, i in enumerate(entry))
        truth[entry] = int(counts[part].sum())
        if summed:
            rest = tuple(i for axis, i in enumerate(entry) if i != shape[axis])
            hidden[entry] = bool(result.totals[summed][1][rest])
        else:
            hidden[entry] = bool(result.suppressed[entry])
    return truth, hidden


def feasible_ranges(
    counts: np.ndarray, result: Protected, k: int
) -> dict[tuple[int, ...], tuple[float, float]]:
    """For every suppressed cell or total from 1 to k-1: its smallest and largest value over
    all non-negative tables (totals included) that add up along every line and agree with
    every value shown, each total known exactly when shown."""
    shape = counts.shape
    truth, hidden = truth_and_hidden(counts, result)
    unknown = [entry for entry in entries(shape) if hidden[entry]]
    column = {entry: i for i, entry in enumerate(unknown)}
    rows, rhs = [], []
    for axis, n in enumerate(shape):
        others = [range(m + 1) if a != axis else [0] for a, m in enumerate(shape)]
        for fixed in itertools.product(*others):
            row, known = np.zeros(len(unknown)), 0.0
            for i in range(n + 1):
                entry = tuple(i if a == axis else fixed[a] for a in range(len(shape)))
                sign = -1.0 if i == n else 1.0
                if hidden[entry]:
                    row[column[entry]] += sign
                else:
                    known += sign * truth[entry]
            if row.any():
                rows.append(row)
                rhs.append(-known)
    ranges = {}
    for entry in unknown:
        if not 1 <= truth[entry] < k:
            continue
        objective = np.zeros(len(unknown))
        objective[column[entry]] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            solved = linprog(
                sign * objective,
                A_eq=np.array(rows) if rows else None,
                b_eq=np.array(rhs) if rows else None,
                bounds=(0, None),
                method="highs",
            )
            assert solved.status in (0, 3), solved.message
            ends.append(np.inf if solved.status == 3 else sign * solved.fun)
        ranges[entry] = (ends[0], ends[1])
    return ranges


def threshold(k: int) -> Threshold:
    return Threshold(method="threshold", k=k)


@settings(max_examples=200, deadline=None)
@given(counts=tables(), k=K)
def test_no_small_value_is_shown_and_none_can_be_worked_out(counts: np.ndarray, k: int) -> None:
    result = protect(counts, threshold(k))
    truth, hidden = truth_and_hidden(counts, result)
    for entry, value in truth.items():
        if 1 <= value < k:
            assert hidden[entry], (entry, value)
        if not hidden[entry]:
            assert value == 0 or value >= k
    # What is shown is the truth; NaN exactly where suppressed.
    assert np.array_equal(np.isnan(result.values), result.suppressed)
    assert np.array_equal(result.values[~result.suppressed], counts[~result.suppressed])
    assert not (result.primary & ~result.suppressed).any()
    assert np.array_equal(result.primary, (counts >= 1) & (counts < k))
    for entry, (low, high) in feasible_ranges(counts, result, k).items():
        assert high - low >= k - 1e-6, (entry, truth[entry], low, high)
    # A zero is suppressed only when the rules say so.
    zeros_hidden = any(hidden[e] and truth[e] == 0 for e in truth)
    assert zeros_hidden == any("zeros" in words for words in result.rules)


@settings(max_examples=120, deadline=None)
@given(counts=tables(), k=K)
def test_totals_are_suppressed_as_the_query_showing_them_would(counts: np.ndarray, k: int) -> None:
    """The totals over some axes are what a query not grouping by those axes shows as its
    cells: both outputs suppress them alike, so together they reveal nothing more. Only in
    three dimensions may a table have to suppress more of its totals (and says so)."""
    result = protect(counts, threshold(k))
    extra = any("Some totals" in words for words in result.rules)
    assert not extra or counts.ndim == 3
    if extra:
        return
    for axes, (values, suppressed) in result.totals.items():
        if len(axes) == counts.ndim:
            continue
        alone = protect(counts.sum(axis=axes), threshold(k))
        assert np.array_equal(alone.suppressed, suppressed), axes
        assert np.array_equal(alone.values, values, equal_nan=True), axes


@settings(max_examples=60, deadline=None)
@given(counts=tables(), k=K, base=st.sampled_from([None, 5]))
def test_the_same_table_always_gives_the_same_output(
    counts: np.ndarray, k: int, base: int | None
) -> None:
    rule = Threshold(method="threshold", k=k, rounding_base=base)
    first, second = protect(counts, rule), protect(counts.copy(), rule)
    assert_same(first, second)


def assert_same(first: Protected, second: Protected) -> None:
    assert np.array_equal(first.values, second.values, equal_nan=True)
    assert np.array_equal(first.suppressed, second.suppressed)
    assert np.array_equal(first.primary, second.primary)
    assert first.totals.keys() == second.totals.keys()
    for axes, (values, suppressed) in first.totals.items():
        assert np.array_equal(values, second.totals[axes][0], equal_nan=True)
        assert np.array_equal(suppressed, second.totals[axes][1])
    assert first.rules == second.rules


@settings(max_examples=100, deadline=None)
@given(
    counts=tables(),
    seed=st.integers(0, 2**32 - 1),
    max_noise=st.integers(1, 10),
    k=st.none() | K,
)
def test_cell_key_noise_is_bounded_never_negative_and_repeatable(
    counts: np.ndarray, seed: int, max_noise: int, k: int | None
) -> None:
    keys = np.random.default_rng(seed).integers(0, 2**64, counts.shape, dtype=np.uint64)
    rule = CellKey(method="cell_key", max_noise=max_noise, k=k)
    result = protect(counts, rule, cell_keys=keys)
    assert_same(result, protect(counts.copy(), rule, cell_keys=keys.copy()))
    true_totals = {axes: counts.sum(axis=axes) for axes in result.totals}
    for values, suppressed, truth in [
        (result.values, result.suppressed, counts),
        *((v, s, true_totals[axes]) for axes, (v, s) in result.totals.items()),
    ]:
        shown_values = values[~suppressed]
        assert (shown_values >= 0).all()
        assert (np.abs(shown_values - truth[~suppressed]) <= max_noise).all()
        assert (values[truth == 0] == 0).all()
        if k is not None:
            assert not ((shown_values >= 1) & (shown_values < k)).any()
