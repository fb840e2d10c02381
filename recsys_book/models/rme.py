"""Co-occurrence embeddings: WMF, Cofactor and RME (Tran, dissertation Ch. 4.2).

The chapter's idea in one line: *items liked together, items disliked together and users who
like the same items are "words in a context"*, so word2vec's trick applies. Skip-gram with
negative sampling implicitly factorises a shifted PMI matrix (Levy & Goldberg, 2014), so we
build those matrices explicitly and factorise them **jointly** with the user-item matrix.

* :func:`cooccurrence`, :func:`sppmi` -- Eq. (4.2)-(4.3): PMI(i, j) = log(#(i,j)|D| / (#i #j)),
  SPPMI = max(PMI - log s, 0). ``#(i, j)`` counts the "documents" (users for items, items for
  users) that contain both i and j, over the document's whole set ("greedy context
  generation", no window), as in the authors' code.
* :class:`RME` -- Eq. (4.4): WMF (Eq. 4.1) + co-liked item embedding (X) + co-disliked item
  embedding (Y) + user embedding (Z), solved by the vector-wise ALS updates Eq. (4.5)-(4.8).
  Every row's k x k linear system is built for all rows at once (matrix products against
  outer products of the factors) and solved in one batched ``torch.linalg.solve``; CPU or GPU.
  The variants are switches of the same class: :class:`WMF` (no co-occurrence term),
  :class:`Cofactor` (liked only), :class:`U_RME` (no disliked), :class:`I_RME` (no users).
* :func:`sample_dislikes`, :func:`fit_implicit` -- Algorithm 2: EM-like inference of disliked
  items for implicit data.
* :class:`Item2Vec` -- the SGNS baseline, taken in its SPPMI-factorisation form (see class).

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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from recsys_book.data.interactions import DataError, Interactions
from recsys_book.metrics import parse_metric
from recsys_book.models.base import ClosedForm, Recommender
from recsys_book.train import EarlyStopping

# ---- Eq. (4.2)-(4.3): co-occurrence and SPPMI ------------------------------------------------


def _binary_rows(data, n_rows: int | None, n_cols: int | None) -> torch.Tensor:
    """A sparse binary (documents x words) matrix from Interactions / dense / sparse input."""
    if isinstance(data, Interactions):
        return data.to_sparse()
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            "expected Interactions or a (documents x words) torch tensor, "
            f"got {type(data).__name__}"
        )
    if data.dim() != 2:
        raise ValueError(
            f"expected a 2-d (documents x words) matrix, got shape {tuple(data.shape)}"
        )
    m = data.to_sparse() if not data.is_sparse else data
    m = m.coalesce()
    return torch.sparse_coo_tensor(m.indices(), (m.values() != 0).float(), m.shape).coalesce()


def cooccurrence(data, transpose: bool = False, dense: bool | None = None) -> torch.Tensor:
    """#(i, j): the number of documents (rows) holding both words (columns) i != j.

    ``data``: Interactions (rows = users, columns = items) or a 2-d tensor.
    ``transpose=True`` counts co-occurring *users* (documents = items): Z's counts.
    Returns a coalesced sparse COO (n, n) float tensor with a zero diagonal.
    ``dense``: compute B^T B densely (fast for ML-100k sizes); default when n^2 <= 2^24.
    """
    c = _cooc(data, transpose, dense)
    return c.to_sparse().coalesce() if not c.is_sparse else c


def _use_dense(data, transpose, dense) -> bool:
    if dense is not None:
        return bool(dense)
    n = (
        (data.n_users if transpose else data.n_items)
        if isinstance(data, Interactions)
        else data.shape[0 if transpose else 1]
    )
    return n * n <= 2**24


def _cooc(data, transpose: bool, dense: bool | None) -> torch.Tensor:
    """Co-occurrence counts: a dense (n, n) tensor on the dense path, else sparse COO."""
    if _use_dense(data, transpose, dense):
        if isinstance(data, Interactions):
            bd = data.to_dense()
        else:
            bd = (data.to_dense() if data.is_sparse else data).ne(0).float()
        bd = bd.t() if transpose else bd
        c = bd.t() @ bd  # (n, n) = B^T B
        c.fill_diagonal_(0)
        return c
    b = _binary_rows(data, None, None)
    if transpose:
        b = b.t().coalesce()
    c = torch.sparse.mm(b.t().coalesce(), b).coalesce()  # (n, n) sparse
    idx, val = c.indices(), c.values()
    keep = (idx[0] != idx[1]) & (val != 0)
    return torch.sparse_coo_tensor(idx[:, keep], val[keep], c.shape).coalesce()


def sppmi(
    data, shift: float = 1.0, transpose: bool = False, dense: bool | None = None
) -> torch.Tensor:
    """Shifted positive PMI, Eq. (4.2)-(4.3), as a sparse (n, n) matrix.

    PMI(i, j) = log(#(i,j) |D| / (#(i) #(j))) with |D| = sum of all pair counts and
    #(i) = sum_j #(i, j) (the authors' code); SPPMI = max(PMI - log s, 0). Only pairs that
    co-occur get a value; the result keeps the strictly positive entries. ``shift`` = s >= 1
    plays the role of SGNS's number of negative samples: larger s, sparser matrix.
    ``data``/``transpose``/``dense`` as in :func:`cooccurrence`.
    """
    return _sppmi(data, shift, transpose, dense, as_sparse=True)


def _sppmi(data, shift: float, transpose: bool, dense, as_sparse: bool) -> torch.Tensor:
    """:func:`sppmi`; ``as_sparse=False`` keeps the dense fast path's dense result."""
    if not (isinstance(shift, (int, float)) and shift > 0 and math.isfinite(shift)):
        raise ValueError(f"shift s must be a positive number (s = 1 means no shift), got {shift!r}")
    c = _cooc(data, transpose, dense)
    n = c.shape[0]
    if not c.is_sparse:  # dense fast path
        c = c.double()
        total = c.sum()  # |D|
        marg = c.sum(1)  # #(i)
        with torch.no_grad():
            pmi = torch.log(c * total / (marg[:, None] * marg[None, :]))  # Eq. (4.2)
        val = torch.where(c > 0, pmi - math.log(shift), 0.0).clamp(min=0)  # Eq. (4.3)
        return val.float().to_sparse().coalesce() if as_sparse else val.float()
    idx, cnt = c.indices(), c.values().double()
    if cnt.numel() == 0:
        return torch.sparse_coo_tensor(idx, cnt.float(), (n, n)).coalesce()
    total = cnt.sum()  # |D|
    marg = torch.zeros(n, dtype=torch.float64).index_add_(0, idx[0], cnt)  # #(i)
    pmi = torch.log(cnt * total / (marg[idx[0]] * marg[idx[1]]))  # Eq. (4.2)
    val = pmi - math.log(shift)  # Eq. (4.3)
    keep = val > 0
    return torch.sparse_coo_tensor(idx[:, keep], val[keep].float(), (n, n)).coalesce()


def sppmi_matrices(liked: Interactions, disliked: Interactions | None = None, shift=1.0) -> dict:
    """The three matrices of RME: X (co-liked items), Y (co-disliked items), Z (users who
    like the same items). ``shift`` is one s or a tuple (s_X, s_Y, s_Z)."""
    sx, sy, sz = _shifts(shift)
    out = {"X": sppmi(liked, sx), "Z": sppmi(liked, sz, transpose=True)}
    if disliked is not None:
        _same_space(liked, disliked)
        out["Y"] = sppmi(disliked, sy)
    return out


def _shifts(shift) -> tuple:
    """One shift s for X, Y and Z, or a tuple (s_X, s_Y, s_Z)."""
    if isinstance(shift, (int, float)):
        return (float(shift),) * 3
    if len(tuple(shift)) != 3:
        raise ValueError(f"shift must be one number or three (s_X, s_Y, s_Z), got {shift!r}")
    return tuple(float(x) for x in shift)


def _same_space(a: Interactions, b: Interactions) -> None:
    if (a.n_users, a.n_items) != (b.n_users, b.n_items):
        raise DataError(
            f"liked and disliked interactions must share one id space, got {a.n_users}x{a.n_items} "
            f"and {b.n_users}x{b.n_items}; build both with split_likes(inter) from the same data."
        )


# ---- a sparse matrix laid out for the batched ALS -------------------------------------------

_TRIU: dict = {}


def _outer(v: torch.Tensor) -> torch.Tensor:
    """Upper triangles of the outer products v_i v_i^T, flattened: (n, k(k+1)/2)."""
    k = v.shape[1]
    key = (k, v.device)
    if key not in _TRIU:
        _TRIU[key] = torch.triu_indices(k, k, device=v.device)
    i, j = _TRIU[key]
    return v[:, i] * v[:, j]


def _unpack(flat: torch.Tensor, k: int) -> torch.Tensor:
    """(B, k(k+1)/2) upper triangles -> symmetric (B, k, k)."""
    i, j = _TRIU[(k, flat.device)]
    out = flat.new_zeros(flat.shape[0], k, k)
    out[:, i, j] = flat
    out[:, j, i] = flat
    return out


class _Rows:
    """A sparse (R, C) matrix S whose non-zero pattern Omega defines a term of Eq. (4.4).

    Dense storage when R*C <= dense_max (one dense matmul beats sparse kernels on
    ML-100k sizes), CSR otherwise. Every method takes a row range so that the batched
    solve can go chunk by chunk on large data.
    """

    def __init__(self, mat: torch.Tensor, device, dtype, dense_max: int):
        self.shape = tuple(mat.shape)
        self.dense = self.shape[0] * self.shape[1] <= dense_max
        self._dense_max = dense_max
        if self.dense:
            self.val = (mat.to_dense() if mat.is_sparse else mat).to(device=device, dtype=dtype)
            self.pat = (self.val != 0).to(dtype)
            self.count = self.pat.sum(1)  # |Omega_p|
            self.rowsum = self.val.sum(1)  # sum_i S_pi
            self.nnz = int(self.count.sum())
        else:
            mat = mat.coalesce() if mat.is_sparse else mat.to_sparse().coalesce()
            idx, val = mat.indices(), mat.values()
            keep = val != 0
            idx, val = idx[:, keep].to(device), val[keep].to(device=device, dtype=dtype)
            order = torch.argsort(idx[0] * self.shape[1] + idx[1])
            self.rows, self.cols, self.vals = idx[0][order], idx[1][order], val[order]
            self.nnz = int(val.numel())
            counts = torch.bincount(self.rows, minlength=self.shape[0])
            self.ptr = torch.zeros(self.shape[0] + 1, dtype=torch.long, device=device)
            self.ptr[1:] = torch.cumsum(counts, 0)
            self.count = counts.to(dtype)
            self.rowsum = torch.zeros_like(self.count).index_add_(0, self.rows, self.vals)
        self._t = None

    def t(self) -> "_Rows":
        if self._t is None:
            if self.dense:
                m = self.val.T.contiguous()
            else:
                m = torch.sparse_coo_tensor(
                    torch.stack([self.cols, self.rows]), self.vals, self.shape[::-1]
                )
            self._t = _Rows(m, m.device, m.dtype, dense_max=2**62 if self.dense else 0)
            self._t._t = self
        return self._t

    def _csr(self, a: int, b: int, pattern: bool) -> torch.Tensor:
        lo, hi = int(self.ptr[a]), int(self.ptr[b])
        vals = torch.ones_like(self.vals[lo:hi]) if pattern else self.vals[lo:hi]
        return torch.sparse_csr_tensor(
            self.ptr[a : b + 1] - lo, self.cols[lo:hi], vals, (b - a, self.shape[1])
        )

    def mm(self, v: torch.Tensor, a: int = 0, b: int | None = None, pattern: bool = False):
        """rows a:b of S @ v (or of the 0/1 pattern of S @ v)."""
        b = self.shape[0] if b is None else b
        if self.dense:
            return (self.pat if pattern else self.val)[a:b] @ v
        return self._csr(a, b, pattern) @ v

    def gram(self, v: torch.Tensor, a: int = 0, b: int | None = None) -> torch.Tensor:
        """sum_{i in Omega_p} v_i v_i^T for rows p in a:b, shape (b-a, k, k)."""
        return _unpack(self.mm(_outer(v), a, b, pattern=True), v.shape[1])

    def sq_resid(self, left, right, bias_r, bias_c, chunk: int = 1 << 20) -> torch.Tensor:
        """sum over Omega of (S_pi - left_p . right_i - bias_r_p - bias_c_i)^2."""
        if self.dense:
            r = (self.val - left @ right.T - bias_r[:, None] - bias_c[None, :]) * self.pat
            return (r * r).sum()
        tot = left.new_zeros(())
        for s in range(0, self.nnz, chunk):
            p, i, x = self.rows[s : s + chunk], self.cols[s : s + chunk], self.vals[s : s + chunk]
            r = x - (left[p] * right[i]).sum(1) - bias_r[p] - bias_c[i]
            tot = tot + (r * r).sum()
        return tot

    def pair_dot(self, left, right, chunk: int = 1 << 20) -> torch.Tensor:
        """left_p . right_i for every stored (p, i), in the order of the pattern (dense:
        row-major over the pattern)."""
        if self.dense:
            p, i = torch.nonzero(self.pat, as_tuple=True)
        else:
            p, i = self.rows, self.cols
        return torch.cat(
            [
                (left[p[s : s + chunk]] * right[i[s : s + chunk]]).sum(1)
                for s in range(0, max(1, p.numel()), chunk)
            ]
        )


# ---- RME and its variants --------------------------------------------------------------------


@dataclass
class RMEConfig:
    """Defaults of the chapter / the authors' code (k = 40, lambda = 1, c0 = 1, c1 = 10)."""

    k: int = 40
    lam: float = 1.0
    c0: float = 1.0
    c1: float = 10.0
    shift: float = 1.0
    n_sweeps: int = 10


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
                    "fit_implicit (Algorithm 2), or use U_RME / Cofactor."
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
        valid=None,
        metric: str = "NDCG@100",
        patience: int | None = 1,
        matrices: dict | None = None,
        callback=None,
        progress: bool = False,
    ) -> "RME":
        """Algorithm 1. ``data``: a Split (its ``train``) or Interactions of *liked* items;
        ``disliked``: Interactions of disliked items (same id space) when the Y term is on.

        ``valid``: an EvalSet (e.g. ``split.valid``); then ``metric`` is measured after every
        sweep, training stops after ``patience`` sweeps without improvement (the authors stop
        when validation NDCG@100 drops) and the best sweep's parameters are restored.
        ``matrices``: precomputed {"X", "Y", "Z"} SPPMI matrices (skips Eq. 4.2-4.3).
        ``callback(model, history_df)`` runs after every sweep (live plots).
        """
        if n_sweeps < 1:
            raise ValueError(f"n_sweeps must be >= 1, got {n_sweeps}")
        self._prepare(data, disliked, matrices)
        self.init_params()
        self._start_history()
        name, kcut, key = parse_metric(metric)
        stopper = EarlyStopping(patience)
        it = range(1, n_sweeps + 1)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=type(self).__name__, leave=False)
        for s in it:
            self.sweep()
            row = {"sweep": s, **self.objective()}
            if valid is not None:
                from recsys_book.evaluate import evaluate

                row[metric] = evaluate(self, valid, ks=(kcut,), metrics=(name,))[key]
            self._log(**row)
            if callback is not None:
                callback(self, self.history_)
            if valid is not None and stopper.update(row[metric], self):
                break
        if stopper.best_state is not None:
            stopper.restore(self)
            self.best_sweep_ = int(self.history_.loc[self.history_[metric].idxmax(), "sweep"])
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


