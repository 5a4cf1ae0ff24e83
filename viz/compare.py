"""The comparison view: two or three scenarios run to the end with the same seed and drawn on
the same charts, with their totals side by side, for policy designers."""

from __future__ import annotations

import threading
from functools import partial

import pandas as pd
import solara

from fleetsim.scenarios import builtin_names
from fleetsim.sim.comparison import avoided_and_cost

from . import charts, i18n
from .guard import Refused, call_guarded, guarded
from .i18n import t
from .runner import BoundedCache, LiveRun
from .widgets import LiveFigure

RESULTS_KEPT = 8  # finished runs kept (yearly tables, a few kB each; the bound is for seeds)

# finished runs by (scenario, seed, sample): results only, shared between sessions
DONE = BoundedCache(RESULTS_KEPT)


def run_to_end(name: str, seed: int, sample: float) -> pd.DataFrame:
    key = (name, seed, sample)
    found = DONE.get(key)
    if found is not None:
        return found
    # the comparison draws the scenarios themselves, not their baselines
    run = LiveRun(name, seed=seed, sample_fraction=sample, with_baseline=False)
    run.step(run.horizon)
    pol, _ = run.yearly()
    DONE.put(key, pol)
    return pol


def nothing_to_run() -> None:
    """The comparison thread before the first click: nothing to run."""
    return None


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


def pick_scenarios(picked: solara.Reactive[list], chosen) -> None:
    """Up to three of the built-in scenarios (a crafted message may send anything)."""
    names = builtin_names()
    if not isinstance(chosen, list | tuple) or not all(
            isinstance(c, str) and c in names for c in chosen):
        raise Refused("choice_refused")
    picked.set(list(chosen)[:3])


def run_picked(names: list[str], seed: int, sample: float, progress: solara.Reactive[int],
               cancel: threading.Event) -> list[tuple[str, pd.DataFrame]] | None:
    """The comparison thread: each scenario run to the end (or taken from DONE)."""
    out = []
    for i, name in enumerate(names[:3]):
        if cancel.is_set():
            return None
        progress.set(i)
        out.append((name, run_to_end(name, seed, sample)))
    return out


def start(started: solara.Reactive[int]) -> None:
    started.set(started.value + 1)


@solara.component
def CompareView(lang: str, seed: int, sample: float, report):
    picked = solara.use_reactive(["baseline", "clean_fleets_mix"])
    started = solara.use_reactive(0)
    progress = solara.use_reactive(0)
    work = partial(call_guarded, run_picked, report, picked.value, seed, sample, progress)
    result = solara.use_thread(work if started.value else nothing_to_run,
                               dependencies=[started.value, seed, sample],
                               intrusive_cancel=False)
    solara.SelectMultiple(t(lang, "compare_pick"), values=picked.value,
                          all_values=builtin_names(),
                          on_value=guarded(partial(pick_scenarios, picked), report))
    solara.Button(t(lang, "compare_run"), color="primary", classes=["fs-compare-run"],
                  disabled=len(picked.value) < 2, on_click=guarded(partial(start, started),
                                                                   report))
    if not started.value:
        solara.Info(t(lang, "compare_hint"))
        return
    if result.state == solara.ResultState.FINISHED and not result.value:
        return  # failed (the page shows why) or cancelled
    if result.state != solara.ResultState.FINISHED:
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
