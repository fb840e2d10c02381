"""QUALE / QUASE / QUALSE / QABPR (dissertation Ch. 5.3.3) and their real counterparts."""

import math

import numpy as np
import pytest
import torch

from recsys_book.adversarial import QABPR
from recsys_book.data.planted import planted_long_short
from recsys_book.data.splits import add_long_short_context, long_term_length, temporal_global
from recsys_book.evaluate import evaluate
from recsys_book.models import quaternion as Q
from recsys_book.models.base import Popularity
from recsys_book.models.qualse import (
    AASVD,
    AGRU,
    ALSTM,
    ALSTMAASVD,
    MODELS,
    QUALE,
    QUALSE,
    QUASE,
)
from recsys_book.train import bpr_loss, fit


def _inputs(B=6, s=5, l=7, n_items=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    ctx = torch.randint(0, n_items, (B, s), generator=g)
    lctx = torch.randint(0, n_items, (B, l), generator=g)
    cm = torch.rand(B, s, generator=g) > 0.3
    lm = torch.rand(B, l, generator=g) > 0.3
    cm[0] = False  # a row with no short-term item
    lm[1] = False  # a row with no long-term item
    ctx[~cm], lctx[~lm] = n_items, n_items
    return dict(context=ctx, context_mask=cm, long_context=lctx, long_context_mask=lm)


@pytest.fixture(scope="module")
def planted():
    inter, truth = planted_long_short(n_users=60, n_items=80, n_clusters=4, length=(10, 25))
    split = add_long_short_context(temporal_global(inter, n_negatives=30), s=5)
    return split, truth


def test_planted_long_short_truth():
    inter, truth = planted_long_short(n_users=50, n_items=100, seed=3)
    df = inter.df
    src = truth["source"]
    assert len(src) == len(df) and 0.2 < src.mean() < 0.8
    prev = df.groupby("user")["item"].shift(1).to_numpy()
    short = src == 1
    assert np.all(df["item"].to_numpy()[short] == truth["successor"][prev[short].astype(int)])
    long_rows = ~short
    assert np.all(
        truth["item_cluster"][df["item"].to_numpy()[long_rows]]
        == truth["user_cluster"][df["user"].to_numpy()[long_rows]]
    )
    assert not df.duplicated(["user", "item"]).any()


def test_long_short_context_is_disjoint_and_l_is_the_whisker(planted):
    split, _ = planted
    counts = np.bincount(split.train.df["user"], minlength=split.n_users)
    counts = counts[counts > 0]
    q1, q3 = np.percentile(counts, [25, 75])
    assert long_term_length(split.train) == int(np.floor(q3 + 1.5 * (q3 - q1)))
    inp = split.test.inputs
    l = split.train.meta["l"]
    assert inp["long_context"].shape[1] == l and inp["context"].shape[1] == 5
    hist = split.history.df
    r = int(split.test.rows[-1])  # a late row: full contexts
    u = hist["user"].iat[r]
    before = hist["item"].to_numpy()[:r][hist["user"].to_numpy()[:r] == u]
    assert inp["context"][-1].tolist() == before[-5:].tolist()
    want_long = before[:-5][-l:]
    got_long = inp["long_context"][-1][inp["long_context_mask"][-1]].tolist()
    assert got_long == want_long.tolist()


@pytest.mark.parametrize("quaternion", [True, False])
def test_fast_attention_equals_the_literal_equations(quaternion):
    m = (QUALE if quaternion else AASVD)(5, 20, dim=16)
    g = torch.Generator().manual_seed(1)
    keys, q = torch.randn(4, 7, 16, generator=g), torch.randn(4, 16, generator=g)
    mask = torch.rand(4, 7, generator=g) > 0.4
    u1, a1 = m._attend(keys, q, mask)
    u2, a2 = m._attend_reference(keys, q, mask)
    torch.testing.assert_close(u1, u2)
    torch.testing.assert_close(a1, a2)


def test_quale_score_is_eq_5_29_to_5_32():
    torch.manual_seed(0)
    m = QUALE(6, 20, dim=8)
    inp = _inputs()
    users, items = torch.arange(6), torch.randint(0, 20, (6, 3))
    got = m.score(users, items, **inp)
    for b in range(6):
        keep = inp["long_context_mask"][b]
        P = m.long.items.weight[inp["long_context"][b][keep]]  # (l', 8)
        q_u = m.long.user_ctx.weight[b]
        if len(P) == 0:
            torch.testing.assert_close(got[b], torch.zeros(3))
            continue
        logits = torch.stack([torch.stack(Q.split(Q.hamilton(p, q_u))) for p in P])  # (l', 4, 2)
        logits = logits.sum(-1) / math.sqrt(8)  # Eq. (5.30): one score per component
        alpha = torch.softmax(logits, 0)
        u = torch.cat([(alpha[:, c, None] * Q.split(P)[c]).sum(0) for c in range(4)])  # (5.31)
        for j in range(3):
            pj = m.long.items.weight[items[b, j]]
            want = Q.cw_dot(u, pj).mean()  # Eq. (5.32)
            torch.testing.assert_close(got[b, j], want)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_masked_items_get_zero_attention_and_do_not_matter(name):
    torch.manual_seed(0)
    m = MODELS[name](6, 20, dim=8)
    inp = _inputs()
    users, items = torch.arange(6), torch.randint(0, 20, (6, 4))
    s1 = m.score(users, items, **inp)
    assert s1.shape == (6, 4) and torch.isfinite(s1).all()
    # the ids behind masked slots change; the mask does not: the scores must not change
    inp2 = {k: v.clone() for k, v in inp.items()}
    for key in ("context", "long_context"):
        inp2[key][~inp2[key + "_mask"]] = 3
    torch.testing.assert_close(m.score(users, items, **inp2), s1)
    encs = []
    if hasattr(m, "long"):
        encs.append(("long", m.long, inp["long_context_mask"]))
    if hasattr(m, "short"):
        encs.append(("short", m.short, inp["context_mask"]))
    for kind, _, mask in encs:
        if isinstance(m, QUALSE):
            _, _, al, as_ = m.encode(users, **inp)
            alpha = al if kind == "long" else as_
        else:
            _, alpha = m.encode(users, **inp)
        assert torch.all(alpha[~mask] == 0)
        full = mask.any(1)
        torch.testing.assert_close(alpha[full].sum(1), torch.ones_like(alpha[full].sum(1)))
        heads = 4 if m.quaternion else 1
        assert alpha.shape[-1] == heads


def test_missing_inputs_are_a_clear_error():
    m = QUALE(3, 10, dim=8)
    with pytest.raises(ValueError, match="add_long_short_context"):
        m.score(torch.arange(3), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="multiple of 4"):
        QUASE(3, 10, dim=10)
    with pytest.raises(ValueError, match="cell"):
        QUASE(3, 10, dim=8, cell="rnn")


def test_gate_lies_in_unit_interval_and_is_personal():
    torch.manual_seed(0)
    for cls in (QUALSE, ALSTMAASVD):
        m = cls(6, 20, dim=8)
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(20)  # push the gate towards saturation
        inp = _inputs()
        g = m.gate(torch.arange(6), torch.randint(0, 20, (6, 5)), **inp)
        assert g.shape == (6, 5, 8)
        assert torch.all((g >= 0) & (g <= 1))
        assert g.std() > 0.1  # not a constant: it depends on the user and the item


def test_chunked_fused_scores_equal_unchunked():
    torch.manual_seed(0)
    m = QUALSE(6, 20, dim=8)
    inp = _inputs()
    users, items = torch.arange(6), torch.randint(0, 20, (6, 9))
    full = m.score(users, items, **inp)
    m.chunk = 6 * 8 * 2  # two candidates per chunk
    torch.testing.assert_close(m.score(users, items, **inp), full)


def test_quaternion_layers_have_a_quarter_of_the_real_parameters():
    q, r = QUASE(3, 10, dim=16), ALSTM(3, 10, dim=16)
    qw = sum(p.numel() for n, p in q.short.cell.named_parameters() if "bias" not in n)
    rw = sum(p.numel() for n, p in r.short.cell.named_parameters() if "bias" not in n)
    assert 4 * qw == rw
    assert 4 * sum(p.numel() for p in q.short.w.parameters()) == r.short.w.weight.numel()
    # embeddings are the same size (d real numbers per user / item)
    assert q.short.items.weight.shape == r.short.items.weight.shape


def test_qabpr_with_zero_eps_is_bpr_step_for_step(planted):
    split, _ = planted
    lam = 0.7
    runs = []
    for adversary, loss in (
        (QABPR(eps=0.0, lam=lam), "bpr"),
        (None, lambda p, n: (1 + lam) * bpr_loss(p, n)),
    ):
        torch.manual_seed(0)
        m = QUALE(split.n_users, split.n_items, dim=8)
        h = fit(
            m,
            split,
            epochs=2,
            batch_size=64,
            loss=loss,
            adversary=adversary,
            valid_metric=None,
            progress=False,
        )
        runs.append((m.state_dict(), h["loss"].to_numpy()))
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-6)
    for k in runs[0][0]:
        torch.testing.assert_close(runs[0][0][k], runs[1][0][k])


