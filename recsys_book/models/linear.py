"""Signal-based models: the linear autoencoder EASE and the graph filter GF-CF.

Wei, Ma, Chow. *Collaborative Residual Metric Learning*, SIGIR 2023, Section 2.4.

A signal-based model reads each user's row of the interaction matrix R (|U| x |I|) as a
*signal* over the items and learns an item-item matrix C. With the feature spaces

    P = D_I^{-t} R^T   (|I| x |U|),    Q = D_I^{t}   (|I| x |I|)          Eq. (9)

(D_I = diag(1^T R), the item degrees; t the *normalization strength*) the score of user u
for item i is

    y_ui = p_u^T C q_i                                                      Eq. (10)

so the whole score matrix is Y = R D_I^{-t} C D_I^{t}. Two classic members:

* **EASE** (Steck 2019), t = 0: min_C 1/2 ||R - R C||_F^2 + reg/2 ||C||_F^2 subject to
  diag(C) = 0 (Eq. 11, with the L2 term of the EASE paper), in closed form
  C = I - P diag(1 / diag(P)), P = (R^T R + reg I)^{-1}.
* **GF-CF** (Shen et al. 2021), t = 1/2: the ideal low-pass filter built from the top-k
  right singular vectors V of the normalised matrix R~ = D_U^{-1/2} R D_I^{-1/2}
  (Eq. 12: R D_I^{-1/2} V V^T D_I^{1/2}) plus the linear filter R~^T R~ of the GF-CF paper:
  C = R~^T R~ + alpha D_I^{-1/2} V V^T D_I^{1/2}.

Both keep a dense item-item matrix, so ``score_all`` is one (B, |I|) x (|I|, |I|) product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recsys_book.models.base import ClosedForm, _interactions

# ---- shared helpers -------------------------------------------------------------------


def interaction_matrix(inter, device="cpu", dtype=torch.float32) -> torch.Tensor:
    """Binary dense R (|U| x |I|) of an Interactions (or the training part of a Split)."""
    inter = _interactions(inter)
    return inter.to_dense(device=device, dtype=dtype)


def gram(R: torch.Tensor, row_weights: torch.Tensor | None = None) -> torch.Tensor:
    """R^T diag(w) R (|I| x |I|). A dense product: on ML-100k it is faster on CPU than
    torch's sparse one (0.18 s vs 0.27 s on 2 cores)."""
    Rw = R if row_weights is None else R * row_weights[:, None]
    return Rw.t() @ R


def item_degree(R: torch.Tensor) -> torch.Tensor:
    """Item degrees d_i = 1^T R, clipped at 1 (an item unseen in training gets 1, as the
    authors' code does, so that every power d_i^t is finite)."""
    return R.sum(0).clamp(min=1)


def user_degree(R: torch.Tensor) -> torch.Tensor:
    return R.sum(1).clamp(min=1)


def normalized_matrix(R: torch.Tensor) -> torch.Tensor:
    """R~ = D_U^{-1/2} R D_I^{-1/2} (the matrix GF-CF and CoRML take singular vectors of)."""
    return R * user_degree(R).rsqrt()[:, None] * item_degree(R).rsqrt()[None, :]


#: exact (Gram eigendecomposition) SVD up to this many rows or columns, randomized above
EXACT_SVD_MAX = 4000


def svd_method(shape, method: str = "auto") -> str:
    """Resolve ``"auto"``: ``"exact"`` when min(shape) <= :data:`EXACT_SVD_MAX`, else
    ``"lowrank"``; other values pass through (checked by the caller)."""
    if method == "auto":
        return "exact" if min(shape) <= EXACT_SVD_MAX else "lowrank"
    return method


def cached_singular_vectors(
    M: torch.Tensor, k: int, method: str = "auto", cached: torch.Tensor | None = None
) -> torch.Tensor:
    """Right singular vectors of M with at least ``min(k, min(M.shape))`` columns, reusing
    ``cached`` when it has enough. An exact solve keeps every direction, so any later k is
    free; a randomized one computes exactly k. Slice ``[:, :k]`` for the top k."""
    if cached is not None and cached.shape[1] >= min(k, min(M.shape)):
        return cached
    exact = svd_method(M.shape, method) == "exact"
    return top_right_singular_vectors(M, min(M.shape) if exact else k, method=method)


