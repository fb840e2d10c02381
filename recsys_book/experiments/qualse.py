"""Table 5.6-style comparison of the quaternion models: ``python -m recsys_book reproduce qualse``.

Dissertation Ch. 5.3.4-5.3.5. Protocol as in the paper: interactions sorted by time
across all users, the first 70 % train, the next 10 % validate, the last 20 % test
(:func:`recsys_book.data.splits.temporal_global`; held-out rows of users or items unseen in
training are dropped); every held-out interaction of a user is one row, ranked against
1,000 sampled items the user never interacted with; HIT@100, NDCG@100 and NDCG@10 (HR@10
too), mean and std over ``--seeds`` seeds (the seed moves the initialisation, the
negatives of training and the sampled candidates).

Models (the paper's pairs: same architecture, real vs quaternion): AASVD / QUALE,
ALSTM / QUASE (LSTM), AGRU / QUASE (GRU), ALSTM+AASVD / QUALSE, and the adversarial
AQUALE, AQUASE (LSTM), AQUALSE (QABPR: lambda_adv = 1, the paper's value, eps =
``--eps``), plus popularity as the floor. s = 5 short-term items; l = Q3 + 1.5 IQR of the
training history lengths, capped at ``--l-max`` (the paper has no cap; ML-100k's l is
314, which makes the long-term models about 6x slower per epoch on CPU).

Choices made on validation: each model keeps its epoch with the best validation
NDCG@10 (``fit`` restores it). Fixed, not tuned (CPU time): d = ``--dim``, Adam with lr
``--lr`` / ``--planted-lr``, 4 negatives per positive (the paper's value), batch ``--batch``
/ ``--planted-batch``, no L2 term,
eps = ``--eps`` (the paper picks it from {0.5, 1, 2} on validation). QABPR starts from
the BPR-trained model of the same seed (Eq. 5.39: E* and Theta* are "pre-learned" with Eq.
5.38) and trains ``--adv-epochs`` more epochs with the adversarial term; the best of those
epochs on validation is kept. Datasets: ML-100k
and the planted long/short-term sequences (:func:`planted_long_short`, sized so that
1,000 negatives exist). ``--quick``: planted data only, tiny, one seed, one epoch (a smoke
run, not a result).
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_book.data.planted import planted_long_short
from recsys_book.data.splits import add_long_short_context, long_term_length, temporal_global
from recsys_book.evaluate import evaluate
from recsys_book.experiments._common import markdown_table
from recsys_book.models.base import Popularity
from recsys_book.models.qualse import MODELS, QABPR
from recsys_book.train import fit
from recsys_book.utils import repo_root, seed_everything, write_text_atomic

# Table 5.6 row name -> (model key, adversarial?)
ROWS = {
    "AASVD": ("AASVD", False),
    "ALSTM": ("ALSTM", False),
    "AGRU": ("AGRU", False),
    "ALSTM+AASVD": ("ALSTM+AASVD", False),
    "QUALE": ("QUALE", False),
    "QUASE (GRU)": ("QUASE-GRU", False),
    "QUASE (LSTM)": ("QUASE", False),
    "QUALSE": ("QUALSE", False),
    "AQUALE": ("QUALE", True),
    "AQUASE (LSTM)": ("QUASE", True),
    "AQUALSE": ("QUALSE", True),
}
METRICS = ["HIT@100", "NDCG@100", "NDCG@10", "HR@10"]

# (winner, loser, claim) pairs the paper reports as holding on all six datasets
ORDERINGS = [
    ("QUALE", "AASVD", "quaternion > real"),
    ("QUASE (LSTM)", "ALSTM", "quaternion > real"),
    ("QUASE (GRU)", "AGRU", "quaternion > real"),
    ("QUALSE", "ALSTM+AASVD", "quaternion > real"),
    ("QUALSE", "QUALE", "fused > parts"),
    ("QUALSE", "QUASE (LSTM)", "fused > parts"),
    ("ALSTM+AASVD", "AASVD", "fused > parts"),
    ("ALSTM+AASVD", "ALSTM", "fused > parts"),
    ("AQUALSE", "AQUALE", "fused > parts"),
    ("AQUALSE", "AQUASE (LSTM)", "fused > parts"),
    ("AQUALE", "QUALE", "adversarial > plain"),
    ("AQUASE (LSTM)", "QUASE (LSTM)", "adversarial > plain"),
    ("AQUALSE", "QUALSE", "adversarial > plain"),
]


def make_split(dataset: str, seed: int, quick: bool, l_max: int | None, n_negatives: int):
    """The global temporal 70/10/20 split with long/short contexts."""
    if dataset == "ml-100k":
        from recsys_book.data import load_ml100k

        inter = load_ml100k()
    elif dataset == "planted":
        kw = (
            dict(n_users=60, n_items=150, n_clusters=5, length=(10, 25))
            if quick
            else dict(n_users=400, n_items=1200, n_clusters=20, length=(20, 50))
        )
        inter, _ = planted_long_short(**kw, seed=0)  # the data is fixed; seeds move the rest
    else:
        raise ValueError(f"dataset must be 'ml-100k' or 'planted', got {dataset!r}")
    split = temporal_global(inter, n_negatives=n_negatives, seed=seed)
    l_full = long_term_length(split.train)
    l = min(l_full, l_max) if l_max else l_full
    add_long_short_context(split, s=5, l=l)
    split.train.meta["l_full"] = l_full
    return split


def run_dataset(dataset: str, args, log=print) -> pd.DataFrame:
    rows = []
    negs = 100 if args.quick else 1000
    seeds = args.ml100k_seeds if dataset == "ml-100k" and args.ml100k_seeds else args.seeds
    for seed in range(seeds):
        split = make_split(dataset, seed, args.quick, args.l_max, negs)
        meta = split.train.meta
        log(f"[{dataset} seed {seed}] {split}; l = {meta['l']} (Q3 + 1.5 IQR = {meta['l_full']})")
        pop = Popularity(split.n_users, split.n_items).fit(split)
        res = evaluate(pop, split.test, ks=(10, 100))
        rows.append({"dataset": dataset, "model": "Popularity", "seed": seed, **_named(res)})
        trained = {}  # plain models by key: QABPR starts from them (E*, Theta* of Eq. 5.39)
        for row, (key, adv) in ROWS.items():
            if args.models and row not in args.models:
                continue
            seed_everything(seed)
            model = MODELS[key](split.n_users, split.n_items, dim=args.dim)
            planted = dataset == "planted"
            kw = dict(
                batch_size=args.planted_batch if planted else args.batch,
                lr=args.planted_lr if planted else args.lr,
                n_negatives=4,
                seed=seed,
                progress=False,
            )
            if adv:
                if key not in trained:  # pre-train with BPR first (Eq. 5.38)
                    fit(model, split, epochs=args.epochs, **kw)
                    trained[key] = copy.deepcopy(model.state_dict())
                model.load_state_dict(trained[key])
                hist = fit(
                    model, split, epochs=args.adv_epochs, adversary=QABPR(args.eps, lam=1.0), **kw
                )
            else:
                hist = fit(model, split, epochs=args.epochs, **kw)
                trained[key] = copy.deepcopy(model.state_dict())
            res = _named(evaluate(model, split.test, ks=(10, 100)))
            sec = float(hist["seconds"].mean())  # QABPR rows: its own epochs only
            rows.append(
                {
                    "dataset": dataset,
                    "model": row,
                    "seed": seed,
                    **res,
                    "sec_per_epoch": sec,
                    "best_epoch": hist.attrs["best_epoch"],
                    "params": sum(p.numel() for p in model.parameters()),
                }
            )
            log(
                f"  {row:<14} HIT@100 {res['HIT@100']:.4f} NDCG@100 {res['NDCG@100']:.4f} "
                f"NDCG@10 {res['NDCG@10']:.4f}  {sec:.1f} s/epoch, best epoch "
                f"{hist.attrs['best_epoch']}"
            )
    return pd.DataFrame(rows)


def _named(res: dict) -> dict:
    return {
        "HIT@100": res["HR@100"],
        "NDCG@100": res["NDCG@100"],
        "NDCG@10": res["NDCG@10"],
        "HR@10": res["HR@10"],
    }


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per (dataset, model)."""
    g = df.groupby(["dataset", "model"], sort=False)
    mean = g[METRICS].mean()
    std = g[METRICS].std(ddof=0).fillna(0.0)
    out = mean.join(std.add_suffix(" std"))
    extra = g[["sec_per_epoch", "params"]].mean() if "sec_per_epoch" in df else None
    if extra is not None:
        out = out.join(extra)
    out["seeds"] = g.size()
    return out


