"""Smoke runs of every ``python -m recsys_book reproduce NAME`` on planted data (``--quick``):
the files land in ``--out``, hold the rows and columns of the paper's table, and say the
command that made them. The real tables (results/*.md) come from the full runs."""

from __future__ import annotations

from functools import partial

import pandas as pd
import pytest

from recsys_book.experiments._runner import reproduce

pytestmark = pytest.mark.filterwarnings("ignore:Sparse:UserWarning")


def test_reproduce_baselines_smoke(tmp_path):
    main = partial(reproduce, "baselines")
    from recsys_book.results import read, selected

    rc = main(["--quick", "--planted", "--models", "Item-KNN", "MF-BPR", "--out", str(tmp_path)])
    assert rc == 0
    md = (tmp_path / "baselines_smoke.md").read_text()
    assert "python -m recsys_book reproduce baselines --quick --planted" in md
    assert "| model | chosen config | kept epochs | valid NDCG@10 | test HR@10 |" in md
    rows = read(tmp_path / "baselines_smoke.csv")
    assert set(rows["model"]) == {"Item-KNN", "MF-BPR"} and rows["smoke"].all()
    # --quick: one configuration; MF-BPR at 3 seeds (the chosen one), Item-KNN closed form
    assert list(rows["model"]) == ["Item-KNN", "MF-BPR", "MF-BPR", "MF-BPR"]
    mf = selected(rows).set_index("model").loc["MF-BPR"]
    assert (mf["max_epochs"] == 3).all() and "| 0.554 |" in md  # the paper's column
    assert rows.loc[rows.model == "Item-KNN", "test HR@10"].iloc[0] > 0.2
    with pytest.raises(SystemExit):
        main(["--models", "NotAModel", "--out", str(tmp_path)])


def test_reproduce_corml_smoke(tmp_path):
    from recsys_book.experiments.corml import EXPERIMENT

    main = partial(reproduce, "corml")
    from recsys_book.results import read

    assert main(["--quick", "--planted", "--out", str(tmp_path)]) == 0
    rows = read(tmp_path / "corml_smoke.csv")
    assert list(rows["model"]) == [c.name for c in EXPERIMENT.candidates]  # one row each
    assert {"test NDCG@10", "test MRR@10", "test Novelty@10", "valid NDCG@10"} <= set(rows)
    by = rows.set_index("model")
    assert by.loc["EASE", "config"] == '{"reg": 50.0}'  # --quick: the first grid value
    assert by.loc["CoRML (tuned on valid)", "test NDCG@10"] > by.loc["Popularity", "test NDCG@10"]
    assert '"storage_dim": 64' in by.loc["CoRML (64-dim storage)", "config"]  # from the tuned choice
    md = (tmp_path / "corml_smoke.md").read_text()
    assert "reproduce corml --quick --planted" in md
    assert "## Normalization strength t (Fig. 2)" in md


