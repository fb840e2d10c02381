"""Item2Vec, the RME chapter's SGNS baseline (Barkan & Koenigstein, 2016; Tran, dissertation
Ch. 4.2, Table 4.2), in its SPPMI-factorisation form. Last in the chapter's reading order
(``models/sppmi.py``, ``models/rme.py``, ``models/rme_implicit.py``, this file).
"""

from __future__ import annotations

import torch

from recsys_book.models.base import ClosedForm
from recsys_book.models.sppmi import sppmi


class Item2Vec(ClosedForm):
    """Item2Vec (Barkan & Koenigstein, 2016) in its SPPMI-factorisation form.

    Item2Vec runs skip-gram with negative sampling over each user's item set. SGNS with s
    negatives implicitly factorises the SPPMI matrix with shift s (Levy & Goldberg, 2014),
    so we factorise it explicitly: item vectors = U_k Sigma_k^{1/2} of a rank-k SVD of the
    co-liked SPPMI matrix X (deterministic, no learning rate; *not* a trained SGNS model).
    A user's score for item p is the sum of cosine similarities between p and the user's
    training items (Item2Vec's item-similarity recommendation).
    """

    def __init__(self, n_users: int, n_items: int, k: int = 40, shift: float = 1.0, seed: int = 0):
        super().__init__(n_users, n_items)
        self.k, self.shift, self.seed = int(k), float(shift), int(seed)
        self.register_buffer("E", torch.zeros(n_items, k))  # unit item vectors
        self.register_buffer("H", torch.zeros(n_users, k))  # sum of a user's items

    @torch.no_grad()
    def fit(self, data, matrices: dict | None = None) -> "Item2Vec":
        self._start_history()
        liked = getattr(data, "train", data)
        X = (matrices or {}).get("X")
        X = sppmi(liked, self.shift) if X is None else X
        Xd = X.to_dense().double()
        evals, evecs = torch.linalg.eigh(Xd)  # X symmetric: SVD = |eigen| decomposition
        top = torch.argsort(evals.abs(), descending=True)[: self.k]
        E = evecs[:, top] * evals[top].abs().sqrt()  # U_k Sigma_k^{1/2}
        E = E / E.norm(dim=1, keepdim=True).clamp(min=1e-12)
        self.E = E.float().to(self.device)
        M = liked.to_sparse().to(self.device)
        self.H = torch.sparse.mm(M, self.E)  # (m, k)
        self._log()  # one factorisation
        return self

    def score(self, users, items, **inputs):
        return (self.H[users][:, None, :] * self.E[items]).sum(-1)

    def score_all(self, users, **inputs):
        return self.H[users] @ self.E.T
