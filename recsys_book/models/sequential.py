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

* :class:`Caser` (Tang and Wang, WSDM 2018): convolutions over the (L x d) "image" of the
  L most recent items' embeddings, horizontal filters of every height 1..L (max-pooled over
  time: union-level patterns) and vertical filters (weighted sums of the L rows: point-level
  patterns), a fully connected layer, then an inner product with item output embeddings.

PRME, PRME_s and TransRec scores are negated distances (higher = preferred); a row without
a previous item (a user's first interaction) uses the padding row as a learned "start"
item. Caser's padded context rows are zero (an empty context is an all-zero image).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from recsys_book.models.base import Recommender
from recsys_book.nn import check_context, clip_to_unit_ball_, lookup


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
        prev = lookup(self.item_s, context[:, -1])  # (B, d)
        return (lookup(self.item_s, items) - prev[:, None, :]).pow(2).sum(-1)

    def score(self, users, items, context=None, context_mask=None, **inputs):
        context, mask = _context(context, context_mask, self.n_items)
        pref = (lookup(self.item_p, items) - lookup(self.user_p, users)[:, None, :]).pow(2).sum(-1)  # (B, C)
        return -(self.alpha * pref + (1 - self.alpha) * self._transition(items, context, mask))


class PRMEs(PRME):
    """PRME_s: the transition term averaged over all s context items (SDMR paper, Sec. 5.2)."""

    def _transition(self, items, context, mask) -> torch.Tensor:
        sj = lookup(self.item_s, items)  # (B, C, d)
        sk = lookup(self.item_s, context)  # (B, s, d)
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
        head = lookup(self.item, context[:, -1]) + self.t + lookup(self.user_t, users)  # (B, d)
        diff = head[:, None, :] - lookup(self.item, items)  # (B, C, d)
        return lookup(self.bias, items).squeeze(-1) - (diff.pow(2).sum(-1) + self.eps).sqrt()

    def regularization(self, users, items, **inputs):
        return lookup(self.user_t, users).pow(2).sum() / users.shape[0]

    def post_step(self):
        clip_to_unit_ball_(self.item.weight)  # unit ball, as in TransRec


class Caser(Recommender):
    """Convolutional Sequence Embedding Recommendation (Tang and Wang, WSDM 2018, Sec. 3).

    E = [e_k1; ...; e_kL]  (B, L, d): the L = s most recent items (padding rows are zero)
    o_h = [max_t relu(conv_h(E))]_{h = 1..L}  (B, n_h L): n_h horizontal filters of each
          height h, width d, max-pooled over the L - h + 1 positions (Eq. 2-4)
    o_v = conv_v(E)  (B, n_v d): n_v vertical filters (L x 1), a learned weighted sum of
          the L rows (Eq. 5-6, no activation, as in the paper)
    z = relu(W [o_v; o_h] + b)  (B, d), dropout on [o_v; o_h] while training (Eq. 7)
    score(u, j) = w'_j . [z; p_u] + b'_j  (Eq. 8)

    The paper's defaults: d = 50, n_v = 4, n_h = 16, dropout 0.5, L = 5; initialisation as
    the authors' code (embeddings and output weights N(0, 1/d), output biases 0). The paper
    trains with a sigmoid cross-entropy on sampled negatives; the SDMR comparison, and this
    course, train every Table 3 model with BPR.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 50,
        L: int = 5,
        n_v: int = 4,
        n_h: int = 16,
        dropout: float = 0.5,
    ):
        super().__init__(n_users, n_items)
        if L < 1 or n_v < 1 or n_h < 1:
            raise ValueError(f"L, n_v and n_h must be >= 1, got L={L}, n_v={n_v}, n_h={n_h}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dim, self.L, self.n_v, self.n_h = dim, int(L), int(n_v), int(n_h)
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items + 1, dim, padding_idx=n_items)  # row n_items = 0
        self.conv_v = nn.Conv2d(1, n_v, (L, 1))
        self.conv_h = nn.ModuleList(nn.Conv2d(1, n_h, (h, dim)) for h in range(1, L + 1))
        self.fc = nn.Linear(n_v * dim + n_h * L, dim)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Embedding(n_items, 2 * dim)  # w'_j over [z; p_u]
        self.out_bias = nn.Embedding(n_items, 1)  # b'_j
        for e in (self.user, self.item):
            nn.init.normal_(e.weight, std=1.0 / dim)
        nn.init.normal_(self.out.weight, std=1.0 / (2 * dim))
        nn.init.zeros_(self.out_bias.weight)
        with torch.no_grad():
            self.item.weight[n_items].zero_()

    def represent(self, users, context=None, context_mask=None) -> torch.Tensor:
        """[z; p_u] (B, 2d): the row's sequence embedding and the user embedding."""
        context, _ = _context(context, context_mask, self.n_items, "Caser")
        if context.shape[1] != self.L:
            raise ValueError(
                f"Caser was built for L={self.L} context items but got {context.shape[1]}: "
                f"build the split with add_recent_context(split, {self.L}), or Caser(..., "
                f"L={context.shape[1]})."
            )
        E = lookup(self.item, context)  # (B, L, d)
        B, L, d = E.shape
        # the convolutions as matrix products with the Conv2d modules' weights (on CPU,
        # conv2d's backward for these thin filters took most of a training step)
        o_v = torch.matmul(self.conv_v.weight.view(self.n_v, L), E)  # (B, n_v, d)
        o_v = (o_v + self.conv_v.bias[:, None]).flatten(1)  # (B, n_v d)
        o_h = []
        for h, conv in enumerate(self.conv_h, start=1):
            win = E.unfold(1, h, 1).transpose(2, 3).reshape(B, L - h + 1, h * d)  # windows
            c = F.linear(win, conv.weight.view(self.n_h, h * d), conv.bias)  # (B, L-h+1, n_h)
            o_h.append(F.relu(c).amax(1))  # max-pooled over time: (B, n_h)
        o_h = torch.cat(o_h, 1)  # (B, n_h L)
        z = F.relu(self.fc(self.drop(torch.cat([o_v, o_h], 1))))  # (B, d)
        return torch.cat([z, lookup(self.user, users)], 1)

    def score(self, users, items, context=None, context_mask=None, **inputs):
        r = self.represent(users, context, context_mask)  # (B, 2d)
        return (lookup(self.out, items) * r[:, None, :]).sum(-1) + lookup(self.out_bias, items).squeeze(-1)

    def score_all(self, users, context=None, context_mask=None, **inputs):
        r = self.represent(users, context, context_mask)
        return r @ self.out.weight.T + self.out_bias.weight.T  # (B, n_items)
