"""Solutions to the exercises of chapter 08 (not executed by the chapter)."""

from __future__ import annotations

import numpy as np


def my_cluster_features(rewards, reward_cluster, k, projects, pledges=None):
    """E1, Sec. 3.3.1 (after Step 6): per project and semantic reward cluster, the backers of
    its rewards in that cluster (one pledge row = one backer); at launch (``pledges=None``),
    its rewards in that cluster. Rows follow ``projects``, columns the clusters 0..k-1."""
    # reward_cluster[i] belongs to ROW i of `rewards`, so map reward_id -> cluster by row
    cluster_of = dict(zip(rewards["reward_id"].tolist(), np.asarray(reward_cluster).tolist()))
    rows = rewards if pledges is None else pledges  # what is counted: rewards or pledges
    row_of = {p: i for i, p in enumerate(projects)}
    out = np.zeros((len(projects), k), dtype=np.int64)  # (n_projects, K2)
    for p, r in zip(rows["project_id"].tolist(), rows["reward_id"].tolist()):
        if p in row_of:
            out[row_of[p], cluster_of[r]] += 1
    return out


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
