"""Chapter 05 exercises: Gershgorin discs, Theorem 3.1's omega, generalised Mahalanobis distances.

E1 ``my_discs(A) -> (centres, radii)``: the Gershgorin discs of Lemma 3.2 (against
   :func:`recsys_book.models.corml.gershgorin_discs`).
E2 ``my_omega(H, x) -> float``: omega = max_i h_i / x_i (h_i = sum_j |H_ij|), which makes
   H + omega diag(x) PSD (Theorem 3.1; against :func:`recsys_book.models.corml.gershgorin_omega`).
E3 ``my_mahalanobis_sq(P, Q, W) -> D2``: all squared distances of Eq. (13) between the
   columns of P and of Q (against :func:`recsys_book.models.corml.full_mahalanobis_sq`).

(The chapter builds the ADMM steps and the signal-based score in the text itself.)
Every case is built inside the checker (fixed seeds): no notebook state is needed.
"""

from __future__ import annotations

import torch

from recsys_book.exercises import check, close, float64
from recsys_book.models.corml import (
    full_mahalanobis_sq,
    gershgorin_discs,
    gershgorin_omega,
    metric_from_hollow,
)
from recsys_book.models.linear import signal_features


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
    """E2: ``fn(H (n, n) symmetric hollow, x (n,) > 0) -> float``."""
    return check(
        OMEGA_CASES,
        fn,
        gershgorin_omega,
        name="E2 my_omega",
        atol=1e-9,
        cast=float,
        hint="h_i = sum_j |H_ij| (the Gershgorin radius of row i); omega = max_i h_i / x_i",
    )


def _rand_sq(seed, n=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, n, generator=g, dtype=torch.float64)


def _discs_case(seed, n=5):
    return (_rand_sq(seed, n),)


DISCS_CASES = {
    "random 5 x 5 (seed 0)": _discs_case(0),
    "random 4 x 4 (seed 1)": _discs_case(1, 4),
    "negative diagonal entries (seed 2)": lambda: (
        _rand_sq(2) - 3 * torch.eye(5, dtype=torch.float64),
    ),
    "a symmetric hollow matrix": lambda: (_hollow(3)[0],),
    "diagonal only (radii 0)": (torch.diag(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)),),
}


def check_discs(fn) -> bool:
    """E1: ``fn(A (n, n)) -> (centres (n,), radii (n,))`` of the Gershgorin discs (Lemma 3.2)."""
    return check(
        DISCS_CASES,
        fn,
        gershgorin_discs,
        name="E1 my_discs",
        atol=1e-10,
        cast=lambda v: tuple(torch.as_tensor(x, dtype=torch.float64) for x in v),
        hint="centre A_ii, radius r_i = sum over j != i of |A_ij| (the diagonal is not in the radius)",
    )


def _mahal_case(seed, n=4, U=3, n_items=5):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    P = torch.randn(n, U, generator=g, dtype=torch.float64)
    Q = torch.randn(n, n_items, generator=g, dtype=torch.float64)
    return P, Q, A @ A.T  # W symmetric PSD


def _worked_example():
    R = torch.tensor(
        [[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 0, 0, 1, 1]], dtype=torch.float64
    )
    H, x = _hollow(11)
    P, Q = signal_features(R, 0.5)  # Eq. (9)
    return P, Q, metric_from_hollow(H, x)  # W = H + omega diag(x), PSD


MAHAL_CASES = {
    "W = I: squared Euclidean distances": lambda: (
        *_mahal_case(0)[:2],
        torch.eye(4, dtype=torch.float64),
    ),
    "random PSD W (seed 1)": _mahal_case(1),
    "random PSD W (seed 2), one user": _mahal_case(2, U=1),
    "the chapter's signal features with W = H + omega diag(x)": _worked_example,
}


def check_mahalanobis_sq(fn) -> bool:
    """E3: ``fn(P (n, U), Q (n, I), W (n, n) PSD) -> D2 (U, I)`` with
    D2[u, i] = (p_u - q_i)^T W (p_u - q_i) (Eq. 13, squared; columns are the points)."""
    return check(
        MAHAL_CASES,
        fn,
        full_mahalanobis_sq,
        name="E3 my_mahalanobis_sq",
        atol=1e-8,
        cast=float64,
        hint="the points are the COLUMNS of P and Q; expand (p - q)^T W (p - q) or use "
        "broadcasting over (U, I, n); squared, no square root",
    )


__all__ = ["check_discs", "check_mahalanobis_sq", "check_omega", "close"]
