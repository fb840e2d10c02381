"""Table 5.6-style comparison of the quaternion models: ``python -m recsys_book reproduce qualse``.

Dissertation Ch. 5.3.4-5.3.5. Protocol as in the paper: interactions sorted by time
across all users, the first 70 % train, the next 10 % validate, the last 20 % test
(:func:`recsys_book.data.splits.temporal_global`; held-out rows of users or items unseen in
training are dropped); every held-out interaction of a user is one row, ranked against
1,000 sampled items the user never interacted with; HR@100 (the paper's HIT@100), NDCG@100,
NDCG@10 and HR@10 on test (and validation). The seed moves the split's sampled candidates,
the initialisation and the negatives of training; 5 seeds, the claims judged by a paired
t-test over them, per dataset.

Models (the paper's pairs: same architecture, real vs quaternion): AASVD / QUALE,
ALSTM / QUASE (LSTM), AGRU / QUASE (GRU), ALSTM+AASVD / QUALSE, and the adversarial
AQUALE, AQUASE (LSTM), AQUALSE (QABPR, lambda_adv = 1, the paper's value), plus popularity
as the floor. s = 5 short-term items; l = Q3 + 1.5 IQR of the training history lengths
(46 on the planted data), capped at ``l_max`` = 50 on ML-100k (its l is 314, which makes the
long-term models 5-8x slower per epoch on CPU): two check rows, AASVD and QUALE without the
cap (training seed 0, their chosen configuration), show on validation what the cap costs.

**The 1/4 ablation.** QUALE's and QUASE's output, Average(ComponentDot) (Eq. 5.32, 5.36), is
the dot product / 4: a fixed temperature the real counterparts do not have. The rows
"QUALE (no /4)", "QUASE (LSTM, no /4)" and "QUASE (GRU, no /4)" train the same models with
``out_scale=1``, tuned and seeded like the others, so "quaternion > real" is judged with and
without it. (QUALSE has no fixed scale: its learned w1, w2 start at 1.)

The budget rule: every model is trained with early stopping on validation NDCG@10 (patience
5, best weights restored) up to 100 epochs; its kept epoch is in the table and a run whose
kept epoch is its last is marked still improving (no verdict rests on it). Chosen on
validation at training seed 0: d from {32, 64} per model; for QABPR eps from {0.5, 1, 2}
(the paper's grid). QABPR starts from the BPR-trained model of the same seed and
configuration (Eq. 5.39: E* and Theta* are "pre-learned" with Eq. 5.38) and continues with
the adversarial term, scored before its first step too: kept epoch 0 = the adversarial
epochs did not improve on validation. Fixed, not tuned (CPU time; keys of each row's
``config``): Adam with lr 5e-3 and batch 512 on ML-100k (1e-2 and 256 on the planted data),
4 negatives per positive (the paper's value), no L2 term.

Datasets (``--datasets``, both by default, rows of both in ``qualse.csv``): the planted
long/short-term sequences (:func:`planted_long_short`, sized so that 1,000 negatives exist)
and ML-100k. ``--quick``: tiny planted data only (d = 8, two epochs, 100 negatives), a smoke
run written as ``qualse_smoke.*``.
"""

from __future__ import annotations

import copy

import pandas as pd

from recsys_book.adversarial import QABPR
from recsys_book.claims import qualse_orderings
from recsys_book.data.planted import planted_long_short
from recsys_book.data.splits import add_long_short_context, long_term_length, temporal_global
from recsys_book.evaluate import evaluate
from recsys_book.experiments._runner import Candidate, Experiment, Outcome, parser
from recsys_book.experiments._runner import main as _main
from recsys_book.models.base import Popularity
from recsys_book.models.qualse import MODELS
from recsys_book.results import markdown_table, selected
from recsys_book.train import fit

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
# the adversarial rows start from these plain rows (the same seed and configuration)
PRETRAINED = {"AQUALE": "QUALE", "AQUASE (LSTM)": "QUASE (LSTM)", "AQUALSE": "QUALSE"}
# the 1/4 ablation: the same quaternion models with out_scale = 1
NO_QUARTER = {"QUALE (no /4)": "QUALE", "QUASE (LSTM, no /4)": "QUASE", "QUASE (GRU, no /4)": "QUASE-GRU"}
# ML-100k only: the l cap's check rows (training seed 0, the chosen configuration, no cap)
UNCAPPED = {"AASVD (no l cap)": "AASVD", "QUALE (no l cap)": "QUALE"}
METRICS = ("HR@100", "NDCG@100", "NDCG@10", "HR@10")
EPOCHS, PATIENCE, EPS = 100, 5, (0.5, 1.0, 2.0)

