"""The one runner of ``python -m recsys_book reproduce NAME``: experiments are declarations.

An experiment module declares an :class:`Experiment`: its data and split, its candidates
(name, how to build one from a configuration, its grid, how it trains, which trained
candidates it is built from), its seeds, the published table it stands beside and the
claims it judges. :func:`main` is its whole command line; :func:`run` does the rest:

* seeding, building, fitting, evaluating on validation and test, timing;
* **selection on validation only** (:func:`recsys_book.results.selected`): the grid is
  trained at the first seed, the chosen configuration is retrained at the others;
* **one row per finished run, written at once** (:class:`recsys_book.results.ResultsFile`),
  so an interrupted reproduction keeps its finished rows, and a rerun skips rows already
  written by the same code for the same configuration and seed (``--force`` reruns them);
* **file names decided here only**: ``--quick``, ``--planted`` and ``--models`` are smoke
  runs and write ``<name>_smoke.csv``/``.md``; a smoke row cannot enter a real table;
* **``--rerun NAME ...``**: the named candidates' rows of the real table are rerun by this
  code (e.g. after a fix to one baseline) and the rest of the table is kept; each row
  records the commit and code that wrote it, so the table says it was written by two.

A flow that needs its own loop (fusing trained parts, cross-validation, an EM algorithm)
declares a candidate with ``run=`` instead of ``build=``: it returns its rows' metrics.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from recsys_book import published
from recsys_book.claims import CLAIMS, SWEEPS, Claim, chosen
from recsys_book.claims import judge as judge_claims
from recsys_book.claims import select_on as select_on_of
from recsys_book.results import (
    ResultsFile,
    Row,
    config_text,
    markdown_table,
    mean_std,
    stem,
    where_run,
)
from recsys_book.utils import seed_everything, write_text_atomic

PROG = "python -m recsys_book reproduce"


@dataclass(frozen=True)
class Trained:
    """What a candidate's ``train`` (or ``run``) reports besides the model."""

    best_epoch: int | None = None
    max_epochs: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What a candidate with its own loop (``run=``) returns for one configuration."""

    valid: Mapping[str, float]
    test: Mapping[str, float]
    model: Any = None
    best_epoch: int | None = None
    max_epochs: int | None = None
    # {"test M": values whose mean is test[M]}: the units a paired test pairs (users, folds,
    # projects), stored beside the row like the evaluator's per-user values
    per_user: Mapping[str, Sequence[float]] | None = None


def closed_form(model, split, cfg: dict, seed: int, quick: bool) -> Trained:
    """The default ``train``: ``model.fit(split)`` (closed-form and ALS-style models)."""
    model.fit(split)
    return Trained()


def gradient(epochs: int = 30, quick_epochs: int = 3, cfg_keys: Sequence[str] = ("lr",), **settings):
    """A ``train`` for gradient models: :func:`recsys_book.train.fit` with ``settings``
    (batch_size, n_negatives, patience, ...), the configuration's ``cfg_keys`` passed on,
    at most ``epochs`` epochs (``quick_epochs`` for a smoke run); the kept epoch is
    chosen on validation by ``fit``."""

    def train(model, split, cfg: dict, seed: int, quick: bool) -> Trained:
        from recsys_book.train import fit

        cap = quick_epochs if quick else epochs
        kw = {**settings, **{k: cfg[k] for k in cfg_keys if k in cfg}}
        hist = fit(model, split, epochs=cap, seed=seed, progress=False, **kw)
        best = hist.attrs.get("best_epoch")
        return Trained(None if best is None else int(best), cap)

    return train


@dataclass(frozen=True)
class Candidate:
    """One model of a table. ``build(split, cfg, parts)`` returns an untrained model
    (``parts``: the trained models of ``depends_on``, by name); ``train(model, split, cfg,
    seed, quick)`` fits it (default ``closed_form``). Or ``run(split, cfg, seed, quick,
    parts)`` returns an :class:`Outcome` for a flow of its own. ``paper``: its row in the
    experiment's published table. ``grid``: {knob: values}; ``--quick`` keeps the first."""

    name: str
    build: Callable | None = None
    grid: Mapping[str, Sequence] = field(default_factory=dict)
    train: Callable = closed_form
    depends_on: tuple[str, ...] = ()
    run: Callable | None = None
    paper: str | None = None
    seeds: bool = True  # retrain the chosen configuration at every seed
    search: str = "grid"  # or "coordinate": one knob after the other, from the first values
    grid_from: str | None = None  # start from the configuration chosen for that candidate
    full_grid_when_quick: bool = False  # the grid is not a search (e.g. time points): keep it all

    def configs(self, quick: bool, base: Mapping | None = None) -> list[dict]:
        keys = list(self.grid)
        cut = quick and not self.full_grid_when_quick
        values = [list(v)[:1] if cut else list(v) for v in self.grid.values()]
        return [{**(base or {}), **dict(zip(keys, c))} for c in itertools.product(*values)]


