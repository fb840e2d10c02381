"""A learner explores: every chapter still runs after its widgets were moved (issue 25).

The chapters invite the reader to move sliders and then run the next cells. Their
self-checks must assert the science (the figure shows what the model computes for the
slider's current value), never where a slider sits or how many entries a cache holds. This
test executes each chapter cell by cell in a kernel (``RECSYS_BOOK_FAST=1``) and, after
every code cell, moves each value widget that cell created (sliders, dropdowns, toggle
buttons, checkboxes, selects; not buttons, not progress bars) away from where it is, in
the kernel: 1, 2 or 3 steps (in turn, so that neighbouring sliders do not all move alike),
back instead of on at the end of the range; a menu by as many options, a checkbox flipped.
Setting ``.value`` there fires the ``observe`` callbacks as a drag does. Then the remaining
cells run; every cell and every callback must run without error. Buttons are not pressed.

Each chapter runs once more, with the extra work its moves cause (a moved training slider
retrains): about 12 minutes for the ten chapters in FAST mode on two shared cores, so the
chapter runs are marked ``slow`` (``-m 'not slow'`` leaves them out; ``make test`` runs them).

A callback's exception can be swallowed before it reaches the cell (an ``Output`` widget's
``with out:`` shows it and goes on; from the page, the comm handler only logs it): the
kernel's ``showtraceback`` is wrapped so that every traceback shown counts as a failure,
named by chapter, cell or widget, and value.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT_S = 900
MARK = "@@explore@@"

#: Runs once in the kernel before the chapter: the widget mover and the traceback recorder.
KERNEL_HELPER = r'''
def _explore_setup():
    import json as _json
    import math as _math
    import sys as _sys
    import traceback as _tb

    import ipywidgets as _W
    from ipywidgets.widgets.widget import _instances

    shell = get_ipython()
    state = {"seen": set(_instances), "errors": [], "moved": 0}
    shown = shell.showtraceback

    def record(exc_tuple=None, *args, **kwargs):   # also what Output.__exit__ calls
        et = exc_tuple if exc_tuple is not None else _sys.exc_info()
        text = "".join(_tb.format_exception(*et)) if et and et[0] is not None else "(no exception)"
        state["errors"].append(text)
        return shown(exc_tuple, *args, **kwargs)

    shell.showtraceback = record
    skip = (_W.IntProgress, _W.FloatProgress)       # displays, not controls

    def target(w, k):
        """A value k steps from w.value inside its range (k back if k on would leave it; the
        next option for a menu), or None if w is not a control."""
        if isinstance(w, skip) or getattr(w, "disabled", False) or not hasattr(w, "value"):
            return None
        v = w.value
        if isinstance(v, bool):                                     # Checkbox, ToggleButton
            return not v

        def shift(i, n):                                            # an index k away, inside 0..n-1
            for j in (i + k, i - k, i + 1, i - 1):
                if 0 <= j < n and j != i:
                    return j
            return None

        if hasattr(w, "options"):                                   # Dropdown, SelectionSlider, ...
            values = list(getattr(w, "_options_values", ()))
            if len(values) < 2:
                return None
            if isinstance(v, tuple) and isinstance(getattr(w, "index", None), tuple):
                lo, hi = w.index                                    # SelectionRangeSlider
                j = shift(lo, hi + 1)
                return None if j is None else (values[j], values[hi])
            if isinstance(v, tuple):                                # SelectMultiple
                return tuple(x for x in values if x not in v)[:1] or (values[-1],)
            i = values.index(v) if v in values else 0
            j = shift(i, len(values))
            return None if j is None else values[j]
        if not (hasattr(w, "min") and hasattr(w, "max")):
            return None
        step = getattr(w, "step", None) or 1
        if isinstance(w, _W.FloatLogSlider):                         # min, max, step: exponents
            e = _math.log(v, w.base)
            n = round((w.max - w.min) / step) + 1
            j = shift(round((e - w.min) / step), n)
            return None if j is None else round(w.base ** round(w.min + j * step, 10), 12)

        def one(x, lo, hi):                                         # on the step grid from lo
            n = int(round((hi - lo) / step)) + 1
            j = shift(int(round((x - lo) / step)), n)
            if j is None:
                return None
            y = lo + j * step
            return round(y, 10) + 0.0 if isinstance(y, float) else y   # + 0.0: never -0.0

        if isinstance(v, tuple):                                    # Int/FloatRangeSlider
            lo, hi = v
            y = one(lo, w.min, hi)
            return None if y is None else (y, hi)
        return one(v, w.min, w.max)

    def take_errors():
        out = list(state["errors"])
        state["errors"].clear()
        return out

    def move_new():
        """Move each widget created since the last call; report what moved and what failed."""
        new = [w for k, w in list(_instances.items()) if k not in state["seen"]]
        report = []
        take_errors()
        for w in new:
            t = target(w, 1 + state["moved"] % 3)   # 1, 2 or 3 steps: sliders move apart
            if t is None:
                continue
            name = f"{type(w).__name__} {getattr(w, 'description', '')!r}"
            before = w.value
            try:
                w.value = t
            except Exception:
                state["errors"].append(_tb.format_exc())
            state["moved"] += 1
            report.append({"widget": name, "from": repr(before), "to": repr(t), "now": repr(w.value),
                           "errors": take_errors()})
        state["seen"] = set(_instances)      # widgets the moves created are not the learner's
        print("@@explore@@" + _json.dumps(report))

    def cell_errors():
        print("@@explore@@" + _json.dumps(take_errors()))

    return move_new, cell_errors


_explore_move, _explore_errors = _explore_setup()
del _explore_setup
'''


def _marked(cell) -> object:
    """The JSON payload the helper printed into ``cell``'s outputs."""
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream"
                   and o.get("name") == "stdout")
    line = [ln for ln in text.splitlines() if ln.startswith(MARK)][-1]
    return json.loads(line[len(MARK):])


