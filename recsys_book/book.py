"""The static HTML book of the course, and static stand-ins for widgets in it.

Widgets need a kernel, so they cannot work in a static page. Where a chapter has a slider,
the book shows, next to it, one plotly figure holding a few slider positions, switched by
plotly's own slider (plain JavaScript, works in the static page): :func:`static_positions`
builds it from any ``value -> figure`` function, :func:`slider_positions` from a widget
slider and the FigureWidget it drives, and :func:`show_in_book` displays that only while
the book is being built (``RECSYS_BOOK_BOOK=1``, set by ``make book``), so JupyterLab and
the tests never pay for it. In a chapter, one line after the widget's ``display``::

    show_in_book(t_slider, fig_w, (-0.2, 0.0, 0.2))

Build: ``make book`` (FAST) or ``make book FULL=1``, i.e. ``python -m recsys_book.book build``:
execute every ``notebooks/NN_*.ipynb`` (nbclient, the ``notebook`` plotly renderer so that
static figures carry plotly.js inline), replace widget views by a note, and render the
executed notebooks with jupyter-book 1.x (Sphinx + myst-nb; offline, unlike jupyter-book 2)
into ``build/book/html``. The maths is typeset by a local MathJax (2.7, shipped by the
``jupyter-server-mathjax`` package of the ``[book]`` extra) copied into the book: a page
opened offline, from a file, renders every equation (``tests/test_book.py`` fails if a page
references a remote script, style or font).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from recsys_book.utils import write_text_atomic

#: True while ``make book`` executes the chapters (environment variable RECSYS_BOOK_BOOK=1).
BOOK: bool = os.environ.get("RECSYS_BOOK_BOOK", "0") not in ("", "0", "false", "False")
#: marks a figure made by static_positions (tests/test_book.py looks for it in the pages)
STATIC_META = "rb-static-positions"
WIDGET_NOTE = (
    "*Interactive widget: it needs a running kernel. Open this chapter in JupyterLab "
    "(`make lab`) to move it; the book shows a few of its positions below.*"
)


def static_positions(
    fig_fn: Callable[[object], object],
    values: Sequence,
    *,
    label: str = "value",
    fmt: Callable[[object], str] = str,
):
    """One static figure showing ``fig_fn(v)`` for each ``v`` in ``values``.

    Every ``fig_fn(v)`` must have the same traces in the same order (one slider position of
    the same chart); the figure holds all of them and a plotly slider makes the traces of one
    position visible at a time, and sets that position's title. Layout (axes, sizes) is the
    first position's. Returns a ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go

    values = list(values)
    if not values:
        raise ValueError("static_positions needs at least one slider value")
    figs = [go.Figure(fig_fn(v)) for v in values]
    n = len(figs[0].data)
    for v, f in zip(values, figs):
        if len(f.data) != n:
            raise ValueError(
                f"static_positions: fig_fn({v!r}) has {len(f.data)} traces, fig_fn({values[0]!r}) "
                f"has {n}; every position must draw the same traces"
            )
    out = go.Figure(layout=figs[0].layout)
    shown = []  # (position, the trace's own visibility)
    for k, f in enumerate(figs):
        for tr in f.data:
            own = tr.visible if tr.visible is not None else True
            shown.append(own)
            tr = tr.to_plotly_json()
            tr["visible"] = own if k == 0 else False
            out.add_trace(tr)
    steps = []
    for k, (v, f) in enumerate(zip(values, figs)):
        mask = [own if j // n == k else False for j, own in enumerate(shown)]
        title = f.layout.title.text if f.layout.title.text is not None else f"{label} = {fmt(v)}"
        steps.append(
            dict(method="update", label=fmt(v), args=[{"visible": mask}, {"title.text": title}])
        )
    height = (figs[0].layout.height or 450) + 90
    out.update_layout(
        sliders=[
            dict(active=0, steps=steps, currentvalue=dict(prefix=f"{label} = "), pad=dict(t=50))
        ],
        height=height,
        width=None,  # fit the book's text column (the widget's width may not)
        meta=STATIC_META,
    )
    return out


def slider_positions(slider, figure, values: Iterable, *, label: str | None = None):
    """:func:`static_positions` of a widget: set ``slider`` to each value, copy ``figure``.

    ``figure`` is the FigureWidget the slider's callback redraws. The slider is put back to
    the value it had, so cells after this one see the same state as without the book.
    """
    import plotly.graph_objects as go

    start = slider.value
    try:

        def at(v):
            slider.value = v
            return go.Figure(figure)

        return static_positions(at, list(values), label=label or slider.description or "value")
    finally:
        slider.value = start


def show_in_book(slider, figure, values: Iterable, *, label: str | None = None) -> None:
    """Display :func:`slider_positions` while the book is built (RECSYS_BOOK_BOOK=1), else
    do nothing. Returns None, so that as a cell's last line it is not displayed twice."""
    if not BOOK:
        return
    from IPython.display import display

    display(slider_positions(slider, figure, values, label=label))


# -- building the book -------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def chapters(notebooks: Path) -> list[Path]:
    """The chapter notebooks, in order: ``NN_*.ipynb`` (solutions/ and others are not pages)."""
    return sorted(p for p in notebooks.glob("*.ipynb") if re.match(r"\d\d_", p.name))


def _title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "untitled"


#: plotly's HTML renderers put a MathJax 3 <script> from a CDN before every figure (its
#: ``include_mathjax="cdn"`` is not an option of the ``notebook`` renderer): the book drops
#: it, the page's own local MathJax typesets the maths (and offline the CDN would not load)
_CDN_MATHJAX = re.compile(r"<script[^>]*\ssrc=\"(?:https?:)?//[^\"]*mathjax[^\"]*\"[^>]*></script>", re.I)


def _drop_cdn_mathjax(nb) -> int:
    """Remove CDN MathJax script tags from the chapter's HTML outputs; returns how many."""
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            html = data.get("text/html")
            if html is None:
                continue
            text = "".join(html) if isinstance(html, list) else html
            text, k = _CDN_MATHJAX.subn("", text)
            if k:
                data["text/html"] = text
                n += k
    return n


def _replace_widget_views(nb) -> int:
    """Widget views cannot render without a kernel: put a note in their place."""
    import nbformat

    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") in (
                "display_data",
                "execute_result",
            ) and WIDGET_MIME in out.get("data", {}):
                n += 1
                outs.append(
                    nbformat.v4.new_output("display_data", data={"text/markdown": WIDGET_NOTE})
                )
            else:
                outs.append(out)
        cell["outputs"] = outs
    nb.metadata.pop("widgets", None)
    return n


