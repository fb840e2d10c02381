"""Chapter 08 exercises: every solution passes its checker; every checker rejects a wrong one."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from recsys_book.exercises import ch08

SOL_PATH = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "ch08.py"
_spec = importlib.util.spec_from_file_location("ch08_solutions", SOL_PATH)
sol = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sol)


def test_solutions_pass():
    assert ch08.check_bic(sol.my_bic) is True
    assert ch08.check_observed(sol.my_observed) is True
    assert ch08.check_nrmse(sol.my_nrmse) is True


def _squared_bic(x, labels, centers, n):  # k-means' squared distances instead of Eq. (3.1)'s
    x, centers = np.asarray(x, float), np.asarray(centers, float)
    d2 = ((x - centers[np.asarray(labels)]) ** 2).sum(1)
    return float(d2.sum() + math.log(n) * x.shape[1] * len(centers))


def _bic_n_points(x, labels, centers, n):  # log of the number of points, not of rewards
    return sol.my_bic(x, labels, centers, len(x))


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
        (ch08.check_bic, _squared_bic, "random K=1"),
        (ch08.check_bic, _bic_n_points, "random K=1"),
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


@pytest.mark.parametrize("checker", [ch08.check_bic, ch08.check_observed, ch08.check_nrmse])
def test_unanswered(checker):
    with pytest.raises(AssertionError, match="not answered yet"):
        checker(lambda *a: None)
