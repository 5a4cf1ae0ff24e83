"""The live view's charts, each built from the session's run by name, and each chart's data
as a CSV file (one row per series and year, with the run's metadata in the last columns, as
the whole-run CSV has them) for the download under it."""

from __future__ import annotations

import pandas as pd

from . import charts, controls, events, scenario_io
from .i18n import t
from .runner import LiveRun

# the charts with a CSV of their own (the network sample is a picture, not data)
KINDS = ("fleet", "emissions", "shares", "band", "spending", "budget", "loans")
PROJECTOR_CHART_PX = 620  # two charts side by side fit 1920x1080 under the headline cards


def change_marks(run: LiveRun, lang: str) -> list[dict]:
    """The run's events (mid-run changes, adaptive rules firing) as the charts mark them."""
    return [{"x": e.x, "text": e.label, "hover": e.text, "kind": e.kind}
            for e in events.all_events(run, lang)]


def target_marks(run: LiveRun, lang: str) -> list[dict]:
    return [{"value": tg.value, "by": tg.by, "text": tg.text}
            for tg in events.targets(run, lang)]


def live_figures(run: LiveRun, lang: str, big: bool = False) -> dict[str, dict]:
    """kind -> figure, for the run as far as it has gone (budget: None without budgets)."""
    pol, base = run.yearly()
    marks = change_marks(run, lang)
    runs = [(t(lang, "policy_run"), pol)]
    first = run.spec.simulation.start_year
    last = first + (run.horizon - 1) // 12
    labels = controls.instrument_labels(run.raw, lang)
    figs = {
        "fleet": charts.fleet_by_tech(pol, run.model.tables.reported_names, lang, marks,
                                      big=big),
        "emissions": charts.emissions(runs, base, lang, marks, big=big),
        "shares": charts.shares(runs, lang, marks, big=big,
                                targets=target_marks(run, lang), first_year=first),
        "band": charts.fleet_by_band(pol, lang, marks, big=big),
        "spending": charts.spending(runs, lang, marks, big=big, labels=labels),
        "budget": charts.budgets(pol, lang, marks, big=big, labels=labels),
        "loans": charts.loans(pol, lang, marks, big=big),
    }
    return {k: charts.with_span(f, first, last) if f is not None else None
            for k, f in figs.items()}


def figure_table(fig: dict) -> pd.DataFrame:
    """A chart's lines and bars as a long table: series, year, value (the y axis' unit)."""
    rows = []
    for trace in fig["data"]:
        xs, ys = trace.get("x") or [], trace.get("y") or []
        for x, y in zip(xs, ys, strict=False):
            if x is not None and y is not None:
                name = trace.get("name", "")
                rows.append({"series": f"{trace['meta']}: {name}" if trace.get("meta") else name,
                             "year": int(x),
                             "value": float(y)})
    return pd.DataFrame(rows, columns=["series", "year", "value"])


def chart_csv(run: LiveRun, lang: str, kind: str) -> str:
    """One chart's data, with the chart's title and the run's metadata in every row."""
    fig = live_figures(run, lang)[kind]
    if fig is None:
        return ""
    table = figure_table(fig)
    title = fig["layout"]["title"]["text"]
    return table.assign(chart=title, scenario=run.spec.name, seed=run.seed,
                        sample=run.sample_fraction,
                        settings=scenario_io.settings_text(run)).to_csv(index=False)
