"""The comparison view: two or three scenarios run to the end with the same seed and drawn on
the same charts, with their totals side by side against a reference the visitor chooses, for
policy designers. Besides the built-in presets it offers the room's current settings, the files
this visitor uploaded and snapshots saved during the session; scenarios on different fleets
(a city and the whole country) are refused together, since their totals cannot be set side by
side. Its choices and results live in the page (`CompareState`), so they outlast a change of
view."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

import pandas as pd
import solara

from fleetsim.scenarios import Scenario, builtin_names, load
from fleetsim.sim.comparison import avoided_and_cost

from . import charts, guard, i18n
from .guard import Refused, call_guarded, guarded
from .i18n import t
from .runner import BoundedCache, LiveRun
from .widgets import LiveFigure

RESULTS_KEPT = 8  # finished runs kept (yearly tables, a few kB each; the bound is for seeds)
MAX_PICKED = 3
SNAPSHOT_PREFIX = "◆ "  # a snapshot saved during the session
CURRENT_PREFIX = "▶ "  # the live view's current settings
MAX_SNAPSHOTS = 12
MAX_SNAPSHOT_NAME = 40

# finished runs by (scenario, settings, seed, sample): results only, shared between sessions
DONE = BoundedCache(RESULTS_KEPT)


@dataclass(frozen=True)
class Entry:
    """One scenario the comparison can run: a built-in name or a Scenario, and settings."""

    label: str
    source: str | Scenario
    settings: tuple = ()  # (path, value) pairs, as LiveRun's settings

    def spec(self) -> Scenario:
        return builtin_spec(self.source) if isinstance(self.source, str) else self.source

    def key(self) -> tuple:
        src = self.source if isinstance(self.source, str) else self.source.model_dump_json()
        return src, repr(self.settings)


@dataclass
class CompareState:
    """What the comparison view keeps for the page: choices, and the last results shown."""

    picked: list[str] = field(default_factory=lambda: ["baseline", "clean_fleets_mix"])
    reference: str = "baseline"
    # (labels, seed, sample) -> (horizon text, [(label, yearly table)])
    results: dict = field(default_factory=dict)
    version: int = 0  # a refused pick redraws the widget, which shows the visitor's clicks


@lru_cache(maxsize=32)
def builtin_spec(name: str) -> Scenario:
    return load(name)


def geography(spec: Scenario) -> tuple[str, ...]:
    """The fleet a scenario covers, named by its regions (city presets: the ZMVM alone)."""
    return tuple(r.label for r in spec.regions.values())


def entries(snapshots: dict[str, Entry], current: Entry | None,
            uploaded: Scenario | None) -> dict[str, Entry]:
    """Every scenario the visitor may compare, by the label shown."""
    out = {name: Entry(name, name) for name in builtin_names()}
    if current is not None:
        out[current.label] = current
    if uploaded is not None:
        out["⬆ " + uploaded.name] = Entry("⬆ " + uploaded.name, uploaded)
    out.update(snapshots)
    return out


def current_entry(run: LiveRun) -> Entry:
    settings = tuple(sorted({**run.settings, **run.pending}.items()))
    return Entry(CURRENT_PREFIX + run.spec.name, run.spec, settings)


def save_snapshot(snapshots: solara.Reactive[dict], run: LiveRun, name) -> None:
    """Keep the live run's scenario and settings under a name, for the comparison view."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_SNAPSHOT_NAME:
        raise Refused("snapshot_name_refused", max=MAX_SNAPSHOT_NAME)
    label = SNAPSHOT_PREFIX + name.strip()
    kept = dict(snapshots.value)
    kept.pop(label, None)
    if len(kept) >= MAX_SNAPSHOTS:
        kept.pop(next(iter(kept)))
    kept[label] = Entry(label, run.spec, current_entry(run).settings)
    snapshots.set(kept)


def check_same_fleet(chosen: list[Entry], lang: str) -> None:
    """Refuse scenarios on different fleets together (their totals are not comparable)."""
    fleets = {e.label: geography(e.spec()) for e in chosen}
    if len(set(fleets.values())) > 1:
        shown = "; ".join(f"{name}: {', '.join(g)}" for name, g in fleets.items())
        raise Refused("compare_mixed", fleets=shown)


