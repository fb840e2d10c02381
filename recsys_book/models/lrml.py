"""LRML: latent relational metric learning (Tay, Luu, Hui, *Latent Relational Metric
Learning via Memory-based Attention for Collaborative Ranking*, WWW 2018, Section 3).

CML (Hsieh et al. 2017) pulls a user point p_u towards the items q_i they chose and pushes
the others away: one point per user must sit near *every* item the user liked. LRML adds a
**relation vector** r_ui for each user-item pair, a translation from the user to the item,
so the model asks "is q_i where p_u lands after the relation of this pair?":

    s_ui   = p_u ⊙ q_i                           joint key of the pair            (d,)
    a_ui   = softmax(K s_ui)                     attention over N memory keys     (N,)
    r_ui   = Σ_n a_ui,n M_n                      relation: mix of N memory slots  (d,)
    d(u,i) = ||p_u + r_ui − q_i||²               the distance (lower = closer)
    L      = Σ max(0, λ + d(u, i⁺) − d(u, i⁻))   pairwise hinge with margin λ

with K, M in R^{N×d} (keys and values of the memory) and p_u, q_i kept inside the unit
ball (clipped after every optimiser step, as in CML). :meth:`LRML.score` returns
**−d(u, i)**: a distance, returned negated, so higher = more preferred as everywhere in
the course, and the declared hinge (``loss = "hinge"``, ``margin``) on scores is exactly the
loss above: max(0, λ − s⁺ + s⁻) = max(0, λ + d⁺ − d⁻).

With N = 1 the attention is 1 for the only slot and r = M_0 for every pair: a translation
model with one global relation (TransE-style). Note that -||p + r − q||² = -||p − (q − r)||²,
so one global r is CML with every item shifted by r: memory is what makes LRML more than CML.

The relation of the negative (``negative_relation``). The hinge compares d(u, i⁺) with
d(u, i⁻). Two readings:

* ``"recompute"`` (default): the negative pair gets its own relation r_{u,i⁻} from its own
  key p_u ⊙ q_{i⁻}: each pair's distance is computed the same way in training and at
  evaluation. The memory learns to translate users *towards* their items and also not to
  translate them towards items they did not choose.
* ``"reuse_positive"`` (the authors' code): the negative is measured from the positive's
  translated point, d(u, i⁻) = ||p_u + r_{u,i⁺} − q_{i⁻}||². It needs to know which column is
  the positive: **while training** (``model.train()`` *and* autograd on, as in the steps
  of :func:`recsys_book.train.fit`) every column of ``items`` uses the relation of
  **column 0**, and fit puts the positive in column 0. Otherwise (``model.eval()``, which
  :func:`recsys_book.evaluate.evaluate` sets, or any scoring under ``torch.no_grad()``)
  every pair gets its own relation, so a ranking never depends on which candidate happens
  to be in column 0, whatever mode a wrapper left the model in.
  ``score(..., reuse=True/False)`` overrides the rule.

Readings we took (the seed text has only the abstract; the model is from the paper's
Section 3 as summarised in shared/papers/README.md):

* Distance: the **squared** Euclidean norm, as in the paper's equations and our CML; the
  authors' code uses the plain norm with a small constant under the root.
* Negative's relation: both readings are implemented (above); ``"recompute"`` is the default
  because it trains the function that evaluation uses. The chapter shows the difference.
* Only the user and item embeddings are clipped to the unit ball; the memory keys K and
  values M are unconstrained (the paper constrains the embeddings only).
* Attention logits are the plain products K s (no bias, no temperature), as written, by
  default. ``key_scale`` κ (ours, default 1) multiplies them: a = softmax(κ K s). With p, q
  inside the unit ball the joint key s is small (|s_k| ≤ 1, typically ~1/d), so at κ = 1 the
  attention starts near uniform and may stay there; κ is a knob of the reproduction's grid.
* :meth:`LRML.from_translation` starts N slots from a trained N = 1 model (every slot the
  one relation): whatever the attention, r = M_0, so the start scores exactly as the
  translation model did, and training can only move away from it where validation gains.
* Evaluation: every candidate pair gets its own relation vector, under both readings.
* Loss: the mean hinge over the sampled negatives (``neg_reduce = "mean"``); no WARP-style
  rank weights (as in our CML hinge baseline).
"""

from __future__ import annotations

import torch
from torch import nn

from recsys_book.models.base import Recommender
from recsys_book.nn import clip_to_unit_ball_, lookup

NEGATIVE_RELATIONS = ("recompute", "reuse_positive")


