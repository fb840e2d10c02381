"""Convert the committed results/masr.csv (written before the results schema) into schema rows:
``python tools/legacy/masr.py`` (rerun the experiment to refresh them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from recsys_book.experiments.masr import DATASETS, EXPERIMENT  # noqa: E402
from recsys_book.results import Row, write_legacy  # noqa: E402


def rows(old: pd.DataFrame):
    prefix = {desc: ds for ds, (_, desc) in DATASETS.items()}
    dataset = "; ".join(desc for _, desc in DATASETS.values())  # what the port writes for both
    chosen: dict[str, dict] = {}
    for r in old.itertuples(index=False):
        name = f"{prefix[r.dataset]}: {r.model}"
        cand = EXPERIMENT.candidate(name)
        cfg = {**chosen.get(cand.grid_from, {}), **{k: list(v)[0] for k, v in cand.grid.items()}}
        note = "" if pd.isna(r.note) else str(r.note)
        if note.endswith("-song"):  # MF-BPR / CML: the side chosen on validation
            cfg["side"] = note.removesuffix("-song")
        elif note.startswith("reg "):  # MDR: the L2 weight chosen on validation
            cfg["reg"] = float(note.split()[1])
        chosen[name] = cfg
        yield Row(EXPERIMENT.name, EXPERIMENT.protocol, dataset, name, cfg, 0,
                  valid={"NDCG@10": r._4}, test={"HR@10": r._2, "NDCG@10": r._3}, train_s=r._5)


def main() -> None:
    path = ROOT / "results" / "masr.csv"
    commit = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "results/masr.csv"],
                            capture_output=True, text=True, check=True).stdout.strip()
    old = pd.read_csv(path)
    assert list(old.columns) == ["dataset", "model", "HR@10", "NDCG@10", "valid NDCG@10", "train s", "note"], old.columns
    print(write_legacy(path.parent, "masr", list(rows(old)), commit))


if __name__ == "__main__":
    main()