def pick_scenarios(state: solara.Reactive[CompareState], offered: dict[str, Entry], lang: str,
                   chosen) -> None:
    """Up to three of the offered scenarios (a crafted message may send anything), all on
    the same fleet; the reference stays if still picked, else becomes the first."""
    old = state.value
    try:
        if not isinstance(chosen, list | tuple) or not all(
                isinstance(c, str) and c in offered for c in chosen):
            raise Refused("choice_refused")
        check_same_fleet([offered[c] for c in chosen], lang)
        if len(chosen) > MAX_PICKED:
            raise Refused("compare_too_many", max=MAX_PICKED)
    except Refused:
        state.set(replace(old, version=old.version + 1))  # back to the choice kept
        raise
    picked = list(chosen)
    ref = old.reference if old.reference in picked else (picked[0] if picked else "")
    state.set(replace(old, picked=picked, reference=ref))


def pick_reference(state: solara.Reactive[CompareState], chosen) -> None:
    old = state.value
    state.set(replace(old, reference=guard.parse_choice(chosen, old.picked)))


def run_to_end(entry: Entry, seed: int, sample: float) -> pd.DataFrame:
    key = (*entry.key(), seed, sample)
    found = DONE.get(key)
    if found is not None:
        return found
    # the comparison draws the scenarios themselves, not their baselines
    run = LiveRun(entry.source, seed=seed, sample_fraction=sample,
                  settings=dict(entry.settings), with_baseline=False)
    run.step(run.horizon)
    pol, _ = run.yearly()
    DONE.put(key, pol)
    return pol


def horizon_text(lang: str, spec: Scenario, runs, seed: int, sample: float) -> str:
    first = int(runs[0][1]["year"].iloc[0])
    last = int(runs[0][1]["year"].iloc[-1])
    return t(lang, "compare_horizon", first=first, last=last, years=last - first + 1,
             seed=seed, sample=i18n.percent(lang, sample, 0),
             fleet=", ".join(geography(spec)))


def run_picked(offered: dict[str, Entry], picked: list[str], seed: int, sample: float,
               progress: solara.Reactive[int], state: solara.Reactive[CompareState],
               cancel: threading.Event) -> None:
    """The comparison thread: each scenario run to the end (or taken from DONE); the results
    are kept in the page's CompareState."""
    out = []
    for i, label in enumerate(picked[:MAX_PICKED]):
        if cancel.is_set():
            return
        progress.set(i)
        out.append((label, run_to_end(offered[label], seed, sample)))
    old = state.value
    state.set(replace(old, results={**old.results, (tuple(picked), seed, sample): out}))


def totals(lang: str, runs: list[tuple[str, pd.DataFrame]], reference: str | None = None
           ) -> list[dict]:
    """Each scenario's totals over the run, and against the reference chosen (the first one
    if none): emissions avoided and the public cost of each tonne of CO2 avoided."""
    names = [name for name, _ in runs]
    ref_name = reference if reference in names else names[0]
    ref = runs[names.index(ref_name)][1]
    rows = []
    tonnes, kt = t(lang, "unit_t"), "kt"
    for name, df in runs:
        avoided, cost = avoided_and_cost(df, ref)
        avoided_co2 = avoided["co2_ttw_t"]
        vs = t(lang, "avoided_vs", ref=ref_name)
        rows.append({
            t(lang, "scenario"): name + (f" ({t(lang, 'reference')})" if name == ref_name
                                         else ""),
            f"{t(lang, 'pm25')} ({tonnes})": i18n.number(lang, df["pm25_t"].sum()),
            f"{t(lang, 'co2')} ({kt})": i18n.number(lang, df["co2_ttw_t"].sum() / 1e3),
            f"{t(lang, 'public_spending')} ({t(lang, 'mxn_millions')})":
                i18n.number(lang, df["public_spending_mxn"].sum() / 1e6, 1),
            t(lang, "zev_share_now"): i18n.percent(lang, df["share_zev"].iloc[-1]),
            f"{vs}: {t(lang, 'pm25')} ({tonnes})": i18n.number(lang, avoided["pm25_t"], 1),
            f"{vs}: {t(lang, 'co2')} ({kt})": i18n.number(lang, avoided_co2 / 1e3, 1),
            f"{t(lang, 'cost_per_t_co2')} ({t(lang, 'unit_mxn_per_t')})":
                i18n.number(lang, cost / avoided_co2)
                if avoided_co2 > 0 and cost > 0 else t(lang, "not_applicable"),
        })
    return rows


