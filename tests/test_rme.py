"""RME chapter (dissertation Ch. 4.2): SPPMI, the ALS identities, the variants as switches,
Algorithm 2's sampler, and learning on planted co-liked / co-disliked groups."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from recsys_book.als import fit_als, fit_implicit
from recsys_book.data import (
    DataError,
    activity_groups,
    explicit_split,
    from_dataframe,
    planted_explicit,
)
from recsys_book.evaluate import evaluate
from recsys_book.models.base import Popularity, Recommender
from recsys_book.models.item2vec import Item2Vec
from recsys_book.models.rme import I_RME, RME, U_RME, WMF, Cofactor
from recsys_book.models.rme_implicit import sample_dislikes
from recsys_book.models.sppmi import cooccurrence, sppmi

pytestmark = pytest.mark.filterwarnings("ignore:Sparse:UserWarning")


def _toy():
    # u0 likes {0, 1, 2}, u1 likes {0, 1}, u2 likes {2, 3}
    df = pd.DataFrame({"user": [0, 0, 0, 1, 1, 2, 2], "item": [0, 1, 2, 0, 1, 2, 3]})
    return from_dataframe(df)


@pytest.fixture(scope="module")
def small():
    inter, _ = planted_explicit(n_users=80, n_items=60, n_groups=6, per_user=(10, 20), seed=3)
    return explicit_split(inter, seed=3)


# ---- Eq. (4.2)-(4.3) --------------------------------------------------------------------------


def test_sppmi_hand_computed_items():
    # pair counts: #(0,1)=2, #(0,2)=1, #(1,2)=1, #(2,3)=1 (both orders): |D| = 10;
    # marginals #0 = 3, #1 = 3, #2 = 3, #3 = 1
    want = np.zeros((4, 4))
    for (i, j), c in {(0, 1): 2, (0, 2): 1, (1, 2): 1, (2, 3): 1}.items():
        marg = {0: 3, 1: 3, 2: 3, 3: 1}
        want[i, j] = want[j, i] = math.log(c * 10 / (marg[i] * marg[j]))
    got = sppmi(_toy(), shift=1.0).to_dense().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    # shift s = 2 subtracts log 2 and drops what falls to <= 0: (0,2), (1,2) vanish
    want2 = np.maximum(want - math.log(2), 0) * (want > 0)
    got2 = sppmi(_toy(), shift=2.0).to_dense().numpy()
    np.testing.assert_allclose(got2, want2, rtol=1e-6, atol=1e-7)
    assert got2[0, 2] == 0 and got2[0, 1] > 0


def test_sppmi_hand_computed_users():
    # documents = items: {u0,u1}, {u0,u1}, {u0,u2}, {u2}: #(u0,u1)=2, #(u0,u2)=1, |D| = 6,
    # #u0 = 3, #u1 = 2, #u2 = 1 -> PMI(u0,u1) = log(2*6/6), PMI(u0,u2) = log(6/3)
    z = sppmi(_toy(), transpose=True).to_dense().numpy()
    want = np.zeros((3, 3))
    want[0, 1] = want[1, 0] = math.log(2.0)
    want[0, 2] = want[2, 0] = math.log(2.0)
    np.testing.assert_allclose(z, want, rtol=1e-6, atol=1e-7)


def test_sparse_and_dense_paths_agree(small):
    split, dis = small
    for tr in (False, True):
        a = cooccurrence(split.train, transpose=tr, dense=True).to_dense()
        b = cooccurrence(split.train, transpose=tr, dense=False).to_dense()
        assert torch.equal(a, b) and a.diagonal().abs().sum() == 0
        np.testing.assert_allclose(
            sppmi(split.train, 2.0, tr, dense=True).to_dense(),
            sppmi(split.train, 2.0, tr, dense=False).to_dense(),
            rtol=1e-6,
        )


def test_sppmi_bad_shift():
    with pytest.raises(ValueError, match="shift"):
        sppmi(_toy(), shift=0)


# ---- the ALS identities ---------------------------------------------------------------------


def _reference_objective(m: RME, liked, X, Y, Z, p):
    """Eq. (4.4) written out densely and independently of the model's code."""
    M = liked.to_dense(dtype=torch.float64)
    W = torch.where(M > 0, m.c1, m.c0)
    L = 0.5 * (W * (M - p["U"] @ p["P"].T) ** 2).sum()
    reg = 0.5 * m.lam * (p["U"].pow(2).sum() + p["P"].pow(2).sum())
    terms = (
        (X, "P", "G", "b", "c", m.w["X"]),
        (Y, "P", "D", "d", "e", m.w["Y"]),
        (Z, "U", "T", "f", "g", m.w["Z"]),
    )
    for S, row, ctx, br, bc, w in terms:
        S = S.to_dense().double()
        r = (S - p[row] @ p[ctx].T - p[br][:, None] - p[bc][None, :]) * (S != 0)
        L = L + 0.5 * w * (r**2).sum()
        reg = reg + 0.5 * m.lam_context * p[ctx].pow(2).sum()
    return L + reg