def test_reproduce_masr_smoke(tmp_path):
    from recsys_book.experiments.masr import main
    from recsys_book.results import read

    assert main(["--quick", "--datasets", "planted", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "masr.csv").exists()  # a smoke run never overwrites the real table
    rows = read(tmp_path / "masr_smoke.csv")
    assert rows["smoke"].all() and set(rows["experiment"]) == {"masr"}
    assert set(rows["dataset"]) == {"planted playlists (100 users, 300 songs)"}
    by = rows.set_index("model")
    for name in ("Popularity", "MDR", "MASS", "MASR", "AMDR", "AMASS", "AMASR", "A(fixed)MASR",
                 "MASR +BPR epochs", "MDR_us", "MASS nonmem-dot"):
        assert f"planted: {name}" in by.index
    assert not by.index.str.startswith("ML-100k").any()
    assert {"test HR@10", "test NDCG@10", "valid NDCG@10"} <= set(rows)
    assert rows["test HR@10"].between(0, 1).all()
    # --quick: 2 BPR epochs, 1 APR epoch, one seed, the first value of each grid (lr 1e-3, L2 0)
    assert by.loc["planted: MDR", "config"] == '{"dim": 32, "lr": 0.001, "reg": 0.0}'
    assert by.loc["planted: MDR", "max_epochs"] == 2 and by.loc["planted: AMDR", "max_epochs"] == 1
    assert '"noise": "fixed", "reg": 0.0' in by.loc["planted: A(fixed)MDR", "config"]
    assert by.loc["planted: MF-BPR", "config"] == '{"dim": 32, "lr": 0.001, "side": "user"}'  # first side only
    assert by["test PMI r"].notna().sum() == 4  # MASS and its three attention variants
    md = (tmp_path / "masr_smoke.md").read_text()
    assert "reproduce masr --quick" in md and "## planted playlists" in md
    assert "| planted: AMASR > planted: MASR |" in md.replace("Tables 4.4-4.6: ", "")
    assert "PMI-attention Pearson correlation" in md
    with pytest.raises(SystemExit):
        main(["--datasets", "nowhere", "--out", str(tmp_path)])


def test_reproduce_rme_smoke(tmp_path):
    from recsys_book.experiments import rme
    from recsys_book.results import read

    assert rme.main(["--quick", "--planted", "--out", str(tmp_path)]) == 0
    rows = read(tmp_path / "rme_smoke.csv")
    assert list(rows["model"]) == [c.name for c in rme.CANDIDATES]  # --quick: one split
    assert set(rows["seed"]) == {0} and set(rows["protocol"]) == {"explicit_temporal"}
    assert {f"test {m}" for m in rme.MAIN} <= set(rows) and "valid NDCG@100" in rows
    by = rows.set_index("model")
    # each ALS model its own lambda grid; --quick keeps its first value; Alg. 2 takes RME's
    first = rme.LAMBDAS[0]
    for m in ("RME", "WMF", "Cofactor", "U_RME", "I_RME"):
        assert by.loc[m, "config"] == f'{{"k": 40, "lam": {first}}}' and by.loc[m, "max_epochs"] == 2
    assert by.loc["RME (Alg. 2, implicit)", "config"] == f'{{"k": 40, "lam": {first}, "tau": 0.2}}'
    assert by.loc["RME", "test NDCG@20"] > by.loc["Popularity", "test NDCG@20"]
    assert by[["test Recall@5 cold", "test Recall@5 active"]].notna().all().all()
    md = (tmp_path / "rme_smoke.md").read_text()
    assert md.startswith("# RME, Table 4.2") and "reproduce rme --quick --planted" in md
    assert "## Algorithm 2" in md and "| RME beats WMF (Table 4.2): RME > WMF |" in md
    # a second identical run skips every row already written (the file is left as it was)
    before = (tmp_path / "rme_smoke.csv").read_text()
    assert rme.main(["--quick", "--planted", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "rme_smoke.csv").read_text() == before
    # the random protocol is another table
    assert rme.main(["--protocol", "random", "--quick", "--planted", "--out", str(tmp_path)]) == 0
    rnd = read(tmp_path / "rme_random_smoke.csv")
    assert set(rnd["protocol"]) == {"explicit_random"} and len(rnd) == len(rows)
    assert "reproduce rme_random --quick --planted" in (tmp_path / "rme_random_smoke.md").read_text()
    with pytest.raises(SystemExit):
        rme.main(["--protocol", "sideways", "--out", str(tmp_path)])


def test_reproduce_sdmr_smoke_and_a_rerun_skips_its_rows(tmp_path):
    from recsys_book.experiments.sdmr import EXPERIMENT, TIES

    main = partial(reproduce, "sdmr")
    from recsys_book.results import read

    args = ["--quick", "--planted", "--seeds", "2", "--out", str(tmp_path)]
    assert main(args) == 0
    rows = read(tmp_path / "sdmr_smoke.csv")
    # --quick: the first value of each grid; every trained model at both seeds, Item-KNN once
    assert list(rows["model"]) == [n for c in EXPERIMENT.candidates for n in [c.name] * (2 if c.seeds else 1)]
    assert [c.name for c in EXPERIMENT.candidates if not c.seeds] == ["Item-KNN", "SDM-h, d (Fig. 6)"]
    by = rows[rows["seed"] == 0].set_index("model")
    assert by.loc["SDM", "config"] == '{"hops": 3, "recipe": "2 negatives, mean, 10 epochs"}'
    assert by.loc["SDMR (Eq. 19)", "config"] == '{"beta": 0.1}'
    # the tie rules are test columns of SDM and SDMR only
    assert by.loc[["SDM", "SDMR"], [f"test {t}" for t in TIES]].notna().all().all()
    sdm_like = ["SDM", "SDMR", "SDMR (no ReLU)", "SDM-h, d (Fig. 6)"]  # the Fig. 6 sweep's models are SDMs
    assert by[[f"test {t}" for t in TIES]].drop(index=sdm_like).isna().all().all()
    md = (tmp_path / "sdmr_smoke.md").read_text()
    assert "reproduce sdmr --quick --planted --seeds 2" in md and "| SDM | hops=3, recipe=2 negatives" in md
    for head in ("## SDM recipe ablation", "## SDM-h: hops", "over training seeds", "## Ties", "## The paper's claims"):
        assert head in md, head
    assert not (tmp_path / "sdmr.csv").exists()
    assert main(args) == 0  # every row already written by this code: nothing is retrained
    again = read(tmp_path / "sdmr_smoke.csv")
    pd.testing.assert_frame_equal(again, rows)
