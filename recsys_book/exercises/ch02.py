"""Chapter 02 exercises (RME, Tran dissertation Ch. 4.2): windowed SPPMI, one ALS row, the E-step.

E1 ``my_window_sppmi(seqs, n, window, s) -> (n, n)``: Eq. (4.2)-(4.3) with word2vec's context
   window instead of the chapter's greedy contexts: in a time-ordered document, j is a context
   of i when their positions differ by 1 to ``window``. Against a reference that counts the
   pairs offset by offset; with a window as long as every document it is
   :func:`recsys_book.models.sppmi.sppmi` (tested).
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
from recsys_book.models.sppmi import sppmi_from_counts

__all__ = ["check_window_sppmi", "check_alpha_update", "check_dislike_probs"]


# ---- E1: SPPMI with a context window, Eq. (4.2)-(4.3) on time-ordered documents -------------


def _window_counts(seqs, n, window):
    """#(i, j): documents in which i and j stand 1..window positions apart (both directions)."""
    C = torch.zeros(n, n, dtype=torch.float64)
    one = torch.tensor(1.0, dtype=torch.float64)
    for seq in seqs:
        w = torch.as_tensor(list(seq), dtype=torch.long)
        for d in range(1, min(window, len(w) - 1) + 1):  # offsets d = 1 .. window
            a, b = w[:-d], w[d:]  # the words d positions apart
            C.index_put_((a, b), one.expand(len(a)), accumulate=True)  # b is a context of a
            C.index_put_((b, a), one.expand(len(a)), accumulate=True)  # and a of b
    return C


def _ref_window_sppmi(seqs, n, window, s):
    return sppmi_from_counts(_window_counts(seqs, n, window), s)


def _rand_seqs(seed, n_docs=30, n=12, p=0.3, max_len=None):
    """Random time-ordered documents: each a random subset of the n words in random order."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_docs):
        words = torch.nonzero(torch.rand(n, generator=g) < p)[:, 0]
        words = words[torch.randperm(len(words), generator=g)][:max_len]
        out.append(words.tolist())
    return out


def _unused_word():
    seqs = [[w for w in d if w != 5] for d in _rand_seqs(3)]  # nobody holds word 5
    return seqs, 12, 2, 1.0


_TOY = [[0, 1, 2], [0, 1], [2, 3]]  # the chapter's toy, each user's likes now in time order

WINDOW_CASES = {
    "the chapter's toy, window 2 (covers every pair: the chapter's SPPMI)": (_TOY, 4, 2, 1.0),
    "the chapter's toy, window 1 (0 and 2 are no longer contexts)": (_TOY, 4, 1, 1.0),
    "one pair adjacent in a document, three apart in another, window 2": (
        [[0, 1, 2, 3], [3, 2, 0, 1], [1, 4, 2, 0]],
        5,
        2,
        1.0,
    ),
    "random 30 documents over 12 words (seed 0), window 2, s = 1": (_rand_seqs(0), 12, 2, 1.0),
    "random (seed 1), window 3, s = 2": (_rand_seqs(1), 12, 3, 2.0),
    "dense random (seed 2), window 1: some PMI < 0 must be clipped": (
        _rand_seqs(2, 20, 8, 0.6),
        8,
        1,
        1.0,
    ),
    "window 10, longer than every document (at most 5 words)": (
        _rand_seqs(4, max_len=5),
        12,
        10,
        1.0,
    ),
    "documents with one word and an empty one, window 1": (
        [[0, 1, 2], [3], [], [1, 2], [0, 2, 3]],
        4,
        1,
        1.0,
    ),
    "a word nobody holds (its row and column are 0, not NaN), window 2": _unused_word,
    "s = 1e6 clears every pair (a matrix of zeros), window 2": (_rand_seqs(5), 12, 2, 1e6),
}


def check_window_sppmi(fn) -> bool:
    """E1: ``fn(seqs: list of lists of distinct word ids in time order, n: int, window >= 1,
    s >= 1) -> (n, n)`` SPPMI, where j is a context of i in a document when their positions
    differ by 1 to ``window`` (word2vec's window; the chapter's greedy contexts are a window
    at least as long as the document)."""
    return check(
        WINDOW_CASES,
        fn,
        _ref_window_sppmi,
        name="E1 my_window_sppmi",
        atol=1e-9,
        rtol=1e-9,
        cast=float64,
        hint=(
            "#(i,j) = number of documents where i and j stand 1..window positions apart, in "
            "either order (so #(i,j) = #(j,i)); |D| = sum of all #(i,j); #(i) = sum_j #(i,j); "
            "SPPMI = max(PMI - log s, 0), 0 where #(i,j) = 0"
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
