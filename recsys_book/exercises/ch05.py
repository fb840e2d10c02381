"""Chapter 05 exercises: Theorem 3.1's omega, EASE's closed form, the signal-based score.

E1 ``my_omega(H, x) -> float``: omega = max_i h_i / x_i (h_i = sum_j |H_ij|), which makes
   H + omega diag(x) PSD (Theorem 3.1; against :func:`recsys_book.models.corml.gershgorin_omega`).
E2 ``my_ease(R, reg) -> B``: EASE's closed form (Eq. 11 with L2), zero diagonal (against
   :class:`recsys_book.models.linear.EASE` in float64).
E3 ``my_signal_scores(R, C, t) -> Y``: Eq. (9)-(10), Y = R D_I^{-t} C D_I^{t} with item
   degrees clipped at 1 (against :func:`recsys_book.models.linear.signal_features` and
   :func:`~recsys_book.models.linear.signal_scores`).

Every case is built inside the checker (fixed seeds): no notebook state is needed.
"""

from __future__ import annotations

import torch

from recsys_book.exercises import check, close
from recsys_book.exercises.ch01 import interactions_from_dense
from recsys_book.models.corml import gershgorin_omega
from recsys_book.models.linear import EASE, signal_features, signal_scores


def _hollow(seed, n=5, nonneg=False):
    g = torch.Generator().manual_seed(seed)
    H = torch.randn(n, n, generator=g, dtype=torch.float64)
    H = (H + H.T) / 2
    if nonneg:
        H = H.abs()
    H.fill_diagonal_(0)
    x = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
    return H, x


def _one_small_x():
    H, x = _hollow(4)
    x[2] = 1e-3  # one tiny x_i: omega is set by that row
    return H, x


OMEGA_CASES = {
    "random symmetric hollow 5 x 5 (seed 7)": _hollow(7),
    "random, non-negative (seed 8)": _hollow(8, nonneg=True),
    "negative entries count by |H_ij| (seed 9)": _hollow(9),
    "one tiny x_i": _one_small_x,
    "H = 0 (omega = 0)": (
        torch.zeros(3, 3, dtype=torch.float64),
        torch.ones(3, dtype=torch.float64),
    ),
    "1 x 1": (torch.zeros(1, 1, dtype=torch.float64), torch.tensor([2.0], dtype=torch.float64)),
}


def check_omega(fn) -> bool:
    """E1: ``fn(H (n, n) symmetric hollow, x (n,) > 0) -> float``."""
    return check(
        OMEGA_CASES,
        fn,
        gershgorin_omega,
        name="E1 my_omega",
        atol=1e-9,
        cast=float,
        hint="h_i = sum_j |H_ij| (the Gershgorin radius of row i); omega = max_i h_i / x_i",
    )


def _ref_ease(R, reg):
    R = torch.as_tensor(R, dtype=torch.float64)
    return EASE(*R.shape, reg=reg, dtype=torch.float64).fit(interactions_from_dense(R)).B


def _rand_R(seed, shape=(15, 7), p=0.4):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).double()


def _empty_item():
    R = _rand_R(5)
    R[:, 3] = 0
    return R, 1.0


EASE_CASES = {
    "4 x 4 by hand, reg 2": (
        torch.tensor([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1], [0, 1, 0, 1]], dtype=torch.float64),
        2.0,
    ),
    "random 15 x 7 (seed 0), reg 1": (_rand_R(0), 1.0),
    "random 15 x 7 (seed 1), reg 50 (strong)": (_rand_R(1), 50.0),
    "an item nobody interacted with": _empty_item,
}


def check_ease(fn) -> bool:
    """E2: ``fn(R (U, I) float64 0/1, reg > 0) -> B (I, I)`` with zero diagonal."""
    return check(
        EASE_CASES,
        fn,
        _ref_ease,
        name="E2 my_ease",
        atol=1e-8,
        cast=lambda v: torch.as_tensor(v, dtype=torch.float64),
        hint="P = (R^T R + reg I)^{-1}; B_ij = -P_ij / P_jj, B_jj = 0",
    )


def _ref_signal(R, C, t):
    P, Q = signal_features(R, t)  # Eq. (9)
    return signal_scores(P, C, Q)  # Eq. (10)


def _signal_case(seed, t, unseen=False):
    R = _rand_R(seed, (6, 5), 0.5)
    if unseen:
        R[:, 4] = 0  # degree 0 is clipped at 1 (no inf)
    g = torch.Generator().manual_seed(seed + 100)
    C = torch.rand(5, 5, generator=g, dtype=torch.float64)
    return R, C, t


SIGNAL_CASES = {
    "t = 0 (EASE's view: Y = R C)": _signal_case(0, 0.0),
    "t = 0.5 (GF-CF's view)": _signal_case(1, 0.5),
    "t = -0.2": _signal_case(2, -0.2),
    "an item nobody interacted with, t = 0.5": _signal_case(3, 0.5, unseen=True),
}


def check_signal_scores(fn) -> bool:
    """E3: ``fn(R (U, I), C (I, I), t) -> Y (U, I)`` = R D^{-t} C D^{t}, d_i clipped at 1."""
    return check(
        SIGNAL_CASES,
        fn,
        _ref_signal,
        name="E3 my_signal_scores",
        atol=1e-9,
        cast=lambda v: torch.as_tensor(v, dtype=torch.float64),
        hint="d = R.sum(0).clamp(min=1); p_u = d^{-t} * r_u, q_i = d_i^{t} e_i",
    )


__all__ = ["check_ease", "check_omega", "check_signal_scores", "close"]
