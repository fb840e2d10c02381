"""Checkers for chapter 08 (appendix: on-time reward delivery in crowdfunding).

* E1 :func:`check_cluster_features` -- ``my_cluster_features(rewards, reward_cluster, k,
  projects, pledges=None)``: the last step of Sec. 3.3.1, reward clusters -> per-project
  features (backers per semantic reward cluster; rewards per cluster at launch).
* E2 :func:`check_observed` -- ``my_observed(events, projects, tp)``: the events a project had
  by its cutoff of time point ``tp`` (the filter that keeps later information out).
* E3 :func:`check_nrmse` -- ``my_nrmse(y, pred)``: (NRMSE@A, NRMSE@B) of Sec. 3.5.1.

Each builds its own inputs (random and edge cases) and compares with the library.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_book.crowdfunding.features import TIME_POINTS, observed_events
from recsys_book.crowdfunding.semantic import project_cluster_features
from recsys_book.exercises import check as _check


def check(cases, fn, ref, name, equal=None) -> bool:
    """The shared :func:`recsys_book.exercises.check` on ``(label, args)`` pairs: True, or
    NotAnswered / an AssertionError naming the failed case (print it with ``try_it``)."""
    return _check(dict(cases), fn, ref, name, compare=equal)


def _frames(rewards, pledges=None):
    """(project_id, reward_id) rows as the rewards table and, if given, the pledge events."""
    rw = pd.DataFrame(rewards, columns=["project_id", "reward_id"])
    rw["description"], rw["price"] = "a reward", 10.0
    if pledges is None:
        return rw, None
    pl = pd.DataFrame(pledges, columns=["project_id", "reward_id"], dtype=np.int64)
    pl["day"], pl["kind"], pl["author"] = 1.0, "pledge", "backer"
    pl["backer_id"] = np.arange(len(pl))
    return rw, pl


def _feature_case(rewards, clusters, k, projects, pledges=None):
    rw, pl = _frames(rewards, pledges)
    return (rw, np.array(clusters), k, list(projects), pl)


def _random_feature_case(seed: int, at_launch: bool):
    """8 projects (one without rewards), 30 rewards with shuffled ids, 5 clusters (one
    unused), 200 pledge events in time order (the rows of an observed events table)."""
    rng = np.random.default_rng(seed)
    owner = rng.choice([10, 11, 12, 13, 14, 15, 16], 30)  # project 17 has no reward
    rw = pd.DataFrame({"project_id": owner, "reward_id": rng.permutation(1000)[:30]})
    rw["description"], rw["price"] = "a reward", rng.uniform(5, 200, 30).round()
    clusters = rng.choice([0, 1, 3, 4], 30)  # cluster 2: no reward
    pick = rng.integers(30, size=200) % 24  # the last 6 rewards: no backer
    pl = pd.DataFrame(
        {
            "project_id": rw["project_id"].to_numpy()[pick],
            "day": np.sort(rng.uniform(0, 30, 200)).round(2),
            "kind": "pledge",
            "author": "backer",
            "backer_id": rng.integers(500, size=200),
            "reward_id": rw["reward_id"].to_numpy()[pick],
        }
    )
    projects = list(rng.permutation([10, 11, 12, 13, 14, 15, 16, 17]))
    return (rw, clusters, 5, projects, None if at_launch else pl)


def _feature_cases():
    yield (
        "one project, one reward, three backers",
        _feature_case([(7, 0)], [0], 1, [7], [(7, 0)] * 3),
    )
    yield (
        "a reward with zero backers (its cluster counts 0)",
        _feature_case([(1, 0), (1, 1)], [0, 1], 2, [1], [(1, 0), (1, 0)]),
    )
    yield (
        "a project with no pledge at all (a row of zeros, still in the output)",
        _feature_case([(1, 0), (2, 1), (3, 2)], [0, 1, 1], 2, [1, 2, 3], [(1, 0), (3, 2), (3, 2)]),
    )
    yield (
        "k = 4 but only clusters 0 and 2 used (every cluster gets a column)",
        _feature_case([(5, 0), (5, 1), (6, 2)], [2, 0, 2], 4, [5, 6], [(5, 0), (5, 1), (6, 2)]),
    )
    yield (
        "reward ids that are not row positions (reward_cluster follows the rows)",
        _feature_case(
            [(1, 2), (1, 0), (2, 3), (2, 1)],
            [0, 1, 1, 2],
            3,
            [1, 2],
            [(1, 2), (1, 2), (1, 0), (2, 3), (2, 1), (2, 1), (2, 1)],
        ),
    )
    yield (
        "projects asked in another order than the rewards table",
        _feature_case(
            [(10, 0), (20, 1), (30, 2)], [0, 1, 2], 3, [30, 10, 20], [(10, 0), (20, 1), (30, 2)] * 2
        ),
    )
    yield (
        "no pledge yet (an empty pledges frame, not None: all zeros)",
        _feature_case([(1, 0), (2, 1)], [0, 1], 2, [1, 2], []),
    )
    yield (
        "at launch (pledges=None): rewards per cluster",
        _feature_case([(1, 0), (1, 1), (1, 2), (2, 3)], [0, 0, 1, 1], 3, [1, 2]),
    )
    yield (
        "at launch (pledges=None): a project with no reward",
        _feature_case([(1, 0), (1, 1)], [1, 0], 2, [2, 1]),
    )
    for seed in (1, 2):
        yield f"random data (seed {seed}), 200 pledges", _random_feature_case(seed, False)
        yield f"random data (seed {seed}), at launch", _random_feature_case(seed, True)


def _features_ref(rewards, reward_cluster, k, projects, pledges):
    tab = project_cluster_features(rewards, reward_cluster, k, projects, pledges)
    return tab.to_numpy(np.float64)


def check_cluster_features(fn) -> bool:
    """E1: ``fn(rewards, reward_cluster, k, projects, pledges=None)`` -> a (len(projects), k)
    array or frame: per project (in ``projects`` order) and semantic reward cluster 0..k-1,
    the number of pledges to its rewards of that cluster (Sec. 3.3.1's backer-weighted
    features); with ``pledges=None`` the number of its rewards in each cluster (launch)."""
    return _check(
        dict(_feature_cases()),
        fn,
        _features_ref,
        "E1 (project features from reward clusters)",
        cast=lambda g: np.asarray(g, dtype=np.float64),
        hint="rows follow `projects`, columns the clusters 0..k-1; one pledge row = one backer",
    )


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
