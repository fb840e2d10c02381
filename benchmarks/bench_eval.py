"""Full-ranking evaluation of MovieLens-100k: the library versus a plain per-user numpy loop.

    .venv/bin/python benchmarks/bench_eval.py        (or: make bench)

Protocol: ``random_split`` (60/20/20 per user), test part, every item ranked, training and
validation items masked; NDCG@10, Recall@10, MAP@10, MRR@10. The model holds a dense
943 x 1,682 score matrix computed once (item-item co-occurrence of the training data,
turned into distinct per-user ranks so that no tie-break can make the two paths differ),
so the timings measure masking, top-K and metrics, not a model. A bare ``torch.topk``
over the same matrix is printed for reference. Times are medians of several runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

from recsys_book.data import load_ml100k, random_split
from recsys_book.evaluate import evaluate
from recsys_book.models import Recommender

METRICS = ("ndcg", "recall", "map", "mrr")
K = 10


class DenseScores(Recommender):
    """A model that is nothing but a precomputed (n_users, n_items) score matrix."""

    def __init__(self, table: torch.Tensor):
        super().__init__(*table.shape)
        self.register_buffer("table", table)

    def score(self, users, items, **inputs):
        return self.table[users[:, None], items]

    def score_all(self, users, **inputs):
        return self.table[users]


def score_matrix(split) -> torch.Tensor:
    r = split.train.to_dense()  # (U, I) binary
    cooc = r @ (r.T @ r)  # (U, I) co-occurrence scores
    noise = torch.rand(cooc.shape, generator=torch.Generator().manual_seed(0)) * 1e-3
    ranks = torch.argsort(torch.argsort(cooc + noise, dim=1), dim=1)
    return ranks.float()  # distinct per row: 0 .. n_items-1


def numpy_loop(table: np.ndarray, evalset, k: int = K) -> dict[str, float]:
    """The plain way: one user at a time, mask, argpartition, sort, sum."""
    ptr, items = evalset.exclude[0].numpy(), evalset.exclude[1].numpy()
    positives = evalset.positives.numpy()
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    sums = dict.fromkeys(("NDCG", "Recall", "MAP", "MRR"), 0.0)
    users = evalset.users.numpy()
    for r, u in enumerate(users):
        s = table[u].copy()
        s[items[ptr[r] : ptr[r + 1]]] = -np.inf
        top = np.argpartition(-s, k)[:k]
        top = top[np.argsort(-s[top])]
        pos = positives[r][positives[r] >= 0]
        rel = np.isin(top, pos).astype(np.float64)
        n_pos = len(pos)
        hits = np.cumsum(rel)
        sums["NDCG"] += (rel * disc).sum() / disc[: min(n_pos, k)].sum()
        sums["Recall"] += rel.sum() / n_pos
        sums["MAP"] += (hits / np.arange(1, k + 1) * rel).sum() / min(n_pos, k)
        sums["MRR"] += 1.0 / (np.argmax(rel) + 1) if rel.any() else 0.0
    return {f"{m}@{k}": v / len(users) for m, v in sums.items()}


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    inter = load_ml100k()
    split = random_split(inter, seed=0)
    table = score_matrix(split)
    model = DenseScores(table)
    es = split.test
    table_np = table.numpy()

    lib = evaluate(model, es, ks=(K,), metrics=METRICS, batch_size=1024)
    ref = numpy_loop(table_np, es)
    worst = max(abs(lib[k] - ref[k]) for k in ref)
    if worst > 1e-9:
        print(f"MISMATCH between library and numpy loop: {lib} vs {ref}")
        return 1

    t_lib = median_time(
        lambda: evaluate(model, es, ks=(K,), metrics=METRICS, batch_size=1024), args.repeats
    )
    t_np = median_time(lambda: numpy_loop(table_np, es), args.repeats)
    t_topk = median_time(lambda: torch.topk(table, K, dim=1), args.repeats)

    print(
        f"MovieLens-100k, random 60/20/20 split, test part: {len(es)} users x {inter.n_items} "
        "items, "
        f"training + validation items masked; torch threads: {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print("metrics (identical in both paths): " + ", ".join(f"{k} {v:.4f}" for k, v in lib.items()))
    print(f"{'path':<34}{'median s':>10}{'vs library':>12}")
    for name, t in (
        ("recsys_book.evaluate", t_lib),
        ("per-user numpy loop", t_np),
        ("bare torch.topk (reference)", t_topk),
    ):
        print(f"{name:<34}{t:>10.4f}{t / t_lib:>11.2f}x")
    print(
        f"numpy loop / library = {t_np / t_lib:.1f}x; target for the library: < 0.05 s "
        f"({'met' if t_lib < 0.05 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
