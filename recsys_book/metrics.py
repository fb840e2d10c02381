"""Ranking metrics, vectorised in torch.

Two entry points, both returning per-row values (average them for a table):

* :func:`sampled_metrics` for one held-out target per row ranked among candidates. Ties are
  handled honestly: the target's position among candidates with *equal* score is taken
  as uniformly random, and every metric is its exact **expected value** over that random
  tie-break (closed form, no seed). A model that scores everything equally gets
  HR@10 = 10/101 with 100 negatives, not 1.0 (which an evaluator that puts the target
  first among ties would report) and not 0.0 (which one that puts it last would).
* :func:`topk_metrics` for full ranking: given the 0/1 relevance of the top-K list and the
  number of held-out items per row. (The evaluator breaks ties at random with a seeded
  permutation of the items, then takes :func:`stable_topk`, which puts equal scores in
  column order: ``torch.topk`` leaves their order unspecified, so metric@10 could change
  with the other cut-offs asked for.)

Definitions (K = cut-off, rel_k = 1 if the k-th recommendation is held out, P = number of
held-out items of the row):
  HR@K        1 if any held-out item is in the top K
  Precision@K  (sum_k rel_k) / K
  Recall@K     (sum_k rel_k) / P
  NDCG@K       DCG / IDCG, DCG = sum_k rel_k / log2(k + 1), IDCG for min(P, K) hits
  MAP@K        (sum_k Precision@k * rel_k) / min(P, K)
  MRR@K        1 / (position of the first hit), 0 if none in the top K
  Novelty@K    CoRML Eq. (29): mean over top-K of -log2(d_i / |U|) / log2 |U|
  Coverage@K   share of the catalogue appearing in at least one top-K list
"""

from __future__ import annotations

import math

import torch

METRICS = ("hr", "precision", "recall", "ndcg", "map", "mrr")
NAMES = {
    "hr": "HR",
    "precision": "Precision",
    "recall": "Recall",
    "ndcg": "NDCG",
    "map": "MAP",
    "mrr": "MRR",
    "novelty": "Novelty",
    "coverage": "Coverage",
}


def parse_metric(name: str) -> tuple[str, int, str]:
    """'ndcg@10' -> ('ndcg', 10, 'NDCG@10'): the metric, the cut-off and the key that
    :func:`recsys_book.evaluate.evaluate` returns. The one parser of metric names (the
    training loop's ``valid_metric`` and the ALS models' ``metric`` both use it)."""
    try:
        m, k = str(name).split("@")
        m, k = m.lower(), int(k)
        if k < 1:
            raise ValueError
        return m, k, f"{NAMES[m]}@{k}"
    except (ValueError, KeyError):
        raise ValueError(
            f"a metric name must look like 'NDCG@10' or 'HR@10' (one of {sorted(NAMES)} @ K, "
            "K >= 1), "
            f"got {name!r}"
        ) from None


