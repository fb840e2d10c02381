"""CoRML (Wei, Ma, Chow, SIGIR 2023): Theorem 3.1, Eq. (14)/(17), ADMM (Eq. 28), Eq. (26)."""

from __future__ import annotations

import math

import pytest
import torch

from recsys_book.evaluate import evaluate
from recsys_book.metrics import novelty
from recsys_book.models import Popularity
from recsys_book.models.corml import (
    CoRML,
    full_mahalanobis_sq,
    gershgorin_discs,
    gershgorin_omega,
    metric_from_hollow,
)
from recsys_book.models.linear import (
    interaction_matrix,
    item_degree,
    normalized_matrix,
    signal_features,
)

# the planted data live in conftest.py (shared with test_linear.py); short local names


@pytest.fixture(scope="module")
def split(implicit_random_split):
    return implicit_random_split


@pytest.fixture(scope="module")
def small(small_implicit):
    return small_implicit


def _hollow(n, seed):
    g = torch.Generator().manual_seed(seed)
    H = torch.randn(n, n, dtype=torch.float64, generator=g)
    H = (H + H.t()) / 2
    H.fill_diagonal_(0)
    return H


@pytest.mark.parametrize("seed", range(5))
def test_theorem_3_1_omega_makes_psd(seed):
    H = _hollow(12, seed)
    x = (
        torch.rand(12, dtype=torch.float64, generator=torch.Generator().manual_seed(100 + seed))
        + 0.1
    )
    omega = gershgorin_omega(H, x)
    W = metric_from_hollow(H, x, omega)
    ev = torch.linalg.eigvalsh(W)
    assert ev.min() >= -1e-10
    # Lemma 3.2: every eigenvalue lies in some Gershgorin disc
    c, r = gershgorin_discs(W)
    assert all(((c - r - 1e-9 <= e) & (e <= c + r + 1e-9)).any() for e in ev)
    assert torch.linalg.eigvalsh(H).min() < 0  # H alone is not PSD


def test_theorem_3_1_omega_is_tight_for_a_2x2():
    H = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    x = torch.ones(2, dtype=torch.float64)
    assert gershgorin_omega(H, x) == 1.0
    assert torch.linalg.eigvalsh(metric_from_hollow(H, x, 1.0)).min().abs() < 1e-12
    assert torch.linalg.eigvalsh(metric_from_hollow(H, x, 0.9)).min() < 0


