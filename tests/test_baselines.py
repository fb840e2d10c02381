"""Baselines of the SDMR paper's comparison: shapes, one property per model, learning on
planted data (every model beats popularity by a clear margin), bad-input errors."""

from __future__ import annotations

import pytest
import torch

from recsys_book.data import leave_one_out, planted_implicit
from recsys_book.evaluate import evaluate
from recsys_book.models.base import Popularity
from recsys_book.models.baselines import CML, GMF, MFBPR, MLP, SLIM, ItemKNN, NeuMF
from recsys_book.train import fit, pretrain_neumf

NU, NI = 300, 200


@pytest.fixture(scope="module")
def split():
    inter, _ = planted_implicit(n_users=NU, n_items=NI, seed=0)
    return leave_one_out(inter, n_negatives=100, seed=0)


@pytest.fixture(scope="module")
def floor(split):
    return evaluate(Popularity(NU, NI).fit(split), split.test)["HR@10"]


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _batch(b=5, c=7, seed=0):
    g = _gen(seed)
    return torch.randint(0, NU, (b,), generator=g), torch.randint(0, NI, (b, c), generator=g)


def _all_models(split):
    return {
        "MFBPR": MFBPR(NU, NI, 16),
        "CML": CML(NU, NI, 16),
        "GMF": GMF(NU, NI, 8),
        "MLP": MLP(NU, NI, (16, 8)),
        "NeuMF": NeuMF(NU, NI, 8, (16, 8)),
        "ItemKNN": ItemKNN(NU, NI).fit(split),
        "SLIM": SLIM(NU, NI, n_iter=5).fit(split),
    }


# ---- shapes: score (B, C) and score_all (B, I) agree ------------------------------------


def test_shapes_and_score_all_agrees_with_score(split):
    users, items = _batch()
    for name, m in _all_models(split).items():
        s = m.score(users, items)
        assert s.shape == (5, 7), name
        full = m.score_all(users)
        assert full.shape == (5, NI), name
        assert torch.allclose(full.gather(1, items), s, atol=1e-5), name


# ---- one property per model --------------------------------------------------------------


def test_cml_score_is_negated_squared_distance_and_post_step_clips_to_unit_ball():
    torch.manual_seed(0)
    m = CML(NU, NI, 8, init_std=1.0)  # norms well above 1
    users, items = _batch()
    d2 = ((m.user.weight[users][:, None] - m.item.weight[items]) ** 2).sum(-1)
    assert torch.allclose(m.score(users, items), -d2, atol=1e-5)
    assert m.user.weight.norm(dim=1).max() > 1.5
    m.post_step()
    for emb in (m.user, m.item):
        assert emb.weight.norm(dim=1).max() <= 1 + 1e-5
    # points already inside the ball are left where they are
    small = CML(NU, NI, 8, init_std=0.01)
    before = small.item.weight.detach().clone()
    small.post_step()
    assert torch.equal(small.item.weight, before)


def test_itemknn_similarity_is_cosine_symmetric_with_zero_diagonal(split):
    m = ItemKNN(NU, NI).fit(split)
    S = m.W
    assert torch.allclose(S, S.T, atol=1e-6)
    assert torch.all(S.diagonal() == 0)
    R = split.train.to_dense()
    i, j = 3, 5
    cos = (R[:, i] @ R[:, j]) / (R[:, i].norm() * R[:, j].norm())
    assert S[i, j] == pytest.approx(float(cos), abs=1e-6)
    # score = sum of the similarities of the user's training items
    u = torch.tensor([0])
    assert m.score(u, torch.tensor([[i]])).item() == pytest.approx(float(R[0] @ S[:, i]), abs=1e-5)


def test_itemknn_top_k_keeps_k_neighbours_per_item(split):
    m = ItemKNN(NU, NI, k=10).fit(split)
    assert int((m.W != 0).sum(0).max()) <= 10
    full = ItemKNN(NU, NI).fit(split).W
    col = full[:, 7]
    kept = m.W[:, 7] != 0
    assert col[kept].min() >= col[~kept].max()  # the kept ones are the most similar


def test_slim_weights_nonnegative_zero_diagonal_and_l1_sparsifies(split):
    dense = SLIM(NU, NI, l1=0.1, l2=10.0).fit(split).W
    sparse = SLIM(NU, NI, l1=5.0, l2=10.0).fit(split).W
    for W in (dense, sparse):
        assert torch.all(W >= 0)
        assert torch.all(W.diagonal() == 0)
    assert (sparse > 0).sum() < (dense > 0).sum()


def test_slim_admm_lowers_its_objective(split):
    R = split.train.to_dense().double()

    def objective(W, l1=1.0, l2=10.0):
        return float(0.5 * ((R - R @ W) ** 2).sum() + 0.5 * l2 * (W**2).sum() + l1 * W.abs().sum())

    few = SLIM(NU, NI, l1=1.0, l2=10.0, n_iter=2).fit(split).W.double()
    many = SLIM(NU, NI, l1=1.0, l2=10.0, n_iter=40).fit(split).W.double()
    zero = torch.zeros(NI, NI, dtype=torch.float64)
    assert objective(many) < objective(few) < objective(zero)


