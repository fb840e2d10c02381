"""LRML vs CML, MF-BPR and a memory-less translation model on MovieLens-100k:
``python -m recsys_book reproduce lrml [--out DIR] [--quick] [--seeds N]``.

Protocol (the baselines experiment's, ``reproduce baselines``): leave-one-out by time (each
user's last item to test, the one before to validation), the held-out item ranked against
100 sampled items the user never interacted with, HR@10 and NDCG@10. The split is the one of
``results/baselines.csv`` (split seed 0), so its tuned baselines are printed beside ours.

Every choice is made on the VALIDATION rows (NDCG@10): the epoch (early stopping, patience 5,
best weights restored) and, for LRML, the memory size N and the margin λ (a coordinate search
at training seed 0: N in {4, 16} at λ = 0.5, then λ in {0.5, 0.25} at the chosen N). The
chosen configuration of each model is then trained with ``--seeds`` training seeds (same split).

Models (d = 64, Adam, batch 1024, 4 sampled negatives, at most 30 epochs, lr 2e-3: the lr the
baselines experiment selected for CML and MF-BPR):

* LRML, negative relation recomputed (our default reading): (N, λ) searched as above;
* LRML, negative relation reused from the positive (the authors' code): the (N, λ) chosen
  for the recomputed reading (not tuned separately, to keep the run short);
* translation without memory (LRML with N = 1, one global relation): λ in {0.25, 0.5};
* CML (hinge, margin 0.5) and MF-BPR (L2 0): the configurations selected in
  ``results/baselines.csv``, retrained here with every seed; popularity as the floor.

The grid is small (CPU budget: about 15 minutes on two shared cores); the paper also tuned d
and the learning rate. The paper's own numbers (``published.table("LRML", "reported")``) are
on ML-1M: another dataset, quoted for orientation only.

``--quick``: a smoke run on planted relational data (``planted_relations``) with the first
configuration of each model and 4 epochs; results are written as ``lrml_smoke.*``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from recsys_book.data import leave_one_out, load_ml100k, planted_relations
from recsys_book.experiments._runner import Candidate, Claim, Experiment, gradient, main as _main
from recsys_book.models.base import Popularity
from recsys_book.models.baselines import CML, MFBPR
from recsys_book.models.lrml import LRML
from recsys_book.results import config_text, markdown_table, read, summary
from recsys_book.utils import repo_root

FIT = dict(batch_size=1024, n_negatives=4, patience=5)
TRAIN = gradient(epochs=30, quick_epochs=4, cfg_keys=("lr", "reg"), **FIT)
BASE = {"dim": [64], "lr": [2e-3]}
RECOMPUTE, REUSE = "LRML (recompute)", "LRML (reuse positive)"


def data(args):
    if args.quick or args.planted:
        inter, _ = planted_relations(n_users=200, n_items=200, dim=2, seed=args.seed)
        name = "planted relations (200 x 200)"
    else:
        inter, name = load_ml100k(), "MovieLens-100k"
    return leave_one_out(inter, n_negatives=100, seed=args.seed), name


def _lrml(reading: str):
    def build(s, c, p):
        return LRML(s.n_users, s.n_items, c["dim"], c["n_memory"], c["margin"], negative_relation=reading)

    return build


CANDIDATES = (
    Candidate("Popularity", lambda s, c, p: Popularity(s.n_users, s.n_items), seeds=False),
    Candidate(
        RECOMPUTE, _lrml("recompute"), {**BASE, "n_memory": [4, 16], "margin": [0.5, 0.25]}, TRAIN,
        search="coordinate", paper="LRML",
    ),
    Candidate(REUSE, _lrml("reuse_positive"), {}, TRAIN, grid_from=RECOMPUTE),
    Candidate("Translation (N = 1)", _lrml("recompute"), {**BASE, "n_memory": [1], "margin": [0.25, 0.5]}, TRAIN),
    Candidate(
        "CML (hinge)", lambda s, c, p: CML(s.n_users, s.n_items, c["dim"], loss="hinge", margin=c["margin"]),
        {**BASE, "margin": [0.5]}, TRAIN,
    ),
    Candidate("MF-BPR", lambda s, c, p: MFBPR(s.n_users, s.n_items, c["dim"]), {**BASE, "reg": [0.0]}, TRAIN),
)


def _baselines(out: str) -> list[str]:
    """The tuned baselines of ``reproduce baselines`` (same split), read from its rows."""
    for path in (Path(out) / "baselines.csv", (repo_root() or Path.cwd()) / "results" / "baselines.csv"):
        rows = read(path)
        if not rows.empty:
            s = summary(rows, ["test HR@10", "test NDCG@10"])
            show = s[["model", "config", "seeds", "test HR@10", "test NDCG@10"]].set_index("model")
            return [f"## The tuned baselines beside it ({path.name}: same split)", "", markdown_table(show)]
    return ["(Run `python -m recsys_book reproduce baselines` for the tuned baselines.)"]


def _sections(rows: pd.DataFrame, ctx) -> list[str]:
    s = summary(rows, ["test NDCG@10"]).set_index("model") if not rows.empty else pd.DataFrame()
    lines = ["The paper's numbers (the `paper` columns) are on MovieLens-1M: another dataset, for orientation only."]
    if {RECOMPUTE, REUSE} <= set(s.index):
        a, b = s.at[RECOMPUTE, "test NDCG@10"], s.at[REUSE, "test NDCG@10"]
        lines += ["", f"Negative's relation: recomputed {a:.3f} vs reused from the positive {b:.3f} "
                      f"test NDCG@10 ({a - b:+.3f})."]  # fmt: skip
    first = rows[rows["seed"].astype(int) == rows["seed"].astype(int).min()] if not rows.empty else rows
    if not first.empty:
        grid = pd.DataFrame({
            "model": first["model"], "config": first["config"].map(config_text),
            "kept epoch": first["best_epoch"], "valid NDCG@10": first["valid NDCG@10"],
            "train s": first["train_s"],
        })  # fmt: skip
        lines += ["", f"## Validation rows (training seed {first['seed'].iloc[0]})", "",
                  markdown_table(grid, digits=4, index=False)]  # fmt: skip
    smoke = ctx.args.quick or ctx.args.planted or ctx.args.models is not None
    return lines + ([] if smoke else ["", *_baselines(ctx.args.out)])


EXPERIMENT = Experiment(
    name="lrml",
    title="LRML (Tay et al., WWW 2018) on MovieLens-100k: leave-one-out, 100 sampled negatives",
    protocol="loo",
    data=data,
    candidates=CANDIDATES,
    doc=__doc__,
    seeds=3,
    published=("LRML", "reported"),
    planted=True,
    claims=(
        Claim(RECOMPUTE, "CML (hinge)", "test NDCG@10", "LRML beats CML (the paper, on ML-1M)"),
        Claim(RECOMPUTE, "CML (hinge)", "test HR@10", "LRML beats CML (the paper, on ML-1M)"),
    ),
    sections=_sections,
)


def main(argv=None) -> int:
    return _main(EXPERIMENT, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