def target_rank_counts(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For scores (m, C) with the target in column 0: (#candidates scored strictly higher,
    #other candidates tied with the target). NaN scores are an error."""
    if torch.isnan(scores).any():
        raise ValueError("the model returned NaN scores; check its parameters / inputs.")
    t = scores[:, :1]
    others = scores[:, 1:]
    return (others > t).sum(1), (others == t).sum(1)


def sampled_metrics(greater: torch.Tensor, ties: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """Exact expected HR, Precision, Recall, NDCG, MAP, MRR at ``k`` for single-target rows.

    The target's 0-based position is ``greater + U`` with U uniform on {0..ties}.
    """
    g = greater.to(torch.float64)
    n = ties.to(torch.float64) + 1  # size of the tie group including the target
    hr = torch.zeros_like(g)
    ndcg = torch.zeros_like(g)
    mrr = torch.zeros_like(g)
    for pos in range(k):  # accumulate P(position = pos) * value(pos) for pos < k
        p = ((pos >= g) & (pos < g + n)).to(torch.float64) / n
        hr += p
        ndcg += p / math.log2(pos + 2)
        mrr += p / (pos + 1)
    return {"hr": hr, "precision": hr / k, "recall": hr, "ndcg": ndcg, "map": mrr, "mrr": mrr}


#: a prime above any catalogue size: tie keys are (column + 1) * a mod P, a bijection
TIE_PRIME = 2_147_483_647


def stable_topk(
    x: torch.Tensor, k: int, tie_mult: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, indices) of the ``k`` largest entries of each row of ``x`` (b, n), with a
    fixed order among equal values, so that the top k is always a prefix of the top k + 1
    (``torch.topk`` promises neither which tied entries it keeps nor their order, so a
    metric@10 could move when @20 was asked for as well).

    Equal values are ordered by a tie key, smallest first: the column index (then this is
    exactly ``torch.sort(x, descending=True, stable=True)[:, :k]``), or, with ``tie_mult``
    (b,) integers in [1, TIE_PRIME), ``(column + 1) * tie_mult mod TIE_PRIME``: a different
    order of the columns for each row (the evaluator draws one multiplier per row).

    Cost: one ``topk`` of k + 1 and a sort of k per row; a row where a tie straddles the
    k-th place (its (k+1)-th value equals its k-th) costs one more sort of its n keys."""
    b, n = x.shape
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of columns {n}, got {k}")
    if n >= TIE_PRIME:
        raise ValueError(f"at most {TIE_PRIME - 1} columns, got {n}")

    def keys(cols, rows):  # cols (r, m) column indices of rows ``rows`` -> tie keys
        if tie_mult is None:
            return cols
        return (cols + 1) * tie_mult[rows, None].to(cols.device, torch.long) % TIE_PRIME

    vals, idx = torch.topk(x, min(k + 1, n), dim=1)
    cut = (vals[:, k] == vals[:, k - 1]).nonzero()[:, 0] if k < n else idx[:0, 0]
    vals, idx = vals[:, :k], idx[:, :k]
    if len(cut):  # keep all above the k-th value, then the tied ones with the smallest keys
        xs, t = x[cut], vals[cut, -1:]
        above, eq = xs > t, xs == t
        need = k - above.sum(1, keepdim=True)  # >= 1
        cols = torch.arange(n, device=x.device).expand(len(cut), n)
        key = torch.where(eq, keys(cols, cut), TIE_PRIME)  # non-tied last
        last = torch.sort(key, dim=1).values.gather(1, need - 1)  # the need-th smallest key
        take = above | (eq & (key <= last))  # exactly k per row (keys are distinct)
        idx = idx.clone()
        idx[cut] = take.nonzero()[:, 1].view(len(cut), k)
        vals = x.gather(1, idx)
    rows = torch.arange(b, device=x.device)
    order = torch.sort(keys(idx, rows), dim=1).indices  # by tie key, then stably by value
    idx, vals = idx.gather(1, order), vals.gather(1, order)
    vals, order = torch.sort(vals, dim=1, descending=True, stable=True)
    return vals, idx.gather(1, order)


def topk_metrics(rel: torch.Tensor, n_pos: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """Metrics from the relevance (m, >=k) of ranked lists and held-out counts (m,)."""
    rel = rel[:, :k].to(torch.float64)
    n_pos = n_pos.to(torch.float64)
    pos = torch.arange(1, k + 1, dtype=torch.float64, device=rel.device)
    disc = 1.0 / torch.log2(pos + 1)
    hits = rel.sum(1)
    dcg = (rel * disc).sum(1)
    ideal_n = torch.clamp(n_pos, max=k).long()
    idcg = torch.cat([torch.zeros(1, dtype=torch.float64, device=rel.device), disc.cumsum(0)])[
        ideal_n
    ]
    cum_hits = rel.cumsum(1)
    ap = (cum_hits / pos * rel).sum(1) / torch.clamp(n_pos, max=k).clamp(min=1)
    first = torch.where(
        rel.any(1), rel.argmax(1).to(torch.float64) + 1, torch.full_like(hits, math.inf)
    )
    safe = n_pos.clamp(min=1)
    return {
        "hr": (hits > 0).to(torch.float64),
        "precision": hits / k,
        "recall": hits / safe,
        "ndcg": torch.where(idcg > 0, dcg / idcg.clamp(min=1e-12), torch.zeros_like(dcg)),
        "map": ap,
        "mrr": 1.0 / first,
    }


def novelty(topk_items: torch.Tensor, item_degree: torch.Tensor, n_users: int) -> torch.Tensor:
    """CoRML Eq. (29) per row: mean over the top-K items of -log2(d_i/|U|) / log2|U|.

    Items never seen in training (d_i = 0) are given d_i = 1 (maximally novel, finite)."""
    d = item_degree.to(torch.float64).clamp(min=1)[topk_items]
    return (-torch.log2(d / n_users) / math.log2(n_users)).mean(1)


def coverage(topk_items: torch.Tensor, n_items: int) -> float:
    """Share of the catalogue that appears in at least one top-K list."""
    return torch.unique(topk_items).numel() / n_items
