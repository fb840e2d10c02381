"""RME and its variants WMF, Cofactor, U_RME, I_RME (Tran, dissertation Ch. 4.2, Eq. 4.1, 4.4-4.8).

The chapter's code, in reading order: ``models/sppmi.py`` (the SPPMI matrices, Eq. 4.2-4.3),
this file (the model and its ALS sweeps), ``models/rme_implicit.py`` (Algorithm 2's E-step),
``recsys_book/als.py`` (the sweeps' loop with validation and early stopping, Algorithm 2),
``models/item2vec.py`` (the SGNS baseline); the protocol helpers ``explicit_split`` and
``activity_groups`` are in ``recsys_book.data.splits``. ``sppmi``, ``sppmi_matrices`` and
``cooccurrence`` are re-exported here (``from recsys_book.models.rme import sppmi`` works).

* :class:`RME` -- Eq. (4.4): WMF (Eq. 4.1) + co-liked item embedding (X) + co-disliked item
  embedding (Y) + user embedding (Z), solved by the vector-wise ALS updates Eq. (4.5)-(4.8).
  Every row's k x k linear system is built for all rows at once (matrix products against
  outer products of the factors, ``models/_sparse_rows.py``) and solved in one batched
  ``torch.linalg.solve``; CPU or GPU.
  The variants are switches of the same class: :class:`WMF` (no co-occurrence term),
  :class:`Cofactor` (liked only), :class:`U_RME` (no disliked), :class:`I_RME` (no users).

Readings we chose where the chapter is loose (each is also noted at the line):

* confidence weights w_up = c1 for observed (liked) pairs and c0 for all the others
  (w_up = l(1 + phi M_up) with l = c0, phi = c1/c0 - 1); c0 = 1, c1 = 10 as in the authors' code.
* w^(+p) = w^(-p) = w^(u) = w (constant over pairs, as in the chapter's experiments), but one
  weight per term (``w_liked``, ``w_disliked``, ``w_user``) so that a term can be weighted out.
* Eq. (4.7) writes (Z_ju - d_u - e_j) for theta_j: a typo for the user biases (f_u, g_j).
* One ALS sweep = Algorithm 1 lines 5-8 in order: alpha, beta, gamma, delta, theta, then the
  biases b, c, d, e, f, g one block after another. Each block update is the exact minimiser
  of Eq. (4.4) in that block, so the objective never increases (tested).
* Ranking score: alpha_u . beta_p (the biases belong to the co-occurrence terms only).
"""

from __future__ import annotations

import torch

from recsys_book.data.interactions import DataError, Interactions
from recsys_book.models._sparse_rows import _Rows
from recsys_book.models.base import ClosedForm
from recsys_book.models.sppmi import (  # noqa: F401 (re-exported: the chapter's first step)
    _same_space,
    _shifts,
    _sppmi,
    cooccurrence,
    sppmi,
    sppmi_matrices,
)

__all__ = ["RME", "WMF", "Cofactor", "U_RME", "I_RME", "cooccurrence", "sppmi", "sppmi_matrices"]


