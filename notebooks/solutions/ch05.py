"""Solutions to the exercises of chapter 05 (not executed by the chapter)."""

import torch


def my_discs(A):
    centres = A.diagonal()
    radii = A.abs().sum(1) - A.diagonal().abs()  # off-diagonal absolute row sums
    return centres, radii


def my_omega(H, x):
    h = H.abs().sum(1)  # Gershgorin radii (the diagonal is zero)
    return float((h / x).max())


def my_mahalanobis_sq(P, Q, W):
    diff = P.T[:, None, :] - Q.T[None, :, :]  # (U, I, n): p_u - q_i
    return torch.einsum("uin,nm,uim->ui", diff, W, diff)
