"""Chapter 03 exercises: MDR with a full metric, MASS's four attention designs, APR's flexible noise.

E1 ``my_mdr_full(u, p, s, L1, L2, theta) -> o``: Eq. (4.20) with the diagonal metric B
   replaced by a full matrix, o = ||L1 (u - s)||^2 + ||L2 (p - s)||^2 + theta_s (the
   general Mahalanobis distance (x - y)^T M (x - y) with M = L^T L; the chapter's diagonal
   B is L = diag(B)), for a batch: u, p (B, d), s (B, C, d), L1, L2 (d, d), theta (B, C)
   -> (B, C) (a diagonal L against :meth:`recsys_book.models.mahalanobis.MDR.distance` with
   these weights loaded, a full one against M = L^T L).
E2 ``my_attention(qa, members, b4, mask, metric) -> alpha``: the attention of the four
   designs of Table 4.6 / Fig. 4.13 (Explore 4): ``metric=True`` the softmin of the squared
   Mahalanobis distances ||b4 * (qa_k - m_t)||^2 (Eq. 4.26-4.27), ``metric=False`` the
   softmax of the dot products qa_k . m_t, over the L members; qa (B, C, d), members
   (B, L, d), b4 (d,), mask (B, L): padding gets 0 and a playlist with no member all zeros,
   not NaN (against :class:`recsys_book.models.mahalanobis.MASS`'s attention:
   :func:`recsys_book.nn.masked_softmax` of -:func:`~recsys_book.nn.pairwise_diag_mahalanobis_sq`
   or of the dot products). With the memory's own tables as qa and members it is mem-metric /
   mem-dot, with the main query and song table nonmem-metric / nonmem-dot.
E3 ``my_flexible_noise(grad, param, eps) -> delta``: the flexible fast-gradient noise of
   Eq. (4.33), eps * std(param) * g / ||g||, with the norm taken per row of a 2-D table
   (a 1-D parameter as a whole) and zero noise on rows with a zero gradient (against
   :func:`recsys_book.adversarial.fast_gradient_noise`).

Every case is built inside the checker from fixed seeds: no notebook state is needed, so
the verdict is the same after a kernel restart. A checker returns True, raises
:class:`~recsys_book.exercises.NotAnswered` ("not answered yet") on a stub and
``AssertionError`` naming the first failing case with expected versus got.
"""

from __future__ import annotations

import torch

from recsys_book.adversarial import fast_gradient_noise
from recsys_book.exercises import check
from recsys_book.models.mahalanobis import MDR
from recsys_book.nn import masked_softmax, pairwise_diag_mahalanobis_sq

__all__ = ["check_attention", "check_flexible_noise", "check_mdr_full"]


def _t(x):
    return torch.as_tensor(x, dtype=torch.float64)


# ---- E1: o(MDR) with a full metric, Eq. (4.20) generalised --------------------------------


def _mdr_case(seed, B=3, C=4, d=5, metric="random"):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(B, d, generator=g, dtype=torch.float64)
    p = torch.randn(B, d, generator=g, dtype=torch.float64)
    s = torch.randn(B, C, d, generator=g, dtype=torch.float64)
    if metric == "diagonal":
        L1 = torch.diag(torch.randn(d, generator=g, dtype=torch.float64) * 2)
        L2 = torch.diag(torch.randn(d, generator=g, dtype=torch.float64) * 2)
    elif metric == "rotation":  # orthogonal: lengths kept, the squared Euclidean distance
        L1 = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))[0]
        L2 = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))[0]
    elif metric == "rank one":  # measures along one direction only
        L1 = torch.outer(torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64))
        L2 = torch.outer(torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64))
    else:  # a full, non-symmetric L
        L1 = torch.randn(d, d, generator=g, dtype=torch.float64)
        L2 = torch.randn(d, d, generator=g, dtype=torch.float64)
    theta = torch.randn(B, C, generator=g, dtype=torch.float64)
    return u, p, s, L1, L2, theta


def _mdr_library(u, p, s, L1, L2, theta):
    """A diagonal L: loaded into an MDR (user i = row i, playlist i = row i, song (i, c) =
    i*C + c) as B = diag(L). Otherwise (x - y)^T M (x - y) with M = L^T L."""
    B, C, d = s.shape
    if torch.equal(L1, torch.diag(torch.diagonal(L1))) and torch.equal(L2, torch.diag(torch.diagonal(L2))):
        with torch.random.fork_rng(devices=[]):  # the layers' init: leave the learner's stream alone
            m = MDR(B, B * C, B, d).double()
        with torch.no_grad():
            m.user.weight.copy_(u)
            m.playlist.weight.copy_(p)
            m.song.weight.copy_(s.reshape(B * C, d))
            m.bias.weight.copy_(theta.reshape(B * C, 1))
            m.B1.copy_(torch.diagonal(L1))
            m.B2.copy_(torch.diagonal(L2))
            rows = torch.arange(B)
            return m.distance(rows, torch.arange(B * C).reshape(B, C), playlist=rows)

    def quad(x, L):  # x (B, C, d) -> x^T (L^T L) x (B, C)
        return torch.einsum("bci,ij,bcj->bc", x, L.T @ L, x)

    return quad(u[:, None] - s, L1) + quad(p[:, None] - s, L2) + theta


