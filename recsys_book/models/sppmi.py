"""Co-occurrence counts and SPPMI: the matrices RME factorises (Tran, dissertation Ch. 4.2,
Eq. 4.2-4.3). The first file of the chapter's code; read in this order:

1. ``models/sppmi.py`` (this file): items liked together, items disliked together and users who
   like the same items are "words in a context". Skip-gram with negative sampling implicitly
   factorises a shifted PMI matrix (Levy & Goldberg, 2014), so the chapter builds those
   matrices explicitly.
2. ``models/rme.py``: RME (Eq. 4.4) and its variants WMF / Cofactor / U_RME / I_RME, by ALS
   (Eq. 4.5-4.8; the batched row systems in ``models/_sparse_rows.py``).
3. ``models/rme_implicit.py``: Algorithm 2's E-step (dislikes inferred for implicit data);
   ``recsys_book/als.py``: the ALS loop (validation, early stopping) and Algorithm 2.
4. ``models/item2vec.py``: the SGNS baseline in its SPPMI-factorisation form.
5. The chapter's protocol: ``recsys_book.data.explicit_split`` and ``activity_groups``.

* :func:`cooccurrence`, :func:`sppmi` -- PMI(i, j) = log(#(i,j)|D| / (#i #j)),
  SPPMI = max(PMI - log s, 0). ``#(i, j)`` counts the "documents" (users for items, items for
  users) that contain both i and j, over the document's whole set ("greedy context
  generation", no window), as in the authors' code.
* :func:`sppmi_matrices` -- X (co-liked items), Y (co-disliked items), Z (co-liking users).
"""

from __future__ import annotations

import math

import torch

from recsys_book.data.interactions import DataError, Interactions

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


def sppmi_from_counts(c: torch.Tensor, shift: float = 1.0) -> torch.Tensor:
    """Eq. (4.2)-(4.3) from a dense symmetric (n, n) count matrix #(i, j): float64 SPPMI, 0
    where a pair never co-occurs (also for a word without any context: no 0/0)."""
    c = c.double()
    total = c.sum()  # |D|
    marg = c.sum(1)  # #(i)
    with torch.no_grad():
        pmi = torch.log(c * total / (marg[:, None] * marg[None, :]))  # Eq. (4.2)
    return torch.where(c > 0, pmi - math.log(shift), 0.0).clamp(min=0)  # Eq. (4.3)


def _sppmi(data, shift: float, transpose: bool, dense, as_sparse: bool) -> torch.Tensor:
    """:func:`sppmi`; ``as_sparse=False`` keeps the dense fast path's dense result."""
    if not (isinstance(shift, (int, float)) and shift > 0 and math.isfinite(shift)):
        raise ValueError(f"shift s must be a positive number (s = 1 means no shift), got {shift!r}")
    c = _cooc(data, transpose, dense)
    n = c.shape[0]
    if not c.is_sparse:  # dense fast path
        val = sppmi_from_counts(c, shift)
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
