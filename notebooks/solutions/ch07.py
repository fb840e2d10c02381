"""Solutions to chapter 07's exercises (not executed in the chapter)."""

import torch


def hamilton(x, y):
    """E1: Eq. (5.26) on [r, a, b, c] blocks."""
    r1, a1, b1, c1 = x.chunk(4, -1)
    r2, a2, b2, c2 = y.chunk(4, -1)
    return torch.cat(
        [
            r1 * r2 - a1 * a2 - b1 * b2 - c1 * c2,
            r1 * a2 + a1 * r2 + b1 * c2 - c1 * b2,
            r1 * b2 - a1 * c2 + b1 * r2 + c1 * a2,
            r1 * c2 + a1 * b2 - b1 * a2 + c1 * r2,
        ],
        -1,
    )


def qlinear_params(n_in, n_out, bias):
    """E2: (n_out / 4) x (n_in / 4) quaternions of 4 numbers each, plus a full bias."""
    return 4 * (n_in // 4) * (n_out // 4) + (n_out if bias else 0)


def component_softmax(logits, mask):
    """E3: softmax over the items (dim 1) per component; masked -> 0; empty rows -> 0."""
    m = mask[..., None].expand_as(logits)
    x = logits.masked_fill(~m, float("-inf"))
    x = x - x.amax(1, keepdim=True).clamp_min(-1e300).nan_to_num(0.0)
    e = torch.exp(x) * m
    z = e.sum(1, keepdim=True)
    return torch.where(z > 0, e / z.clamp_min(1e-300), torch.zeros_like(e))
