"""Convert the older ``reproduce qualse`` tables (results/qualse.csv, qualse_runs.csv, written by
commit 0aaf8a0 before the results schema) into schema rows in results/qualse.csv:
``python tools/legacy/qualse.py`` from the repository root, once.

One row per (dataset, model, seed) of qualse_runs.csv, with the model names, configuration keys
and metric names of ``recsys_book/experiments/qualse.py``. The older run was
``reproduce qualse --seeds 2 --epochs 4 --adv-epochs 2`` (results/qualse.md), otherwise at the
defaults the port declares; it recorded test metrics only (no validation rows, no wall time).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from recsys_book.experiments.qualse import DATASETS, ROWS
from recsys_book.results import Row, write_legacy

ROOT = Path(__file__).resolve().parents[2]
RES = ROOT / "results"
EPOCHS, ADV_EPOCHS = 4, 2  # the older run's command line (results/qualse.md)
SETTINGS = {"planted": {"lr": 1e-2, "batch_size": 256}, "ml-100k": {"lr": 5e-3, "batch_size": 512}}


def commit(name: str) -> str:
    cmd = ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", f"results/{name}.csv"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def rows(runs: pd.DataFrame) -> list[Row]:
    out = []
    for r in runs.to_dict("records"):
        ds, model = r["dataset"], r["model"]
        test = {"HR@100": r["HIT@100"], "NDCG@100": r["NDCG@100"], "NDCG@10": r["NDCG@10"], "HR@10": r["HR@10"]}
        kw = {}
        if model == "Popularity":
            cfg = {"data": ds, "l_max": 50}
        else:
            adversarial = ROWS[model][1]
            cfg = {"data": ds, "dim": 32, "epochs": EPOCHS, "l_max": 50, **SETTINGS[ds]}
            if adversarial:
                cfg.update(eps=0.5, adv_epochs=ADV_EPOCHS)
            test.update({"s/epoch": r["sec_per_epoch"], "params": r["params"]})
            kw = dict(best_epoch=int(r["best_epoch"]), max_epochs=ADV_EPOCHS if adversarial else EPOCHS)
        out.append(Row("qualse", "sequences", DATASETS[ds], model, cfg, int(r["seed"]), test=test,
                       train_s=float("nan"), **kw))  # fmt: skip
    return out


def main() -> None:
    if "config" in pd.read_csv(RES / "qualse.csv", nrows=1).columns:
        raise SystemExit("results/qualse.csv is already in the results schema")
    path = write_legacy(RES, "qualse", rows(pd.read_csv(RES / "qualse_runs.csv")), commit("qualse"))
    (RES / "qualse_runs.csv").unlink()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
