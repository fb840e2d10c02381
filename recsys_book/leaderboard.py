"""The course's leaderboard: every model's committed numbers on ML-100k, by protocol.

Each reproduction writes its rows under ``results/`` (``python -m recsys_book reproduce
NAME``), all in one schema (:mod:`recsys_book.results`): one row per trained configuration
and seed. :func:`load` reads them into one long table, one line per (protocol, model): the
configuration each experiment chose on validation, its test metrics' mean and sample
standard deviation over seeds. Numbers are only comparable *within* a protocol:
leave-one-out with 100 sampled negatives (SDMR Table 3) gives HR@10 near .7 where full
ranking on a random split (CoRML Table 2) gives NDCG@10 near .4 for the same model. So the
leaderboard is one table per protocol, never one ranking of everything.

Protocols (``PROTOCOLS``) and the tables they read:

* ``loo``: leave-one-out, 100 sampled negatives, HR@10 / NDCG@10 (``baselines``, ``sdmr``,
  ``lrml``). Where a model appears in two tables (MF-BPR is in ``baselines`` and ``sdmr``,
  trained with different grids on the same split), the line with the higher *validation*
  NDCG@10 is kept, as the experiments themselves select: never on test.
* ``random_full``: random per-user 60/20/20 split, full ranking, NDCG@10 / MRR@10 /
  Novelty@10 (CoRML Eq. 29) (``corml``).
* ``liked_random``: liked items split 70/10/20 per user, full ranking (RME Table 4.2;
  ``rme_random``): mean and std over the splits.
* ``sequences``: the quaternion chapter's next-item protocol on ML-100k (``qualse``).

``train s`` is the training wall time recorded in the rows (``commit`` says which code
wrote them; ``legacy`` rows were converted from tables written before the schema). The
paper columns are filled only where the paper reports the same dataset and protocol:
SDMR's Table 3 on ML-100k (from :mod:`recsys_book.published`).

The statistics a leaderboard needs beside the means: :func:`sign_test` (is one model's
per-user advantage more than chance?) and :func:`pareto_front` (which models no other beats
on both of two criteria, e.g. accuracy and novelty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from recsys_book import published
from recsys_book import results as R
from recsys_book.claims import SWEEPS
from recsys_book.results import sign_test

__all__ = [
    "PROTOCOLS",
    "SDMR_TABLE3",
    "Protocol",
    "figure_accuracy_novelty",
    "figure_accuracy_time",
    "figure_paper_vs_ours",
    "load",
    "MissingResults",
    "results_folder",
    "pareto_front",
    "sign_test",
    "table",
]


@dataclass(frozen=True)
class Protocol:
    key: str
    title: str
    metric: str  # the accuracy column a chart ranks by
    sources: tuple[str, ...]  # results/<stem>.csv
    chapter: str
    select_on: str = "valid NDCG@10"  # the validation column its experiments chose on


PROTOCOLS: dict[str, Protocol] = {
    p.key: p
    for p in (
        Protocol(
            "loo",
            "leave-one-out, 100 sampled negatives (SDMR Table 3)",
            "HR@10",
            ("baselines", "sdmr", "lrml"),
            "01, 04, 06",
        ),
        Protocol(
            "random_full",
            "random 60/20/20 per user, full ranking (CoRML Table 2)",
            "NDCG@10",
            ("corml",),
            "05",
        ),
        Protocol(
            "liked_random",
            "liked items 70/10/20 per user, full ranking (RME Table 4.2)",
            "NDCG@20",
            ("rme_random",),
            "02",
        ),
        Protocol(
            "sequences",
            "next item of a sequence, 100 sampled negatives (quaternion chapter)",
            "HR@10",
            ("qualse",),
            "07",
        ),
    )
}

#: SDMR paper, Table 3, ML-100k column: {model: (HR@10, NDCG@10)}, read from
#: :mod:`recsys_book.published` (the one copy).
SDMR_TABLE3: dict[str, tuple[float, float]] = {
    m: (v["HR@10"], v["NDCG@10"]) for m, v in published.table("SDMR", "Table 3").items()
}

METRICS = ("HR@10", "NDCG@10", "MRR@10", "Novelty@10", "Recall@5", "NDCG@20", "MAP@10")
COLUMNS = [
    "protocol",
    "model",
    "source",
    "config",
    "HR@10",
    "HR@10 std",
    "NDCG@10",
    "NDCG@10 std",
    "MRR@10",
    "Novelty@10",
    "Recall@5",
    "NDCG@20",
    "NDCG@20 std",
    "MAP@10",
    "valid NDCG@10",
    "train s",
    "seeds",
    "still improving",
    "commit",
    "paper HR@10",
    "paper NDCG@10",
]


class MissingResults(FileNotFoundError):
    """A results table the leaderboard needs is not there."""


def _read(results: Path, stem: str) -> pd.DataFrame:
    path = results / f"{stem}.csv"
    if not path.is_file():
        name = {"rme_random": "rme --protocol random"}.get(stem, stem)
        raise MissingResults(
            f"{path} does not exist: the leaderboard reads the committed reproduction tables. "
            f"Produce it with `python -m recsys_book reproduce {name}` (or all of them with "
            f"`python -m recsys_book reproduce all`), or pass results=<folder that has it>."
        )
    return R.read(path)


def _rows(rows: pd.DataFrame, proto: Protocol, stem: str) -> pd.DataFrame:
    """One line per model of one results file: the configuration chosen on validation, its
    test metrics' mean and sample sd over seeds. Planted-data and smoke rows are left out:
    the leaderboard is MovieLens-100k's."""
    rows = rows[~rows["smoke"] & ~rows["dataset"].astype(str).str.contains("planted", case=False)]
    rows = rows[~rows["model"].isin(SWEEPS.get(stem, ()))]  # a figure's sweep is not a model
    on = proto.select_on if proto.select_on in rows else None
    sel = R.selected(rows, on) if on else rows
    out = []
    for model, g in sel.groupby("model", sort=False):
        line = {
            "model": model,
            "config": R.config_text(g["config"].iloc[0]),
            "valid NDCG@10": g["valid NDCG@10"].mean() if "valid NDCG@10" in g else math.nan,
            "train s": g["train_s"].mean(),
            "seeds": len(g),
            "still improving": bool(R.still_improving(g).any()),
            "commit": ",".join(dict.fromkeys(g["commit"].astype(str))),
        }
        for m in METRICS:
            col = f"test {m}"
            if col in g and g[col].notna().any():
                line[m] = g[col].mean()
                if len(g) > 1:
                    line[f"{m} std"] = g[col].std(ddof=1)
        out.append(line)
    df = pd.DataFrame(out)
    df["protocol"], df["source"] = proto.key, stem
    return df


