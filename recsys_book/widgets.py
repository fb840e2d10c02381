"""Display widgets so that the page shows what the kernel holds.

A plotly ``FigureWidget`` sends every change made after its construction as a message
(``_py2js_restyle``, ``_py2js_update`` ...) that the page's widget model applies to its copy
of the figure. A model whose JavaScript is still loading (anywidget loads it
asynchronously) misses those messages, and a view drawn later starts from the stale copy:
bars lose the x labels set after construction, a figure filled in before display is drawn
empty. plotly guards against this only when the figure itself is displayed (its
``_repr_mimebundle_`` re-sends the whole figure); a figure inside a ``VBox``/``HBox`` is not
re-sent. :func:`show` does that for every FigureWidget in the widget tree, then displays::

    from recsys_book.widgets import show
    show(W.VBox([slider, fig]))        # instead of display(W.VBox([slider, fig]))

Changes made after display reach the drawn view directly and need nothing.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, Iterator

__all__ = ["figure_widgets", "show", "sync"]


def figure_widgets(*objs: Any) -> Iterator[Any]:
    """Every plotly FigureWidget in ``objs`` and in their ``children`` (depth first, once)."""
    seen: set[int] = set()
    stack = list(reversed(objs))
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if hasattr(obj, "_widget_data") and hasattr(obj, "_layout_obj"):
            yield obj
        stack.extend(reversed(tuple(getattr(obj, "children", ()) or ())))


def sync(*objs: Any) -> int:
    """Re-send the full data and layout of every FigureWidget in ``objs`` (and their children)
    to the page; returns how many figures were found. Cheap when nothing changed: the widget
    only sends a message when its state differs from the last one sent."""
    n = 0
    for fig in figure_widgets(*objs):
        fig._widget_layout = deepcopy(fig._layout_obj._props)
        fig._widget_data = deepcopy(fig._data)
        n += 1
    return n


def show(*objs: Any) -> None:
    """:func:`sync`, then ``IPython.display.display(*objs)``."""
    from IPython.display import display

    sync(*objs)
    display(*objs)
