"""The page's pieces: run controls, policy controls, headline figures, file import/export.
Each takes the session's LiveRun and the language; none holds simulation logic."""

from __future__ import annotations

import html
from functools import partial

import solara
from ipyvuetify.extra import FileInput

from . import controls, events, guard, i18n, scenario_io
from .controls import Control
from .guard import call_guarded, guarded
from .i18n import t
from .runner import LiveRun

SPEEDS = [(1, 0.35), (3, 0.1), (12, 0.0), (0, 0.0)]  # (months per frame, pause s); 0: full
FULL_SPEED_FRAME_S = 1.0  # full speed: chart refresh interval (each refresh delays a Pause)
SAMPLES = [0.01, 0.02, 0.05, 0.1, 0.2]
MARKET_PATHS = ("fuels.", "credit.")  # controls shown folded, under "market and credit"
UPLOAD_READ_S = 15  # the browser has this long to send a chosen file's bytes


def big_text(text: str, size: str, classes: str = "", weight: int = 600,
             colour: str = "#263238") -> solara.Element:
    return solara.HTML(tag="div", classes=[classes] if classes else [],
                       unsafe_innerHTML=html.escape(text),
                       style={"font-size": size, "font-weight": weight, "color": colour,
                              "line-height": "1.15"})


def step_once(run: LiveRun, bump) -> None:
    run.step(1)
    bump()


def reset_run(run: LiveRun, playing: solara.Reactive[bool], bump, reset_done) -> None:
    playing.set(False)
    run.reset()
    bump()
    reset_done()  # pending changes are now applied: the controls redraw


def choose_speed(speed: solara.Reactive[int], levels: list[str], shown) -> None:
    speed.set(levels.index(guard.parse_choice(shown, levels)))


@solara.component
def RunButtons(run: LiveRun, lang: str, playing: solara.Reactive[bool],
               speed: solara.Reactive[int], bump, finished: bool, reset_done, report,
               big: bool = False):
    size = "x-large" if big else None
    with solara.Row(style={"flex-wrap": "wrap", "gap": "6px"}):
        if playing.value:
            solara.Button(t(lang, "pause"), icon_name="mdi-pause", color="warning",
                          on_click=guarded(partial(playing.set, False), report),
                          classes=["fs-pause"], style={"font-size": size} if big else None)
        else:
            solara.Button(t(lang, "play"), icon_name="mdi-play", color="primary",
                          on_click=guarded(partial(playing.set, True), report),
                          disabled=finished, classes=["fs-play"],
                          style={"font-size": size} if big else None)
        solara.Button(t(lang, "step"), icon_name="mdi-step-forward",
                      on_click=guarded(partial(step_once, run, bump), report),
                      disabled=playing.value or finished, classes=["fs-step"])
        solara.Button(t(lang, "reset"), icon_name="mdi-restore",
                      on_click=guarded(partial(reset_run, run, playing, bump, reset_done),
                                       report),
                      classes=["fs-reset"])
    levels = i18n.options(lang, "speed_levels")
    solara.ToggleButtonsSingle(value=levels[speed.value], values=levels,
                               on_value=guarded(partial(choose_speed, speed, levels), report))


@solara.component
def PolicyControls(run: LiveRun, lang: str, bump, bump_settings,
                   settings: solara.Reactive[int], report, tick=None):
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
        ControlWidget(run, control, lang, changed, set_problems, run.value(control.path),
                      report, tick)
    if market:  # prices and credit: context more than policy, folded away
        with solara.Details(t(lang, "market_credit"), expand=False):
            for control in market:
                ControlWidget(run, control, lang, changed, set_problems,
                              run.value(control.path), report)
    if run.pending:
        solara.Info(t(lang, "pending_reset"), dense=True)
    if problems:
        solara.Error(t(lang, "change_error") + " " + "; ".join(problems), classes=["fs-error"])


def change_control(run: LiveRun, c: Control, value, bump, set_problems, shown) -> None:
    """A control moved: check the value against the control, then apply it to the run."""
    if c.kind == "toggle":
        if not isinstance(shown, bool):
            raise guard.Refused("choice_refused")
        stored = shown
    else:
        number = guard.parse_number(shown, c.min * c.scale, c.max * c.scale)
        if abs(number - float(value) * c.scale) < c.step * c.scale / 2:
            return  # the slider snapping the scenario's value to its grid, not a choice
        stored = round(number / c.scale, 9)
    set_problems(run.set_control(c.path, stored))
    bump()


@solara.component
def InstrumentSwitch(run: LiveRun, c: Control, lang: str, value, change, tick=None):
    """An instrument's on/off switch; one an adaptive rule switched on during the run shows
    on, with a note saying which rule and when (it reads `tick`: a rule fires mid-play)."""
    if tick is not None:
        tick.value  # noqa: B018  (read: redraw as the run plays)
    rule = switched_by(run, c, lang)
    solara.Switch(label=controls.label(lang, c), value=bool(value) or rule is not None,
                  on_value=change, disabled=rule is not None and not value)
    if rule is not None and not value:
        solara.Text(rule, classes=["fs-rule-note"],
                    style={"font-size": "0.8rem", "color": "#6a1b9a"})
    note = controls.source_note(run.raw, c.path)
    if note:
        solara.Text(t(lang, "control_source", note=note), classes=["fs-control-note"],
                    style={"font-size": "0.72rem", "color": "#607d8b", "line-height": "1.2"})


