"""The one interface every model implements, and the two simplest models.

Every model is a ``torch.nn.Module`` with

* ``score(users (B,), items (B, C), **inputs) -> (B, C)``: **higher means more preferred**.
  Distance models return the negated distance and say so. ``inputs`` are the per-row
  extras a protocol attaches (``context``/``context_mask`` for memory models,
  ``playlist`` for playlist models); models that need none ignore them.
* ``score_all(users (B,), **inputs) -> (B, n_items)``: every item; the default calls
  ``score`` with all items, models with a faster closed form override it.
* closed-form / ALS models also have ``fit(split_or_interactions, ...)``; gradient models
  are trained by :func:`recsys_book.train.fit` and may define
  ``regularization(users, items, **inputs)`` for the L2 term of their paper.
"""

from __future__ import annotations

import torch
from torch import nn


class Recommender(nn.Module):
    """Base class: holds ``n_users``/``n_items`` and derives ``score_all``/``recommend``."""

    def __init__(self, n_users: int, n_items: int):
        super().__init__()
        if n_users < 1 or n_items < 1:
            raise ValueError(f"n_users and n_items must be positive, got {n_users}, {n_items}")
        self.n_users = int(n_users)
        self.n_items = int(n_items)
        # a buffer so that .to(device) moves it and parameter-free models know their device
        self.register_buffer("_device_probe", torch.zeros(0), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._device_probe.device

    def score(self, users: torch.Tensor, items: torch.Tensor, **inputs) -> torch.Tensor:
        raise NotImplementedError

    def score_all(self, users: torch.Tensor, **inputs) -> torch.Tensor:
        items = torch.arange(self.n_items, device=users.device).expand(users.shape[0], -1)
        return self.score(users, items, **inputs)

    @torch.no_grad()
    def recommend(self, users, k: int = 10, exclude=None, **inputs) -> torch.Tensor:
        """Top-``k`` item ids per user (B, k); ``exclude`` an Interactions whose items are masked."""
        users = torch.as_tensor(users, device=self.device).reshape(-1)
        scores = self.score_all(users, **inputs).float()
        if exclude is not None:
            seen = exclude.to_dense(device=scores.device)[users] > 0
            scores = scores.masked_fill(seen, -torch.inf)
        return torch.topk(scores, k, dim=1).indices

    def extra_repr(self) -> str:
        return f"n_users={self.n_users}, n_items={self.n_items}"


def _interactions(data):
    """Accept a Split or an Interactions (use the training part of a split)."""
    return getattr(data, "train", data)


class Popularity(Recommender):
    """Most-popular: every user gets the items with the most training interactions.

    The floor every model in the course must clear."""

    def __init__(self, n_users: int, n_items: int):
        super().__init__(n_users, n_items)
        self.register_buffer("counts", torch.zeros(n_items))

    def fit(self, data) -> "Popularity":
        inter = _interactions(data)
        self.counts = torch.as_tensor(inter.item_degree(), dtype=torch.float32, device=self.device)
        return self

    def score(self, users, items, **inputs):
        return self.counts[items]

    def score_all(self, users, **inputs):
        return self.counts.expand(users.shape[0], -1)


class RandomModel(Recommender):
    """Uniform random scores (seeded): the chance level of a protocol."""

    def __init__(self, n_users: int, n_items: int, seed: int = 0):
        super().__init__(n_users, n_items)
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("table", torch.rand(n_users, n_items, generator=g))

    def fit(self, data) -> "RandomModel":
        return self

    def score(self, users, items, **inputs):
        return self.table[users[:, None], items]

    def score_all(self, users, **inputs):
        return self.table[users]
