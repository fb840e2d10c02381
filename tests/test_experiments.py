"""Smoke runs of every ``python -m recsys_book reproduce NAME`` on planted data (``--quick``):
the files land in ``--out``, hold the rows and columns of the paper's table, and say the
command that made them. The real tables (results/*.md) come from the full runs."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Sparse:UserWarning")


def test_reproduce_baselines_smoke(tmp_path):
    from recsys_book.experiments.baselines import main

    rc = main(["--quick", "--planted", "--models", "Item-KNN", "MF-BPR", "--out", str(tmp_path)])
    assert rc == 0
    md = (tmp_path / "baselines_smoke.md").read_text()
    assert "python -m recsys_book reproduce baselines --quick --planted" in md
    assert "| model | selected config | valid NDCG@10 | test HR@10 |" in md
    table = pd.read_csv(tmp_path / "baselines_smoke.csv", index_col=0)
    assert list(table.index) == ["Popularity", "Item-KNN", "MF-BPR"]
    assert table.loc["MF-BPR", "paper HR@10"] == pytest.approx(0.554)
    assert table.loc["Item-KNN", "test HR@10"] > table.loc["Popularity", "test HR@10"]
    grid = pd.read_csv(tmp_path / "baselines_smoke_grid.csv")
    assert set(grid["model"]) == {"Item-KNN", "MF-BPR"}
    assert len(grid) == 2  # --quick: one configuration per model
    with pytest.raises(SystemExit):
        main(["--models", "NotAModel", "--out", str(tmp_path)])


def test_reproduce_corml_smoke(tmp_path):
    from recsys_book.experiments.corml import COLS, main

    assert main(["--quick", "--planted", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "corml_smoke.csv", index_col=0)
    models = [
        "Popularity",
        "ItemKNN",
        "EASE",
        "GF-CF",
        "CoRML (authors' defaults)",
        "CoRML (tuned on valid)",
        "CoRML (tuned, 64-dim storage)",
    ]
    assert list(table.index) == models + ["CoRML t sweep"] * 5
    assert set(COLS) <= set(table.columns)
    assert table.loc["EASE", "params"] == "reg=50"  # --quick: the first grid value
    assert table.loc["CoRML (tuned on valid)", "NDCG@10"] > table.loc["Popularity", "NDCG@10"]
    grid = pd.read_csv(tmp_path / "corml_smoke_grid.csv")
    # one value per knob: EASE, GF-CF, then CoRML's three coordinate stages
    assert list(grid["model"]) == ["EASE", "GF-CF", "CoRML", "CoRML", "CoRML"]
    md = (tmp_path / "corml_smoke.md").read_text()
    assert "reproduce corml --quick --planted" in md
    assert "## Normalization strength t (Fig. 2), test part" in md
    assert md.count("\n| ") >= 1 + len(models) + 1 + 5  # two tables, header rows included


def test_reproduce_masr_smoke(tmp_path):
    from recsys_book.experiments.masr import main

    assert main(["--quick", "--datasets", "planted", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "masr.csv").exists()  # a smoke run never overwrites the real table
    table = pd.read_csv(tmp_path / "masr_smoke.csv", index_col=[0, 1])
    datasets = set(table.index.get_level_values("dataset"))
    assert datasets == {"planted playlists (100 users, 300 songs)"}
    models = set(table.index.get_level_values("model"))
    for name in (
        "Popularity",
        "MDR",
        "MASS",
        "MASR",
        "AMDR",
        "AMASS",
        "AMASR",
        "A(fixed)MASR",
        "MASR +BPR epochs",
        "MDR_us",
        "MASS nonmem-dot",
    ):
        assert name in models
    assert {"HR@10", "NDCG@10", "valid NDCG@10", "train s"} <= set(table.columns)
    assert table["HR@10"].between(0, 1).all()
    md = (tmp_path / "masr_smoke.md").read_text()
    assert "reproduce masr --quick --datasets planted" in md
    assert "2 BPR epochs, 1 APR epochs" in md
    assert "| paper's ordering | holds here | NDCG@10 / HR@10 |" in md
    with pytest.raises(SystemExit):
        main(["--datasets", "nowhere", "--out", str(tmp_path)])


def test_reproduce_rme_smoke(tmp_path):
    from recsys_book.experiments.rme import MAIN, main

    assert main(["--quick", "--planted", "--out", str(tmp_path)]) == 0
    df = pd.read_csv(tmp_path / "rme_smoke.csv")
    models = [
        "Popularity",
        "Item2Vec",
        "Item-KNN",
        "WMF",
        "Cofactor",
        "U_RME",
        "I_RME",
        "RME",
        "RME (Alg. 2, implicit)",
    ]
    assert list(df["model"]) == models  # --quick: one split
    assert set(df["seed"]) == {0}
    assert set(MAIN) <= set(df.columns)
    assert (df.loc[df["model"] == "RME", "lambda"] == 0.1).all()  # the grid's first lambda
    rme = df.set_index("model")
    assert rme.loc["RME", "NDCG@20"] > rme.loc["Popularity", "NDCG@20"]
    md = (tmp_path / "rme_smoke.md").read_text()
    assert md.startswith("# RME, Table 4.2 on planted explicit ratings")
    assert "reproduce rme --quick --planted" in md
    assert "## Algorithm 2" in md
    with pytest.raises(SystemExit):
        main(["--seeds", "0", "--out", str(tmp_path)])


def test_write_results_keeps_a_named_integer_index(tmp_path):
    # pandas turns set_index("hops") on 1..n into a RangeIndex: the column must still be written
    from recsys_book.experiments._common import write_results

    hops = pd.DataFrame([{"hops": h, "NDCG@10": 0.1 * h} for h in (1, 2, 3)]).set_index("hops")
    plain = pd.DataFrame({"a": [1, 2]})
    write_results(tmp_path, "t", {"": hops, "_plain": plain})
    assert list(pd.read_csv(tmp_path / "t.csv").columns) == ["hops", "NDCG@10"]
    assert list(pd.read_csv(tmp_path / "t_plain.csv").columns) == ["a"]