FROM_CLAIMS: Any = "<from recsys_book.claims>"  # a field's default: the claims module's entry


@dataclass(frozen=True)
class Experiment:
    name: str  # the table's stem and the command's name
    title: str
    protocol: str  # a key of recsys_book.leaderboard.PROTOCOLS, or a free name
    data: Callable  # (args) -> (split, dataset description)
    candidates: tuple[Candidate, ...]
    doc: str = ""
    evaluate: Callable | None = None  # (model, split, part) -> {metric: value}
    select_on: str | None = FROM_CLAIMS  # None: nothing is chosen (default: claims.select_on(name))
    metrics: tuple[str, ...] = ("test HR@10", "test NDCG@10")
    seeds: int = 1
    quick_seeds: int | None = None  # --quick without --seeds runs this many (None: ``seeds``)
    published: tuple[str, str] | None = None  # (paper, table) of recsys_book.published
    claims: tuple[Claim, ...] = FROM_CLAIMS  # default: recsys_book.claims.CLAIMS[name]
    planted: bool = False  # offers --planted
    options: Callable | None = None  # (parser) -> None: extra command-line options
    sections: Callable | None = None  # (rows, context) -> list of markdown lines
    generic_table: bool = True  # False: the sections are the whole report (no model table)

    def __post_init__(self):
        if self.claims is FROM_CLAIMS:
            object.__setattr__(self, "claims", CLAIMS.get(self.name, ()))
        if self.select_on is FROM_CLAIMS:
            object.__setattr__(self, "select_on", select_on_of(self.name))

    def candidate(self, name: str) -> Candidate:
        for c in self.candidates:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no candidate {name!r}: {[c.name for c in self.candidates]}")


def default_evaluate(model, split, part: str) -> dict:
    from recsys_book.evaluate import evaluate

    return evaluate(model, split.valid if part == "valid" else split.test, ks=(10,), metrics=("hr", "ndcg"))


@dataclass
class Context:
    """What a run knows: the parsed arguments, the split, the trained models it keeps."""

    args: argparse.Namespace
    split: Any
    dataset: str
    parts: dict = field(default_factory=dict)  # name -> {seed: trained model} that others depend on
    chosen: dict = field(default_factory=dict)  # candidate -> its configuration chosen on validation
    seconds: float = 0.0
    command: str = ""
    per_user: Any = None  # the per-user test values stored beside the rows (sign tests)


def _needed(exp: Experiment, names: Sequence[str] | None) -> list[Candidate]:
    if names is None:
        return list(exp.candidates)
    want, stack = set(), list(names)
    while stack:
        n = stack.pop()
        if n not in want:
            want.add(n)
            c = exp.candidate(n)
            stack += list(c.depends_on) + ([c.grid_from] if c.grid_from else [])
    return [c for c in exp.candidates if c.name in want]


def _part(ctx: Context, name: str, seed: int):
    """The trained ``name`` a dependant uses at ``seed``: the one trained at that seed (the
    first seed's for a candidate trained once, ``seeds=False``)."""
    by_seed = ctx.parts[name]
    return by_seed[seed] if seed in by_seed else by_seed[min(by_seed)]


