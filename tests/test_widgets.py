"""recsys_book.widgets.show re-sends FigureWidgets nested in containers (issue 17)."""

import ipywidgets as W
import plotly.graph_objects as go

from recsys_book.widgets import figure_widgets, show, sync


def _mutated_figure():
    fig = go.FigureWidget([go.Bar(x=["a", "b"], y=[1, 2])])
    with (
        fig.batch_update()
    ):  # what chapters do before display: this state is sent as a message only
        fig.data[0].x = ["NDCG@10", "MRR@10"]
        fig.layout.title = "metrics"
    return fig


def test_figure_widgets_walks_nested_containers_once():
    a, b = go.FigureWidget(), go.FigureWidget()
    s = W.IntSlider()
    box = W.VBox([W.HBox([s, a]), b, W.HBox([a])])
    assert [id(f) for f in figure_widgets(box)] == [id(a), id(b)]
    assert list(figure_widgets(s)) == []


def test_sync_resends_the_current_state():
    fig = _mutated_figure()
    assert fig._widget_data[0]["x"] == ["a", "b"]  # the state the page would start from
    sent = []
    fig.observe(lambda ch: sent.append(ch["name"]), names=["_widget_data", "_widget_layout"])
    assert sync(W.VBox([W.IntSlider(), fig])) == 1
    assert list(fig._widget_data[0]["x"]) == ["NDCG@10", "MRR@10"]
    assert fig._widget_layout["title"]["text"] == "metrics"
    assert set(sent) == {"_widget_data", "_widget_layout"}
    sent.clear()
    sync(fig)  # nothing changed since: no message
    assert sent == []


def test_show_syncs_then_displays(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *o: shown.append(o))
    fig = _mutated_figure()
    box = W.VBox([fig])
    show(box)
    assert shown == [(box,)]
    assert list(fig._widget_data[0]["x"]) == ["NDCG@10", "MRR@10"]