def _paper_name(model: str) -> str | None:
    """The Table 3 row a model of ours corresponds to (``CML (hinge)`` -> ``CML``)."""
    if model in SDMR_TABLE3:
        return model
    base = model.split(" (")[0]
    return base if base in SDMR_TABLE3 and base != "SDMR" else None


def results_folder() -> Path:
    """The repository's committed ``results/`` (whatever the working folder)."""
    from recsys_book.utils import repo_root

    root = repo_root()
    if root is None:
        raise MissingResults("no results folder: pass results=<folder with the reproduction tables>")
    return root / "results"


def load(results: str | Path | None = None) -> pd.DataFrame:
    """Every committed number, one row per (protocol, model); columns ``COLUMNS``.

    ``results``: the folder with the reproduction tables (default: the repository's
    ``results/``). A missing table is an error naming the command that writes it.
    """
    results = Path(results) if results is not None else results_folder()
    frames = []
    for proto in PROTOCOLS.values():
        for stem in proto.sources:
            frames.append(_rows(_read(results, stem), proto, stem))
    board = pd.concat(frames, ignore_index=True)
    board = board.reindex(columns=COLUMNS)
    board["config"] = board["config"].fillna("").astype(str)
    # one row per (protocol, model): the higher validation NDCG@10 wins (never test)
    board["_v"] = board["valid NDCG@10"].fillna(-math.inf)
    board = (
        board.sort_values(["protocol", "model", "_v"], ascending=[True, True, False], kind="stable")
        .drop_duplicates(["protocol", "model"], keep="first")
        .drop(columns="_v")
    )
    # the paper's numbers where the paper reports this setting (SDMR Table 3, ML-100k)
    loo = board["protocol"] == "loo"
    for i in board.index[loo]:
        name = _paper_name(board.at[i, "model"])
        if name is not None:
            board.at[i, "paper HR@10"], board.at[i, "paper NDCG@10"] = SDMR_TABLE3[name]
    order = {k: n for n, k in enumerate(PROTOCOLS)}
    board["_o"] = board["protocol"].map(order)
    return (
        board.sort_values(["_o", "model"], kind="stable").drop(columns="_o").reset_index(drop=True)
    )


