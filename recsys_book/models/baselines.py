"""Baselines the papers compare against (SDMR paper, WWW 2019, Section 5.1 and Table 3).

Gradient-trained (by :func:`recsys_book.train.fit`):

* :class:`MFBPR`  matrix factorisation trained with BPR (Rendle et al., UAI 2009).
* :class:`CML`    collaborative metric learning (Hsieh et al., WWW 2017): users and items in
  a Euclidean space, score = -||u - v||^2, embeddings kept inside the unit ball. Two forms:

  - the hinge/margin loss of its paper, ``CML(..., loss="hinge", margin=0.5)`` (the
    default), i.e. max(0, m + d(u, i+)^2 - d(u, i-)^2) (the paper's WARP rank weights are
    left out);
  - BPR on the negated distance, as in the SDMR paper's comparison: ``CML(..., loss="bpr")``,
    i.e. -log sigma(d(u, i-)^2 - d(u, i+)^2).

  The model declares its loss (the contract of :mod:`recsys_book.models.base`), so
  ``fit(model, split)`` trains the form it was built with.
* :class:`GMF`, :class:`MLP`, :class:`NeuMF` neural collaborative filtering (He et al.,
  WWW 2017, Section 3). **NeuMF++** is NeuMF whose GMF and MLP parts are pre-trained
  separately and fused with weight alpha (Section 3.4.1): :func:`recsys_book.train.pretrain_neumf` (a training recipe: models declare, the loop trains).

Closed form (their own ``fit``; same ``score`` interface):

* :class:`ItemKNN` cosine item-item neighbourhood model (Sarwar et al., WWW 2001).
* :class:`SLIM`   sparse linear method (Ning & Karypis, ICDM 2011): the same objective
  (elastic net, non-negative weights, zero diagonal) solved by ADMM as in Steck et al.,
  WSDM 2020 ("ADMM SLIM") instead of the original per-column coordinate descent.

EASE (Steck 2019) lives in :mod:`recsys_book.models.linear`.

On playlists (dissertation Sec. 4.3.4: user-song and playlist-song baselines, the better one
reported): :class:`PlaylistAsUser` runs any of them with the playlist id in the user's place.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from recsys_book.models.base import Recommender
from recsys_book.models.linear import ItemItemModel, interaction_matrix
from recsys_book.nn import clip_to_unit_ball_, lookup


class MFBPR(Recommender):
    """score(u, i) = p_u . q_i + b_i.

    L2 as in BPR: reg * (||p_u||^2 + ||q_i||^2 + ||q_j||^2) / B."""

    def __init__(
        self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.1, bias: bool = True
    ):
        super().__init__(n_users, n_items)
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        self.bias = nn.Embedding(n_items, 1) if bias else None
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)
        if self.bias is not None:
            nn.init.zeros_(self.bias.weight)

    def score(self, users, items, **inputs):
        # a broadcast product, not einsum: einsum becomes B tiny batched matmuls, ~2x slower
        # per training step on CPU
        s = (lookup(self.user, users)[:, None, :] * lookup(self.item, items)).sum(-1)  # (B, C)
        if self.bias is not None:
            s = s + lookup(self.bias, items).squeeze(-1)
        return s

    def score_all(self, users, **inputs):
        s = lookup(self.user, users) @ self.item.weight.T  # (B, n_items)
        if self.bias is not None:
            s = s + self.bias.weight.T
        return s

    def regularization(self, users, items, **inputs):
        return (lookup(self.user, users).pow(2).sum() + lookup(self.item, items).pow(2).sum()) / users.shape[0]


class CML(Recommender):
    """Collaborative metric learning: score(u, i) = -||p_u - q_i||^2 (a negated distance).

    After each optimiser step (``post_step``) the embeddings are projected back into the
    unit ball, as in the CML paper. ``loss``: ``"hinge"`` (its paper, with ``margin``) or
    ``"bpr"`` (the SDMR paper's comparison)."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        init_std: float = 0.1,
        clip: bool = True,
        loss: str = "hinge",
        margin: float = 0.5,
    ):
        super().__init__(n_users, n_items)
        if loss not in ("hinge", "bpr"):
            raise ValueError(f"CML is trained with loss='hinge' (its paper) or 'bpr', got {loss!r}")
        self.loss, self.margin = loss, float(margin)
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)
        self.clip = clip

    def score(self, users, items, **inputs):
        diff = lookup(self.user, users)[:, None, :] - lookup(self.item, items)  # (B, C, d)
        return -(diff * diff).sum(-1)

    def score_all(self, users, **inputs):
        return -torch.cdist(lookup(self.user, users), self.item.weight).pow(2)

    def post_step(self):
        if self.clip:
            for emb in (self.user, self.item):
                clip_to_unit_ball_(emb.weight)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, loss={self.loss}, margin={self.margin:g}"


