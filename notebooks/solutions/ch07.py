"""Solutions to chapter 07's exercises (not executed in the chapter)."""

import torch

from recsys_book.models import quaternion as Q


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


def qgru(cell, x, mask):
    """E3: the quaternion GRU over s steps, QUASE's loop (Eq. 5.33) with a GRU's gates.

    cell.w (x) p_t + g and cell.rec (x) h + g_r are two QLinear calls; their outputs pack the
    three gates component by component ([r_z r_r r_n | a_z a_r a_n | ...]), so q_chunk cuts
    them (a plain .chunk(3) would mix the components of different gates). The reset gate
    multiplies the whole recurrent term R_n (x) h + g_rn (the torch.nn.GRUCell convention)."""
    B, s, d = x.shape
    h = x.new_zeros(B, d)  # (B, d): h_0 = 0
    hs = []
    for t in range(s):
        wz, wr, wn = Q.q_chunk(cell.w(x[:, t]), 3)  # (B, d) each: W (x) p_t + g
        rz, rr, rn = Q.q_chunk(cell.rec(h), 3)  # (B, d) each: R (x) h_{t-1} + g_r
        z = torch.sigmoid(wz + rz)  # update gate (split sigmoid, Eq. 5.27)
        r = torch.sigmoid(wr + rr)  # reset gate
        n = torch.tanh(wn + r * rn)  # candidate state, x = component-wise product
        h_new = (1 - z) * n + z * h  # (B, d)
        h = torch.where(mask[:, t, None], h_new, h)  # a padded step keeps the state
        hs.append(h)
    return torch.stack(hs, 1)  # (B, s, d): h_1 .. h_s
