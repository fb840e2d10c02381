"""Chapter 08 exercises: every solution passes its checker; every checker rejects a wrong one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_book.crowdfunding.semantic import project_cluster_features
from recsys_book.exercises import ch08

SOL_PATH = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "ch08.py"
_spec = importlib.util.spec_from_file_location("ch08_solutions", SOL_PATH)
sol = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sol)


def test_solutions_pass():
    assert ch08.check_cluster_features(sol.my_cluster_features) is True
    assert ch08.check_observed(sol.my_observed) is True
    assert ch08.check_nrmse(sol.my_nrmse) is True


def test_e1_accepts_a_frame_like_the_library():  # a DataFrame answer is read as its values
    assert ch08.check_cluster_features(project_cluster_features) is True


def _crosstab(keys, k, projects):
    return pd.crosstab(keys["project_id"], keys["c"]).reindex(
        index=list(projects), columns=range(k), fill_value=0
    )


def _rewards_not_backers(rewards, reward_cluster, k, projects, pledges=None):
    # counts each project's rewards per cluster at every time point: no backer weighting
    return sol.my_cluster_features(rewards, reward_cluster, k, projects, None)


def _cluster_by_reward_id(rewards, reward_cluster, k, projects, pledges=None):
    # reward_cluster indexed by reward_id, as if ids were row positions
    if pledges is None:
        return sol.my_cluster_features(rewards, reward_cluster, k, projects, None)
    keys = pledges[["project_id"]].assign(c=np.asarray(reward_cluster)[pledges["reward_id"]])
    return _crosstab(keys, k, projects)


def _pledged_projects_only(rewards, reward_cluster, k, projects, pledges=None):
    # crosstab without reindexing the rows: projects without a pledge vanish
    out = sol.my_cluster_features(rewards, reward_cluster, k, projects, pledges)
    if pledges is None:
        return out
    return out[np.isin(projects, pledges["project_id"].unique())]


def _clusters_seen_only(rewards, reward_cluster, k, projects, pledges=None):
    # one column per cluster that occurs, not per cluster 0..k-1
    out = sol.my_cluster_features(rewards, reward_cluster, k, projects, pledges)
    return out[:, np.unique(reward_cluster)]


def _empty_as_launch(rewards, reward_cluster, k, projects, pledges=None):
    # "no pledges" read as "at launch": counts rewards when the frame is empty
    if pledges is not None and len(pledges) == 0:
        pledges = None
    return sol.my_cluster_features(rewards, reward_cluster, k, projects, pledges)


def _strict_cutoff(events, projects, tp):  # "<" drops the events on the cutoff day
    out = sol.my_observed(events, projects, tp)
    f = projects.set_index("project_id")
    cut = {
        "TP1": 0 * f.fund_days,
        "TP2": f.fund_days / 2,
        "TP3": f.fund_days,
        "TP4": f.fund_days + 0.05 * f.ledd_days,
    }[tp]
    return out[out["day"].to_numpy() < cut.reindex(out["project_id"]).to_numpy()]


def _tp4_of_fundraising(events, projects, tp):  # TP4 as 5 % of the fundraising phase
    if tp != "TP4":
        return sol.my_observed(events, projects, tp)
    f = projects.set_index("project_id")["fund_days"].astype(float) * 1.05
    return events[events["day"].to_numpy() <= f.reindex(events["project_id"]).to_numpy()]


def _nrmse_by_std(y, pred):  # normalising by the standard deviation
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    rmse = np.sqrt(np.mean((pred - y) ** 2))
    return rmse / y.std(), rmse / y.mean()


def _nrmse_mae(y, pred):  # MAE in place of RMSE
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    mae = np.mean(np.abs(pred - y))
    return mae / (y.max() - y.min()), mae / y.mean()


@pytest.mark.parametrize(
    "checker,wrong,case",
    [
        (ch08.check_cluster_features, _rewards_not_backers, "one reward, three backers"),
        (ch08.check_cluster_features, _cluster_by_reward_id, "not row positions"),
        (ch08.check_cluster_features, _pledged_projects_only, "a project with no pledge"),
        (ch08.check_cluster_features, _clusters_seen_only, "only clusters 0 and 2 used"),
        (ch08.check_cluster_features, _empty_as_launch, "an empty pledges frame"),
        (ch08.check_observed, _strict_cutoff, "toy data with events on the cutoffs, TP2"),
        (ch08.check_observed, _tp4_of_fundraising, "toy data with events on the cutoffs, TP4"),
        (ch08.check_nrmse, _nrmse_by_std, "random durations"),
        (ch08.check_nrmse, _nrmse_mae, "random durations"),
    ],
)
def test_checkers_reject_wrong_answers_and_name_the_case(checker, wrong, case):
    with pytest.raises(AssertionError, match="(?s)expected .* got") as err:
        checker(wrong)
    assert case in str(err.value)


@pytest.mark.parametrize(
    "checker", [ch08.check_cluster_features, ch08.check_observed, ch08.check_nrmse]
)
def test_unanswered(checker):
    with pytest.raises(AssertionError, match="not answered yet"):
        checker(lambda *a: None)
