"""Run the course where it is opened and print what passed: the chapters over several random
streams, and the whole course on a GPU.

``python -m recsys_book.check chapters [--shifts 0 1 2 3 4] [--only 04 06] [--full]``
    executes every chapter top to bottom in FAST mode (or full mode) once per stream shift
    (:data:`recsys_book.utils.SEED_SHIFT_ENV`: every training seed + k, planted data
    unchanged) and prints a table chapter x shift: ``ok`` and the seconds, or the first
    failing cell and its error. A claim a chapter asserts must pass on every stream: a
    thread count or a device is just another stream.

``python -m recsys_book.check gpu`` (``make gpu-check``)
    on a CUDA machine: the unit suite, then every chapter in FAST mode, with
    ``device="auto"`` picking CUDA; prints a table (chapter or test file, passed or the
    first error) and exits 1 if anything failed. Without CUDA it says so and exits 0.
    Needs neither ``make`` nor a package registry: ``PYTHONPATH=. python3 -m
    recsys_book.check gpu`` works in any python with torch, numpy, pandas, scikit-learn
    and pytest; the chapters also need nbclient, ipykernel, ipywidgets, anywidget, plotly
    and tqdm (missing ones are named, and those rows say so).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: what executing a chapter needs beyond the library's own imports
CHAPTER_NEEDS = ("nbclient", "nbformat", "ipykernel", "ipywidgets", "anywidget", "plotly", "tqdm")


def chapters(only=()) -> list[Path]:
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [p for p in found if any(p.name.startswith(o) for o in only)]
        if not found:
            raise SystemExit(f"no chapter matches {list(only)} in {NOTEBOOKS}")
    return found


def missing(modules=CHAPTER_NEEDS) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _first_line(text: str, width: int = 160) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    line = text.splitlines()[-1] if text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _printed(nb, pattern: str) -> list[str]:
    """The lines the executed cells printed (stdout) that match ``pattern``."""
    rx = re.compile(pattern)
    return [
        line
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stdout"
        for line in out.get("text", "").splitlines()
        if rx.search(line)
    ]


def run_chapter(
    path: Path, *, shift: int = 0, timeout_s: int = 1200, grep: str | None = None,
    full: bool = False,
) -> dict:
    """Execute one chapter in FAST mode (``full``: full mode) in a fresh kernel; ``{"ok", "seconds", "error",
    "lines"}`` where error names the first failing cell (its index, as in the notebook) and
    its error, and lines are the printed lines that match ``grep`` (to read a claim's
    numbers over several streams)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    env = {"RECSYS_BOOK_FAST": "0" if full else "1", "RECSYS_BOOK_SEED_SHIFT": str(shift)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,  # see recsys_book.book.execute
    )
    t0 = time.monotonic()
    error = None
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as exc:
                    error = f"cell {index}: {exc.ename}: {_first_line(exc.evalue)}"
                    break
    except Exception as exc:  # the kernel died, a timeout: report it in the table
        error = f"{type(exc).__name__}: {_first_line(exc)}"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    lines = _printed(nb, grep) if grep else []
    return {"ok": error is None, "seconds": time.monotonic() - t0, "error": error, "lines": lines}


def _table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    out = [" | ".join(c.ljust(widths[c]) for c in columns)]
    out.append("-|-".join("-" * widths[c] for c in columns))
    out += [" | ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(out)


def sweep(paths: list[Path], shifts: list[int], timeout_s: int, grep: str | None = None,
          full: bool = False):
    rows = []
    for path in paths:
        row = {"chapter": path.stem}
        for k in shifts:
            r = run_chapter(path, shift=k, timeout_s=timeout_s, grep=grep, full=full)
            row[f"shift {k}"] = f"ok {r['seconds']:.0f}s" if r["ok"] else f"FAIL {r['error']}"
            print(f"  {path.stem} shift {k}: {row[f'shift {k}']}", flush=True)
            for line in r["lines"]:
                print(f"    {line}", flush=True)
        rows.append(row)
    return rows


def unit_tests(workers: int | None) -> list[dict]:
    """Run the unit suite (tests/, no notebooks, no browser) and return one row per test
    file: passed, or its first failing test and error."""
    cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-o", "addopts=", "-p", "no:cacheprovider"]
    cmd += ["-m", "not browser", "--ignore=tests/browser", "-rfE", "--tb=line"]
    if workers and importlib.util.find_spec("xdist") is not None:
        cmd += ["-n", str(workers)]
    env = {**os.environ, "RECSYS_BOOK_FAST": "1", "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    failures: dict[str, str] = {}
    for line in out.splitlines():
        m = re.match(r"(FAILED|ERROR) (tests/[\w/]+\.py)(::\S+)?(?: - (.*))?", line)
        if m:
            kind = "FAIL" if m.group(1) == "FAILED" else "ERROR"
            test = (m.group(3) or "").lstrip(":")
            failures.setdefault(m.group(2), f"{kind} {test}: {m.group(4) or ''}".strip())
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_*.py"))
    rows = [{"where": f, "result": failures.get(f, "ok")} for f in files]
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not failures):
        rows.append({"where": "pytest", "result": f"exit {proc.returncode}: {_first_line(out)}"})
    print(f"  unit suite: exit {proc.returncode} in {time.monotonic() - t0:.0f} s; "
          f"{_first_line(out)}", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_book.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("chapters", help="every chapter in FAST mode over several random streams")
    c.add_argument("--shifts", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    c.add_argument("--only", nargs="*", default=(), help="chapter prefixes, e.g. 04 06")
    c.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    c.add_argument("--grep", help="also print the cells' printed lines that match this regex")
    c.add_argument("--full", action="store_true", help="full mode (ML-100k) instead of FAST")
    g = sub.add_parser("gpu", help="the unit suite and every chapter on CUDA (exit 0 without)")
    g.add_argument("--workers", type=int, default=None, help="pytest-xdist workers, if installed")
    g.add_argument("--only", nargs="*", default=(), help="chapter prefixes, e.g. 04 06")
    g.add_argument("--no-tests", action="store_true", help="only the chapters")
    g.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)

    if args.cmd == "gpu":
        import torch

        if not torch.cuda.is_available():
            print(f"gpu-check: no CUDA device here (torch {torch.__version__}); nothing to check. "
                  "Run it on a machine with an NVIDIA GPU.")
            return 0
        print(f"gpu-check: torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
        rows = [] if args.no_tests else unit_tests(args.workers)
        lack = missing()
        for path in chapters(args.only):
            if lack:
                rows.append({"where": path.name, "result": f"not run: missing {', '.join(lack)}"})
                continue
            r = run_chapter(path, timeout_s=args.timeout)
            rows.append({"where": path.name,
                         "result": f"ok ({r['seconds']:.0f} s)" if r["ok"] else f"FAIL {r['error']}"})
            print(f"  {path.name}: {rows[-1]['result']}", flush=True)
        print(_table(rows, ["where", "result"]))
        bad = [r for r in rows if not r["result"].startswith("ok")]
        print(f"gpu-check: {len(rows) - len(bad)} of {len(rows)} passed on CUDA")
        return 1 if bad else 0

    lack = missing()
    if lack:
        print(f"check chapters: missing {', '.join(lack)} (install the course: make setup)")
        return 2
    rows = sweep(chapters(args.only), args.shifts, args.timeout, args.grep, args.full)
    print(_table(rows, ["chapter"] + [f"shift {k}" for k in args.shifts]))
    failed = sum(v.startswith("FAIL") for r in rows for v in r.values())
    print(f"check chapters: {failed} failing run(s) of {len(rows) * len(args.shifts)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