def orderings(summary: pd.DataFrame, metrics=("HIT@100", "NDCG@100")) -> pd.DataFrame:
    """One row per (dataset, paper ordering): the gap in each metric and a verdict:
    'holds' (gap > the larger std over seeds), 'holds (within noise)' (0 < gap <= std),
    'tie', 'reversed (within noise)' or 'does NOT hold' (gap < -std)."""
    rows = []
    for ds in summary.index.get_level_values(0).unique():
        s = summary.loc[ds]
        for win, lose, claim in ORDERINGS:
            if win not in s.index or lose not in s.index:
                continue
            row = {"dataset": ds, "claim": claim, "pair": f"{win} > {lose}"}
            for metric in metrics:
                gap = s.loc[win, metric] - s.loc[lose, metric]
                noise = max(s.loc[win, f"{metric} std"], s.loc[lose, f"{metric} std"])
                if gap > noise:
                    verdict = "holds"
                elif gap > 0:
                    verdict = "holds (within noise)"
                elif gap == 0:
                    verdict = "tie"
                elif gap >= -noise:
                    verdict = "reversed (within noise)"
                else:
                    verdict = "does NOT hold"
                row[f"gap {metric}"] = gap
                row[f"{metric}"] = verdict
            rows.append(row)
    return pd.DataFrame(rows)