def start(started: solara.Reactive[int]) -> None:
    started.set(started.value + 1)


def nothing_to_run() -> None:
    """The comparison thread before the first click: nothing to run."""
    return None


@solara.component
def CompareView(lang: str, seed: int, sample: float, report, offered: dict[str, Entry],
                state: solara.Reactive[CompareState]):
    started = solara.use_reactive(0)
    progress = solara.use_reactive(0)
    picked = [p for p in state.value.picked if p in offered]
    work = partial(call_guarded, run_picked, report, offered, picked, seed, sample, progress,
                   state)
    result = solara.use_thread(work if started.value else nothing_to_run,
                               dependencies=[started.value], intrusive_cancel=False)
    solara.SelectMultiple(t(lang, "compare_pick"), values=picked, all_values=list(offered),
                          on_value=guarded(partial(pick_scenarios, state, offered, lang),
                                           report), classes=["fs-compare-pick"]
                          ).key(f"fs-compare-pick-{state.value.version}")
    if picked:
        solara.Select(t(lang, "compare_reference"), values=picked,
                      value=state.value.reference if state.value.reference in picked
                      else picked[0], on_value=guarded(partial(pick_reference, state), report),
                      classes=["fs-compare-ref"])
    solara.Button(t(lang, "compare_run"), color="primary", classes=["fs-compare-run"],
                  disabled=len(picked) < 2, on_click=guarded(partial(start, started), report))
    runs = state.value.results.get((tuple(picked), seed, sample))
    running = started.value and result.state not in (solara.ResultState.FINISHED,
                                                     solara.ResultState.ERROR)
    if running:
        solara.Text(t(lang, "compare_running", done=progress.value + 1,
                      total=len(picked[:MAX_PICKED])))
        solara.ProgressLinear(True)
        return
    if runs is None:
        solara.Info(t(lang, "compare_hint"))
        return
    CompareResults(lang, runs, offered[picked[0]].spec(), seed, sample, state.value.reference)


@solara.component
def CompareResults(lang: str, runs: list, spec: Scenario, seed: int, sample: float,
                   reference: str):
    solara.Text(horizon_text(lang, spec, runs, seed, sample), classes=["fs-compare-horizon"])
    rows = totals(lang, runs, reference)
    head = list(rows[0])
    solara.Markdown("\n".join([  # a plain table: no pager with words in one language only
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
        *("| " + " | ".join(str(r[h]) for h in head) + " |" for r in rows)]),
        style={"font-size": "0.85rem"})
    with solara.Columns([1, 1], classes=["fs-compare-charts"]):
        LiveFigure(charts.emissions(runs, None, lang))
        with solara.Column():
            LiveFigure(charts.shares(runs, lang))
            LiveFigure(charts.spending(runs, lang))


@solara.component
def SnapshotSaver(run: LiveRun, lang: str, snapshots: solara.Reactive[dict], report):
    """Name the live run's settings and keep them for the comparison view."""
    name, set_name = solara.use_state("")
    with solara.Row(classes=["fs-snapshot"], style={"align-items": "center"}):
        solara.InputText(t(lang, "snapshot_name"), value=name, on_value=set_name,
                         continuous_update=True)
        solara.Button(t(lang, "snapshot_save"), icon_name="mdi-pin",
                      on_click=guarded(partial(save_snapshot, snapshots, run, name), report),
                      classes=["fs-snapshot-save"])
    if snapshots.value:
        solara.Text(t(lang, "snapshots_kept", names=", ".join(
            k.removeprefix(SNAPSHOT_PREFIX) for k in snapshots.value)),
            style={"font-size": "0.8rem", "color": "#546e7a"})


def offered_from(snapshots: dict, run: LiveRun, uploaded: Any) -> dict[str, Entry]:
    return entries(snapshots, current_entry(run), uploaded)
