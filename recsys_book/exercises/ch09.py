"""Chapter 09 (the leaderboard) exercises: checkers.

E1 ``pareto_front(points) -> list[str]``: the names of the points that no other point beats
   on both coordinates (higher is better on both), best first coordinate first, ties by name
   (checked against :func:`recsys_book.leaderboard.pareto_front`).
E2 ``paired_t(a, b) -> (t, p)``: the two-sided paired t-test of two models' scores over the
   same seeds, the test behind every verdict of the committed tables (checked against
   :func:`recsys_book.results.paired_t_test`): the sign test of section 6 asks "how many users
   does A win?", this one "how large is the mean gap against its spread over seeds?".

Inputs are built here with fixed seeds: no state of the notebook is used.
"""

from __future__ import annotations

import numpy as np

from recsys_book.exercises import check, close
from recsys_book.leaderboard import pareto_front
from recsys_book.results import paired_t_test


def _random_points(seed: int, n: int = 8) -> tuple[dict]:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 5, size=(n, 2)) / 10  # a coarse grid: ties and duplicates happen
    return ({f"m{i}": (float(x), float(y)) for i, (x, y) in enumerate(xy)},)


PARETO_CASES = {
    "one point": ({"EASE": (0.40, 0.24)},),
    "a point beaten on both coordinates": ({"EASE": (0.40, 0.24), "Popularity": (0.21, 0.19)},),
    "a trade-off: both stay, best first coordinate first": (
        {"EASE": (0.40, 0.24), "ItemKNN": (0.34, 0.26)},
    ),
    "equal on one coordinate, worse on the other (dominated)": (
        {"a": (0.4, 0.2), "b": (0.4, 0.1)},
    ),
    "two identical points (neither dominates the other)": ({"a": (0.3, 0.3), "b": (0.3, 0.3)},),
    "the committed CoRML table (NDCG@10, Novelty@10)": (
        {
            "Popularity": (0.2056, 0.1857),
            "ItemKNN": (0.3413, 0.2373),
            "EASE": (0.4034, 0.2396),
            "GF-CF": (0.3940, 0.2391),
            "CoRML": (0.4121, 0.2517),
        },
    ),
    **{f"random grid points (seed {s})": _random_points(s) for s in range(4)},
}


def check_pareto_front(fn) -> bool:
    """E1: ``fn(points: dict[str, tuple[float, float]]) -> list[str]``."""
    return check(
        PARETO_CASES,
        fn,
        pareto_front,
        cast=list,
        compare=lambda got, want: got == want,
        name="E1 pareto_front",
        hint="q dominates p when q >= p on both coordinates and q > p on at least one; "
        "sort the front by -x, then by name",
    )


T_CASES = {
    "5 seeds, a clear lead": ([0.41, 0.43, 0.40, 0.44, 0.42], [0.38, 0.39, 0.38, 0.40, 0.39]),
    "the lead reversed: t changes sign, p does not": ([0.38, 0.39, 0.38, 0.40, 0.39], [0.41, 0.43, 0.40, 0.44, 0.42]),
    "5 seeds, within noise": ([0.41, 0.39, 0.42, 0.38, 0.40], [0.40, 0.41, 0.39, 0.40, 0.41]),
    "2 seeds: one degree of freedom, heavy tails": ([0.50, 0.56], [0.40, 0.42]),
    "no difference at all: t = 0, p = 1": ([0.3, 0.5, 0.4], [0.3, 0.5, 0.4]),
    "the same lead on every seed (no spread): t = inf, p = 0": ([0.5, 0.6, 0.7], [0.25, 0.35, 0.45]),
    "30 seeds, small lead": tuple(np.random.default_rng(9).normal([[0.4125], [0.41]], 0.01, (2, 30))),
}


def _same_t(got, want) -> bool:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return False
    return close(float(got[0]), want[0], atol=1e-9, rtol=1e-6) and close(float(got[1]), want[1], atol=1e-12, rtol=1e-6)


def check_paired_t(fn) -> bool:
    """E2: ``fn(a, b) -> (t, p)`` for two 1-D sequences of paired scores (n >= 2)."""
    return check(
        T_CASES,
        fn,
        paired_t_test,
        compare=_same_t,
        name="E2 paired_t",
        hint="d = a - b; t = mean(d) / (std(d, ddof=1) / sqrt(n)); p = 2 * scipy.stats.t.sf(|t|, n - 1); "
        "no spread: (0, 1) if every d is 0, else (+-inf, 0)",
    )
