"""Every chapter's reproduction, then one report: ``python -m recsys_book reproduce all``.

Runs each ``reproduce NAME`` of the course in turn (a progress bar over them), each writing
its rows under ``--out`` (``recsys_book.results``), then writes ``<out>/REPORT.md``: per
table the command, the wall time, the device, thread count and commit its rows were
written by (tables converted from older code are marked), and the experiment's own table
(our numbers beside the paper's, and the claims it judged).

**Resumable.** A job whose table already exists under ``--out`` is not run again (its
recorded wall time is kept in ``<out>/.reproduce_all.json``): rerun one with ``--force
NAME`` or every job with ``--force all``. Inside a job, the runner skips every row already
written by the same code, so an interrupted job resumes where it stopped. ``--quick`` passes ``--quick`` to every job (a smoke run:
the tables are then *not* the reproduction and are named ``<stem>_smoke.md``, so they never
overwrite a real table) and is meant with a scratch ``--out``.
``--only`` runs a subset. ``--report-only`` rebuilds REPORT.md from what is there.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

from recsys_book.results import read, stem, where_run
from recsys_book.utils import write_text_atomic

PROG = "python -m recsys_book reproduce"


def command(name: str, argv) -> str:
    """The command line that reproduces a table."""
    return f"{PROG} {name}" + (f" {' '.join(argv)}" if argv else "")


def provenance(out: Path, name: str, quick: bool = False) -> str:
    """Where a table's rows were written (device, threads, commit), and whether they came
    from code older than the results schema (``legacy``: converted, rerun to refresh)."""
    path = out / f"{stem(name, quick)}.csv"
    try:
        rows = read(path)
    except ValueError:
        return "older layout (before the results schema): rerun to refresh"
    if rows.empty:
        return "-"
    text = where_run(rows)
    if (rows["code"].astype(str) == "legacy").any():
        text += "; **written by older code** (converted to the schema): rerun to refresh"
    return text


@dataclass(frozen=True)
class Job:
    stem: str  # the markdown table it writes: <out>/<stem>.md
    name: str  # the experiment module
    args: tuple[str, ...]  # its extra arguments
    chapter: str  # where the course teaches it


#: in course order; a job listed here whose module does not exist is an error, not a skip
JOBS = (
    Job("baselines", "baselines", (), "01 metric learning and baselines"),
    Job("rme", "rme", (), "02 co-occurrence embeddings (temporal protocol)"),
    Job("rme_random", "rme", ("--protocol", "random"), "02 co-occurrence embeddings (random)"),
    Job("masr", "masr", (), "03 Mahalanobis playlists, adversarial"),
    Job("sdmr", "sdmr", (), "04 SDMR: Table 3, the SDM recipe (ablation, hops, seeds)"),
    Job("corml", "corml", (), "05 CoRML"),
    Job("lrml", "lrml", (), "06 LRML"),
    Job("qualse", "qualse", (), "07 quaternion sequences"),
    Job("crowdfunding", "crowdfunding", (), "08 appendix: crowdfunding"),
    Job("pmi", "pmi", (), "04, 03, 07: attention against PMI on trained checkpoints"),
)

STRICTER = """\
## Where our protocol is stricter than the authors'

