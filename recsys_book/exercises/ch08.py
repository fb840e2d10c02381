"""Checkers for chapter 08 (appendix: on-time reward delivery in crowdfunding).

* E1 :func:`check_bic` -- ``my_bic(x, labels, centers, n)``: Eq. (3.1).
* E2 :func:`check_observed` -- ``my_observed(events, projects, tp)``: the events a project had
  by its cutoff of time point ``tp`` (the filter that keeps later information out).
* E3 :func:`check_nrmse` -- ``my_nrmse(y, pred)``: (NRMSE@A, NRMSE@B) of Sec. 3.5.1.

Each builds its own inputs (random and edge cases) and compares with the library.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_book.crowdfunding.features import TIME_POINTS, observed_events
from recsys_book.crowdfunding.semantic import bic
from recsys_book.exercises import check as _check


def check(cases, fn, ref, name, equal=None) -> bool:
    """The shared :func:`recsys_book.exercises.check` on ``(label, args)`` pairs: True, or
    NotAnswered / an AssertionError naming the failed case (print it with ``try_it``)."""
    return _check(dict(cases), fn, ref, name, compare=equal)


def _bic_cases():
    rng = np.random.default_rng(8)
    for k, m, n_pts in ((1, 2, 5), (3, 4, 30), (5, 3, 50)):
        x = rng.normal(size=(n_pts, m))
        lab = np.arange(n_pts) % k
        c = np.stack([x[lab == j].mean(0) for j in range(k)])
        yield f"random K={k}, m={m}, {n_pts} points, n=1000 rewards", (x, lab, c, 1000)
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    yield (
        "two points, one centre at the origin (distances 0 and 5), n=2",
        (x, np.array([0, 0]), np.array([[0.0, 0.0]]), 2),
    )
    yield (
        "every point on its centre (only the penalty is left), n=10",
        (x, np.array([0, 1]), x.copy(), 10),
    )


def check_bic(fn) -> bool:
    """E1: ``fn(x (N, m), labels (N,), centers (K, m), n) -> float`` equals Eq. (3.1)."""
    return check(_bic_cases(), fn, bic, "E1 (BIC, Eq. 3.1)")


def _toy_data():
    projects = pd.DataFrame(
        {"project_id": [0, 1, 2], "fund_days": [30, 40, 60], "ledd_days": [100, 60, 200]}
    )
    # cutoffs: TP2 15 / 20 / 30, TP3 30 / 40 / 60, TP4 35 / 43 / 70
    days = {
        0: [0.5, 15.0, 15.1, 30.0, 34.9, 35.0, 36.0],
        1: [19.99, 20.0, 39.0, 40.0, 43.0, 43.01],
        2: [1.0, 30.0, 59.0, 60.0, 61.0, 70.0, 71.0],
    }
    rows = [(p, d, "comment", "backer") for p, ds in days.items() for d in ds]
    events = pd.DataFrame(rows, columns=["project_id", "day", "kind", "author"])
    return events, projects


def _random_data(seed: int):
    rng = np.random.default_rng(seed)
    n = 6
    projects = pd.DataFrame(
        {
            "project_id": np.arange(10, 10 + n),
            "fund_days": rng.choice([30, 45, 60], n),
            "ledd_days": rng.integers(20, 300, n),
        }
    )
    m = 80
    events = pd.DataFrame(
        {
            "project_id": rng.choice(projects["project_id"], m),
            "day": np.round(rng.uniform(0, 90, m), 1),
            "kind": rng.choice(["pledge", "comment", "update"], m),
            "author": rng.choice(["creator", "backer"], m),
        }
    )
    return events.sample(frac=1, random_state=seed), projects


def _observed_ref(events, projects, tp):
    from recsys_book.crowdfunding.data import CrowdfundingData

    return observed_events(CrowdfundingData(projects, pd.DataFrame(), events), tp)


def _same_rows(got, expected) -> bool:
    if not isinstance(got, pd.DataFrame):
        return False
    return sorted(got.index.tolist()) == sorted(expected.index.tolist())


class _Rows:
    """Show a frame of events as (project, day) pairs in a failure message."""

    def __init__(self, df):
        self.df = df

    def __repr__(self):
        pairs = sorted(zip(self.df["project_id"].tolist(), self.df["day"].tolist()))
        return f"{len(pairs)} events {pairs}"


def check_observed(fn) -> bool:
    """E2: ``fn(events, projects, tp) -> events`` keeps exactly the rows the library keeps
    (row labels compared; a cutoff day itself is observed)."""
    cases = [
        (f"toy data with events on the cutoffs, {tp}", (*_toy_data(), tp)) for tp in TIME_POINTS
    ]
    cases += [
        (f"random data (seed {s}), {tp}", (*_random_data(s), tp))
        for s in (1, 2)
        for tp in TIME_POINTS
    ]

    def ref(e, p, tp):
        return _Rows(_observed_ref(e, p, tp))

    def learner(e, p, tp):
        out = fn(e.copy(), p.copy(), tp)
        return None if out is None else _Rows(out) if isinstance(out, pd.DataFrame) else out

    return check(
        cases,
        learner,
        ref,
        "E2 (events observed by a time point)",
        equal=lambda g, e: isinstance(g, _Rows) and _same_rows(g.df, e.df),
    )


def _nrmse_ref(y, pred):
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    rmse = np.sqrt(np.mean((pred - y) ** 2))
    return (rmse / (y.max() - y.min()), rmse / y.mean())


def check_nrmse(fn) -> bool:
    """E3: ``fn(y, pred) -> (NRMSE@A, NRMSE@B)`` as in Sec. 3.5.1."""
    rng = np.random.default_rng(3)
    y = rng.uniform(20, 400, 50)
    cases = [
        ("random durations, noisy predictions", (y, y + rng.normal(0, 30, 50))),
        ("predicting the mean", (y, np.full(50, y.mean()))),
        (
            "a constant error of 10 days on [10, 20, 30]",
            (np.array([10.0, 20, 30]), np.array([20.0, 30, 40])),
        ),
        ("perfect predictions", (y, y.copy())),
    ]
    return check(cases, fn, _nrmse_ref, "E3 (NRMSE@A, NRMSE@B)")