def execute(src: Path, dst: Path, *, timeout_s: int) -> dict:
    """Execute one chapter into ``dst`` (outputs kept, widget views replaced by a note)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(src, as_version=4)
    t0 = time.monotonic()
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(src.parent)}},
        # True: with False, nbclient raises KeyError when an Output widget is cleared from a
        # callback (chapter 03's training log); the stored state is dropped below instead
        store_widget_state=True,
    )
    try:
        client.execute()
    except CellExecutionError as e:
        raise RuntimeError(f"{src.name} failed while building the book:\n{e}") from None
    wall = time.monotonic() - t0
    nb.metadata.pop(
        "widgets", None
    )  # the widgets' state (plotly.js included): no use in a static page
    widgets = _replace_widget_views(nb)
    _drop_cdn_mathjax(nb)
    nbformat.write(nb, dst)
    return {"notebook": src.name, "title": _title(nb), "seconds": wall, "widgets": widgets}


#: pages of the book that are not chapters (the chapters link to them), copied as they are
EXTRA_PAGES = ("glossary.md",)


#: where the local MathJax lands: ``<book>/mathjax/``, copied by Sphinx's
#: ``html_extra_path`` (not ``_static/``: jupyter-book loads every .js file under
#: ``_static`` into every page, and MathJax's 600 files must load only on demand)
MATHJAX_DIR = "mathjax"
EXTRA_DIR = "_extra"
#: MathJax 2 configured for Sphinx's math markup, with the fonts the package ships (STIX-Web:
#: no request for the TeX web fonts it leaves out)
MATHJAX2_CONFIG = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processRefs": False,
        "processEnvironments": False,
        # myst-nb marks the page's section tex2jax_ignore and each equation's span "math"
        # (the MathJax 3 settings Sphinx writes say the same in v3's words)
        "ignoreClass": "tex2jax_ignore|mathjax_ignore|document",
        "processClass": "tex2jax_process|mathjax_process|math|output_area",
    },
    "HTML-CSS": {"availableFonts": ["STIX-Web"], "webFont": "STIX-Web", "imageFont": None},
    "SVG": {"font": "STIX-Web"},
    "showMathMenu": False,
    "menuSettings": {"zoom": "None"},
}


def copy_mathjax(extra: Path) -> Path:
    """Copy MathJax from the ``jupyter_server_mathjax`` package into ``extra/mathjax``."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise RuntimeError(
            "the book's local MathJax comes from jupyter-server-mathjax: pip install -e "
            "'.[book]' (make book does this)"
        ) from None
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (source / "MathJax.js").is_file():
        raise RuntimeError(f"no MathJax.js in {source}: reinstall jupyter-server-mathjax")
    target = extra / MATHJAX_DIR
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target