- **Selection on validation, never on test.** Every hyper-parameter and the number of
  epochs is chosen on a validation split; several of the authors' codes pick the best
  epoch on the test set (SDMR's, for one). Our test numbers are those of the
  validation-selected configuration only.
- **Tie-neutral evaluation.** Under sampled protocols a target tied with other candidates
  gets the *expected* metric over a random tie-break, never first place (a model scoring
  everything equally gets HR@10 = 10/101 with 100 negatives). Fused heads with a ReLU
  (SDMR's Eq. 20) lose their apparent NDCG lead under this rule; see results/sdmr.md.
- **Deterministic evaluation.** Dropout is off at evaluation (the SDMR authors' code left
  it on).
- **Other datasets.** Most papers' tables are on data we cannot reach offline (ML-1M/10M/
  20M, 30Music, AOTM, Amazon, Yelp, Kickstarter): there we compare the *orderings* the
  paper claims on ML-100k or planted data, and each table says so.
"""


def _load_log(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def report(out: Path, log: dict, quick: bool = False) -> str:
    """REPORT.md from the tables under ``out`` and the run log (``quick``: the smoke tables,
    ``<stem>_smoke.md``, that ``--quick`` runs write)."""
    lines = [
        "# recsys-book: reproduction report",
        "",
        "Written by `python -m recsys_book reproduce all`. Each section below is one",
        "reproduction: the command that wrote it, its wall time and machine, then its own",
        "table with the paper's numbers beside ours (and, where the paper's data cannot be",
        "reached, the orderings it claims and whether they held on ours).",
        "",
        "| reproduction | chapter | command | wall time | rows written on (device, threads, commit) |",
        "|---|---|---|---|---|",
    ]
    sections = []
    for job in JOBS:
        md = out / f"{stem(job.stem, quick)}.md"
        entry = log.get(job.stem, {})
        cmd = entry.get("command") or command(job.name, list(job.args))
        if md.exists():
            # a table written by its own command (not by `all`) states its time itself
            wall = f"{entry['seconds']:.0f} s" if "seconds" in entry else "in its table"
            where = provenance(out, job.stem, quick)
            if entry.get("quick"):
                wall += " (--quick: a smoke run, not the reproduction)"
            body = md.read_text(encoding="utf-8").strip().splitlines()
            # demote the table's own headings under this section's
            body = [("#" + ln) if ln.startswith("#") else ln for ln in body]
            sections += ["", f"## {job.stem}: {job.chapter}", "", f"Command: `{cmd}`.", ""]
            sections += body
        else:
            wall, where = "not run", "-"
        lines.append(f"| {job.stem} | {job.chapter} | `{cmd}` | {wall} | {where} |")
    return "\n".join(lines + ["", leaderboard_section(out, quick), "", STRICTER] + sections) + "\n"


def leaderboard_section(out: Path, quick: bool = False, top: int = 3) -> str:
    """The headline rows of every protocol (chapter 09's leaderboard, read from ``out``)."""
    from recsys_book import leaderboard as L

    head = ["## Leaderboard: the best models of each protocol (chapter 09)", ""]
    if quick:
        return "\n".join(head + ["Not drawn for a `--quick` run: its tables are smoke runs."])
    try:
        board = L.load(out)
    except L.MissingResults as exc:
        return "\n".join(head + [f"Not drawn yet: {exc}"])
    head += [
        "Numbers compare only within a protocol; a model in two tables keeps the run with the",
        "higher validation NDCG@10. Top models by each protocol's metric, and Popularity:",
        "",
        "| protocol | model | metric | ours | paper (same setting) |",
        "|---|---|---|---|---|",
    ]
    for key, proto in L.PROTOCOLS.items():
        t = L.table(board, key, digits=6)
        pick = list(t.index[:top]) + [m for m in ("Popularity",) if m in t.index[top:]]
        for m in pick:
            paper = t.at[m, f"paper {proto.metric}"] if f"paper {proto.metric}" in t else None
            paper = "-" if paper is None or paper != paper else f"{paper:.3f}"
            head.append(f"| {key} | {m} | {proto.metric} | {t.at[m, proto.metric]:.3f} | {paper} |")
    return "\n".join(head)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog=f"{PROG} all", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="smoke runs (scratch --out advised)")
    p.add_argument("--out", default="results", help="folder for the tables (default ./results)")
    p.add_argument("--force", nargs="*", default=[], help="rerun these jobs ('all' for every one)")
    p.add_argument("--only", nargs="*", default=None, help="run only these jobs")
    p.add_argument("--report-only", action="store_true", help="only rebuild REPORT.md")
    args = p.parse_args(argv)
    names = {j.stem for j in JOBS}
    for flag in ("force", "only"):
        bad = sorted(set(getattr(args, flag) or []) - names - {"all"})
        if bad:
            p.error(f"--{flag}: unknown job(s) {bad}; choose from {sorted(names)}")
    out = Path(args.out)
    log_path = out / ".reproduce_all.json"
    log = _load_log(log_path)
    jobs = [j for j in JOBS if args.only is None or j.stem in args.only]
    if not args.report_only:
        from tqdm.auto import tqdm

        from recsys_book.experiments._runner import reproduce

        bar = tqdm(jobs, desc="reproduce all", unit="table")
        for job in bar:
            bar.set_postfix_str(job.stem)
            done = (out / f"{stem(job.stem, args.quick)}.md").exists()
            forced = bool({"all", job.stem} & set(args.force))
            if done and not forced:
                continue
            extra = list(job.args) + (["--quick"] if args.quick else []) + (["--force"] if forced else [])
            extra += ["--out", str(out)]
            t0 = time.perf_counter()
            rc = reproduce(job.name, extra)
            if rc:
                print(f"reproduce {job.name} exited {rc}; stopping (finished tables are kept)")
                return rc
            log[job.stem] = {
                "command": command(job.name, list(job.args)),
                "seconds": time.perf_counter() - t0,
                "quick": bool(args.quick),
            }
            write_text_atomic(log_path, json.dumps(log, indent=1))
    text = report(out, log, quick=args.quick)
    write_text_atomic(out / "REPORT.md", text)
    print(f"wrote {out / 'REPORT.md'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
