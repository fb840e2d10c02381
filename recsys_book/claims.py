"""The papers' claims that the course judges, as data, and the one judge of them.

A claim says that one model beats another on a test metric, as a paper puts it. Every
reproduction's claims live here, keyed by its name (``python -m recsys_book reproduce NAME``
judges them when it writes ``results/NAME.md``), and a chapter judges the same claims on the
committed rows with :func:`judged`, without importing the experiment and its training stack.

The judge (:func:`judge`): on the configuration chosen on validation (``SELECT_ON``), the mean
of each model over its seeds, the paired t-test over their common seeds, and a verdict:
"holds" / "does NOT hold" when p < :data:`ALPHA`; "within noise (...)" when not; "no verdict"
when a selected run's kept epoch was its epoch cap (it was still improving); "(1 seed:
untested)" when there is nothing to pair; "not run" when a model has no rows. Models that ran
once at the same seed (deterministic ones on one split) are paired user by user instead: the
exact sign test on the per-user test values the runner stores beside the rows
(``<stem>.per_user.csv``); its direction (more users higher or lower) decides "holds".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from recsys_book.results import (
    paired_t_test,
    per_user_values,
    read,
    read_per_user,
    selected,
    sign_test,
    still_improving,
)

ALPHA = 0.05  # a verdict needs its paired test (t-test over seeds, or sign test over users) below this


@dataclass(frozen=True)
class Claim:
    """``winner`` beats ``loser`` on ``metric`` (a test metric), as ``says`` puts it."""

    winner: str
    loser: str
    metric: str
    says: str


def _pairs(pairs, metric: str, says: str, prefix: str = "") -> tuple[Claim, ...]:
    return tuple(Claim(prefix + w, prefix + v, metric, says) for w, v in pairs)


# -- every reproduction's claims -----------------------------------------------------------

_MASR_PAIRS = [("MASR", "MDR"), ("MASR", "MASS"), ("AMDR", "MDR"), ("AMASS", "MASS"), ("AMASR", "MASR"),
               ("AMASR", "MASR +BPR epochs"), ("AMASR", "A(fixed)MASR"), ("MDR", "CML"), ("CML", "MF-BPR"),
               ("MASS", "FISM"), ("MASS", "CMN")]  # fmt: skip
MASS_ATTENTION = ("nonmem-dot", "nonmem-metric", "mem-dot")  # Fig. 4.13's other attention designs
_MASR_ABLATIONS = [("MDR", "MDR_us"), ("MDR", "MDR_ps"), ("MASS", "MASS_ups"), ("MASS", "MASS_ps"),
                   *(("MASS", f"MASS {a}") for a in MASS_ATTENTION)]  # fmt: skip

# Table 5.6's orderings (the paper: they hold on all six datasets) and our 1/4 ablation
QUALSE_ORDERINGS = [
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
    # the ablation: ours, not the paper's
    ("QUALE (no /4)", "AASVD", "quaternion > real, without the 1/4"),
    ("QUASE (LSTM, no /4)", "ALSTM", "quaternion > real, without the 1/4"),
    ("QUASE (GRU, no /4)", "AGRU", "quaternion > real, without the 1/4"),
    ("QUALE (no /4)", "QUALE", "the 1/4 costs accuracy"),
    ("QUASE (LSTM, no /4)", "QUASE (LSTM)", "the 1/4 costs accuracy"),
    ("QUASE (GRU, no /4)", "QUASE (GRU)", "the 1/4 costs accuracy"),
]
QUALSE_METRICS = ("HR@100", "NDCG@100")  # the paper's HIT@100 and NDCG@100

CORML_TUNED = "CoRML (tuned on valid)"
LRML_RECOMPUTE, LRML_WARM, LRML_TRANSLATION = "LRML (recompute)", "LRML (warm from N = 1)", "Translation (N = 1)"
PMI_R = "test PMI r"

CLAIMS: dict[str, tuple[Claim, ...]] = {
    "baselines": (
        Claim("CML (BPR)", "MF-BPR", "test HR@10", "metric learning beats the dot product (Table 3)"),
        Claim("NeuMF++", "MF-BPR", "test HR@10", "NeuMF++ beats MF-BPR (Table 3)"),
        Claim("SLIM", "Item-KNN", "test HR@10", "SLIM beats Item-KNN (Table 3)"),
    ),
    "corml": (
        Claim(CORML_TUNED, "EASE", "test NDCG@10", "CoRML beats EASE (Table 2)"),
        Claim(CORML_TUNED, "GF-CF", "test NDCG@10", "CoRML beats GF-CF (Table 2)"),
    ),
    "lrml": (
        Claim(LRML_RECOMPUTE, "CML (hinge)", "test NDCG@10", "LRML beats CML (the paper, on ML-1M)"),
        Claim(LRML_RECOMPUTE, "CML (hinge)", "test HR@10", "LRML beats CML (the paper, on ML-1M)"),
        Claim(LRML_WARM, LRML_TRANSLATION, "test NDCG@10", "memory adds to one global relation (LRML contains N = 1)"),
        Claim(LRML_RECOMPUTE, LRML_TRANSLATION, "test NDCG@10", "memory adds to one global relation (LRML contains N = 1)"),
    ),  # fmt: skip
    "masr": _pairs(_MASR_PAIRS + _MASR_ABLATIONS, "test NDCG@10", "Tables 4.4-4.6", "planted: ")
    + _pairs(_MASR_PAIRS, "test NDCG@10", "Tables 4.4-4.6", "ML-100k: "),
    "pmi": (
        Claim("SDM-3", "SDM-1", PMI_R, "the correlation rises from 1 to 3 hops (SDMR Fig. 5)"),
        Claim("SDM-4", "SDM-1", PMI_R, "the correlation rises from 1 to 4 hops (SDMR Fig. 5)"),
        *(Claim("MASS", f"MASS {a}", PMI_R, "memory metric attention follows PMI most (Fig. 4.13)") for a in MASS_ATTENTION),
        Claim("QUALE", "AASVD", PMI_R, "quaternion attention follows PMI more (Fig. 5.13)"),
        Claim("QUASE (LSTM)", "ALSTM", PMI_R, "quaternion attention follows PMI more (Fig. 5.13)"),
    ),  # fmt: skip
    "qualse": tuple(Claim(w, v, f"test {m}", c) for w, v, c in QUALSE_ORDERINGS for m in QUALSE_METRICS),
    "rme": (
        Claim("RME", "WMF", "test NDCG@20", "RME beats WMF (Table 4.2)"),
        Claim("RME", "Cofactor", "test NDCG@20", "RME beats Cofactor (Table 4.2)"),
        Claim("RME", "U_RME", "test NDCG@20", "RME beats U_RME (Table 4.2)"),
        Claim("RME", "I_RME", "test NDCG@20", "RME beats I_RME (Table 4.2)"),
        Claim("Cofactor", "WMF", "test NDCG@20", "Cofactor beats WMF (Table 4.2)"),
    ),
    "sdmr": (
        Claim("SDM", "SDP", "test HR@10", "SDM beats SDP (Table 3)"),
        Claim("SDM", "Caser", "test HR@10", "SDM beats the sequential baselines, Caser (Table 3)"),
        Claim("SDM", "PRME_s", "test NDCG@10", "SDM beats PRME_s under equal budgets (Table 3)"),
        Claim("SDMR", "SDM", "test NDCG@10", "SDMR beats SDM (Table 3)"),
        Claim("SDMR (Eq. 19)", "SDM", "test NDCG@10", "the beta-fusion beats SDM (Eq. 19)"),
    ),
}
CLAIMS["rme_random"] = CLAIMS["rme"]

# figure sweeps: rows that draw a paper's figure, not a model of the table (a grid run once,
# nothing chosen from it): the model table and the leaderboard leave them out
SWEEPS: dict[str, tuple[str, ...]] = {"sdmr": ("SDM-h, d (Fig. 6)",)}

# the validation metric each reproduction chooses its configurations on (None: nothing is chosen)
SELECT_ON: dict[str, str | None] = {"rme": "valid NDCG@100", "rme_random": "valid NDCG@100", "crowdfunding": None}


def select_on(name: str) -> str | None:
    """The validation metric reproduction ``name`` chooses on ("valid NDCG@10" unless said)."""
    return SELECT_ON.get(name, "valid NDCG@10")


# -- the judge ------------------------------------------------------------------------------


def chosen(rows: pd.DataFrame, on: str | None) -> pd.DataFrame:
    """The rows selected on ``on`` (:func:`recsys_book.results.selected`); all rows when
    nothing is chosen (``on`` None or absent)."""
    return selected(rows, on) if on is not None and on in rows and not rows.empty else rows


def judge(
    claims: Sequence[Claim],
    rows: pd.DataFrame,
    select_on: str | None = "valid NDCG@10",
    per_user: pd.DataFrame | None = None,
) -> list[dict]:
    """Each claim on the rows selected on ``select_on``: the two means, the number of common
    seeds ``n``, the paired test's ``p``, which ``test`` gave it, and the ``verdict`` (see the
    module). With 2+ common seeds the test is the paired t-test over them; when both models
    ran once (deterministic models on one split: nothing to pair over seeds) and ``per_user``
    (:func:`recsys_book.results.read_per_user`) holds both rows' per-user test values, it is
    the exact per-user sign test."""
    sel = chosen(rows, select_on)
    out = []
    for c in claims:
        a, b = sel[sel["model"] == c.winner], sel[sel["model"] == c.loser]
        if a.empty or b.empty or c.metric not in sel:
            out.append({"claim": c, "verdict": "not run", "a": None, "b": None, "p": None, "n": 0, "test": "-"})
            continue
        pa, pb = a.set_index("seed")[c.metric], b.set_index("seed")[c.metric]
        common = pa.index.intersection(pb.index)
        p, test = None, "-"
        if len(common) >= 2:
            p, test = paired_t_test(pa[common], pb[common])[1], f"paired t-test over {len(common)} seeds"
        holds = pa.mean() > pb.mean()
        if len(common) == 1 and len(a) == len(b) == 1:  # the same seed: the same split and test rows
            va = per_user_values(per_user, a.iloc[0], c.metric)
            vb = per_user_values(per_user, b.iloc[0], c.metric)
            if va is not None and vb is not None and va.shape == vb.shape:
                wins, losses, p = sign_test(va, vb)
                test = f"per-user sign test ({wins} users higher, {losses} lower)"
                holds = wins > losses  # the direction the test measured, not the means
        if bool(still_improving(a).any() or still_improving(b).any()):
            verdict = "no verdict: a run was still improving at its epoch cap"
        elif p is None:
            verdict = ("holds" if holds else "does NOT hold") + f" ({len(common) or 1} seed: untested)"
        elif p >= ALPHA:
            verdict = f"within noise (p >= {ALPHA}): {'higher' if holds else 'lower'} in the mean only"
        else:
            verdict = "holds" if holds else "does NOT hold"
        out.append({"claim": c, "verdict": verdict, "a": pa.mean(), "b": pb.mean(), "p": p, "n": len(common),
                    "test": test})  # fmt: skip
    return out


_COLUMNS = ["winner", "loser", "metric", "says", "winner mean", "loser mean", "seeds", "test", "p", "verdict"]


def table(verdicts: Sequence[dict]) -> pd.DataFrame:
    """:func:`judge`'s verdicts as a table: winner, loser, metric, says, the two means, seeds,
    which paired test, its p and the verdict."""
    return pd.DataFrame(
        [
            {"winner": v["claim"].winner, "loser": v["claim"].loser, "metric": v["claim"].metric,
             "says": v["claim"].says, "winner mean": v["a"], "loser mean": v["b"], "seeds": v["n"],
             "test": v["test"], "p": v["p"], "verdict": v["verdict"]}  # fmt: skip
            for v in verdicts
        ],
        columns=_COLUMNS,
    )


def judged(name: str, rows: pd.DataFrame | None = None, results_dir: str | Path | None = None) -> pd.DataFrame:
    """Reproduction ``name``'s claims judged on ``rows`` (default: the committed
    ``results/NAME.csv`` and its per-user values) as ``reproduce NAME`` judges them, as a
    :func:`table`: what a chapter shows of a committed table."""
    if name not in CLAIMS:
        raise KeyError(f"no claims for {name!r}; known: {sorted(CLAIMS)}")
    from recsys_book.utils import repo_root

    path = Path(results_dir or repo_root() / "results") / f"{name}.csv"
    rows = read(path) if rows is None else rows
    users = read_per_user(path)  # looked up by each row's key and code: other rows find none
    return table(judge(CLAIMS[name], rows, select_on(name), users))


def qualse_orderings(rows: pd.DataFrame, metrics: Sequence[str] = QUALSE_METRICS) -> pd.DataFrame:
    """Table 5.6's orderings and the 1/4 ablation (:data:`QUALSE_ORDERINGS`) judged per dataset
    of ``rows`` (results/qualse.csv holds two): one line per (dataset, pair) whose two models
    both have rows. Columns: dataset, claim, pair, seeds, then per metric ``gap <m>``,
    ``p <m>`` and ``<m>`` (the verdict)."""
    out = []
    for ds, g in rows.groupby("dataset", sort=False):
        have = set(g["model"])
        verdicts = {(v["claim"].winner, v["claim"].loser, v["claim"].metric): v for v in judge(CLAIMS["qualse"], g)}
        for win, lose, claim in QUALSE_ORDERINGS:
            if win not in have or lose not in have:
                continue
            row = {"dataset": ds, "claim": claim, "pair": f"{win} > {lose}"}
            for m in metrics:
                v = verdicts[(win, lose, f"test {m}")]
                row["seeds"] = v["n"]
                row[f"gap {m}"], row[f"p {m}"], row[m] = v["a"] - v["b"], v["p"], v["verdict"]
            out.append(row)
    return pd.DataFrame(out)
