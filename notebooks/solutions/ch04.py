"""Solutions to chapter 04's exercises (not executed in the chapter; run by
tests/test_exercises_ch04.py through the checkers of recsys_book.exercises.ch04)."""

import torch


def my_context_pulls(model, users, items, context, mask):
    """E1: SDM's distance split among the context items. o = w_e^T e + b_e is linear in e, and
    e^(h) = sum_k a_k r_k^2 with sum_k a_k = 1, so o = sum_k a_k (w_e^T r_k^2 + b_e)."""
    f = model.f
    a = model.attention(users, items, context, mask)[-1]  # the LAST hop  (B, C, s)
    u_out, v_out = model.user_out(users)[:, None], model.item_out(items)  # (B, 1, d), (B, C, d)
    p = f(model.W_b.lin(torch.cat(torch.broadcast_tensors(u_out, v_out), -1)))  # Eq. (8) (B, C, d)
    k_out = model.item_out(context)[:, None]  # (B, 1, s, d)
    pk = torch.broadcast_tensors(p[:, :, None], k_out)  # (B, C, s, d) each
    r2 = f(model.W_d.lin(torch.cat(pk, -1))).pow(2)  # Eq. (13) square(r_ijk)  (B, C, s, d)
    o_k = model.w_e(r2).squeeze(-1)  # Eq. (17) with item k alone: w_e^T r2 + b_e  (B, C, s)
    return a * o_k  # padding and empty rows: a = 0


def my_sdp_distance(model, users, items):
    """E2, Eq. (1)-(6): MLP over [u; v], element-wise square, edge weights."""
    u = model.user(users)  # (B, d)
    v = model.item(items)  # (B, C, d)
    uv = torch.cat([u[:, None, :].expand_as(v), v], -1)  # (B, C, 2d)
    e = model.f(model.first.lin(uv))  # Eq. (1)     (B, C, d)
    for layer in model.mlp:
        e = model.f(layer(e))  # Eq. (2)-(4)
    e = e * e  # Eq. (5)
    return model.out(e).squeeze(-1)  # Eq. (6)     (B, C)


def my_hr_ndcg_against(scores, k):
    """E3: the target goes after every candidate with an equal score."""
    target = scores[:, :1]
    position = (scores[:, 1:] >= target).sum(1)  # 0-based, (m,)
    hit = position < k
    ndcg = torch.where(hit, 1.0 / torch.log2(position.double() + 2), torch.zeros(()).double())
    return float(hit.double().mean()), float(ndcg.mean())

