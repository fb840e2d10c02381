"""Chapter 04 exercises (SDP, SDM, SDMR; Tran et al., WWW 2019): checkers.

E1 ``my_context_pulls(model, users, items, context, mask) -> c``: SDM's signed distance split
   among the user's recent items. With o_ijk = w_e^T square(f(W_d [p_ij; v_out_k] + b_d)) + b_e
   (the distance SDM would give if item k took all the attention) and a_ijk the LAST hop's
   attention, c_ijk = a_ijk o_ijk (B, C, s); since a row's weights sum to 1, sum_k c_ijk =
   o_SDM-h (Eq. 17-18). Padded slots and rows with no context get exactly 0. Against
   :meth:`SDM.attention`, :meth:`SDM.output_terms` and ``w_e``.
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

from recsys_book.exercises import answer, check, expect_tensor, float64
from recsys_book.metrics import sampled_metrics, target_rank_counts
from recsys_book.models.sdmr import SDM, SDP

__all__ = ["check_context_pulls", "check_sdp_distance", "check_hr_ndcg_against"]


# ---- E1: SDM's distance split among the context items (Eq. 13, 17-18) ---------------------


def _sdm_case(seed, hops=1, B=3, C=2, s=4, pad=(), empty=(), activation="tanh", dim=5):
    """A float64 SDM (eval mode) with signed edge weights w_e and a clearly non-zero b_e, and
    its inputs: ``pad`` = (row, slot) pairs that are padding, ``empty`` = rows with no real
    context item (padded slots hold the padding id ``n_items``)."""
    n_users, n_items = 4, 12
    with torch.random.fork_rng(devices=[]), torch.no_grad():  # the learner's random stream is left as it was
        torch.manual_seed(seed)
        m = SDM(n_users, n_items, dim=dim, hops=hops, activation=activation, init_std=1.0).double().eval()
        m.w_e.weight.normal_(0.0, 3.0)  # items that pull inside the boundary and items that push out
        m.w_e.bias.fill_(-0.3)  # b_e: forgetting it shows
    g = torch.Generator().manual_seed(seed + 1)
    users = torch.randint(0, n_users, (B,), generator=g)
    items = torch.randint(0, n_items, (B, C), generator=g)
    context = torch.randint(0, n_items, (B, s), generator=g)
    mask = torch.ones(B, s, dtype=torch.bool)
    for r, k in pad:
        mask[r, k] = False
    for r in empty:
        mask[r] = False
    return m, users, items, context.masked_fill(~mask, n_items), mask


PULL_CASES = {
    "one hop, full context (seed 70)": lambda: _sdm_case(70),
    "three hops: the LAST hop's attention (seed 71)": lambda: _sdm_case(71, hops=3),
    "padded slots get exactly 0 (seed 72, two hops)": lambda: _sdm_case(
        72, hops=2, s=5, pad=[(0, 0), (0, 1), (2, 4)]
    ),
    "a row with no context (a first interaction): all zeros (seed 73)": lambda: _sdm_case(
        73, hops=2, empty=[1]
    ),
    "four hops, relu, 6 candidates, s = 6 (seed 74)": lambda: _sdm_case(
        74, hops=4, C=6, s=6, activation="relu", pad=[(1, 5)]
    ),
}


def _ref_pulls(model, users, items, context, mask):
    """a^(h)_ijk * o_ijk from the library's pieces: (B, C, s)."""
    with torch.no_grad():
        a = model.attention(users, items, context, mask)[-1]  # last hop  (B, C, s)
        r2 = model.output_terms(model.output_query(users, items), context)  # (B, C, s, d)
        return a * model.w_e(r2).squeeze(-1)  # o_ijk = w_e^T r2 + b_e


def check_context_pulls(fn) -> bool:
    """E1: ``fn(model: SDM, users (B,), items (B, C), context (B, s), mask (B, s)) -> (B, C, s)``:
    c_ijk = a_ijk (w_e^T square(f(W_d [p_ij; v_out_k] + b_d)) + b_e), a = the last hop's
    attention; padded slots and rows without context 0; sum_k c_ijk = o_SDM on rows with
    context."""
    name = "E1 my_context_pulls"
    for case, spec in PULL_CASES.items():
        model, users, items, context, mask = spec()
        want = _ref_pulls(model, users, items, context, mask)
        with torch.no_grad():
            got = answer(
                fn, model, users.clone(), items.clone(), context.clone(), mask.clone(),
                name=name, case=case,
            )  # fmt: skip
        got = got.detach() if isinstance(got, torch.Tensor) else got
        expect_tensor(name, case, got, want, "the result c_ijk", atol=1e-9, rtol=1e-7)
        pad = torch.as_tensor(got)[~mask[:, None, :].expand_as(want)]
        if (pad != 0).any():
            raise AssertionError(
                f"{name}: case '{case}': padded slots must be exactly 0, got "
                f"{pad[pad != 0][:4].tolist()}"
            )
    return True


# ---- E2: SDP's signed distance, Eq. (1)-(6) ----------------------------------------------


def _sdp(seed, layers=1, activation="tanh", dim=6, n_users=5, n_items=9, shift=0.0):
    with torch.random.fork_rng(devices=[]), torch.no_grad():  # the learner's random stream is left as it was
        torch.manual_seed(seed)
        m = SDP(n_users, n_items, dim=dim, layers=layers, activation=activation, init_std=0.7)
        m.out.weight.normal_(0.0, 1.0)  # negative edge weights / a bias: a *signed* distance
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
