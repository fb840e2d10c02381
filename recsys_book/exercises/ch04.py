"""Chapter 04 exercises (SDP, SDM, SDMR; Tran et al., WWW 2019): checkers.

E1 ``my_softmin(z, mask) -> a``: Eq. (10), the metric attention's softmin over a row's context
   items, z (B, C, s) squared distances, mask (B, s) True = real item; padded slots get
   exactly 0 and a row with no real item gets all zeros (not NaN). Against
   :meth:`recsys_book.models.sdmr.SDM.attend`.
E2 ``my_sdp_distance(model, users, items) -> o``: SDP's signed distance, Eq. (1)-(6), from
   the weights of an :class:`~recsys_book.models.sdmr.SDP` (users (B,), items (B, C) ->
   (B, C)). Against :meth:`SDP.distance`.
E3 ``my_hr_ndcg_against(scores, k) -> (hr, ndcg)``: HR@k and NDCG@k (means over rows) of
   sampled-candidate scores (m, C), target in column 0, when every tie is broken *against*
   the target (it goes after every candidate with an equal score). Against
   :func:`recsys_book.metrics.sampled_metrics` with the tied candidates counted as ahead.

Every case is built inside the checker (fixed seeds): no notebook state is needed, so a
checker gives the same verdict after a kernel restart. A checker returns True, raises
:class:`~recsys_book.exercises.NotAnswered` ("not answered yet") for a stub, and an
``AssertionError`` naming the first failing case with expected versus got.
"""

from __future__ import annotations

import torch

from recsys_book.exercises import check, float64
from recsys_book.metrics import sampled_metrics, target_rank_counts
from recsys_book.models.sdmr import SDM, SDP

__all__ = ["check_softmin", "check_sdp_distance", "check_hr_ndcg_against"]


# ---- E1: the metric attention's softmin, Eq. (10) ---------------------------------------


def _z(seed, B=3, C=2, s=4, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, C, s, generator=g, dtype=torch.float64) * 4 * scale


def _mask(rows):
    return torch.tensor(rows, dtype=torch.bool)


SOFTMIN_CASES = {
    "no padding (seed 40)": lambda: (_z(40), torch.ones(3, 4, dtype=torch.bool)),
    "padded slots (mask False) get exactly 0": lambda: (
        _z(41),
        _mask([[False, True, True, True], [True, True, True, True], [False, False, True, True]]),
    ),
    "one real item: its weight is 1": lambda: (
        _z(42),
        _mask([[False, False, False, True], [True, False, False, False], [True] * 4]),
    ),
    "a row with no real item (a first interaction): zeros, not NaN": lambda: (
        _z(43),
        _mask([[False] * 4, [True, True, False, False], [True] * 4]),
    ),
    "large distances (exp(-z) underflows if taken naively)": lambda: (
        _z(44, scale=300.0),
        _mask([[True, True, False, True], [True] * 4, [False, True, True, True]]),
    ),
}


def _ref_softmin(z, mask):
    return SDM.attend(z, mask)


def check_softmin(fn) -> bool:
    """E1: ``fn(z (B, C, s), mask (B, s)) -> (B, C, s)``: a_k = exp(-z_k) / sum_p exp(-z_p)
    over the real items p of the row; padded slots 0; all zeros for a row with none."""
    return check(
        SOFTMIN_CASES,
        fn,
        _ref_softmin,
        name="E1 my_softmin",
        atol=1e-9,
        rtol=1e-7,
        cast=float64,
        hint=(
            "a SMALLER distance must get a LARGER weight (softmax of -z); the mask is (B, s) "
            "and broadcasts over the C candidates; subtract the row minimum before exp"
        ),
    )


# ---- E2: SDP's signed distance, Eq. (1)-(6) ----------------------------------------------


def _sdp(seed, layers=1, activation="tanh", dim=6, n_users=5, n_items=9, shift=0.0):
    torch.manual_seed(seed)
    m = SDP(n_users, n_items, dim=dim, layers=layers, activation=activation, init_std=0.7)
    with torch.no_grad():  # negative edge weights / a bias: a *signed* distance
        m.out.weight.normal_(0.0, 1.0)
        m.out.bias.fill_(shift)
    g = torch.Generator().manual_seed(seed + 1)
    users = torch.randint(0, n_users, (4,), generator=g)
    items = torch.randint(0, n_items, (4, 3), generator=g)
    return m, users, items


