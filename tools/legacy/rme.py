"""Convert the committed results/rme.csv and results/rme_random.csv (written before the results
schema) into schema rows: ``python tools/legacy/rme.py`` (rerun the experiments to refresh them).
Each old row is one split (seed); the old tables kept test metrics only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from recsys_book.experiments.rme import CURVE, EXPERIMENT, MAIN, RANDOM  # noqa: E402
from recsys_book.results import Row, write_legacy  # noqa: E402

DATASET = "MovieLens-100k"
SWEEPS = 10  # the old default cap on ALS sweeps


def rows(old: pd.DataFrame, exp):
    lam = float(old["lambda"].dropna().unique().item())  # one lambda for all ALS models
    chosen: dict[str, dict] = {"RME": {"k": 40, "lam": lam}}
    for r in old.to_dict("records"):
        cand = exp.candidate(r["model"])
        cfg = {**chosen.get(cand.grid_from, {}), **{k: list(v)[0] for k, v in cand.grid.items()}}
        cfg.update(chosen.get(r["model"], {}))
        swept = not pd.isna(r["sweeps"])
        yield Row(exp.name, exp.protocol, DATASET, r["model"], cfg, int(r["seed"]),
                  test={m: r[m] for m in dict.fromkeys(MAIN + CURVE)},
                  best_epoch=int(r["sweeps"]) if swept else None, max_epochs=SWEEPS if swept else None)


def main() -> None:
    for exp in (EXPERIMENT, RANDOM):
        path = ROOT / "results" / f"{exp.name}.csv"
        commit = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", f"results/{exp.name}.csv"],
                                capture_output=True, text=True, check=True).stdout.strip()
        old = pd.read_csv(path)
        assert list(old.columns)[:4] == ["model", "seed", "lambda", "sweeps"], old.columns
        print(write_legacy(path.parent, exp.name, list(rows(old, exp)), commit))


if __name__ == "__main__":
    main()
