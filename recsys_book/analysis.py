"""What a trained model's attention learned: PMI against attention (SDMR Fig. 5,
dissertation Figs. 4.13 and 5.13).

PMI(j, t) = log P(j, t) / (P(j) P(t)) over the training groups (users, or playlists): how
much more often items j and t are held by the same group than chance would give. A model
whose attention follows co-occurrence gives the context items t that co-occur with the
target j the larger weights: the Pearson correlation between attention a_jt and PMI(j, t)
(raw, SDMR Fig. 5) or its softmax over the context (dissertation Figs. 4.13, 5.13), over all
real (row, context item) pairs, measures it.
"""

from __future__ import annotations

import pandas as pd
import torch

from recsys_book.nn import masked_softmax


def pmi_matrix(
    df: pd.DataFrame, n_items: int, group: str = "user", smoothing: float = 0.0, n_groups: int | None = None
) -> torch.Tensor:
    """(n_items, n_items) PMI from the training rows ``df`` (columns ``group``, ids 0..n-1,
    and ``item``), over ``n_groups`` groups (default: the largest id + 1).

    P(j, t): the share of groups holding both items, P(j): holding j. ``smoothing`` is added
    to every co-occurrence count: 0 leaves -inf on pairs never held together (drop them),
    > 0 gives them a finite, low PMI."""
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    g = torch.tensor(df[group].to_numpy(), dtype=torch.long)
    n = int(n_groups) if n_groups is not None else int(g.max()) + 1
    x = torch.zeros(n, n_items)
    x[g, torch.tensor(df["item"].to_numpy(), dtype=torch.long)] = 1.0
    co = x.T @ x + smoothing  # (n_items, n_items)
    deg = x.sum(0).clamp_min(max(smoothing, 1e-12))
    return torch.log(co * n) - torch.log(deg[:, None] * deg[None, :])


def attention_pmi_pairs(
    attention: torch.Tensor,
    targets: torch.Tensor,
    context: torch.Tensor,
    mask: torch.Tensor,
    pmi: torch.Tensor,
    softmax: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (PMI, attention) value of every real (row, context item) pair with a finite PMI,
    as two float64 vectors: ``attention`` (n, L) over the context items ``context`` (n, L)
    (``mask`` True on real ones) against PMI(target, context item); ``softmax``: against the
    softmax of the PMI over each row's real context items (the dissertation's "PMI
    attention") instead of the raw PMI."""
    if attention.shape != context.shape or mask.shape != context.shape:
        raise ValueError(f"attention {tuple(attention.shape)}, context {tuple(context.shape)} and mask "
                         f"{tuple(mask.shape)} must all be (n, L)")  # fmt: skip
    ctx = context.clamp_max(pmi.shape[0] - 1)  # padding ids read a real row; masked out below
    p = pmi[targets.long()[:, None], ctx]  # (n, L)
    if softmax:
        p = masked_softmax(p[:, None, :], mask)[:, 0, :]
    keep = mask & torch.isfinite(p)
    return p[keep].double(), attention.detach().cpu()[keep].double()


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson r of two vectors (at least 3 values)."""
    if x.numel() < 3:
        raise ValueError("fewer than 3 (row, context item) pairs with a finite PMI: nothing to correlate")
    return float(torch.corrcoef(torch.stack([x, y]))[0, 1])


def attention_pmi_correlation(
    attention: torch.Tensor,
    targets: torch.Tensor,
    context: torch.Tensor,
    mask: torch.Tensor,
    pmi: torch.Tensor,
    softmax: bool = False,
) -> float:
    """Pearson r over :func:`attention_pmi_pairs` (same arguments)."""
    return pearson(*attention_pmi_pairs(attention, targets, context, mask, pmi, softmax))
