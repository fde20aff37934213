"""Speed of disclosure control on simulated count tables: borough x month x category
(33 x 24 x 14) and LSOA x month (5,000 x 24) at several densities, and the slowest kind of
table the linear-programming audit still covers (a sparse 11 x 11 x 11). Prints what it
measured (best of 3); asserts nothing.

    .venv/bin/python bench/disclosure.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import numpy as np

from safestats.catalogue.spec import CellKey, Rounding, Threshold
from safestats.query.disclosure import protect

K = 10


def simulated(shape: tuple[int, ...], mean: float, seed: int) -> np.ndarray:
    """Poisson counts whose rates vary along every axis (lognormal factors)."""
    rng = np.random.default_rng(seed)
    rates = np.full(shape, mean)
    for axis, n in enumerate(shape):
        factor = rng.lognormal(0, 1.0, n)
        rates = rates * factor.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return rng.poisson(rates)


def best_of_3(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    threshold = Threshold(method="threshold", k=K)
    cases = [
        ((33, 24, 14), 5.0),
        ((33, 24, 14), 60.0),
        ((5000, 24), 3.0),
        ((5000, 24), 30.0),
        ((11, 11, 11), 3.0),
        ((30, 30), 5.0),
    ]
    for shape, mean in cases:
        counts = simulated(shape, mean, seed=1)
        result = protect(counts, threshold)
        small = int(((counts > 0) & (counts < K)).sum())
        seconds = best_of_3(partial(protect, counts, threshold))
        print(
            f"threshold k={K} {'x'.join(map(str, shape)):>10} mean {mean:>4}: "
            f"{seconds:6.3f} s  ({small} of {counts.size} cells small, "
            f"{int(result.suppressed.sum()) - small} more suppressed)"
        )
    counts = simulated((5000, 24), 30.0, seed=2)
    keys = np.random.default_rng(3).integers(0, 2**64, counts.shape, dtype=np.uint64)
    rule = CellKey(method="cell_key", max_noise=3, k=K)
    seconds = best_of_3(lambda: protect(counts, rule, cell_keys=keys))
    print(f"cell key 5000x24: {seconds:6.3f} s")
    seconds = best_of_3(lambda: protect(counts, Rounding(method="round", base=5)))
    print(f"rounding 5000x24: {seconds:6.3f} s")


if __name__ == "__main__":
    main()