def _fit_one(exp: Experiment, cand: Candidate, ctx: Context, cfg: dict, seed: int) -> tuple[Outcome, float]:
    """Train and evaluate ``cand`` at ``cfg`` and ``seed``: its Outcome and the seconds it took."""
    quick = ctx.args.quick
    ev = exp.evaluate or default_evaluate
    parts = {n: _part(ctx, n, seed) for n in cand.depends_on}
    seed_everything(seed)
    t0 = time.perf_counter()
    if cand.run is not None:
        out = cand.run(ctx.split, cfg, seed, quick, parts)
        return out, time.perf_counter() - t0
    model = cand.build(ctx.split, cfg, parts)
    info = cand.train(model, ctx.split, cfg, seed, quick)
    seconds = time.perf_counter() - t0
    return Outcome(ev(model, ctx.split, "valid"), ev(model, ctx.split, "test"), model, info.best_epoch,
                   info.max_epochs), seconds  # fmt: skip


def _device(model) -> str:
    dev = getattr(model, "device", None)
    return str(dev) if dev is not None else "cpu"


def run(exp: Experiment, ctx: Context, store: ResultsFile, log=print) -> pd.DataFrame:
    """Train and evaluate every candidate (``ctx.args.models``: a subset, with what it is
    built from); returns the rows of this run's seeds."""
    a = ctx.args
    seeds = [a.seed + k for k in range(a.seeds)]
    rerun = getattr(a, "rerun", None)
    cands = [exp.candidate(n) for n in rerun] if rerun else _needed(exp, a.models)
    later = {d for c in cands for d in c.depends_on}
    for cand in cands:
        base = ctx.chosen.get(cand.grid_from) if cand.grid_from else None
        kept: dict[tuple, Any] = {}  # (config json, seed) -> trained model, for dependants
        keep = cand.name in later
        if cand.search == "coordinate":
            configs, cfg = [], cand.configs(True, base)[0]
            for knob, values in cand.grid.items():
                trials = [{**cfg, knob: v} for v in (list(values)[:1] if a.quick else values)]
                for t in trials:
                    _one(exp, cand, ctx, store, t, seeds[0], kept, keep, log)
                configs += trials
                cfg = _choose(exp, store, ctx.dataset, cand.name, seeds[0], trials)
        else:
            configs = cand.configs(a.quick, base)
            for c in configs:
                _one(exp, cand, ctx, store, c, seeds[0], kept, keep, log)
        # choose on validation (rows of the first seed), then the other seeds
        cfg = _choose(exp, store, ctx.dataset, cand.name, seeds[0], configs)
        ctx.chosen[cand.name] = cfg
        if cand.seeds:
            for s in seeds[1:]:
                _one(exp, cand, ctx, store, cfg, s, kept, keep, log)
        if keep:  # a dependant at seed s is built from this candidate trained at seed s
            key = Row("", "", "", "", cfg).key()[1]
            ctx.parts[cand.name] = {}
            for s in seeds if cand.seeds else seeds[:1]:
                if (key, s) not in kept:  # resumed from the file: train the part again, unrecorded
                    kept[(key, s)] = _fit_one(exp, cand, ctx, cfg, s)[0].model
                ctx.parts[cand.name][s] = kept[(key, s)]
    rows = store.rows
    shown = exp.candidates if rerun else cands  # a rerun's table shows every model of the file
    return rows[rows["seed"].astype(int).isin(seeds) & rows["model"].isin([c.name for c in shown])]


def _choose(exp, store, dataset: str, name: str, seed: int, configs: list[dict]) -> dict:
    """The configuration among ``configs`` with the best validation metric at ``seed`` (rows
    of ``dataset`` only: a file may hold several)."""
    keys = {Row("", "", "", "", c).key()[1]: c for c in configs}
    rows = store.rows
    mine = rows[(rows["dataset"] == dataset) & (rows["model"] == name) & (rows["seed"].astype(int) == seed)]
    mine = mine[mine["config"].isin(keys)]
    if mine.empty or exp.select_on is None or exp.select_on not in mine:
        return configs[0]
    return keys[chosen(mine, exp.select_on)["config"].iloc[0]]


def _per_user_metrics(exp: Experiment, cand: Candidate, ctx: Context) -> list[str]:
    """The test metrics of ``exp``'s claims about ``cand`` when it runs once (one seed, or
    ``seeds=False``) and is built and evaluated here: its per-user values are stored so the
    claim can be judged by a per-user sign test (nothing to pair over seeds)."""
    once = not cand.seeds or ctx.args.seeds == 1
    if not once or cand.run is not None:
        return []
    return sorted({c.metric for c in exp.claims if cand.name in (c.winner, c.loser)})