SDP_CASES = {
    "one layer, tanh (the paper's SDP; seed 50)": lambda: _sdp(50),
    "one layer, a negative bias b_o (seed 51)": lambda: _sdp(51, shift=-2.0),
    "two layers (Eq. 2-4 apply W^(2) after W^(1)) (seed 52)": lambda: _sdp(52, layers=2),
    "three layers, relu (seed 53)": lambda: _sdp(53, layers=3, activation="relu"),
}


def _ref_sdp(model, users, items):
    with torch.no_grad():
        return model.distance(users, items)


def check_sdp_distance(fn) -> bool:
    """E2: ``fn(model: SDP, users (B,), items (B, C)) -> (B, C)`` = o_SDP (lower = preferred).

    Use ``model.user``, ``model.item`` (embeddings), ``model.first.lin`` (W^(1), an
    nn.Linear over the concatenation [u; v]), ``model.mlp`` (the further layers, a list of
    nn.Linear), ``model.f`` (the activation) and ``model.out`` (w_o, b_o)."""
    return check(
        SDP_CASES,
        lambda m, u, i: _no_grad(fn, m, u, i),
        _ref_sdp,
        name="E2 my_sdp_distance",
        atol=1e-5,
        rtol=1e-5,
        cast=float64,
        hint=(
            "e1 = f(W1 [u; v] + b1) with u repeated for each of the C candidates, then "
            "e = f(W e + b) for each further layer, then square element-wise (Eq. 5), then "
            "o = w_o . e + b_o (Eq. 6): one number per (row, candidate)"
        ),
    )


def _no_grad(fn, *args):
    with torch.no_grad():
        out = fn(*args)
    return out.detach() if isinstance(out, torch.Tensor) else out


# ---- E3: HR@k and NDCG@k with ties broken against the target -----------------------------


def _scores(seed, m=40, C=11, tie_share=0.0, levels=None):
    g = torch.Generator().manual_seed(seed)
    if levels is not None:  # few distinct values: many ties
        return torch.randint(0, levels, (m, C), generator=g).to(torch.float64)
    s = torch.randn(m, C, generator=g, dtype=torch.float64)
    if tie_share:
        tied = torch.rand(m, generator=g) < tie_share
        s[tied, 1] = s[tied, 0]  # the target shares its score with one candidate
    return s


def _saturated():
    s = _scores(63, m=20, C=101)
    s[:10] = 0.0  # half the rows: every candidate tied at 0 (a saturated ReLU)
    return s


E3_CASES = {
    "no ties, k = 10 (seed 60)": lambda: (_scores(60), 10),
    "the target tied with one candidate on a third of the rows, k = 3": lambda: (
        _scores(61, tie_share=0.33),
        3,
    ),
    "scores with 3 distinct values (many ties), k = 5": lambda: (_scores(62, levels=3), 5),
    "half the rows fully tied (101 candidates at 0), k = 10": lambda: (_saturated(), 10),
}


def _ref_against(scores, k):
    g, t = target_rank_counts(scores)
    m = sampled_metrics(g + t, torch.zeros_like(t), k)  # tied candidates all go first
    return float(m["hr"].mean()), float(m["ndcg"].mean())


def check_hr_ndcg_against(fn) -> bool:
    """E3: ``fn(scores (m, C), k) -> (HR@k, NDCG@k)`` as two floats, ties against the target:
    its 0-based position = #(candidates with score >= the target's), NDCG = 1/log2(pos + 2)."""
    return check(
        E3_CASES,
        fn,
        _ref_against,
        name="E3 my_hr_ndcg_against",
        atol=1e-9,
        rtol=1e-9,
        cast=lambda v: tuple(float(x) for x in v),
        hint=(
            "count the OTHER candidates (columns 1..C-1) with score >= target; a hit is "
            "position < k; NDCG@k = 1 / log2(position + 2) for a hit, 0 otherwise"
        ),
    )
