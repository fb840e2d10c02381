"""One results schema: every reproduction writes rows of it, every reader reads rows of it.

A **row** is one trained (or fitted) configuration of one model with one seed::

    experiment  protocol  dataset  model  config  seed  best_epoch  max_epochs
    train_s  device  threads  version  commit  code  smoke  written
    valid <METRIC> ...   test <METRIC> ...

* ``config`` is the configuration as canonical JSON (sorted keys), so equal configurations
  compare equal as text; ``config_text`` prints it for a table.
* ``best_epoch``/``max_epochs``: the epoch whose weights were kept (on validation) and the
  cap; empty for closed-form models. A row with ``best_epoch == max_epochs`` was **still
  improving** when it stopped (``still_improving``); the tables mark it.
* ``commit`` is the git commit of the checkout that wrote the row (``-dirty`` when the
  library had uncommitted changes); ``code`` a hash of the library's sources, the key a
  rerun uses to skip rows already written by the same code (``ResultsFile.has``).
  Rows converted from a table written before this schema carry ``code = "legacy"``.
* ``smoke`` is true for a run that is not the reproduction (``--quick``, planted data, a
  subset): such rows live only in ``<stem>_smoke.csv`` (:func:`stem`).

The CSV (``<out>/<stem>.csv``) is the record; the markdown table and the leaderboard are
views of it (:func:`read`, :func:`selected`, :func:`summary`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from recsys_book.utils import write_text_atomic

__all__ = [
    "FIXED",
    "Row",
    "ResultsFile",
    "code_hash",
    "commit",
    "config_text",
    "fmt",
    "markdown_table",
    "mean_std",
    "read",
    "selected",
    "stem",
    "still_improving",
    "summary",
]

#: the schema's fixed columns, in order; metric columns (``valid M``, ``test M``) follow
FIXED = (
    "experiment",
    "protocol",
    "dataset",
    "model",
    "config",
    "seed",
    "best_epoch",
    "max_epochs",
    "train_s",
    "device",
    "threads",
    "version",
    "commit",
    "code",
    "smoke",
    "written",
)

_LIB = Path(__file__).resolve().parent


def stem(name: str, smoke: bool) -> str:
    """The file stem of a table: ``name`` for the reproduction, ``name_smoke`` otherwise.
    The only place a results file is named, so a smoke run cannot overwrite a real table."""
    return f"{name}_smoke" if smoke else name


@lru_cache(maxsize=1)
def code_hash() -> str:
    """A short hash of the library's sources (``recsys_book/**/*.py``, experiments
    included): rows written by other code are not skipped on a rerun."""
    h = hashlib.sha256()
    for path in sorted(_LIB.rglob("*.py")):
        h.update(str(path.relative_to(_LIB)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


@lru_cache(maxsize=1)
def commit() -> str:
    """The checkout's commit (``abc1234``, ``abc1234-dirty`` when the library has
    uncommitted changes), or ``unknown`` outside a git checkout."""
    root = _LIB.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "recsys_book"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "") if head else "unknown"


def _canonical(config: Mapping) -> str:
    def plain(v):
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        if hasattr(v, "item") and callable(v.item):  # numpy / torch scalars
            return v.item()
        return v

    return json.dumps({str(k): plain(v) for k, v in config.items()}, sort_keys=True)


def config_text(config: str | Mapping) -> str:
    """``{"lr": 0.005, "dim": 64}`` -> ``dim=64, lr=0.005`` (empty config -> ``-``)."""
    cfg = json.loads(config) if isinstance(config, str) else dict(config)
    return ", ".join(f"{k}={v}" for k, v in sorted(cfg.items())) or "-"


@dataclass
class Row:
    """One result row; ``valid``/``test`` map metric names to values."""

    experiment: str
    protocol: str
    dataset: str
    model: str
    config: Mapping = field(default_factory=dict)
    seed: int = 0
    valid: Mapping[str, float] = field(default_factory=dict)
    test: Mapping[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    max_epochs: int | None = None
    train_s: float = 0.0
    device: str = "cpu"
    smoke: bool = False
    # provenance that overrides this checkout's (commit, code, threads, version, written):
    # only for rows converted from a table written before this schema (:func:`write_legacy`)
    origin: Mapping = field(default_factory=dict)

    def key(self) -> tuple[str, str, int]:
        return (self.model, _canonical(self.config), int(self.seed))

    def record(self) -> dict:
        import torch

        from recsys_book import __version__

        rec = {
            "experiment": self.experiment,
            "protocol": self.protocol,
            "dataset": self.dataset,
            "model": self.model,
            "config": _canonical(self.config),
            "seed": int(self.seed),
            "best_epoch": self.best_epoch,
            "max_epochs": self.max_epochs,
            "train_s": round(float(self.train_s), 3),
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "version": __version__,
            "commit": commit(),
            "code": code_hash(),
            "smoke": bool(self.smoke),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        rec.update(self.origin)
        rec.update({f"valid {k}": float(v) for k, v in self.valid.items()})
        rec.update({f"test {k}": float(v) for k, v in self.test.items()})
        return rec


def _order(columns: Iterable[str]) -> list[str]:
    cols = list(dict.fromkeys(columns))
    metrics = [c for c in cols if c not in FIXED]
    valid = [c for c in metrics if c.startswith("valid ")]
    test = [c for c in metrics if c.startswith("test ")]
    other = [c for c in metrics if c not in valid and c not in test]
    return list(FIXED) + valid + test + other


def read(path: str | Path) -> pd.DataFrame:
    """The rows of one results file (an empty frame with the fixed columns if absent).
    A file that is not in this schema is an error naming what is missing."""
    path = Path(path)
    if not path.is_file():
        return pd.DataFrame(columns=list(FIXED))
    df = pd.read_csv(path, keep_default_na=True)
    missing = [c for c in FIXED if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path} is not a results file of this schema (missing columns {missing})"
        )
    df["config"] = df["config"].fillna("{}").astype(str)
    df["smoke"] = df["smoke"].astype(str).str.lower().isin(("true", "1"))
    return df


class ResultsFile:
    """``<out>/<stem>.csv`` of one experiment: rows appended one at a time, atomically
    (an interrupted run keeps every finished row), and looked up to resume.

    The file's name comes from ``name`` and ``smoke`` only (:func:`stem`), and a row whose
    ``smoke`` differs from the file's is refused: a smoke run cannot write a real table.
    """

    def __init__(self, out: str | Path, name: str, smoke: bool, replace: bool = False):
        self.name, self.smoke = name, bool(smoke)
        self.path = Path(out) / f"{stem(name, self.smoke)}.csv"
        self.users_path = per_user_path(self.path)
        self._users: pd.DataFrame | None = None  # read when first needed
        try:
            self._rows = read(self.path)
        except ValueError as exc:
            if not replace:
                raise ValueError(
                    f"{exc}. It was written before the results schema: rerun with --force to "
                    "replace it (its first new row overwrites it), or move it aside"
                ) from None
            self._rows = pd.DataFrame(columns=list(FIXED))

    @property
    def rows(self) -> pd.DataFrame:
        return self._rows.copy()

    def has(self, row: Row, code: str | None = None) -> bool:
        """Whether a row with the same dataset, model, configuration and seed was written by
        the same code (``code``: default this checkout's :func:`code_hash`)."""
        if self._rows.empty:
            return False
        model, cfg, seed = row.key()
        r = self._rows
        hit = (
            (r["dataset"] == row.dataset)
            & (r["model"] == model)
            & (r["config"] == cfg)
            & (r["seed"].astype(int) == seed)
            & (r["code"] == (code or code_hash()))
        )
        return bool(hit.any())

    def has_per_user(self, row: Row, metrics: Iterable[str]) -> bool:
        """Whether the per-user values of every one of ``metrics`` are stored for ``row`` as
        written by this code."""
        users = self._per_user()
        key = _user_key(row.dataset, *row.key(), code_hash())
        have = set(users.loc[users["key"] == key, "metric"]) if len(users) else set()
        return set(metrics) <= have

    def add_per_user(self, row: Row, values: Mapping[str, Sequence[float]]) -> None:
        """Store ``row``'s per-user test values (``{"test NDCG@10": [one per evaluation row]}``)
        in ``<stem>.per_user.csv``, atomically, replacing earlier values of the same row and
        metric: what a per-user sign test pairs when a claim's models ran once."""
        users = self._per_user()
        key = _user_key(row.dataset, *row.key(), code_hash())
        if len(users):  # this row's earlier values, by this code or another (never paired again)
            head = json.loads(key)[:4]
            same_row = users["key"].map(lambda k: json.loads(k)[:4] == head).astype(bool)
            users = users[~(same_row & (users["metric"].isin(list(values)) | (users["key"] != key)))]
        new = pd.DataFrame([{"key": key, "metric": m, "values": " ".join(f"{float(v):.6g}" for v in vals)}
                            for m, vals in values.items()])  # fmt: skip
        self._users = pd.concat([users, new], ignore_index=True) if len(users) else new
        write_text_atomic(self.users_path, self._users.to_csv(index=False))

    @property
    def per_user_rows(self) -> pd.DataFrame:
        """The stored per-user values (:func:`read_per_user`'s columns)."""
        return self._per_user().copy()

    def _per_user(self) -> pd.DataFrame:
        if self._users is None:
            self._users = read_per_user(self.path)
        return self._users

    def add(self, row: Row) -> dict:
        """Append ``row`` (replacing an earlier row of the same dataset, model, config and seed)."""
        if bool(row.smoke) != self.smoke:
            raise ValueError(
                f"a {'smoke' if row.smoke else 'real'} row cannot go to {self.path}: "
                f"smoke rows live in {stem(self.name, True)}.csv, real ones in "
                f"{stem(self.name, False)}.csv"
            )
        rec = row.record()
        model, cfg, seed = row.key()
        r = self._rows
        if not r.empty:
            same = (r["dataset"] == row.dataset) & (r["model"] == model) & (r["config"] == cfg)
            same &= r["seed"].astype(int) == seed
            r = r[~same]
        df = pd.concat([r, pd.DataFrame([rec])], ignore_index=True) if not r.empty else pd.DataFrame([rec])
        df = df.reindex(columns=_order(df.columns))
        write_text_atomic(self.path, df.to_csv(index=False))
        self._rows = df
        return rec


def per_user_path(results_csv: str | Path) -> Path:
    """``<stem>.per_user.csv`` beside a results file ``<stem>.csv``."""
    p = Path(results_csv)
    return p.with_name(p.stem + ".per_user.csv")


def _user_key(dataset: str, model: str, config: str, seed: int, code: str) -> str:
    return json.dumps([str(dataset), str(model), str(config), int(seed), str(code)])


def read_per_user(results_csv: str | Path) -> pd.DataFrame:
    """The per-user values stored beside a results file (columns key, metric, values)."""
    p = per_user_path(results_csv)
    if not p.is_file():
        return pd.DataFrame(columns=["key", "metric", "values"])
    return pd.read_csv(p, dtype=str)


def per_user_values(users: pd.DataFrame, rec: Mapping, metric: str) -> np.ndarray | None:
    """The per-user ``metric`` values of results row ``rec`` (a row of :func:`read`) in
    ``users`` (:func:`read_per_user`), written by the code that wrote the row; None if absent."""
    if users is None or not len(users):
        return None
    key = _user_key(rec["dataset"], rec["model"], rec["config"], int(rec["seed"]), rec["code"])
    hit = users[(users["key"] == key) & (users["metric"] == metric)]
    if hit.empty:
        return None
    return np.array(hit["values"].iloc[-1].split(), dtype=float)


def write_legacy(out: str | Path, name: str, rows: Iterable[Row], commit: str, threads="-") -> Path:
    """Write ``<out>/<name>.csv`` in this schema from rows read out of a table that older code
    wrote in its own layout (replacing that file): ``code = "legacy"`` (a rerun of the
    experiment never skips them), ``commit`` the commit whose code wrote the old table. The
    leaderboard and ``REPORT.md`` then read them like any rows, marked as older code's."""
    if not re.fullmatch(r"[0-9a-f]{7,40}", str(commit)):
        raise ValueError(f"commit must be the git commit that wrote the old table, got {commit!r}")
    store = ResultsFile(out, name, smoke=False, replace=True)
    store._rows = pd.DataFrame(columns=list(FIXED))  # the old layout is replaced, not merged
    origin = {"code": "legacy", "commit": str(commit), "threads": threads, "written": "-"}
    n = 0
    for row in rows:
        row.origin = {**origin, **row.origin}
        store.add(row)
        n += 1
    if n == 0:
        raise ValueError(f"no rows to write for {name}")
    return store.path


def sign_test(a: Sequence[float], b: Sequence[float]) -> tuple[int, int, float]:
    """Two-sided exact sign test of paired per-user scores ``a`` against ``b``.

    Returns ``(wins, losses, p)``: users where ``a > b``, where ``a < b`` (ties are dropped),
    and the probability, if wins and losses were equally likely, of a split at least as
    uneven as this one: ``p = min(1, 2 * P[Binomial(n, 1/2) <= min(wins, losses)])`` with
    ``n = wins + losses``; ``p = 1`` when ``n = 0``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"sign_test needs two 1-D arrays of paired scores of the same length, got shapes "
            f"{a.shape} and {b.shape}"
        )
    wins, losses = int((a > b).sum()), int((a < b).sum())
    n, k = wins + losses, min(wins, losses)
    if n == 0:
        return wins, losses, 1.0
    # log-space binomial CDF: exact enough for n in the tens of thousands
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(k + 1)]
    top = max(logs)
    cdf = math.exp(top + math.log(sum(math.exp(x - top) for x in logs)) - n * math.log(2))
    return wins, losses, min(1.0, 2.0 * cdf)


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """The two-sided paired t-test of ``a`` against ``b`` (the same seeds or users, n >= 2),
    the test behind every verdict of the tables: d = a - b, t = mean(d) / (sd(d) / sqrt(n))
    with the sample sd (ddof 1), p = 2 P(T > |t|) for Student's T with n - 1 degrees of
    freedom. All differences equal: (0, 1) when they are 0, (+-inf, 0) otherwise (no spread:
    the sign is certain). Returns (t, p)."""
    from scipy.stats import t as student_t

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = d.size
    if n < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {n}")
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        m = float(d.mean())
        return (0.0, 1.0) if m == 0 else (math.copysign(math.inf, m), 0.0)
    t = float(d.mean() / (sd / math.sqrt(n)))
    return t, float(2 * student_t.sf(abs(t), n - 1))


def still_improving(rows: pd.DataFrame) -> pd.Series:
    """Rows whose kept epoch is their last one: the run stopped while still improving."""
    be, me = rows["best_epoch"], rows["max_epochs"]
    return be.notna() & me.notna() & (be == me)


def selected(rows: pd.DataFrame, on: str = "valid NDCG@10") -> pd.DataFrame:
    """Per (experiment, model): every seed's row of the configuration with the best ``on``
    (a validation metric) at the first seed, as the runner chose it (a grid is trained at
    the first seed, the chosen configuration at the others). Ties keep the configuration
    written first; test columns are never looked at."""
    if rows.empty:
        return rows
    if on not in rows:
        raise KeyError(f"no column {on!r} to select on; the rows have {list(rows.columns)}")
    keep = []
    for _, g in rows.groupby(["experiment", "model"], sort=False):
        first = g[g["seed"].astype(int) == g["seed"].astype(int).min()]
        vals = first[on]
        best = first["config"].iloc[0] if vals.isna().all() else first.loc[vals.idxmax(), "config"]
        keep.append(g[g["config"] == best])
    return pd.concat(keep).reset_index(drop=True)


def summary(rows: pd.DataFrame, metrics: Sequence[str], on: str = "valid NDCG@10") -> pd.DataFrame:
    """One line per model of the selected configurations: mean and sample sd (ddof=1) of
    each ``metrics`` column over seeds, the number of seeds, the kept epochs, whether any
    seed was still improving, training seconds and where it ran."""
    sel = selected(rows, on) if on in rows else rows
    out = []
    for (exp, model), g in sel.groupby(["experiment", "model"], sort=False):
        line = {
            "experiment": exp,
            "model": model,
            "config": config_text(g["config"].iloc[0]),
            "seeds": len(g),
            "epochs": "/".join("-" if pd.isna(e) else str(int(e)) for e in g["best_epoch"]),
            "max epochs": g["max_epochs"].max(),
            "still improving": bool(still_improving(g).any()),
            "train s": g["train_s"].mean(),
            "commit": ",".join(dict.fromkeys(g["commit"].astype(str))),
        }
        for m in metrics:
            if m in g:
                line[m] = g[m].mean()
                line[f"{m} sd"] = g[m].std(ddof=1) if len(g) > 1 else float("nan")
        out.append(line)
    return pd.DataFrame(out)


# -- markdown views ----------------------------------------------------------------------------


def fmt(x, digits: int = 3, missing: str = "-") -> str:
    """A table cell: floats rounded, missing values (None, NaN) as ``missing``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return missing
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


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


def markdown_table(df: pd.DataFrame, digits: int = 3, index: bool = True, missing: str = "-") -> str:
    """A frame as a GitHub markdown table; the index's name heads the first column."""
    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, *vals in df.itertuples(name=None):
        cells = ([str(idx)] if index else []) + [fmt(v, digits, missing) for v in vals]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def where_run(rows: pd.DataFrame) -> str:
    """'cpu, 2 threads, commit abc1234' for the rows of a table (every distinct value)."""
    if rows.empty:
        return "-"

    def uniq(col):
        return ", ".join(str(v) for v in dict.fromkeys(rows[col].astype(str)))

    return f"{uniq('device')}, {uniq('threads')} threads, commit {uniq('commit')}"
