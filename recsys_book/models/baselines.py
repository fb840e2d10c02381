"""Baselines the papers compare against.

* :class:`MFBPR`  matrix factorisation trained with BPR (Rendle et al., UAI 2009).
* :class:`CML`    collaborative metric learning (Hsieh et al., WWW 2017): users and items in
  a Euclidean space, score = -||u - v||^2, embeddings kept inside the unit ball. Trained
  with the hinge/margin loss of its paper (``fit(..., loss="hinge", margin=...)``) or with
  BPR, as in the SDMR paper's comparison.
"""

from __future__ import annotations

import torch
from torch import nn

from recsys_book.models.base import Recommender


class MFBPR(Recommender):
    """score(u, i) = p_u . q_i + b_i. L2 as in BPR: reg * (||p_u||^2 + ||q_i||^2 + ||q_j||^2) / B."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.1, bias: bool = True):
        super().__init__(n_users, n_items)
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        self.bias = nn.Embedding(n_items, 1) if bias else None
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)
        if self.bias is not None:
            nn.init.zeros_(self.bias.weight)

    def score(self, users, items, **inputs):
        s = torch.einsum("bd,bcd->bc", self.user(users), self.item(items))  # (B, C)
        if self.bias is not None:
            s = s + self.bias(items).squeeze(-1)
        return s

    def score_all(self, users, **inputs):
        s = self.user(users) @ self.item.weight.T  # (B, n_items)
        if self.bias is not None:
            s = s + self.bias.weight.T
        return s

    def regularization(self, users, items, **inputs):
        return (self.user(users).pow(2).sum() + self.item(items).pow(2).sum()) / users.shape[0]


class CML(Recommender):
    """Collaborative metric learning: score(u, i) = -||p_u - q_i||^2 (a negated distance).

    After each optimiser step (``post_step``) the embeddings are projected back into the
    unit ball, as in the CML paper."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.1, clip: bool = True):
        super().__init__(n_users, n_items)
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)
        self.clip = clip

    def score(self, users, items, **inputs):
        diff = self.user(users)[:, None, :] - self.item(items)  # (B, C, d)
        return -(diff * diff).sum(-1)

    def score_all(self, users, **inputs):
        return -torch.cdist(self.user(users), self.item.weight).pow(2)

    @torch.no_grad()
    def post_step(self):
        if self.clip:
            for emb in (self.user, self.item):
                norm = emb.weight.norm(dim=1, keepdim=True).clamp(min=1.0)
                emb.weight.div_(norm)