# ---- Algorithm 2: inferring disliked items for implicit data ----------------------------------


@torch.no_grad()
def sample_dislikes(
    model: Recommender, observed: Interactions, tau: float, seed: int = 0, batch_size: int = 1024
) -> Interactions:
    """Algorithm 2, lines 6-11 (E-step): for every user draw int(tau * #observed) items, with
    replacement, from softmax(-score) over the items the user has *not* observed (Eq. 4.9;
    observed items get rank +inf, i.e. probability exactly 0). Returns the distinct drawn
    (user, item) pairs as Interactions in ``observed``'s id space.
    """
    if not (isinstance(tau, (int, float)) and tau >= 0):
        raise ValueError(f"tau (negative sample drawing ratio) must be >= 0, got {tau!r}")
    dev = model.device
    counts = torch.as_tensor(observed.user_degree(), device=dev)
    ns = (tau * counts.double()).long()  # line 7 (int)
    ptr_items = observed.user_items()
    g = torch.Generator(device=dev).manual_seed(int(seed))
    us, its = [], []
    for a in range(0, observed.n_users, batch_size):
        users = torch.arange(a, min(a + batch_size, observed.n_users), device=dev)
        n_u = ns[users]
        if int(n_u.max()) == 0:
            continue
        s = model.score_all(users).double()  # line 8: r_u = P alpha_u
        lens = torch.as_tensor([len(ptr_items[int(u)]) for u in users], device=dev)
        r = torch.repeat_interleave(torch.arange(len(users), device=dev), lens)
        cols = torch.as_tensor(np.concatenate([ptr_items[int(u)] for u in users]), device=dev)
        s[r, cols.long()] = math.inf  # line 9
        ok = (n_u > 0) & torch.isfinite(s).any(1)
        if not bool(ok.any()):
            continue
        prob = torch.softmax(-s[ok], dim=1)  # Eq. (4.9)
        draw = torch.multinomial(prob, int(n_u[ok].max()), replacement=True, generator=g)
        keep = torch.arange(draw.shape[1], device=dev)[None, :] < n_u[ok][:, None]
        us.append(users[ok][:, None].expand_as(draw)[keep].cpu())
        its.append(draw[keep].cpu())
    if not us:
        raise DataError(f"tau={tau} draws no negative item for any user; use a larger tau.")
    pairs = pd.DataFrame({"user": torch.cat(us).numpy(), "item": torch.cat(its).numpy()})
    pairs = pairs.drop_duplicates().sort_values(["user", "item"])
    return observed.with_df(pairs, name=f"{observed.name}-inferred-dislikes")


