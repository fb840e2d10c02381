"""Chapter 02 exercises (RME, Tran dissertation Ch. 4.2): SPPMI, one ALS row, the E-step.

E1 ``my_sppmi(docs, n, s) -> (n, n)``: Eq. (4.2)-(4.3) counted from documents (lists of word
   ids; the chapter builds it with matrix products instead), against
   :func:`recsys_book.models.sppmi.sppmi`.
E2 ``my_alpha_update(P, m_u, T, z_u, f_u, g, c0, c1, lam, w) -> (k,)``: one user's ALS update,
   Eq. (4.5), against :meth:`recsys_book.models.rme.RME.update_users` (the batched solve).
E3 ``my_dislike_probs(scores, observed) -> (m, n)``: Eq. (4.9) with Algorithm 2's line 9
   (observed items ranked +inf, so they get probability exactly 0), against the distribution
   :func:`recsys_book.models.rme_implicit.sample_dislikes` draws from.

Every case is built inside the checker (fixed seeds): no notebook state is needed.
"""

from __future__ import annotations

import math

import torch

from recsys_book.exercises import check, float64
from recsys_book.exercises.ch01 import interactions_from_dense
from recsys_book.models.rme import RME
from recsys_book.models.sppmi import sppmi

__all__ = ["check_sppmi", "check_alpha_update", "check_dislike_probs"]


# ---- E1: SPPMI from pair counts, Eq. (4.2)-(4.3) ---------------------------------------------


def _docs_to_B(docs, n):
    B = torch.zeros(len(docs), n, dtype=torch.float64)
    for r, doc in enumerate(docs):
        B[r, list(doc)] = 1.0
    return B


def _ref_sppmi(docs, n, s):
    return sppmi(_docs_to_B(docs, n), shift=s).to_dense().double()


def _rand_docs(seed, n_docs=30, n=12, p=0.3):
    g = torch.Generator().manual_seed(seed)
    B = torch.rand(n_docs, n, generator=g) < p
    return [torch.nonzero(row, as_tuple=True)[0].tolist() for row in B]


def _unused_word():
    docs = [[w for w in d if w != 5] for d in _rand_docs(3)]  # nobody holds word 5
    return docs, 12, 1.0


_TOY = [[0, 1, 2], [0, 1], [2, 3]]  # u0 likes {0,1,2}, u1 {0,1}, u2 {2,3}: the chapter's toy

SPPMI_CASES = {
    "the chapter's toy, s = 1": (_TOY, 4, 1.0),
    "the chapter's toy, s = 2": (_TOY, 4, 2.0),
    "random 30 documents over 12 words (seed 0), s = 1": (_rand_docs(0), 12, 1.0),
    "random (seed 1), s = 5 (sparser)": (_rand_docs(1), 12, 5.0),
    "dense random (seed 2): some PMI < 0 must be clipped": (_rand_docs(2, 20, 8, 0.6), 8, 1.0),
    "documents with one word (no pairs) and an empty one": (
        [[0, 1, 2], [3], [], [1, 2], [0, 2, 3]],
        4,
        1.0,
    ),
    "a word nobody holds (its row and column are 0, not NaN)": _unused_word,
}


def check_sppmi(fn) -> bool:
    """E1: ``fn(docs: list of lists of distinct word ids, n: int, s >= 1) -> (n, n)`` SPPMI.

    A document is one user's liked items (or one item's users); every other word of the
    document is a word's context (the chapter's greedy context generation, no window)."""
    return check(
        SPPMI_CASES,
        fn,
        _ref_sppmi,
        name="E1 my_sppmi",
        atol=1e-5,
        rtol=1e-5,
        cast=float64,
        hint=(
            "#(i,j) = number of documents holding both i != j; |D| = sum of all #(i,j) "
            "(ordered pairs); #(i) = sum_j #(i,j); SPPMI = max(PMI - log s, 0), 0 where #(i,j) = 0"
        ),
    )


# ---- E2: one ALS row, Eq. (4.5) ---------------------------------------------------------------


def _ref_alpha(P, m_u, T, z_u, f_u, g, c0, c1, lam, w):
    """The library's batched update on a universe whose user 0 is the exercise's user."""
    P, T, g = (torch.as_tensor(x, dtype=torch.float64) for x in (P, T, g))
    n, k = P.shape
    n_users = T.shape[0]  # theta_j is one vector per user j
    M = torch.zeros(n_users, n, dtype=torch.float64)
    M[0] = torch.as_tensor(m_u, dtype=torch.float64)
    Z = torch.zeros(n_users, n_users, dtype=torch.float64)
    Z[0] = torch.as_tensor(z_u, dtype=torch.float64)
    model = RME(
        n_users,
        n,
        k=k,
        lam=lam,
        c0=c0,
        c1=c1,
        liked=False,
        disliked=False,
        user=True,
        w_user=w,
        dtype=torch.float64,
    )
    model.fit(interactions_from_dense(M), matrices={"Z": Z}, n_sweeps=1)
    model.P, model.T = P.clone(), T.clone()
    model.f = torch.zeros(n_users, dtype=torch.float64)
    model.f[0] = float(f_u)
    model.g = g.clone()
    model.update_users()  # Eq. (4.5) for every user at once
    return model.U[0]