DATASETS = {"planted": "planted long/short sequences (400 x 1200)", "ml-100k": "MovieLens-100k"}
QUICK = "planted-tiny"


def make_split(dataset: str, seed: int, l_max: int | None, n_negatives: int = 1000):
    """The global temporal 70/10/20 split with long/short contexts (s = 5, l capped at l_max;
    None: no cap)."""
    if dataset == "ml-100k":
        from recsys_book.data import load_ml100k

        inter = load_ml100k()
    elif dataset in ("planted", QUICK):
        tiny = dataset == QUICK
        kw = dict(n_users=60, n_items=150, n_clusters=5, length=(10, 25)) if tiny else dict(
            n_users=400, n_items=1200, n_clusters=20, length=(20, 50))  # fmt: skip
        inter, _ = planted_long_short(**kw, seed=0)  # the data is fixed; seeds move the rest
    else:
        raise ValueError(f"dataset must be 'ml-100k' or 'planted', got {dataset!r}")
    split = temporal_global(inter, n_negatives=n_negatives, seed=seed)
    l_full = long_term_length(split.train)
    add_long_short_context(split, s=5, l=min(l_full, l_max) if l_max else l_full)
    split.train.meta["l_full"] = l_full
    return split


class Data:
    """One dataset's split for a (seed, l_max), rebuilt when they change (about a second;
    ML-100k's candidates take a few hundred MB per split, so one is kept)."""

    def __init__(self, name: str, n_negatives: int):
        self.name, self.n_negatives, self._key, self._split = name, n_negatives, None, None

    def split(self, seed: int, l_max: int | None):
        if self._key != (seed, l_max):
            self._split, self._key = make_split(self.name, seed, l_max, self.n_negatives), (seed, l_max)
        return self._split


def _outcome(model, split, hist=None, cap=None) -> Outcome:
    valid, test = ({k: v for k, v in evaluate(model, es, ks=(10, 100)).items() if k in METRICS}
                   for es in (split.valid, split.test))  # fmt: skip
    if hist is None:
        return Outcome(valid, test, model)
    trained = hist[hist["epoch"] > 0]
    test["s/epoch"] = float(trained["seconds"].mean()) if len(trained) else float("nan")  # training only
    test["params"] = sum(p.numel() for p in model.parameters())
    return Outcome(valid, test, model, int(hist.attrs["best_epoch"]), cap)


def _popularity(d: Data, cfg, seed, quick, parts) -> Outcome:
    split = d.split(seed, cfg["l_max"])
    return _outcome(Popularity(split.n_users, split.n_items).fit(split), split)


def _fit(model, split, cfg, seed, **kw):
    return fit(model, split, lr=cfg["lr"], batch_size=cfg["batch_size"], n_negatives=4, patience=PATIENCE,
               seed=seed, progress=False, **kw)  # fmt: skip


def _plain(key: str, **model_kw):
    """A BPR-trained model (Eq. 5.38), early stopping on validation."""

    def run(d: Data, cfg, seed, quick, parts) -> Outcome:
        split = d.split(seed, cfg["l_max"])
        model = MODELS[key](split.n_users, split.n_items, dim=cfg["dim"], **model_kw)
        hist = _fit(model, split, cfg, seed, epochs=cfg["epochs"])
        return _outcome(model, split, hist, cfg["epochs"])

    return run


def _adversarial(plain: str):
    """QABPR (Eq. 5.39-5.41) from the BPR-trained ``plain`` row of the same seed, scored
    before its first adversarial step too (kept epoch 0: the start was best)."""

    def run(d: Data, cfg, seed, quick, parts) -> Outcome:
        split = d.split(seed, cfg["l_max"])
        model = copy.deepcopy(parts[plain])
        hist = _fit(model, split, cfg, seed, epochs=cfg["adv_epochs"], validate_start=True,
                    adversary=QABPR(cfg["eps"], lam=1.0))  # fmt: skip
        return _outcome(model, split, hist, cfg["adv_epochs"])

    return run


