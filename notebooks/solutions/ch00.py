"""Solutions to the exercises of chapter 00 (not executed by the chapter)."""

import math

import torch


def ndcg_at_k(ranked, held_out, k):
    held_out = set(held_out)
    dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(list(ranked)[:k]) if i in held_out)
    idcg = sum(1 / math.log2(r + 2) for r in range(min(len(held_out), k)))
    return dcg / idcg if idcg > 0 else 0.0


def expected_hr(greater, ties, k):
    # positions greater .. greater + ties are equally likely; count those < k
    inside = max(0, min(k, greater + ties + 1) - greater)
    return inside / (ties + 1)


def novelty_at_k(topk_items, item_degree, n_users):
    d = torch.as_tensor(item_degree, dtype=torch.float64).clamp(min=1)[topk_items]
    return (-torch.log2(d / n_users) / math.log2(n_users)).mean(1)
