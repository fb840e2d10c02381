"""Solutions to the exercises of chapter 01 (not executed by the chapter)."""

import torch
import torch.nn.functional as F


def my_cosine(R):
    R = torch.as_tensor(R, dtype=torch.float32)
    norm = R.norm(dim=0)  # (I,) ||r_i||
    S = (R.T @ R) / (norm[:, None] * norm[None, :]).clamp(min=1e-12)
    return S.fill_diagonal_(0.0)


def cml_hinge(p, q_pos, q_neg, margin):
    d_pos = ((p - q_pos) ** 2).sum(-1)  # (B,)
    d_neg = ((p[:, None, :] - q_neg) ** 2).sum(-1)  # (B, n)
    return F.relu(margin + d_pos[:, None] - d_neg).mean()


def bpr(pos, neg):
    return -F.logsigmoid(pos[:, None] - neg).mean()
