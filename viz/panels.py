"""The page's pieces: run controls, policy controls, headline figures, file import/export.
Each takes the session's LiveRun and the language; none holds simulation logic."""

from __future__ import annotations

import html

import ipywidgets
import solara

from . import controls, i18n, scenario_io
from .controls import Control
from .i18n import t
from .runner import LiveRun

SPEEDS = [(1, 0.35), (3, 0.1), (12, 0.0), (0, 0.0)]  # (months per frame, pause s); 0: full
FULL_SPEED_FRAME_S = 0.5  # at full speed, step this long between chart refreshes (2 a second)
SAMPLES = [0.01, 0.02, 0.05, 0.1, 0.2]
MARKET_PATHS = ("fuels.", "credit.")  # controls shown folded, under "market and credit"


def big_text(text: str, size: str, classes: str = "", weight: int = 600,
             colour: str = "#263238") -> solara.Element:
    return solara.HTML(tag="div", classes=[classes] if classes else [],
                       unsafe_innerHTML=html.escape(text),
                       style={"font-size": size, "font-weight": weight, "color": colour,
                              "line-height": "1.15"})


@solara.component
def RunButtons(run: LiveRun, lang: str, playing: solara.Reactive[bool],
               speed: solara.Reactive[int], bump, finished: bool, reset_done,
               big: bool = False):

    def step():
        run.step(1)
        bump()

    def reset():
        playing.set(False)
        run.reset()
        bump()
        reset_done()  # pending changes are now applied: the controls redraw

    size = "x-large" if big else None
    with solara.Row(style={"flex-wrap": "wrap", "gap": "6px"}):
        if playing.value:
            solara.Button(t(lang, "pause"), icon_name="mdi-pause", color="warning",
                          on_click=lambda: playing.set(False), classes=["fs-pause"],
                          style={"font-size": size} if big else None)
        else:
            solara.Button(t(lang, "play"), icon_name="mdi-play", color="primary",
                          on_click=lambda: playing.set(True), disabled=finished,
                          classes=["fs-play"], style={"font-size": size} if big else None)
        solara.Button(t(lang, "step"), icon_name="mdi-step-forward", on_click=step,
                      disabled=playing.value or finished, classes=["fs-step"])
        solara.Button(t(lang, "reset"), icon_name="mdi-restore", on_click=reset,
                      classes=["fs-reset"])
    levels = i18n.options(lang, "speed_levels")
    solara.ToggleButtonsSingle(value=levels[speed.value], values=levels,
                               on_value=lambda v: speed.set(levels.index(v)))


@solara.component
def PolicyControls(run: LiveRun, lang: str, bump, bump_settings,
                   settings: solara.Reactive[int]):
    settings.value  # noqa: B018  (read: redraw when a control or a reset changed settings)
    problems, set_problems = solara.use_state([])

    def changed():
        bump_settings()
        bump()

    solara.Markdown(f"**{t(lang, 'policy')}**")
    policy = [c for c, _ in run.controls if not c.path.startswith(MARKET_PATHS)]
    market = [c for c, _ in run.controls if c.path.startswith(MARKET_PATHS)]
    if not policy:
        solara.Text(t(lang, "no_controls"))
    for control in policy:
        # the value is passed so that the control redraws when it changes (props compare)
        ControlWidget(run, control, lang, changed, set_problems, run.value(control.path))
    if market:  # prices and credit: context more than policy, folded away
        with solara.Details(t(lang, "market_credit"), expand=False):
            for control in market:
                ControlWidget(run, control, lang, changed, set_problems,
                              run.value(control.path))
    if run.pending:
        solara.Info(t(lang, "pending_reset"), dense=True)
    if problems:
        solara.Error(t(lang, "change_error") + " " + "; ".join(problems), classes=["fs-error"])