def switched_by(run: LiveRun, c: Control, lang: str) -> str | None:
    """'Switched on by rule X in Jan 2031' for an instrument an adaptive rule switched on."""
    if not c.path.endswith(".enabled"):
        return None
    try:
        name = controls.value_at(run.raw, c.path.removesuffix(".enabled") + ".name")
    except KeyError:
        return None
    return events.rule_notes(run, lang).get(name)


@solara.component
def ControlWidget(run: LiveRun, c: Control, lang: str, bump, set_problems, value, report,
                  tick=None):
    change = guarded(partial(change_control, run, c, value, bump, set_problems), report)
    unit = t(lang, c.unit) if c.unit else ""
    with solara.Column(classes=[f"fs-control-{c.key}"], gap="0px"):
        if c.kind == "toggle":
            InstrumentSwitch(run, c, lang, value, change, tick)
            return
        shown = float(value) * c.scale
        digits = 0 if c.step * c.scale >= 1 else 1 if c.step * c.scale >= 0.1 else 2
        solara.Text(f"{controls.label(lang, c)}: {i18n.number(lang, shown, digits)} {unit}",
                    style={"font-size": "0.9rem"})
        top = slider_top(run, c, value)
        solara.SliderFloat(
            label="", value=shown, min=c.min * c.scale, max=top * c.scale, step=c.step * c.scale,
            on_value=change, thumb_label=False)
        ControlNote(run, c, lang, top, digits, unit)


def slider_top(run: LiveRun, c: Control, value) -> float:
    """The slider's top: the control's own, or (for a subsidy capped at a share of the price)
    the largest payment that can act, on the slider's grid; never below the value set."""
    cap = controls.payment_cap(run.raw, c)
    if cap is None:
        return c.max
    grid = c.min + c.step * -(-(cap[1] - c.min) // c.step)
    return max(min(c.max, grid), float(value))


@solara.component
def ControlNote(run: LiveRun, c: Control, lang: str, top: float, digits: int, unit: str):
    """Under a slider: its range, a subsidy's payment cap, and the scenario's source."""
    low, high = (i18n.number(lang, v * c.scale, digits) for v in (c.min, top))
    lines = [t(lang, "control_range", low=low, high=high, unit=unit)]
    cap = controls.payment_cap(run.raw, c)
    if cap is not None:
        lines.append(t(lang, "control_cap", share=i18n.percent(lang, cap[0], 0),
                       cap=i18n.number(lang, cap[1]), unit=unit))
    note = controls.source_note(run.raw, c.path)
    row = controls.source_note(run.raw, c.path.rsplit(".", 1)[0]) if c.item else ""
    if note and note != row:  # an instrument's own source is shown once, under its switch
        lines.append(t(lang, "control_source", note=note))
    solara.Text(" · ".join(lines), classes=["fs-control-note"],
                style={"font-size": "0.72rem", "color": "#607d8b", "line-height": "1.2"})


@solara.component
def RunDate(run: LiveRun, lang: str, month: solara.Reactive[int], tick: int = 0,
            big: bool = False):
    """The month the run has reached; reads `month` itself so that it alone redraws each
    month played (the charts redraw once a frame)."""
    month.value  # noqa: B018  (read: redraw after every month)
    year, month_no = run.date
    if run.months_done == 0:
        status = t(lang, "not_started")
    else:
        status = i18n.month_label(lang, year, month_no)
        if run.finished:
            status += f" · {t(lang, 'finished')}"
    big_text(status, "3.2rem" if big else "1.9rem", "fs-date", colour="#0d47a1")


@solara.component
def Headline(run: LiveRun, lang: str, tick: int = 0, big: bool = False):
    h = run.headline()
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


def export_bytes(run: LiveRun, kind: str, lang: str, report) -> bytes:
    """The file a download button sends; if it cannot be made, a line saying so."""
    make = scenario_io.export_yaml if kind == "yaml" else scenario_io.export_csv
    text = call_guarded(make, report, run)
    return (text if text is not None else f"# {t(lang, 'export_failed')}\n").encode()


def read_chosen(f: dict) -> bytes:
    """The bytes of a chosen file, asked from the browser only after its size was checked."""
    scenario_io.check_size(f.get("size"))
    try:
        data = f["file_obj"].read(f["size"])
    except Exception:  # noqa: BLE001  (the browser went away, or sent something else)
        raise scenario_io.UploadRefused("upload_unreadable") from None
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) != f["size"]:
        raise scenario_io.UploadRefused("upload_unreadable")
    return bytes(data)