def fit_implicit(
    split,
    tau: float = 0.2,
    max_iter: int = 10,
    seed: int = 0,
    metric: str = "NDCG@100",
    n_sweeps: int = 10,
    progress: bool = False,
    init: RME | None = None,
    **model_kw,
) -> tuple[RME, pd.DataFrame]:
    """Algorithm 2: RME for implicit data with an EM-like inference of disliked items.

    Start from WMF (line 2); repeat: sample dislikes from the current model (E-step), refit
    RME with them (M-step, X and Z reused: they do not change), keep the new model if its
    validation ``metric`` beats the previous best, else stop (lines 13-17; as in the paper
    the first RME is compared with prev_ndcg = 0). Returns (best model, per-iteration table).
    """
    from recsys_book.evaluate import evaluate

    name, kcut, key = parse_metric(metric)
    train = split.train
    wmf = init
    if wmf is None:
        wmf = WMF(train.n_users, train.n_items, seed=seed, **_model_only(model_kw))
        wmf.fit(split, n_sweeps=n_sweeps, valid=split.valid, metric=metric)
    rows = [
        {
            "iter": 0,
            "model": "WMF (init)",
            "n_dislikes": 0,
            metric: evaluate(wmf, split.valid, ks=(kcut,), metrics=(name,))[key],
        }
    ]
    shift = model_kw.get("shift", 1.0)
    sx, _, sz = _shifts(shift)
    mats = {"X": sppmi(train, sx), "Z": sppmi(train, sz, transpose=True)}
    current, best, prev = wmf, wmf, 0.0
    for it in range(1, max_iter + 1):
        dis = sample_dislikes(current, train, tau, seed=seed + it)  # E-step
        model = RME(train.n_users, train.n_items, seed=seed, **model_kw)
        model.fit(
            split,
            disliked=dis,
            n_sweeps=n_sweeps,
            valid=split.valid,
            metric=metric,
            matrices=mats,
            progress=progress,
        )  # M-step (line 13)
        score = evaluate(model, split.valid, ks=(kcut,), metrics=(name,))[key]
        rows.append({"iter": it, "model": "RME", "n_dislikes": len(dis), metric: score})
        if score > prev:  # line 14
            best, prev, current = model, score, model
        else:
            break  # line 17
    return best, pd.DataFrame(rows)


