"""Solutions to chapter 02's exercises (RME). Not executed by the chapter: try first!
``tests/test_exercises_ch02.py`` runs each through its checker in recsys_book.exercises.ch02."""

from __future__ import annotations

import math

import torch


def my_window_sppmi(seqs: list[list[int]], n: int, window: int, s: float) -> torch.Tensor:
    """E1: SPPMI, Eq. (4.2)-(4.3), with word2vec's window: in a time-ordered document, j is a
    context of i when their positions differ by 1 to ``window`` (either order)."""
    C = torch.zeros(n, n, dtype=torch.float64)  # #(i, j)
    for seq in seqs:
        for a, i in enumerate(seq):
            for b, j in enumerate(seq):
                if 1 <= abs(a - b) <= window:  # j stands within the window of i
                    C[i, j] += 1
    total = C.sum()  # |D|: all (word, context) pairs
    marg = C.sum(1)  # #(i)
    out = torch.zeros(n, n, dtype=torch.float64)
    for i, j in torch.nonzero(C).tolist():  # pairs that never co-occur stay 0 (no 0/0)
        pmi = math.log(C[i, j] * total / (marg[i] * marg[j]))  # Eq. (4.2)
        out[i, j] = max(pmi - math.log(s), 0.0)  # Eq. (4.3)
    return out


def my_alpha_update(P, m_u, T, z_u, f_u, g, c0, c1, lam, w) -> torch.Tensor:
    """E2: one user's ALS update, Eq. (4.5)."""
    k = P.shape[1]
    w_up = c0 + (c1 - c0) * m_u  # confidence weights, (n,)
    j = torch.nonzero(z_u, as_tuple=True)[0]  # Omega_Z(u)
    Tj = T[j]  # (|Omega|, k)
    A = P.T @ (w_up[:, None] * P) + w * Tj.T @ Tj + lam * torch.eye(k, dtype=P.dtype)  # (k, k)
    b = P.T @ (w_up * m_u) + w * Tj.T @ (z_u[j] - f_u - g[j])  # (k,)
    return torch.linalg.solve(A, b)


def my_dislike_probs(scores: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """E3: Eq. (4.9) after Algorithm 2's line 9 (observed items get probability 0)."""
    neg = (-scores).masked_fill(observed, -math.inf)  # rank +inf = -score -inf
    out = torch.zeros_like(scores)
    ok = ~observed.all(1)  # a user who saw everything draws nothing
    out[ok] = torch.softmax(neg[ok], dim=1)  # stable: softmax subtracts the row max
    return out