def explore(path: Path) -> tuple[list[str], list[str]]:
    """Execute the notebook at ``path`` cell by cell, moving every new value widget after
    each code cell. Returns (the moves, the failures): a failure names the cell or the widget
    and value; the cells after a failing one still run, so that every break is listed (the
    first is the one to read: the later ones may follow from it)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,  # an Output widget cleared from a callback needs it (chapter 03)
    )
    env = {**os.environ, "RECSYS_BOOK_FAST": "1"}

    def run(source: str) -> object:
        # a cell of the test's own, after the chapter's (execute_cell stores a cell at its index)
        cell = nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)
        try:
            client.execute_cell(cell, len(nb.cells) - 1, store_history=False)
        finally:
            nb.cells.pop()
        return _marked(cell)

    moves: list[str] = []  # what the learner did so far
    failures: list[str] = []
    with client.setup_kernel(env=env):
        run(KERNEL_HELPER + "\n_explore_errors()")
        for i, cell in enumerate(list(nb.cells)):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as e:
                failures.append(f"cell {i} fails after the moves {moves or '(none)'}:\n{e}")
                run("_explore_errors()")  # the cell's own traceback, already reported
            else:
                shown = run("_explore_errors()")
                if shown:
                    failures.append(f"cell {i} showed a traceback (caught inside the cell) after "
                                    f"the moves {moves or '(none)'}:\n" + "\n".join(shown))
            for m in run("_explore_move()"):
                moves.append(f"cell {i}: {m['widget']} {m['from']} -> {m['to']}")
                if m["errors"]:
                    failures.append(f"moving {m['widget']} from {m['from']} to {m['to']} after cell "
                                    f"{i} raised in a callback:\n" + "\n".join(m["errors"]))
                elif m["now"] == m["from"]:
                    failures.append(f"{m['widget']} did not move from {m['from']} (to {m['to']})")
    return moves, failures


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c[:2] for c in CHAPTERS])
def test_chapter_runs_after_its_widgets_are_moved(chapter, record_property):
    pytest.importorskip("nbclient")
    t0 = time.monotonic()
    moves, failures = explore(NOTEBOOKS / chapter)
    seconds = time.monotonic() - t0
    record_property("seconds", round(seconds, 1))
    print(f"{chapter}: {len(moves)} widget moves, {seconds:.0f} s")
    for m in moves:
        print("  ", m)
    if failures:
        pytest.fail(f"{chapter}: {len(failures)} failure(s) when a learner explores:\n\n"
                    + "\n\n".join(failures), pytrace=False)


def test_explore_names_what_breaks(tmp_path):
    """The explorer itself: a callback that raises (directly, or inside ``with out:`` where
    the exception never reaches the cell) and a check of where a slider sits all fail, each
    named; buttons and progress bars are not moved."""
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    cells = [
        "import ipywidgets as W\n"
        "out = W.Output()\n"
        "s = W.IntSlider(value=1, min=0, max=5, description='swallowed')\n"
        "def cb(change):\n"
        "    with out:\n"
        "        raise ValueError(f'boom at {change[\"new\"]}')\n"
        "s.observe(cb, names='value')\n"
        "d = W.Dropdown(options=['a', 'b'], value='a', description='raises')\n"
        "d.observe(lambda change: 1 / 0, names='value')\n"
        "c = W.Checkbox(value=True, description='quiet')\n"
        "b, bar = W.Button(description='press'), W.IntProgress(value=0, max=3)",
        "assert s.value == 1, 'where the slider sits'",
        "assert (b.description, bar.value) == ('press', 0)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "toy.ipynb"
    nbformat.write(nb, path)
    moves, failures = explore(path)
    assert moves == ["cell 0: IntSlider 'swallowed' 1 -> 2", "cell 0: Dropdown 'raises' 'a' -> 'b'",
                     "cell 0: Checkbox 'quiet' True -> False"], moves
    assert len(failures) == 3, failures
    assert "moving IntSlider 'swallowed' from 1 to 2" in failures[0] and "boom at 2" in failures[0]
    assert "moving Dropdown 'raises' from 'a' to 'b'" in failures[1]
    assert "ZeroDivisionError" in failures[1]
    assert failures[2].startswith("cell 1 fails") and "where the slider sits" in failures[2]