class PlaylistAsUser(Recommender):
    """A user-item model run on playlists: the playlist id (``inputs["playlist"]``, from
    :func:`recsys_book.data.playlist_holdout`) plays the user, so ``inner`` is built with
    ``n_users = n_playlists(split)``. The inner model's training declarations (loss, margin,
    negative reduction) and hooks (``post_step``, e.g. CML's unit-ball projection;
    ``regularization``) are its own: ``PlaylistAsUser(CML(...))`` is CML, hinge and ball
    included. Negatives avoid the playlist's songs (``exclude_by``)."""

    exclude_by = "playlist"

    def __init__(self, inner: Recommender):
        super().__init__(inner.n_users, inner.n_items)
        self.inner = inner
        for name in ("loss", "margin", "neg_reduce"):  # per instance: the contract reads them
            setattr(self, name, getattr(inner, name))
        if getattr(inner, "post_step", None) is not None:
            self.post_step = inner.post_step
        if getattr(inner, "regularization", None) is not None:
            self.regularization = lambda users, items, playlist=None, **inputs: inner.regularization(
                _playlists(playlist), items
            )

    def score(self, users, items, playlist=None, **inputs):
        return self.inner.score(_playlists(playlist), items)

    def extra_repr(self) -> str:
        return f"playlists as users of {type(self.inner).__name__}"


def _playlists(playlist):
    if playlist is None:
        raise ValueError(
            "PlaylistAsUser needs inputs['playlist'] (the playlist id of each row): build the "
            "split with playlist_holdout(inter)"
        )
    return playlist


# ---- neighbourhood and linear baselines (closed form) -----------------------------------


class ItemKNN(ItemItemModel):
    """Item-based k-nearest neighbours with cosine similarity (Sarwar et al., WWW 2001).

        S_ij = r_i . r_j / (||r_i|| ||r_j|| + shrink),  S_ii = 0              (cosine of columns)
        score(u, i) = sum_{j in I_u} S_ji = (R S)_ui

    ``k``: keep only each item's ``k`` most similar neighbours (per column of S, i.e. the
    neighbours that vote for item i); ``None`` keeps all, then S is symmetric.
    ``shrink`` damps similarities resting on few co-occurrences (0 = plain cosine).
    """

    def __init__(self, n_users: int, n_items: int, k: int | None = None, shrink: float = 0.0):
        super().__init__(n_users, n_items)
        if k is not None and (not isinstance(k, int) or k < 1):
            raise ValueError(
                f"k must be a positive int (neighbours kept per item) or None, got {k!r}"
            )
        if shrink < 0:
            raise ValueError(f"shrink must be >= 0, got {shrink!r}")
        self.k, self.shrink = k, float(shrink)

    @torch.no_grad()
    def fit(self, data) -> "ItemKNN":
        inter = self._check_data(data)
        self._start_history()
        R = interaction_matrix(inter, device=self.device)  # (U, I) binary
        G = R.t() @ R  # (I, I) co-occurrences
        norm = G.diagonal().sqrt()  # (I,) ||r_i||
        S = G / (norm[:, None] * norm[None, :] + self.shrink).clamp(min=1e-12)
        S.fill_diagonal_(0.0)  # not its own neighbour
        if self.k is not None and self.k < self.n_items - 1:
            top = torch.topk(S, self.k, dim=0).indices  # (k, I) per target column
            keep = torch.zeros_like(S, dtype=torch.bool).scatter_(0, top, True)
            S = S * keep
        self.R, self.W = R, S
        self._log()
        return self


