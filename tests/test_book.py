"""The book: static slider positions (recsys_book.book), and the built HTML book.

The checks of the built book read build/book (``make book``); without a build they are
skipped, unless RECSYS_BOOK_CHECK_BOOK=1 (set by ``make book`` after its build), where a
missing build fails.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import plotly.graph_objects as go
import pytest

from recsys_book.book import STATIC_META, _replace_widget_views, chapters, static_positions

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(os.environ.get("RECSYS_BOOK_BOOK_DIR", ROOT / "build" / "book"))
REQUIRED = os.environ.get("RECSYS_BOOK_CHECK_BOOK", "0") not in ("", "0")
#: chapters whose sliders must appear as static positions in the book
STATIC_CHAPTERS = ("03", "04", "05")


def _fig(v):
    f = go.Figure([go.Bar(x=["a", "b"], y=[v, 2 * v], name="bars"), go.Scatter(x=[0], y=[v])])
    return f.update_layout(title=f"v = {v}", height=300)


def test_static_positions_one_visible_position_per_step():
    fig = static_positions(_fig, [1, 2, 3], label="v")
    assert len(fig.data) == 6 and fig.layout.meta == STATIC_META
    assert [tr.visible for tr in fig.data] == [True, True, False, False, False, False]
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["1", "2", "3"]
    for k, step in enumerate(steps):
        visible, layout = step.args
        assert visible["visible"] == [j // 2 == k for j in range(6)]
        assert layout["title.text"] == f"v = {k + 1}"
    # each position's traces are that position's figure
    assert list(fig.data[4].y) == [3, 6] and list(fig.data[5].y) == [3]


def test_static_positions_keeps_hidden_traces_hidden():
    def f(v):
        return go.Figure([go.Scatter(y=[v]), go.Scatter(y=[-v], visible=False)])

    fig = static_positions(f, [1, 2])
    assert fig.layout.sliders[0].steps[1].args[0]["visible"] == [False, False, True, False]


def test_static_positions_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        static_positions(_fig, [])
    with pytest.raises(ValueError, match="same traces"):
        static_positions(lambda v: go.Figure([go.Scatter(y=[0])] * v), [1, 2])


def test_slider_positions_restores_the_slider():
    import ipywidgets as W

    from recsys_book.book import slider_positions

    s = W.IntSlider(value=2, min=1, max=4, description="hops")
    fw = go.FigureWidget([go.Bar(x=["a"], y=[0])])
    s.observe(lambda ch: setattr(fw.data[0], "y", [ch["new"]]), names="value")
    fig = slider_positions(s, fw, (1, 3))
    assert s.value == 2
    assert [list(tr.y) for tr in fig.data] == [[1], [3]]
    assert fig.layout.sliders[0].currentvalue.prefix == "hops = "


def test_widget_views_are_replaced_by_a_note():
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(w)")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "w"},
        ),
        nbformat.v4.new_output("stream", name="stdout", text="kept\n"),
    ]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"state": {}}
    assert _replace_widget_views(nb) == 1
    assert "JupyterLab" in nb.cells[0].outputs[0]["data"]["text/markdown"]
    assert nb.cells[0].outputs[1]["text"] == "kept\n" and "widgets" not in nb.metadata


# -- the built book ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> dict:
    summary = BUILD / "build.json"
    if not summary.exists():
        if REQUIRED:
            pytest.fail(f"no book in {BUILD}: `make book` must run before this check")
        pytest.skip(f"no book in {BUILD} (run `make book`)")
    return json.loads(summary.read_text(encoding="utf-8"))


def _plotly_divs(html: str) -> int:
    return len(re.findall(r'<div id="[^"]+" class="plotly-graph-div"', html))


def _plotly_outputs(nb: dict) -> int:
    n = 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            n += _plotly_divs(html)
    return n


def test_every_chapter_has_its_page(built):
    names = [p["notebook"] for p in built["pages"]]
    assert names == [p.name for p in chapters(ROOT / "notebooks")], "a chapter is missing"
    assert (BUILD / "html" / "index.html").exists()
    for name in names:
        page = BUILD / "html" / f"{Path(name).stem}.html"
        assert page.exists(), f"{page} missing"
    # the glossary the chapters link to is a page too (else their links are dead)
    assert (BUILD / "html" / "glossary.html").exists()
    assert 'href="glossary.html' in (BUILD / "html" / "05_corml_residual_metric.html").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize("notebook", [p.name for p in chapters(ROOT / "notebooks")])
def test_page_holds_the_chapters_figures(built, notebook):
    stem = Path(notebook).stem
    html = (BUILD / "html" / f"{stem}.html").read_text(encoding="utf-8")
    executed = json.loads((BUILD / "src" / notebook).read_text(encoding="utf-8"))
    want = _plotly_outputs(executed)
    assert want > 0, f"{notebook}: no static plotly figure in the executed chapter"
    assert _plotly_divs(html) == want, f"{stem}.html: {_plotly_divs(html)} figures, chapter {want}"
    # plotly.js is inlined (the `notebook` renderer): the figures draw without a network
    assert not re.search(r"<script[^>]*src=\"[^\"]*plot\.ly", html), f"{stem}: plotly.js from a CDN"
    assert re.search(r"plotly\.js v\d", html), f"{stem}: plotly.js is not inlined"
    # the page shows the executed outputs, not just the code
    assert "jp-OutputArea" in html or "cell_output" in html
    # no cell failed while executing
    assert not any(
        o.get("output_type") == "error" for c in executed["cells"] for o in c.get("outputs", [])
    )
    # one static figure of slider positions per show_in_book call, shown once
    calls = sum(
        "".join(c["source"]).count("show_in_book(")
        for c in executed["cells"]
        if c["cell_type"] == "code"
    )
    if stem[:2] in STATIC_CHAPTERS:
        assert calls > 0, f"{stem}: its sliders need show_in_book(...) for the book"
    shown = sum(
        "".join(o.get("data", {}).get("text/html", "")).count(f'"meta":"{STATIC_META}"')
        for c in executed["cells"]
        for o in c.get("outputs", [])
    )
    assert shown == calls, f"{stem}: {shown} static slider figures for {calls} show_in_book calls"
    assert html.count(f'"meta":"{STATIC_META}"') == calls, stem


#: a resource a page loads (script, stylesheet, font, image), not a link a reader may follow
_REMOTE_RESOURCE = re.compile(
    r"<(?:script|img|iframe)[^>]*\ssrc=[\"'](?:https?:)?//"
    r"|<link[^>]*\srel=[\"'](?:stylesheet|preload|icon|modulepreload)[\"'][^>]*\shref=[\"'](?:https?:)?//"
    r"|<link[^>]*\shref=[\"'](?:https?:)?//[^\"']*[\"'][^>]*\srel=[\"'](?:stylesheet|preload|icon)"
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//"
    r"|url\([\"']?(?:https?:)?//",
    re.IGNORECASE,
)


def test_remote_resource_pattern_can_fail():
    bad = [
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>',
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Lato">',
        "@font-face { src: url(https://example.org/font.woff2) }",
        '<script async="async" src="//cdn.example/x.js"></script>',
    ]
    good = [
        '<a href="https://grouplens.org/datasets/movielens/">MovieLens</a>',
        '<script src="_static/../mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"></script>',
        '<link rel="stylesheet" href="_static/styles/theme.css">',
    ]
    assert all(_REMOTE_RESOURCE.search(b) for b in bad)
    assert not any(_REMOTE_RESOURCE.search(g) for g in good)


def test_no_page_loads_anything_from_the_network(built):
    """A classroom or a machine without internet opens the book from files: every script,
    style and font it loads is in the book (MathJax included: `copy_mathjax`)."""
    html = BUILD / "html"
    found = []
    for path in sorted(html.rglob("*")):
        if path.suffix not in (".html", ".css") or "mathjax" in path.parts:
            continue
        for m in _REMOTE_RESOURCE.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{path.relative_to(html)}: {m.group(0)[:120]}")
    assert not found, "remote resources in the book:\n" + "\n".join(found[:20])
    page = (html / "04_sdmr_signed_distance_memory.html").read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*src=\"_static/\.\./mathjax/MathJax\.js", page), "no local MathJax"
    assert (html / "mathjax" / "MathJax.js").is_file()
    # MathJax's own files load on demand, never as page scripts (jupyter-book would add every
    # .js under _static to every page)
    assert not re.search(r"<script[^>]*src=\"[^\"]*mathjax/(extensions|jax|config)/", page)


def test_equations_render_offline_in_a_browser(built):
    """Chromium opens a chapter from file:// with every other request refused and MathJax
    typesets its equations (without a local copy they stay raw LaTeX offline)."""
    from pathlib import Path as _P

    chromium = _P(os.environ.get("RECSYS_BOOK_CHROMIUM", "/usr/bin/chromium"))
    if not chromium.exists():
        if REQUIRED:
            pytest.fail(f"the offline-maths check needs chromium at {chromium} (make browser-setup)")
        pytest.skip(f"no chromium at {chromium}")
    from playwright.sync_api import sync_playwright

    page_path = BUILD / "html" / "05_corml_residual_metric.html"
    refused = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True,
                                    args=["--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    refused.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(page_path.as_uri())
            page.wait_for_function(
                "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                " && document.querySelectorAll('.MathJax, .MathJax_SVG, .MathJax_Display').length > 0",
                timeout=60_000,
            )
            rendered = page.evaluate("document.querySelectorAll('.MathJax, .MathJax_SVG').length")
            raw = page.evaluate(
                "Array.from(document.querySelectorAll('span.math')).filter(e => e.innerText.includes('\\\\(')).length"
            )
            errors = page.evaluate("document.querySelectorAll('.MathJax_Error, merror').length")
        finally:
            browser.close()
    assert rendered > 10, rendered
    assert raw == 0 and errors == 0, (raw, errors)
    assert not [u for u in refused if "mathjax" in u.lower()], refused


def test_cdn_mathjax_of_plotly_figures_is_dropped():
    """plotly's `notebook` renderer puts a CDN MathJax <script> before every figure."""
    import nbformat

    from recsys_book.book import _drop_cdn_mathjax

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    html = (
        '<div><script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/3.2.2/es5/'
        'tex-svg.min.js"></script><script>if (window.MathJax) {}</script><div id="p"></div></div>'
    )
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html})]
    nb.cells = [cell]
    assert _drop_cdn_mathjax(nb) == 1
    out = nb.cells[0].outputs[0]["data"]["text/html"]
    assert "cdnjs" not in out and '<div id="p"></div>' in out and not _REMOTE_RESOURCE.search(out)
