"""Neighbourhood baselines of the MASR chapter (dissertation Table 4.4 (d), (e)).

* :class:`FISM` (Kabbur, Ning, Karypis, KDD 2013): item similarity with factored item
  matrices, score(k | members) = b_k + |members|^{-a} sum_t p_t . q_k (dot product, no
  attention). Members = the playlist's other training songs (``inputs['context']``).
* :class:`CMN` (Ebesu, Shen, Fang, SIGIR 2018): a memory network over *neighbour owners*
  (users or playlists that hold the candidate song in training). One hop:
  attention q_v = m_o . m_v + e_k . m_v over neighbours v (Eq. 2-3 of CMN), output
  o = sum_v softmax(q)_v c_v, score = w^T ReLU(U (m_o * e_k) + W o + b) (Eq. 4-5).
  ``owner="playlist"`` uses playlists as owners (the chapter's APC task); neighbours are
  capped at ``max_neighbours`` per song (a fixed random sample, seeded).
Scores are similarities: higher = more preferred.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recsys_book.models.base import Recommender
from recsys_book.models.mahalanobis import _check_context, _check_playlist
from recsys_book.nn import lookup, masked_softmax


class FISM(Recommender):
    """FISM-auc style: b_k + n^{-alpha} * sum_t p_t . q_k over member songs t (k excluded)."""

    def __init__(
        self, n_users: int, n_items: int, dim: int = 64, alpha: float = 0.5, init_std: float = 0.1
    ):
        super().__init__(n_users, n_items)
        self.p = nn.Embedding(n_items + 1, dim, padding_idx=n_items)
        self.q = nn.Embedding(n_items, dim)
        self.bias = nn.Embedding(n_items, 1)
        for e in (self.p, self.q):
            nn.init.normal_(e.weight, std=init_std)
        with torch.no_grad():
            self.p.weight[n_items].zero_()
        nn.init.zeros_(self.bias.weight)
        self.alpha = alpha

    def score(self, users, items, context=None, context_mask=None, **inputs):
        context, mask = _check_context("FISM", context, context_mask, self.n_items)
        m = mask[:, None, :] & (context[:, None, :] != items[:, :, None])  # (B, C, L) k excluded
        sim = torch.einsum("bld,bcd->bcl", lookup(self.p, context), lookup(self.q, items))  # (B, C, L)
        n = m.sum(-1).clamp_min(1).float()
        return (sim * m).sum(-1) / n.pow(self.alpha) + lookup(self.bias, items).squeeze(-1)


class CMN(Recommender):
    """Collaborative Memory Network, one hop, owners = users or playlists (see module doc).

    ``train``: the training interactions (a Split or its ``train``), from which the neighbour
    table (the owners holding each song) is built at construction."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        train,
        dim: int = 64,
        owner: str = "playlist",
        max_neighbours: int = 50,
        init_std: float = 0.1,
        seed: int = 0,
    ):
        super().__init__(n_users, n_items)
        split = getattr(train, "train", train)
        if (split.n_users, split.n_items) != (self.n_users, self.n_items):
            raise ValueError(
                f"the training data has {split.n_users} users x {split.n_items} items but the "
                f"model was built for {self.n_users} x {self.n_items}."
            )
        if owner not in ("user", "playlist"):
            raise ValueError(f"owner must be 'user' or 'playlist', got {owner!r}")
        df = split.df
        if owner == "playlist" and "playlist" not in df:
            raise ValueError(
                "owner='playlist' needs a playlist_holdout split (train has no playlist column)."
            )
        self.owner = owner
        owners = df[owner].to_numpy()
        n_owners = int(owners.max()) + 1 if owner == "playlist" else split.n_users
        self.n_owners = n_owners
        # neighbour table: for each song, up to max_neighbours owners holding it (padded n_owners)
        rng = np.random.default_rng(seed)
        nb = np.full((split.n_items, max_neighbours), n_owners, dtype=np.int64)
        order = np.argsort(df["item"].to_numpy(), kind="stable")
        items_sorted, owners_sorted = df["item"].to_numpy()[order], owners[order]
        starts = np.searchsorted(items_sorted, np.arange(split.n_items + 1))
        for i in range(split.n_items):
            cand = np.unique(owners_sorted[starts[i] : starts[i + 1]])
            if len(cand) > max_neighbours:
                cand = rng.choice(cand, max_neighbours, replace=False)
            nb[i, : len(cand)] = cand
        self.register_buffer("neighbours", torch.as_tensor(nb))
        self.mem = nn.Embedding(n_owners + 1, dim, padding_idx=n_owners)  # m_v
        self.out_mem = nn.Embedding(n_owners + 1, dim, padding_idx=n_owners)  # c_v
        self.item = nn.Embedding(split.n_items, dim)  # e_k
        for e in (self.mem, self.out_mem, self.item):
            nn.init.normal_(e.weight, std=init_std)
        with torch.no_grad():
            self.mem.weight[n_owners].zero_()
            self.out_mem.weight[n_owners].zero_()
        self.U = nn.Linear(dim, dim)
        self.W = nn.Linear(dim, dim, bias=False)
        self.w = nn.Linear(dim, 1, bias=False)

    def score(self, users, items, playlist=None, **inputs):
        o_id = _check_playlist("CMN", playlist) if self.owner == "playlist" else users
        m_o = lookup(self.mem, o_id)  # (B, d)
        e_k = lookup(self.item, items)  # (B, C, d)
        nb = self.neighbours[items]  # (B, C, N)
        real = (nb != self.n_owners) & (nb != o_id[:, None, None])  # not itself
        m_v = lookup(self.mem, nb)  # (B, C, N, d)
        # q_v = m_o . m_v + e_k . m_v = (m_o + e_k) . m_v: one pass over the (B, C, N, d)
        # memories; q and o as batched matrix-vector products (the three einsums they replace
        # made the step 1.3-1.7x slower on 2 CPU cores, bench_gpu.py's CMN and Table 3's)
        q = (m_v @ (m_o[:, None, :] + e_k)[..., None]).squeeze(-1)  # Eq. 2  (B, C, N)
        B, C, N = q.shape
        a = masked_softmax(q.reshape(B * C, 1, N), real.reshape(B * C, N)).reshape(B, C, N)  # Eq. 3
        o = (a[:, :, None, :] @ lookup(self.out_mem, nb)).squeeze(2)  # Eq. 4: sum_v a_v c_v  (B, C, d)
        h = F.relu(self.U(m_o[:, None, :] * e_k) + self.W(o))  # Eq. 5
        return self.w(h).squeeze(-1)