def _model_only(kw: dict) -> dict:
    return {
        k: v
        for k, v in kw.items()
        if k not in ("liked", "disliked", "user", "w_liked", "w_disliked", "w_user", "lam_context")
    }


# ---- Item2Vec baseline --------------------------------------------------------------------


class Item2Vec(ClosedForm):
    """Item2Vec (Barkan & Koenigstein, 2016) in its SPPMI-factorisation form.

    Item2Vec runs skip-gram with negative sampling over each user's item set. SGNS with s
    negatives implicitly factorises the SPPMI matrix with shift s (Levy & Goldberg, 2014),
    so we factorise it explicitly: item vectors = U_k Sigma_k^{1/2} of a rank-k SVD of the
    co-liked SPPMI matrix X (deterministic, no learning rate; *not* a trained SGNS model).
    A user's score for item p is the sum of cosine similarities between p and the user's
    training items (Item2Vec's item-similarity recommendation).
    """

    def __init__(self, n_users: int, n_items: int, k: int = 40, shift: float = 1.0, seed: int = 0):
        super().__init__(n_users, n_items)
        self.k, self.shift, self.seed = int(k), float(shift), int(seed)
        self.register_buffer("E", torch.zeros(n_items, k))  # unit item vectors
        self.register_buffer("H", torch.zeros(n_users, k))  # sum of a user's items

    @torch.no_grad()
    def fit(self, data, matrices: dict | None = None) -> "Item2Vec":
        self._start_history()
        liked = getattr(data, "train", data)
        X = (matrices or {}).get("X")
        X = sppmi(liked, self.shift) if X is None else X
        Xd = X.to_dense().double()
        evals, evecs = torch.linalg.eigh(Xd)  # X symmetric: SVD = |eigen| decomposition
        top = torch.argsort(evals.abs(), descending=True)[: self.k]
        E = evecs[:, top] * evals[top].abs().sqrt()  # U_k Sigma_k^{1/2}
        E = E / E.norm(dim=1, keepdim=True).clamp(min=1e-12)
        self.E = E.float().to(self.device)
        M = liked.to_sparse().to(self.device)
        self.H = torch.sparse.mm(M, self.E)  # (m, k)
        self._log()  # one factorisation
        return self

    def score(self, users, items, **inputs):
        return (self.H[users][:, None, :] * self.E[items]).sum(-1)

    def score_all(self, users, **inputs):
        return self.H[users] @ self.E.T