def test_qabpr_noise_has_magnitude_eps(planted):
    split, _ = planted
    torch.manual_seed(0)
    m = QUALSE(split.n_users, split.n_items, dim=8)
    # one training row of each of 8 users, each with a non-empty long-term list
    df = split.train.df.reset_index(drop=True)
    ok = split.train_inputs["long_context_mask"].any(1).numpy()
    rows = df[ok].groupby("user").tail(1).index.to_numpy()[:8].copy()
    batch = {
        "users": torch.tensor(df["user"].to_numpy()[rows]),
        "items": torch.randint(0, split.n_items, (8, 3)),
        "inputs": {k: v[torch.as_tensor(rows)] for k, v in split.train_inputs.items()},
    }

    def objective(model, b):
        s = model.score(b["users"], b["items"], **b["inputs"])
        return bpr_loss(s[:, 0], s[:, 1:])

    for per in ("row", "component"):
        adv = QABPR(eps=0.5, per=per)
        deltas = adv.deltas(m, batch, objective)
        assert set(deltas) >= {"long.user_ctx.weight", "long.items.weight", "short.items.weight"}
        d = deltas["long.user_ctx.weight"]
        norms = d.norm(dim=1)
        moved = norms > 0
        assert moved.sum() == 8  # exactly the batch's users
        torch.testing.assert_close(norms[moved], torch.full((8,), 0.5))
        if per == "component":
            comp = d[moved].unflatten(1, (4, 2)).norm(dim=-1)
            torch.testing.assert_close(comp, torch.full_like(comp, 0.25))
        loss = adv.loss(m, batch, objective)
        assert loss > objective(m, batch)  # the perturbation hurts: it is adversarial
    with pytest.raises(ValueError):
        QABPR(per="everything")


