"""Sequential baselines of the SDMR paper's Table 3 (group 2), on the same inputs as SDM.

Every model takes ``context (B, s)`` / ``context_mask (B, s)`` (padding index ``n_items``,
most recent item last, as built by :func:`recsys_book.data.splits.add_recent_context`);
the "previous item" of a first-order model is ``context[:, -1]``.

* :class:`PRME` (Feng et al., IJCAI 2015): two Euclidean spaces, a user-preference space
  (P) and a sequential-transition space (S):
      D(u, k, j) = alpha ||p_u - p_j||^2 + (1 - alpha) ||s_k - s_j||^2
  with k the previous item. We follow the original paper's two spaces; the SDMR paper's
  one-line summary writes a single item embedding for both terms.
  Reading we took on PRME's time threshold Delta-tau (the original paper drops the
  transition term, alpha = 1, when the previous check-in is more than Delta-tau before the
  current one): no threshold, i.e. Delta-tau = infinity, every previous item counts. The
  SDMR paper's baseline setup names no Delta-tau, and ML-100k's timestamps record when a
  rating was *entered* (often a whole history in one sitting), not when the film was
  watched, so a gap in them says little about a broken sequence.
* :class:`PRMEs` (the SDMR authors' extension "PRME_s"): the transition term is averaged
  over the s context items (padding excluded).
* :class:`TransRec` (He, Kang, McAuley, RecSys 2017): the user is a translation from the
  previous item to the next one,
      score(u, k, j) = beta_j - || g_k + (t + t_u) - g_j ||_2
  with item embeddings kept in the unit ball (``post_step``) and L2 distance (the SDMR
  paper's choice, better than L1 in TransRec's paper).

Scores are negated distances (higher = preferred). A row without a previous item (a user's
first interaction) uses the padding row as a learned "start" item.
"""

from __future__ import annotations

import torch
from torch import nn

from recsys_book.models.base import Recommender
from recsys_book.nn import check_context, clip_to_unit_ball_


def _context(context, context_mask, n_items, model="this sequential model"):
    # padded slots read the "start" row (index n_items)
    return check_context(
        context, context_mask, n_items, model, "build them with add_recent_context(split, s)"
    )


class PRME(Recommender):
    """Personalized Ranking Metric Embedding. score = -D(u, k, j), k = context[:, -1]."""

    def __init__(
        self, n_users: int, n_items: int, dim: int = 64, alpha: float = 0.2, init_std: float = 0.1
    ):
        super().__init__(n_users, n_items)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.alpha = float(alpha)
        self.user_p = nn.Embedding(n_users, dim)
        self.item_p = nn.Embedding(n_items, dim)
        self.item_s = nn.Embedding(n_items + 1, dim)  # row n_items: start item
        for e in (self.user_p, self.item_p, self.item_s):
            nn.init.normal_(e.weight, std=init_std)

    def _transition(self, items, context, mask) -> torch.Tensor:
        """||s_k - s_j||^2 with k the last context item: (B, C)."""
        prev = self.item_s(context[:, -1])  # (B, d)
        return (self.item_s(items) - prev[:, None, :]).pow(2).sum(-1)

    def score(self, users, items, context=None, context_mask=None, **inputs):
        context, mask = _context(context, context_mask, self.n_items)
        pref = (self.item_p(items) - self.user_p(users)[:, None, :]).pow(2).sum(-1)  # (B, C)
        return -(self.alpha * pref + (1 - self.alpha) * self._transition(items, context, mask))


class PRMEs(PRME):
    """PRME_s: the transition term averaged over all s context items (SDMR paper, Sec. 5.2)."""

    def _transition(self, items, context, mask) -> torch.Tensor:
        sj = self.item_s(items)  # (B, C, d)
        sk = self.item_s(context)  # (B, s, d)
        d = torch.cdist(sj, sk).pow(2)  # (B, C, s)
        m = mask[:, None, :].to(d.dtype)
        n = m.sum(-1)
        avg = (d * m).sum(-1) / n.clamp(min=1)
        start = (sj - self.item_s.weight[self.n_items]).pow(2).sum(-1)  # no context: start item
        return torch.where(n > 0, avg, start)


class TransRec(Recommender):
    """Translation-based recommendation: score = beta_j - ||g_k + t + t_u - g_j||_2."""

    def __init__(
        self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.1, eps: float = 1e-8
    ):
        super().__init__(n_users, n_items)
        self.item = nn.Embedding(n_items + 1, dim)  # row n_items: start item
        self.user_t = nn.Embedding(n_users, dim)  # t_u, initialised at 0 (as in TransRec)
        self.t = nn.Parameter(torch.zeros(dim))  # global translation
        self.bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.item.weight, std=init_std)
        nn.init.zeros_(self.user_t.weight)
        nn.init.zeros_(self.bias.weight)
        self.eps = eps

    def score(self, users, items, context=None, context_mask=None, **inputs):
        context, _ = _context(context, context_mask, self.n_items)
        head = self.item(context[:, -1]) + self.t + self.user_t(users)  # (B, d)
        diff = head[:, None, :] - self.item(items)  # (B, C, d)
        return self.bias(items).squeeze(-1) - (diff.pow(2).sum(-1) + self.eps).sqrt()

    def regularization(self, users, items, **inputs):
        return self.user_t(users).pow(2).sum() / users.shape[0]

    def post_step(self):
        clip_to_unit_ball_(self.item.weight)  # unit ball, as in TransRec
