"""QUALE, QUASE, QUALSE and QABPR: long- and short-term user encodings in quaternion space
(dissertation Ch. 5.3.3, Eq. 5.29-5.41), with their real-valued counterparts.

* :class:`QUALE` (Eq. 5.29-5.32): a personalised quaternion self-attention over the user's
  l long-term items: logits = p_k (x) q_u / sqrt(d) (Hamilton product with the user's
  context quaternion), a component-wise softmax over the l items, u_long = sum_k
  alpha_k x p_k, score = Average(ComponentDot(u_long, p_j)).
* :class:`QUASE` (Eq. 5.33-5.36): a quaternion LSTM (or GRU, ``cell="gru"``) over the s
  most recent items, a global-context quaternion attention over its hidden states,
  u_short = tanh(W (x) sum_t alpha_t x h_t), the same output.
* :class:`QUALSE` (Eq. 5.37): both encoders (separate item memories) fused by a
  personalised quaternion gate gamma = sigma(W1 (x) [u_long, u_short] + W2 (x) u_i +
  W3 (x) p_j) and o = w1 . [gamma x u_long x p_long_j] + w2 . [(1 - gamma) x u_short x
  p_short_j].
* :class:`QABPR` (Eq. 5.39-5.41): the fast-gradient quaternion perturbation of the user and
  item embeddings, an adversary for :func:`recsys_book.train.fit` (``adversary=``). A
  model trained with it is AQUALE / AQUASE / AQUALSE.
* Real counterparts with the same architecture (Table 5.6's pairs): :class:`AASVD`
  (QUALE), :class:`ALSTM` / :class:`AGRU` (QUASE) and :class:`ALSTMAASVD` (QUALSE): the
  Hamilton products become real products, quaternion layers real ``nn.Linear`` layers.

Inputs: ``score(users (B,), items (B, C), context (B, s), context_mask (B, s),
long_context (B, l), long_context_mask (B, l))`` built by
:func:`recsys_book.data.splits.add_long_short_context` (padding index n_items, left
padded, mask True on real items). Padded slots get exactly zero attention. Models ignore
the inputs they do not use. Trained with BPR (``loss = "bpr"``; Eq. 5.38).

Readings we took (the paper is the only specification; no code is public):

* **Attention scores are quaternion numbers** (four per item, "alpha_k in H"): the
  logit of component c of item k is the sum over the d/4 positions of component c of
  p_k (x) q / sqrt(d); the component-wise softmax runs over items, separately for r, a,
  b, c; alpha_k x p_k scales component c of p_k by alpha_k's component c. So the four
  components are four attention heads (Sec. 5.3.5, "four values w.r.t four Quaternion
  components"). The real counterparts have one head: softmax_k(p_k . q / sqrt(d)).
* d is the whole embedding size (d = |r| + |a| + |b| + |c|), also in 1/sqrt(d).
* **L(u) and S(u) are disjoint**: S(u) = the s = 5 items just before the target, L(u) =
  the l items before those ("L(u_i) U S(u_i) = T(u_i)"); contexts include earlier
  held-out items of the same user (the user consumed them before the target; the
  global temporal protocol scores each held-out interaction as one row).
* Padded steps of the recurrent encoder (users with fewer than s items) leave the state
  unchanged (the paper pads with zeros; we skip them so that padding is not an input),
  and their hidden states are masked out of the attention. A row with no item at all
  gets u = 0 from that encoder (tanh(W (x) 0) = 0 without a bias in Eq. 5.35).
* Eq. (5.35) and the gate's W_g have no bias, as written. The gate's u_i and p_j are their
  own embedding tables ("an additional user context ... and a target item context
  quaternion embedding"); every encoder has its own item memory ("hold separated item
  memory"). The real-valued weight vectors w1, w2 of Eq. (5.37) start at 1 (``w_init``).
* QUALSE is trained end to end from scratch (the paper mentions no pre-training).
* QABPR (Eq. 5.40) normalises the gradient **per embedding row** (each user's or item's
  quaternion embedding moves by exactly eps), as this project's APR does; the noise is
  added component-wise (Eq. 5.25), i.e. as a real tensor; every embedding table of the
  model is perturbed (users' contexts, item memories, the gate's embeddings); delta is
  recomputed every batch and no gradient flows through it; lambda_delta of Eq. (5.39)
  plays no role under the fast gradient method (it only scales the maximised term).
  QABPR is meant to start from a BPR-trained model (Eq. 5.39: E* and Theta* are
  "pre-learned" with Eq. 5.38): the experiment and the chapter train with BPR first, then
  continue with ``adversary=QABPR(eps)`` (:class:`recsys_book.adversarial.QABPR`: a training
  method, beside APR); from a random start eps = 0.5 is as large as a
  whole embedding row and the model does not learn.
* Average(ComponentDot(u, p)) (Eq. 5.32, 5.36) is (u . p) / 4: a fixed temperature of 1/4
  on the BPR logits that the real counterparts do not have. With QUASE's tanh-bounded u it
  slows learning (on planted data, HR@10 of the successor rows after 15 epochs: 0.39 with
  the 1/4, 0.68 without); the paper's output is the default, ``out_scale=1`` removes the
  1/4 (QUALE, QUASE: the ablation of ``reproduce qualse``). QUALSE's output has no fixed
  scale: its learned w1, w2 (Eq. 5.37) start at 1, as do its real counterpart's.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from recsys_book.models import quaternion as Q
from recsys_book.models.base import Recommender
from recsys_book.nn import lookup, masked_softmax
from recsys_book.utils import ids_trusted


def _check_inputs(ctx, mask, n_items: int, name: str):
    if ctx is None or mask is None:
        raise ValueError(
            f"this model needs {name} and {name}_mask inputs; build them with "
            "recsys_book.data.splits.add_long_short_context(split)"
        )
    if ctx.shape != mask.shape or ctx.dim() != 2:
        raise ValueError(
            f"{name} {tuple(ctx.shape)} and its mask {tuple(mask.shape)} must be (B, L)"
        )
    # the ids' range costs two host reads: checked once by fit/evaluate (trusted_ids), not per step
    if ctx.numel() and not ids_trusted() and (int(ctx.min()) < 0 or int(ctx.max()) > n_items):
        raise ValueError(f"{name} holds ids outside 0..{n_items} (n_items is the padding index)")


def _expand_heads(alpha: torch.Tensor, d: int) -> torch.Tensor:
    """(..., 4) quaternion scores -> (..., d): component c's score on its d/4 coordinates."""
    return alpha.repeat_interleave(d // 4, dim=-1)


class _Base(Recommender):
    loss = "bpr"
    quaternion = True

    def __init__(self, n_users: int, n_items: int, dim: int, out_scale: float | None = None):
        super().__init__(n_users, n_items)
        if dim % 4 or dim < 4:
            raise ValueError(f"dim must be a positive multiple of 4 (four components), got {dim}")
        if out_scale is not None and not out_scale > 0:
            raise ValueError(f"out_scale must be a positive number (None: the paper's output), got {out_scale}")
        self.dim = dim
        # Average(ComponentDot) = dot / 4 in quaternion space (Eq. 5.32, 5.36); 1 in real space
        self.out_scale = float(out_scale) if out_scale is not None else (0.25 if self.quaternion else 1.0)

    def _emb(self, n: int, pad: bool = False) -> nn.Embedding:
        e = nn.Embedding(n + int(pad), self.dim, padding_idx=n if pad else None)
        nn.init.normal_(e.weight, std=0.1)
        if pad:
            with torch.no_grad():
                e.weight[n].zero_()
        return e

    def _attend(self, keys: torch.Tensor, ctx_q: torch.Tensor, mask: torch.Tensor):
        """keys (B, L, d), ctx_q (B, d) or (d,), mask (B, L) -> (u (B, d), alpha (B, L, H)).

        Quaternion (H = 4): logits (B, L, 4) = component sums of keys (x) ctx_q / sqrt(d)
        (Eq. 5.30, 5.34), alpha = component-wise softmax over L, u = sum_k alpha_k x key_k
        (Eq. 5.31). The Hamilton product is linear in the key, k (x) q = R(q) k, so the
        logits are one batched product keys @ V(q) with V (B, d, 4) built from q (the same
        numbers as :meth:`_attend_reference`, without a (B, L, d) temporary per term).
        Real (H = 1): logits = keys . q / sqrt(d)."""
        d = self.dim
        B, L, _ = keys.shape
        q = ctx_q.expand(B, d)
        if self.quaternion:
            logits = torch.bmm(keys, self._component_sums(q)) / math.sqrt(d)  # (B, L, 4)
            alpha = masked_softmax(logits, mask[..., None], dim=1)  # (B, L, 4)
            # u_c = sum_l alpha_lc key_lc: every head over every component in one matmul
            # (B, 4, L) @ (B, L, d), then head c's block of component c (no permuted copy
            # of the keys, forward or backward; 12 of the 16 blocks are thrown away, cheaply)
            M = torch.bmm(alpha.transpose(1, 2), keys)  # (B, 4 heads, d)
            u = M.view(B, 4, 4, d // 4).diagonal(dim1=1, dim2=2)  # (B, d/4, 4 components)
            return u.transpose(1, 2).reshape(B, d), alpha  # (B, d)
        logits = torch.bmm(keys, q[:, :, None])[..., 0] / math.sqrt(d)  # (B, L)
        alpha = masked_softmax(logits, mask, dim=1)  # (B, L)
        return torch.bmm(alpha[:, None, :], keys)[:, 0], alpha[..., None]

    @staticmethod
    def _component_sums(q: torch.Tensor) -> torch.Tensor:
        """V(q) (B, d, 4) with key @ V(q) = the component sums of key (x) q (B, 4): the
        Hamilton product is linear in the key, k (x) q = R(q) k. q (B, d)."""
        B, d = q.shape
        basis = torch.eye(4, dtype=q.dtype, device=q.device).repeat_interleave(d // 4, 1)
        # P[:, c'] = e_c' (x) q: its component-c block at position n is R_{c c'}(q_n)
        P = Q.hamilton(basis[None, :, :], q[:, None, :])  # (B, 4 c', d)
        return P.unflatten(-1, (4, d // 4)).permute(0, 1, 3, 2).reshape(B, d, 4)

    def _attend_reference(self, keys, ctx_q, mask):
        """Eq. (5.30)-(5.31) written literally (a (B, L, d) Hamilton product); for tests."""
        d = self.dim
        q = ctx_q.expand(keys.shape[0], d)
        if not self.quaternion:
            logits = (keys * q[:, None, :]).sum(-1) / math.sqrt(d)
            alpha = masked_softmax(logits, mask, dim=1)[..., None]
            return (alpha * keys).sum(1), alpha
        prod = Q.hamilton(keys, q[:, None, :])  # (B, L, d)
        logits = prod.unflatten(-1, (4, d // 4)).sum(-1) / math.sqrt(d)  # (B, L, 4)
        alpha = masked_softmax(logits, mask[..., None], dim=1)
        return (_expand_heads(alpha, d) * keys).sum(1), alpha

    def _out(self, u: torch.Tensor, items_emb: torch.Tensor) -> torch.Tensor:
        """Eq. (5.32)/(5.36): (u . p_j) * out_scale; by default Average(ComponentDot(u, p_j))
        = (u . p_j) / 4 (quaternion) or the dot product (real). u (B, d), items_emb (B, C, d)
        -> (B, C)."""
        s = (u[:, None, :] * items_emb).sum(-1)
        return s * self.out_scale  # exact: 1 and 1/4 are powers of two


class _LongEncoder(nn.Module):
    """QUALE's / AASVD's encoder: user context table, item memory, attention (Eq. 5.29-5.31)."""

    def __init__(self, owner: _Base):
        super().__init__()
        self.user_ctx = owner._emb(owner.n_users)  # q_i^(long), (m, d)
        self.items = owner._emb(owner.n_items, pad=True)  # P^(long), (n + 1, d)


class _ShortEncoder(nn.Module):
    """QUASE's / ALSTM's encoder: item memory, recurrent cell, global context, W (Eq. 5.33-5.35)."""

    def __init__(self, owner: _Base, cell: str):
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
        d = owner.dim
        self.cell_kind = cell
        self.items = owner._emb(owner.n_items, pad=True)  # P^(short), (n + 1, d)
        real = not owner.quaternion
        self.cell = (Q.QLSTMCell if cell == "lstm" else Q.QGRUCell)(d, d, real=real)
        self.w = nn.Linear(d, d, bias=False) if real else Q.QLinear(d, d, bias=False)
        self.context = nn.Parameter(torch.randn(d) * 0.1)  # global context q


def _encode_long(model: _Base, enc: _LongEncoder, users, long_context, long_context_mask):
    _check_inputs(long_context, long_context_mask, model.n_items, "long_context")
    keys = lookup(enc.items, long_context)  # (B, l, d)
    return model._attend(keys, lookup(enc.user_ctx, users), long_context_mask)


def _encode_short(model: _Base, enc: _ShortEncoder, context, context_mask):
    _check_inputs(context, context_mask, model.n_items, "context")
    x = lookup(enc.items, context)  # (B, s, d)
    B, s, d = x.shape
    weights = enc.cell.weights()  # built once for the s steps
    # input projections of all s steps at once, cut by unbind (one gradient stack, not s
    # zero-filled (B, s, gates * d) gradients, as xw[:, t] would give)
    xw = enc.cell.project(x, weights).unbind(1)  # s x (B, gates * d)
    masks = context_mask[:, :, None].unbind(1)  # s x (B, 1)
    h = x.new_zeros(B, d)
    c = x.new_zeros(B, d)
    hs = []
    for t in range(s):  # Eq. (5.33), padded steps keep the state
        if enc.cell_kind == "lstm":
            h_new, c_new = enc.cell.step(xw[t], (h, c), weights)
            c = torch.where(masks[t], c_new, c)
        else:
            h_new = enc.cell.step(xw[t], h, weights)
        h = torch.where(masks[t], h_new, h)
        hs.append(h)
    H = torch.stack(hs, 1)  # (B, s, d)
    pooled, alpha = model._attend(H, enc.context, context_mask)  # Eq. (5.34)
    return torch.tanh(enc.w(pooled)), alpha  # Eq. (5.35): (B, d)


class QUALE(_Base):
    """QUaternion-based self-Attentive Long term user Encoding (Eq. 5.29-5.32)."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, out_scale: float | None = None):
        super().__init__(n_users, n_items, dim, out_scale)
        self.long = _LongEncoder(self)

    def encode(self, users, long_context=None, long_context_mask=None, **_):
        """(u_long (B, d), attention (B, l, 4 heads; 1 for the real model))."""
        return _encode_long(self, self.long, users, long_context, long_context_mask)

    def score(self, users, items, **inputs):
        u, _ = self.encode(users, **inputs)
        return self._out(u, lookup(self.long.items, items))  # Eq. (5.32)


class AASVD(QUALE):
    """Attentive asymmetric SVD: QUALE's architecture in real space (one attention head)."""

    quaternion = False


class QUASE(_Base):
    """QUaternion-based self-Attentive Short term user Encoding (Eq. 5.33-5.36);
    ``cell="gru"`` is the paper's quaternion self-attentive GRU variant."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, cell: str = "lstm", out_scale: float | None = None):
        super().__init__(n_users, n_items, dim, out_scale)
        self.short = _ShortEncoder(self, cell)

    def encode(self, users, context=None, context_mask=None, **_):
        """(u_short (B, d), attention over the s hidden states (B, s, heads))."""
        return _encode_short(self, self.short, context, context_mask)

    def score(self, users, items, **inputs):
        u, _ = self.encode(users, **inputs)
        return self._out(u, lookup(self.short.items, items))  # Eq. (5.36)


class ALSTM(QUASE):
    """Attentive LSTM: QUASE's architecture in real space (``cell="gru"``: AGRU)."""

    quaternion = False


class AGRU(ALSTM):
    """Attentive GRU: ALSTM with a GRU cell."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, out_scale: float | None = None):
        super().__init__(n_users, n_items, dim, cell="gru", out_scale=out_scale)


class QUALSE(_Base):
    """QUaternion-based self-Attentive Long Short term user Encoding (Eq. 5.37): QUALE and
    QUASE with separate item memories fused by a personalised quaternion gate."""

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int = 64,
        cell: str = "lstm",
        w_init: float = 1.0,
        chunk: int = 2**22,
    ):
        super().__init__(n_users, n_items, dim)
        d = dim
        self.long = _LongEncoder(self)
        self.short = _ShortEncoder(self, cell)
        self.gate_users = self._emb(n_users)  # u_i of Eq. (5.37)
        self.gate_items = self._emb(n_items)  # p_j of Eq. (5.37)
        lin = Q.QLinear if self.quaternion else nn.Linear
        self.w_g1 = lin(2 * d, d, bias=False)
        self.w_g2 = lin(d, d, bias=False)
        self.w_g3 = lin(d, d, bias=False)
        self.w_o1 = nn.Parameter(torch.full((d,), float(w_init)))
        self.w_o2 = nn.Parameter(torch.full((d,), float(w_init)))
        self.chunk = int(chunk)  # max B * C * d elements per gate tensor (memory)

    def _cat(self, a, b):
        return Q.cw_cat(a, b) if self.quaternion else torch.cat([a, b], -1)

    def encode(self, users, **inputs):
        """(u_long (B, d), u_short (B, d), long attention, short attention)."""
        ul, al = _encode_long(
            self, self.long, users, inputs.get("long_context"), inputs.get("long_context_mask")
        )
        us, as_ = _encode_short(self, self.short, inputs.get("context"), inputs.get("context_mask"))
        return ul, us, al, as_

    def gate(self, users, items, ul=None, us=None, **inputs) -> torch.Tensor:
        """gamma^(long) (B, C, d) in [0, 1] (Eq. 5.37, first line)."""
        if ul is None or us is None:
            ul, us, _, _ = self.encode(users, **inputs)
        base = self.w_g1(self._cat(ul, us)) + self.w_g2(lookup(self.gate_users, users))  # (B, d)
        item_part = self.w_g3(self.gate_items.weight)  # (n, d): W3 (x) p_j for every item
        return torch.sigmoid(base[:, None, :] + item_part[items])  # (B, C, d)

    def score(self, users, items, **inputs):
        ul, us, _, _ = self.encode(users, **inputs)
        B, C = items.shape
        step = max(1, self.chunk // max(1, B * self.dim))
        out = []
        for s in range(0, C, step):
            it = items[:, s : s + step]
            g = self.gate(users, it, ul=ul, us=us)  # (B, c, d)
            long_part = ul[:, None, :] * lookup(self.long.items, it)  # u_long x p_long_j
            short_part = us[:, None, :] * lookup(self.short.items, it)  # u_short x p_short_j
            out.append((g * long_part) @ self.w_o1 + ((1 - g) * short_part) @ self.w_o2)
        return torch.cat(out, 1)  # (B, C)


class ALSTMAASVD(QUALSE):
    """ALSTM+AASVD: QUALSE's architecture (gate included) in real space."""

    quaternion = False


MODELS = {
    "QUALE": QUALE,
    "QUASE": QUASE,
    "QUASE-GRU": lambda n_users, n_items, **kw: QUASE(n_users, n_items, cell="gru", **kw),
    "QUALSE": QUALSE,
    "AASVD": AASVD,
    "ALSTM": ALSTM,
    "AGRU": AGRU,
    "ALSTM+AASVD": ALSTMAASVD,
}
