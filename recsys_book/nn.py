"""Small neural pieces shared by several models, written once.

* :func:`lookup`: rows of an embedding table, with the faster backward on the CPU.
* :func:`masked_softmax`: softmax over real slots only (memories, playlists, contexts).
* :func:`clip_to_unit_ball_`: project embedding rows back into the unit ball (CML, TransRec,
  LRML keep their embeddings there after every optimiser step).
* :func:`check_context`: the one validator of ``context`` / ``context_mask`` inputs.
* :func:`diag_mahalanobis_sq` and :func:`pairwise_diag_mahalanobis_sq`: the squared
  *diagonal* Mahalanobis distance ||b * (x - y)||^2 (MDR, MASS). The *generalised*
  Mahalanobis distance with a full PSD matrix of CoRML is
  :func:`recsys_book.models.corml.full_mahalanobis_sq`: another function, another name.
"""

from __future__ import annotations

import torch
from torch import nn


class _PaddedRows(torch.autograd.Function):
    """``weight.index_select(0, ids)`` whose gradient leaves row ``padding_idx`` at zero, as
    ``nn.Embedding(padding_idx=...)``'s does."""

    @staticmethod
    def forward(ctx, weight, ids, padding_idx: int):
        ctx.save_for_backward(ids)
        ctx.rows, ctx.padding_idx = weight.shape[0], padding_idx
        return weight.index_select(0, ids)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (ids,) = ctx.saved_tensors
        out = grad.new_zeros(ctx.rows, grad.shape[1]).index_add_(0, ids, grad)
        out[ctx.padding_idx] = 0
        return out, None, None