def _grad(m, liked, mats):
    names = ("U", "P", "G", "D", "T", *"bcdefg")
    p = {n: getattr(m, n).detach().clone().requires_grad_(True) for n in names}
    obj = _reference_objective(m, liked, mats["X"], mats["Y"], mats["Z"], p)
    obj.backward()
    return float(obj.detach()), {n: v.grad for n, v in p.items()}


def test_objective_matches_reference_and_gradients_vanish(small):
    split, dis = small
    from recsys_book.models.sppmi import sppmi_matrices

    mats = sppmi_matrices(split.train, dis)
    m = RME(
        split.n_users, split.n_items, k=6, lam=0.5, lam_context=2.0, w_user=0.5, dtype=torch.float64
    ).fit(split, disliked=dis, n_sweeps=2, matrices=mats)
    ref, _ = _grad(m, split.train, mats)
    assert m.objective()["objective"] == pytest.approx(ref, rel=1e-10)
    # after each block's update, the gradient of Eq. (4.4) w.r.t. that block is zero (for the
    # biases: the context bias, solved last, with the row bias it was solved after)
    steps = [("U", m.update_users), ("P", m.update_items)]
    for t, ctx in (("X", "G"), ("Y", "D"), ("Z", "T")):
        steps.append((ctx, lambda t=t: m.update_contexts(t)))
    for t, bias in (("X", "c"), ("Y", "e"), ("Z", "g")):
        steps.append((bias, lambda t=t: m.update_biases(t)))
    for name, step in steps:
        _, before = _grad(m, split.train, mats)
        step()
        _, after = _grad(m, split.train, mats)
        assert before[name].abs().max() > 1e-4, f"{name} already optimal: the check would be empty"
        assert after[name].abs().max() < 1e-8, f"gradient wrt {name} not zero after its update"


def test_each_sweep_lowers_the_objective(small):
    split, dis = small
    m = RME(split.n_users, split.n_items, k=8, lam=1.0, dtype=torch.float64)
    m.fit(split, disliked=dis, n_sweeps=8)
    obj = m.history_["objective"].to_numpy()
    assert len(obj) == 8
    assert np.all(np.diff(obj) <= 1e-9 * obj[:-1]), obj
    assert obj[-1] < 0.9 * obj[0]


