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


def update_widget(fw: FigureWidget, fig: dict, last: dict | None) -> dict:
    """Bring the widget to `fig`, touching only what differs from `last` (what was sent
    before); returns what is sent now."""
    layout_text = json.dumps(fig["layout"], sort_keys=True, default=str)
    with fw.batch_update():
        if (last is None or _shape(last["fig"]) != _shape(fig)
                or len(fw.data) != len(fig["data"])):  # a widget made anew shows nothing yet
            fw.data = ()
            fw.add_traces(fig["data"])
        else:
            for trace, new, old in zip(fw.data, fig["data"], last["fig"]["data"], strict=True):
                if new != old:
                    trace.update({k: v for k, v in new.items() if old.get(k) != v})
        if last is None or last["layout"] != layout_text:
            fw.layout = fig["layout"]
    return {"fig": fig, "layout": layout_text}


@solara.component
def LiveFigure(fig: dict):
    element = FigureWidget.element()
    sent = solara.use_ref(None)  # what this chart last sent, kept with the component

    def update():
        sent.current = update_widget(solara.get_widget(element), fig, sent.current)

    solara.use_effect(update, [fig])
    return element
