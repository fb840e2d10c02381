"""Dissertation Tables 3.2-3.5 on planted crowdfunding data: ``python -m recsys_book reproduce
crowdfunding [--out DIR] [--quick] [--seed N]``.

The paper's 2,198 labelled Kickstarter projects are not public and cannot be reached from
here, so every number we produce is on the planted generator
(:func:`recsys_book.crowdfunding.planted_crowdfunding`); the paper's figures stand beside ours
for orientation only: they measure another data set.

Protocol (Sec. 3.4.1, 3.5.1): semantic reward clusters fitted once on all reward descriptions
(Sec. 3.3.1, unsupervised, launch-time text only); at each time point the feature table of
Table 3.1, then stratified k-fold cross-validation (10 folds; the same folds for every model):
majority class, Kim et al.'s features and all our features with gradient-boosted trees for
on-time vs late; mean duration, Kim et al.'s features with a linear regression and our elastic
net for the delivery duration. At TP4 the feature-group ablation of Table 3.4, and the
permutation importances behind Table 3.2 at TP1 and TP4.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from recsys_book.crowdfunding import planted_crowdfunding
from recsys_book.crowdfunding.features import (
    FEATURE_GROUPS,
    TIME_POINTS,
    feature_table,
    labels,
    select_groups,
)
from recsys_book.crowdfunding.predict import cv_classify, group_importance, time_point_table
from recsys_book.crowdfunding.semantic import fit_reward_clusters
from recsys_book.utils import repo_root, seed_everything, write_text_atomic

# Dissertation Table 3.3: accuracy (%) at TP1-TP4 on Kickstarter (not our data)
PAPER_ACCURACY = {
    "majority class": (54.36, 54.36, 54.36, 54.36),
    "Kim et al. features": (62.65, 62.65, 63.10, 63.10),
    "all features (ours)": (65.8, 66.4, 71.4, 82.5),
}
# Table 3.4: accuracy (%) at TP4 without one feature group
PAPER_ABLATION = {
    "all": 82.5,
    "linguistic": 80.8,
    "semantic": 80.5,
    "backer": 80.1,
    "creator": 72.5,
}
# Table 3.5: RMSE (days) at TP1-TP4
PAPER_RMSE = {
    "Kim et al. features (linear)": (180.0, 180.0, 173.0, 173.0),
    "semantic reward clusters": (106.8, 106.8, 106.8, 106.8),
    "other features": (106.1, 106.1, 105.6, 93.2),
    "all features (ours)": (100.7, 100.4, 94.1, 78.1),
}


def run(
    n_projects: int, folds: int, seed: int, k_max: int = 30, n_repeats: int = 3, log=print
) -> dict:
    """Every table of the report, as frames."""
    data, truth = planted_crowdfunding(n_projects=n_projects, seed=seed)
    rc = fit_reward_clusters(
        data.rewards.description,
        k_words=range(1, k_max + 1),
        k_rewards=range(1, k_max + 1),
        seed=seed,
    )
    topic = np.array([truth["word_topic"].get(w, "?") for w in rc.vocab])
    words = topic != "filler"
    info = {
        "projects": len(data.projects),
        "rewards": len(data.rewards),
        "events": len(data.events),
        "late share": float(1 - data.projects["on_time"].mean()),
        "vocabulary": len(rc.vocab),
        "K1 (word clusters, BIC)": rc.k_words,
        "planted word topics": truth["n_topics"],
        "ARI word clusters vs planted topics (shared words left out)": adjusted_rand_score(
            topic[words], rc.word_cluster[words]
        ),
        "K2 (reward clusters, BIC)": rc.k_rewards,
        "ARI reward clusters vs planted difficulty": adjusted_rand_score(
            truth["reward_level"], rc.reward_cluster
        ),
        "folds": folds,
        "seed": seed,
    }
    for k, v in info.items():
        log(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    cls, reg = time_point_table(data, rc, folds=folds, seed=seed)
    log(cls.round(3).to_string(index=False))
    log(reg.round(3).to_string(index=False))
    y = labels(data)["late"].to_numpy()
    X4 = feature_table(data, "TP4", rc)
    abl = []
    for left_out in ("none", "linguistic", "semantic", "backer", "creator"):
        keep = [g for g in FEATURE_GROUPS if g != left_out]
        r = cv_classify(select_groups(X4, keep), y, folds=folds, seed=seed)
        abl.append(
            {
                "left out": left_out,
                "accuracy": r["accuracy"],
                "AUC": r["auc"],
                "fold_accuracy": r["fold_accuracy"],
            }
        )
        log(f"TP4 without {left_out}: accuracy {r['accuracy']:.3f}")
    imp = {}
    for tp in ("TP1", "TP4"):
        X = feature_table(data, tp, rc)
        imp[tp] = cv_classify(X, y, folds=folds, seed=seed, importance=True, n_repeats=n_repeats)[
            "importance"
        ]
    return {"info": info, "cls": cls, "reg": reg, "ablation": pd.DataFrame(abl), "importance": imp}


def _holds(ok: bool) -> str:
    return "holds" if ok else "does NOT hold"


def _markdown(out: dict, command: str) -> str:
    info, cls, reg, abl, imp = (out[k] for k in ("info", "cls", "reg", "ablation", "importance"))
    acc = cls.pivot(index="approach", columns="time point", values="accuracy")[list(TIME_POINTS)]
    auc = cls.pivot(index="approach", columns="time point", values="AUC")[list(TIME_POINTS)]
    sd = cls.pivot(index="approach", columns="time point", values="accuracy_sd")[list(TIME_POINTS)]
    order = list(PAPER_ACCURACY)
    lines = [
        "# Dissertation Ch. 3: on-time reward delivery in crowdfunding (planted data)",
        "",
        f"Produced by `{command}`.",
        "",
        "**Our numbers are on the planted generator (`recsys_book.crowdfunding.planted_crowdfunding`),"
        " not on Kickstarter**: the paper's 2,198 labelled projects are not public and cannot be "
        "reached here. The paper's figures stand beside ours for orientation only.",
        "",
        "| data | value |",
        "|---|---|",
    ]
    lines += [
        f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in info.items()
    ]
    lines += [
        "",
        f"## On-time vs late: accuracy by time point ({info['folds']}-fold CV, mean ± sd over folds; Table 3.3)",
        "",
        "| approach | "
        + " | ".join(TIME_POINTS)
        + " | AUC "
        + " / ".join(TIME_POINTS)
        + " | paper (Kickstarter) |",
        "|---|" + "---|" * (len(TIME_POINTS) + 2),
    ]
    for a in order:
        cells = [f"{100 * acc.loc[a, t]:.1f} ± {100 * sd.loc[a, t]:.1f}" for t in TIME_POINTS]
        aucs = " / ".join(f"{auc.loc[a, t]:.3f}" for t in TIME_POINTS)
        paper = " / ".join(f"{v:.1f}" for v in PAPER_ACCURACY[a])
        lines.append(f"| {a} | " + " | ".join(cells) + f" | {aucs} | {paper} |")
    ours = acc.loc["all features (ours)"]
    best_base = acc.loc[["majority class", "Kim et al. features"]].max()
    lines += [
        "",
        f"- Accuracy rises from TP1 to TP4 (paper: 65.8 -> 82.5): {100 * ours['TP1']:.1f} -> "
        f"{100 * ours['TP4']:.1f}, {_holds(ours['TP4'] > ours['TP1'])}; monotone over the four "
        f"time points: {_holds(bool((np.diff(ours.to_numpy()) >= 0).all()))}.",
        "- Our model beats both baselines at every time point (paper: it does): "
        + _holds(bool((ours > best_base).all()))
        + " (margins "
        + ", ".join(f"{t} {100 * (ours[t] - best_base[t]):+.1f}" for t in TIME_POINTS)
        + " points).",
        "- Kim et al.'s features with boosted trees fall below the majority class on our data "
        "where they carry little signal (the boosted trees overfit them); the paper's baseline 2 "
        "beat the majority class by 8 points on Kickstarter."
        if (acc.loc["Kim et al. features"] < acc.loc["majority class"]).any()
        else "- Kim et al.'s features beat the majority class at every time point.",
        "",
        "## Delivery duration (days): regression by time point (Table 3.5)",
        "",
        "| approach | time point | MAE | RMSE | NRMSE@A | NRMSE@B | paper RMSE |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, r in reg.iterrows():
        p = PAPER_RMSE.get(r["approach"])
        paper = f"{p[TIME_POINTS.index(r['time point'])]:.1f}" if p else "–"
        lines.append(
            f"| {r['approach']} | {r['time point']} | {r['MAE']:.1f} | {r['RMSE']:.1f} | "
            f"{r['NRMSE@A']:.3f} | {r['NRMSE@B']:.3f} | {paper} |"
        )
    rmse = reg.pivot(index="approach", columns="time point", values="RMSE")[list(TIME_POINTS)]
    ours_rmse, kim_rmse = rmse.loc["all features (ours)"], rmse.loc["Kim et al. features (linear)"]
    lines += [
        "",
        "- Our elastic net beats the mean duration at every time point (RMSE; paper: it does): "
        + _holds(bool((ours_rmse < rmse.loc["mean duration"]).all()))
        + "; it beats Kim et al.'s features at every time point (paper: it does): "
        + _holds(bool((ours_rmse < kim_rmse).all()))
        + " (RMSE ours vs Kim: "
        + ", ".join(f"{t} {ours_rmse[t]:.1f} vs {kim_rmse[t]:.1f}" for t in TIME_POINTS)
        + ").",
        f"- RMSE falls from TP1 to TP4 (paper: 100.7 -> 78.1): {rmse.loc['all features (ours)', 'TP1']:.1f} -> "
        f"{rmse.loc['all features (ours)', 'TP4']:.1f}, "
        + _holds(rmse.loc["all features (ours)", "TP4"] < rmse.loc["all features (ours)", "TP1"])
        + ".",
        "- The longest reward delivery duration is left out of every regression, as in Sec. 3.5.1.",
        "",
        "## Feature groups at TP4 (Table 3.4)",
        "",
        "| left out | accuracy | AUC | paper accuracy |",
        "|---|---|---|---|",
    ]
    for _, r in abl.iterrows():
        key = "all" if r["left out"] == "none" else r["left out"]
        lines.append(
            f"| {r['left out']} | {100 * r['accuracy']:.1f} | {r['AUC']:.3f} | {PAPER_ABLATION[key]:.1f} |"
        )
    a = abl.set_index("left out")["accuracy"]
    worst = a.drop("none").idxmin()
    lines += [
        "",
        f"- Removing the creator's activeness costs the most (paper: -10 points): the largest drop "
        f"here is without **{worst}** ({100 * (a[worst] - a['none']):+.1f} points), "
        + _holds(worst == "creator")
        + ".",
        "",
        "## Most important features (permutation importance, drop of held-out AUC; Table 3.2)",
        "",
    ]
    for tp, s in imp.items():
        top = s.head(10)
        lines.append(f"**{tp}**: " + ", ".join(f"{k} ({v:.3f})" for k, v in top.items()) + ".")
        g = group_importance(s)
        lines.append(
            f"Summed per group at {tp}: " + ", ".join(f"{k} {v:.3f}" for k, v in g.items()) + "."
        )
        lines.append("")
    sem_top = any(c.startswith("rewards_in_cluster_") for c in imp["TP1"].head(10).index)
    lines.append(
        "- Semantic reward cluster features are among the top 10 at TP1 (paper: four of them are): "
        + _holds(sem_top)
        + "."
    )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m recsys_book reproduce crowdfunding",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        default=None,
        help="results folder (default <repo>/results, i.e. ./results from the repository root)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 300 projects, 3 folds, one permutation per importance",
    )
    p.add_argument("--seed", type=int, default=0, help="generator, clustering and fold seed")
    p.add_argument("--projects", type=int, default=None, help="planted projects (default 1200)")
    p.add_argument("--folds", type=int, default=None, help="cross-validation folds (default 10)")
    args = p.parse_args(argv)
    seed_everything(args.seed)
    n = args.projects or (300 if args.quick else 1200)
    folds = args.folds or (3 if args.quick else 10)
    out = run(n, folds, args.seed, k_max=12 if args.quick else 30, n_repeats=1 if args.quick else 3)
    folder = Path(args.out) if args.out else (repo_root() or Path.cwd()) / "results"
    cls = out["cls"].assign(task="classification")
    reg = out["reg"].assign(task="regression")
    abl = (
        out["ablation"]
        .drop(columns=["fold_accuracy"])
        .assign(task="ablation TP4", **{"time point": "TP4"})
    )
    abl["approach"] = "without " + abl.pop("left out")
    table = pd.concat([cls, reg, abl], ignore_index=True)
    first = ["task", "time point", "approach"]
    table = table[first + [c for c in table.columns if c not in first]]
    write_text_atomic(folder / "crowdfunding.csv", table.to_csv(index=False))
    cmd = "python -m recsys_book reproduce crowdfunding" + (" " + " ".join(argv) if argv else "")
    md = _markdown(out, cmd)
    write_text_atomic(folder / "crowdfunding.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
