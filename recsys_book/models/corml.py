"""CoRML: Collaborative Residual Metric Learning.

Wei, Ma, Chow. *Collaborative Residual Metric Learning*, SIGIR 2023, Sections 3-4.

The idea in three steps.

1. With user features p_u = D_I^{-t} r_u and item features q_i = D_I^{t} e_i (Eq. 9), a
   generalised Mahalanobis distance d^2(p_u, q_i) = (p_u - q_i)^T W (p_u - q_i) (Eq. 13)
   splits W into its diagonal and a symmetric *hollow* (zero-diagonal) part H. For two
   items the *residual* of squared distances (Eq. 14) is, up to terms that vanish for
   un-interacted items, -2 (y_ui - y_uj) with y_ui = p_u^T H q_i (Eq. 17): ranking
   un-interacted items by the score ranks them by distance.
2. Any symmetric hollow H becomes a valid metric by adding omega * diag(x) (Theorem 3.1,
   Gershgorin): :func:`gershgorin_omega` gives that omega.
3. Learn H (symmetric, non-negative, zero diagonal) with the residual margin loss, made
   point-wise by approximated ranking weights phi_u = eps (d_u / max d)^(-t_u) (Eq. 24):

       L = tr(Y^T (Phi Y - R))                                            Eq. (25)
       Y = R (lam D_I^{-t} H D_I^{t} + (1 - lam) D_I^{-1/2} G D_I^{1/2})  Eq. (26)
       G = (V V^T - diag(V V^T))_+   (V: top singular vectors of D_U^{-1/2} R D_I^{-1/2})

   solved by ADMM on the problem multiplied by D_I^{-t} (Eq. 28).

ADMM, as in the authors' code (our derivation, checked against it): with R_t = R D_I^{-t},
K = R_t^T diag(phi) R_t, the H-step minimises

    F(H) = 1/2 tr(H^T (K + theta D_I) H) - tr(H^T B),
    B    = 1/(2 lam) R_t^T R_t - (1/lam - 1) K D_I^{t-1/2} G D_I^{1/2-t}

(F = J / (2 lam^2) + const for the objective J of Eq. 28; our ``theta`` is the authors'
code's ``l2_regularization``, i.e. the paper's theta / (2 lam^2)), plus rho/2 ||H - S + Gamma||^2
under diag(H) = 0:

    A = K + theta D_I + rho I           factorised ONCE per (t, rho, theta, eps, t_u)
    H = A^{-1}(B + rho (S - Gamma)) - A^{-1} diag(mu),  mu_j = [..]_jj / (A^{-1})_jj
    S = max(0, (H + Gamma + (H + Gamma)^T) / 2)                    (Z-step of Eq. 28)
    Gamma += H - S                                                 (scaled dual step)

The Z-step is the projection of H + Gamma on {Z = Z^T, Z >= 0}: the symmetric part solves the
paper's continuous Lyapunov equation I Z + Z I = M + M^T (M = H + Gamma), and for symmetric Z
||Z - M||^2 = ||Z - sym M||^2 + ||skew M||^2, so the clip at 0 finishes the projection.

What ADMM guarantees here (a convex problem: K + theta D is positive definite, the constraint
sets are convex): the primal residual H_k - S_k goes to 0 and F(S_k) to the optimum F*; it does
NOT promise that F falls at every iteration (ADMM is not a descent method). Weak duality gives
a certificate: :meth:`CoRML.dual_bound` turns the scaled dual Gamma into a lower bound on F*,
so F(S_k) - dual_bound() bounds how far S_k is from the optimum.

Each iteration costs one |I| x |I| matrix product. What is reused (see ``CoRML.fit``):
the SVD (any number of singular vectors), R^T R, R^T Phi R, R^T Phi R D^{-1/2} G (across t,
lam, rho, theta), A^{-1} (across lam and iterations) and S, Gamma (warm start across t, lam).

Where we follow the authors' code rather than the paper: the objective is divided by
2 lam^2 (hence the 1/(2 lam) in B and theta on the code's scale), d_i is clipped at 1;
where we follow the paper rather than the code: G is clipped as a *matrix* in the score
(Eq. 26; the code clips the graph-filter *scores* at prediction time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from recsys_book.models.linear import (
    ItemItemModel,
    cached_singular_vectors,
    gram,
    interaction_matrix,
    item_degree,
    normalized_matrix,
    user_degree,
)

# ---- Theorem 3.1 / Lemma 3.2 ------------------------------------------------------------


def gershgorin_discs(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lemma 3.2: centres A_ii and radii r_i = sum_{j != i} |A_ij| of the Gershgorin discs."""
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
    centres = A.diagonal()
    radii = A.abs().sum(1) - centres.abs()
    return centres, radii