MDR_CASES = {
    "L1, L2 diagonal (the chapter's MDR, B = diag(L))": lambda: _mdr_case(0, metric="diagonal"),
    "full, non-symmetric L1, L2": lambda: _mdr_case(1),
    "L1, L2 rotations (the squared Euclidean distance plus bias)": lambda: _mdr_case(2, metric="rotation"),
    "L1, L2 of rank one": lambda: _mdr_case(3, metric="rank one"),
    "one row, one candidate": lambda: _mdr_case(4, B=1, C=1),
    "d = 1": lambda: _mdr_case(5, d=1),
}


def check_mdr_full(fn) -> bool:
    """E1: ``fn(u (B, d), p (B, d), s (B, C, d), L1 (d, d), L2 (d, d), theta (B, C)) -> (B, C)``."""
    return check(
        MDR_CASES,
        fn,
        _mdr_library,
        name="E1 my_mdr_full",
        atol=1e-9,
        cast=_t,
        hint="o = ||L1 (u - s)||^2 + ||L2 (p - s)||^2 + theta: L multiplies the difference as a "
        "matrix times a column, L @ x (for rows x: x @ L.T, not x @ L), the distance is squared "
        "(no root), and u, p broadcast over the C candidates",
    )


# ---- E2: softmin attention, Eq. (4.27) ------------------------------------------------------


def _att_case(seed, metric, B=3, C=2, L=6, d=4, pad="some", scale=1.0):
    g = torch.Generator().manual_seed(seed)
    qa = torch.randn(B, C, d, generator=g, dtype=torch.float64) * scale
    members = torch.randn(B, L, d, generator=g, dtype=torch.float64) * scale
    b4 = torch.rand(d, generator=g, dtype=torch.float64) * 2  # a stretch per dimension
    mask = torch.ones(B, L, dtype=torch.bool)
    if pad in ("some", "empty"):
        lengths = torch.tensor([L, 3, 1][:B])
        mask = torch.arange(L)[None, :] < lengths[:, None]
    if pad == "empty":
        mask[-1] = False
    return qa, members, b4, mask, metric


def _att_library(qa, members, b4, mask, metric):
    logits = -pairwise_diag_mahalanobis_sq(qa, members, b4) if metric else torch.einsum("bcd,bld->bcl", qa, members)
    return masked_softmax(logits, mask)  # (B, C, L) Eq. 4.27


ATT_CASES = {
    "metric (softmin of the B4 distance), no padding": lambda: _att_case(0, True, pad="none"),
    "dot product, no padding": lambda: _att_case(1, False, pad="none"),
    "metric, padded playlists (members 6, 3, 1)": lambda: _att_case(2, True),
    "dot, a playlist with no member at all: zeros, not NaN": lambda: _att_case(3, False, pad="empty"),
    "metric, far members (exp(-d) underflows if taken naively)": lambda: _att_case(4, True, scale=30.0),
    "dot, large dot products (exp overflows if taken naively)": lambda: _att_case(5, False, scale=30.0),
}


def check_attention(fn) -> bool:
    """E2: ``fn(qa (B, C, d), members (B, L, d), b4 (d,), mask (B, L), metric) -> alpha (B, C, L)``."""
    return check(
        ATT_CASES,
        fn,
        _att_library,
        name="E2 my_attention",
        atol=1e-9,
        cast=_t,
        hint="metric: logits = -||b4 * (qa_k - m_t)||^2 (a softmin); dot: logits = qa_k . m_t; "
        "softmax over the member axis L with -inf on padding, zeros for a row with no member",
    )


# ---- E3: flexible noise, Eq. (4.33) ----------------------------------------------------------


def _noise_case(seed, shape=(7, 5), zero_rows=(2,), eps=0.8, spread=1.0):
    g = torch.Generator().manual_seed(seed)
    param = torch.randn(*shape, generator=g, dtype=torch.float64) * spread
    grad = torch.randn(*shape, generator=g, dtype=torch.float64)
    for r in zero_rows:
        grad[r] = 0
    return grad, param, eps


def _noise_library(grad, param, eps):
    return fast_gradient_noise(grad, param, eps, "flexible")


NOISE_CASES = {
    "an embedding table, one row with zero gradient": lambda: _noise_case(0),
    "a widely spread table (std 3): bigger noise": lambda: _noise_case(1, spread=3.0),
    "a 1-D parameter (a metric vector B): normalised as a whole": lambda: _noise_case(
        2, shape=(6,), zero_rows=()
    ),
    "eps = 0: no noise": lambda: _noise_case(3, eps=0.0),
}


def check_flexible_noise(fn) -> bool:
    """E3: ``fn(grad, param (same shape, 2-D table or 1-D vector), eps) -> delta``."""
    return check(
        NOISE_CASES,
        fn,
        _noise_library,
        name="E3 my_flexible_noise",
        atol=1e-9,
        cast=_t,
        hint="delta = eps * std(whole param) * g / ||g||, ||g|| per ROW of a 2-D table (each "
        "row moves by exactly eps * std), as a whole for a 1-D vector; rows with g = 0 stay 0",
    )
