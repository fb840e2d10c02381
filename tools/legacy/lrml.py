"""Convert the older ``reproduce lrml`` tables (results/lrml.csv, lrml_grid.csv, lrml_seeds.csv,
written by commit 3f27024 before the results schema) into schema rows in results/lrml.csv:
``python tools/legacy/lrml.py`` from the repository root, once.

Same model names, configuration keys and metric names as ``recsys_book/experiments/lrml.py``
writes: the grid rows (training seed 0, validation only unless chosen) and the other seeds'
rows of each chosen configuration; popularity from the summary table.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from recsys_book.results import Row, write_legacy

ROOT = Path(__file__).resolve().parents[2]
RES = ROOT / "results"
BASE = {"dim": 64, "lr": 2e-3}


def commit(name: str) -> str:
    cmd = ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", f"results/{name}.csv"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def config(model: str, n_memory=None, margin=None, reg=None) -> dict:
    if model == "MF-BPR":
        return {**BASE, "reg": float(reg)}
    if model == "CML (hinge)":
        return {**BASE, "margin": float(margin)}
    return {**BASE, "n_memory": int(n_memory), "margin": float(margin)}


def parse(model: str, text: str) -> dict:
    """'N=16, margin=0.25' / 'margin=0.5' / 'reg=0.0' -> the port's configuration."""
    kv = dict(p.strip().split("=") for p in text.split(","))
    return config(model, kv.get("N"), kv.get("margin"), kv.get("reg"))


def rows(table: pd.DataFrame, grid: pd.DataFrame, seeds: pd.DataFrame) -> list[Row]:
    def row(model, cfg, seed, **kw):
        return Row("lrml", "loo", "MovieLens-100k", model, cfg, seed, **kw)

    pop = table.loc["Popularity"]
    out = [row("Popularity", {}, 0, valid={"NDCG@10": pop["valid NDCG@10"]},
               test={"HR@10": pop["HR@10 mean"], "NDCG@10": pop["NDCG@10 mean"]})]  # fmt: skip
    tested = {(s["model"], str(parse(s["model"], s["config"])), int(s["seed"])): s for s in seeds.to_dict("records")}
    for g in grid.to_dict("records"):
        m = g["model"]
        cfg = config(m, g["n_memory"], g["margin"], g["reg"])
        s = tested.pop((m, str(cfg), 0), None)
        test = {} if s is None else {"HR@10": s["test HR@10"], "NDCG@10": s["test NDCG@10"]}
        out.append(row(m, cfg, 0, valid={"NDCG@10": g["valid NDCG@10"]}, test=test,
                       best_epoch=int(g["best epoch"]), max_epochs=30, train_s=g["seconds"]))  # fmt: skip
    for (m, _, seed), s in tested.items():  # the chosen configurations at the other seeds
        out.append(row(m, parse(m, s["config"]), seed, valid={"NDCG@10": s["valid NDCG@10"]},
                       test={"HR@10": s["test HR@10"], "NDCG@10": s["test NDCG@10"]},
                       best_epoch=int(s["best epoch"]), max_epochs=30, train_s=s["seconds"]))  # fmt: skip
    return out


def main() -> None:
    table = pd.read_csv(RES / "lrml.csv", index_col=0)
    if "config" not in table.columns or "HR@10 mean" not in table.columns:
        raise SystemExit("results/lrml.csv is not the older layout: already converted")
    grid, seeds = pd.read_csv(RES / "lrml_grid.csv"), pd.read_csv(RES / "lrml_seeds.csv")
    path = write_legacy(RES, "lrml", rows(table, grid, seeds), commit("lrml"))
    for old in ("lrml_grid", "lrml_seeds"):
        (RES / f"{old}.csv").unlink()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