def test_gershgorin_rejects_bad_input():
    H = _hollow(4, 0)
    with pytest.raises(ValueError, match="symmetric"):
        gershgorin_omega(
            H + torch.triu(torch.ones(4, 4, dtype=torch.float64), 1),
            torch.ones(4, dtype=torch.float64),
        )
    with pytest.raises(ValueError, match="hollow"):
        gershgorin_omega(H + torch.eye(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="positive"):
        gershgorin_omega(H, -torch.ones(4, dtype=torch.float64))


def test_residual_of_distances_eq_17(small):
    """1/2 (d^2(u,i) - d^2(u,j)) = -(y_ui - y_uj) for un-interacted i, j; an extra
    -omega d_i^{-2t} when only i was interacted (Eq. 14, 17)."""
    R = interaction_matrix(small, dtype=torch.float64)
    t = 0.3
    d = item_degree(R)
    H = _hollow(small.n_items, 3).abs()
    H.fill_diagonal_(0)
    x = d ** (-2 * t)
    omega = gershgorin_omega(H, x)
    W = metric_from_hollow(H, x, omega)
    P, Q = signal_features(R, t)
    D2 = full_mahalanobis_sq(P, Q, W)  # (U, I)
    Y = P.t() @ H @ Q  # preference scores with H
    checked = [0, 0]
    for u in range(small.n_users):
        seen = R[u] > 0
        i_out = torch.nonzero(~seen).flatten()[:3]
        i_in = torch.nonzero(seen).flatten()[:2]
        i, j = int(i_out[0]), int(i_out[1])
        torch.testing.assert_close(0.5 * (D2[u, i] - D2[u, j]), -(Y[u, i] - Y[u, j]))
        k = int(i_in[0])
        torch.testing.assert_close(0.5 * (D2[u, k] - D2[u, j]), -(Y[u, k] - Y[u, j]) - omega * x[k])
        checked[0] += 1
        checked[1] += int(omega * x[k] > 0)
    assert checked[1] == checked[0] > 0  # the margin is strictly positive


@pytest.fixture(scope="module")
def fitted(split):
    m = CoRML(
        split.n_users, split.n_items, n_singular=16, rho=100, iterations=40, dtype=torch.float64
    )
    return m.fit(split, track_objective=True)


def test_admm_output_is_a_valid_hollow_matrix(fitted):
    H = fitted.H
    assert torch.equal(H, H.t())
    assert (H >= 0).all()
    assert (H.diagonal() == 0).all()
    assert (H > 0).sum() > H.shape[0]  # not trivially zero
    assert fitted.history_["residual"].iloc[-1] < 1e-3


def test_admm_converges_to_the_certified_optimum(fitted, split):
    """What ADMM guarantees on a convex problem: F(S_k) -> F* (not a fall at every step).
    The dual bound certifies it: dual_bound() <= F* <= F(S_k), and the gap closes."""
    obj = fitted.history_["objective"].to_numpy()
    assert len(obj) == 40
    f, lb = fitted.objective(fitted.H), fitted.dual_bound()
    # the recorded value is the objective of the returned matrix
    assert math.isclose(f, obj[-1], rel_tol=1e-9)
    assert lb <= f and f - lb < 1e-5 * abs(f), (f, lb)  # 40 iterations: gap ~1e-7 relative
    # two iterations: far from the optimum, and the bound still below the optimum
    early = CoRML(
        split.n_users, split.n_items, n_singular=16, rho=100, iterations=2, dtype=torch.float64
    ).fit(split)
    f2, lb2 = early.objective(early.H), early.dual_bound()
    assert lb2 <= lb + 1e-9 * abs(lb) and f2 > f + 1e-2 * abs(f)  # bound <= F* < F(S_2)
    assert f2 - lb2 > 100 * (f - lb)  # the gap closes
    no_l2 = CoRML(split.n_users, split.n_items, n_singular=4, theta=0.0, iterations=1).fit(split)
    with pytest.raises(ValueError, match="theta > 0"):
        no_l2.dual_bound()


def test_admm_beats_feasible_perturbations(fitted):
    """Near a constrained minimum: symmetric, non-negative moves do not help (much)."""
    H = fitted.H
    f0 = fitted.objective(H)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        E = torch.rand(H.shape, generator=g, dtype=H.dtype) * 1e-3
        E = (E + E.t()) / 2
        E.fill_diagonal_(0)
        assert fitted.objective(H + E) > f0 - 1e-6 * abs(f0)
        assert fitted.objective((H - E).clamp(min=0).fill_diagonal_(0)) > f0 - 1e-6 * abs(f0)


def test_lambda_zero_is_the_graph_filter(small):
    k = 5
    m = CoRML(small.n_users, small.n_items, lam=0.0, n_singular=k, dtype=torch.float64).fit(small)
    R = interaction_matrix(small, dtype=torch.float64)
    _, _, Vh = torch.linalg.svd(normalized_matrix(R), full_matrices=False)
    V = Vh[:k].t()
    G = (V @ V.t()).clamp(min=0)
    G.fill_diagonal_(0)
    d = item_degree(R)
    Y = R @ torch.diag(d**-0.5) @ G @ torch.diag(d**0.5)
    users = torch.arange(small.n_users)
    torch.testing.assert_close(m.score_all(users), Y, atol=1e-8, rtol=1e-6)
    assert (m.H == 0).all()


def test_hybrid_score_eq_26(small):
    lam, t = 0.6, -0.1
    m = CoRML(
        small.n_users,
        small.n_items,
        lam=lam,
        t=t,
        n_singular=4,
        rho=50,
        iterations=10,
        dtype=torch.float64,
    ).fit(small)
    R = interaction_matrix(small, dtype=torch.float64)
    d = item_degree(R)
    want = R @ (
        lam * torch.diag(d**-t) @ m.H @ torch.diag(d**t)
        + (1 - lam) * torch.diag(d**-0.5) @ m.G @ torch.diag(d**0.5)
    )
    torch.testing.assert_close(m.score_all(torch.arange(small.n_users)), want)


def test_factor_reuse_and_warm_start(split):
    m = CoRML(split.n_users, split.n_items, n_singular=16, rho=100, iterations=40, t=0.0)
    m.fit(split)
    Ainv = m._cache.store["Ainv"][1]
    m.fit(split, lam=0.5, iterations=1)  # lam does not change A: reused
    assert m._cache.store["Ainv"][1] is Ainv
    m.fit(split, lam=0.75, iterations=40)
    ref = m.fit(split, t=0.1, iterations=40).H.clone()  # cold start, converged
    m.fit(split, t=0.0, iterations=40)
    warm = m.fit(split, t=0.1, iterations=8, warm_start=True).H.clone()  # from the t = 0 solution
    cold = m.fit(split, t=0.1, iterations=8).H.clone()
    assert torch.linalg.norm(warm - ref) < 0.7 * torch.linalg.norm(cold - ref)


def test_sparsify_to_storage_budget(split):
    m = CoRML(
        split.n_users, split.n_items, n_singular=16, rho=100, iterations=20, storage_dim=2
    ).fit(split)
    dense = CoRML(split.n_users, split.n_items, n_singular=16, rho=100, iterations=20).fit(split).H
    assert m.storage() <= (split.n_users + split.n_items) * 2
    assert torch.equal(m.H, m.H.t())
    kept = m.H > 0
    assert kept.any()
    # the kept entries are the largest ones of the dense solution
    assert dense[kept].min() >= dense[~kept].max() - 1e-6


def test_novelty_eq_29_on_a_toy():
    degree = torch.tensor([1.0, 2.0, 4.0])
    top = torch.tensor([[0, 2], [1, 1]])
    # -log2(d/|U|)/log2|U| with |U| = 4: item 0 -> 1, item 1 -> 0.5, item 2 -> 0
    torch.testing.assert_close(
        novelty(top, degree, 4), torch.tensor([0.5, 0.5], dtype=torch.float64)
    )


def test_bad_inputs(small):
    with pytest.raises(ValueError, match="lam must be in"):
        CoRML(10, 10, lam=1.5)
    with pytest.raises(ValueError, match="rho must be > 0"):
        CoRML(10, 10, rho=0)
    with pytest.raises(ValueError, match="n_singular must be a positive int"):
        CoRML(10, 10, n_singular=0)
    with pytest.raises(TypeError, match="unknown CoRML setting"):
        CoRML(small.n_users, small.n_items).fit(small, alpha=3)
    with pytest.raises(ValueError, match="build it with"):
        CoRML(10, 10).fit(small)


def test_learning_beats_popularity(split):
    kw = {"ks": (10,), "metrics": ("ndcg", "mrr")}
    pop = evaluate(Popularity(split.n_users, split.n_items).fit(split), split.test, **kw)
    m = CoRML(split.n_users, split.n_items, n_singular=16, rho=100, iterations=30).fit(split)
    res = evaluate(m, split.test, **kw)
    assert res["NDCG@10"] > 2 * pop["NDCG@10"], (res, pop)
    assert res["MRR@10"] > 1.5 * pop["MRR@10"], (res, pop)


def test_warm_start_from_a_saved_state_is_path_independent(split):
    """A re-solve from a saved ADMM state gives the same H whatever was fitted in between."""
    m = CoRML(split.n_users, split.n_items, n_singular=8, rho=100.0, iterations=6, t=0.0)
    state = m.fit(split).admm_state()
    a = m.fit(split, t=0.1, iterations=3, warm_start=state).H.clone()
    m.fit(split, t=-0.2, iterations=3, warm_start=True)  # another path in between
    b = m.fit(split, t=0.1, iterations=3, warm_start=state).H.clone()
    c = m.fit(split, t=0.1, iterations=3, warm_start=True).H.clone()  # from the previous solution
    assert torch.equal(a, b)
    assert not torch.equal(a, c)  # warm_start=True continues from the last fit instead
    with pytest.raises(ValueError, match="admm_state"):
        m.fit(split, warm_start=(state[0][:2], state[1]))
    with pytest.raises(RuntimeError, match="fit the model"):
        CoRML(split.n_users, split.n_items).admm_state()