def _md_table(summary: pd.DataFrame) -> str:
    lines = [
        "| dataset | model | HIT@100 | NDCG@100 | NDCG@10 | s / epoch | parameters |",
        "|---|---|---|---|---|---|---|",
    ]
    for (ds, model), r in summary.iterrows():
        cells = [f"{r[m]:.4f} ± {r[m + ' std']:.4f}" for m in ("HIT@100", "NDCG@100", "NDCG@10")]
        sec = "" if pd.isna(r.get("sec_per_epoch", np.nan)) else f"{r['sec_per_epoch']:.1f}"
        par = "" if pd.isna(r.get("params", np.nan)) else f"{int(r['params']):,}"
        lines.append(f"| {ds} | {model} | " + " | ".join(cells) + f" | {sec} | {par} |")
    return "\n".join(lines)


def write_results(out: Path, df: pd.DataFrame, args, argv, t0: float) -> str:
    minutes = (time.perf_counter() - t0) / 60
    summary = summarise(df)
    order = orderings(summary)
    write_text_atomic(out / "qualse.csv", summary.to_csv())
    write_text_atomic(out / "qualse_runs.csv", df.to_csv(index=False))
    md = [
        "# Quaternion models, Table 5.6-style (dissertation Ch. 5.3)",
        "",
        f"`python -m recsys_book reproduce qualse {' '.join(argv or [])}`".replace(" `", "`"),
        "",
        f"Global temporal 70/10/20; every held-out interaction ranked against "
        f"{100 if args.quick else 1000} sampled unobserved items; mean ± std over "
        f"{args.seeds} seed(s) ({args.ml100k_seeds or args.seeds} on ML-100k). "
        f"d = {args.dim}, {args.epochs} epochs (best by validation "
        f"NDCG@10), Adam lr {args.lr} and batch {args.batch} on ML-100k, lr {args.planted_lr} "
        f"and batch {args.planted_batch} on the planted data, 4 negatives, s = 5, "
        f"l = min(Q3 + 1.5 IQR, {args.l_max}), QABPR eps = {args.eps}, lambda_adv = 1, "
        f"{args.adv_epochs} QABPR epochs after the BPR ones. "
        f"Wall time {minutes:.1f} min on a shared, loaded 2-core CPU: seconds per epoch "
        "(training only, validation excluded) are comparable within this run only."
        + (" QUICK smoke run: not a result." if args.quick else ""),
        "",
        _md_table(summary),
        "",
        "## Do the paper's orderings hold?",
        "",
        "'holds' = the mean gap is larger than the larger of the two stds over seeds; with "
        "one seed every std is 0.",
        "",
        markdown_table(order, digits=4, index=False) if len(order) else "(no pairs run)",
        "",
    ]
    text = "\n".join(md)
    write_text_atomic(out / "qualse.md", text)
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m recsys_book reproduce qualse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default=None, help="folder for qualse.csv / .md (default: results/)")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny planted data only")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--batch", type=int, default=512, help="batch size on ML-100k")
    p.add_argument("--planted-batch", type=int, default=256)
    p.add_argument("--planted-lr", type=float, default=1e-2)
    p.add_argument("--eps", type=float, default=0.5)
    p.add_argument(
        "--adv-epochs", type=int, default=2, help="QABPR epochs after the BPR pre-training"
    )
    p.add_argument(
        "--ml100k-seeds", type=int, default=None, help="seeds on ML-100k (default: --seeds)"
    )
    p.add_argument("--l-max", type=int, default=50, help="cap on l (0: no cap, the paper)")
    p.add_argument("--datasets", nargs="+", default=["planted", "ml-100k"])
    p.add_argument("--models", nargs="+", default=None, help=f"a subset of {list(ROWS)}")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1:
        p.error("--seeds and --epochs must be >= 1")
    if args.models:
        bad = [m for m in args.models if m not in ROWS]
        if bad:
            p.error(f"unknown model(s) {bad}; choose from {list(ROWS)}")
    if args.quick:
        args.seeds, args.epochs, args.dim, args.datasets = 1, 1, 8, ["planted"]
        args.adv_epochs, args.ml100k_seeds = 1, None
    args.l_max = args.l_max or None
    out = Path(args.out) if args.out else (repo_root() or Path.cwd()) / "results"
    t0 = time.perf_counter()
    frames = []
    for ds in args.datasets:  # the files are rewritten after each dataset (atomically)
        frames.append(run_dataset(ds, args))
        md = write_results(out, pd.concat(frames, ignore_index=True), args, argv, t0)
    print(md)
    return 0
