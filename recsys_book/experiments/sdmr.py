"""SDMR Table 3, ML-100k column: ``python -m recsys_book reproduce sdmr``.

Protocol (the paper's Sec. 5.3): leave-one-out by time (last item -> test, the one before
-> validation), each held-out item ranked against 100 sampled items the user never
interacted with; HR@10 and NDCG@10. Context for SDM / sequential models: the ``s`` most
recent items before the target (``add_recent_context``).

Selection uses the VALIDATION rows only: every gradient model keeps its best epoch by
validation NDCG@10 (``fit`` restores it), SDM's number of hops is the one with the best
validation NDCG@10, and the Eq. (19) beta is picked on validation too. The test rows are
read once per model, at the end. (The authors' code picked its best epoch on the test set
and left dropout on at evaluation: our protocol is stricter.)

Fixed settings (no embedding-size / L2 grid, to stay within ~25 minutes on two CPU cores;
the paper searched d in {8..128} and the L2 weight in {1e-1..1e-5}): d = 64, Adam, batch
256, s = 5 (the authors' default). The baselines train ``--negatives`` (default 2) sampled
negatives per positive, averaged, for ``--base-epochs`` epochs; lr 5e-3 for the
embedding-only models (MF-BPR, CML, PRME, TransRec) and for CMN and Caser, 2e-3 for SDP,
1e-3 for NeuMF++ and the SDMR head (``max(2, base-epochs // 3)`` epochs). Every row of the
paper's ML-100k column has a row here; CMN is one hop without the paper's GMF
pre-training (its "++"), Caser trains with BPR like every other row.

SDM's recipe is selected on validation (``sdm_recipe``), at ``--ablation-hops`` (3) hops,
among cumulative steps that are also the ablation table of the report:

1. ``2 negatives, mean, 10 epochs`` (what this experiment did before);
2. ``4 negatives, max``: the SDMR authors' code, 4 sampled negatives with the loss on the
   highest-scoring one (``neg_reduce="max"``);
3. ``+ epoch budget``: up to ``--epochs`` (30) epochs, early stopping on validation NDCG@10
   with ``--patience`` (3);
4. ``+ authors' init / dropout / L2``: embeddings N(0, 0.01), dropout 0.2 (training only),
   weight decay 1e-3 on the authors' *summed* loss, i.e. 1e-3 / batch on our mean loss.

The recipe with the best validation NDCG@10 then trains SDM with hops 1, 2, 4 and the number
of hops is chosen on validation too. The chosen setting is then retrained with
``--sdm-seeds`` (3) more training seeds on the same split, to say how much of a gap to the
paper is seed-to-seed spread (the table keeps the seed-0 run that was chosen). Not taken
from the authors: lr 1e-3 halved every 20 epochs (we keep 2e-3, constant: with early
stopping at 15-30 epochs the halving rarely acts; ``fit`` has no scheduler) and their best
epoch picked on test.

SDMR is evaluated twice: with our tie-neutral evaluator (a target tied with k candidates
takes each of the k + 1 places with equal probability) and with a target-favouring rule
(rank = number of candidates scored strictly higher), to show what ties can add.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import torch

from recsys_book.data import load_ml100k
from recsys_book.data.splits import add_recent_context, leave_one_out
from recsys_book.evaluate import evaluate
from recsys_book.experiments._common import (
    command,
    machine,
    markdown_table,
    parser,
    select,
    write_results,
)
from recsys_book.models import baselines
from recsys_book.models.memory import CMN
from recsys_book.models.sdmr import SDM, SDMR, SDP, SDMRWeighted, evaluate_ties
from recsys_book.models.sequential import PRME, Caser, PRMEs, TransRec
from recsys_book.train import fit
from recsys_book.utils import seed_everything

# Table 3 of the paper, ML-100k column: (HR@10, NDCG@10)
PAPER = {
    "Item-KNN": (0.166, 0.073),
    "SLIM": (0.520, 0.298),
    "MF-BPR": (0.554, 0.316),
    "CML": (0.596, 0.326),
    "NeuMF++": (0.623, 0.341),
    "CMN++": (0.620, 0.344),
    "PRME": (0.638, 0.381),
    "PRME_s": (0.674, 0.398),
    "TransRec": (0.684, 0.402),
    "Caser": (0.674, 0.386),
    "SDP": (0.616, 0.349),
    "SDM": (0.713, 0.435),
    "SDMR": (0.695, 0.562),
}
PAPER_PMI = {1: 0.059, 2: 0.097, 3: 0.143, 4: 0.146}


def _metrics(model, es) -> dict:
    return evaluate(model, es, ks=(10,), metrics=("hr", "ndcg"))


RECIPES = [
    ("2 negatives, mean, 10 epochs", dict(n_negatives=2, neg_reduce="mean", epochs=10)),
    ("4 negatives, max", dict(n_negatives=4, neg_reduce="max", epochs=10)),
    ("+ epoch budget, early stopping", dict(n_negatives=4, neg_reduce="max", budget=True)),
    (
        "+ authors' init / dropout / L2",
        dict(n_negatives=4, neg_reduce="max", budget=True, authors=True),
    ),
]


def _sdm_kwargs(recipe: dict, epochs: int, patience: int, batch: int) -> tuple[dict, dict]:
    """(SDM constructor kwargs, fit kwargs) of a recipe of ``RECIPES``."""
    model = {"init_std": 0.01, "dropout": 0.2} if recipe.get("authors") else {}
    fitkw = {
        "n_negatives": recipe["n_negatives"],
        "neg_reduce": recipe["neg_reduce"],
        "epochs": epochs if recipe.get("budget") else recipe["epochs"],
        "patience": patience if recipe.get("budget") else None,
        "weight_decay": 1e-3 / batch if recipe.get("authors") else 0.0,
    }
    return model, fitkw


def train_sdm(split, hops, name, recipe, epochs, patience, dim, seed, log=print):
    """One SDM-``hops`` trained with a recipe of ``RECIPES`` and training seed ``seed``
    (initialisation, negatives, order; the split is fixed): (model, result row)."""
    mkw, fkw = _sdm_kwargs(recipe, epochs, patience, 256)
    seed_everything(seed)
    m = SDM(split.n_users, split.n_items, dim, hops=hops, **mkw)
    t0 = time.perf_counter()
    hist = fit(m, split, lr=2e-3, batch_size=256, seed=seed, progress=False, **fkw)
    te, va = _metrics(m, split.test), _metrics(m, split.valid)
    row = {
        "recipe": name,
        "hops": hops,
        "valid NDCG@10": va["NDCG@10"],
        "valid HR@10": va["HR@10"],
        "HR@10": te["HR@10"],
        "NDCG@10": te["NDCG@10"],
        "best epoch": hist.attrs["best_epoch"],
        "epochs run": len(hist),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    log(
        f"SDM-{hops} [{name}] seed {seed}: valid NDCG@10 {va['NDCG@10']:.3f}, test HR@10 "
        f"{te['HR@10']:.3f} NDCG@10 {te['NDCG@10']:.3f} (best epoch {row['best epoch']} "
        f"of {row['epochs run']}, {row['seconds']:.0f} s)"
    )
    return m, row


def sdm_recipe(
    split,
    hops=(1, 2, 3, 4),
    ablation_hops: int = 3,
    epochs: int = 30,
    patience: int = 3,
    dim: int = 64,
    seed: int = 0,
    recipes=None,
    log=print,
    extra_seeds: int = 0,
) -> dict:
    """SDM with every choice on validation: the recipe (``RECIPES``) at ``ablation_hops``,
    then the number of hops with that recipe. Returns the ablation rows, the hop rows, the
    chosen model and recipe, and (``extra_seeds`` > 0) the chosen setting retrained with
    training seeds ``seed + 1 ... seed + extra_seeds``: how much of a gap is seed noise."""
    recipes = RECIPES if recipes is None else recipes
    ablation, trained = [], {}

    def train(h, name, recipe, s=seed):
        return train_sdm(split, h, name, recipe, epochs, patience, dim, s, log)

    for name, recipe in recipes:
        m, row = train(ablation_hops, name, recipe)
        ablation.append(row)
        trained[name] = m
    best = select(ablation, key="valid NDCG@10")
    recipe = dict(recipes)[best["recipe"]]
    hop_rows = [dict(best)]
    models = {ablation_hops: trained[best["recipe"]]}
    for h in hops:
        if h == ablation_hops:
            continue
        models[h], row = train(h, best["recipe"], recipe)
        hop_rows.append(row)
    hop_rows.sort(key=lambda r: r["hops"])
    chosen = select(hop_rows, key="valid NDCG@10")
    seed_rows = [{"seed": seed, **chosen}]
    for s in range(seed + 1, seed + 1 + extra_seeds):
        seed_rows.append({"seed": s, **train(chosen["hops"], best["recipe"], recipe, s)[1]})
    return {
        "ablation": ablation,
        "hops": hop_rows,
        "chosen": chosen,
        "model": models[chosen["hops"]],
        "recipe": best["recipe"],
        "seeds": seed_rows,
    }


#: the issue's accuracy target for SDM (the authors' code reached .713 / .444 here)
TARGET = {"HR@10": 0.70, "NDCG@10": 0.43}


#: what still differs from the authors' code (read in their repository; not ablated here)
DIFFERENCES = (
    "What still differs from the authors' SDM code (not ablated here): their lr 1e-3 halved "
    "every 20 epochs (ours 2e-3, constant), an extra ReLU(Linear) on each context item's "
    "embedding, and their best epoch picked on test with dropout left on at evaluation "
    "(ours: on validation, dropout off)."
)


def _gap(x: float) -> str:
    """A shortfall, with a fourth decimal when three would print 0.000."""
    return f"{x:.3f}" if x >= 0.0005 else f"{x:.4f}"


def seed_verdict(seeds: pd.DataFrame) -> str:
    """Each target metric's mean and sample sd over the seeds, and whether a shortfall is
    within the seed-to-seed spread (less than 2 sd) or beyond it."""
    parts = []
    for m, t in TARGET.items():
        mean, sd = seeds[m].mean(), seeds[m].std(ddof=1)
        head = f"{m} {mean:.3f} ± {sd:.3f}"
        if mean >= t:
            parts.append(f"{head} (meets {t:.2f} on average)")
        else:
            k = (t - mean) / sd if sd > 0 else float("inf")
            spread = "within" if k < 2 else "beyond"
            parts.append(
                f"{head} ({_gap(t - mean)} below {t:.2f} on average, {k:.1f} sd: {spread} the "
                "seed-to-seed spread)"
            )
    return "; ".join(parts) + " (± = sample standard deviation)."


def seeds_section(seeds: pd.DataFrame) -> list[str]:
    """The chosen SDM setting over training seeds (one row per seed, indexed by seed): mean
    and sample sd of each column."""
    if len(seeds) < 2:
        return []
    r = seeds.iloc[0]
    df = seeds[["valid NDCG@10", "HR@10", "NDCG@10", "best epoch", "seconds"]]
    mean, sd = df.mean(), df.std(ddof=1)
    return [
        f"## SDM-{r['hops']} over training seeds (recipe '{r['recipe']}', the split fixed)",
        "",
        markdown_table(df),
        "",
        f"Mean over {len(df)} seeds: HR@10 {mean['HR@10']:.3f} ± {sd['HR@10']:.3f}, NDCG@10 "
        f"{mean['NDCG@10']:.3f} ± {sd['NDCG@10']:.3f} (± = sample standard deviation; the "
        f"first row is the run chosen above).",
        "",
    ]


def run(
    epochs: int = 30,
    negatives: int = 2,
    context: int = 5,
    dim: int = 64,
    hops=(1, 2, 3, 4),
    seed: int = 0,
    log=print,
    quick: bool = False,
    base_epochs: int = 10,
    patience: int = 3,
    ablation_hops: int = 3,
    sdm_only: bool = False,
    inter=None,
    sdm_seeds: int = 0,
) -> dict:
    seed_everything(seed)
    inter = load_ml100k() if inter is None else inter
    split = add_recent_context(leave_one_out(inter, n_negatives=100, seed=seed), context)
    n_u, n_i = split.n_users, split.n_items
    common = {"batch_size": 256, "n_negatives": negatives, "progress": False, "seed": seed}
    rows, hop_rows, models = {}, [], {}
    epochs_sdm, epochs = epochs, base_epochs

    def record(name, model, seconds, hist=None, note=""):
        te, va = _metrics(model, split.test), _metrics(model, split.valid)
        rows[name] = {
            "HR@10": te["HR@10"],
            "NDCG@10": te["NDCG@10"],
            "valid NDCG@10": va["NDCG@10"],
            "best epoch": (hist.attrs.get("best_epoch") if hist is not None else None),
            "seconds": round(seconds, 1),
            "note": note,
        }
        models[name] = model
        log(
            f"{name:>10}: HR@10 {te['HR@10']:.3f} NDCG@10 {te['NDCG@10']:.3f} "
            f"(valid {va['NDCG@10']:.3f}, {seconds:.0f} s)"
        )

    def train(name, build, lr, ep=epochs, note="", **kw):
        # built right after seeding: each row's initialisation is the same whatever rows
        # come before it (adding a model to the table does not move the others)
        seed_everything(seed)
        model = build()
        t0 = time.perf_counter()
        hist = fit(model, split, epochs=ep, lr=lr, **{**common, **kw})
        record(name, model, time.perf_counter() - t0, hist, note)
        return model

    sdm_res = sdm_recipe(
        split,
        hops,
        ablation_hops,
        epochs_sdm,
        patience,
        dim,
        seed,
        log=log,
        extra_seeds=sdm_seeds,
    )
    sdm = sdm_res["model"]
    models["SDM"] = sdm
    hop_rows = sdm_res["hops"]
    ch = sdm_res["chosen"]
    rows["SDM"] = {
        "HR@10": ch["HR@10"],
        "NDCG@10": ch["NDCG@10"],
        "valid NDCG@10": ch["valid NDCG@10"],
        "best epoch": ch["best epoch"],
        "seconds": ch["seconds"],
        "note": (
            f"hops {ch['hops']} (chosen on validation from {list(hops)}), s={context}, "
            f"recipe '{sdm_res['recipe']}' (chosen on validation)"
        ),
    }
    if sdm_only:
        return {
            "rows": rows,
            "hops": hop_rows,
            "ablation": sdm_res["ablation"],
            "seeds": sdm_res["seeds"],
            "ties": {},
            "split": split,
            "models": models,
            "recipe": sdm_res["recipe"],
        }
    if hasattr(baselines, "ItemKNN"):
        t0 = time.perf_counter()
        record(
            "Item-KNN",
            baselines.ItemKNN(n_u, n_i).fit(split),
            time.perf_counter() - t0,
            note="cosine, all neighbours",
        )
    train("MF-BPR", lambda: baselines.MFBPR(n_u, n_i, dim), 5e-3, reg=1e-4)
    train(
        "CML",
        lambda: baselines.CML(n_u, n_i, dim, loss="bpr"),
        5e-3,
        note="BPR loss (as in the SDMR paper), unit ball",
    )
    if hasattr(baselines, "pretrain_neumf") and not quick:
        seed_everything(seed)
        t0 = time.perf_counter()
        neu, hists = baselines.pretrain_neumf(
            split, dim=32, epochs=max(2, epochs // 2), lr=1e-3, **common
        )
        record(
            "NeuMF++",
            neu,
            time.perf_counter() - t0,
            hists["neumf"],
            "GMF + MLP pre-trained, fused, fine-tuned",
        )
    cmn_hr, cmn_ndcg = PAPER["CMN++"]
    train(
        "CMN",
        lambda: CMN(n_u, n_i, split, dim, owner="user"),
        5e-3,
        note=(
            "one hop, user neighbours (up to 50), no GMF pre-training; the paper's CMN++ "
            f"(pre-trained, hops 1-4): {cmn_hr:.3f} / {cmn_ndcg:.3f}"
        ),
    )
    train("PRME", lambda: PRME(n_u, n_i, dim), 5e-3, note="alpha 0.2, two spaces")
    train(
        "PRME_s", lambda: PRMEs(n_u, n_i, dim), 5e-3, note=f"transition averaged over s={context}"
    )
    train(
        "TransRec", lambda: TransRec(n_u, n_i, dim), 5e-3, reg=1e-4, note="L2 distance, unit ball"
    )
    train(
        "Caser",
        lambda: Caser(n_u, n_i, dim, L=context),
        5e-3,
        note=f"L = s = {context}, n_v 4, n_h 16, dropout 0.5; BPR (the paper: cross-entropy)",
    )
    sdp = train("SDP", lambda: SDP(n_u, n_i, dim, layers=1), 2e-3, note="1 layer, tanh")

    # Eq. (19), beta picked on validation (no training)
    betas = [0.1, 0.3, 0.5, 0.7, 0.9]
    vals = {b: _metrics(SDMRWeighted(sdp, sdm, b), split.valid)["NDCG@10"] for b in betas}
    b = max(vals, key=vals.get)
    record("SDMR (Eq. 19)", SDMRWeighted(sdp, sdm, b), 0.0, note=f"beta {b} chosen on validation")
    # Eq. (20): the paper's ReLU head over frozen SDP and SDM
    ties = {}
    for name, relu in (("SDMR", True), ("SDMR (no ReLU)", False)):
        fused = train(
            name,
            lambda relu=relu: SDMR(sdp, sdm, relu=relu),
            1e-3,
            ep=max(2, epochs // 3),  # only the head trains: SDMR freezes SDP and SDM
            note="Eq. (20), head only" + ("" if relu else ", ReLU removed"),
        )
        ties[name] = evaluate_ties(fused, split.test)
    ties["SDM"] = evaluate_ties(sdm, split.test)
    return {
        "rows": rows,
        "hops": hop_rows,
        "ablation": sdm_res["ablation"],
        "seeds": sdm_res["seeds"],
        "ties": ties,
        "split": split,
        "models": models,
        "recipe": sdm_res["recipe"],
    }


def _table(rows: dict) -> pd.DataFrame:
    df = pd.DataFrame(rows).T
    df.index.name = "model"
    df["paper HR@10"] = [PAPER.get(k, (None, None))[0] for k in df.index]
    df["paper NDCG@10"] = [PAPER.get(k, (None, None))[1] for k in df.index]
    cols = [
        "HR@10",
        "NDCG@10",
        "paper HR@10",
        "paper NDCG@10",
        "valid NDCG@10",
        "best epoch",
        "seconds",
        "note",
    ]
    return df[cols]


def _fmt(x, col: str = ""):
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "–"
    if col in ("best epoch", "hops"):
        return str(int(x))
    if col == "seconds":
        return f"{float(x):.1f}"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join([df.index.name or ""] + cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for k, r in df.iterrows():
        out.append("| " + " | ".join([str(k)] + [_fmt(r[c], c) for c in cols]) + " |")
    return "\n".join(out)


def ablation_section(ablation: list[dict], recipe: str) -> list[str]:
    """The recipe ablation: what each cumulative change gave SDM at fixed hops."""
    df = pd.DataFrame(ablation).set_index("recipe")
    prev = None
    gains = []
    for _, r in df.iterrows():
        gains.append("" if prev is None else f"{r['valid NDCG@10'] - prev:+.3f}")
        prev = r["valid NDCG@10"]
    df["valid gain"] = gains
    hops = int(df["hops"].iloc[0])
    return [
        f"## SDM recipe ablation (SDM-{hops}, cumulative changes; selected on validation)",
        "",
        markdown_table(df),
        "",
        f"Selected recipe (best validation NDCG@10): **{recipe}**. `valid gain` = change of "
        "validation NDCG@10 over the row above; test columns are read for the report only.",
        "",
    ]


def main(argv=None) -> int:
    p = parser("sdmr", __doc__)
    p.add_argument("--epochs", type=int, default=30, help="SDM's epoch budget (early stopping)")
    p.add_argument("--patience", type=int, default=3, help="epochs without a better validation")
    p.add_argument("--base-epochs", type=int, default=10, help="epochs of the baselines")
    p.add_argument("--negatives", type=int, default=2, help="negatives of the baselines")
    p.add_argument(
        "--context", type=int, default=5, help="s, the number of recent items (paper: 5, 10, 20)"
    )
    p.add_argument("--hops", type=int, nargs="+", default=[1, 2, 3, 4])
    p.add_argument("--ablation-hops", type=int, default=3, help="hops of the recipe ablation")
    p.add_argument(
        "--sdm-only",
        action="store_true",
        help="only SDM's recipe and hops (writes sdmr_sdm.md / .csv, not Table 3)",
    )
    p.add_argument(
        "--sdm-seeds",
        type=int,
        default=3,
        help="retrain the chosen SDM with this many more training seeds (0: none)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args(argv)
    if args.sdm_seeds < 0:
        p.error(f"--sdm-seeds must be >= 0, got {args.sdm_seeds}")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.epochs, args.base_epochs, args.patience = 2, 1, 1
        args.hops, args.ablation_hops, args.sdm_seeds = [1], 1, min(args.sdm_seeds, 1)
    if args.ablation_hops not in args.hops:
        p.error(f"--ablation-hops {args.ablation_hops} must be one of --hops {args.hops}")
    t0 = time.perf_counter()
    res = run(
        epochs=args.epochs,
        negatives=args.negatives,
        context=args.context,
        hops=tuple(args.hops),
        seed=args.seed,
        quick=args.quick,
        base_epochs=args.base_epochs,
        patience=args.patience,
        ablation_hops=args.ablation_hops,
        sdm_only=args.sdm_only,
        sdm_seeds=args.sdm_seeds,
    )
    minutes = (time.perf_counter() - t0) / 60
    hops = pd.DataFrame(res["hops"]).set_index("hops")
    ablation = pd.DataFrame(res["ablation"]).set_index("recipe")
    sdm = res["rows"]["SDM"]
    short = [f"{_gap(t - sdm[m])} {m}" for m, t in TARGET.items() if sdm[m] < t]
    tgt = "falls short of" if short else "meets"
    gap = f" (short by {', '.join(short)})" if short else ""
    head = (
        f"Command: `{command('sdmr', argv)}` ({minutes:.1f} min; {machine()}). "
        f"SDM: epoch budget {args.epochs}, patience {args.patience}, s = {args.context}, "
        f"d = 64, batch 256, seed {args.seed}; baselines: {args.base_epochs} epochs, "
        f"{args.negatives} negatives (mean); every choice made on validation."
    )
    verdict = (
        f"Our SDM {tgt} the issue's target (HR@10 >= .70, NDCG@10 >= .43){gap}: "
        f"HR@10 {sdm['HR@10']:.3f}, NDCG@10 {sdm['NDCG@10']:.3f} (paper .713 / .435); "
        f"{sdm['note']}."
    )
    seeds = pd.DataFrame(res["seeds"]).set_index("seed")
    if len(seeds) > 1:
        verdict += f" The same setting over {len(seeds)} training seeds: " + seed_verdict(seeds)
    verdict += " " + DIFFERENCES
    hop_md = [
        "## SDM-h: hops (Fig. 6 at d = 64), with the selected recipe",
        "",
        markdown_table(hops),
        "",
    ]
    if args.sdm_only:
        md = ["# SDM on ML-100k: recipe and hops chosen on validation", "", head, "", verdict, ""]
        md += ablation_section(res["ablation"], res["recipe"]) + hop_md
        md += seeds_section(seeds)
        md = "\n".join(md)
        write_results(args.out, "sdmr_sdm", {"": ablation, "_hops": hops, "_seeds": seeds}, md)
        print(md)
        return 0
    df = _table(res["rows"])
    ties = pd.DataFrame(res["ties"]).T
    ties.index.name = "model"
    sdmr = res["rows"]["SDMR"]
    md = [
        "# SDMR Table 3, ML-100k (leave-one-out, 100 sampled negatives)",
        "",
        head,
        "",
        _md(df),
        "",
        verdict,
        (
            f"SDMR (Eq. 20, tie-neutral) "
            f"{'beats' if sdmr['NDCG@10'] > sdm['NDCG@10'] else 'does not beat'} SDM on "
            f"NDCG@10 ({sdmr['NDCG@10']:.3f} vs {sdm['NDCG@10']:.3f})."
        ),
        "",
    ]
    md += ablation_section(res["ablation"], res["recipe"]) + hop_md
    md += seeds_section(seeds)
    md += [
        "## Ties: the same scores under three tie rules (test rows)",
        "",
        (
            "`neutral` is our evaluator (exact expectation over a random place among ties); "
            "`favour` puts "
            "the target first among equal scores (what `rank = #(score > target)` computes); "
            "`tied rows` is the share of rows where the target shares its score with a candidate."
        ),
        "",
        _md(ties),
        "",
    ]
    md += tuned_baselines_section(Path(args.out), sdm)
    md = "\n".join(md)
    write_results(
        args.out, "sdmr", {"": df, "_ablation": ablation, "_hops": hops, "_seeds": seeds}, md
    )
    print(md)
    return 0


def tuned_baselines_section(out: Path, sdm: dict) -> list[str]:
    """Markdown lines comparing SDM with the tuned baselines of ``results/baselines.csv``
    (``python -m recsys_book reproduce baselines``: the same leave-one-out split, seed 0,
    each baseline tuned on validation), so the margin is over the strongest baseline we
    built, not only over the quickly trained ones above."""
    path = out / "baselines.csv"
    if not path.exists():
        return [
            "",
            "(Run `python -m recsys_book reproduce baselines` to add the tuned baselines.)",
            "",
        ]
    base = pd.read_csv(path, index_col=0)
    best = base.drop(index="Popularity", errors="ignore")["test NDCG@10"].idxmax()
    lines = [
        "## Against the tuned baselines (results/baselines.csv, same split)",
        "",
        "| model | HR@10 | NDCG@10 | config (chosen on validation) |",
        "|---|---|---|---|",
    ]
    for name, r in base.iterrows():
        lines.append(
            f"| {name} | {r['test HR@10']:.3f} | {r['test NDCG@10']:.3f} | {r['config']} |"
        )
    lines.append(f"| SDM (above) | {sdm['HR@10']:.3f} | {sdm['NDCG@10']:.3f} | |")
    b = base.loc[best]
    lines += [
        "",
        f"Margin of SDM over the strongest tuned baseline ({best}): "
        f"HR@10 {sdm['HR@10'] - b['test HR@10']:+.3f}, NDCG@10 {sdm['NDCG@10'] - b['test NDCG@10']:+.3f}.",
        "",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
