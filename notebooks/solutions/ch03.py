"""Solutions to the exercises of chapter 03 (not executed by the chapter)."""

import torch


def my_mdr_full(u, p, s, L1, L2, theta):
    # Eq. (4.20) with a full metric: ||L (x - y)||^2 for rows x - y (B, C, d) is
    # ||(x - y) @ L.T||^2; u, p (B, d) -> (B, 1, d) broadcast over the C candidates s (B, C, d)
    e_u = (u[:, None, :] - s) @ L1.T  # (B, C, d)
    e_p = (p[:, None, :] - s) @ L2.T  # (B, C, d)
    return (e_u * e_u).sum(-1) + (e_p * e_p).sum(-1) + theta  # (B, C)


def my_attention(qa, members, b4, mask, metric):
    # Eq. (4.26): -||b4 * (qa_k - m_t)||^2 (metric) or qa_k . m_t (dot), (B, C, L)
    if metric:
        diff = qa[:, :, None, :] - members[:, None, :, :]  # (B, C, L, d)
        logits = -((b4 * diff) ** 2).sum(-1)
    else:
        logits = torch.einsum("bcd,bld->bcl", qa, members)
    # Eq. (4.27): softmax over the member axis L, padding -> -inf before, 0 after
    m = mask[:, None, :].expand_as(logits)  # (B, C, L)
    logits = logits.masked_fill(~m, float("-inf"))
    alpha = torch.softmax(logits, dim=-1)  # stable: softmax subtracts the max
    return torch.nan_to_num(alpha, nan=0.0) * m  # an all-padding row gives NaN: make it 0


def my_flexible_noise(grad, param, eps):
    # Eq. (4.33): eps * std(param) * g / ||g||, per row for a table, whole for a vector
    if grad.dim() >= 2:
        norm = grad.norm(dim=1, keepdim=True)
    else:
        norm = grad.norm()
    unit = torch.where(norm > 0, grad / norm.clamp_min(1e-30), torch.zeros_like(grad))
    return eps * param.std() * unit