def _per_user(model, split, metrics: Sequence[str]) -> dict[str, list[float]]:
    """``{"test NDCG@10": values}``: the model's test metric per evaluation row (the test
    set's order, the same for every model of the split)."""
    from recsys_book.evaluate import evaluate
    from recsys_book.metrics import parse_metric

    out = {}
    for m in metrics:
        name, k, key = parse_metric(m.removeprefix("test "))
        out[m] = evaluate(model, split.test, ks=(k,), metrics=(name,), per_row=True)[key].tolist()
    return out


def _one(exp, cand, ctx, store, cfg, seed, kept, keep, log) -> None:
    a = ctx.args
    row = Row(exp.name, exp.protocol, ctx.dataset, cand.name, cfg, seed, smoke=store.smoke)
    users = _per_user_metrics(exp, cand, ctx)
    written = store.has(row) and (not users or store.has_per_user(row, users))
    if written and not (a.force or getattr(a, "rerun", None)):
        log(f"{cand.name:<28} {config_text(cfg)} seed {seed}: already written, skipped")
        return
    out, seconds = _fit_one(exp, cand, ctx, cfg, seed)
    model, valid, test, best, cap = out.model, out.valid, out.test, out.best_epoch, out.max_epochs
    row.valid, row.test, row.best_epoch, row.max_epochs = valid, test, best, cap
    row.train_s, row.device = seconds, _device(model)
    store.add(row)
    per = _per_user(model, ctx.split, users) if users and model is not None else out.per_user
    if per:
        for m, vals in per.items():  # the values must be what the row recorded, else they pair other rows
            mean = sum(vals) / max(len(vals), 1)
            if abs(mean - test.get(m.removeprefix("test "), float("nan"))) > 1e-5:
                raise ValueError(
                    f"{cand.name}: the per-unit {m} values (mean {mean:.6f}) are not the row's "
                    f"{test.get(m.removeprefix('test '))}: a paired test would pair other numbers than the "
                    "table shows (an experiment that evaluates otherwise than evaluate(model, split.test) "
                    "returns its own Outcome(per_user=...) from a run= candidate)"
                )
        store.add_per_user(row, per)
    if keep:
        kept[(row.key()[1], seed)] = model
    shown = (exp.select_on or "valid NDCG@10").replace("valid ", "")
    v = valid.get(shown)
    log(
        f"{cand.name:<28} {config_text(cfg):<40} seed {seed}  valid {shown} "
        f"{'-' if v is None else f'{v:.4f}'}  epoch {best if best is not None else '-'}"
        f"/{cap if cap is not None else '-'}  {seconds:.1f} s"
    )


# -- the markdown view -------------------------------------------------------------------------


def grid_edges(cand: Candidate, cfg: Mapping) -> list[str]:
    """The numeric knobs of ``cand``'s grid (2+ values) whose chosen value in ``cfg`` is the
    smallest or the largest value tried, as "knob=value (tried lo..hi)"."""
    out = []
    for knob, values in cand.grid.items():
        vals = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(set(vals)) < 2 or knob not in cfg or cfg[knob] not in vals:
            continue
        lo, hi = min(vals), max(vals)
        if cfg[knob] in (lo, hi):
            out.append(f"{knob}={cfg[knob]:g} (tried {lo:g}..{hi:g})")
    return out


def judge(exp: Experiment, rows: pd.DataFrame, per_user: pd.DataFrame | None = None) -> list[dict]:
    """``exp``'s claims judged on ``rows`` (:func:`recsys_book.claims.judge`; ``per_user``:
    the per-user values stored beside them, for claims whose models ran once)."""
    return judge_claims(exp.claims, rows, exp.select_on, per_user)


