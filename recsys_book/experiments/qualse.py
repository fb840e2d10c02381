"""Table 5.6-style comparison of the quaternion models: ``python -m recsys_book reproduce qualse``.

Dissertation Ch. 5.3.4-5.3.5. Protocol as in the paper: interactions sorted by time
across all users, the first 70 % train, the next 10 % validate, the last 20 % test
(:func:`recsys_book.data.splits.temporal_global`; held-out rows of users or items unseen in
training are dropped); every held-out interaction of a user is one row, ranked against
1,000 sampled items the user never interacted with; HR@100 (the paper's HIT@100), NDCG@100,
NDCG@10 and HR@10 on test (and validation), one row per seed (the seed moves the split's
sampled candidates, the initialisation and the negatives of training).

Models (the paper's pairs: same architecture, real vs quaternion): AASVD / QUALE,
ALSTM / QUASE (LSTM), AGRU / QUASE (GRU), ALSTM+AASVD / QUALSE, and the adversarial
AQUALE, AQUASE (LSTM), AQUALSE (QABPR: lambda_adv = 1, the paper's value, eps 0.5), plus
popularity as the floor. s = 5 short-term items; l = Q3 + 1.5 IQR of the training history
lengths, capped at ``l_max`` = 50 (the paper has no cap; ML-100k's l is 314, which makes the
long-term models about 6x slower per epoch on CPU).

Choices made on validation: each model keeps its epoch with the best validation NDCG@10
(``fit`` restores it). Fixed, not tuned (CPU time; each is a key of the rows' ``config``):
d = 32, 5 epochs, Adam with lr 5e-3 and batch 512 on ML-100k (1e-2 and 256 on the planted
data), 4 negatives per positive (the paper's value), no L2 term, eps = 0.5 (the paper picks
it from {0.5, 1, 2} on validation). QABPR starts from the BPR-trained model of the same
seed and configuration (Eq. 5.39: E* and Theta* are "pre-learned" with Eq. 5.38) and trains
2 more epochs with the adversarial term; the best of those on validation is kept.
``s/epoch`` (training only) and ``params`` are columns of each row too.

Datasets (``--datasets``, both by default, rows of both in ``qualse.csv``): the planted
long/short-term sequences (:func:`planted_long_short`, sized so that 1,000 negatives exist)
and ML-100k. ``--quick``: tiny planted data only (d = 8, one epoch, 100 negatives), a smoke
run written as ``qualse_smoke.*``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import pandas as pd

from recsys_book.adversarial import QABPR
from recsys_book.data.planted import planted_long_short
from recsys_book.data.splits import add_long_short_context, long_term_length, temporal_global
from recsys_book.evaluate import evaluate
from recsys_book.experiments._runner import Candidate, Experiment, Outcome, main as _main, parser
from recsys_book.models.base import Popularity
from recsys_book.models.qualse import MODELS
from recsys_book.results import config_text, markdown_table, mean_std, selected
from recsys_book.train import fit
from recsys_book.utils import seed_everything

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
METRICS = ("HR@100", "NDCG@100", "NDCG@10", "HR@10")
ADV = ("eps", "adv_epochs")  # the adversarial rows' keys on top of the plain ones

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
DATASETS = {"planted": "planted long/short sequences (400 x 1200)", "ml-100k": "MovieLens-100k"}
QUICK = "planted-tiny"


def make_split(dataset: str, seed: int, l_max: int | None, n_negatives: int = 1000):
    """The global temporal 70/10/20 split with long/short contexts (s = 5, l capped at l_max)."""
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


@dataclass
class Data:
    """One dataset: its split per (seed, l_max), built once (the seed moves the split), and
    the BPR-trained plain models that QABPR starts from (a cache: missing, it pre-trains)."""

    name: str
    n_negatives: int
    splits: dict = field(default_factory=dict)
    trained: dict = field(default_factory=dict)

    def split(self, seed: int, l_max: int | None):
        if (seed, l_max) not in self.splits:
            self.splits[seed, l_max] = make_split(self.name, seed, l_max, self.n_negatives)
        return self.splits[seed, l_max]


def _outcome(model, split, hist=None, cap=None) -> Outcome:
    valid, test = ({k: v for k, v in evaluate(model, es, ks=(10, 100)).items() if k in METRICS}
                   for es in (split.valid, split.test))  # fmt: skip
    if hist is None:
        return Outcome(valid, test, model)
    test["s/epoch"] = float(hist["seconds"].mean())  # training only; QABPR rows: its own epochs
    test["params"] = sum(p.numel() for p in model.parameters())
    return Outcome(valid, test, model, int(hist.attrs["best_epoch"]), cap)


def _popularity(d: Data, cfg, seed, quick, parts) -> Outcome:
    split = d.split(seed, cfg["l_max"])
    return _outcome(Popularity(split.n_users, split.n_items).fit(split), split)


def _model(key: str, adversarial: bool):
    def run(d: Data, cfg, seed, quick, parts) -> Outcome:
        split = d.split(seed, cfg["l_max"])
        seed_everything(seed)
        model = MODELS[key](split.n_users, split.n_items, dim=cfg["dim"])
        kw = dict(batch_size=cfg["batch_size"], lr=cfg["lr"], n_negatives=4, seed=seed, progress=False)
        plain = (key, seed, json.dumps({k: v for k, v in cfg.items() if k not in ADV}, sort_keys=True))
        if not adversarial:
            hist = fit(model, split, epochs=cfg["epochs"], **kw)
            d.trained[plain] = copy.deepcopy(model.state_dict())
            return _outcome(model, split, hist, cfg["epochs"])
        if plain not in d.trained:  # pre-train with BPR first (Eq. 5.38)
            fit(model, split, epochs=cfg["epochs"], **kw)
            d.trained[plain] = copy.deepcopy(model.state_dict())
        model.load_state_dict(d.trained[plain])
        hist = fit(model, split, epochs=cfg["adv_epochs"], adversary=QABPR(cfg["eps"], lam=1.0), **kw)
        return _outcome(model, split, hist, cfg["adv_epochs"])

    return run


def _options(p) -> None:
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS),
                   help="datasets to run, one after the other (default: both; --quick: tiny planted data)")  # fmt: skip


def _judge(gap: float, noise: float) -> str:
    if gap > noise:
        return "holds"
    if gap > 0:
        return "holds (within noise)"
    if gap == 0:
        return "tie"
    return "reversed (within noise)" if gap >= -noise else "does NOT hold"


def orderings(rows: pd.DataFrame, metrics=("HR@100", "NDCG@100")) -> pd.DataFrame:
    """The paper's orderings (:data:`ORDERINGS`) judged on results rows, per dataset.

    One line per (dataset, pair) whose two models both have rows: the mean gap over seeds
    (winner - loser) of each ``test <metric>`` and its verdict: 'holds' when the gap is larger
    than the larger of the two sample sds over seeds, 'holds (within noise)' when it is
    positive but not larger, 'reversed (within noise)' / 'does NOT hold' when negative
    (one seed: no sd, every positive gap holds). Where the rows have validation columns the
    configuration chosen on validation NDCG@10 is read (:func:`selected`); legacy rows have
    one configuration per model. Columns: dataset, claim, pair, then ``gap <m>``, ``<m>``."""
    out = []
    for ds, g in rows.groupby("dataset", sort=False):
        sel = selected(g, "valid NDCG@10") if "valid NDCG@10" in g else g
        cols = [f"test {m}" for m in metrics]
        means = sel.groupby("model", sort=False)[cols].agg(["mean", "std"]).fillna(0.0)
        for win, lose, claim in ORDERINGS:
            if win in means.index and lose in means.index:
                row = {"dataset": ds, "claim": claim, "pair": f"{win} > {lose}"}
                for m in metrics:
                    gap = means.at[win, (f"test {m}", "mean")] - means.at[lose, (f"test {m}", "mean")]
                    noise = max(means.at[win, (f"test {m}", "std")], means.at[lose, (f"test {m}", "std")])
                    row[f"gap {m}"], row[m] = gap, _judge(gap, noise)
                out.append(row)
    return pd.DataFrame(out)


def _sections(rows: pd.DataFrame, ctx) -> list[str]:
    """Per dataset: the Table 5.6-style table and the paper's orderings, from the rows."""
    lines = ["Every row of the file, per dataset (the `dataset` column): mean ± sample sd over seeds; "
             "'holds' = the mean gap is larger than the larger of the two sds (one seed: no sd)."]  # fmt: skip
    for ds, g in rows.groupby("dataset", sort=False):
        sel = selected(g, "valid NDCG@10")
        table = []
        for model, r in sel.groupby("model", sort=False):
            cfg = {k: v for k, v in json.loads(r["config"].iloc[0]).items() if k != "data"}
            line = {"model": model, "config": config_text(cfg), "seeds": len(r)}
            line.update({m.replace("HR@100", "HIT@100"): mean_std(r[f"test {m}"].tolist(), 4) for m in METRICS})
            sec, par = (r[c].mean() if c in r else float("nan") for c in ("test s/epoch", "test params"))
            line["s/epoch"], line["params"] = sec, "-" if pd.isna(par) else f"{int(par):,}"
            line["kept epochs"] = "/".join("-" if pd.isna(e) else str(int(e)) for e in r["best_epoch"])
            table.append(line)
        lines += ["", f"## {ds}", "", markdown_table(pd.DataFrame(table), digits=2, index=False)]
        order = orderings(g)
        if len(order):
            lines += ["", f"### Do the paper's orderings hold on {ds}?", "",
                      markdown_table(order.drop(columns="dataset"), digits=4, index=False)]  # fmt: skip
    return lines


