"""The leaderboard reads the committed tables into one long table, keeps one row per
(protocol, model) chosen on validation, and its statistics are right."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys_book import leaderboard as L

RESULTS = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def board():
    return L.load(RESULTS)


def test_every_protocol_has_rows_and_one_row_per_model(board):
    for key, proto in L.PROTOCOLS.items():
        rows = board[board["protocol"] == key]
        assert len(rows) >= 5, key
        assert rows[proto.metric].notna().all(), key
        assert not rows["model"].duplicated().any(), key
    assert set(board.columns) == set(L.COLUMNS)


def test_sdm_row_is_the_validation_choice_of_the_hops_run(board):
    hops = pd.read_csv(RESULTS / "sdmr_hops.csv")
    best = hops.loc[hops["valid NDCG@10"].idxmax()]
    sdm = board[(board["protocol"] == "loo") & (board["model"] == "SDM")].iloc[0]
    assert sdm["source"] == "sdmr"
    assert sdm["HR@10"] == pytest.approx(best["HR@10"])
    assert sdm["valid NDCG@10"] == pytest.approx(best["valid NDCG@10"])
    assert sdm["config"].startswith(f"hops {int(best['hops'])} (chosen on validation")


def test_duplicates_are_resolved_on_validation_never_on_test(tmp_path):
    for f in RESULTS.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    base = pd.read_csv(tmp_path / "baselines.csv", index_col=0)
    sdmr = pd.read_csv(tmp_path / "sdmr.csv")
    # make sdmr's MF-BPR better on test but worse on validation than every other MF-BPR row
    i = sdmr.index[sdmr["model"] == "MF-BPR"][0]
    sdmr.loc[i, ["HR@10", "valid NDCG@10"]] = [0.99, 0.01]
    sdmr.to_csv(tmp_path / "sdmr.csv", index=False)
    b = L.load(tmp_path)
    mf = b[(b["protocol"] == "loo") & (b["model"] == "MF-BPR")].iloc[0]
    assert mf["HR@10"] != 0.99 and mf["source"] != "sdmr"
    # and better on validation: then it wins
    sdmr.loc[i, "valid NDCG@10"] = 0.99
    sdmr.to_csv(tmp_path / "sdmr.csv", index=False)
    b = L.load(tmp_path)
    mf = b[(b["protocol"] == "loo") & (b["model"] == "MF-BPR")].iloc[0]
    assert mf["HR@10"] == 0.99 and mf["source"] == "sdmr"
    assert "MF-BPR" in base.index


def test_missing_table_names_the_command(tmp_path):
    for f in RESULTS.glob("*.csv"):
        if f.name != "corml.csv":
            shutil.copy(f, tmp_path / f.name)
    with pytest.raises(L.MissingResults, match="reproduce corml"):
        L.load(tmp_path)


def test_paper_numbers_agree_with_the_committed_tables(board):
    # the paper columns the experiments wrote are SDMR Table 3 as in the constant
    for stem in ("baselines", "sdmr"):
        t = pd.read_csv(RESULTS / f"{stem}.csv")
        t = t.rename(columns={t.columns[0]: "model"})
        for _, r in t.dropna(subset=["paper HR@10"]).iterrows():
            name = L._paper_name(r["model"])
            assert name is not None, r["model"]
            assert L.SDMR_TABLE3[name] == pytest.approx((r["paper HR@10"], r["paper NDCG@10"]))
    loo = board[board["protocol"] == "loo"]
    assert loo.loc[loo["model"] == "SDM", "paper HR@10"].item() == 0.713
    assert board.loc[board["protocol"] != "loo", "paper HR@10"].isna().all()


def test_table_sorts_by_the_protocol_metric(board):
    t = L.table(board, "random_full")
    assert t["NDCG@10"].is_monotonic_decreasing
    assert "HR@10" not in t.columns  # empty columns dropped
    with pytest.raises(KeyError, match="unknown protocol"):
        L.table(board, "loo100")


def _sign_p(w, l):
    n, k = w + l, min(w, l)
    return 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


@pytest.mark.parametrize(
    "w,l,ties", [(5, 0, 0), (0, 5, 3), (7, 3, 2), (10, 10, 0), (0, 0, 4), (40, 25, 9)]
)
def test_sign_test_is_the_exact_binomial(w, l, ties):
    a = np.r_[np.ones(w), np.zeros(l), np.full(ties, 0.5)]
    b = np.r_[np.zeros(w), np.ones(l), np.full(ties, 0.5)]
    wins, losses, p = L.sign_test(a, b)
    assert (wins, losses) == (w, l)
    assert p == pytest.approx(_sign_p(w, l), rel=1e-9)
    assert L.sign_test(b, a)[2] == pytest.approx(p, rel=1e-12)  # two-sided: symmetric


def test_sign_test_large_n_and_bad_input():
    wins, losses, p = L.sign_test(
        np.r_[np.ones(600), np.zeros(400)], np.r_[np.zeros(600), np.ones(400)]
    )
    assert 0 < p < 1e-9
    with pytest.raises(ValueError, match="same length"):
        L.sign_test([1, 2], [1, 2, 3])


def test_pareto_front():
    pts = {"a": (0.4, 0.2), "b": (0.3, 0.3), "c": (0.3, 0.1), "d": (0.4, 0.2), "e": (0.1, 0.3)}
    # c is dominated by a (and b); e by b; a and d are equal: both stay
    assert L.pareto_front(pts) == ["a", "d", "b"]
    assert L.pareto_front({"x": (1.0, 1.0)}) == ["x"]
    with pytest.raises(ValueError, match="finite"):
        L.pareto_front({"x": (float("nan"), 1.0)})


def test_figures_are_labelled(board):
    for fig in (
        L.figure_accuracy_time(board, "loo"),
        L.figure_accuracy_time(board, "random_full"),
        L.figure_accuracy_novelty(board),
        L.figure_paper_vs_ours(board),
    ):
        assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
        assert len(fig.data) >= 1 and len(fig.data[0].x) >= 3
    nov = L.figure_accuracy_novelty(board)
    assert len(nov.data[1].x) == len(
        L.pareto_front(
            {
                m: (n, a)
                for m, n, a in board.loc[
                    board.protocol == "random_full", ["model", "Novelty@10", "NDCG@10"]
                ].values
            }
        )
    )