# ---- data and protocol helpers of the chapter ----------------------------------------------


def explicit_split(
    inter: Interactions,
    like: float = 4,
    dislike: float = 2,
    test_frac: float = 0.2,
    valid_frac: float = 0.1,
    seed: int = 0,
    protocol: str = "temporal",
):
    """The chapter's explicit protocol: liked (>= like) and disliked (<= dislike) items;
    ``temporal_holdout`` on the liked interactions (the latest ``test_frac`` by time is test,
    a random ``valid_frac`` of the rest validation; full ranking, training items masked);
    disliked items dated before the first test interaction are training dislikes.
    Returns (split of liked items, disliked training Interactions).

    ``protocol="random"``: a random per-user split of the liked items with the same shares
    (``random_split``); every dislike is a training dislike (a disliked pair is never a
    liked test pair, so nothing leaks). On ML-100k the temporal hold-out leaves most test
    users without a training like (users rate within a short window), which makes it a
    test of popularity; the random protocol compares the models on users with history.
    """
    from recsys_book.data.interactions import split_likes
    from recsys_book.data.splits import random_split, temporal_holdout

    liked, disliked = split_likes(inter, like=like, dislike=dislike)
    if protocol == "random":
        shares = (1 - test_frac - valid_frac, valid_frac, test_frac)
        return random_split(liked, shares, seed=seed), disliked
    if protocol != "temporal":
        raise ValueError(f"protocol must be 'temporal' or 'random', got {protocol!r}")
    split = temporal_holdout(liked, test_frac=test_frac, valid_frac=valid_frac, seed=seed)
    ts = np.sort(liked.df["timestamp"].to_numpy(), kind="stable")
    test_start = ts[int(round((1 - test_frac) * len(ts)))]  # temporal_holdout's cut
    dis = disliked.with_df(disliked.df[disliked.df["timestamp"] < test_start])
    return split, dis


def activity_groups(
    train: Interactions, evalset, shares=(0.2, 0.6, 0.2), names=("cold", "warm", "active")
) -> np.ndarray:
    """Label each evaluation row by its user's training activity (#training items): users
    sorted ascending, the first 20 % 'cold', the next 60 % 'warm', the last 20 % 'active'
    (the chapter's Fig. 4.7 grouping, over the evaluated users)."""
    if len(shares) != len(names) or abs(sum(shares) - 1) > 1e-9:
        raise ValueError(f"shares must sum to 1 and match names, got {shares} for {names}")
    deg = train.user_degree()[evalset.users.numpy()]
    order = np.argsort(deg, kind="stable")
    cuts = np.round(np.cumsum((0,) + tuple(shares)) * len(order)).astype(int)
    out = np.empty(len(order), dtype=object)
    for name, a, b in zip(names, cuts[:-1], cuts[1:]):
        out[order[a:b]] = name
    return out
