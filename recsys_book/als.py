"""The ALS training loop of RME and its variants (Tran, dissertation Ch. 4.2): Algorithm 1
with validation and early stopping, and Algorithm 2 (RME for implicit data).

The models (``models/rme.py``) declare their sweeps; this loop scores them, with the same
pieces as the gradient loop ``train.fit``: :class:`recsys_book.stopping.EarlyStopping`
(``patience`` sweeps without a better validation score, best sweep restored) and
``callbacks`` run as ``cb(model, history_df)`` after every sweep.

* :func:`fit_als` -- Algorithm 1: ALS sweeps until validation stops improving.
* :func:`fit_implicit` -- Algorithm 2: WMF start, then sample dislikes (E-step,
  :func:`recsys_book.models.rme_implicit.sample_dislikes`) and refit RME (M-step) while the
  validation metric improves.
"""

from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd

from recsys_book.evaluate import evaluate
from recsys_book.metrics import parse_metric
from recsys_book.models.rme import RME, WMF
from recsys_book.models.rme_implicit import sample_dislikes
from recsys_book.models.sppmi import _shifts, sppmi
from recsys_book.stopping import EarlyStopping


def fit_als(
    model: RME,
    split,
    sweeps: int = 10,
    *,
    disliked=None,
    matrices: dict | None = None,
    valid_metric: str = "NDCG@100",
    patience: int | None = 1,
    callbacks: Iterable[Callable] = (),
    progress: bool = False,
) -> RME:
    """Algorithm 1 on ``split.train`` (``disliked``, ``matrices``: as ``RME.fit``), scoring
    ``valid_metric`` on ``split.valid`` after every sweep: training stops after ``patience``
    sweeps without a better score (``None``: never; 1, the authors' code: at the first sweep
    that does not improve) and the best sweep's parameters are restored. The metric is a
    column of ``model.history_``; ``model.best_sweep_`` is the kept sweep. Returns ``model``."""
    name, kcut, key = parse_metric(valid_metric)
    stopper = EarlyStopping(patience)

    def validate(m, row) -> bool:
        row[valid_metric] = evaluate(m, split.valid, ks=(kcut,), metrics=(name,))[key]
        return stopper.update(row[valid_metric], m)

    model.fit(split, disliked=disliked, n_sweeps=sweeps, matrices=matrices, callbacks=callbacks,
              progress=progress, after_sweep=validate)  # fmt: skip
    stopper.restore(model)
    model.best_sweep_ = stopper.best_step
    return model


def fit_implicit(
    split,
    tau: float = 0.2,
    max_iter: int = 10,
    seed: int = 0,
    metric: str = "NDCG@100",
    n_sweeps: int = 10,
    progress: bool = False,
    init: RME | None = None,
    patience: int | None = 1,
    **model_kw,
) -> tuple[RME, pd.DataFrame]:
    """Algorithm 2: RME for implicit data with an EM-like inference of disliked items.

    Start from WMF (line 2); repeat: sample dislikes from the current model (E-step), refit
    RME with them (M-step, X and Z reused: they do not change), keep the new model if its
    validation ``metric`` beats the previous best, else stop (lines 13-17; as in the paper
    the first RME is compared with prev_ndcg = 0). ``patience``: of each ALS fit's early stopping
    over sweeps (1, the authors' code: stop at the first sweep that does not improve).
    Returns (best model, per-iteration table).
    """
    name, kcut, key = parse_metric(metric)
    train = split.train
    wmf = init
    if wmf is None:
        wmf = WMF(train.n_users, train.n_items, seed=seed, **_model_only(model_kw))
        fit_als(wmf, split, n_sweeps, valid_metric=metric, patience=patience)
    rows = [
        {
            "iter": 0,
            "model": "WMF (init)",
            "n_dislikes": 0,
            metric: evaluate(wmf, split.valid, ks=(kcut,), metrics=(name,))[key],
        }
    ]
    shift = model_kw.get("shift", 1.0)
    sx, _, sz = _shifts(shift)
    mats = {"X": sppmi(train, sx), "Z": sppmi(train, sz, transpose=True)}
    current, best, prev = wmf, wmf, 0.0
    for it in range(1, max_iter + 1):
        dis = sample_dislikes(current, train, tau, seed=seed + it)  # E-step
        model = RME(train.n_users, train.n_items, seed=seed, **model_kw)
        fit_als(model, split, n_sweeps, disliked=dis, matrices=mats, valid_metric=metric, patience=patience,
                progress=progress)  # M-step (line 13)
        score = evaluate(model, split.valid, ks=(kcut,), metrics=(name,))[key]
        rows.append({"iter": it, "model": "RME", "n_dislikes": len(dis), metric: score})
        if score > prev:  # line 14
            best, prev, current = model, score, model
        else:
            break  # line 17
    return best, pd.DataFrame(rows)


def _model_only(kw: dict) -> dict:
    return {
        k: v
        for k, v in kw.items()
        if k not in ("liked", "disliked", "user", "w_liked", "w_disliked", "w_user", "lam_context")
    }
