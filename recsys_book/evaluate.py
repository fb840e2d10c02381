"""Evaluation of any model with a ``score`` method on any :class:`EvalSet`, batched, on any device.

    >>> results = evaluate(model, split.test, ks=(10,))
    >>> results["NDCG@10"]

Sampled protocol: ``model.score(users (b,), candidates (b, C), **inputs)`` ranks the target
(column 0) among the candidates; metrics are exact expectations over random tie-breaks
(see :mod:`recsys_book.metrics`).

Full ranking: ``model.score_all(users (b,), **inputs) -> (b, n_items)`` (the base class
builds it from ``score``); excluded items (training items, plus validation items at
test time) get -inf; ties are broken at random, so no item wins a tie because of its id:
the items are ranked over a seeded random permutation, with a seeded tie order per row on
top (:func:`recsys_book.metrics.stable_topk`), so rows do not share their tie-breaks and
metric@K does not depend on the other cut-offs asked for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from recsys_book.data.splits import EvalSet
from recsys_book.metrics import (
    METRICS,
    NAMES,
    TIE_PRIME,
    coverage,
    novelty,
    sampled_metrics,
    stable_topk,
    target_rank_counts,
    topk_metrics,
)
from recsys_book.nn import check_context_ids
from recsys_book.utils import get_device, is_whole_number, trusted_ids


def _parse(metrics, ks):
    ks = (ks,) if isinstance(ks, (int, np.integer)) else ks  # ks=10 means (10,)
    metrics = (metrics,) if isinstance(metrics, str) else metrics  # "ndcg" means ("ndcg",)
    ks = tuple(sorted({int(k) for k in ks}))
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive cut-offs, got {ks}")
    metrics = tuple(m.lower() for m in metrics)
    bad = [m for m in metrics if m not in METRICS + ("novelty", "coverage")]
    if bad:
        raise ValueError(
            f"unknown metric(s) {bad}; choose from {METRICS + ('novelty', 'coverage')}"
        )
    return metrics, ks


def _check_fits(model, evalset) -> None:
    """A model sized for another dataset gets a message naming both sizes, not an
    ``IndexError: index out of range in self`` from deep inside torch."""
    n_u, n_i = getattr(model, "n_users", None), getattr(model, "n_items", None)
    if n_u is None or n_i is None:
        return
    if not len(evalset):
        return
    items = evalset.n_items or 0
    if evalset.sampled:
        items = max(items, int(evalset.candidates.max()) + 1)
    users = int(evalset.users.max()) + 1
    if items > n_i or users > n_u:
        raise ValueError(
            f"{type(model).__name__} was built for {n_u} users x {n_i} items, but this "
            f"evaluation set has user ids up to {users - 1} and item ids up to {items - 1}: "
            "build the model from the split it is evaluated on (Model(split.n_users, "
            "split.n_items, ...))."
        )


@torch.no_grad()
def _score(model, users, cand, inputs):
    # the base class bounds memory by scoring slices of the candidates (memory models);
    # ids were checked against the model's sizes once (_check_fits): none per batch
    fn = getattr(model, "score_in_chunks", model.score)
    with trusted_ids():
        return fn(users, cand, **inputs)


def evaluate(
    model,
    evalset: EvalSet,
    ks=(10,),
    metrics=("hr", "ndcg"),
    batch_size: int = 1024,
    device=None,
    train=None,
    per_row: bool = False,
    seed: int = 0,
) -> dict[str, float] | pd.DataFrame:
    """Mean metrics (``{"HR@10": ..., "NDCG@10": ...}``) of ``model`` on ``evalset``.

    ``train`` (the split's training :class:`Interactions`) is needed for ``novelty``
    (item degrees and |U| of Eq. 29).
    ``per_row=True`` returns a DataFrame with one row per evaluation row instead.
    The model is put in eval mode for the call and restored afterwards.
    """
    metrics, ks = _parse(metrics, ks)
    if not is_whole_number(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}")
    if ("novelty" in metrics) and train is None:
        raise ValueError(
            "novelty needs the training interactions: evaluate(..., train=split.train)"
        )
    width = evalset.candidates.shape[1] if evalset.sampled else evalset.n_items
    if ks[-1] > width:
        what = "candidates (target + sampled negatives)" if evalset.sampled else "items (the catalogue)"
        raise ValueError(
            f"ks={ks}: K={ks[-1]} is more than the {width} {what} each row ranks, so every "
            f"item would be in the top K; use K <= {width}."
        )
    _check_fits(model, evalset)
    n_cat = getattr(model, "n_items", None) or evalset.n_items
    if n_cat is not None:  # once here: the steps below run under trusted_ids()
        check_context_ids(evalset.inputs, n_cat, "evaluation")
    if device is None:
        device = (
            next((p.device for p in model.parameters()), None)
            if hasattr(model, "parameters")
            else None
        )
        device = device or getattr(model, "device", None) or torch.device("cpu")
    device = get_device(device)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    cols: dict[str, list[torch.Tensor]] = {}
    topk_all: dict[int, list[torch.Tensor]] = {k: [] for k in ks}
    n = len(evalset)
    kmax = max(ks)
    keep_lists = "novelty" in metrics or "coverage" in metrics  # top-K lists needed afterwards
    perm = inv = None
    if not evalset.sampled:
        n_items = evalset.n_items
        kmax = min(kmax, n_items)
        g = torch.Generator().manual_seed(int(seed))
        perm = torch.randperm(n_items, generator=g).to(device)
        # and a tie order of the shuffled columns per row (rows do not share their tie-breaks)
        tie_mult = torch.randint(1, TIE_PRIME, (n,), generator=g).to(device)
        inv = torch.empty_like(perm)
        inv[perm] = torch.arange(n_items, device=device)  # item -> shuffled column
    try:
        for s in range(0, n, batch_size):
            idx = slice(s, min(s + batch_size, n))
            users = evalset.users[idx].to(device)
            inputs = {k: v[idx].to(device) for k, v in evalset.inputs.items()}
            if evalset.sampled:
                cand = evalset.candidates[idx].to(device)
                scores = _score(model, users, cand, inputs).float()
                greater, ties = target_rank_counts(scores)
                for k in ks:
                    for m, v in sampled_metrics(greater, ties, k).items():
                        if m in metrics:
                            cols.setdefault(f"{NAMES[m]}@{k}", []).append(v.cpu())
                if keep_lists:
                    top = stable_topk(scores, min(kmax, scores.shape[1]))[1]
                    top = cand.gather(1, top)
                    for k in ks:
                        topk_all[k].append(top[:, :k].cpu())
                continue
            # Columns in a seeded random order (random tie-breaks). Advanced indexing copies,
            # so masking below never writes through to the model's tensor (score_all may
            # return a view, e.g. an expanded popularity row).
            with trusted_ids():
                shuffled = model.score_all(users, **inputs).float()[:, perm]  # (b, n_items)
            b = shuffled.shape[0]
            if evalset.exclude is not None:
                ptr, items = evalset.exclude
                lo, hi = int(ptr[idx.start]), int(ptr[idx.stop])
                lens = (ptr[idx.start + 1 : idx.stop + 1] - ptr[idx.start : idx.stop]).to(device)
                r = torch.repeat_interleave(torch.arange(b, device=device), lens)
                shuffled[r, inv[items[lo:hi].to(device)]] = -torch.inf
            # ties in the row's seeded random order, the same whatever kmax is
            vals, top = stable_topk(shuffled, kmax, tie_mult[idx])
            if torch.isnan(vals).any():  # topk ranks NaN above everything: one look suffices
                raise ValueError("the model returned NaN scores; check its parameters / inputs.")
            top = perm[top]  # (b, kmax) item ids
            pos = evalset.positives[idx].to(device)  # (b, P), -1 = padding
            # membership of each top item in the row's held-out items, by binary search
            # (memory O(b * (P + kmax)), whatever P is); padding sorts last
            pos_sorted = torch.sort(torch.where(pos >= 0, pos, evalset.n_items), dim=1).values
            at = torch.searchsorted(pos_sorted, top).clamp(max=pos_sorted.shape[1] - 1)
            rel = pos_sorted.gather(1, at) == top  # (b, kmax)
            n_pos = (pos >= 0).sum(1)
            for k in ks:
                for m, v in topk_metrics(rel, n_pos, k).items():
                    if m in metrics:
                        cols.setdefault(f"{NAMES[m]}@{k}", []).append(v.cpu())
                if keep_lists:
                    topk_all[k].append(top[:, :k].cpu())
    finally:
        if hasattr(model, "train") and was_training:
            model.train()
    out = {name: torch.cat(v) for name, v in cols.items()}
    if "novelty" in metrics:
        degree = torch.as_tensor(train.item_degree())
        for k in ks:
            out[f"Novelty@{k}"] = novelty(torch.cat(topk_all[k]), degree, train.n_users)
    if per_row:
        return pd.DataFrame({k: v.numpy() for k, v in out.items()})
    res = {k: float(v.mean()) for k, v in out.items()}
    if "coverage" in metrics:
        for k in ks:
            res[f"Coverage@{k}"] = coverage(torch.cat(topk_all[k]), evalset.n_items)
    return res


def results_table(rows: dict[str, dict[str, float]], digits: int = 4) -> pd.DataFrame:
    """``{"model": {"HR@10": ...}}`` -> a DataFrame with one row per model."""
    return pd.DataFrame(rows).T.round(digits)


# ---- an evaluation pitfall: ties (SDMR's Table 3) ------------------------------------


@torch.no_grad()
def evaluate_ties(model, evalset, k: int = 10, batch_size: int = 1024) -> dict[str, float]:
    """HR@k / NDCG@k of a sampled EvalSet under three tie rules, plus the share of rows whose
    target is tied with at least one candidate:

    * ``neutral``: the target's place among equal scores is uniformly random (our
      evaluator, :func:`recsys_book.evaluate.evaluate`), exact expectation;
    * ``favour``: the target goes first among ties (``rank = #strictly greater``), what an
      evaluator that counts ``score > target`` produces;
    * ``against``: the target goes last among ties.
    """
    dev = next(model.parameters()).device
    was = model.training
    model.eval()
    sums: dict[str, float] = {}
    tied = 0
    n = len(evalset)
    for s in range(0, n, batch_size):
        idx = slice(s, min(s + batch_size, n))
        inputs = {key: v[idx].to(dev) for key, v in evalset.inputs.items()}
        scores = model.score(
            evalset.users[idx].to(dev), evalset.candidates[idx].to(dev), **inputs
        ).float()
        g, t = target_rank_counts(scores)
        tied += int((t > 0).sum())
        zero = torch.zeros_like(t)
        for rule, (gg, tt) in {
            "neutral": (g, t),
            "favour": (g, zero),
            "against": (g + t, zero),
        }.items():
            for m, v in sampled_metrics(gg, tt, k).items():
                if m in ("hr", "ndcg"):
                    key = f"{'HR' if m == 'hr' else 'NDCG'}@{k} ({rule})"
                    sums[key] = sums.get(key, 0.0) + float(v.sum())
    model.train(was)
    out = {key: v / n for key, v in sums.items()}
    out["tied rows"] = tied / n
    return out
