"""The workshop page: `fleetsim app` (or `solara run fleetsim.viz.app`) serves `Page`.

Each browser session builds its own LiveRun inside the page component (never at module level),
so two people in a room never share settings. A plain Solara page rather than Mesa's SolaraViz:
the page steps two models together (policy and baseline), has a comparison view and a projector
layout, and switches language; SolaraViz's single-model grid and fixed controls fight all four.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from functools import partial

import solara

from fleetsim.scenarios import Scenario, builtin_names
from fleetsim.sim import warm

from . import charts, controls, guard, i18n, livecharts, panels, urlstate
from .compare import CompareState, CompareView, SnapshotSaver, offered_from
from .guard import call_guarded, guarded
from .i18n import t
from .network import NetworkSample
from .runner import LiveRun
from .widgets import LiveFigure

DEFAULT_SCENARIO = "clean_fleets_mix"  # the preset with every kind of chart
DEFAULT_SAMPLE = 0.05
# under 900 px (a phone, a narrow window) every column takes the full width: stacked panels
NARROW_CSS = """
@media (max-width: 900px) {
  .v-application .row > [class*="col"] { flex: 0 0 100% !important; max-width: 100% !important; }
  .fs-side { max-width: none !important; }
  .v-toolbar__content { flex-wrap: wrap; height: auto !important; overflow-x: auto; }
  /* the wrapped bar grows taller than the 64 px the page leaves it: let it take its room */
  .v-app-bar.v-app-bar--fixed { position: relative !important; height: auto !important; }
  .v-main { padding-top: 0 !important; }
}
"""
UPLOADED = "⬆ "  # marks the uploaded scenario among the built-in ones

warm()  # compile (or load from numba's cache) the decision kernels once, at server start


def still_playing(run: LiveRun, playing: solara.Reactive[bool],
                  cancel: threading.Event) -> bool:
    return playing.value and not run.finished and not cancel.is_set()


def step_frame(run: LiveRun, playing: solara.Reactive[bool], months: int, clock,
               cancel: threading.Event) -> None:
    """One frame's months (0: as many as fit in a frame), one at a time: a Pause stops the
    run at the next month, and the date (`clock`, cheap to redraw) follows every month."""
    started, done = time.perf_counter(), 0
    while still_playing(run, playing, cancel):
        done += run.step(1)
        clock()
        if months and done >= months:
            return
        if not months and time.perf_counter() - started >= panels.FULL_SPEED_FRAME_S:
            return


def play_loop(run: LiveRun, playing: solara.Reactive[bool], speed: int, bump, clock,
              cancel: threading.Event) -> None:
    """Step while playing, refreshing the charts after each frame's months."""
    months, pause = panels.SPEEDS[speed]
    while still_playing(run, playing, cancel):
        step_frame(run, playing, months, clock, cancel)
        bump()  # also after a Pause mid-frame: the charts show the month the run stopped at
        if pause:
            cancel.wait(pause)
    if run.finished:
        playing.set(False)


def play_or_stop(run: LiveRun, playing: solara.Reactive[bool], speed: int, bump, clock,
                 cancel: threading.Event) -> None:
    """play_loop; should a month fail, the run stops and the page says so."""
    try:
        play_loop(run, playing, speed, bump, clock, cancel)
    except Exception:
        logging.getLogger("fleetsim.viz").warning("play loop stopped", exc_info=True)
        playing.set(False)
        raise guard.Refused("run_stopped") from None


def start_play(report, run: LiveRun, playing: solara.Reactive[bool], speed: int, bump, clock,
               cancel: threading.Event) -> None:
    """The play thread, guarded; not playing, it does nothing (nor clears the message shown)."""
    if playing.value:
        call_guarded(play_or_stop, report, run, playing, speed, bump, clock, cancel)


def build_run(source: str | Scenario, seed: int, sample: float) -> tuple[LiveRun, bool]:
    """The session's run, or (should it fail to build) the default one and False."""
    try:
        return LiveRun(source, seed=seed, sample_fraction=sample), True
    except Exception:  # noqa: BLE001  (shown as a message; the log keeps the traceback)
        logging.getLogger("fleetsim.viz").warning("could not build a run", exc_info=True)
        return LiveRun(DEFAULT_SCENARIO, seed=42, sample_fraction=DEFAULT_SAMPLE), False


def show_notice(notice: solara.Reactive, key: str | None, kw: dict) -> None:
    """The page's `report`: the message to show (key and fields), or None to clear it."""
    notice.set((key, kw) if key else None)


def take_upload(playing, uploaded, choice, spec: Scenario) -> None:
    playing.set(False)
    uploaded.set(spec)
    choice.set(UPLOADED + spec.name)


def choose_seed(seed: solara.Reactive[int], value) -> None:
    seed.set(guard.parse_seed(value))