class LRML(Recommender):
    """Latent relational metric learning (Tay et al., WWW 2018, Sec. 3): see the module doc.

    score(u, i) = −||p_u + r_ui − q_i||²  (a distance, returned negated), with
    r_ui = Σ_n softmax(K (p_u ⊙ q_i))_n M_n.

    Arguments: ``dim`` d, ``n_memory`` N (memory slots), ``margin`` λ of the hinge,
    ``negative_relation`` ``"recompute"`` or ``"reuse_positive"`` (module doc),
    ``init_std`` the normal init of every parameter, ``key_scale`` κ of the attention
    logits (module doc; 1 = the paper's). Declares ``loss = "hinge"``."""

    loss = "hinge"
    margin = 0.5
    neg_reduce = "mean"

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        n_memory: int = 10,
        margin: float = 0.5,
        negative_relation: str = "recompute",
        init_std: float = 0.1,
        key_scale: float = 1.0,
    ):
        super().__init__(n_users, n_items)
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if not isinstance(n_memory, int) or n_memory < 1:
            raise ValueError(f"n_memory (N, memory slots) must be a positive int, got {n_memory!r}")
        if not margin > 0:
            raise ValueError(f"margin must be > 0 (the hinge's λ), got {margin!r}")
        if negative_relation not in NEGATIVE_RELATIONS:
            raise ValueError(
                f"negative_relation must be one of {NEGATIVE_RELATIONS}, got {negative_relation!r}"
            )
        if not key_scale > 0:
            raise ValueError(f"key_scale must be > 0 (it multiplies the attention logits), got {key_scale!r}")
        self.dim, self.n_memory = dim, n_memory
        self.key_scale = float(key_scale)
        self.margin = float(margin)
        self.negative_relation = negative_relation
        self.user = nn.Embedding(n_users, dim)  # p_u
        self.item = nn.Embedding(n_items, dim)  # q_i
        self.keys = nn.Parameter(torch.empty(n_memory, dim))  # K (N, d)
        self.memory = nn.Parameter(torch.empty(n_memory, dim))  # M (N, d)
        for w in (self.user.weight, self.item.weight, self.keys, self.memory):
            nn.init.normal_(w, std=init_std)
        self.post_step()

    # -- the pieces of Sec. 3, each usable on its own in the chapter --------------------

    def _pq(self, users: torch.Tensor, items: torch.Tensor):
        if items.dim() not in (1, 2) or items.shape[0] != users.shape[0]:
            raise ValueError(
                f"items must be (B,) or (B, C) with B = len(users) = {users.shape[0]}, "
                f"got shape {tuple(items.shape)}"
            )
        p = lookup(self.user, users)  # (B, d)
        q = lookup(self.item, items)  # (B, d) or (B, C, d)
        if items.dim() == 2:
            p = p[:, None, :]  # (B, 1, d)
        return p, q

    def attention_from(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """a = softmax(K (p ⊙ q)) over the N slots, (..., d) -> (..., N)."""
        s = p * q  # joint key  (..., d)
        return torch.softmax(self.key_scale * (s @ self.keys.T), dim=-1)  # (..., N)

    def relation_from(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """r = Σ_n a_n M_n, (..., d) -> (..., d)."""
        return self.attention_from(p, q) @ self.memory  # (..., N) @ (N, d)

    @classmethod
    def from_translation(cls, base: "LRML", n_memory: int, **kwargs) -> "LRML":
        """An N-slot LRML that starts where a trained one-slot model ``base`` is: its user
        and item embeddings, every memory slot its relation M_0, fresh random keys. Since the
        attention sums to one, r_ui = M_0 for every pair: the start's scores equal
        ``base``'s. ``kwargs``: the other constructor arguments (margin, key_scale, ...)."""
        if not isinstance(base, LRML) or base.n_memory != 1:
            got = f"LRML with N = {base.n_memory}" if isinstance(base, LRML) else type(base).__name__
            raise ValueError(f"from_translation needs a trained LRML with n_memory=1, got {got}")
        kwargs.setdefault("margin", base.margin)
        model = cls(base.n_users, base.n_items, base.dim, n_memory, **kwargs)
        with torch.no_grad():
            model.user.weight.copy_(base.user.weight)
            model.item.weight.copy_(base.item.weight)
            model.memory.copy_(base.memory.expand(n_memory, -1))
        return model

    def attention(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Attention over the memory slots of each pair: (B, N) for items (B,), (B, C, N)
        for items (B, C). Rows sum to one."""
        p, q = self._pq(users, items)
        return self.attention_from(p.expand_as(q), q)

    def relation(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """The relation vector r_ui of each pair: (B, d) for items (B,), (B, C, d) for (B, C)."""
        p, q = self._pq(users, items)
        return self.relation_from(p.expand_as(q), q)

    def distance(
        self, users: torch.Tensor, items: torch.Tensor, reuse: bool | None = None
    ) -> torch.Tensor:
        """d(u, i) = ||p_u + r − q_i||² (B, C): lower = closer. ``reuse``: take every column's
        relation from column 0 (the reuse reading); None = the module doc's rule (training
        mode, autograd on and ``negative_relation="reuse_positive"``)."""
        if items.dim() != 2:
            raise ValueError(f"items must be (B, C), got shape {tuple(items.shape)}")
        p, q = self._pq(users, items)  # (B, 1, d), (B, C, d)
        if reuse is None:
            reuse = (
                self.training
                and torch.is_grad_enabled()
                and self.negative_relation == "reuse_positive"
            )
        if reuse:
            r = self.relation_from(p, q[:, :1])  # the positive's relation (B, 1, d)
        else:
            r = self.relation_from(p, q)  # each pair's own (B, C, d)
        diff = p + r - q  # (B, C, d)
        return (diff * diff).sum(-1)  # (B, C)

    def score(self, users, items, reuse: bool | None = None, **inputs):
        """−d(u, i) (B, C): a distance, returned negated (higher = preferred)."""
        return -self.distance(users, items, reuse=reuse)

    @torch.no_grad()
    def post_step(self) -> None:
        """Clip every user and item embedding into the unit ball (after each step)."""
        clip_to_unit_ball_(self.user.weight, 1.0)
        clip_to_unit_ball_(self.item.weight, 1.0)

    def extra_repr(self) -> str:
        return (
            f"{super().extra_repr()}, dim={self.dim}, n_memory={self.n_memory}, "
            f"margin={self.margin}, negative_relation={self.negative_relation!r}, key_scale={self.key_scale}"
        )
