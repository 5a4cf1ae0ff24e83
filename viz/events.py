"""What happened during a run, as the charts label it in the page's language: each mid-run
change (what, to what, from which month), each adaptive rule that fired (which instruments it
switched on, and why) and each instrument's target (e.g. 60% of the fleet soot-free by 2030).

The rules' firings are read from the model's regulator (`Regulator.fired`: rule name -> month
index year * 12 + month - 1, and `Regulator.switched_on`), not recomputed here."""

from __future__ import annotations

from dataclasses import dataclass

from . import controls, i18n
from .i18n import t
from .runner import LiveRun

TARGET_METRICS = {"share_soot_free": "soot_free", "share_zev": "zev"}  # drawn on the shares chart


SHORT_CHARS = 34  # an event's words up its line: a chart's height holds about this many


@dataclass(frozen=True)
class Event:
    x: float  # fractional year: 2031.0 is January 2031
    text: str  # the whole note (hover, CSV, the switch's note)
    kind: str  # "change" or "rule"
    short: str = ""  # written up the line on the chart

    @property
    def label(self) -> str:
        return self.short or self.text


def shorten(text: str, chars: int = SHORT_CHARS) -> str:
    return text if len(text) <= chars else text[:chars - 1].rstrip() + "…"


@dataclass(frozen=True)
class Target:
    metric: str
    value: float
    by: float  # fractional year of its deadline
    text: str


def month_x(year: int, month: int) -> float:
    return year + (month - 1) / 12


def shown_value(lang: str, c: controls.Control | None, value) -> str:
    if isinstance(value, bool):
        return t(lang, "on" if value else "off")
    if c is None or not isinstance(value, int | float):
        return str(value)
    digits = 0 if c.step * c.scale >= 1 else 1 if c.step * c.scale >= 0.1 else 2
    unit = t(lang, c.unit) if c.unit else ""
    return f"{i18n.number(lang, float(value) * c.scale, digits)} {unit}".strip()


def changes(run: LiveRun, lang: str) -> list[Event]:
    """Each mid-run change: '<control>: <value> from <month>'."""
    by_path = {c.path: c for c, _ in run.controls}
    start = run.spec.simulation.start_year
    out = []
    for ch in run.changes:
        year, month = start + (ch.month - 1) // 12, (ch.month - 1) % 12 + 1
        c = by_path.get(ch.path)
        what = controls.label(lang, c) if c else ch.path
        value = shown_value(lang, c, ch.value)
        out.append(Event(month_x(year, month), t(
            lang, "event_change", what=what, value=value,
            when=i18n.month_label(lang, year, month)), "change",
            shorten(f"{value}: {what}")))
    return out


def instrument_names(run: LiveRun, lang: str) -> dict[str, str]:
    """Instrument id -> its label as the page shows it."""
    return controls.instrument_labels(run.raw, lang)


def fired(run: LiveRun) -> dict[str, int]:
    """Adaptive rule -> month index it fired (year * 12 + month - 1), from the regulator."""
    with run.lock:
        return dict(run.model.regulator.fired)


def rules(run: LiveRun, lang: str) -> list[Event]:
    """Each adaptive rule that fired: what it switched on, when, and the target it missed."""
    names = instrument_names(run, lang)
    hit = fired(run)
    out = []
    for rule in run.spec.policy.adaptive:
        if rule.name not in hit:
            continue
        year, month = divmod(hit[rule.name], 12)
        what = ", ".join(names.get(n, n) for n in rule.enable)
        out.append(Event(month_x(year, month + 1), t(
            lang, "event_rule", what=what, when=i18n.month_label(lang, year, month + 1),
            target=target_words(lang, rule.metric, rule.target, rule.direction),
            by=rule.by.year), "rule", shorten(t(lang, "event_rule_short", what=what))))
    return out


def rule_notes(run: LiveRun, lang: str) -> dict[str, str]:
    """Instrument id -> 'switched on by rule X in Jan 2031 (target missed: ...)'."""
    hit = fired(run)
    out = {}
    for rule in run.spec.policy.adaptive:
        if rule.name in hit:
            year, month = divmod(hit[rule.name], 12)
            note = t(lang, "rule_note", rule=rule.name,
                     when=i18n.month_label(lang, year, month + 1),
                     target=target_words(lang, rule.metric, rule.target, rule.direction),
                     by=rule.by.year)
            out.update(dict.fromkeys(rule.enable, note))
    return out


def target_words(lang: str, metric: str, value: float, direction: str) -> str:
    key = TARGET_METRICS.get(metric)
    what = t(lang, key) if key else metric
    shown = i18n.percent(lang, value, 0) if metric.startswith("share_") else f"{value:g}"
    return t(lang, "target_at_least" if direction == "at_least" else "target_at_most",
             what=what, value=shown)


def targets(run: LiveRun, lang: str) -> list[Target]:
    """The adaptive rules' targets on fleet shares, to draw on the shares chart."""
    return [Target(r.metric, r.target, month_x(r.by.year, r.by.month),
                   t(lang, "target_line", target=target_words(lang, r.metric, r.target,
                                                              r.direction), by=r.by.year))
            for r in run.spec.policy.adaptive if r.metric in TARGET_METRICS]


def all_events(run: LiveRun, lang: str) -> list[Event]:
    return sorted(changes(run, lang) + rules(run, lang), key=lambda e: e.x)