def test_real_cells_match_torch():
    torch.manual_seed(0)
    cell = Q.QLSTMCell(8, 8, real=True)
    ref = torch.nn.LSTMCell(8, 8)
    H = 8
    perm = torch.cat(
        [
            torch.arange(H, 2 * H),
            torch.arange(0, H),
            torch.arange(3 * H, 4 * H),
            torch.arange(2 * H, 3 * H),
        ]
    )  # torch (i, f, g, o) <- ours (f, i, o, g)
    with torch.no_grad():
        ref.weight_ih.copy_(cell.w.weight[perm])
        ref.weight_hh.copy_(cell.rec.weight[perm])
        ref.bias_ih.copy_(cell.w.bias[perm])
        ref.bias_hh.zero_()
    x, h0, c0 = torch.randn(3, 4, 8)
    h, c = cell(x, (h0, c0))
    hr, cr = ref(x, (h0, c0))
    torch.testing.assert_close(h, hr)
    torch.testing.assert_close(c, cr)


def test_every_model_trains_one_epoch(planted):
    split, _ = planted
    for name, cls in MODELS.items():
        torch.manual_seed(0)
        m = cls(split.n_users, split.n_items, dim=8)
        h = fit(m, split, epochs=1, batch_size=128, progress=False)
        assert np.isfinite(h["loss"]).all(), name
    assert issubclass(AGRU, ALSTM)


def _learn(n_users: int, epochs: int, names=("QUALE", "QUASE", "QUALSE")):
    inter, _ = planted_long_short(n_users=n_users, n_items=200, n_clusters=8, length=(20, 40))
    split = add_long_short_context(temporal_global(inter, n_negatives=100), s=5)
    res = {}
    for name in names:
        torch.manual_seed(0)
        m = MODELS[name](split.n_users, split.n_items, dim=32)
        fit(m, split, epochs=epochs, batch_size=256, lr=0.01, n_negatives=4, progress=False)
        res[name] = evaluate(m, split.test, ks=(10,))["HR@10"]
    pop = evaluate(Popularity(split.n_users, split.n_items).fit(split), split.test, ks=(10,))
    return res, pop["HR@10"]


def test_qualse_beats_its_parts_and_popularity_on_planted_long_short():
    """The fused model gets both halves of the planted data: the successor rows (short
    term, which QUALE cannot see) and the taste rows (long term, which QUASE sees badly).
    (Measured: QUALE 0.67, QUASE 0.51, QUALSE 0.74, popularity about 0.12.)"""
    res, pop = _learn(300, 6)
    print("planted long/short HR@10", {k: round(v, 3) for k, v in res.items()}, "pop", round(pop, 3))
    # QUALSE − max(QUALE, QUASE) over RECSYS_BOOK_SEED_SHIFT=0..4: +.047 to +.066 (sd .008);
    # a CUDA run measured less (QUASE .459): the margin is 3 standard deviations under the least
    assert res["QUALSE"] > max(res["QUALE"], res["QUASE"]) + 0.02, res
    assert res["QUALSE"] > pop + 0.3, (res, pop)