def read_first(files) -> tuple[str, bytes]:
    """The name and bytes of the first file a visitor chose (UploadRefused if unreadable)."""
    f = files[0] if isinstance(files, list) and files else None
    if not isinstance(f, dict):
        raise scenario_io.UploadRefused("upload_unreadable")
    return f.get("name"), read_chosen(f)


def check_file(name, data: bytes, uploads, on_scenario, set_status) -> None:
    """Check a chosen file's bytes and show what came of it; a valid scenario becomes the
    page's (on_scenario)."""
    try:
        spec = scenario_io.read_upload(name, data, uploads)
    except scenario_io.UploadRefused as err:
        set_status({"kind": "refused", "key": err.key, "kw": err.kw})
        return
    except scenario_io.ScenarioError as err:
        set_status({"kind": "problems", "lines": err.problems})
        return
    set_status({"kind": "ok", "name": spec.name})
    on_scenario(spec)


def take_files(files, uploads, on_scenario, set_status) -> None:
    """Read and check the first file a visitor chose, showing what came of it."""
    if not files:
        return
    set_status({"kind": "checking"})
    try:
        name, data = read_first(files)
    except scenario_io.UploadRefused as err:
        set_status({"kind": "refused", "key": err.key, "kw": err.kw})
        return
    check_file(name, data, uploads, on_scenario, set_status)


def fetch_widget_file(widget) -> tuple[str, bytes] | scenario_io.UploadRefused:
    """The chosen file's name and bytes from the widget, or the reason they could not be read."""
    if not isinstance(widget.file_info, list) or not all(
            isinstance(f, dict) for f in widget.file_info):
        return scenario_io.UploadRefused("upload_unreadable")
    try:
        return read_first(widget.get_files(timeout=UPLOAD_READ_S))
    except scenario_io.UploadRefused as err:
        return err


def keep_widget(holder, element) -> None:
    """(An effect) the widget of `element`, for a thread that has no render context."""
    holder.current = solara.get_widget(element)


def check_chosen(holder, uploads, on_scenario, set_status, report, cancel) -> None:
    """The upload thread: the chosen file read, the widget cleared (so that the same or another
    file can be sent at once), then the bytes checked and the answer shown."""
    widget = holder.current
    if widget is None or not widget.file_info:
        return
    version = widget.version
    set_status({"kind": "checking"})
    got = call_guarded(fetch_widget_file, report, widget)
    if widget.version != version:
        return  # the visitor chose another file while this one was read: its thread answers
    # cleared before any answer shows: a clear sent later would wipe the visitor's next choice
    widget.clear()
    if isinstance(got, scenario_io.UploadRefused):
        set_status({"kind": "refused", "key": got.key, "kw": got.kw})
    elif got is None:
        set_status({})
    else:
        call_guarded(check_file, report, *got, uploads, on_scenario, set_status)


@solara.component
def Files(run: LiveRun, lang: str, on_scenario, uploads, report):
    """Export the settings and results; import a scenario file (checked before use)."""
    status, set_status = solara.use_state({})
    chosen, set_chosen = solara.use_state([])

    solara.Markdown(f"**{t(lang, 'files')}**")
    solara.FileDownload(partial(export_bytes, run, "yaml", lang, report),
                        filename=f"{run.spec.name}_workshop.yaml", label=t(lang, "export_yaml"))
    solara.FileDownload(partial(export_bytes, run, "csv", lang, report),
                        filename=f"{run.spec.name}_results.csv", label=t(lang, "export_csv"))
    with solara.Column(classes=["fs-upload"], gap="0px"):
        solara.Text(f"{t(lang, 'import_yaml')} {t(lang, 'import_limit')}",
                    style={"font-size": "0.85rem"})
        # ipyvuetify's FileInput sends name and size first and the bytes only when asked (in
        # chunks): an oversize file is refused unread, and no upload meets the websocket's
        # message limit (ipywidgets' FileUpload sends the whole file as one message)
        upload = FileInput.element(accept=".yaml,.yml", multiple=False, show_progress=False,
                                   on_file_info=set_chosen)
    holder = solara.use_ref(None)
    solara.use_effect(partial(keep_widget, holder, upload), [])
    solara.use_thread(partial(check_chosen, holder, uploads, on_scenario, set_status, report),
                      dependencies=[repr(chosen)], intrusive_cancel=False)
    UploadStatus(lang, status)


@solara.component
def UploadStatus(lang: str, status: dict):
    kind = status.get("kind")
    if kind == "checking":
        solara.Info(t(lang, "import_checking"), dense=True, classes=["fs-import-checking"])
    elif kind in ("refused", "problems"):
        with solara.Column(classes=["fs-import-error"]):
            solara.Error(t(lang, "import_error"))
            lines = (status["lines"] if kind == "problems"
                     else [t(lang, status["key"], **status["kw"])])
            for line in lines:
                solara.Text(line, style={"color": "#b71c1c", "font-family": "monospace"})
    elif kind == "ok":
        solara.Success(t(lang, "import_ok", name=status["name"]), dense=True)