def _experiment(name: str, description: str, n_negatives: int, dim=32, epochs=5, adv_epochs=2, **fixed) -> Experiment:
    base = {"data": [name], "dim": [dim], "epochs": [epochs], "l_max": [50], **{k: [v] for k, v in fixed.items()}}
    adv = {**base, "eps": [0.5], "adv_epochs": [adv_epochs]}
    cands = [Candidate("Popularity", run=_popularity, grid={"data": [name], "l_max": [50]})]
    cands += [Candidate(row, run=_model(key, a), grid=adv if a else base) for row, (key, a) in ROWS.items()]
    return Experiment(
        name="qualse",
        title="Quaternion models, Table 5.6-style (dissertation Ch. 5.3)",
        protocol="sequences",
        data=lambda args: (Data(name, n_negatives), description),
        candidates=tuple(cands),
        doc=__doc__,
        metrics=tuple(f"test {m}" for m in METRICS),
        seeds=1 if name == QUICK else 3,
        options=_options,
        sections=_sections,
        generic_table=False,
    )


PLANTED = _experiment("planted", DATASETS["planted"], 1000, lr=1e-2, batch_size=256)
ML100K = _experiment("ml-100k", DATASETS["ml-100k"], 1000, lr=5e-3, batch_size=512)
SMOKE = _experiment(QUICK, "tiny planted long/short sequences (60 x 150, smoke)", 100, 8, 1, 1, lr=1e-2, batch_size=256)


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
