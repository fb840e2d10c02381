"""The course in a real browser: JupyterLab + headless Chromium, every slider of SLIDERS moved.

For each entry of SLIDERS the test opens the chapter in JupyterLab (served with
RECSYS_BOOK_FAST=1), runs all cells, presses an arrow key on the slider's handle as a reader
would, and asserts that

* the plotly figures in the slider's cell change in the page (their ``data``/``layout`` read
  from the plot divs, not a screenshot) within the entry's stated latency;
* the kernel received the move (the slider's value in the kernel equals the page's).

It also compares what the page shows with what the kernel holds (every trace's x/y/z and
every title of the cell's figures against the FigureWidgets in the kernel) and reports each
difference in the summary and in results/browser/latency.md; RECSYS_BOOK_BROWSER_STRICT=1
makes a difference fail the test. It is not a failure by default because the differences seen
so far are intermittent front-end losses (issue 17): chapter 05's metric bars lose their x
labels (every run), and now and then a FigureWidget in the same cell as a slider is drawn
empty (chapter 03's APR chart, 04's hop bars, 05's "settings you tried" chart). When the
figures of the slider's own cell are drawn empty before the move, the move cannot be
checked: the test then xfails saying so (fails under RECSYS_BOOK_BROWSER_STRICT=1).

Screenshots of the cell before and after each move go to results/browser/ (git-ignored)
and the latencies to results/browser/latency.md; both are printed at the end of the run.

A new chapter's slider is one entry in SLIDERS: give the widget a stable CSS class in the
notebook (``W.IntSlider(...).add_class("rb-lrml-slots")``), name the kernel variables of the
slider and of the figures displayed with it (in display order). An entry whose notebook does
not exist yet is skipped, saying so.

Run: ``make browser-test`` (``pytest --browser tests/browser``); ``make test`` runs it after
the unit/notebook suite. Latency bounds hold for FAST mode on a loaded 2-core CI machine.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from recsys_book.utils import atomic_path, write_text_atomic

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser

SHOTS = ROOT / "results" / "browser"
RUN_ALL_TIMEOUT_S = 420  # one FAST chapter, Run All, on a loaded 2-core machine
#: fail on any difference between the page and the kernel's figures (default: report them).
#: Off by default: FigureWidget views drop data intermittently (issue 17), see the docstring.
STRICT = os.environ.get("RECSYS_BOOK_BROWSER_STRICT", "0") not in ("", "0")


@dataclass(frozen=True)
class Slider:
    chapter: str  # notebook prefix: notebooks/<chapter>_*.ipynb
    css: str  # the class the notebook adds to the widget (.add_class)
    what: str
    latency_s: float  # stated bound: key press -> figure changed in the page (FAST mode)
    slider_var: str  # the slider's name in the kernel
    figures: tuple[str, ...]  # FigureWidgets displayed with it, in display order
    cache: str | None = None  # a slider that trains: its cache of trained settings in the kernel


SLIDERS = [
    Slider("03", "rb-masr-eps", "noise magnitude ε of APR (MASR chapter)", 120, "eps_slider",
           ("fig_apr",), "cache"),  # fine-tunes the cached BPR MDR with APR once per (ε, noise, λ_δ)
    Slider("03", "rb-masr-stretch", "stretch of MDR's playlist metric (MASR chapter)", 10,
           "stretch_slider", ("fig_metric",)),  # rescales the scatter and the ball, no training
    Slider("04", "rb-sdm-hops", "hops of SDM (SDMR chapter)", 10, "hop_slider",
           ("bars", "curves", "heat")),  # a move redraws; new settings train on the button
    Slider("05", "rb-corml-t", "normalization strength t of CoRML", 30, "t_slider",
           ("fig_w", "fig_trace")),  # warm-started ADMM re-solve + full-ranking evaluation
    # n_slider (a SelectionSlider) retrains LRML and redraws w_curve
    Slider("06", "rb-lrml-slots", "memory slots N of LRML", 120, "n_slider", ("w_curve",), "cache"),
    Slider("07", "rb-qabpr-eps", "noise magnitude ε of QABPR", 120, "eps_s", ("fig_adv",), "qabpr_cache"),
    # reg_slider (a SelectionSlider) re-solves EASE in closed form and moves its point
    Slider("09", "rb-board-reg", "EASE reg on the accuracy-novelty plane (leaderboard)", 30,
           "reg_slider", ("fig_nov",)),
]  # fmt: skip


def _notebook(chapter: str) -> Path | None:
    found = sorted((ROOT / "notebooks").glob(f"{chapter}_*.ipynb"))
    return found[0] if found else None


# -- what the page shows ----------------------------------------------------------------------

#: records whether a progress bar (tqdm's ipywidgets bar) is ever added inside the slider's own
#: cell: a training started from a widget callback shows its bar there only when the chapter
#: wraps it in an Output of the widget (else it goes to JupyterLab's Log panel)
PROGRESS_WATCH_JS = """
(css) => {
  const cell = document.querySelector('.' + css).closest('.jp-Cell');
  const sel = '.widget-hprogress, .widget-progress, progress';
  window.__rbProgress = false;
  if (window.__rbProgressObs) window.__rbProgressObs.disconnect();
  window.__rbProgressObs = new MutationObserver((muts) => {
    for (const m of muts) for (const n of m.addedNodes)
      if (n.nodeType === 1 && (n.matches(sel) || n.querySelector(sel))) window.__rbProgress = true;
  });
  window.__rbProgressObs.observe(cell, {childList: true, subtree: true});
}
"""

FIG_STATE_JS = """
(css) => {
  const el = document.querySelector('.' + css);
  if (!el) return null;
  const cell = el.closest('.jp-Cell');
  const arr = (v) => {
    if (v === undefined || v === null) return null;
    if (ArrayBuffer.isView(v) || Array.isArray(v))
      return Array.from(v, (x) => (x !== null && (ArrayBuffer.isView(x) || Array.isArray(x)))
                                   ? Array.from(x) : x);
    if (typeof v === 'object' && v.bdata !== undefined)
      return {bdata: v.bdata, dtype: v.dtype, shape: v.shape === undefined ? null : v.shape};
    return v;
  };
  return [...cell.querySelectorAll('.js-plotly-plot')].map((gd) => {
    const t = gd.layout && gd.layout.title;
    return {
      title: t === undefined || t === null ? null : (typeof t === 'string' ? t : (t.text ?? null)),
      traces: (gd.data || []).map((tr) => ({
        type: tr.type ?? null, x: arr(tr.x), y: arr(tr.y), z: arr(tr.z),
        visible: tr.visible ?? true, opacity: arr(tr.marker ? tr.marker.opacity : null),
      })),
    };
  });
}
"""

KERNEL_EXEC_JS = """
async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let out = '', err = null;
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type;
    if (t === 'stream') out += msg.content.text;
    if (t === 'error') err = msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  return {out, err};
}
"""

KERNEL_FIGS_PY = """
import json as _rb_json
import numpy as _rb_np
def _rb_arr(v):
    if v is None:
        return None
    a = _rb_np.asarray(v)
    return a.tolist() if a.dtype.kind in "biuf" else _rb_np.vectorize(str)(a).tolist() if a.size else []