def test_mlp_first_layer_equals_linear_map_on_concatenation():
    torch.manual_seed(0)
    m = MLP(NU, NI, (16, 8, 4))
    users, items = _batch()
    z = torch.cat([m.user(users)[:, None].expand(-1, items.shape[1], -1), m.item(items)], dim=-1)
    ref = m.out(m.tower(m.first(z))).squeeze(-1)
    assert torch.allclose(m.score(users, items), ref, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_neumf_plus_plus_starts_as_the_weighted_combination(alpha):
    torch.manual_seed(0)
    gmf, mlp = GMF(NU, NI, 8, init_std=0.5), MLP(NU, NI, (16, 8), init_std=0.5)
    users, items = _batch()
    model = NeuMF.from_pretrained(gmf, mlp, alpha)
    expected = alpha * gmf.score(users, items) + (1 - alpha) * mlp.score(users, items)
    assert torch.allclose(model.score(users, items), expected, atol=1e-5)
    # a copy: training the fused model leaves the pre-trained parts alone
    with torch.no_grad():
        model.gmf.user.weight.add_(1.0)
    assert not torch.allclose(model.gmf.user.weight, gmf.user.weight)


# ---- learning on planted data: every model clearly beats popularity ---------------------

TRAINED = {
    "MF-BPR": (lambda: MFBPR(NU, NI, 32), {}),
    "CML (hinge)": (lambda: CML(NU, NI, 32, loss="hinge", margin=0.5), {}),
    "CML (BPR)": (lambda: CML(NU, NI, 32, loss="bpr"), {}),
    "GMF": (lambda: GMF(NU, NI, 32), {}),
    "NeuMF": (lambda: NeuMF(NU, NI, 32, (64, 32, 16)), {}),
}


@pytest.mark.parametrize("name", list(TRAINED))
def test_gradient_baseline_beats_popularity(split, floor, name):
    make, kw = TRAINED[name]
    model = make()
    fit(model, split, epochs=12, lr=5e-3, n_negatives=4, progress=False, seed=0, **kw)
    hr = evaluate(model, split.test)["HR@10"]
    assert hr > floor + 0.15, (name, hr, floor)


def test_neumf_plus_plus_beats_popularity(split, floor):
    model, hist = pretrain_neumf(
        split, dim=16, layers=(32, 16), epochs=10, lr=1e-2, n_negatives=4, progress=False
    )
    assert set(hist) == {"gmf", "mlp", "neumf"}
    assert evaluate(model, split.test)["HR@10"] > floor + 0.15


@pytest.mark.parametrize(
    "make",
    [lambda: ItemKNN(NU, NI), lambda: ItemKNN(NU, NI, k=50), lambda: SLIM(NU, NI, l1=1.0, l2=10.0)],
)
def test_closed_form_baseline_beats_popularity(split, floor, make):
    hr = evaluate(make().fit(split), split.test)["HR@10"]
    assert hr > floor + 0.15, hr


# ---- bad inputs ------------------------------------------------------------------------


def test_bad_arguments_raise_clear_errors(split):
    with pytest.raises(ValueError, match="k must be"):
        ItemKNN(NU, NI, k=0)
    with pytest.raises(ValueError, match="shrink"):
        ItemKNN(NU, NI, shrink=-1)
    with pytest.raises(ValueError, match="rho > 0"):
        SLIM(NU, NI, rho=0)
    with pytest.raises(ValueError, match="even first"):
        MLP(NU, NI, (15, 8))
    with pytest.raises(ValueError, match="alpha"):
        NeuMF.from_pretrained(GMF(NU, NI, 4), MLP(NU, NI, (8,)), alpha=1.5)
    with pytest.raises(RuntimeError, match="not fitted"):
        ItemKNN(NU, NI).score_all(torch.tensor([0]))
    with pytest.raises(ValueError, match="built for"):
        ItemKNN(NU + 1, NI).fit(split)


def test_playlist_as_user_keeps_the_inner_models_training():
    """PlaylistAsUser(CML) is CML on playlists: the hinge loss and margin it declares, its
    unit-ball projection after every step, its scores with the playlist in the user's place
    (an earlier private wrapper trained it with BPR and never projected)."""
    from recsys_book.data import planted_playlists, playlist_holdout
    from recsys_book.models.base import training_contract
    from recsys_book.models.baselines import PlaylistAsUser
    from recsys_book.models.mahalanobis import n_playlists
    from recsys_book.train import fit

    inter, _ = planted_playlists(n_users=30, n_songs=90, n_themes=5, seed=1)
    split = playlist_holdout(inter, n_negatives=20, seed=0)
    inner = CML(n_playlists(split), split.n_items, dim=8, init_std=1.0, margin=0.7)
    model = PlaylistAsUser(inner)
    c = training_contract(model)
    assert (c["loss"], c["margin"], c["post_step"] is not None) == ("hinge", 0.7, True)
    assert training_contract(PlaylistAsUser(MFBPR(n_playlists(split), split.n_items, 8)))["loss"] == "bpr"
    fit(model, split, epochs=2, batch_size=64, lr=0.05, progress=False)
    for emb in (inner.user.weight, inner.item.weight):
        assert float(emb.norm(dim=1).max()) <= 1.0 + 1e-5  # projected (init_std 1 starts outside)
    ev = split.test
    torch.testing.assert_close(
        model.score(ev.users, ev.candidates, **ev.inputs), inner.score(ev.inputs["playlist"], ev.candidates)
    )
    with pytest.raises(ValueError, match="inputs\\['playlist'\\]"):
        model.score(ev.users, ev.candidates)