def choose_sample(sample: solara.Reactive[float], shares: list[str], shown) -> None:
    sample.set(panels.SAMPLES[shares.index(guard.parse_choice(shown, shares))])


def choose_from(reactive: solara.Reactive, allowed: list, shown, values: list | None = None):
    """Set `reactive` to the option picked (or its counterpart in `values`)."""
    index = allowed.index(guard.parse_choice(shown, allowed))
    reactive.set(values[index] if values is not None else allowed[index])


@solara.component
def Chart(run: LiveRun, lang: str, kind: str, fig: dict, height: int | None = None):
    """A live chart with its data as CSV under it (PNG: the camera in plotly's toolbar)."""
    if height:
        fig["layout"]["height"] = height
    with solara.Column(classes=[f"fs-chart-{kind}"], gap="0px"):
        LiveFigure(fig)
        ChartDownload(run, lang, kind)


@solara.component
def ChartDownload(run: LiveRun, lang: str, kind: str):
    """The CSV link of one chart (its data made at the click, not every frame)."""
    data = solara.use_memo(lambda: partial(chart_csv_bytes, run, lang, kind), [run, lang, kind])
    with solara.Div(classes=[f"fs-csv-{kind}"], style={"font-size": "0.8rem"}):
        solara.FileDownload(data, filename=f"{run.spec.name}_{kind}.csv",
                            label=t(lang, "chart_csv"))


def chart_csv_bytes(run: LiveRun, lang: str, kind: str) -> bytes:
    return livecharts.chart_csv(run, lang, kind).encode()


@solara.component
def LiveCharts(run: LiveRun, lang: str, tick: int, big: bool = False):
    figs = livecharts.live_figures(run, lang, big=big)
    sample = solara.use_memo(lambda: NetworkSample(run.model), [run, id(run.model)])
    if big:  # the projector: the two main charts, sized to fit 1080 px under the headline
        with solara.Columns([1, 1]):
            for kind in ("fleet", "emissions"):
                Chart(run, lang, kind, figs[kind], livecharts.PROJECTOR_CHART_PX)
        return
    sample.update(run.model)
    kinds = ["fleet", "emissions", "shares", "band", "spending",
             "budget" if figs["budget"] is not None else "loans"]
    for left, right in zip(kinds[::2], kinds[1::2], strict=True):
        with solara.Columns([1, 1]):
            Chart(run, lang, left, figs[left])
            Chart(run, lang, right, figs[right])
    with solara.Columns([1, 1]):
        LiveFigure(charts.network(sample, lang))
        if figs["budget"] is not None:
            Chart(run, lang, "loans", figs["loans"])


@solara.component
def ProjectorView(run, lang: str, buttons: dict, tick, month):
    """Fits 1920x1080: the scenario's name, a strip of run controls, the main charts."""
    with solara.Column(style={"padding": "0 12px"}, classes=["fs-projector"], gap="4px"):
        with solara.Row(style={"align-items": "center", "gap": "24px", "flex-wrap": "wrap"}):
            panels.big_text(run.spec.name, "1.8rem", "fs-projector-name", colour="#37474f")
            panels.RunButtons(**buttons, big=True)
        LiveArea(run, lang, tick, month, big=True)


@solara.component
def Page():
    router = solara.use_router()
    asked, refused = solara.use_memo(lambda: urlstate.read(router.search), [])
    lang = solara.use_reactive(asked["lang"])
    view = solara.use_reactive(asked["view"])
    choice = solara.use_reactive(asked["scenario"])
    uploaded = solara.use_reactive(None)  # a Scenario read from an uploaded file
    uploads = solara.use_memo(OrderedDict, [])  # this visitor's uploads: name -> text
    seed = solara.use_reactive(asked["seed"])
    sample = solara.use_reactive(asked["sample"])
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(3)
    # (message key, fields) of the last refusal; a refused link value is the first
    notice = solara.use_reactive(("url_refused", {}) if refused else None)
    # read only by the panels that show them, so that a month redraws those panels alone
    tick = solara.use_reactive(0)
    month = solara.use_reactive(0)  # every month played: only the date redraws
    settings = solara.use_reactive(0)
    snapshots = solara.use_reactive({})  # named settings saved for the comparison view
    compared = solara.use_reactive(CompareState())  # kept across views

    source = uploaded.value if choice.value.startswith(UPLOADED) else choice.value
    run, built = solara.use_memo(lambda: build_run(source, seed.value, sample.value),
                                 [choice.value, uploaded.value, seed.value, sample.value])

    # callbacks made once per session: a new function each render would count as a changed
    # prop and redraw every panel that takes it
    bump = solara.use_memo(lambda: make_bump(tick), [])  # a month or more has run
    clock = solara.use_memo(lambda: make_bump(month), [])  # one month has run (the date)
    bump_settings = solara.use_memo(lambda: make_bump(settings), [])  # controls changed
    report = solara.use_memo(lambda: partial(show_notice, notice), [])
    on_upload = solara.use_memo(lambda: partial(take_upload, playing, uploaded, choice), [])

    solara.use_thread(partial(start_play, report, run, playing, speed.value, bump, clock),
                      dependencies=[playing.value, run, speed.value], intrusive_cancel=False)

    shown = {"lang": lang.value, "view": view.value, "seed": seed.value, "sample": sample.value,
             "scenario": choice.value if choice.value in builtin_names() else DEFAULT_SCENARIO}
    solara.use_effect(partial(keep_in_url, router, shown), [repr(shown)])

    L = lang.value
    solara.Style(NARROW_CSS)
    TopBar(lang, view, report)
    Notice(L, notice.value if built else ("run_unbuilt", {}))
    if view.value == "compare":
        CompareView(L, seed.value, sample.value, report,
                    offered_from(snapshots.value, run, uploaded.value), compared)
        return
    buttons = {"run": run, "lang": L, "playing": playing, "speed": speed, "bump": bump,
               "finished": run.finished, "reset_done": bump_settings, "report": report}
    if view.value == "projector":
        ProjectorView(run, L, buttons, tick, month)
        return
    with solara.Columns([1, 3], style={"padding": "4px"}):
        with solara.Column(classes=["fs-side"], style={"max-width": "430px"}):
            RunChoice(L, run, choice, uploaded.value, seed, sample, report)
            # the controls are most of the page's widgets: they redraw when settings change,
            # not every month (redrawing them each frame costs a room dearly)
            panels.RunButtons(**buttons)
            panels.PolicyControls(run, L, bump, bump_settings, settings, report, tick)
            SnapshotSaver(run, L, snapshots, report)
            panels.Files(run, L, on_upload, uploads, report)
        LiveArea(run, L, tick, month)