def table(board: pd.DataFrame, protocol: str, digits: int = 3) -> pd.DataFrame:
    """One protocol's leaderboard: its non-empty columns, best first by its metric."""
    if protocol not in PROTOCOLS:
        raise KeyError(f"unknown protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}")
    metric = PROTOCOLS[protocol].metric
    t = board[board["protocol"] == protocol].drop(columns="protocol")
    t = t.dropna(axis=1, how="all").sort_values(metric, ascending=False)
    t = t.set_index("model")
    num = t.select_dtypes("number").columns
    t[num] = t[num].round(digits)
    return t


# -- statistics ------------------------------------------------------------------------------


def pareto_front(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """Names of the points no other point dominates, both coordinates higher-is-better.

    ``q`` dominates ``p`` when ``q >= p`` in both coordinates and ``q > p`` in at least one.
    Equal points do not dominate each other (both stay). Sorted by the first coordinate,
    best first (ties by name).
    """
    items = list(points.items())
    for name, xy in items:
        if len(xy) != 2 or not all(np.isfinite(xy)):
            raise ValueError(f"pareto_front: point {name!r} must be two finite numbers, got {xy!r}")

    def dominated(p):
        return any(q[0] >= p[0] and q[1] >= p[1] and (q[0] > p[0] or q[1] > p[1]) for _, q in items)

    front = [(name, xy) for name, xy in items if not dominated(xy)]
    return [name for name, _ in sorted(front, key=lambda t: (-t[1][0], t[0]))]


# -- figures ---------------------------------------------------------------------------------


def _short(config: str, n: int = 40) -> str:
    return config if len(config) <= n else config[: n - 1] + "…"


# where a text label goes beside its marker: (textposition, dx, dy) with the label box's
# anchor, in pixels from the marker (y down); tried in this order
_SPOTS = (("top center", 0.0, -1.0), ("bottom center", 0.0, 1.0), ("middle right", 1.0, 0.0),
          ("middle left", -1.0, 0.0), ("top right", 1.0, -1.0), ("top left", -1.0, -1.0),
          ("bottom right", 1.0, 1.0), ("bottom left", -1.0, 1.0))  # fmt: skip
FIG_W, FIG_H, FIG_MARGIN = 880, 480, dict(l=70, r=30, t=70, b=110)


def place_labels(x, y, names, log_x: bool = False, width: int = FIG_W, height: int = FIG_H,
                 margin: Mapping[str, int] = FIG_MARGIN, font: float = 12.0,
                 include_x: Sequence[float] = (), include_y: Sequence[float] = ()) -> tuple[list[str], list[str]]:  # fmt: skip
    """Text positions for a scatter's labels that do not overlap each other or the markers.

    Greedy, top point first: each label takes the first of eight spots around its marker
    (above, below, right, left, the corners) whose box, estimated in pixels for a figure of
    ``width`` x ``height`` with ``margin`` (0.6 ``font`` per character, 1.3 ``font`` high),
    stays inside the plot and meets no placed label and no marker; a label with no free spot
    is left out (its name stays in the hover text). ``include_x`` / ``include_y``: values
    the axes' autorange also covers (plotly's ``autorangeoptions.include``, e.g. where a live
    trace will go), so the labels are placed on the axes the figure will keep. Returns
    (textpositions, texts).
    """
    if len(names) == 0:
        return [], []
    xs = np.log10(np.asarray(x, dtype=float)) if log_x else np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    ex = np.log10(np.asarray(include_x, dtype=float)) if log_x else np.asarray(include_x, dtype=float)
    pw, ph = width - margin["l"] - margin["r"], height - margin["t"] - margin["b"]

    def scale(v, n, extra):  # plotly's autorange: the data range padded by about 5% each side
        both = np.concatenate([v, extra])
        lo, hi = float(both.min()), float(both.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.5
        return (v - lo + pad) / (hi - lo + 2 * pad) * n

    px, py = scale(xs, pw, ex), ph - scale(ys, ph, np.asarray(include_y, dtype=float))
    r, gap, h = 5.0, 3.0, 1.3 * font
    boxes = [(a - r, b - r, a + r, b + r) for a, b in zip(px, py)]  # the markers
    pos, text = ["top center"] * len(px), [""] * len(px)
    for i in sorted(range(len(px)), key=lambda i: (py[i], px[i])):
        w = 0.6 * font * len(str(names[i]))
        for spot, dx, dy in _SPOTS:
            cx = px[i] + dx * (r + gap + w / 2)
            cy = py[i] + dy * (r + gap + h / 2)
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            inside = box[0] >= 0 and box[2] <= pw and box[1] >= -h and box[3] <= ph
            if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                                  for b in boxes):  # fmt: skip
                pos[i], text[i] = spot, str(names[i])
                boxes.append(box)
                break
    return pos, text


def figure_accuracy_time(board: pd.DataFrame, protocol: str, metric: str | None = None):
    """Accuracy against recorded training time (log x), one marker per model."""
    import plotly.graph_objects as go

    metric = metric or PROTOCOLS[protocol].metric
    # composites fitted from trained parts record 0 s: they have no training time of their own
    t = board[(board["protocol"] == protocol) & (board["train s"] > 0) & board[metric].notna()]
    x = t["train s"].clip(lower=0.01)
    pos, text = place_labels(x, t[metric], list(t["model"]), log_x=True)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=t[metric],
            mode="markers+text",
            text=text,
            textposition=pos,
            hovertext=t["model"],
            customdata=t["config"].map(_short),
            hovertemplate="%{hovertext}<br>%{customdata}<br>train %{x:.2f} s<br>"
            + metric
            + " %{y:.3f}<extra></extra>",
            name=_labelled("recorded runs", text),
        )
    )
    fig.update_layout(
        title=f"{metric} against training time: {PROTOCOLS[protocol].title}",
        xaxis=dict(type="log", title="training wall time recorded by the experiment (s, log)"),
        yaxis_title=f"test {metric}",
        width=FIG_W, height=FIG_H, margin=FIG_MARGIN,
        showlegend=True,
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def _labelled(name: str, text: list[str]) -> str:
    """A legend entry that says how many markers carry no label (crowded: hover for them)."""
    n = sum(1 for t in text if not t)
    return name + (f" ({n} unlabelled where crowded: hover for the name)" if n else "")


def figure_accuracy_novelty(board: pd.DataFrame, protocol: str = "random_full",
                            include: Sequence[tuple[float, float]] = ()):  # fmt: skip
    """NDCG@10 against Novelty@10, the Pareto front drawn as a line. ``include``: (novelty,
    NDCG@10) points the axes cover from the start (a live trace's extremes: the axes then stay
    put, and the labels placed for them, while a learner adds points)."""
    import plotly.graph_objects as go

    t = board[(board["protocol"] == protocol) & board["Novelty@10"].notna()]
    pts = {m: (float(n), float(a)) for m, n, a in zip(t["model"], t["Novelty@10"], t["NDCG@10"])}
    front = sorted(pareto_front(pts), key=lambda m: pts[m][0])
    inc_x, inc_y = [float(p[0]) for p in include], [float(p[1]) for p in include]
    pos, text = place_labels(t["Novelty@10"], t["NDCG@10"], list(t["model"]), include_x=inc_x, include_y=inc_y)
    fig = go.Figure(
        [
            go.Scatter(
                x=t["Novelty@10"],
                y=t["NDCG@10"],
                mode="markers+text",
                text=text,
                textposition=pos,
                hovertext=t["model"],
                hovertemplate="%{hovertext}<br>Novelty@10 %{x:.3f}<br>NDCG@10 %{y:.3f}<extra></extra>",
                name=_labelled("committed table", text),
            ),
            go.Scatter(
                x=[pts[m][0] for m in front],
                y=[pts[m][1] for m in front],
                mode="lines",
                line=dict(dash="dot"),
                name="Pareto front (no model beats these on both)",
            ),
        ]
    )
    fig.update_layout(
        title=f"Accuracy against novelty: {PROTOCOLS[protocol].title}",
        xaxis_title="Novelty@10 (CoRML Eq. 29: higher = less popular items)",
        yaxis_title="test NDCG@10",
        xaxis_autorangeoptions_include=inc_x or None,
        yaxis_autorangeoptions_include=inc_y or None,
        width=FIG_W, height=FIG_H, margin=FIG_MARGIN,
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def figure_paper_vs_ours(board: pd.DataFrame, metric: str = "HR@10"):
    """Our leave-one-out numbers beside SDMR Table 3's, for the models both have."""
    import plotly.graph_objects as go

    t = board[(board["protocol"] == "loo") & board[f"paper {metric}"].notna()]
    t = t.sort_values(f"paper {metric}")
    fig = go.Figure(
        [
            go.Bar(x=t["model"], y=t[f"paper {metric}"], name="SDMR paper, Table 3"),
            go.Bar(x=t["model"], y=t[metric], name="ours (results/, selected on validation)"),
        ]
    )
    fig.update_layout(
        barmode="group",
        title=f"{metric} on ML-100k, leave-one-out with 100 sampled negatives: paper vs ours",
        xaxis_title="model",
        yaxis_title=f"test {metric}",
        height=420,
        legend=dict(orientation="h", y=-0.3),
    )
    return fig