@solara.component
def ControlWidget(run: LiveRun, c: Control, lang: str, bump, set_problems, value):

    def change(shown):
        if c.kind != "toggle" and abs(float(shown) - float(value) * c.scale) < c.step * c.scale / 2:
            return  # the slider snapping the scenario's value to its grid, not a choice
        stored = bool(shown) if c.kind == "toggle" else round(float(shown) / c.scale, 9)
        set_problems(run.set_control(c.path, stored))
        bump()

    unit = t(lang, c.unit) if c.unit else ""
    with solara.Column(classes=[f"fs-control-{c.key}"], gap="0px"):
        if c.kind == "toggle":
            solara.Switch(label=controls.label(lang, c), value=bool(value), on_value=change)
            return
        shown = float(value) * c.scale
        digits = 0 if c.step * c.scale >= 1 else 1 if c.step * c.scale >= 0.1 else 2
        solara.Text(f"{controls.label(lang, c)}: {i18n.number(lang, shown, digits)} {unit}",
                    style={"font-size": "0.9rem"})
        solara.SliderFloat(
            label="", value=shown, min=c.min * c.scale, max=c.max * c.scale, step=c.step * c.scale,
            on_value=change, thumb_label=False)


@solara.component
def Headline(run: LiveRun, lang: str, tick: int = 0, big: bool = False):
    h = run.headline()
    year, month = run.date
    if run.months_done == 0:
        status = t(lang, "not_started")
    else:
        status = i18n.month_label(lang, year, month)
        if run.finished:
            status += f" · {t(lang, 'finished')}"
    big_text(status, "3.2rem" if big else "1.9rem", "fs-date", colour="#0d47a1")
    cards = [
        ("avoided_pm25", f"{i18n.number(lang, h['avoided_pm25'], 1)} {t(lang, 'unit_t')}"),
        ("avoided_co2", f"{i18n.compact(lang, h['avoided_co2'])} {t(lang, 'unit_t')}"),
        ("public_cost", f"{i18n.compact(lang, h['public_cost'])} {t(lang, 'unit_mxn')}"),
        ("cost_per_t_co2", _per_t(lang, h["cost_per_t_co2"])),
        ("cost_per_t_pm25", _per_t(lang, h["cost_per_t_pm25"])),
        ("soot_free_now", i18n.percent(lang, h["share_soot_free"])),
        ("zev_share_now", i18n.percent(lang, h["share_zev"])),
    ]
    if big:
        cards = [cards[0], cards[1], cards[3], cards[6]]
    with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}, classes=["fs-headline"]):
        for key, text in cards:
            with solara.Card(style={"min-width": "15rem" if big else "11rem", "padding": "8px"}):
                big_text(t(lang, key), "1.3rem" if big else "0.85rem", weight=400,
                         colour="#546e7a")
                big_text(text, "2.6rem" if big else "1.5rem", f"fs-{key}")


def _per_t(lang: str, value) -> str:
    if value is None:
        return t(lang, "not_applicable")
    return f"{i18n.compact(lang, value)} {t(lang, 'unit_mxn_per_t')}"


@solara.component
def Files(run: LiveRun, lang: str, on_scenario):
    """Export the settings and results; import a scenario file (checked before use)."""
    problems, set_problems = solara.use_state([])
    loaded, set_loaded = solara.use_state("")

    def on_upload(change):
        files = change["new"]
        if not files:
            return
        f = files[0]
        change["owner"].value = ()  # so that the same file can be sent again
        try:
            spec = scenario_io.read_upload(f["name"], bytes(f["content"]))
        except scenario_io.ScenarioError as err:
            set_problems(err.problems)
            set_loaded("")
            return
        set_problems([])
        set_loaded(spec.name)
        on_scenario(spec)

    solara.Markdown(f"**{t(lang, 'files')}**")
    solara.FileDownload(lambda: scenario_io.export_yaml(run).encode(),
                        filename=f"{run.spec.name}_workshop.yaml", label=t(lang, "export_yaml"))
    solara.FileDownload(lambda: scenario_io.export_csv(run).encode(),
                        filename=f"{run.spec.name}_results.csv", label=t(lang, "export_csv"))
    upload = ipywidgets.FileUpload.element(accept=".yaml,.yml", multiple=False,
                                           description=t(lang, "import_yaml"),
                                           layout=ipywidgets.Layout(width="100%"))

    def watch():
        widget = solara.get_widget(upload)
        widget.observe(on_upload, "value")
        return lambda: widget.unobserve(on_upload, "value")

    solara.use_effect(watch, [run])
    if problems:
        with solara.Column(classes=["fs-import-error"]):
            solara.Error(t(lang, "import_error"))
            for line in problems:
                solara.Text(line, style={"color": "#b71c1c", "font-family": "monospace"})
    elif loaded:
        solara.Success(t(lang, "import_ok", name=loaded), dense=True)
