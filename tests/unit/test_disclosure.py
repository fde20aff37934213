"""Disclosure control of query outputs: hand-worked tables under each rule (threshold with
secondary suppression, rounding, cell key, no control), the rules in words, the cell-key
p-table and noise, speed on large tables, and the refusals."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from safestats.catalogue.spec import CellKey, NoControl, Rounding, Threshold
from safestats.query.disclosure import (
    SUPPRESSED,
    Protected,
    cell_key_noise,
    p_table,
    protect,
    round_to,
)

C = SUPPRESSED


def threshold(k: int, **options: Any) -> Threshold:
    return Threshold(method="threshold", k=k, **options)


def cell_key(max_noise: int, k: int | None = None) -> CellKey:
    return CellKey(method="cell_key", max_noise=max_noise, k=k)


def shown(values: np.ndarray, suppressed: np.ndarray) -> Any:
    """Values as an output shows them: whole numbers, and [c] where suppressed."""
    out = np.empty(values.shape, dtype=object)
    out[...] = np.where(suppressed, 0, np.nan_to_num(values)).astype(np.int64)
    out[suppressed] = C
    return out.tolist()


def cells(result: Protected) -> Any:
    return shown(result.values, result.suppressed)


def totals(result: Protected) -> dict[tuple[int, ...], Any]:
    return {axes: shown(*pair) for axes, pair in result.totals.items()}


def table(rows: Any) -> np.ndarray:
    return np.array(rows, dtype=np.int64)


# ------------------------------------------------------------------------------ threshold


def test_a_small_count_is_suppressed_with_a_partner_so_the_total_does_not_give_it_away() -> None:
    result = protect(table([3, 10, 10]), threshold(5))
    assert cells(result) == [C, C, 10]
    assert result.primary.tolist() == [True, False, False]
    assert totals(result) == {(0,): 23}


def test_suppressed_counts_in_a_line_add_up_to_at_least_k() -> None:
    # 1 + 2 = 3 would only hide each in 0..3: the 7 joins them (the smallest that is enough).
    result = protect(table([1, 2, 7, 20]), threshold(5))
    assert cells(result) == [C, C, C, 20]
    assert totals(result) == {(0,): 30}


def test_a_small_total_is_suppressed_and_zero_is_shown() -> None:
    result = protect(table([0, 3, 0]), threshold(5))
    assert cells(result) == [0, C, 0]
    assert totals(result) == {(0,): C}
    assert result.totals[(0,)][1].item() is True


def test_two_dimensions_hand_worked() -> None:
    # 1 and 2 are small. Column 0 takes 20 (its row also needs a partner), column 2 takes 8
    # (likewise): a rectangle in which 1 can range over 0..9.
    counts = table([[1, 6, 8], [7, 9, 12], [20, 11, 2]])
    result = protect(counts, threshold(5))
    assert cells(result) == [[C, 6, C], [7, 9, 12], [C, 11, C]]
    assert result.primary.tolist() == [[True, False, False], [False] * 3, [False, False, True]]
    assert totals(result) == {(0,): [28, 26, 22], (1,): [15, 28, 33], (0, 1): 76}
    assert result.rules == [
        "Counts and totals from 1 to 4 are suppressed and shown as [c]; zero is shown as 0.",
        "Further counts are suppressed, also shown as [c], so that no suppressed count can be "
        "worked out from the counts and totals that are shown.",
    ]


def test_a_zero_is_suppressed_when_nothing_else_can_protect_a_small_count() -> None:
    # Shown, the 0 gives 3 away: row 1 makes the lower 10 exactly 10, column 0 then 3.
    result = protect(table([[3, 10], [10, 0]]), threshold(5))
    assert cells(result) == [[C, C], [C, C]]
    assert totals(result) == {(0,): [13, 10], (1,): [13, 10], (0, 1): 23}
    assert (
        result.rules[2]
        == "Some zeros had to be suppressed for that too, so here [c] may stand for 0."
    )


def test_three_dimensions_hand_worked() -> None:
    # One small count among 20s: the line rule builds a 2 x 2 x 2 cube around it.
    counts = np.full((2, 3, 3), 20, dtype=np.int64)
    counts[0, 0, 0] = 3
    result = protect(counts, threshold(5))
    expected = np.zeros((2, 3, 3), dtype=bool)
    expected[:, :2, :2] = True
    assert result.suppressed.tolist() == expected.tolist()
    assert np.array_equal(result.values[~expected], counts[~expected])
    assert not any(suppressed.any() for _, suppressed in result.totals.values())
    assert len(result.rules) == 2


def test_three_dimensions_may_need_totals_suppressed_too() -> None:
    # A 2 x 2 x 2 table has one degree of freedom once its 2-D totals are known, and here a
    # zero stops it: the 1 could only be 0 or 1. Only hiding totals over the last axis helps.
    counts = table([[[1, 5], [6, 7]], [[8, 9], [10, 0]]])
    result = protect(counts, threshold(5))
    assert result.suppressed.all()
    assert totals(result)[(2,)] == [[C, C], [C, C]]
    assert totals(result)[(0,)] == [[9, 14], [16, 7]]
    assert totals(result)[(0, 1, 2)] == 46
    assert result.rules[-1] == "Some totals had to be suppressed for that too."


def test_totals_are_protected_as_their_own_query_would_protect_them() -> None:
    # Column totals 1, 3, 70 and 2: the 1-D query by column suppresses 1, 3 and 2 (together
    # 6, enough), and so does this table's row of column totals; the cells then need more.
    counts = table([[1, 0, 30, 2], [0, 3, 40, 0]])
    result = protect(counts, threshold(5))
    alone = protect(counts.sum(axis=0), threshold(5))
    assert totals(result)[(0,)] == cells(alone) == [C, C, 70, C]
    assert totals(result)[(1,)] == [33, 43]


def test_without_secondary_suppression_only_small_counts_are_hidden() -> None:
    result = protect(table([3, 10, 10]), threshold(5, secondary_suppression=False))
    assert cells(result) == [C, 10, 10]
    assert result.rules[1] == (
        "No further counts are suppressed, so a suppressed count may be worked out from the totals."
    )


def test_threshold_with_rounding_rounds_every_shown_count_and_total() -> None:
    result = protect(table([3, 12, 26, 0]), threshold(5, rounding_base=5))
    assert cells(result) == [C, C, 25, 0]
    assert totals(result) == {(0,): 40}
    assert result.rules[-1] == (
        "Every count and total shown is rounded to the nearest 5, each on its own, so a total "
        "may differ from the sum of the rounded counts; counts from 1 to 2 are shown as 0."
    )


def test_rules_for_a_threshold_of_two() -> None:
    result = protect(table([1, 5]), threshold(2))
    assert result.rules[0] == (
        "Counts and totals of 1 are suppressed and shown as [c]; zero is shown as 0."
    )


def test_tables_with_an_empty_dimension() -> None:
    result = protect(np.zeros((0, 3), dtype=np.int64), threshold(5))
    assert result.values.shape == (0, 3)
    assert totals(result) == {(0,): [0, 0, 0], (1,): [], (0, 1): 0}


def test_suppressed_values_are_nan_never_the_count() -> None:
    result = protect(table([[1, 6], [7, 9]]), threshold(5))
    assert np.isnan(result.values[result.suppressed]).all()
    for values, suppressed in result.totals.values():
        assert np.isnan(values[suppressed]).all()


def test_large_tables_are_fast() -> None:
    """33 boroughs x 24 months x 14 categories, and 5,000 LSOAs x 24 months (their cells are
    larger than the audit's limit, so only their totals are audited). Timings on this shared
    machine vary: the bound is loose, bench/disclosure.py measures."""
    rng = np.random.default_rng(7)
    rates = (
        rng.lognormal(3, 0.5, (33, 1, 1))
        * rng.lognormal(0, 0.1, (1, 24, 1))
        * rng.lognormal(-1, 1.5, (1, 1, 14))
    )
    boroughs = rng.poisson(rates)
    lsoas = rng.poisson(rng.lognormal(1.5, 0.8, (5000, 1)) * np.ones((1, 24)))
    for counts in (boroughs, lsoas):
        started = time.perf_counter()
        result = protect(counts, threshold(10))
        assert time.perf_counter() - started < 5
        shown_values = result.values[~result.suppressed]
        assert ((shown_values == 0) | (shown_values >= 10)).all()


# ------------------------------------------------------------------------------- rounding


def test_rounding_rounds_every_count_and_total_on_its_own() -> None:
    result = protect(table([0, 1, 2, 3, 7, 8, 12, 13]), Rounding(method="round", base=5))
    assert cells(result) == [0, 0, 0, 5, 5, 10, 10, 15]
    assert totals(result) == {(0,): 45}  # 46
    assert not result.suppressed.any()
    assert result.rules == [
        "Every count and total shown is rounded to the nearest 5, each on its own, so a total "
        "may differ from the sum of the rounded counts; counts from 1 to 2 are shown as 0."
    ]


def test_rounding_halves_go_up_and_totals_are_rounded_from_the_true_sum() -> None:
    assert round_to(np.array([5, 14, 15, 25]), 10).tolist() == [10, 10, 20, 30]
    result = protect(table([[1, 1], [1, 1]]), Rounding(method="round", base=5))
    assert cells(result) == [[0, 0], [0, 0]]
    assert totals(result) == {(0,): [0, 0], (1,): [0, 0], (0, 1): 5}


def test_rounding_sums_of_a_measure() -> None:
    sums = np.array([-7.5, 2.4, 1234.56])
    result = protect(sums, Rounding(method="round", base=10), measure=True)
    assert result.values.tolist() == [-10.0, 0.0, 1230.0]
    assert result.totals[(0,)][0].item() == 1230.0  # 1229.46
    assert result.rules[0].startswith("Every value and total shown is rounded to the nearest 10")
    assert "shown as 0" not in result.rules[0]


# ----------------------------------------------------------------------------- no control


def test_no_control_shows_public_data_as_published() -> None:
    rule = NoControl(method="none", public_source="data.police.uk street-level crime")
    counts = table([[0, 1, 2], [3, 4, 5]])
    result = protect(counts, rule)
    assert result.values.tolist() == counts.tolist()
    assert not result.suppressed.any() and not result.primary.any()
    assert totals(result) == {(0,): [3, 5, 7], (1,): [3, 12], (0, 1): 15}
    assert result.rules == [
        "No disclosure control: this data is already published openly (data.police.uk "
        "street-level crime), and is shown as published."
    ]
    sums = np.array([1.25, -2.5])
    assert protect(sums, rule, measure=True).values.tolist() == [1.25, -2.5]


# ------------------------------------------------------------------------------- cell key


def test_the_p_table_for_a_noise_of_up_to_two() -> None:
    f = Fraction
    assert p_table(2)[1] == (0, f(2, 5), f(3, 10), f(1, 5), f(1, 10))
    assert p_table(2)[2] == (f(1, 9), f(2, 9), f(3, 9), f(2, 9), f(1, 9))


@pytest.mark.parametrize("max_noise", range(1, 11))
def test_every_row_of_the_p_table_is_unbiased_bounded_and_never_negative(max_noise: int) -> None:
    for count, row in enumerate(p_table(max_noise)[1:], start=1):
        assert sum(row) == 1
        noises = range(-max_noise, max_noise + 1)
        assert sum(n * p for n, p in zip(noises, row, strict=True)) == 0
        assert all(p == 0 for n, p in zip(noises, row, strict=True) if count + n < 0)
        assert all(p >= 0 for p in row)


def random_keys(rng: np.random.Generator, shape: Any) -> np.ndarray:
    return rng.integers(0, 2**64, shape, dtype=np.uint64, endpoint=False)


def test_cell_key_noise_follows_the_p_table() -> None:
    rng = np.random.default_rng(1)
    keys = random_keys(rng, 40_000)
    for count in (1, 2, 3, 50):
        noise = cell_key_noise(np.full(keys.shape, count), keys, 3)
        expected = [float(p) for p in p_table(3)[min(count, 3)]]
        observed = np.bincount(noise + 3, minlength=7) / len(keys)
        assert np.abs(observed - expected).max() < 0.01
        assert abs(noise.mean()) < 0.03


def test_cell_key_noise_is_bounded_never_negative_and_leaves_zero_alone() -> None:
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 8, (50, 40))
    keys = random_keys(rng, counts.shape)
    result = protect(counts, cell_key(3), cell_keys=keys)
    assert np.abs(result.values - counts).max() <= 3
    assert (result.values >= 0).all()
    assert (result.values[counts == 0] == 0).all()
    assert not result.suppressed.any()


def test_the_same_records_get_the_same_noise_in_every_table() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 30, (6, 5))
    keys = random_keys(rng, counts.shape)
    first = protect(counts, cell_key(2), cell_keys=keys)
    assert np.array_equal(first.values, protect(counts, cell_key(2), cell_keys=keys).values)
    # The row totals count the same records as the cells of a table by row alone.
    rows = protect(counts.sum(axis=1), cell_key(2), cell_keys=keys.sum(axis=1))
    assert np.array_equal(rows.values, first.totals[(1,)][0])


def test_changing_one_records_key_changes_only_its_cells_noise() -> None:
    counts = table([12, 12, 12])
    keys = np.array([0x1234, 0x9876_5432_10FE_DCBA, 2**63 + 5], dtype=np.uint64)
    before = protect(counts, cell_key(5), cell_keys=keys).values
    changed = keys.copy()
    # Cell 1 loses a record keyed 0x42 and gains one keyed 0x4242 (the sums wrap).
    changed[1] = changed[1] - np.uint64(0x42) + np.uint64(0x4242)
    after = protect(counts, cell_key(5), cell_keys=changed).values
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] != before[1]
    # Over many such changes, the noise changes about as often as two draws differ.
    rng = np.random.default_rng(4)
    new = random_keys(rng, 2000)
    base = cell_key_noise(np.full(2000, 12), np.full(2000, keys[1]), 5)
    moved = cell_key_noise(np.full(2000, 12), keys[1] + new, 5)
    assert 0.75 < (moved != base).mean() < 0.95


def test_cell_key_totals_use_the_wrapping_sum_of_the_keys() -> None:
    counts = table([[5, 6], [7, 8]])
    keys = np.array([[2**64 - 1, 2**64 - 2], [3, 2**63]], dtype=np.uint64)
    result = protect(counts, cell_key(4), cell_keys=keys)
    key = np.array([(2**64 - 1 + 2**64 - 2 + 3 + 2**63) % 2**64], dtype=np.uint64)
    expected = 26 + cell_key_noise(np.array([26]), key, 4)[0]
    assert result.totals[(0, 1)][0].item() == expected
    # int64 keys are read as their bits.
    signed = protect(counts, cell_key(4), cell_keys=keys.view(np.int64))
    assert np.array_equal(signed.values, result.values)


def test_cell_key_with_k_suppresses_small_results() -> None:
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 12, (30, 30))
    keys = random_keys(rng, counts.shape)
    plain = protect(counts, cell_key(2), cell_keys=keys)
    result = protect(counts, cell_key(2, k=5), cell_keys=keys)
    small = (plain.values >= 1) & (plain.values < 5)
    assert np.array_equal(result.suppressed, small)
    assert np.array_equal(result.primary, small)
    assert np.isnan(result.values[small]).all()
    assert np.array_equal(result.values[~small], plain.values[~small])
    assert result.rules[1] == (
        "Counts and totals from 1 to 4 after that are suppressed and shown as [c]."
    )
    assert "changed by up to 2 either way" in result.rules[0]


# ------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("counts", "rule", "options", "message"),
    [
        (np.array(3), threshold(5), {}, "1 to 3 dimensions"),
        (np.zeros((2, 2, 2, 2), dtype=np.int64), threshold(5), {}, "1 to 3 dimensions"),
        (np.array([1.0, 2.0]), threshold(5), {}, "must be integers"),
        (np.array([1, -2]), threshold(5), {}, "must not be negative"),
        ([1, 2], threshold(5), {}, "numpy array"),
        (np.array([1.0]), threshold(5), {"measure": True}, "published or rounded"),
        (np.array([1.0]), cell_key(2), {"measure": True}, "published or rounded"),
        (
            np.array([np.inf]),
            Rounding(method="round", base=5),
            {"measure": True},
            "finite",
        ),
        (np.array(["a"]), Rounding(method="round", base=5), {"measure": True}, "numbers"),
        (np.array([1, 2]), cell_key(2), {}, "needs the cell keys"),
        (
            np.array([1, 2]),
            cell_key(2),
            {"cell_keys": np.zeros(3, dtype=np.uint64)},
            "shape",
        ),
        (np.array([1, 2]), cell_key(2), {"cell_keys": np.zeros(2)}, "uint64"),
    ],
)
def test_refusals(counts: Any, rule: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        protect(counts, rule, **options)