def top_right_singular_vectors(
    M: torch.Tensor, k: int, method: str = "auto", seed: int = 0
) -> torch.Tensor:
    """The right singular vectors V (n x k) of M (m x n) with the k largest singular values.

    ``method``: ``"exact"`` (eigendecomposition of the smaller Gram matrix in float64:
    M M^T when m < n, then V = M^T U / sigma; much faster than a full SVD on a shared
    2-core CPU), ``"lowrank"`` (``torch.svd_lowrank``, randomized), ``"auto"``: exact when
    min(m, n) <= 4000. Directions with a zero singular value are never returned.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the number of singular vectors must be a positive int, got {k!r}")
    k = int(min(k, min(M.shape)))
    method = svd_method(M.shape, method)
    if method == "exact":
        Md = M.double()
        if M.shape[0] < M.shape[1]:
            evals, U = torch.linalg.eigh(Md @ Md.t())  # ascending
            evals, U = evals.flip(0)[:k], U.flip(1)[:, :k]
            keep = evals > evals[0] * 1e-10
            V = (Md.t() @ U[:, keep]) / evals[keep].sqrt()[None, :]
        else:
            evals, V = torch.linalg.eigh(Md.t() @ Md)
            evals, V = evals.flip(0)[:k], V.flip(1)[:, :k]
            V = V[:, evals > evals[0] * 1e-10]
        return V.to(M.dtype)
    if method == "lowrank":
        torch.manual_seed(seed)
        _, _, V = torch.svd_lowrank(M, q=min(k + 10, min(M.shape)), niter=6)
        return V[:, :k]
    raise ValueError(f"method must be 'auto', 'exact' or 'lowrank', got {method!r}")


# ---- the signal-based view (Eq. 9-10) --------------------------------------------------


def signal_features(R: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. (9): P = D_I^{-t} R^T (|I| x |U|, column u is user u's signal p_u) and
    Q = D_I^{t} (|I| x |I|, column i is q_i)."""
    d = item_degree(R)
    P = d.pow(-t)[:, None] * R.t()
    Q = torch.diag(d.pow(t))
    return P, Q