class SLIM(ItemItemModel):
    """SLIM (Ning & Karypis, ICDM 2011) solved with ADMM (Steck et al., WSDM 2020).

        minimise_W 1/2 ||R - R W||_F^2 + l2/2 ||W||_F^2 + l1 ||W||_1
        subject to  W >= 0,  diag(W) = 0

    ADMM splits W into a smooth copy B (closed form, zero diagonal via a Lagrange
    multiplier, as in EASE) and a sparse non-negative copy C (soft threshold), with dual G:

        P = (R^T R + (l2 + rho) I)^{-1}
        B = P (R^T R + rho (C - G));  B -= P diag(diag(B) / diag(P))      (diag(B) = 0)
        C = max(0, B + G - l1 / rho)
        G = G + B - C

    The original paper solves each column by coordinate descent; ADMM reaches the same
    optimum of the same convex objective, in a few dense (I x I) products that torch does
    well. ``W = C`` after ``n_iter`` steps (sparse, non-negative, zero diagonal); solved in
    ``dtype`` (float32 by default; float64 for tight identities).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        l1: float = 1.0,
        l2: float = 100.0,
        rho: float = 1000.0,
        n_iter: int = 30,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__(n_users, n_items)
        self.dtype = dtype
        if l1 < 0 or l2 < 0 or rho <= 0 or n_iter < 1:
            raise ValueError(
                f"need l1 >= 0, l2 >= 0, rho > 0, n_iter >= 1; got {l1}, {l2}, {rho}, {n_iter}"
            )
        self.l1, self.l2, self.rho, self.n_iter = float(l1), float(l2), float(rho), int(n_iter)

    @torch.no_grad()
    def fit(self, data) -> "SLIM":
        inter = self._check_data(data)
        self._start_history()
        R = interaction_matrix(inter, device=self.device, dtype=self.dtype)  # (U, I)
        G_ = R.t() @ R  # (I, I) Gram
        eye = torch.eye(self.n_items, dtype=R.dtype, device=R.device)
        P = torch.linalg.inv(G_ + (self.l2 + self.rho) * eye)  # (I, I)
        PG = P @ G_
        C = torch.zeros_like(G_)
        dual = torch.zeros_like(G_)
        dP = P.diagonal()
        for _ in range(self.n_iter):
            B = PG + self.rho * (P @ (C - dual))  # smooth step
            B -= P * (B.diagonal() / dP)[None, :]  # enforce diag(B) = 0
            C = (B + dual - self.l1 / self.rho).clamp(min=0.0)  # sparse, >= 0
            dual += B - C
            self._log(residual=float(torch.linalg.norm(B - C)))
        C.fill_diagonal_(0.0)
        self.R, self.W = R.float(), C.float()
        return self


# ---- neural collaborative filtering (He et al., WWW 2017) ----------------------------


class GMF(Recommender):
    """Generalized matrix factorisation (NCF Section 3.2): score = h^T (p_u * q_i) + b."""

    def __init__(self, n_users: int, n_items: int, dim: int = 32, init_std: float = 0.01):
        super().__init__(n_users, n_items)
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        self.out = nn.Linear(dim, 1)
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)

    def features(self, users, items):
        return lookup(self.user, users)[:, None, :] * lookup(self.item, items)  # (B, C, d)

    def score(self, users, items, **inputs):
        return self.out(self.features(users, items)).squeeze(-1)  # (B, C)


class MLP(Recommender):
    """The MLP tower of NCF (Section 3.3): z = [p_u; q_i] -> ReLU layers -> h^T z_L + b.

    ``layers``: widths of the hidden layers; the first layer reads the concatenation of two
    ``layers[0] // 2``-dimensional embeddings (the NCF convention). The first layer is
    computed as W_u p_u + W_i q_i (the same linear map as on the concatenation), so the
    item part is computed once per item and not once per (user, item) pair."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        layers: Sequence[int] = (64, 32, 16),
        init_std: float = 0.01,
        dropout: float = 0.0,
    ):
        super().__init__(n_users, n_items)
        if len(layers) < 1 or any(int(w) < 1 for w in layers) or layers[0] % 2:
            raise ValueError(
                f"layers must be positive widths with an even first one, got {layers!r}"
            )
        self.layers, self.dropout = tuple(int(w) for w in layers), float(dropout)
        half = layers[0] // 2
        self.user = nn.Embedding(n_users, half)
        self.item = nn.Embedding(n_items, half)
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)
        self.first = nn.Linear(layers[0], layers[1] if len(layers) > 1 else layers[0])
        widths = [self.first.out_features] + list(layers[2:])
        tower: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            tower += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(a, b)]
        tower += [nn.ReLU()]
        self.tower = nn.Sequential(*tower)
        self.out = nn.Linear(widths[-1], 1)

    def features(self, users, items):
        half = self.user.embedding_dim
        w = self.first.weight  # (h1, 2 * half)
        zu = lookup(self.user, users) @ w[:, :half].T + self.first.bias  # (B, h1)
        zi = lookup(self.item, items) @ w[:, half:].T  # (B, C, h1)
        return self.tower(zu[:, None, :] + zi)  # (B, C, h_L)

    def score(self, users, items, **inputs):
        return self.out(self.features(users, items)).squeeze(-1)  # (B, C)


