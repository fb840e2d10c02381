"""What every ``python -m recsys_book reproduce NAME`` shares, written once.

An experiment module keeps only what is its paper's (the grid, the models, the paper's
numbers, the claims it judges) and uses these pieces for the rest:

    p = parser("lrml", __doc__)                  # --seed/--seeds, --quick, --out
    args = p.parse_args(argv)
    for cfg in configs(GRID, args.quick): ...     # the grid, first values only when --quick
    best = select(candidates, key="valid NDCG@10")  # selection on VALIDATION, never on test
    write_results(args.out, "lrml", {"": table, "_grid": grid}, markdown)   # atomic files

Results go to ``--out`` (default ``./results``, relative to where the command runs: in a
checkout, run it from the repository root to update the committed tables).
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd
import torch

from recsys_book.utils import write_text_atomic

PROG = "python -m recsys_book reproduce"


def parser(
    name: str, doc: str | None, seeds: int | None = None, planted: bool = False
) -> argparse.ArgumentParser:
    """The common options: ``--seed`` (first seed), ``--seeds N`` when ``seeds`` is given
    (its default number of repeated runs), ``--quick`` (smoke run), ``--out`` (folder), and
    ``--planted`` (planted data instead of the real dataset) when ``planted``."""
    p = argparse.ArgumentParser(
        prog=f"{PROG} {name}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seed", type=int, default=0, help="split and training seed (default 0)")
    if seeds is not None:
        p.add_argument(
            "--seeds",
            type=int,
            default=seeds,
            help=f"repeated runs, seeds seed..seed+N-1 ({seeds})",
        )
    p.add_argument("--quick", action="store_true", help="smoke run: first grid values, few epochs")
    p.add_argument("--out", default="results", help="folder for the tables (default ./results)")
    if planted:
        p.add_argument(
            "--planted", action="store_true", help="planted data instead of the real dataset"
        )
    return p


def stem(name: str, smoke: bool = False) -> str:
    """The file stem of a table: ``name`` for the reproduction, ``name_smoke`` for a run that
    is not it (``--quick``, planted data, a subset), so a smoke run never overwrites a real
    table (``reproduce all --quick`` looks for the same names)."""
    return f"{name}_smoke" if smoke else name


def command(name: str, argv: Sequence[str] | None) -> str:
    """The command line that reproduces a table, as written in its report."""
    return f"{PROG} {name}" + (f" {' '.join(argv)}" if argv else "")


def configs(grid: dict[str, list], quick: bool = False) -> list[dict]:
    """Every combination of a grid ({name: values}); only the first values when ``quick``."""
    keys = list(grid)
    values = [list(v)[:1] if quick else list(v) for v in grid.values()]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def select(rows: Iterable[dict], key: str) -> dict:
    """The row with the highest ``key`` (a validation metric): choices are made on
    validation only. Ties keep the first row (the grid's order)."""
    best = None
    for row in rows:
        if best is None or row[key] > best[key]:
            best = row
    if best is None:
        raise ValueError("nothing to select from: the grid is empty")
    return best


def mean_std(values: Sequence[float], digits: int = 3) -> str:
    """'0.712 ± 0.004' over seeds (sample std; a single value prints alone)."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return "-"
    m = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{m:.{digits}f}"
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
    return f"{m:.{digits}f} ± {sd:.{digits}f}"


def fmt(x, digits: int = 3, missing: str = "-") -> str:
    """A table cell: floats rounded, missing values (None, NaN) as ``missing``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return missing
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def markdown_table(
    df: pd.DataFrame, digits: int = 3, index: bool = True, missing: str = "-"
) -> str:
    """A pandas frame as a GitHub markdown table (no extra dependency); the index's name
    heads the first column; missing cells print as ``missing``."""
    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, *vals in df.itertuples(name=None):  # per-column types: integers stay integers
        cells = ([str(idx)] if index else []) + [fmt(v, digits, missing) for v in vals]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    """One line on where a table was produced (for the reports)."""
    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    return (
        f"{platform.machine()}, {torch.get_num_threads()} torch threads, {dev}, "
        f"torch {torch.__version__}"
    )


def write_results(
    out: str | Path, stem: str, tables: dict[str, pd.DataFrame], markdown: str | None = None
) -> list[Path]:
    """Write ``<out>/<stem><suffix>.csv`` for each table and ``<out>/<stem>.md``, atomically
    (a crash leaves the previous files, never half-written ones). Returns the paths."""
    folder = Path(out)
    paths = []
    for suffix, table in tables.items():
        path = folder / f"{stem}{suffix}.csv"
        # a named index is data (pandas turns set_index("hops") on 1..n into a RangeIndex)
        index = table.index.name is not None or not isinstance(table.index, pd.RangeIndex)
        write_text_atomic(path, table.to_csv(index=index))
        paths.append(path)
    if markdown is not None:
        paths.append(write_text_atomic(folder / f"{stem}.md", markdown))
    return paths


class Stopwatch:
    """``with Stopwatch() as t: ...; t.seconds``."""

    def __enter__(self) -> "Stopwatch":
        self.t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0


def timed(fn: Callable, *args, **kwargs):
    """(fn(*args, **kwargs), seconds)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0
