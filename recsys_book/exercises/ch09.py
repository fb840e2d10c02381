"""Chapter 09 (the leaderboard) exercises: checkers.

E1 ``pareto_front(points) -> list[str]``: the names of the points that no other point beats
   on both coordinates (higher is better on both), best first coordinate first, ties by name
   (checked against :func:`recsys_book.leaderboard.pareto_front`).
E2 ``sign_test(a, b) -> (wins, losses, p)``: the two-sided exact sign test of paired per-user
   scores (checked against :func:`recsys_book.leaderboard.sign_test`).

Inputs are built here with fixed seeds: no state of the notebook is used.
"""

from __future__ import annotations

import numpy as np

from recsys_book.exercises import check, close
from recsys_book.leaderboard import pareto_front, sign_test


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


def _paired(seed: int, n: int, shift: float):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4, size=n) / 4  # coarse scores: many ties, as NDCG@10 has (0 for misses)
    b = np.clip(a + rng.normal(shift, 0.3, size=n).round(1), 0, 1)
    return a, b


SIGN_CASES = {
    "A better for every user (5 users)": (np.ones(5), np.zeros(5)),
    "A worse for every user: two-sided, same p": (np.zeros(5), np.ones(5)),
    "only ties (p = 1, nothing to test)": (np.full(4, 0.5), np.full(4, 0.5)),
    "ties are dropped, not counted as half wins": (
        np.array([1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]),
        np.array([0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5]),
    ),
    "an even split (p = 1, not above 1)": (
        np.array([1.0, 0.0, 1.0, 0.0]),
        np.array([0.0, 1.0, 0.0, 1.0]),
    ),
    "943 users, small advantage (ML-100k size)": _paired(0, 943, -0.02),
    "2000 users, clear advantage (p far below 1e-6)": _paired(1, 2000, -0.1),
    "12 users, random": _paired(2, 12, 0.0),
}


def _same_test(got, want) -> bool:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return False
    w, l, p = got
    return (
        int(w) == want[0] and int(l) == want[1] and close(float(p), want[2], atol=1e-12, rtol=1e-6)
    )


def check_sign_test(fn) -> bool:
    """E2: ``fn(a, b) -> (wins, losses, p)`` for 1-D arrays of paired scores."""
    return check(
        SIGN_CASES,
        fn,
        sign_test,
        compare=_same_test,
        name="E2 sign_test",
        hint="wins = #(a > b), losses = #(a < b); n = wins + losses; "
        "p = min(1, 2 * sum_{i <= min(wins, losses)} C(n, i) / 2^n); p = 1 when n = 0",
    )