def markdown(exp: Experiment, rows: pd.DataFrame, ctx: Context) -> str:
    """The experiment's table: selected configuration per model, mean ± sd over seeds,
    kept epochs (marked when still improving), the published numbers beside, the claims.
    Rows of several datasets (one experiment per dataset writing one file) get a section
    each: models are selected and claims judged within a dataset, never across."""
    a = ctx.args
    smoke = a.quick or getattr(a, "planted", False) or a.models is not None
    lines = [
        f"# {exp.title}",
        "",
        f"Produced by `{ctx.command}` in {ctx.seconds:.0f} s ({where_run(rows)}); "
        f"data: {ctx.dataset}.",
    ]
    if smoke:
        lines += ["", "**A smoke run (`--quick`, planted data or a subset): not the reproduction.**"]
    if getattr(a, "rerun", None):
        lines += ["", f"Rows of {', '.join(a.rerun)} rerun by this command; the other rows kept from "
                  "the run before (each row's `commit` and `code` say which code wrote it)."]  # fmt: skip
    if exp.generic_table:
        lines += [
            "",
            f"One row per model: the configuration chosen on {exp.select_on} (never on test), "
            "its test metrics as mean ± sample sd over the seeds, the kept epoch of each seed "
            "(`*`: the kept epoch was the last one allowed, the run was still improving). "
            f"Every run is a row of `{stem(exp.name, smoke)}.csv`.",
        ]
    datasets = list(dict.fromkeys(rows["dataset"])) if "dataset" in rows and len(rows) else []
    if len(datasets) > 1:
        for ds in datasets:
            lines += ["", f"## {ds}"] + _body(exp, rows[rows["dataset"] == ds], heading="###", per_user=ctx.per_user)
    else:
        lines += _body(exp, rows, per_user=ctx.per_user)
    if exp.published:
        lines += ["", f"Paper: {published.cite(*exp.published)}."]
    if exp.sections is not None:
        lines += ([""] if lines[-1] else []) + list(exp.sections(rows, ctx))
    return "\n".join(lines) + "\n"


def kept_epochs(rows: pd.DataFrame) -> str:
    """The kept epoch of each row, "/"-joined: "-" where none was recorded, ``*`` where it
    was the last epoch allowed (the run was still improving)."""
    return "/".join(
        "-" if pd.isna(be) else f"{int(be)}{'*' if not pd.isna(me) and be == me else ''}"
        for be, me in zip(rows["best_epoch"], rows["max_epochs"])
    )


def _body(exp: Experiment, rows: pd.DataFrame, heading: str = "##", per_user=None) -> list[str]:
    """The model table, the grid-edge note and the judged claims of one dataset's rows."""
    lines = [""]
    pub = published.table(*exp.published) if exp.published else {}
    sel = chosen(rows, exp.select_on)
    cols = [m for m in exp.metrics if m in rows]
    table = []
    models = [c for c in exp.candidates if c.name not in SWEEPS.get(exp.name, ())]  # figures: own sections
    for cand in models:
        g = sel[sel["model"] == cand.name]
        if g.empty:
            continue
        line = {
            "model": cand.name,
            "chosen config": config_text(g["config"].iloc[0]),
            "kept epochs": kept_epochs(g) + (f" of {int(g['max_epochs'].max())}" if g["max_epochs"].notna().any() else ""),
            str(exp.select_on): mean_std(g[exp.select_on].tolist()) if exp.select_on in g else "-",
        }
        for m in cols:
            line[m] = mean_std(g[m].tolist())
        line["seeds"] = len(g)
        line["train s"] = f"{g['train_s'].mean():.1f}"
        if exp.published:
            prow = pub.get(cand.paper or "")
            for m in cols:
                name = m.replace("test ", "")
                line[f"paper {name}"] = "-" if prow is None or name not in prow else f"{prow[name]:.3f}"
        table.append(line)
    if table and exp.generic_table:
        lines.append(markdown_table(pd.DataFrame(table), index=False))
    edge = [
        f"{c.name}: {e}" for c in models if not sel[sel["model"] == c.name].empty
        for e in grid_edges(c, json.loads(sel[sel["model"] == c.name]["config"].iloc[0]))
    ]
    if edge:
        lines += ["", "Chosen at the edge of its grid (the optimum may lie outside: widen the grid "
                  "before resting a verdict on it): " + "; ".join(edge) + "."]
    verdicts = judge(exp, rows, per_user)
    if verdicts:
        signs = any(v["test"].startswith("per-user") for v in verdicts)
        lines += ["", f"{heading} The paper's claims, judged here", ""]
        lines += ["| claim | ours | verdict | seeds | paired t-test p " + ("(or per-user sign test p) |" if signs else "|"),
                  "|---|---|---|---|---|"]  # fmt: skip
        for v in verdicts:
            c = v["claim"]
            ours = "-" if v["a"] is None else f"{c.metric.replace('test ', '')} {v['a']:.3f} vs {v['b']:.3f}"
            p = "-" if v["p"] is None else f"{v['p']:.3g}"
            seeds = f"{v['n'] or 1}: {v['test']}" if v["test"].startswith("per-user") else v["n"]
            lines.append(f"| {c.says}: {c.winner} > {c.loser} | {ours} | {v['verdict']} | {seeds} | {p} |")
    return lines