def lookup(table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
    """``table(ids)``: the rows of ``table.weight`` at ``ids``, shape ``ids.shape + (dim,)``.

    The same values and, bit for bit, the same gradient as calling the module (the padding
    row's included: it gets none), but on the CPU through ``index_select``, whose backward
    (``index_add_`` into a zero table) costs about half of ``nn.Embedding``'s
    (``embedding_dense_backward``) at the course's batch sizes (``benchmarks/bench_train.py``
    prints both). On other devices, and for a table with ``max_norm``, ``scale_grad_by_freq``
    or sparse gradients (whose forward or backward differ), the module itself: CUDA's
    embedding backward is the deterministic one there."""
    w = table.weight
    if w.device.type != "cpu" or table.max_norm is not None or table.scale_grad_by_freq or table.sparse:
        return table(ids)
    flat = ids.reshape(-1)
    if table.padding_idx is None:
        rows = w.index_select(0, flat)
    else:
        rows = _PaddedRows.apply(w, flat, table.padding_idx % w.shape[0])
    return rows if ids.dim() == 1 else rows.view(*ids.shape, w.shape[1])


def masked_softmax(logits: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax over ``dim`` where ``mask`` is True; masked entries get exactly 0.

    ``mask`` broadcasts against ``logits``; when it has one axis fewer it is read as
    (B, L) against logits (B, C, L) (one mask per row, shared by its candidates). A slice
    with no real entry gets all zeros, not NaN, and no gradient flows through padding."""
    if mask.dim() == logits.dim() - 1:
        mask = mask.unsqueeze(1)
    mask = mask.bool().expand_as(logits)
    any_real = mask.any(dim, keepdim=True)
    z = logits.masked_fill(~mask, float("-inf")).masked_fill(~any_real, 0.0)
    return torch.softmax(z, dim=dim) * mask


@torch.no_grad()
def clip_to_unit_ball_(weight: torch.Tensor, max_norm: float = 1.0) -> torch.Tensor:
    """In place: rows of ``weight`` (n, d) longer than ``max_norm`` are scaled back onto the
    ball of radius ``max_norm``; shorter rows are left alone. Returns ``weight``."""
    norm = weight.norm(dim=-1, keepdim=True).clamp(min=max_norm)
    return weight.mul_(max_norm / norm)


def check_context(
    context: torch.Tensor | None,
    context_mask: torch.Tensor | None,
    n_items: int,
    model: str = "this model",
    hint: str = "build them with add_recent_context(split, s) or basket_split(...)",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate per-row context items and return ``(context, mask)``.

    context (B, s) item ids padded with ``n_items``; context_mask (B, s) True for real items
    (derived from the padding when omitted). Padded slots are set to ``n_items`` in the
    returned context, so a model never reads a real item's row for padding."""
    if context is None:
        raise ValueError(
            f"{model} needs the context items of each row: pass context=(B, s) and "
            f"context_mask=(B, s) ({hint})."
        )
    if context.dim() != 2:
        raise ValueError(f"{model}: context must be (B, s), got shape {tuple(context.shape)}")
    if context_mask is None:
        context_mask = context != n_items
    if context_mask.shape != context.shape:
        raise ValueError(
            f"{model}: context_mask {tuple(context_mask.shape)} must match context "
            f"{tuple(context.shape)}"
        )
    mask = context_mask.bool()
    return context.masked_fill(~mask, n_items), mask


def check_context_ids(inputs: dict, n_items: int, what: str) -> None:
    """The item ids of every ``*context`` input lie in 0..n_items (``n_items`` pads). ``fit``
    and ``evaluate`` call it once, before their steps run under ``trusted_ids()`` (a range
    check per step would cost two host reads each)."""
    for k, v in inputs.items():
        if k.endswith("context") and v.numel() and not v.is_floating_point() and (
            int(v.min()) < 0 or int(v.max()) > n_items
        ):
            raise ValueError(
                f"{what} input {k!r} holds item ids outside 0..{n_items} (n_items is the padding "
                "id): build the contexts from this split (add_recent_context / add_long_short_context)."
            )


def diag_mahalanobis_sq(x: torch.Tensor, y: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared diagonal Mahalanobis distance ||b * (x - y)||^2 over the last axis
    (dissertation Eq. 4.12). x, y broadcastable (..., d); b (d,). b = 1: squared Euclidean."""
    e = b * (x - y)
    return (e * e).sum(-1)


class _PairwiseDiagMahalanobisSq(torch.autograd.Function):
    """Eq. 4.24 for all (query, member) pairs with a hand-written backward: autograd of the
    three-term expansion keeps about ten (B, L, d) temporaries per call (the products, their
    gradients, the two gradient paths of s added up); this backward makes three.

    With D = sum_d w (q - s)^2, w = b^2 and g = dLoss/dD (zero where the clamp held):
    dq = 2 w (q sum_l g - g s),  ds = 2 w (s sum_c g - g^T q),
    dw = sum_c (sum_l g) q^2 + sum_l (sum_c g) s^2 - 2 sum_c q (g s),  db = 2 b dw."""

    @staticmethod
    def forward(ctx, q, s, b):
        # one dtype for the three (under autocast a query may come in half precision): the
        # distances are computed and returned in it, the gradients go back in each input's
        ctx.dtypes = (q.dtype, s.dtype, b.dtype)
        dt = torch.promote_types(torch.promote_types(q.dtype, s.dtype), b.dtype)
        q, s, b = q.to(dt), s.to(dt), b.to(dt)
        with torch.autocast(q.device.type, enabled=False):
            return _PairwiseDiagMahalanobisSq._forward(ctx, q, s, b)

    @staticmethod
    def _forward(ctx, q, s, b):
        w = b * b  # (d,)
        qw = q * w  # (B, C, d)
        qq = (qw * q).sum(-1)  # (B, C)
        ss = (s * s) @ w  # (B, L)
        # qq + ss - 2 q w s^T in one batched matmul-add: (B, C, L)
        pre = torch.baddbmm(qq[:, :, None] + ss[:, None, :], qw, s.transpose(1, 2), alpha=-2.0)
        keep = pre >= 0  # clamp_min's gradient mask (rounding can make a distance negative)
        ctx.save_for_backward(q, s, b, keep)
        return pre.clamp_min_(0.0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        with torch.autocast(grad.device.type, enabled=False):
            return _PairwiseDiagMahalanobisSq._backward(ctx, grad)

    @staticmethod
    def _backward(ctx, grad):
        q, s, b, keep = ctx.saved_tensors
        g = grad.to(q.dtype) * keep  # (B, C, L)
        w2 = 2.0 * (b * b)  # (d,)
        gq_sum = g.sum(2, keepdim=True)  # (B, C, 1)
        gs_sum = g.sum(1)[:, :, None]  # (B, L, 1)
        need_q, need_s, need_b = ctx.needs_input_grad
        gs = torch.bmm(g, s) if need_q or need_b else None  # (B, C, d)
        dq = ds = db = None
        if need_q:
            dq = ((q * gq_sum - gs) * w2).to(ctx.dtypes[0])
        if need_s or need_b:
            t = s * gs_sum  # (B, L, d): the only large temporaries are this and g^T q
            if need_b:
                s_term = (t * s).sum((0, 1))  # sum_l (sum_c g) s^2 per d
                dw = (q * q * gq_sum).sum((0, 1)) + s_term - 2.0 * (q * gs).sum((0, 1))
                db = (2.0 * b * dw).to(ctx.dtypes[2])
            if need_s:
                ds = t.sub_(torch.bmm(g.transpose(1, 2), q)).mul_(w2).to(ctx.dtypes[1])
        return dq, ds, db


def pairwise_diag_mahalanobis_sq(q: torch.Tensor, s: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All query-to-member distances without a (B, C, L, d) tensor (Eq. 4.24).

    q (B, C, d) queries, s (B, L, d) members, b (d,) -> (B, C, L):
    ||b*(q - s)||^2 = sum w q^2 + sum w s^2 - 2 sum w q s with w = b^2 (clamped at 0
    against rounding). Its backward is written by hand (:class:`_PairwiseDiagMahalanobisSq`:
    a third of autograd's (B, L, d) temporaries; MASS calls it twice per step)."""
    if q.dim() != 3 or s.dim() != 3 or b.dim() != 1:
        raise ValueError(
            f"pairwise_diag_mahalanobis_sq takes q (B, C, d), s (B, L, d) and b (d,); got shapes "
            f"{tuple(q.shape)}, {tuple(s.shape)}, {tuple(b.shape)}"
        )
    return _PairwiseDiagMahalanobisSq.apply(q, s, b)
