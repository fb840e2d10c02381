"""Solutions to the exercises of chapter 01 (not executed by the chapter)."""

import torch


def my_cosine(R):
    R = torch.as_tensor(R, dtype=torch.float32)
    norm = R.norm(dim=0)  # (I,) ||r_i||
    S = (R.T @ R) / (norm[:, None] * norm[None, :]).clamp(min=1e-12)
    return S.fill_diagonal_(0.0)


def my_knn(R, k):
    S = my_cosine(R)
    top = torch.topk(S, k, dim=0).indices  # (k, I): the k best voters of each column
    keep = torch.zeros_like(S, dtype=torch.bool).scatter_(0, top, True)
    return S * keep


def clip_to_ball(W, max_norm):
    norm = W.norm(dim=-1, keepdim=True)  # (n, 1)
    return W / torch.clamp(norm / max_norm, min=1.0)
