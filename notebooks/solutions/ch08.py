"""Solutions to the exercises of chapter 08 (not executed by the chapter)."""

from __future__ import annotations

import math

import numpy as np


def my_bic(x, labels, centers, n):
    """E1, Eq. (3.1): sum of Euclidean distances to the own centre + log(n) * m * K."""
    x, centers = np.asarray(x, float), np.asarray(centers, float)
    dist = np.linalg.norm(x - centers[np.asarray(labels)], axis=1)  # (N,)
    return float(dist.sum() + math.log(n) * x.shape[1] * len(centers))


def my_observed(events, projects, tp):
    """E2: keep the events with day <= the project's cutoff of tp (Fig. 3.1)."""
    f = projects.set_index("project_id")["fund_days"].astype(float)
    ledd = projects.set_index("project_id")["ledd_days"].astype(float)
    cut = {"TP1": 0 * f, "TP2": f / 2, "TP3": f, "TP4": f + 0.05 * ledd}[tp]
    return events[events["day"].to_numpy() <= cut.reindex(events["project_id"]).to_numpy()]


def my_nrmse(y, pred):
    """E3, Sec. 3.5.1: RMSE / (max y - min y) and RMSE / mean y."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    rmse = np.sqrt(np.mean((pred - y) ** 2))
    return rmse / (y.max() - y.min()), rmse / y.mean()