# -- the command line --------------------------------------------------------------------------


def parser(exp: Experiment) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{PROG} {exp.name}", description=exp.doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seed", type=int, default=0, help="split and first training seed (default 0)")
    quick = f"; {exp.quick_seeds} with --quick" if exp.quick_seeds is not None else ""
    p.add_argument("--seeds", type=int, default=None, help=f"training seeds seed..seed+N-1 ({exp.seeds}{quick})")
    p.add_argument("--quick", action="store_true", help="smoke run: first grid values, few epochs")
    p.add_argument("--out", default="results", help="folder for the tables (default ./results)")
    p.add_argument("--force", action="store_true", help="rerun rows already written by this code")
    p.add_argument("--models", nargs="+", default=None, help="a subset (a smoke run): " + ", ".join(c.name for c in exp.candidates))
    p.add_argument("--rerun", nargs="+", default=None, metavar="MODEL",
                   help="rerun these models' rows of the real table with this code, keep the others "
                        "(models built from other candidates cannot be rerun alone)")  # fmt: skip
    if exp.planted:
        p.add_argument("--planted", action="store_true", help="planted data instead of the real dataset")
    if exp.options is not None:
        exp.options(p)
    return p


def main(exp: Experiment, argv: Sequence[str] | None = None, log=print) -> int:
    """The whole command line of an experiment: parse, run, write ``<out>/<stem>.csv``
    (row by row) and ``<out>/<stem>.md``."""
    p = parser(exp)
    args = p.parse_args(argv)
    if args.seeds is None:  # what was asked for wins; else the smoke run's or the table's count
        args.seeds = exp.quick_seeds if args.quick and exp.quick_seeds is not None else exp.seeds
    if args.seeds < 1:
        p.error(f"--seeds must be at least 1, got {args.seeds}")
    for opt in ("models", "rerun"):
        bad = [m for m in getattr(args, opt) or () if m not in {c.name for c in exp.candidates}]
        if bad:
            p.error(f"unknown model(s) {bad}; choose from {[c.name for c in exp.candidates]}")
    if args.rerun:
        if args.models is not None or args.quick or getattr(args, "planted", False):
            p.error("--rerun refreshes rows of the real table: it cannot be combined with --models, --quick or --planted")
        built = [c.name for c in map(exp.candidate, args.rerun) if c.depends_on or c.grid_from]
        if built:
            p.error(f"{built} are built from other candidates' trained models or choices: rerun the whole table")
    smoke = bool(args.quick or getattr(args, "planted", False) or args.models is not None)
    try:
        store = ResultsFile(args.out, exp.name, smoke, replace=args.force)
    except ValueError as exc:
        p.error(str(exc))
    seed_everything(args.seed)
    t0 = time.perf_counter()
    split, dataset = exp.data(args)
    ctx = Context(args, split, dataset, command=f"{PROG} {exp.name}" + (f" {' '.join(argv)}" if argv else ""))
    rows = run(exp, ctx, store, log=log)
    ctx.seconds, ctx.per_user = time.perf_counter() - t0, store.per_user_rows
    md = markdown(exp, rows, ctx)
    write_text_atomic(Path(args.out) / f"{stem(exp.name, smoke)}.md", md)
    log(md)
    return 0


def reproduce(name: str, argv: Sequence[str] | None = None) -> int:
    """``python -m recsys_book reproduce NAME ARGV``: the module ``recsys_book.experiments.NAME``
    runs its own ``main(argv)`` when it has one (a flow over several experiments), else this
    runner's :func:`main` on its ``EXPERIMENT``."""
    import importlib

    mod = importlib.import_module(f"recsys_book.experiments.{name}")
    if hasattr(mod, "main"):
        return int(mod.main(argv) or 0)
    return main(mod.EXPERIMENT, argv)

