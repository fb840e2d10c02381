"""Solutions to chapter 07's exercises (not executed in the chapter)."""

import torch


def commutator(p, q):
    """E1: p (x) q - q (x) p from Eq. (5.26) written twice and subtracted: every term that
    is symmetric in p and q cancels (the real part entirely, and r1 a2 + a1 r2 ... in the
    imaginary parts); what is left is twice the cross product of the vector parts."""
    r1, a1, b1, c1 = p.chunk(4, -1)
    r2, a2, b2, c2 = q.chunk(4, -1)
    zero = torch.zeros_like(r1 * r2)  # the real parts cancel (broadcast shape)
    return torch.cat(
        [
            zero,
            2 * (b1 * c2 - c1 * b2),  # i
            2 * (c1 * a2 - a1 * c2),  # j
            2 * (a1 * b2 - b1 * a2),  # k
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
