"""LiveFigure: a plotly chart that, on each frame, sends only the traces and layout that
changed. solara.FigurePlotly rebuilds every trace and the layout each time, which costs far
more than a frame of the model when a room of sessions plays at once."""

from __future__ import annotations

import json

import solara
from plotly.graph_objs import FigureWidget


def _shape(fig: dict) -> list[tuple]:
    return [(d.get("type"), d.get("xaxis"), d.get("stackgroup"), d.get("mode"))
            for d in fig["data"]]


class SentFigureWidget(FigureWidget):
    """A FigureWidget that remembers the figure it was last brought to (`last_sent`)."""

    last_sent: dict | None = None  # declared on the class: plotly refuses unknown attributes


def update_widget(fw: SentFigureWidget, fig: dict) -> None:
    """Bring the widget to `fig`, touching only what differs from what it shows."""
    last = fw.last_sent
    layout_text = json.dumps(fig["layout"], sort_keys=True, default=str)
    with fw.batch_update():
        if last is None or _shape(last["fig"]) != _shape(fig):
            fw.data = ()
            fw.add_traces(fig["data"])
        else:
            for trace, new, old in zip(fw.data, fig["data"], last["fig"]["data"], strict=True):
                if new != old:
                    trace.update({k: v for k, v in new.items() if old.get(k) != v})
        if last is None or last["layout"] != layout_text:
            fw.layout = fig["layout"]
    fw.last_sent = {"fig": fig, "layout": layout_text}


@solara.component
def LiveFigure(fig: dict):
    element = SentFigureWidget.element()

    def update():
        update_widget(solara.get_widget(element), fig)

    solara.use_effect(update, [fig])
    return element