def _rb_fig(f):
    return {{"title": f.layout.title.text, "traces": [
        {{"type": t.type, **{{k: _rb_arr(getattr(t, k, None)) for k in ("x", "y", "z")}}}}
        for t in f.data]}}
print(_rb_json.dumps({{"slider": {slider}.value, "figs": [_rb_fig(f) for f in ({figs},)]}},
                     default=str))
"""


def _decode(v):
    """A page array: a list, or plotly's typed-array spec {bdata, dtype, shape}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        if shape:
            a = a.reshape(
                [int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape
            )
        return a.tolist()
    return v


def _same(kernel, page) -> bool:
    try:
        k, p = np.asarray(kernel, dtype=float), np.asarray(page, dtype=float)
        return k.shape == p.shape and np.allclose(k, p, rtol=1e-5, atol=1e-8, equal_nan=True)
    except (TypeError, ValueError):
        return [str(x) for x in np.ravel(kernel)] == [str(x) for x in np.ravel(page)]


def page_vs_kernel(page_figs: list[dict], kernel_figs: list[dict], names) -> list[str]:
    """Every difference between what the kernel's FigureWidgets hold and what the page shows."""
    if len(page_figs) != len(kernel_figs):
        return [f"the cell shows {len(page_figs)} plotly figures, the kernel displays {len(names)}"]
    diffs = []
    for name, pf, kf in zip(names, page_figs, kernel_figs):
        if (pf["title"] or "") != (kf["title"] or ""):
            diffs.append(f"{name}: title in the page {pf['title']!r}, kernel {kf['title']!r}")
        for i, (pt, kt) in enumerate(zip(pf["traces"], kf["traces"])):
            for key in ("x", "y", "z"):
                kv, pv = kt[key], _decode(pt[key])
                if kv is None or (isinstance(kv, list) and len(kv) == 0):
                    continue
                if pv is None:
                    diffs.append(
                        f"{name}.data[{i}] ({kt['type']}): the kernel's {key} = {str(kv)[:80]} "
                        f"is missing in the page (plotly draws its default 0, 1, 2 ...)"
                    )
                elif not _same(kv, pv):
                    diffs.append(
                        f"{name}.data[{i}] ({kt['type']}).{key}: page {str(pv)[:80]} "
                        f"!= kernel {str(kv)[:80]}"
                    )
        if len(pf["traces"]) != len(kf["traces"]):
            diffs.append(
                f"{name}: {len(pf['traces'])} traces in the page, {len(kf['traces'])} in the kernel"
            )
    return diffs


# -- an open chapter ----------------------------------------------------------------------------


class Chapter:
    """One notebook open in its own browser context; ``start()`` fires Run All."""

    def __init__(self, browser, lab, notebook: Path):
        self.name = notebook.name
        self.context = browser.new_context(viewport={"width": 1400, "height": 1400})
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.page.goto(lab.url(f"lab/tree/{self.name}"))
        self.run_s: float | None = None
        self._t0: float | None = None

    def start(self) -> None:
        """Wait for the kernel to be idle (an earlier Run All can be lost), then Run All."""
        self.page.wait_for_function(
            """(name) => {
                 const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                 const k = w && w.sessionContext && w.sessionContext.session
                           && w.sessionContext.session.kernel;
                 return !!(w && w.context && w.context.path.endsWith(name) && k
                           && k.connectionStatus === 'connected' && k.status === 'idle');
               }""",
            arg=self.name,
            timeout=120_000,
        )
        # and as a reader sees it: the status bar says so; then let the widget manager settle
        self.page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=60_000)
        time.sleep(2.0)
        self._t0 = time.monotonic()
        self.page.evaluate(
            "() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )

    def wait_done(self) -> None:
        """Every code cell has run, or fail naming the cell that raised."""
        if self.run_s is not None:
            return
        state = None
        while time.monotonic() - self._t0 < RUN_ALL_TIMEOUT_S:
            state = self.page.evaluate(
                """() => {
                     const w = window.jupyterapp.shell.currentWidget;
                     const cells = w.content.widgets.filter((c) => c.model.type === 'code');
                     const errors = [];
                     let done = 0;
                     cells.forEach((c, i) => {
                       if (c.model.executionCount !== null) done += 1;
                       for (const o of c.model.outputs.toJSON())
                         if (o.output_type === 'error')
                           errors.push({cell: i, ename: o.ename, evalue: o.evalue,
                                        source: c.model.sharedModel.getSource().slice(0, 200)});
                     });
                     return {done, total: cells.length, errors,
                             status: w.sessionContext.session.kernel.status};
                   }"""
            )
            if state["errors"] and state["status"] == "idle":
                e = state["errors"][0]
                pytest.fail(
                    f"{self.name}: Run All stopped at code cell {e['cell']}: "
                    f"{e['ename']}: {e['evalue']}\n--- cell source ---\n{e['source']}"
                )
            if state["done"] == state["total"] and state["status"] == "idle":
                self.run_s = time.monotonic() - self._t0
                return
            time.sleep(0.5)
        pytest.fail(f"{self.name}: Run All not finished after {RUN_ALL_TIMEOUT_S} s: {state}")

    def wait_idle(self, timeout_s: float) -> None:
        """The kernel is idle twice 0.3 s apart (a widget callback has finished)."""
        js = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.page.evaluate(js) == "idle":
                time.sleep(0.3)
                if self.page.evaluate(js) == "idle":
                    return
            time.sleep(0.1)
        pytest.fail(f"{self.name}: the kernel did not become idle within {timeout_s} s")

    def kernel(self, code: str) -> str:
        res = self.page.evaluate(KERNEL_EXEC_JS, code)
        if res["err"]:
            pytest.fail(f"{self.name}: kernel code failed: {res['err']}\n{code}")
        return res["out"]

    def close(self) -> None:
        try:
            self.page.evaluate(
                "async () => { await window.jupyterapp.shell.currentWidget"
                ".sessionContext.session.shutdown(); }"
            )
        finally:
            self.context.close()


@pytest.fixture(scope="session")
def chapters(browser, lab):
    """Open chapters one at a time (the previous one's kernel is shut down first).

    Chapters run one after the other, not side by side: with several pages at once the
    FigureWidget views came up empty more often (see the module docstring).
    """
    current: dict[str, Chapter] = {}

    def open_chapter(notebook: Path) -> Chapter:
        if notebook.name not in current:
            for ch in current.values():
                ch.close()
            current.clear()
            ch = Chapter(browser, lab, notebook)
            current[notebook.name] = ch
            ch.start()
        return current[notebook.name]

    yield open_chapter
    for ch in current.values():
        try:
            ch.close()
        except Exception as e:  # the server is stopped next, with every kernel
            print(f"closing {ch.name}: {e}")


def _readout(locator) -> str:
    """The slider's readout text, once it is drawn (it can be empty for a moment)."""
    locator.scroll_into_view_if_needed()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = locator.inner_text().strip()
        if text:
            return text
        time.sleep(0.1)
    pytest.fail("the slider's readout stayed empty for 10 s")


def _shot(locator, path: Path) -> None:
    with atomic_path(path) as tmp:
        locator.screenshot(path=str(tmp), type="png")


def _settled_state(page, css: str, quiet_s: float = 1.0, timeout_s: float = 20.0):
    """The figures' state once it has not changed for ``quiet_s`` (or after ``timeout_s``)."""
    state = page.evaluate("(css) => window.__rbFigState(css)", css)
    quiet_since = t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        time.sleep(0.1)
        now = page.evaluate("(css) => window.__rbFigState(css)", css)
        if now != state:
            state, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            break
    return state


def _state_matching(page, css: str, kernel_figs: list[dict], names, timeout_s: float = 15.0):
    """The page's figures once they show ``kernel_figs`` (no ``page_vs_kernel`` difference),
    or as they are after ``timeout_s`` (the differences are then reported by the caller)."""
    t0 = time.monotonic()
    while True:
        state = page.evaluate("(css) => window.__rbFigState(css)", css)
        if not page_vs_kernel(state, kernel_figs, names) or time.monotonic() - t0 >= timeout_s:
            return state
        time.sleep(0.1)


@pytest.mark.parametrize("s", SLIDERS, ids=lambda s: f"{s.chapter}-{s.css}")
def test_slider_moves_figure(s: Slider, chapters, latencies: list[dict]) -> None:
    notebook = _notebook(s.chapter)
    if notebook is None:
        pytest.skip(
            f"notebooks/{s.chapter}_*.ipynb does not exist yet: the {s.what} slider is tested "
            f"once the chapter lands (its widget needs .add_class({s.css!r}))"
        )
    if not s.figures:
        pytest.fail(f"{notebook.name} exists: fill in the figures of the {s.css} entry of SLIDERS")
    ch = chapters(notebook)
    ch.wait_done()
    page = ch.page
    page.evaluate(f"window.__rbFigState = {FIG_STATE_JS}")
    slider = page.locator(f".{s.css}")
    if slider.count() == 0:
        pytest.fail(
            f"{notebook.name}: no widget with CSS class {s.css!r}: add "
            f".add_class({s.css!r}) to the {s.what} slider ({s.slider_var})"
        )
    cell = page.locator(f".jp-Cell:has(.{s.css})").first
    outputs = cell.locator(".jp-Cell-outputWrapper")  # what the screenshots show
    outputs.scroll_into_view_if_needed()
    handle = slider.first.locator(".noUi-handle")
    try:  # the plot divs are drawn (their traces are compared with the kernel's below)
        page.wait_for_function(
            "(n) => { const st = window.__rbFigState(n[0]); return st && st.length === n[1]; }",
            arg=[s.css, len(s.figures)],
            timeout=30_000,
        )
    except Exception:
        state = page.evaluate("(css) => window.__rbFigState(css)", s.css)
        pytest.fail(
            f"{notebook.name}: the {s.what} slider's cell should show {len(s.figures)} plotly "
            f"figures {s.figures}; after 30 s it shows {len(state or [])}"
        )
    # the figures as they settle: updates the chapter's own self-check cells sent (they move
    # the sliders in code) may still be arriving; a late one taken for the answer to our
    # move made `after == before` fail once in a fresh clone (chapter 03, 2026-12-04)
    # what the kernel has trained so far (read before the page settles: nothing else runs after)
    trained_before = int(ch.kernel(f"print(len({s.cache}))").strip()) if s.cache else None
    ch.wait_idle(timeout_s=60.0)
    before = _settled_state(page, s.css)
    readout = slider.first.locator(".widget-readout")  # the slider's value as the page shows it
    value_before = _readout(readout)
    stem = f"{notebook.stem[:2]}_{s.css}"
    _shot(outputs, SHOTS / f"{stem}_before.png")
    kernel_code = KERNEL_FIGS_PY.format(slider=s.slider_var, figs=", ".join(s.figures))
    kernel_figs = json.loads(ch.kernel(kernel_code))["figs"]
    empty = [
        name
        for name, pf, kf in zip(s.figures, before, kernel_figs)
        if not pf["traces"] and kf["traces"]
    ]
    if empty and len(empty) == sum(1 for kf in kernel_figs if kf["traces"]):
        # views drawn empty cannot answer a move: say so rather than time out
        msg = (
            f"{notebook.name}: FigureWidget view(s) {empty} drawn empty in the page although the "
            f"kernel's figures have traces (intermittent front-end defect, see issue 17); "
            f"the {s.what} slider could not be checked in this run"
        )
        latencies.append(
            dict(chapter=s.chapter, slider=s.css, move="not moved", latency_s=float("nan"),
                 bound_s=s.latency_s, settled_s=float("nan"), run_all_s=ch.run_s,
                 notebook=notebook.name, diffs=[msg])
        )  # fmt: skip
        _write_latency_table(latencies)
        if STRICT:
            pytest.fail(msg)
        pytest.xfail(msg)

    # a reader's move: one arrow key on the focused handle (left when it sits at its maximum)
    page.evaluate(f"({PROGRESS_WATCH_JS})('{s.css}')")
    now, vmax = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
    key = "ArrowLeft" if now >= vmax else "ArrowRight"
    handle.focus()
    t0 = time.monotonic()
    handle.press(key)
    try:
        page.wait_for_function(
            "(a) => JSON.stringify(window.__rbFigState(a[0])) !== a[1]",
            arg=[s.css, json.dumps(before, separators=(",", ":"))],
            polling=50,
            timeout=s.latency_s * 1000,
        )
    except Exception as e:  # playwright's TimeoutError
        _shot(outputs, SHOTS / f"{stem}_after.png")
        pytest.fail(
            f"{notebook.name}: {key} on the {s.what} slider (at {value_before}) did not change "
            f"its figure within {s.latency_s} s ({type(e).__name__})"
        )
    latency = time.monotonic() - t0
    ch.wait_idle(timeout_s=max(60.0, 2 * s.latency_s))
    settled = time.monotonic() - t0
    # the kernel is idle: its figures hold the answer to the move. The page may still be
    # drawing updates that arrived late (a self-check cell's moves, then ours: the change seen
    # above was one of those, and `after == before` failed once more in a fresh clone, chapter
    # 03, 2026-12-06), so read the page once it shows the kernel's figures (or after 15 s)
    got = json.loads(ch.kernel(kernel_code))
    after = _state_matching(page, s.css, got["figs"], s.figures)
    value_after = _readout(readout)
    _shot(outputs, SHOTS / f"{stem}_after.png")
    move = f"{value_before} -> {value_after} ({key})"
    latencies.append(
        dict(chapter=s.chapter, slider=s.css, move=move, latency_s=latency, bound_s=s.latency_s,
             settled_s=settled, run_all_s=ch.run_s, notebook=notebook.name)
    )  # fmt: skip
    _write_latency_table(latencies)

    assert float(value_after) != float(value_before), f"the slider did not move: {move}"
    assert after != before
    if s.cache:  # a move that trained a new setting showed its progress bar in the slider's own cell
        trained = int(ch.kernel(f"print(len({s.cache}))").strip()) > trained_before
        seen = bool(page.evaluate("() => window.__rbProgress"))
        latencies[-1]["progress"] = ("trained: progress bar in its cell" if trained and seen else
                                     "trained: NO progress bar in its cell" if trained else
                                     "cached setting: nothing trained")  # fmt: skip
        if trained:
            assert seen, (
                f"{notebook.name}: the {s.what} slider trained a new setting ({move}) but no progress "
                "bar appeared in its cell: wrap the training in an Output of the widget (`with out:`), "
                "else a callback's bar goes to JupyterLab's Log panel"
            )
    # the kernel got the move, and the page shows what the kernel's figures hold
    assert abs(float(got["slider"]) - float(value_after)) < 1e-6, (
        f"slider in the page at {value_after}, kernel {s.slider_var}.value = {got['slider']}"
    )
    diffs = page_vs_kernel(after, got["figs"], s.figures)
    latencies[-1]["diffs"] = diffs
    _write_latency_table(latencies)
    if diffs and STRICT:
        pytest.fail(f"{notebook.name}: the page differs from the kernel: " + "; ".join(diffs))


def _write_latency_table(latencies: list[dict]) -> None:
    lines = [
        "# Browser test: slider -> figure latency (FAST mode)",
        "",
        "Written by `make browser-test` (tests/browser/test_browser.py); times on the machine",
        "that ran it, seconds from the key press.",
        "",
        "| notebook | slider | move | figure changed (s) | bound (s) | kernel idle (s) | Run All (s) | progress |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in latencies:
        lines.append(
            f"| {r['notebook']} | {r['slider']} | {r['move']} | {r['latency_s']:.2f} | "
            f"{r['bound_s']:.0f} | {r['settled_s']:.2f} | {r['run_all_s']:.0f} |"
            + (f" {r['progress']} |" if r.get("progress") else " |")
        )
    lines += ["", "## The page versus the kernel's figures, after the move", ""]
    for r in latencies:
        d = r.get("diffs")
        state = "not compared" if d is None else "; ".join(d) if d else "the same"
        lines.append(f"- {r['notebook']} ({r['slider']}): {state}")
    write_text_atomic(SHOTS / "latency.md", "\n".join(lines) + "\n")
