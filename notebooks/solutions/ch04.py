"""Solutions to chapter 04's exercises (not executed in the chapter; run by
tests/test_exercises_ch04.py through the checkers of recsys_book.exercises.ch04)."""

import torch


def my_softmin(z, mask):
    """E1, Eq. (10): softmax of -z over the real context items of each row."""
    m = mask[:, None, :].expand_as(z)  # (B, C, s)
    x = (-z).masked_fill(~m, float("-inf"))
    top = x.amax(-1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))  # empty rows
    e = torch.exp(x - top) * m  # (B, C, s), exactly 0 on padding
    total = e.sum(-1, keepdim=True)
    return torch.where(total > 0, e / total.clamp_min(1e-300), torch.zeros_like(e))


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