def _options(p) -> None:
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS),
                   help="datasets to run, one after the other (default: both; --quick: tiny planted data)")  # fmt: skip


def _sections(rows: pd.DataFrame, ctx) -> list[str]:
    """Per dataset: the paper's orderings and the ablation, judged; the l cap's check."""
    lines = []
    order = qualse_orderings(rows)
    for ds, g in rows.groupby("dataset", sort=False):
        o = order[order["dataset"] == ds].drop(columns="dataset") if len(order) else order
        if len(o):
            lines += ["", f"## Do the paper's orderings hold on {ds}?", "",
                      "Mean gap (winner - loser) over the seeds of the configurations chosen on validation, "
                      "the paired t-test's p over those seeds and the verdict (p < 0.05 to hold or fail).", "",
                      markdown_table(o, digits=4, index=False)]  # fmt: skip
        sel = selected(g, "valid NDCG@10")
        first = sel[sel["seed"].astype(int) == sel["seed"].astype(int).min()].set_index("model")
        checks = [(c, k) for c, k in UNCAPPED.items() if c in first.index and k in first.index]
        if checks:
            lines += ["", f"The l cap on {ds} (training seed {first['seed'].iloc[0]}, validation NDCG@10): "
                      + "; ".join(f"{k} {first.at[k, 'valid NDCG@10']:.4f} at l <= 50, "
                                  f"{first.at[c, 'valid NDCG@10']:.4f} without a cap" for c, k in checks) + "."]  # fmt: skip
    return lines


def _experiment(name: str, description: str, n_negatives: int, dims=(32, 64), epochs=EPOCHS, eps=EPS,
                seeds=5, **fixed) -> Experiment:  # fmt: skip
    base = {"data": [name], "dim": list(dims), "epochs": [epochs], "l_max": [50], **{k: [v] for k, v in fixed.items()}}
    cands = [Candidate("Popularity", run=_popularity, grid={"data": [name], "l_max": [50]})]
    cands += [Candidate(row, run=_plain(key), grid=base) for row, (key, adv) in ROWS.items() if not adv]
    cands += [Candidate(row, run=_plain(key, out_scale=1.0), grid=base) for row, key in NO_QUARTER.items()]
    cands += [
        Candidate(row, run=_adversarial(plain), grid={"eps": list(eps), "adv_epochs": [epochs]},
                  grid_from=plain, depends_on=(plain,))  # fmt: skip
        for row, plain in PRETRAINED.items()
    ]
    if name == "ml-100k":
        cands += [Candidate(row, run=_plain(key), grid={"l_max": [None]}, grid_from=key, seeds=False)
                  for row, key in UNCAPPED.items()]  # fmt: skip
    return Experiment(
        name="qualse",
        title="Quaternion models, Table 5.6-style (dissertation Ch. 5.3)",
        protocol="sequences",
        data=lambda args: (Data(name, n_negatives), description),
        candidates=tuple(cands),
        doc=__doc__,
        metrics=tuple(f"test {m}" for m in METRICS),
        seeds=seeds,
        options=_options,
        sections=_sections,
    )


PLANTED = _experiment("planted", DATASETS["planted"], 1000, lr=1e-2, batch_size=256)
ML100K = _experiment("ml-100k", DATASETS["ml-100k"], 1000, lr=5e-3, batch_size=512)
SMOKE = _experiment(QUICK, "tiny planted long/short sequences (60 x 150, smoke)", 100, dims=(8,), epochs=2,
                    seeds=1, lr=1e-2, batch_size=256)  # fmt: skip


def main(argv=None) -> int:
    """One runner pass per dataset (rows of each land in the same file); --quick: the tiny one."""
    args = parser(PLANTED).parse_args(argv)
    exps = [SMOKE] if args.quick else [{"planted": PLANTED, "ml-100k": ML100K}[d] for d in args.datasets]
    for exp in exps:
        if _main(exp, argv):
            return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