def gershgorin_omega(H: torch.Tensor, x: torch.Tensor) -> float:
    """Theorem 3.1: omega = max_i h_i / x_i (h_i = sum_j |H_ij|) makes H + omega diag(x) PSD
    for a symmetric hollow H and a positive vector x."""
    if not torch.allclose(H, H.t()):
        raise ValueError("H must be symmetric (Theorem 3.1 is about symmetric hollow matrices)")
    if H.diagonal().abs().max() > 0:
        raise ValueError("H must be hollow (zero diagonal); zero it with H.fill_diagonal_(0)")
    if (x <= 0).any():
        raise ValueError("x must be strictly positive")
    _, h = gershgorin_discs(H)
    return float((h / x).max())


def metric_from_hollow(
    H: torch.Tensor, x: torch.Tensor, omega: float | None = None
) -> torch.Tensor:
    """W = H + omega diag(x), a PSD weight matrix of a generalised Mahalanobis distance."""
    omega = gershgorin_omega(H, x) if omega is None else omega
    return H + omega * torch.diag(x)


def full_mahalanobis_sq(P: torch.Tensor, Q: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Squared generalised Mahalanobis distances (Eq. 13) between the columns of P (n x U)
    and of Q (n x I): d^2[u, i] = p_u^T W p_u + q_i^T W q_i - 2 p_u^T W q_i."""
    pw = (P * (W @ P)).sum(0)  # (U,)
    qw = (Q * (W @ Q)).sum(0)  # (I,)
    return pw[:, None] + qw[None, :] - 2 * P.t() @ W @ Q


# ---- configuration -----------------------------------------------------------------------


@dataclass
class CoRMLConfig:
    """Defaults of the authors' code (Params/Overall.yaml), tuned for Pinterest-sized data;
    on ML-100k select n_singular, lam and t on validation (see experiments/corml.py)."""

    lam: float = 0.75  # weight of the learned term H vs the graph filter G (Eq. 26)
    t: float = 0.1  # normalization strength (item_degree_norm)
    rho: float = 5e3  # ADMM step (dual_step_length)
    theta: float = 1.0  # L2 weight (l2_regularization, authors' scale)
    eps: float = 1.0  # global scaling of phi (10 ** global_scaling)
    t_u: float = 0.0  # user-degree scaling of phi (user_scaling)
    n_singular: int = 256  # singular vectors for G (eigenvectors)
    iterations: int = 50  # ADMM iterations (admm_iter)
    storage_dim: int | None = (
        None  # sparsify H to the storage of d-dim embeddings (64 in the paper)
    )


@dataclass
class _Cache:
    """Everything that can be reused across fits on the same training matrix."""

    R: torch.Tensor
    d: torch.Tensor  # item degrees, clipped at 1 (I,)
    du: torch.Tensor  # user degrees, clipped at 1 (U,)
    V: torch.Tensor | None = None  # right singular vectors (I, k_max)
    RtR: torch.Tensor | None = None  # R^T R (I, I)
    store: dict = field(default_factory=dict)  # keyed small caches (one entry per kind)

    def get(self, kind, key, make):
        old = self.store.get(kind)
        if old is not None and old[0] == key:
            return old[1]
        val = make()
        self.store[kind] = (key, val)
        return val


class CoRML(ItemItemModel):
    """Collaborative Residual Metric Learning (Wei, Ma, Chow, SIGIR 2023), Eq. (20)-(28).

    ``fit(data, **overrides)`` runs the ADMM of Eq. (28); keyword overrides (``t``, ``lam``,
    ``rho``, ``theta``, ``eps``, ``t_u``, ``n_singular``, ``iterations``, ``storage_dim``)
    change the setting and reuse every cached factor that does not depend on them;
    ``warm_start=True`` starts ADMM from the previous solution (fast re-solves for a
    widget); ``warm_start=state`` with a ``state = model.admm_state()`` saved earlier starts
    from that point instead, so a re-solve gives the same result whatever was fitted in
    between (a widget's slider value then has one answer, whatever the path). ``history_``
    holds, per iteration, the objective F(S_k) at the feasible iterate (with
    ``track_objective=True``), F(H_k) of the H-step iterate and the primal residual
    ||H_k - S_k|| / max(1, ||S_k||); ``dual_bound()`` is a lower bound on the optimum F*.

    Attributes after fit: ``H`` (I, I) symmetric, non-negative, zero diagonal; ``G`` the
    clipped graph filter; ``W`` the item-item matrix of Eq. (26) (scores Y = R W).
    """

    _hist_cols = ("iteration", "objective", "objective_H", "residual")
    _knobs = ("lam", "t", "rho", "theta", "eps", "t_u", "n_singular", "iterations", "storage_dim")

    def __init__(
        self,
        n_users: int,
        n_items: int,
        lam: float = CoRMLConfig.lam,
        t: float = CoRMLConfig.t,
        rho: float = CoRMLConfig.rho,
        theta: float = CoRMLConfig.theta,
        eps: float = CoRMLConfig.eps,
        t_u: float = CoRMLConfig.t_u,
        n_singular: int = CoRMLConfig.n_singular,
        iterations: int = CoRMLConfig.iterations,
        storage_dim: int | None = CoRMLConfig.storage_dim,
        svd: str = "auto",
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__(n_users, n_items)
        self.svd, self.dtype = svd, dtype
        self._set(
            lam=lam,
            t=t,
            rho=rho,
            theta=theta,
            eps=eps,
            t_u=t_u,
            n_singular=n_singular,
            iterations=iterations,
            storage_dim=storage_dim,
        )
        self.register_buffer("H", torch.zeros(0))
        self.register_buffer("G", torch.zeros(0))
        self._cache: _Cache | None = None
        self._S: torch.Tensor | None = None
        self._Gamma: torch.Tensor | None = None
        self.history_ = pd.DataFrame(columns=[*self._hist_cols, "seconds"])
        self.timings: dict[str, float] = {}

    # ---- settings --------------------------------------------------------------------
    def _set(self, **kw):
        for k, v in kw.items():
            if k not in self._knobs:
                raise TypeError(f"unknown CoRML setting {k!r}; choose from {self._knobs}")
        lam = kw.get("lam", getattr(self, "lam", None))
        if lam is not None and not 0 <= lam <= 1:
            raise ValueError(
                f"lam must be in [0, 1] (weight of H against G in Eq. 26), got {lam!r}"
            )
        for name in ("rho", "eps"):
            if name in kw and not kw[name] > 0:
                raise ValueError(f"{name} must be > 0, got {kw[name]!r}")
        if "theta" in kw and kw["theta"] < 0:
            raise ValueError(f"theta must be >= 0, got {kw['theta']!r}")
        for name in ("n_singular", "iterations"):
            if name in kw and (
                not isinstance(kw[name], (int, np.integer))
                or kw[name] < (1 if name == "n_singular" else 0)
            ):
                raise ValueError(
                    f"{name} must be a {'positive' if name == 'n_singular' else 'non-negative'} int, got {kw[name]!r}"
                )
        if kw.get("storage_dim") is not None and (
            not isinstance(kw["storage_dim"], (int, np.integer)) or kw["storage_dim"] < 1
        ):
            raise ValueError(
                f"storage_dim must be None or a positive int, got {kw['storage_dim']!r}"
            )
        for k, v in kw.items():
            setattr(self, k, v)

    @property
    def config(self) -> CoRMLConfig:
        return CoRMLConfig(**{k: getattr(self, k) for k in self._knobs})

    # ---- cached pieces -----------------------------------------------------------------
    def _prepare(self, R: torch.Tensor) -> _Cache:
        c = self._cache
        if c is not None and c.R.shape == R.shape and bool(torch.equal(c.R, R)):
            return c
        self._S = self._Gamma = None  # a new matrix: no warm start
        self._cache = _Cache(R=R, d=item_degree(R).to(self.dtype), du=user_degree(R).to(self.dtype))
        return self._cache

    def _singular(self, c: _Cache, k: int) -> torch.Tensor:
        V = cached_singular_vectors(normalized_matrix(c.R), k, self.svd, c.V)
        c.V = V.to(self.dtype)
        return c.V[:, :k]

    def _graph_filter(self, c: _Cache) -> torch.Tensor:
        """G = (V V^T - diag(V V^T))_+ (Eq. 26): clipped at zero, zero diagonal."""

        def make():
            V = self._singular(c, self.n_singular)
            G = (V @ V.t()).clamp_(min=0)
            G.fill_diagonal_(0)
            return G

        return c.get("G", self.n_singular, make)

    def _phi(self, c: _Cache) -> torch.Tensor:
        """Eq. (24) without eps: (d_u / max d)^(-t_u), shape (U,)."""
        return (c.du / c.du.max()).pow(-self.t_u)

    def _user_gram(self, c: _Cache) -> torch.Tensor:
        """R^T diag(phi / eps) R (I, I), reused across t, lam, rho, theta."""
        return c.get("M", self.t_u, lambda: gram(c.R.to(self.dtype), self._phi(c)))

    def _mg(self, c: _Cache) -> torch.Tensor:
        """R^T diag(phi / eps) R D^{-1/2} G (I, I), reused across t, lam, rho, theta."""

        def make():
            return self._user_gram(c) @ (c.d.rsqrt()[:, None] * self._graph_filter(c))

        return c.get("MG", (self.t_u, self.n_singular), make)

    def _inverse(self, c: _Cache) -> torch.Tensor:
        """A^{-1} with A = eps D^{-t} M D^{-t} + diag(theta d + rho): one inverse per setting."""

        def make():
            s = c.d.pow(-self.t)
            A = self.eps * (s[:, None] * self._user_gram(c) * s[None, :])
            A.diagonal().add_(self.theta * c.d + self.rho)
            return torch.linalg.inv(A)  # LU: faster than cholesky_inverse in float32 on CPU

        return c.get("Ainv", (self.t, self.rho, self.theta, self.eps, self.t_u), make)

    def _rhs(self, c: _Cache) -> torch.Tensor:
        """B = 1/(2 lam) R_t^T R_t - eps (1/lam - 1) D^{-t} M D^{-1/2} G D^{1/2-t}."""
        if c.RtR is None:
            c.RtR = gram(c.R.to(self.dtype))
        s = c.d.pow(-self.t)
        B = (0.5 / self.lam) * (s[:, None] * c.RtR * s[None, :])
        if self.lam < 1:
            B -= (
                self.eps
                * (1 / self.lam - 1)
                * (s[:, None] * self._mg(c) * (c.d.pow(0.5 - self.t))[None, :])
            )
        return B

    # ---- the objective (for tests and the notebook) --------------------------------------
    @torch.no_grad()
    def objective(self, H: torch.Tensor) -> float:
        """F(H) = 1/2 tr(H^T (K + theta D) H) - tr(H^T B) for the current setting (one n^3 product)."""
        c = self._cache
        if c is None:
            raise RuntimeError("fit the model first")
        s = c.d.pow(-self.t)
        K = self.eps * (s[:, None] * self._user_gram(c) * s[None, :])
        H = H.to(K.dtype)
        quad = (H * (K @ H)).sum() + self.theta * (c.d[:, None] * H * H).sum()
        return float(0.5 * quad - (H * self._rhs(c)).sum())

    @torch.no_grad()
    def dual_bound(self) -> float:
        """A lower bound on the optimum F* of Eq. (28) (the scale of :meth:`objective`), from
        the scaled dual Gamma of the last fit: F(S) - dual_bound() >= F(S) - F* >= 0.

        Weak duality for  min F(H) + [diag H = 0] + [Z in C]  s.t.  H = Z  (C: symmetric,
        >= 0): for any Y, d(Y) = min_{diag H = 0} (F(H) + <Y, H>) + min_{Z in C} -<Y, Z> <= F*.
        With Y = rho Gamma after a Z-step, sym(Gamma) = min(sym(H + Gamma_prev), 0) <= 0, so the
        second minimum is 0 (Z = 0) and the first is an H-step without rho:
        H = A0^{-1}(B - Y) - A0^{-1} diag(mu), A0 = K + theta D, value -1/2 <H, B - Y>.
        Costs one inverse of A0; needs theta > 0 (A0 positive definite)."""
        c = self._cache
        if c is None or self._Gamma is None or self.lam == 0:
            raise RuntimeError("no ADMM dual yet: fit the model with lam > 0 first")
        if self.theta <= 0:
            raise ValueError(
                f"dual_bound needs theta > 0 (K + theta D invertible), got {self.theta!r}"
            )
        s = c.d.pow(-self.t)
        A0 = self.eps * (s[:, None] * self._user_gram(c) * s[None, :])
        A0.diagonal().add_(self.theta * c.d)  # K + theta D
        A0inv = torch.linalg.inv(A0)
        C = self._rhs(c) - self.rho * self._Gamma  # B - Y
        Ht = A0inv @ C
        H = Ht - A0inv * (Ht.diagonal() / A0inv.diagonal())[None, :]  # diag(H) = 0
        return float(-0.5 * (H * C).sum())

    # ---- training --------------------------------------------------------------------------
    @torch.no_grad()
    def fit(
        self,
        data,
        warm_start: bool | tuple[torch.Tensor, torch.Tensor] = False,
        track_objective: bool = False,
        **overrides,
    ) -> CoRML:
        """Run ADMM (Eq. 28) on the training interactions; see the class docstring.

        ``track_objective=True`` also records F(S_k) at the feasible iterate S_k
        (symmetric, >= 0, zero diagonal) at the price of one more matrix product per
        iteration; it converges to the optimum F* (not necessarily falling at every step:
        ADMM is not a descent method). F(H_k) (always recorded, free) is the objective of
        the infeasible H-step iterate; it approaches F* too, typically from below."""
        import time

        self._set(**overrides)
        inter = self._check_data(data)
        t0 = time.perf_counter()
        R = interaction_matrix(inter, device=self.device)
        c = self._prepare(R)
        n = self.n_items
        G = self._graph_filter(c)
        t1 = time.perf_counter()
        rows = []
        if self.lam == 0:  # Eq. (26) with lam = 0: G only
            S = torch.zeros(n, n, dtype=self.dtype, device=R.device)
            t2 = t3 = t1
        else:
            Ainv = self._inverse(c)  # factorised once, reused below
            B = self._rhs(c)
            t2 = time.perf_counter()
            H_aux = Ainv @ B  # (I, I)
            dinv = Ainv.diagonal()
            if isinstance(warm_start, tuple):
                S, Gam = self._check_state(warm_start, n, R.device)
            elif warm_start and self._S is not None and self._S.shape == (n, n):
                S, Gam = self._S.clone(), self._Gamma.clone()
            else:
                S = torch.zeros(n, n, dtype=self.dtype, device=R.device)
                Gam = torch.zeros_like(S)
            if track_objective:
                s_ = c.d.pow(-self.t)
                Kq = self.eps * (s_[:, None] * self._user_gram(c) * s_[None, :])
                Kq.diagonal().add_(self.theta * c.d)  # K + theta D
            for it in range(self.iterations):
                Z = S - Gam
                Ht = torch.addmm(H_aux, Ainv, Z, alpha=self.rho)  # A^{-1}(B + rho(S - Gamma))
                H = Ht - Ainv * (Ht.diagonal() / dinv)[None, :]  # diag(H) = 0
                # F(H) = -1/2 <H, B> + rho/2 <H, S - Gamma - H>, from A H = B + rho Z - diag(mu)
                obj = float(-0.5 * (H * B).sum() + 0.5 * self.rho * (H * (Z - H)).sum())
                S = H + Gam
                S = ((S + S.t()) * 0.5).clamp_(min=0)  # Z-step: symmetric, >= 0
                Gam += H - S  # dual step
                res = float(torch.linalg.norm(H - S) / max(1.0, float(torch.linalg.norm(S))))
                obj_s = (
                    float(0.5 * (S * (Kq @ S)).sum() - (S * B).sum())
                    if track_objective
                    else math.nan
                )
                rows.append((it + 1, obj_s, obj, res, time.perf_counter() - t0))
            S.fill_diagonal_(0)  # exact zeros (S_ii = max(0, Gamma_ii) = 0 already)
            self._S, self._Gamma = S.clone(), Gam
            t3 = time.perf_counter()
        H = self.sparsify(S, self.storage_dim) if self.storage_dim else S
        # Eq. (26): Y = R (lam D^{-t} H D^{t} + (1 - lam) D^{-1/2} G D^{1/2})
        d = c.d
        W = self.lam * (d.pow(-self.t)[:, None] * H * d.pow(self.t)[None, :])
        W += (1 - self.lam) * (d.rsqrt()[:, None] * G * d.sqrt()[None, :])
        self.R, self.H, self.G, self.W = R.to(self.dtype), H, G, W
        if not rows:  # lam = 0: the single graph-filter solve
            rows.append((1, math.nan, math.nan, math.nan, time.perf_counter() - t0))
        self.history_ = pd.DataFrame(rows, columns=[*self._hist_cols, "seconds"])
        t4 = time.perf_counter()
        self.timings = {
            "svd + G": t1 - t0,
            "factorise A": t2 - t1,
            "ADMM": t3 - t2,
            "score matrix": t4 - t3,
            "total": t4 - t0,
        }
        return self

    def admm_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Copies of ADMM's (S, Gamma) after the last fit, to pass as ``fit(..., warm_start=state)``."""
        if self._S is None:
            raise RuntimeError("no ADMM state yet: fit the model (with lam > 0) first")
        return self._S.clone(), self._Gamma.clone()

    def _check_state(self, state, n, device):
        if len(state) != 2 or any(
            not isinstance(x, torch.Tensor) or x.shape != (n, n) for x in state
        ):
            raise ValueError(
                f"warm_start must be True/False or the (S, Gamma) pair of model.admm_state() with "
                f"two ({n}, {n}) tensors; got {type(state).__name__} of "
                f"{[tuple(getattr(x, 'shape', ())) for x in state]}"
            )
        return tuple(x.to(device=device, dtype=self.dtype).clone() for x in state)

    # ---- storage budget --------------------------------------------------------------------
    def sparsify(self, H: torch.Tensor, storage_dim: int) -> torch.Tensor:
        """Keep the largest entries of symmetric H so that its CSR upper triangle (2 nnz +
        |I| numbers) fits the storage of ``storage_dim``-dim user and item embeddings,
        (|U| + |I|) * storage_dim numbers (the paper's sparse approximation, Sec. 5.1.3)."""
        n = H.shape[0]
        budget = (self.n_users + self.n_items) * int(storage_dim)
        keep = max(0, (budget - n) // 2)
        upper = torch.triu(H, diagonal=1)
        nnz = int((upper > 0).sum())
        if nnz <= keep:
            return H
        if keep == 0:
            return torch.zeros_like(H)
        thr = torch.topk(upper.flatten(), keep).values[-1]
        upper = torch.where(upper >= thr, upper, torch.zeros_like(upper))
        return upper + upper.t()

    def storage(self) -> int:
        """Numbers needed to store the upper triangle of H in CSR (2 nnz + |I|)."""
        return int(2 * (torch.triu(self.H, diagonal=1) > 0).sum() + self.n_items)

    def extra_repr(self) -> str:
        cfg = ", ".join(f"{k}={getattr(self, k)}" for k in self._knobs)
        return f"{super().extra_repr()}, {cfg}"


__all__ = [
    "CoRML",
    "CoRMLConfig",
    "gershgorin_discs",
    "gershgorin_omega",
    "full_mahalanobis_sq",
    "metric_from_hollow",
]