def signal_scores(P: torch.Tensor, C: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """Eq. (10) for all pairs: Y[u, i] = p_u^T C q_i, i.e. Y = P^T C Q (|U| x |I|)."""
    return P.t() @ C @ Q


# ---- a common base: a user's row of R times an item-item matrix -------------------------


class ItemItemModel(ClosedForm):
    """Scores Y = R W for a dense item-item matrix W (|I| x |I|) and the training R."""

    def __init__(self, n_users: int, n_items: int):
        super().__init__(n_users, n_items)
        self.register_buffer("R", torch.zeros(0))
        self.register_buffer("W", torch.zeros(0))

    def _check_fitted(self):
        if self.W.numel() == 0:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call .fit(split) first.")

    def _check_data(self, inter):
        inter = _interactions(inter)
        if not hasattr(inter, "to_dense"):
            raise TypeError(f"fit expects a Split or an Interactions, got {type(inter).__name__}")
        if (inter.n_users, inter.n_items) != (self.n_users, self.n_items):
            raise ValueError(
                f"the data has {inter.n_users} users x {inter.n_items} items but the model was built "
                f"for {self.n_users} x {self.n_items}; build it with "
                f"{type(self).__name__}(data.n_users, data.n_items)."
            )
        return inter

    def score_all(self, users: torch.Tensor, **inputs) -> torch.Tensor:
        self._check_fitted()
        users = users.to(self.R.device)
        return self.R[users] @ self.W  # (B, I)

    def score(self, users: torch.Tensor, items: torch.Tensor, **inputs) -> torch.Tensor:
        self._check_fitted()
        users = users.to(self.R.device)
        items = items.to(self.R.device)
        # (B, I) x gathered columns (B, I, C) would be large; gather after a full row product
        return self.score_all(users).gather(1, items)  # (B, C)


# ---- EASE (Eq. 11) ---------------------------------------------------------------------


@dataclass
class EASEConfig:
    reg: float = 250.0  # L2 weight; Steck's default range is 100-1000 on ML data


class EASE(ItemItemModel):
    """Embarrassingly Shallow AutoEncoder (Steck, WWW 2019): Eq. (11) of the CoRML paper
    with the L2 term of the EASE paper, solved in closed form.

        minimize_C 1/2 ||R - R C||_F^2 + reg/2 ||C||_F^2   s.t. diag(C) = 0
        P = (R^T R + reg I)^{-1},   C = I - P diag(1 / diag(P))

    In the signal-based view (Eq. 9-10) this is t = 0 and C = B. ``fit`` solves in ``dtype``
    (float32 by default: one 1,682 x 1,682 LU inverse on ML-100k, under a second on 2 cores;
    pass ``dtype=torch.float64`` for exact identities).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        reg: float = EASEConfig.reg,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__(n_users, n_items)
        self.dtype = dtype
        if not reg > 0:
            raise ValueError(
                f"reg must be > 0 (the Gram matrix is singular without it), got {reg!r}"
            )
        self.reg = float(reg)

    @torch.no_grad()
    def fit(self, data, reg: float | None = None) -> EASE:
        if reg is not None:
            if not reg > 0:
                raise ValueError(f"reg must be > 0, got {reg!r}")
            self.reg = float(reg)
        inter = self._check_data(data)
        self._start_history()
        R = interaction_matrix(inter, device=self.device, dtype=self.dtype)  # (U, I)
        G = gram(R)  # (I, I) R^T R
        G.diagonal().add_(self.reg)
        P = torch.linalg.inv(G)  # (R^T R + reg I)^{-1}
        B = -P / P.diagonal()[None, :]  # B_ij = -P_ij / P_jj
        B.diagonal().zero_()  # diag(B) = 0
        self.R = R
        self.W = B
        self._log()  # one solve
        return self

    @property
    def B(self) -> torch.Tensor:
        """The learned item-item matrix (diagonal zero)."""
        return self.W

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, reg={self.reg:g}"


# ---- GF-CF (Eq. 12) --------------------------------------------------------------------


@dataclass
class GFCFConfig:
    k: int = 256  # singular vectors (GF-CF and CoRML default; too many for ML-100k)
    alpha: float = 0.3  # weight of the ideal low-pass filter (GF-CF paper, Gowalla)


class GFCF(ItemItemModel):
    """Graph filtering CF (Shen et al., CIKM 2021), Eq. (12) of the CoRML paper plus the
    linear filter of the GF-CF paper; training-free (one SVD).

        R~ = D_U^{-1/2} R D_I^{-1/2},   V = top-k right singular vectors of R~
        Y  = R ( R~^T R~  +  alpha D_I^{-1/2} V V^T D_I^{1/2} )

    ``alpha = 0`` keeps only the linear filter; ``linear=False`` only the ideal filter
    (Eq. 12 as printed in the CoRML paper).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        k: int = GFCFConfig.k,
        alpha: float = GFCFConfig.alpha,
        linear: bool = True,
        svd: str = "auto",
    ):
        super().__init__(n_users, n_items)
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k (number of singular vectors) must be a positive int, got {k!r}")
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha!r}")
        self.k, self.alpha, self.linear, self.svd = int(k), float(alpha), bool(linear), svd
        self._V_full: torch.Tensor | None = None

    @torch.no_grad()
    def fit(self, data, k: int | None = None, alpha: float | None = None) -> GFCF:
        """Fit; refitting the same data with another ``k``/``alpha`` reuses the SVD."""
        inter = self._check_data(data)
        self._start_history()
        if k is not None:
            self.k = int(k)
        if alpha is not None:
            self.alpha = float(alpha)
        R = interaction_matrix(inter, device=self.device)
        same = self.R.shape == R.shape and bool(torch.equal(self.R, R))
        Rn = normalized_matrix(R)  # (U, I)
        self._V_full = cached_singular_vectors(Rn, self.k, self.svd, self._V_full if same else None)
        V = self._V_full[:, : self.k]  # (I, k)
        d = item_degree(R)
        W = torch.zeros(self.n_items, self.n_items, device=R.device)
        if self.linear:
            W += gram(Rn)  # R~^T R~
        if self.alpha > 0:
            W += self.alpha * (d.rsqrt()[:, None] * (V @ V.t()) * d.sqrt()[None, :])  # Eq. (12)
        self.R, self.W = R, W
        self._log()  # one solve (the SVD reused when cached)
        return self

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, k={self.k}, alpha={self.alpha:g}, linear={self.linear}"