class RME(ClosedForm):
    """Regularized multi-embedding model, Eq. (4.4), fitted by vector-wise ALS (Eq. 4.5-4.8).

    ``liked`` / ``disliked`` / ``user``: switch the co-liked (X), co-disliked (Y) and user (Z)
    terms on or off; all off is WMF (Eq. 4.1), liked only is Cofactor, liked + user is U_RME,
    liked + disliked is I_RME. ``w_*``: the per-term co-occurrence weights w^(+p), w^(-p),
    w^(u). ``lam_context``: lambda for the context vectors gamma, delta, theta (the
    "dynamic setting" of RQ2-4; default: ``lam``). Parameters live in buffers (no autograd:
    ALS). ``history_`` after :meth:`fit`: one row per sweep with the objective and its terms.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        k: int = 40,
        lam: float = 1.0,
        c0: float = 1.0,
        c1: float = 10.0,
        liked: bool = True,
        disliked: bool = True,
        user: bool = True,
        w_liked: float = 1.0,
        w_disliked: float = 1.0,
        w_user: float = 1.0,
        lam_context: float | None = None,
        shift=1.0,
        init_std: float = 0.01,
        seed: int = 0,
        dtype=torch.float32,
        dense_max: int = 2**24,
        chunk: int = 4096,
    ):
        super().__init__(n_users, n_items)
        if k < 1:
            raise ValueError(f"latent size k must be >= 1, got {k}")
        if lam <= 0 and (lam_context is None or lam_context <= 0):
            raise ValueError(f"lam must be > 0 (it keeps every row's system invertible), got {lam}")
        if c0 < 0 or c1 <= 0:
            raise ValueError(f"confidence weights need c0 >= 0 and c1 > 0, got c0={c0}, c1={c1}")
        self.k, self.lam, self.c0, self.c1 = int(k), float(lam), float(c0), float(c1)
        self.lam_context = float(lam if lam_context is None else lam_context)
        self.use = {"X": bool(liked), "Y": bool(disliked), "Z": bool(user)}
        self.w = {"X": float(w_liked), "Y": float(w_disliked), "Z": float(w_user)}
        self.shift, self.seed, self.dtype = shift, int(seed), dtype
        self.init_std, self.dense_max, self.chunk = float(init_std), int(dense_max), int(chunk)
        m, n = self.n_users, self.n_items
        self.register_buffer("U", torch.zeros(m, k, dtype=dtype))  # alpha_u  (m, k)
        self.register_buffer("P", torch.zeros(n, k, dtype=dtype))  # beta_p   (n, k)
        self.register_buffer("G", torch.zeros(n, k, dtype=dtype))  # gamma_i  (n, k)
        self.register_buffer("D", torch.zeros(n, k, dtype=dtype))  # delta_i' (n, k)
        self.register_buffer("T", torch.zeros(m, k, dtype=dtype))  # theta_j  (m, k)
        for name, size in (("b", n), ("c", n), ("d", n), ("e", n), ("f", m), ("g", m)):
            self.register_buffer(name, torch.zeros(size, dtype=dtype))  # biases of Eq. (4.4)

    # which factors / biases belong to each co-occurrence term: (matrix, row factor,
    # context factor, row bias, context bias)
    _TERMS = {"X": ("P", "G", "b", "c"), "Y": ("P", "D", "d", "e"), "Z": ("U", "T", "f", "g")}

    def extra_repr(self) -> str:
        on = [t for t, u in self.use.items() if u]
        terms = "+".join(["WMF"] + on)
        return f"{super().extra_repr()}, k={self.k}, lam={self.lam}, terms={terms}"

    # ---- data -----------------------------------------------------------------------------
    def _prepare(self, data, disliked, matrices):
        liked = getattr(data, "train", data)
        if not isinstance(liked, Interactions):
            raise TypeError(
                f"fit expects a Split or Interactions of liked items, got {type(liked).__name__}"
            )
        if (liked.n_users, liked.n_items) != (self.n_users, self.n_items):
            raise DataError(
                f"the model was built for {self.n_users} users x {self.n_items} items but the "
                f"data has {liked.n_users} x {liked.n_items}; build it with "
                "RME(split.n_users, split.n_items)."
            )
        mats = dict(matrices or {})
        sx, sy, sz = _shifts(self.shift)
        if self.use["X"] and "X" not in mats:
            mats["X"] = _sppmi(liked, sx, False, None, as_sparse=False)
        if self.use["Z"] and "Z" not in mats:
            mats["Z"] = _sppmi(liked, sz, True, None, as_sparse=False)
        if self.use["Y"] and "Y" not in mats:
            if disliked is None:
                raise DataError(
                    "this model has the co-disliked term (disliked=True) but no disliked items "
                    "were "
                    "given: pass fit(..., disliked=dislikes) (see split_likes), infer them with "
                    "recsys_book.als.fit_implicit (Algorithm 2), or use U_RME / Cofactor."
                )
            _same_space(liked, disliked)
            mats["Y"] = _sppmi(disliked, sy, False, None, as_sparse=False)
        dev, dt = self.device, self.dtype
        small = self.n_users * self.n_items <= self.dense_max
        mat = liked.to_dense() if small else liked.to_sparse()
        self._M = _Rows(mat, dev, dt, self.dense_max)  # (m, n) pattern of M
        self._Mt = self._M.t()
        self._S = {t: _Rows(mats[t], dev, dt, self.dense_max) for t in "XYZ" if self.use[t]}
        self._St = {t: s.t() for t, s in self._S.items()}
        return liked

    def init_params(self) -> None:
        """N(0, init_std^2) factors, zero biases; one generator, always the same draw order
        (so switching a term off does not change the other factors' start)."""
        g = torch.Generator().manual_seed(self.seed)
        for name in ("U", "P", "G", "D", "T"):
            buf = getattr(self, name)
            buf.copy_(torch.randn(buf.shape, generator=g, dtype=self.dtype) * self.init_std)
        for name in "bcdefg":
            getattr(self, name).zero_()
        for t, used in self.use.items():  # unused context factors stay at zero
            if not used:
                getattr(self, self._TERMS[t][1]).zero_()

    # ---- the objective, Eq. (4.4) ----------------------------------------------------------
    @torch.no_grad()
    def objective(self) -> dict[str, float]:
        """The terms of Eq. (4.4) at the current parameters (call after fit / a sweep)."""
        U, P = self.U, self.P
        if self._M.dense:  # Eq. (4.1), small data
            pat = self._M.pat
            r2 = (pat - U @ P.T).pow(2)  # (m, n)
            wmf = 0.5 * (self.c0 * r2.sum() + (self.c1 - self.c0) * (r2 * pat).sum())
        else:  # without an m x n matrix: c0 * sum over all pairs + correction on observed
            s_obs = self._M.pair_dot(U, P)  # alpha_u . beta_p on Omega_M
            all_sq = ((U.T @ U) * (P.T @ P)).sum()
            obs = self.c1 * (1 - s_obs) ** 2 - self.c0 * s_obs**2
            wmf = 0.5 * (self.c0 * all_sq + obs.sum())
        out = {"WMF": float(wmf)}
        reg = 0.5 * self.lam * (U.pow(2).sum() + P.pow(2).sum())
        for t, S in self._S.items():
            row, ctx, br, bc = (getattr(self, n) for n in self._TERMS[t])
            out[t] = float(0.5 * self.w[t] * S.sq_resid(row, ctx, br, bc))  # L2 / L3 / L4
            reg = reg + 0.5 * self.lam_context * ctx.pow(2).sum()
        out["reg"] = float(reg)
        out["objective"] = sum(v for k, v in out.items())
        return out

    # ---- one ALS sweep: Algorithm 1, lines 5-8 ----------------------------------------------
    def _solve(self, n_rows: int, build) -> torch.Tensor:
        """Solve every row's k x k system, ``chunk`` rows per batched torch.linalg.solve."""
        out = []
        for a in range(0, n_rows, self.chunk):
            b = min(n_rows, a + self.chunk)
            A, r = build(a, b)  # (B, k, k), (B, k)
            out.append(torch.linalg.solve(A, r.unsqueeze(-1)).squeeze(-1))
        return torch.cat(out)

    def _wmf_part(self, M: _Rows, V: torch.Tensor, VtV: torch.Tensor, lam: float, a: int, b: int):
        """WMF part of a row system: c0 V^T V + (c1 - c0) sum_{obs} v v^T + lam I,
        rhs c1 sum_{obs} v (M_up = 1 on observed pairs, 0 elsewhere)."""
        eye = torch.eye(self.k, dtype=V.dtype, device=V.device)
        A = (self.c0 * VtV + lam * eye).expand(b - a, -1, -1)
        A = A + (self.c1 - self.c0) * M.gram(V, a, b)
        r = self.c1 * M.mm(V, a, b, pattern=True)
        return A, r

    def _cooc_row_part(self, t: str, a: int, b: int):
        """Co-occurrence part for the *row* factor (alpha for Z, beta for X/Y), Eq. (4.5)/(4.6):
        w sum_{i in Omega_p} ctx_i ctx_i^T and w sum (S_pi - br_p - bc_i) ctx_i."""
        S, w = self._S[t], self.w[t]
        _, ctx, br, bc = (getattr(self, n) for n in self._TERMS[t])
        A = w * S.gram(ctx, a, b)
        r = w * (
            S.mm(ctx, a, b)
            - br[a:b, None] * S.mm(ctx, a, b, pattern=True)
            - S.mm(bc[:, None] * ctx, a, b, pattern=True)
        )
        return A, r

    @torch.no_grad()
    def update_users(self) -> None:
        """Eq. (4.5): every alpha_u at once (Algorithm 1, line 5)."""

        def rows_u(a, b):
            A, r = self._wmf_part(self._M, self.P, self.P.T @ self.P, self.lam, a, b)
            if self.use["Z"]:
                A2, r2 = self._cooc_row_part("Z", a, b)
                A, r = A + A2, r + r2
            return A, r

        self.U = self._solve(self.n_users, rows_u)  # alpha (m, k)

    @torch.no_grad()
    def update_items(self) -> None:
        """Eq. (4.6): every beta_p at once (line 6)."""

        def rows_p(a, b):
            A, r = self._wmf_part(self._Mt, self.U, self.U.T @ self.U, self.lam, a, b)
            for t in "XY":
                if self.use[t]:
                    A2, r2 = self._cooc_row_part(t, a, b)
                    A, r = A + A2, r + r2
            return A, r

        self.P = self._solve(self.n_items, rows_p)  # beta (n, k)

    @torch.no_grad()
    def update_contexts(self, t: str) -> None:
        """Eq. (4.7): the context vectors of term t (gamma for X, delta for Y, theta for Z):
        w sum_{p: S_pi != 0} row_p row_p^T + lam I, rhs w sum_p (S_pi - br_p - bc_i) row_p."""
        St, w = self._St[t], self.w[t]
        row_name, ctx_name, br_name, bc_name = self._TERMS[t]
        row, br, bc = getattr(self, row_name), getattr(self, br_name), getattr(self, bc_name)
        eye = torch.eye(self.k, dtype=self.dtype, device=self.device)

        def rows_ctx(a, b):
            A = w * St.gram(row, a, b) + self.lam_context * eye
            r = w * (
                St.mm(row, a, b)
                - St.mm(br[:, None] * row, a, b, pattern=True)
                - bc[a:b, None] * St.mm(row, a, b, pattern=True)
            )
            return A, r

        setattr(self, ctx_name, self._solve(St.shape[0], rows_ctx))

    @torch.no_grad()
    def update_biases(self, t: str) -> None:
        """Eq. (4.8): the row bias (b, d or f), then the context bias (c, e or g) of term t;
        each is the mean residual over its non-zeros (0 for an empty row)."""
        S, St = self._S[t], self._St[t]
        row_name, ctx_name, br_name, bc_name = self._TERMS[t]
        row, ctx, bc = getattr(self, row_name), getattr(self, ctx_name), getattr(self, bc_name)
        num = (
            S.rowsum
            - (row * S.mm(ctx, pattern=True)).sum(1)
            - S.mm(bc[:, None], pattern=True)[:, 0]
        )
        br = torch.where(S.count > 0, num / S.count.clamp(min=1), 0.0)
        setattr(self, br_name, br)
        num = (
            St.rowsum
            - (ctx * St.mm(row, pattern=True)).sum(1)
            - St.mm(br[:, None], pattern=True)[:, 0]
        )
        setattr(self, bc_name, torch.where(St.count > 0, num / St.count.clamp(min=1), 0.0))

    def sweep(self) -> None:
        """One pass of Algorithm 1 (lines 5-8): alpha, beta, the contexts, the biases.
        Each block update is exact, so Eq. (4.4) never increases."""
        self.update_users()
        self.update_items()
        for t in "XYZ":
            if self.use[t]:
                self.update_contexts(t)
        for t in "XYZ":
            if self.use[t]:
                self.update_biases(t)

    # ---- fit -----------------------------------------------------------------------------
    def fit(
        self,
        data,
        disliked: Interactions | None = None,
        n_sweeps: int = 10,
        matrices: dict | None = None,
        callbacks=(),
        progress: bool = False,
        after_sweep=None,
        **unknown,
    ) -> "RME":
        """Algorithm 1: ``n_sweeps`` ALS sweeps. ``data``: a Split (its ``train``) or
        Interactions of *liked* items; ``disliked``: Interactions of disliked items (same id
        space) when the Y term is on. ``matrices``: precomputed {"X", "Y", "Z"} SPPMI matrices
        (skips Eq. 4.2-4.3). Each ``callbacks`` entry runs as ``cb(model, history_df)`` after
        every sweep (live plots), as in ``train.fit``.

        Validation and early stopping (the authors stop when validation NDCG@100 drops) are the
        training loop's: :func:`recsys_book.als.fit_als` runs this fit with an
        ``after_sweep(model, row) -> stop?`` hook that scores the sweep, adds its metric to the
        history ``row`` and says when to stop (the model never evaluates itself).
        """
        if unknown:
            moved = {"valid", "metric", "patience"} & set(unknown)
            raise TypeError(
                f"RME.fit got unexpected keyword(s) {sorted(unknown)}"
                + (": validation and early stopping live in the training loop: "
                   "recsys_book.als.fit_als(model, split, sweeps=..., valid_metric='NDCG@100', patience=1)"
                   if moved else "")  # fmt: skip
            )
        if n_sweeps < 1:
            raise ValueError(f"n_sweeps must be >= 1, got {n_sweeps}")
        self._prepare(data, disliked, matrices)
        self.init_params()
        self._start_history()
        it = range(1, n_sweeps + 1)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=type(self).__name__, leave=False)
        for s in it:
            self.sweep()
            row = {"sweep": s, **self.objective()}
            stop = bool(after_sweep(self, row)) if after_sweep is not None else False
            self._log(**row)
            for cb in callbacks:
                cb(self, self.history_)
            if stop:
                break
        return self

    # ---- scores -------------------------------------------------------------------------
    def score(self, users, items, **inputs):
        """alpha_u . beta_p, (B, C)."""
        return (self.U[users][:, None, :] * self.P[items]).sum(-1)

    def score_all(self, users, **inputs):
        return self.U[users] @ self.P.T  # (B, n)


class WMF(RME):
    """Weighted matrix factorisation, Eq. (4.1), by ALS: RME with every co-occurrence term off."""

    def __init__(self, n_users: int, n_items: int, **kw):
        super().__init__(n_users, n_items, liked=False, disliked=False, user=False, **kw)


class Cofactor(RME):
    """Cofactor (Liang et al., 2016): WMF + co-liked item embedding (the X term)."""

    def __init__(self, n_users: int, n_items: int, **kw):
        super().__init__(n_users, n_items, liked=True, disliked=False, user=False, **kw)


class U_RME(RME):  # noqa: N801 (the chapter's name)
    """RME - DIE: WMF + co-liked item embedding + user embedding (no disliked items)."""

    def __init__(self, n_users: int, n_items: int, **kw):
        super().__init__(n_users, n_items, liked=True, disliked=False, user=True, **kw)


class I_RME(RME):  # noqa: N801
    """RME - UE: WMF + co-liked + co-disliked item embeddings (no user embedding)."""

    def __init__(self, n_users: int, n_items: int, **kw):
        super().__init__(n_users, n_items, liked=True, disliked=True, user=False, **kw)