def _write_project(src: Path, pages: list[dict], full: bool, extra: Sequence[str] = ()) -> None:
    mode = (
        "full mode (MovieLens-100k)" if full else "FAST mode (small planted data, short training)"
    )
    rows = "\n".join(f"| [{p['title']}]({Path(p['notebook']).stem}) |" for p in pages)
    (src / "intro.md").write_text(
        "# recsys-book\n\n"
        "An interactive, tested course on metric-learning and memory-based recommender "
        "systems. This static book shows every chapter executed, with its outputs and "
        "interactive plotly figures; the widgets need a kernel, so each slider is shown "
        "beside a figure of a few of its positions. To run and change the chapters, "
        "clone the repository and run `make lab`.\n\n"
        f"This build ran the chapters in **{mode}** (`make book`"
        f"{' FULL=1' if full else '; `make book FULL=1` for full mode'}).\n\n"
        f"| chapter |\n|---|\n{rows}\n",
        encoding="utf-8",
    )
    toc = ["format: jb-book", "root: intro", "chapters:"]
    toc += [f"- file: {Path(p['notebook']).stem}" for p in pages]
    toc += [f"- file: {Path(name).stem}" for name in extra]
    (src / "_toc.yml").write_text("\n".join(toc) + "\n", encoding="utf-8")
    config = {
        "title": "recsys-book",
        "author": "the recsys-book authors",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},  # executed above, by execute()
        "html": {"use_repository_button": False, "use_issues_button": False},
        "sphinx": {
            "config": {
                "html_show_copyright": False,
                "nb_merge_streams": True,
                # the maths from the book's own copy of MathJax (copy_mathjax), never a CDN
                "html_extra_path": [EXTRA_DIR],
                # relative to _static/ (Sphinx's rule): the pages sit at the book's top level
                "mathjax_path": f"../{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full",
                "mathjax2_config": MATHJAX2_CONFIG,
                "mathjax3_config": None,
            }
        },
    }
    # JSON is YAML: no PyYAML formatting questions
    (src / "_config.yml").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def build(out: Path, *, full: bool = False, notebooks: Path | None = None) -> Path:
    """Execute every chapter and render the book into ``out/html``; returns that folder."""
    notebooks = notebooks or ROOT / "notebooks"
    nbs = chapters(notebooks)
    if not nbs:
        raise ValueError(f"no chapter notebooks (NN_*.ipynb) in {notebooks}")
    if (
        shutil.which("jupyter-book") is None
        and not (Path(sys.executable).parent / "jupyter-book").exists()
    ):
        raise RuntimeError(
            "jupyter-book is not installed: pip install -e '.[book]' (make book does this)"
        )
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    os.environ["RECSYS_BOOK_FAST"] = "0" if full else "1"
    os.environ["RECSYS_BOOK_BOOK"] = "1"
    os.environ["PLOTLY_RENDERER"] = "notebook"  # static figures carry plotly.js inline
    timeout = 3600 if full else 900
    pages = []
    for nb in nbs:
        print(f"executing {nb.name} ...", flush=True)
        page = execute(nb, src / nb.name, timeout_s=timeout)
        print(f"  {page['seconds']:.0f} s, {page['widgets']} widget view(s) replaced", flush=True)
        pages.append(page)
    extra = [name for name in EXTRA_PAGES if (notebooks / name).is_file()]
    for name in extra:
        shutil.copy(notebooks / name, src / name)
    copy_mathjax(src / EXTRA_DIR)
    _write_project(src, pages, full, extra)
    html = out / "html"
    t0 = time.monotonic()
    jb = shutil.which("jupyter-book") or str(Path(sys.executable).parent / "jupyter-book")
    tmp_build = out / "_jb"
    if tmp_build.exists():
        shutil.rmtree(tmp_build)
    subprocess.run(
        [jb, "build", str(src), "--path-output", str(tmp_build), "--builder", "html"],
        check=True,
    )  # fmt: skip
    if html.exists():
        shutil.rmtree(html)
    (tmp_build / "_build" / "html").replace(html)
    shutil.rmtree(tmp_build)
    summary = {"full": full, "render_seconds": time.monotonic() - t0, "pages": pages}
    write_text_atomic(out / "build.json", json.dumps(summary, indent=2) + "\n")
    total = sum(p["seconds"] for p in pages)
    print(f"book: {len(pages)} chapters executed in {total:.0f} s, rendered in "
          f"{summary['render_seconds']:.0f} s -> {html / 'index.html'}")  # fmt: skip
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_book.book", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="execute every chapter and render the HTML book")
    b.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    b.add_argument("--full", action="store_true", help="full mode (default: FAST)")
    args = parser.parse_args(argv)
    build(args.out, full=args.full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