def test_sparse_storage_gives_the_same_fit(small):
    split, dis = small
    kw = dict(k=5, lam=1.0, dtype=torch.float64)
    a = RME(split.n_users, split.n_items, **kw).fit(split, disliked=dis, n_sweeps=3)
    b = RME(split.n_users, split.n_items, dense_max=0, chunk=17, **kw)
    b.fit(split, disliked=dis, n_sweeps=3)
    assert not b._M.dense and b._M.t().dense is False
    torch.testing.assert_close(a.U, b.U, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(a.P, b.P, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "variant, switched",
    [
        (U_RME, dict(w_disliked=0.0)),
        (I_RME, dict(w_user=0.0)),
        (Cofactor, dict(w_disliked=0.0, w_user=0.0)),
    ],
)
def test_variants_are_rme_with_terms_switched_off(small, variant, switched):
    split, dis = small
    kw = dict(k=6, lam=1.0, dtype=torch.float64, seed=5)
    full = RME(split.n_users, split.n_items, **kw, **switched).fit(split, disliked=dis, n_sweeps=4)
    var = variant(split.n_users, split.n_items, **kw).fit(split, disliked=dis, n_sweeps=4)
    torch.testing.assert_close(full.U, var.U, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(full.P, var.P, rtol=1e-8, atol=1e-10)
    # and the terms really matter: with them on, the factors differ
    on = RME(split.n_users, split.n_items, **kw).fit(split, disliked=dis, n_sweeps=4)
    assert (on.P - var.P).abs().max() > 1e-4


def test_cofactor_without_x_is_wmf(small):
    split, _ = small
    kw = dict(k=6, lam=1.0, dtype=torch.float64)
    a = Cofactor(split.n_users, split.n_items, w_liked=0.0, **kw).fit(split, n_sweeps=3)
    b = WMF(split.n_users, split.n_items, **kw).fit(split, n_sweeps=3)
    torch.testing.assert_close(a.P, b.P, rtol=1e-8, atol=1e-10)


def test_bad_inputs(small):
    split, dis = small
    with pytest.raises(DataError, match="disliked"):
        RME(split.n_users, split.n_items, k=4).fit(split)
    with pytest.raises(DataError, match="users x"):
        RME(split.n_users + 1, split.n_items, k=4).fit(split, disliked=dis)
    with pytest.raises(ValueError, match="lam"):
        RME(5, 5, lam=0)
    with pytest.raises(ValueError, match="tau"):
        sample_dislikes(WMF(split.n_users, split.n_items, k=2), split.train, tau=-1)


def test_early_stopping_restores_best_sweep(small):
    split, dis = small
    m = RME(split.n_users, split.n_items, k=6)
    fit_als(m, split, 6, disliked=dis, valid_metric="NDCG@20", patience=2)
    h = m.history_
    assert "NDCG@20" in h and m.best_sweep_ == int(h.loc[h["NDCG@20"].idxmax(), "sweep"])
    got = evaluate(m, split.valid, ks=(20,), metrics=("ndcg",))["NDCG@20"]
    assert got == pytest.approx(h["NDCG@20"].max(), rel=1e-6)
    # the model never evaluates itself: validation is the loop's, and the old call says where
    with pytest.raises(TypeError, match=r"recsys_book\.als\.fit_als"):
        RME(split.n_users, split.n_items, k=6).fit(split, disliked=dis, valid=split.valid)


# ---- Algorithm 2 ------------------------------------------------------------------------------


class _LovesNothingItHas(Recommender):
    """Scores every observed item lowest: softmax(-score) would pick them first if allowed."""

    def __init__(self, inter):
        super().__init__(inter.n_users, inter.n_items)
        self.s = -10.0 * inter.to_dense()

    def score_all(self, users, **inputs):
        return self.s[users]


def test_algorithm2_never_samples_an_observed_item(small):
    split, _ = small
    train = split.train
    dis = sample_dislikes(_LovesNothingItHas(train), train, tau=1.0, seed=0)
    seen = set(zip(train.users.tolist(), train.items.tolist()))
    got = set(zip(dis.users.tolist(), dis.items.tolist()))
    assert got and not (got & seen)
    per_user = np.bincount(dis.users, minlength=train.n_users)
    assert (per_user <= (1.0 * train.user_degree()).astype(int)).all()
    assert per_user.sum() > 0.5 * train.user_degree().sum()  # it drew (distinct) items
    # seeded
    again = sample_dislikes(_LovesNothingItHas(train), train, tau=1.0, seed=0)
    assert dis.df.equals(again.df)


def test_algorithm2_runs_and_keeps_the_best(small):
    split, _ = small
    model, hist = fit_implicit(
        split, tau=0.5, max_iter=2, n_sweeps=3, k=6, lam=1.0, metric="NDCG@20"
    )
    assert hist["iter"].tolist()[:2] == [0, 1] and (hist["n_dislikes"].iloc[1:] > 0).all()
    rme_rows = hist[hist["model"] == "RME"]
    best = evaluate(model, split.valid, ks=(20,), metrics=("ndcg",))["NDCG@20"]
    assert best == pytest.approx(rme_rows["NDCG@20"].max(), rel=1e-6)


# ---- learning on planted data ------------------------------------------------------------------


def test_learning_on_planted_co_liked_and_co_disliked_groups():
    """Mean NDCG@20 over three planted datasets (temporal_holdout, full ranking): the
    co-disliked term helps (RME, I_RME > WMF) and every model clears popularity by far."""
    res: dict[str, list[float]] = {}
    kw = dict(k=10, lam=10.0, shift=(1.0, 1.0, 20.0))
    for seed in (0, 1, 2):
        inter, _ = planted_explicit(n_users=400, n_items=300, per_user=(8, 20), seed=seed)
        split, dis = explicit_split(inter, seed=seed)
        n_u, n_i = split.n_users, split.n_items
        models = {
            "Pop": Popularity(n_u, n_i).fit(split),
            "WMF": WMF(n_u, n_i, **kw).fit(split, n_sweeps=10),
            "I_RME": I_RME(n_u, n_i, **kw).fit(split, disliked=dis, n_sweeps=10),
            "RME": RME(n_u, n_i, **kw).fit(split, disliked=dis, n_sweeps=10),
            "Item2Vec": Item2Vec(n_u, n_i, k=10).fit(split),
        }
        for name, m in models.items():
            ndcg = evaluate(m, split.test, ks=(20,), metrics=("ndcg",))["NDCG@20"]
            res.setdefault(name, []).append(ndcg)
    mean = {k: float(np.mean(v)) for k, v in res.items()}
    assert mean["RME"] > mean["WMF"] and mean["I_RME"] > mean["WMF"], mean
    for name in ("WMF", "I_RME", "RME"):
        assert mean[name] > 2 * mean["Pop"], mean
    assert mean["Item2Vec"] > 1.4 * mean["Pop"], mean  # the weakest baseline, as in Table 4.2


def test_activity_groups_shares(small):
    split, _ = small
    g = activity_groups(split.train, split.test)
    n = len(split.test)
    assert (g == "cold").sum() == round(0.2 * n) and (g == "active").sum() == n - round(0.8 * n)
    deg = split.train.user_degree()[split.test.users.numpy()]
    assert deg[g == "cold"].max() <= deg[g == "active"].min()
