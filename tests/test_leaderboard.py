"""The leaderboard reads every experiment's result rows (one schema, recsys_book.results)
into one long table, keeps one line per (protocol, model) chosen on validation, and its
statistics are right."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from recsys_book import leaderboard as L
from recsys_book import published
from recsys_book.results import ResultsFile, Row

RESULTS = Path(__file__).resolve().parents[1] / "results"
DATASET = "MovieLens-100k"


def _add(out, stem, model, cfg, seed, valid, test, smoke=False, dataset=DATASET, protocol="loo", best=(None, None)):
    store = ResultsFile(out, stem, smoke)
    valid = {"NDCG@10": valid} if not isinstance(valid, dict) else valid
    store.add(Row(stem, protocol, dataset, model, cfg, seed, valid=valid, test=test, smoke=smoke,
                  best_epoch=best[0], max_epochs=best[1], train_s=1.5))


def _folder(tmp_path):
    """Every source of every protocol, five models each, in the schema."""
    for key, proto in L.PROTOCOLS.items():
        for stem in proto.sources:
            names = ["Item-KNN", "SLIM", "CML", "EASE", "Popularity"] if stem == "baselines" else None
            for i in range(5):
                name = names[i] if names else f"{stem}-m{i}"
                test = {proto.metric: 0.1 * (i + 1), "NDCG@10": 0.05 * (i + 1), "Novelty@10": 1 - 0.1 * i}
                _add(tmp_path, stem, name, {"k": 1}, 0, {proto.select_on.replace("valid ", ""): 0.1 * i}, test, protocol=key)
    return tmp_path


@pytest.fixture
def folder(tmp_path):
    return _folder(tmp_path)


@pytest.fixture
def board(folder):
    return L.load(folder)


def test_the_committed_results_load():
    b = L.load(RESULTS)
    assert set(b.columns) == set(L.COLUMNS)
    for key, proto in L.PROTOCOLS.items():
        rows = b[b["protocol"] == key]
        assert len(rows) >= 4, key
        assert rows[proto.metric].notna().all(), key
        assert not rows["model"].duplicated().any(), key
    loo = b[b["protocol"] == "loo"]
    assert loo.loc[loo["model"] == "SDM", "paper HR@10"].item() == published.value("SDMR", "Table 3", "SDM", "HR@10")
    assert b.loc[b["protocol"] != "loo", "paper HR@10"].isna().all()
    assert b["commit"].str.len().gt(0).all()


def test_every_protocol_has_its_lines_and_one_line_per_model(board):
    for key, proto in L.PROTOCOLS.items():
        rows = board[board["protocol"] == key]
        assert len(rows) == 5 * len(proto.sources), key
        assert not rows["model"].duplicated().any(), key
    assert set(board.columns) == set(L.COLUMNS)


def test_a_model_is_its_configuration_chosen_on_validation_over_its_seeds(folder):
    # m9: config a is better on test, b on validation (seed 0); b is retrained at seeds 1, 2
    _add(folder, "baselines", "m9", {"k": "a"}, 0, 0.2, {"HR@10": 0.99, "NDCG@10": 0.9})
    for s, hr in enumerate((0.5, 0.6, 0.7)):
        _add(folder, "baselines", "m9", {"k": "b"}, s, 0.3 + s, {"HR@10": hr, "NDCG@10": 0.4}, best=(7, 10))
    line = L.load(folder).set_index("model").loc["m9"]
    assert line["HR@10"] == pytest.approx(0.6) and line["seeds"] == 3
    assert line["HR@10 std"] == pytest.approx(np.std([0.5, 0.6, 0.7], ddof=1))
    assert line["config"] == "k=b" and not line["still improving"]


def test_a_line_says_when_a_run_was_still_improving(folder):
    _add(folder, "baselines", "m9", {"k": 1}, 0, 0.2, {"HR@10": 0.5}, best=(10, 10))
    assert L.load(folder).set_index("model").loc["m9", "still improving"]


def test_duplicates_across_tables_are_resolved_on_validation_never_on_test(folder):
    _add(folder, "baselines", "MF-BPR", {"k": 1}, 0, 0.30, {"HR@10": 0.50})
    _add(folder, "sdmr", "MF-BPR", {"k": 2}, 0, 0.01, {"HR@10": 0.99})
    mf = L.load(folder).set_index("model").loc["MF-BPR"]
    assert mf["HR@10"] == 0.50 and mf["source"] == "baselines"
    _add(folder, "sdmr", "MF-BPR", {"k": 2}, 0, 0.99, {"HR@10": 0.99})
    mf = L.load(folder).set_index("model").loc["MF-BPR"]
    assert mf["HR@10"] == 0.99 and mf["source"] == "sdmr"


def test_smoke_and_planted_rows_stay_off_the_board(folder):
    _add(folder, "baselines", "planted-only", {"k": 1}, 0, 0.9, {"HR@10": 0.9}, dataset="planted_implicit")
    _add(folder, "baselines", "smoke-only", {"k": 1}, 0, 0.9, {"HR@10": 0.9}, smoke=True)  # baselines_smoke.csv
    models = set(L.load(folder)["model"])
    assert "planted-only" not in models and "smoke-only" not in models


def test_missing_table_names_the_command(folder):
    (folder / "corml.csv").unlink()
    with pytest.raises(L.MissingResults, match="reproduce corml"):
        L.load(folder)


def test_a_table_in_an_older_layout_is_an_error_that_says_so(folder):
    (folder / "corml.csv").write_text("model,NDCG@10\nEASE,0.4\n")
    with pytest.raises(ValueError, match="not a results file of this schema"):
        L.load(folder)


def test_paper_numbers_come_from_published(folder):
    _add(folder, "baselines", "CML (hinge)", {"k": 1}, 0, 0.3, {"HR@10": 0.6})
    _add(folder, "sdmr", "SDMR", {"k": 1}, 0, 0.3, {"HR@10": 0.6})
    b = L.load(folder).set_index("model")
    t3 = published.table("SDMR", "Table 3")
    assert b.loc["CML (hinge)", "paper HR@10"] == t3["CML"]["HR@10"]
    assert b.loc["SDMR", "paper NDCG@10"] == t3["SDMR"]["NDCG@10"]
    assert b.loc["EASE", ["paper HR@10", "paper NDCG@10"]].isna().all()
    assert b.loc["SLIM", "paper HR@10"] == t3["SLIM"]["HR@10"]


def test_table_sorts_by_the_protocol_metric(board):
    t = L.table(board, "random_full")
    assert t["NDCG@10"].is_monotonic_decreasing
    assert "MRR@10" not in t.columns  # empty columns dropped
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


def test_labels_are_placed_without_overlap_and_crowded_ones_go_to_the_hover(board):
    """place_labels: spread points all get a label; points on top of each other share the
    free spots around them, one label each (the rest keep their names in the hover text);
    the committed leave-one-out figure labels most of its models (chapter 09's crowded plot)."""
    pos, text = L.place_labels([1, 2, 3], [1, 2, 3], ["a", "b", "c"])
    assert text == ["a", "b", "c"] and all(p in {s for s, _, _ in L._SPOTS} for p in pos)
    pos, text = L.place_labels([1] * 6 + [3], [1] * 6 + [3], [f"a long label {i}" for i in range(6)] + ["d"])
    placed = [p for p, t in zip(pos[:6], text[:6]) if t]
    assert text[6] == "d" and 1 <= len(placed) < 6 and len(set(placed)) == len(placed)  # one spot each
    fig = L.figure_accuracy_time(board, "loo")
    shown = [t for t in fig.data[0].text if t]
    assert len(shown) >= 0.8 * len(fig.data[0].text) and len(set(shown)) == len(shown)
    assert set(fig.data[0].hovertext) >= set(shown)


def test_labels_are_placed_for_the_axes_a_live_trace_will_widen(board):
    """A label that does not fit right of the last point goes left; once the axes are known
    to reach further (``include_x``, where a live trace will go), it fits above. The
    novelty figure hands such points to plotly's autorange, so its axes (and the labels
    placed for them) stay put while chapter 09's EASE slider adds points."""
    assert L.place_labels([0, 1], [0, 0], ["a", "a long label here"])[0][1] != "top center"
    assert L.place_labels([0, 1], [0, 0], ["a", "a long label here"], include_x=[3])[0][1] == "top center"
    ends = [(0.30, 0.25), (0.20, 0.36)]
    fig = L.figure_accuracy_novelty(board, include=ends)
    assert list(fig.layout.xaxis.autorangeoptions.include) == [0.30, 0.20]
    assert list(fig.layout.yaxis.autorangeoptions.include) == [0.25, 0.36]
    t = board[(board.protocol == "random_full") & board["Novelty@10"].notna()]
    assert list(fig.data[0].textposition) == L.place_labels(
        t["Novelty@10"], t["NDCG@10"], list(t["model"]), include_x=[0.30, 0.20], include_y=[0.25, 0.36]
    )[0]
    assert L.figure_accuracy_novelty(board).layout.xaxis.autorangeoptions.include is None