@solara.component
def TopBar(lang: solara.Reactive[str], view: solara.Reactive[str], report):
    L = lang.value
    solara.Title(t(L, "title"))
    solara.AppBarTitle(t(L, "title"))
    with solara.AppBar():
        views = ["live", "compare", "projector"]
        names = [t(L, f"view_{v}") for v in views]
        solara.ToggleButtonsSingle(value=names[views.index(view.value)], values=names,
                                   on_value=guarded(partial(choose_from, view, names,
                                                            values=views), report),
                                   classes=["fs-views"])
        solara.ToggleButtonsSingle(value=L, values=list(i18n.LANGS),
                                   on_value=guarded(partial(choose_from, lang,
                                                            list(i18n.LANGS)), report),
                                   classes=["fs-lang"])


@solara.component
def RunChoice(L: str, run: LiveRun, choice: solara.Reactive[str], uploaded: Scenario | None,
              seed: solara.Reactive[int], sample: solara.Reactive[float], report):
    """Which scenario, seed and fleet sample the session runs."""
    options = builtin_names() + ([UPLOADED + uploaded.name] if uploaded is not None else [])
    solara.Select(t(L, "scenario"), values=options, value=choice.value,
                  on_value=guarded(partial(choose_from, choice, options), report))
    solara.Text(controls.description(L, run.spec),
                style={"font-size": "0.8rem", "color": "#546e7a"}, classes=["fs-description"])
    shares = [i18n.percent(L, f, 0) for f in panels.SAMPLES]
    with solara.Row():
        solara.InputInt(t(L, "seed"), value=seed.value, classes=["fs-seed"],
                        on_value=guarded(partial(choose_seed, seed), report))
        solara.Select(t(L, "sample"), values=shares,
                      value=shares[panels.SAMPLES.index(sample.value)],
                      on_value=guarded(partial(choose_sample, sample, shares), report))


def keep_in_url(router, shown: dict) -> None:
    """(An effect) the page's settings into its URL, so that a reload or a link keeps them."""
    wanted = urlstate.query(shown, router.search)
    if router.set_path is not None and wanted != (router.search or ""):  # None: no browser
        router.push(f"{router.path or '/'}?{wanted}")


def make_bump(reactive: solara.Reactive[int]):
    counter = itertools.count(1)  # the reactive starts at 0
    # a fresh number every time: `value + 1` read by two threads at once (a click and the
    # play loop, or two quick clicks) could set one value twice, skipping a redraw
    return lambda: reactive.set(next(counter))


@solara.component
def Notice(lang: str, notice):
    """The last refusal, in the page's language (cleared by the next accepted action)."""
    if notice:
        key, kw = notice
        solara.Error(t(lang, key, **kw), classes=["fs-notice"], dense=True)


@solara.component
def LiveArea(run: LiveRun, lang: str, tick: solara.Reactive[int],
             month: solara.Reactive[int], big: bool = False):
    """What moves as the run plays: the date, the headline figures and the charts."""
    n = tick.value
    with solara.Column():
        panels.RunDate(run, lang, month, n, big=big)
        panels.Headline(run, lang, n, big=big)
        LiveCharts(run, lang, n, big=big)
