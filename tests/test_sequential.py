"""Sequential baselines (PRME, PRME_s, TransRec, Caser): definitions, masks, parameter
counts, learning on planted sequences."""

from __future__ import annotations

import pytest
import torch

from recsys_book.data.planted import planted_sequences
from recsys_book.data.splits import add_recent_context, leave_one_out
from recsys_book.evaluate import evaluate
from recsys_book.models.base import Popularity
from recsys_book.models.sequential import PRME, Caser, PRMEs, TransRec
from recsys_book.train import fit

torch.set_num_threads(1)
U, I, D = 6, 9, 4  # noqa: E741 (users, items, dim)


def _inputs(B=4, C=3, s=3):
    g = torch.Generator().manual_seed(0)
    return (
        torch.randint(0, U, (B,), generator=g),
        torch.randint(0, I, (B, C), generator=g),
        torch.randint(0, I, (B, s), generator=g),
    )


def test_prme_definition():
    m = PRME(U, I, dim=D, alpha=0.3)
    u, it, ctx = _inputs()
    pref = (m.user_p(u)[:, None] - m.item_p(it)).pow(2).sum(-1)
    trans = (m.item_s(ctx[:, -1])[:, None] - m.item_s(it)).pow(2).sum(-1)
    torch.testing.assert_close(m.score(u, it, context=ctx), -(0.3 * pref + 0.7 * trans))


def test_prme_s_averages_real_context_only():
    m = PRMEs(U, I, dim=D, alpha=0.0)
    u, it, ctx = _inputs(s=2)
    pad = torch.full((ctx.shape[0], 3), I)
    ctx_p = torch.cat([pad, ctx], 1)
    torch.testing.assert_close(
        m.score(u, it, context=ctx_p, context_mask=ctx_p != I), m.score(u, it, context=ctx)
    )
    want = -torch.stack(
        [(m.item_s(ctx[:, k])[:, None] - m.item_s(it)).pow(2).sum(-1) for k in range(2)]
    ).mean(0)
    torch.testing.assert_close(m.score(u, it, context=ctx), want)
    # with one context item PRME_s is PRME
    p = PRME(U, I, dim=D, alpha=0.0)
    p.load_state_dict(m.state_dict())
    torch.testing.assert_close(
        m.score(u, it, context=ctx[:, -1:]), p.score(u, it, context=ctx[:, -1:])
    )


def test_transrec_definition_and_unit_ball():
    m = TransRec(U, I, dim=D)
    with torch.no_grad():
        m.item.weight.mul_(30)
        m.bias.weight.normal_()
    u, it, ctx = _inputs()
    head = m.item(ctx[:, -1]) + m.t + m.user_t(u)
    want = m.bias(it).squeeze(-1) - (head[:, None] - m.item(it)).norm(dim=-1)
    torch.testing.assert_close(m.score(u, it, context=ctx), want, rtol=1e-4, atol=1e-4)
    m.post_step()
    assert (m.item.weight.norm(dim=1) <= 1 + 1e-5).all()


def test_no_context_uses_start_item_and_needs_context():
    u, it, ctx = _inputs()
    empty = torch.full_like(ctx, I)
    for cls in (PRME, PRMEs, TransRec):
        m = cls(U, I, dim=D)
        assert torch.isfinite(m.score(u, it, context=empty, context_mask=empty != I)).all()
        with pytest.raises(ValueError, match="add_recent_context"):
            m.score(u, it)


def _caser_by_hand(m: Caser, users, items, ctx, mask):
    """Caser's Eq. (2)-(8) written out filter by filter, position by position."""
    B, L = ctx.shape[0], m.L
    E = m.item.weight[ctx] * mask[..., None]  # (B, L, d), padding rows 0
    o_v = torch.stack(
        [(m.conv_v.weight[f, 0, :, 0, None] * E).sum(1) + m.conv_v.bias[f] for f in range(m.n_v)],
        1,
    ).reshape(B, -1)  # (B, n_v d): a weighted sum of the L rows per filter
    o_h = []
    for h, conv in zip(range(1, L + 1), m.conv_h):
        for f in range(m.n_h):
            c = torch.stack(
                [
                    (conv.weight[f, 0] * E[:, t : t + h]).sum((1, 2)) + conv.bias[f]
                    for t in range(L - h + 1)
                ],
                1,
            )  # (B, L - h + 1)
            o_h.append(torch.relu(c).max(1).values)
    o = torch.cat([o_v, torch.stack(o_h, 1)], 1)  # (B, n_v d + n_h L), o_h in (h, filter) order
    z = torch.relu(o @ m.fc.weight.T + m.fc.bias)
    r = torch.cat([z, m.user.weight[users]], 1)  # (B, 2d)
    return (m.out.weight[items] * r[:, None]).sum(-1) + m.out_bias.weight[items, 0]


def test_caser_definition_parameter_count_and_padding():
    torch.manual_seed(0)
    L, nv, nh = 3, 2, 3
    m = Caser(U, I, dim=D, L=L, n_v=nv, n_h=nh).eval()
    users, items, ctx = _inputs(B=5, C=4, s=L)
    mask = torch.ones_like(ctx, dtype=torch.bool)
    mask[0, :2] = False  # a short history: left padding
    mask[1] = False  # no history at all
    ctx = ctx.masked_fill(~mask, I)
    got = m.score(users, items, context=ctx, context_mask=mask)
    torch.testing.assert_close(got, _caser_by_hand(m, users, items, ctx, mask))
    torch.testing.assert_close(
        m.score_all(users, context=ctx, context_mask=mask).gather(1, items), got
    )
    # the matrix-product convolutions equal the Conv2d modules' own forward (weight layout)
    x = m.item(ctx)[:, None]  # (B, 1, L, d)
    o = [m.conv_v(x).flatten(1)] + [torch.relu(c(x).squeeze(3)).amax(2) for c in m.conv_h]
    r = torch.cat([torch.relu(m.fc(torch.cat(o, 1))), m.user(users)], 1)
    torch.testing.assert_close(m.represent(users, ctx, mask), r)
    # parameters: embeddings, vertical and horizontal filters, fc, output layer
    want = (
        (U + I + 1) * D
        + nv * (L + 1)
        + sum(nh * (h * D + 1) for h in range(1, L + 1))
        + (nv * D + nh * L + 1) * D
        + I * (2 * D + 1)
    )
    assert sum(p.numel() for p in m.parameters()) == want
    # the padding row stays zero and gets no gradient
    m.train()
    m.score(users, items, context=ctx, context_mask=mask).sum().backward()
    assert m.item.weight[I].abs().sum() == 0 and m.item.weight.grad[I].abs().sum() == 0
    with pytest.raises(ValueError, match="add_recent_context\\(split, 3\\)"):
        m.score(users, items, context=ctx[:, 1:], context_mask=mask[:, 1:])


def test_sequential_models_learn_planted_sequences():
    inter, _ = planted_sequences(n_users=150, n_items=150, seed=1)
    sp = add_recent_context(leave_one_out(inter, 100), 3)
    pop = evaluate(Popularity(sp.n_users, sp.n_items).fit(sp), sp.test)["NDCG@10"]
    for cls in (PRME, PRMEs, TransRec, lambda nu, ni, dim: Caser(nu, ni, dim, L=3)):
        m = cls(sp.n_users, sp.n_items, dim=32)
        fit(m, sp, epochs=10, lr=1e-2, batch_size=128, n_negatives=4, progress=False, seed=0)
        got = evaluate(m, sp.test)["NDCG@10"]
        assert got > pop + 0.15, (type(m).__name__, got, pop)
