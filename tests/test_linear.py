"""EASE, GF-CF and the signal-based view (CoRML paper, Sec. 2.4, Eq. 9-12)."""

from __future__ import annotations

import pytest
import torch

from recsys_book.evaluate import evaluate
from recsys_book.models import Popularity
from recsys_book.models.linear import (
    EASE,
    GFCF,
    gram,
    interaction_matrix,
    item_degree,
    normalized_matrix,
    signal_features,
    signal_scores,
    top_right_singular_vectors,
)

# the planted data live in conftest.py (shared with test_corml.py)


@pytest.fixture(scope="module")
def small(small_implicit):
    return small_implicit


def test_signal_view_is_R_Dt_C_Dminus_t(small):
    R = interaction_matrix(small, dtype=torch.float64)
    C = torch.randn(
        small.n_items,
        small.n_items,
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(0),
    )
    d = item_degree(R)
    for t in (0.0, 0.3, -0.2):
        P, Q = signal_features(R, t)  # Eq. (9)
        assert P.shape == (small.n_items, small.n_users) and Q.shape == (
            small.n_items,
            small.n_items,
        )
        Y = signal_scores(P, C, Q)  # Eq. (10)
        torch.testing.assert_close(Y, R @ torch.diag(d**-t) @ C @ torch.diag(d**t))
        u, i = 3, 7
        torch.testing.assert_close(Y[u, i], P[:, u] @ C @ Q[:, i])


def test_ease_optimality_conditions(small):
    reg = 7.0
    m = EASE(small.n_users, small.n_items, reg=reg, dtype=torch.float64).fit(small)
    B, R = m.B, interaction_matrix(small, dtype=torch.float64)
    assert B.diagonal().abs().max() == 0  # constraint diag(B) = 0
    # stationarity of 1/2||R - RB||^2 + reg/2 ||B||^2 + sum_j mu_j B_jj:
    # (R^T R + reg I) B - R^T R = -diag(mu): zero off the diagonal
    grad = (R.t() @ R + reg * torch.eye(small.n_items, dtype=torch.float64)) @ B - R.t() @ R
    off = grad - torch.diag(grad.diagonal())
    assert off.abs().max() < 1e-9 * (R.t() @ R).abs().max()
    assert (grad.diagonal().abs() > 1e-6).any()  # the constraint is active

    def loss(Bm):
        return 0.5 * ((R - R @ Bm) ** 2).sum() + 0.5 * reg * (Bm**2).sum()

    # a feasible perturbation (off-diagonal) never lowers the loss
    for i, j in [(0, 1), (5, 3), (10, 20)]:
        for step in (1e-3, -1e-3):
            Bp = B.clone()
            Bp[i, j] += step
            assert loss(Bp) > loss(B)


def test_ease_scores_are_user_rows_times_B(small):
    m = EASE(small.n_users, small.n_items, reg=3.0).fit(small)
    users = torch.tensor([0, 5, 9])
    R = interaction_matrix(small)
    torch.testing.assert_close(m.score_all(users), R[users] @ m.B)
    items = torch.tensor([[1, 2], [3, 4], [0, 39]])
    torch.testing.assert_close(m.score(users, items), (R[users] @ m.B).gather(1, items))


def test_singular_vectors_exact_and_lowrank_agree(small):
    Rn = normalized_matrix(interaction_matrix(small, dtype=torch.float64))
    _, s, Vh = torch.linalg.svd(Rn, full_matrices=False)
    k = 5
    assert s[k - 1] - s[k] > 1e-6  # well separated here
    V = top_right_singular_vectors(Rn, k, method="exact")
    proj = Vh[:k].t() @ Vh[:k]
    torch.testing.assert_close(V @ V.t(), proj, atol=1e-8, rtol=0)
    Vl = top_right_singular_vectors(Rn, k, method="lowrank")
    assert (Vl @ Vl.t() - proj).abs().max() < 1e-3


def test_gfcf_matrix_is_linear_plus_ideal_filter(small):
    k, alpha = 6, 0.4
    m = GFCF(small.n_users, small.n_items, k=k, alpha=alpha).fit(small)
    R = interaction_matrix(small, dtype=torch.float64)
    Rn = normalized_matrix(R)
    _, _, Vh = torch.linalg.svd(Rn, full_matrices=False)
    V = Vh[:k].t()
    d = item_degree(R)
    want = Rn.t() @ Rn + alpha * torch.diag(d**-0.5) @ V @ V.t() @ torch.diag(d**0.5)  # Eq. (12)
    torch.testing.assert_close(m.W.double(), want, atol=1e-5, rtol=1e-4)
    # a refit with another k reuses the SVD and changes the filter
    m.fit(small, k=2)
    V2 = Vh[:2].t()
    want2 = Rn.t() @ Rn + alpha * torch.diag(d**-0.5) @ V2 @ V2.t() @ torch.diag(d**0.5)
    torch.testing.assert_close(m.W.double(), want2, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(gram(R), R.t() @ R)


def test_bad_inputs(small, implicit_random_split):
    with pytest.raises(ValueError, match="reg must be > 0"):
        EASE(10, 10, reg=0)
    with pytest.raises(ValueError, match="positive int"):
        GFCF(10, 10, k=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        EASE(10, 10).score_all(torch.tensor([0]))
    with pytest.raises(ValueError, match="build it with"):
        EASE(10, 10).fit(small)
    with pytest.raises(TypeError, match="Split or an Interactions"):
        EASE(10, 10).fit([1, 2, 3])


def test_learning_beats_popularity(implicit_random_split):
    split = implicit_random_split
    kw = {"ks": (10,), "metrics": ("ndcg", "mrr")}
    pop = evaluate(Popularity(split.n_users, split.n_items).fit(split), split.test, **kw)
    ease = evaluate(EASE(split.n_users, split.n_items, reg=50).fit(split), split.test, **kw)
    gf = evaluate(GFCF(split.n_users, split.n_items, k=16).fit(split), split.test, **kw)
    for res in (ease, gf):
        assert res["NDCG@10"] > 2 * pop["NDCG@10"], (res, pop)
        assert res["MRR@10"] > 1.5 * pop["MRR@10"], (res, pop)