class NeuMF(Recommender):
    """NeuMF (NCF Section 3.4): score = h^T [phi_GMF ; phi_MLP] + b, the GMF part
    (its own ``dim``-dimensional embeddings) and the MLP tower side by side. Built with
    :meth:`from_pretrained` (NeuMF++) the parts start from separately trained GMF and MLP
    and the fusion layer is [alpha h_GMF ; (1 - alpha) h_MLP] with bias
    alpha b_GMF + (1 - alpha) b_MLP, so the initial score is exactly
    alpha * GMF.score + (1 - alpha) * MLP.score (Eq. 13 of NCF, with its alpha = 0.5)."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 32,
        layers: Sequence[int] = (64, 32, 16),
        init_std: float = 0.01,
        dropout: float = 0.0,
    ):
        super().__init__(n_users, n_items)
        self.gmf = GMF(n_users, n_items, dim, init_std)
        self.mlp = MLP(n_users, n_items, layers, init_std, dropout)
        d_mlp = self.mlp.out.in_features
        self.out = nn.Linear(dim + d_mlp, 1)
        del self.gmf.out, self.mlp.out  # the fused head replaces both

    def score(self, users, items, **inputs):
        z = torch.cat([self.gmf.features(users, items), self.mlp.features(users, items)], dim=-1)
        return self.out(z).squeeze(-1)  # (B, C)

    @classmethod
    @torch.no_grad()
    def from_pretrained(cls, gmf: GMF, mlp: MLP, alpha: float = 0.5) -> "NeuMF":
        """NeuMF++: copy the pre-trained parts and fuse their output layers with ``alpha``."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        if (gmf.n_users, gmf.n_items) != (mlp.n_users, mlp.n_items):
            raise ValueError("GMF and MLP were built for different numbers of users/items.")
        model = cls(
            gmf.n_users, gmf.n_items, gmf.user.embedding_dim, mlp.layers, dropout=mlp.dropout
        )
        model.gmf = copy.deepcopy(gmf)
        model.mlp = copy.deepcopy(mlp)
        del model.gmf.out, model.mlp.out
        w = torch.cat([alpha * gmf.out.weight, (1 - alpha) * mlp.out.weight], dim=1)
        model.out.weight.copy_(w)
        model.out.bias.copy_(alpha * gmf.out.bias + (1 - alpha) * mlp.out.bias)
        return model.to(gmf.device)