@pytest.mark.slow
def test_fused_beats_parts_quaternion_and_real_more_data():
    res, pop = _learn(400, 8, names=("QUALE", "QUASE", "QUALSE", "AASVD", "ALSTM", "ALSTM+AASVD"))
    assert res["QUALSE"] > max(res["QUALE"], res["QUASE"]) + 0.05, res
    assert res["ALSTM+AASVD"] > max(res["AASVD"], res["ALSTM"]), res


def test_reproduce_qualse_quick_runs_on_the_runner_and_resumes(tmp_path):
    from recsys_book.experiments import qualse as exp
    from recsys_book.results import read

    argv = ["--quick", "--seeds", "2", "--out", str(tmp_path / "all")]
    assert exp.main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["qualse_smoke.csv", "qualse_smoke.md"]
    rows = read(tmp_path / "all" / "qualse_smoke.csv")
    assert rows["smoke"].all() and set(rows["model"]) == {"Popularity", *exp.ROWS, *exp.NO_QUARTER}
    assert (rows.groupby("model").size() == 2).all()  # seeds are rows
    assert rows["test HR@100"].between(0, 1).all() and (rows["test HR@100"] >= rows["test HR@10"]).all()
    md = (tmp_path / "all" / "qualse_smoke.md").read_text()
    assert "smoke run" in md and "| quaternion > real | QUALE > AASVD |" in md and "AQUALE > QUALE" in md
    before = (tmp_path / "all" / "qualse_smoke.csv").read_text()
    assert exp.main(argv) == 0  # a second run skips every row already written
    assert (tmp_path / "all" / "qualse_smoke.csv").read_text() == before
    # QABPR starts from the BPR model of the same seed: pre-trained on its own, it is the same
    assert exp.main(["--quick", "--seeds", "2", "--out", str(tmp_path / "alone"), "--models", "AQUALE"]) == 0
    alone = read(tmp_path / "alone" / "qualse_smoke.csv")
    after = rows[rows["model"] == "AQUALE"]
    assert set(alone["model"]) == {"AQUALE", "QUALE"}  # the part it starts from is a row too
    alone = alone[alone["model"] == "AQUALE"]
    assert list(alone["test NDCG@10"]) == pytest.approx(list(after["test NDCG@10"]), abs=1e-6)
    with pytest.raises(SystemExit):
        exp.main(["--quick", "--out", str(tmp_path), "--models", "QUALE2"])


def test_orderings_judge_the_committed_rows_by_the_budget_rule_and_a_paired_test():
    """claims.qualse_orderings (the verdicts chapter 07 quotes from results/qualse.csv):
    one line per pair and dataset; "no verdict" exactly where a selected run of either model
    was still improving at its cap; otherwise "holds" / "does NOT hold" only with p < 0.05
    over 2+ seeds and the sign of the mean gap."""
    from recsys_book.claims import QUALSE_ORDERINGS as ORDERINGS
    from recsys_book.claims import qualse_orderings as orderings
    from recsys_book.results import read, selected, still_improving
    from recsys_book.utils import repo_root

    rows = read(repo_root() / "results" / "qualse.csv")
    v = orderings(rows)
    assert list(v.columns) == ["dataset", "claim", "pair", "seeds", "gap HR@100", "p HR@100", "HR@100",
                               "gap NDCG@100", "p NDCG@100", "NDCG@100"]  # fmt: skip
    n_pairs = sum(
        len([1 for w, lo, _ in ORDERINGS if {w, lo} <= set(g["model"])]) for _, g in rows.groupby("dataset")
    )
    assert len(v) == n_pairs >= 2 * 13
    for _, line in v.iterrows():
        g = rows[rows["dataset"] == line["dataset"]]
        g = selected(g, "valid NDCG@10") if "valid NDCG@10" in g else g  # legacy rows: one config
        win, lose = line["pair"].split(" > ")
        stale = still_improving(g[g["model"].isin([win, lose])]).any()
        for m in ("HR@100", "NDCG@100"):
            verdict, p, gap = line[m], line[f"p {m}"], line[f"gap {m}"]
            assert verdict.startswith("no verdict") == bool(stale), line
            if verdict == "holds":
                assert p < 0.05 and gap > 0 and line["seeds"] >= 2, line
            elif verdict == "does NOT hold":
                assert p < 0.05 and gap < 0 and line["seeds"] >= 2, line
