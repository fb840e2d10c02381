"""Solutions to the exercises of chapter 05 (not executed by the chapter)."""

import torch


def my_omega(H, x):
    h = H.abs().sum(1)  # Gershgorin radii (the diagonal is zero)
    return float((h / x).max())


def my_ease(R, reg):
    P = torch.linalg.inv(R.T @ R + reg * torch.eye(R.shape[1], dtype=R.dtype))
    B = -P / P.diagonal()[None, :]  # B_ij = -P_ij / P_jj
    return B.fill_diagonal_(0.0)


def my_signal_scores(R, C, t):
    d = R.sum(0).clamp(min=1)  # item degrees, clipped at 1
    return (R * d.pow(-t)[None, :]) @ C * d.pow(t)[None, :]