def _alpha_case(seed, n=9, n_users=7, k=3, no_likes=False, no_z=False, **over):
    g = torch.Generator().manual_seed(seed)
    P = torch.randn(n, k, generator=g, dtype=torch.float64)
    T = torch.randn(n_users, k, generator=g, dtype=torch.float64)
    m_u = (torch.rand(n, generator=g) < 0.4).double()
    z_u = torch.rand(n_users, generator=g, dtype=torch.float64) * 2
    z_u[torch.rand(n_users, generator=g) < 0.5] = 0.0  # SPPMI is sparse: Omega_Z(u) is a subset
    z_u[0] = 0.0  # no self pair (the diagonal of Z is 0)
    g_ = torch.randn(n_users, generator=g, dtype=torch.float64) * 0.3
    f_u = float(torch.randn(1, generator=g)) * 0.3
    if no_likes:
        m_u.zero_()
    if no_z:
        z_u.zero_()
    kw = dict(P=P, m_u=m_u, T=T, z_u=z_u, f_u=f_u, g=g_, c0=1.0, c1=10.0, lam=0.5, w=1.0)
    kw.update(over)
    return tuple(kw.values())  # positional, in the signature's order


ALPHA_CASES = {
    "random (seed 0), c0 = 1, c1 = 10, lam = 0.5, w = 1": _alpha_case(0),
    "random (seed 1), k = 5, 20 items": _alpha_case(1, n=20, k=5),
    "a user with no likes (M_u = 0)": _alpha_case(2, no_likes=True),
    "no co-occurring user (Z_u = 0): plain WMF": _alpha_case(3, no_z=True),
    "c0 = c1 = 1 (no confidence weighting), w = 2": _alpha_case(4, c0=1.0, c1=1.0, w=2.0),
    "strong lam = 50": _alpha_case(5, lam=50.0),
}


def check_alpha_update(fn) -> bool:
    """E2: ``fn(P (n, k), m_u (n,), T (m, k), z_u (m,), f_u, g (m,), c0, c1, lam, w) -> (k,)``."""
    return check(
        ALPHA_CASES,
        fn,
        _ref_alpha,
        name="E2 my_alpha_update",
        atol=1e-8,
        rtol=1e-7,
        cast=float64,
        hint=(
            "A = sum_p w_up b_p b_p^T + w sum_{j: Z_uj != 0} t_j t_j^T + lam I with w_up = c1 on "
            "liked items, c0 elsewhere; rhs = sum_p w_up M_up b_p + w sum_{j: Z_uj != 0} "
            "(Z_uj - f_u - g_j) t_j"
        ),
    )


# ---- E3: the E-step's distribution, Eq. (4.9) -------------------------------------------------


def _ref_probs(scores, observed):
    """What sample_dislikes draws from: softmax(-score) after line 9 (observed -> +inf);
    a user who observed every item draws nothing (a row of zeros)."""
    s = torch.as_tensor(scores, dtype=torch.float64).masked_fill(
        torch.as_tensor(observed, dtype=torch.bool), math.inf
    )  # line 9
    out = torch.zeros_like(s)
    ok = torch.isfinite(s).any(1)
    out[ok] = torch.softmax(-s[ok], dim=1)  # Eq. (4.9)
    return out


def _probs_case(seed, m=5, n=8, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(m, n, generator=g, dtype=torch.float64) * scale
    obs = torch.rand(m, n, generator=g) < 0.3
    return s, obs


def _all_but_one():
    s, obs = _probs_case(2)
    obs[1] = True
    obs[1, 4] = False  # user 1 has one unseen item left: it must get probability 1
    return s, obs


def _saw_everything():
    s, obs = _probs_case(3)
    obs[2] = True  # user 2 has seen every item: nothing to draw, a row of zeros
    return s, obs


PROBS_CASES = {
    "random 5 x 8 (seed 0)": _probs_case(0),
    "random 5 x 8 (seed 1), no item observed": lambda: (_probs_case(1)[0], torch.zeros(5, 8) > 0),
    "one unseen item left": _all_but_one,
    "a user who saw every item (row of zeros)": _saw_everything,
    "large scores (+-800): exp overflows unless stabilised": _probs_case(4, scale=800.0),
}


def check_dislike_probs(fn) -> bool:
    """E3: ``fn(scores (m, n) float64, observed (m, n) bool) -> (m, n)`` probabilities."""
    ok = check(
        PROBS_CASES,
        fn,
        _ref_probs,
        name="E3 my_dislike_probs",
        atol=1e-9,
        cast=float64,
        hint=(
            "softmax(-score) over the items the user has NOT observed (observed: probability 0); "
            "subtract the row's max of -score before exp (or use torch.softmax)"
        ),
    )
    # the property Algorithm 2 relies on: drawing from these probabilities never picks an
    # observed item (implied by the cases above; checked by drawing, as the E-step does)
    s, obs = _probs_case(5, m=50, n=30)
    p = torch.as_tensor(fn(s.clone(), obs.clone()), dtype=torch.float64)
    draw = torch.multinomial(p, 200, replacement=True, generator=torch.Generator().manual_seed(0))
    if obs.gather(1, draw).any():
        raise AssertionError("E3 my_dislike_probs: case 'draw 200 per user' drew an observed item")
    return ok
