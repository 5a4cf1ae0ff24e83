"""The comparison view: two or three scenarios run to the end with the same seed and drawn on
the same charts, with their totals side by side, for policy designers."""

from __future__ import annotations

import threading

import pandas as pd
import solara

from fleetsim.scenarios import builtin_names
from fleetsim.sim.comparison import avoided_and_cost

from . import charts, i18n
from .i18n import t
from .runner import LiveRun
from .widgets import LiveFigure

# finished runs by (scenario, seed, sample): results only, shared between sessions
_DONE: dict[tuple, pd.DataFrame] = {}
_LOCK = threading.Lock()


def run_to_end(name: str, seed: int, sample: float) -> pd.DataFrame:
    key = (name, seed, sample)
    with _LOCK:
        if key in _DONE:
            return _DONE[key]
    # the comparison draws the scenarios themselves, not their baselines
    run = LiveRun(name, seed=seed, sample_fraction=sample, with_baseline=False)
    run.step(run.horizon)
    pol, _ = run.yearly()
    with _LOCK:
        _DONE[key] = pol
    return pol


def totals(lang: str, runs: list[tuple[str, pd.DataFrame]]) -> list[dict]:
    """Each scenario's totals over the run, and against the first one picked (the reference,
    e.g. `baseline`): emissions avoided and the public cost of each tonne of CO2 avoided."""
    rows = []
    ref = runs[0][1]
    for name, df in runs:
        avoided, cost = avoided_and_cost(df, ref)
        avoided_co2 = avoided["co2_ttw_t"]
        rows.append({
            t(lang, "scenario"): name,
            f"{t(lang, 'pm25')} ({t(lang, 'unit_t')})": i18n.number(lang, df["pm25_t"].sum()),
            f"{t(lang, 'co2')} (kt)": i18n.number(lang, df["co2_ttw_t"].sum() / 1e3),
            f"{t(lang, 'public_spending')} ({t(lang, 'mxn_millions')})":
                i18n.number(lang, df["public_spending_mxn"].sum() / 1e6, 1),
            t(lang, "zev_share_now"): i18n.percent(lang, df["share_zev"].iloc[-1]),
            t(lang, "avoided_vs", ref=runs[0][0]) + f" ({t(lang, 'pm25')}, {t(lang, 'unit_t')})":
                i18n.number(lang, avoided["pm25_t"], 1),
            f"{t(lang, 'cost_per_t_co2')} ({t(lang, 'unit_mxn_per_t')})":
                i18n.number(lang, cost / avoided_co2)
                if avoided_co2 > 0 and cost > 0 else t(lang, "not_applicable"),
        })
    return rows


@solara.component
def CompareView(lang: str, seed: int, sample: float):
    picked = solara.use_reactive(["baseline", "clean_fleets_mix"])
    started = solara.use_reactive(0)
    progress = solara.use_reactive(0)

    def work(cancel: threading.Event):
        if not started.value:
            return None
        out = []
        for i, name in enumerate(picked.value[:3]):
            if cancel.is_set():
                return None
            progress.set(i)
            out.append((name, run_to_end(name, seed, sample)))
        return out

    result = solara.use_thread(work, dependencies=[started.value, seed, sample],
                               intrusive_cancel=False)
    solara.SelectMultiple(t(lang, "compare_pick"), values=picked.value,
                          all_values=builtin_names(), on_value=lambda v: picked.set(v[:3]))
    solara.Button(t(lang, "compare_run"), color="primary", classes=["fs-compare-run"],
                  disabled=len(picked.value) < 2,
                  on_click=lambda: started.set(started.value + 1))
    if not started.value:
        solara.Info(t(lang, "compare_hint"))
        return
    if result.state != solara.ResultState.FINISHED or not result.value:
        solara.Text(t(lang, "compare_running", done=progress.value + 1,
                      total=len(picked.value[:3])))
        solara.ProgressLinear(True)
        return
    runs = result.value
    rows = totals(lang, runs)
    head = list(rows[0])
    solara.Markdown("\n".join([  # a plain table: no pager with words in one language only
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
        *("| " + " | ".join(str(r[h]) for h in head) + " |" for r in rows)]))
    with solara.Columns([1, 1], classes=["fs-compare-charts"]):
        LiveFigure(charts.emissions(runs, None, lang))
        with solara.Column():
            LiveFigure(charts.shares(runs, lang))
            LiveFigure(charts.spending(runs, lang))
