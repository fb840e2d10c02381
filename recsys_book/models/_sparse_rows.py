"""A sparse matrix laid out for RME's batched ALS (``models/rme.py``): the row container.

Every row's k x k system of Eq. (4.5)-(4.7) is built from sums of outer products v v^T over a
row's non-zeros. The outer products are stored as their upper triangles (k(k+1)/2 numbers), so
that one matrix product against the 0/1 pattern gives every row's Gram matrix at once.
"""

from __future__ import annotations

from functools import lru_cache

import torch


@lru_cache(maxsize=None)
def _triu(k: int, device: torch.device) -> torch.Tensor:
    """The (2, k(k+1)/2) upper-triangle indices of a k x k matrix (built once per k, device)."""
    return torch.triu_indices(k, k, device=device)


def _outer(v: torch.Tensor) -> torch.Tensor:
    """Upper triangles of the outer products v_i v_i^T, flattened: (n, k(k+1)/2)."""
    i, j = _triu(v.shape[1], v.device)
    return v[:, i] * v[:, j]


def _unpack(flat: torch.Tensor, k: int) -> torch.Tensor:
    """(B, k(k+1)/2) upper triangles -> symmetric (B, k, k)."""
    i, j = _triu(k, flat.device)
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
