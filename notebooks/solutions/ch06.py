"""Solutions to chapter 06's exercises (LRML). Not executed by the chapter; checked by
tests/test_exercises_ch06.py with recsys_book.exercises.ch06."""

import torch


def attention_entropy(p, q, keys, key_scale):
    """E1: H(a) = -Σ_n a_n log a_n, a = softmax(κ K (p ⊙ q)).  p, q (B, d); keys (N, d) -> (B,).
    log_softmax keeps huge logits finite; a_n log a_n -> 0 where a_n = 0 (exp(-inf) * -inf)."""
    logits = key_scale * ((p * q) @ keys.T)  # (B, N)
    log_a = torch.log_softmax(logits, dim=-1)  # (B, N), finite for finite logits
    return -(log_a.exp() * log_a).sum(-1)  # (B,)


def relation(p, q, keys, memory):
    """(Used by E2) r = Σ_n softmax(K (p ⊙ q))_n M_n.  p, q (B, d); keys, memory (N, d) -> (B, d)."""
    s = p * q  # joint key (B, d)
    a = torch.softmax(s @ keys.T, dim=-1)  # (B, N); softmax subtracts the max: no overflow
    return a @ memory  # (B, d)


def hinge(p, q_pos, q_neg, keys, memory, margin, reuse):
    """E2: mean over (B, n) of max(0, margin + d(u, i+) - d(u, i-)), d = ||p + r - q||^2."""
    r_pos = relation(p, q_pos, keys, memory)  # (B, d)
    d_pos = ((p + r_pos - q_pos) ** 2).sum(-1)  # (B,)
    if reuse:
        r_neg = r_pos[:, None, :]  # the positive's relation for every negative (B, 1, d)
    else:
        B, n, d = q_neg.shape
        pn = p[:, None, :].expand(B, n, d)
        r_neg = relation(pn.reshape(-1, d), q_neg.reshape(-1, d), keys, memory).reshape(B, n, d)
    d_neg = ((p[:, None, :] + r_neg - q_neg) ** 2).sum(-1)  # (B, n)
    return torch.relu(margin + d_pos[:, None] - d_neg).mean()


def shift(item_weight, r):
    """E3: -||p + r - q||^2 = -||p - (q - r)||^2: CML with every item moved by -r."""
    return item_weight - r
