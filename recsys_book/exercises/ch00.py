"""Chapter 00 exercises: the metrics and the tie-neutral evaluation protocol.

E1 ``ndcg_at_k(ranked, held_out, k) -> float``: NDCG@K of one ranked list
   (checked against :func:`recsys_book.metrics.topk_metrics`).
E2 ``expected_hr(greater, ties, k) -> float``: the exact expected HR@K of a target with
   ``greater`` candidates scored above it and ``ties`` tied with it, the target's place
   among its ties uniformly random (checked against :func:`recsys_book.metrics.sampled_metrics`).
E3 ``novelty_at_k(topk_items, item_degree, n_users) -> per-row novelty`` (CoRML Eq. 29;
   checked against :func:`recsys_book.metrics.novelty`).
"""

from __future__ import annotations

import numpy as np
import torch

from recsys_book.exercises import check, float64
from recsys_book.metrics import novelty, sampled_metrics, topk_metrics


def _ref_ndcg(ranked, held_out, k):
    rel = torch.tensor([[int(i in set(held_out)) for i in list(ranked)[:k]]])
    return float(topk_metrics(rel, torch.tensor([len(set(held_out))]), k)["ndcg"][0])


def _random_list(seed: int):
    rng = np.random.default_rng(seed)
    ranked = rng.permutation(30)[:12].tolist()
    held = set(rng.choice(30, size=int(rng.integers(1, 8)), replace=False).tolist())
    return ranked, held, int(rng.integers(1, 13))


NDCG_CASES = {
    "the chapter's toy list, K = 5": ([5, 2, 9, 1, 7], {2, 7, 8}, 5),
    "the toy list, K = 3": ([5, 2, 9, 1, 7], {2, 7, 8}, 3),
    "no hit in the top K": ([1, 2, 3, 4], {9}, 4),
    "one hit at rank 1": ([4, 1, 2], {4}, 3),
    "more held-out items than K (ideal DCG has K terms)": ([1, 2, 3, 4, 5], {1, 3, 6, 7, 8, 9}, 3),
    "every item held out": ([3, 1, 2], {1, 2, 3}, 3),
    **{f"random list (seed {s})": _random_list(s) for s in range(4)},
}


def check_ndcg(fn) -> bool:
    """E1: ``fn(ranked: list[int], held_out: set[int], k: int) -> float``."""
    return check(
        NDCG_CASES,
        fn,
        _ref_ndcg,
        cast=float,
        name="E1 ndcg_at_k",
        hint="DCG = sum_k rel_k / log2(k + 1) over ranks k = 1..K; IDCG has min(P, K) hits",
    )


def _ref_expected_hr(greater, ties, k):
    return float(sampled_metrics(torch.tensor([greater]), torch.tensor([ties]), k)["hr"][0])


HR_CASES = {
    "constant model, 100 negatives, K = 10": (0, 100, 10),
    "constant model, 50 negatives, K = 10": (0, 50, 10),
    "no ties, inside the top K": (3, 0, 10),
    "no ties, just outside the top K": (10, 0, 10),
    "ties straddle the cut-off": (8, 5, 10),
    "ties entirely below the cut-off": (12, 4, 10),
    "K = 1, target tied with 3": (0, 3, 1),
}


def check_expected_hr(fn) -> bool:
    """E2: ``fn(greater: int, ties: int, k: int) -> float``, the expected HR@K."""
    return check(
        HR_CASES,
        fn,
        _ref_expected_hr,
        cast=float,
        name="E2 expected_hr",
        hint="the target is at each position greater, ..., greater + ties (0-based) "
        "with probability 1 / (ties + 1)",
    )


def _novelty_case(seed: int, with_unseen: bool = False):
    g = torch.Generator().manual_seed(seed)
    n_items, n_users = 15, 40
    degree = torch.randint(1, n_users, (n_items,), generator=g)
    if with_unseen:
        degree[:3] = 0  # items nobody trained on
    top = torch.stack([torch.randperm(n_items, generator=g)[:5] for _ in range(4)])
    if with_unseen:
        top[0, 0] = 0
    return top, degree, n_users


NOVELTY_CASES = {
    "random top-5 lists (seed 0)": _novelty_case(0),
    "random top-5 lists (seed 1)": _novelty_case(1),
    "an item seen by every user (novelty 0)": (torch.tensor([[0, 1]]), torch.tensor([8, 2]), 8),
    "items never seen in training (degree 0 counts as 1)": _novelty_case(2, with_unseen=True),
}


def check_novelty(fn) -> bool:
    """E3: ``fn(topk_items (m, K) long, item_degree (n_items,), n_users: int) -> (m,)``."""
    return check(
        NOVELTY_CASES,
        fn,
        novelty,
        cast=float64,
        name="E3 novelty_at_k",
        hint="mean over the top K of -log2(d_i / |U|) / log2 |U|, with d_i >= 1",
    )
