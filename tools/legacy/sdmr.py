"""Convert the SDMR tables written before the results schema into schema rows.

    python tools/legacy/sdmr.py [RESULTS_DIR]

Reads ``sdmr.csv`` (Table 3, one row per model), ``sdmr_ablation.csv``, ``sdmr_hops.csv`` and
``sdmr_seeds.csv`` (SDM's recipe ablation, hops and training seeds) in their old layout and
writes ``sdmr.csv`` in the schema of ``recsys_book.results`` with the model names, config keys
and metric names of ``recsys_book.experiments.sdmr``, marked ``code = "legacy"`` and with the
commit that wrote the old table. The three extra CSVs are then redundant (delete them).
Run it once, on the old files: a second run finds ``sdmr.csv`` already converted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from recsys_book.experiments import sdmr
from recsys_book.results import Row, write_legacy

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = {  # the old code's epoch caps (base epochs 10, SDM budget 30)
    "Item-KNN": None, "SDMR (Eq. 19)": None, "NeuMF++": sdmr.EPOCHS // 2,
    "SDMR": max(2, sdmr.EPOCHS // 3), "SDMR (no ReLU)": max(2, sdmr.EPOCHS // 3),
}
CONFIGS = {  # the configuration each old row trained, as the port writes it
    "Item-KNN": {},
    "MF-BPR": {"dim": 64, "lr": 5e-3, "reg": 1e-4},
    "CML": {"dim": 64, "lr": 5e-3},
    "NeuMF++": {"dim": 32, "lr": 1e-3},
    "CMN": {"dim": 64, "lr": 5e-3},
    "PRME": {"dim": 64, "lr": 5e-3},
    "PRME_s": {"dim": 64, "lr": 5e-3},
    "TransRec": {"dim": 64, "lr": 5e-3, "reg": 1e-4},
    "Caser": {"dim": 64, "lr": 5e-3},
    "SDP": {"dim": 64, "lr": 2e-3},
    "SDMR": {"lr": 1e-3},
    "SDMR (no ReLU)": {"lr": 1e-3},
}


def _int(x):
    return None if pd.isna(x) else int(x)


def _sdm_row(r, seed: int) -> Row:
    budget = sdmr.RECIPES[r["recipe"]][2]
    return Row(
        "sdmr", "loo", "MovieLens-100k", "SDM", {"hops": int(r["hops"]), "recipe": r["recipe"]}, seed,
        valid={"NDCG@10": r["valid NDCG@10"], "HR@10": r["valid HR@10"]},
        test={"HR@10": r["HR@10"], "NDCG@10": r["NDCG@10"]},
        best_epoch=_int(r["best epoch"]), max_epochs=30 if budget else sdmr.EPOCHS, train_s=r["seconds"],
    )


def rows(results: Path):
    """The schema rows of the four old tables, SDM's first (as the port trains them)."""
    ablation = pd.read_csv(results / "sdmr_ablation.csv")
    hops = pd.read_csv(results / "sdmr_hops.csv")
    seeds = pd.read_csv(results / "sdmr_seeds.csv")
    table = pd.read_csv(results / "sdmr.csv")
    seen = set()
    for r in [*ablation.to_dict("records"), *hops.to_dict("records")]:
        key = (r["recipe"], int(r["hops"]))
        if key not in seen:  # the chosen ablation row is also the hops table's row
            seen.add(key)
            yield _sdm_row(r, 0)
    for r in seeds[seeds["seed"] != 0].to_dict("records"):
        yield _sdm_row(r, int(r["seed"]))
    for r in table[table["model"] != "SDM"].to_dict("records"):
        m = r["model"]
        cfg = CONFIGS.get(m)
        if m == "SDMR (Eq. 19)":  # "beta 0.1 chosen on validation"
            cfg = {"beta": float(r["note"].split()[1])}
        yield Row(
            "sdmr", "loo", "MovieLens-100k", m, cfg, 0,
            valid={"NDCG@10": r["valid NDCG@10"]}, test={"HR@10": r["HR@10"], "NDCG@10": r["NDCG@10"]},
            best_epoch=_int(r["best epoch"]), max_epochs=EPOCHS.get(m, sdmr.EPOCHS), train_s=r["seconds"],
        )


def main(argv=None) -> int:
    results = Path((argv or sys.argv[1:] or [ROOT / "results"])[0])
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "results/sdmr.csv"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    # the old run: 2 torch threads on a CPU (results/sdmr.md)
    path = write_legacy(results, "sdmr", list(rows(results)), commit, threads=2)
    print(f"wrote {path} (legacy rows of commit {commit})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
