"""Plotly figures from the yearly tables: small data (one point per year), labels and number
formats in the page's language, mid-run policy changes marked as vertical lines.

Figures are plain dicts ({"data": [...], "layout": {...}}): building plotly's Figure objects
costs tens of milliseconds each (validation, templates), too much for a room of sessions
refreshing several charts a second; `widgets.LiveFigure` sends only what changed."""

from __future__ import annotations

from fleetsim.scenarios import SIZE_BANDS

from . import i18n
from .i18n import t

TECH_LABELS = {
    "diesel_pre1994": {"es": "diésel sin control (antes de 1994)", "en": "uncontrolled diesel"},
    "diesel_epa1998": {"es": "diésel EPA 1998 / Euro III", "en": "diesel EPA 1998 / Euro III"},
    "diesel_epa2004": {"es": "diésel EPA 2004 / Euro IV", "en": "diesel EPA 2004 / Euro IV"},
    "diesel_epa2007": {"es": "diésel EPA 2007 / Euro V", "en": "diesel EPA 2007 / Euro V"},
    "diesel_epa2010": {"es": "diésel libre de hollín (EPA 2010)",
                       "en": "soot-free diesel (EPA 2010)"},
    "natural_gas": {"es": "gas natural", "en": "natural gas"},
    "battery_electric": {"es": "eléctrico de batería", "en": "battery-electric"},
    "diesel_dpf_retrofit": {"es": "diésel con filtro instalado", "en": "diesel + retrofit filter"},
}
# dirty to clean: greys and browns, then blues, then greens
TECH_COLOURS = ["#5d4037", "#8d6e63", "#a1887f", "#bcaaa4", "#1e88e5", "#8e24aa", "#43a047",
                "#26c6da"]
RUN_COLOURS = ["#1565c0", "#e65100", "#2e7d32"]
EVENT_COLOURS = {"change": "#c62828", "rule": "#6a1b9a"}
CATEGORY_COLOURS = {"conventional": "#9e9e9e", "soot_free": "#1e88e5", "zev": "#43a047"}


def tech_label(lang: str, name: str) -> str:
    return TECH_LABELS.get(name, {}).get(lang, name.replace("_", " "))


Figure = dict  # {"data": [trace dicts], "layout": {...}}
AXIS_GRID = {"x": ([0, 0.46], [0.56, 1.0]), "y": ([0.6, 1.0], [0.0, 0.4])}


def _layout(lang: str, title: str, big: bool, height: int = 300, ytitle: str = "",
            changes=(), axes=(("x", "y"),), **extra) -> dict:
    size = 22 if big else 12
    lay = {
        "title": {"text": title, "font": {"size": size + 4}},
        "height": int(height * (1.5 if big else 1)),
        "separators": i18n.plotly_separators(lang),
        "font": {"size": size},
        "margin": {"l": 70, "r": 10, "t": 70 if big else 50, "b": 40},
        "legend": {"orientation": "h", "y": -0.15, "font": {"size": size - 1}},
        "template": "plotly_white",
        "uirevision": "keep",
        "autosize": True,
        "shapes": [{"type": "line", "xref": xa, "yref": f"{ya} domain", "x0": ch["x"],
                    "x1": ch["x"], "y0": 0, "y1": 1,
                    "line": {"color": EVENT_COLOURS[ch.get("kind", "change")], "dash": "dash",
                             "width": 2}}
                   for ch in changes for xa, ya in axes],
        # each event named once, beside its line in the first panel
        "annotations": [event_note(ch, axes[0], size) for ch in changes if ch.get("text")]
        + list(extra.pop("annotations", [])),
    }
    for xa, ya in axes:
        xk, yk = xa.replace("x", "xaxis"), ya.replace("y", "yaxis")
        lay[xk] = {"dtick": 10 if big else 5, "tickformat": "d", **lay.get(xk, {})}
        lay[yk] = {"rangemode": "tozero", "title": {"text": ytitle}, **lay.get(yk, {})}
    lay.update(extra)
    return lay


def _line(x, y, name: str, **kw) -> dict:
    # a line needs two points: before the second year, show the points themselves
    mode = "lines" if len(x) > 2 else "lines+markers"
    return {"type": "scatter", "mode": mode, "x": list(x), "y": list(y), "name": name, **kw}


def with_span(fig: Figure, first_year: int, last_year: int) -> Figure:
    """Fix every time axis to the whole run, so that a live chart fills in from the left
    instead of rescaling each year."""
    for key, axis in fig["layout"].items():
        if key.startswith("xaxis") and axis.get("visible", True):
            axis["range"] = [first_year - 0.5, last_year + 0.5]
    return fig


def event_note(ch: dict, axis: tuple[str, str], size: int) -> dict:
    """An event's words, written up its dashed line."""
    xa, ya = axis
    return {"x": ch["x"], "y": 1, "xref": xa, "yref": f"{ya} domain", "text": ch["text"],
            "showarrow": False, "textangle": -90, "xanchor": "right", "yanchor": "top",
            "hovertext": ch.get("hover", ch["text"]),
            "font": {"size": max(size - 2, 9), "color": EVENT_COLOURS[ch.get("kind", "change")]},
            "bgcolor": "rgba(255,255,255,0.75)"}


def _marker_trace(lang: str, changes) -> list[dict]:
    """One legend entry for each kind of dashed line drawn (a change, a rule firing)."""
    kinds = dict.fromkeys(ch.get("kind", "change") for ch in changes)
    return [_line([], [], t(lang, f"{kind}_marker"),
                  line={"dash": "dash", "color": EVENT_COLOURS[kind]}) for kind in kinds]


def target_traces(targets, first_year: int) -> list[dict]:
    """Each target as a dotted line from the start to its deadline, ending in a marker."""
    return [_line([first_year, tg["by"]], [tg["value"] * 100] * 2, tg["text"],
                  mode="lines+markers", line={"dash": "dot", "color": "#6a1b9a", "width": 2},
                  marker={"symbol": ["line-ew", "star"], "size": [1, 14]})
            for tg in targets]


def fleet_by_tech(pol, techs: list[str], lang: str, changes=(), big=False) -> Figure:
    data = []
    for i, name in enumerate(techs):
        col = f"vehicles_{name}"
        colour = TECH_COLOURS[i % len(TECH_COLOURS)]
        data.append(_line(pol["year"], pol.get(col, []), tech_label(lang, name),
                          stackgroup="fleet", line={"width": 0.5, "color": colour},
                          fillcolor=colour))
    return {"data": data + _marker_trace(lang, changes),
            "layout": _layout(lang, t(lang, "chart_fleet_tech"), big,
                              ytitle=t(lang, "vehicles"), changes=changes, height=340)}


def fleet_by_band(pol, lang: str, changes=(), big=False) -> Figure:
    data = [_line(pol["year"], pol[f"vehicles_{b}"], t(lang, f"band_{b}"), stackgroup="band")
            for b in SIZE_BANDS]
    return {"data": data + _marker_trace(lang, changes),
            "layout": _layout(lang, t(lang, "chart_fleet_band"), big,
                              ytitle=t(lang, "vehicles"), changes=changes)}


POLLUTANTS = [("pm25_t", "pm25", 1.0, "t_per_year"), ("bc_t", "bc", 1.0, "t_per_year"),
              ("nox_t", "nox", 1.0, "t_per_year"), ("co2_ttw_t", "co2", 1e-3, "kt_per_year")]


def emissions(runs: list[tuple[str, object]], base, lang: str, changes=(), big=False) -> Figure:
    """Four small panels (PM2.5, black carbon, NOx, CO2), each run a solid line, the baseline
    dotted."""
    data, axes, notes, extra = [], [], [], {}
    for i, (col, key, scale, unit) in enumerate(POLLUTANTS):
        r, c = divmod(i, 2)
        xa, ya = ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")
        axes.append((xa, ya))
        extra[xa.replace("x", "xaxis")] = {"domain": AXIS_GRID["x"][c], "anchor": ya}
        extra[ya.replace("y", "yaxis")] = {"domain": AXIS_GRID["y"][r], "anchor": xa}
        panel = f"{t(lang, key)} ({t(lang, unit)})"
        notes.append({"text": f"<b>{t(lang, key)}</b> ({t(lang, unit)})", "showarrow": False,
                      "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                      "x": sum(AXIS_GRID["x"][c]) / 2, "y": AXIS_GRID["y"][r][1],
                      "font": {"size": 20 if big else 13}})
        for k, (name, df) in enumerate(runs):
            data.append(_line(df["year"], df[col] * scale, name, xaxis=xa, yaxis=ya,
                              legendgroup=name, showlegend=i == 0, meta=panel,
                              line={"color": RUN_COLOURS[k % 3], "width": 3 if big else 2}))
        if base is not None:
            data.append(_line(base["year"], base[col] * scale, t(lang, "baseline_run"),
                              xaxis=xa, yaxis=ya, legendgroup="base", showlegend=i == 0,
                              meta=panel,
                              line={"color": "#616161", "dash": "dot",
                                    "width": 3 if big else 2}))
    title = t(lang, "chart_emissions" if base is not None else "chart_emissions_runs")
    lay = _layout(lang, title, big, height=500, changes=changes,
                  axes=axes, annotations=notes)
    for k, v in extra.items():
        lay[k] = {**lay.get(k, {}), **v}
    return {"data": data + _marker_trace(lang, changes), "layout": lay}


def shares(runs: list[tuple[str, object]], lang: str, changes=(), big=False,
           targets=(), first_year: int = 0) -> Figure:
    data = target_traces(targets, first_year)
    for k, (name, df) in enumerate(runs):
        single = len(runs) == 1
        prefix = "" if single else f"{name}: "
        data.append(_line(df["year"], df["share_soot_free"] * 100, prefix + t(lang, "soot_free"),
                          line={"color": "#1e88e5" if single else RUN_COLOURS[k % 3],
                                "width": 3}))
        data.append(_line(df["year"], df["share_zev"] * 100, prefix + t(lang, "zev"),
                          line={"color": "#43a047" if single else RUN_COLOURS[k % 3],
                                "dash": "dash", "width": 3}))
    lay = _layout(lang, t(lang, "chart_shares"), big, ytitle=t(lang, "share_pct"),
                  changes=changes)
    lay["yaxis"]["range"] = [0, 100]
    return {"data": data + _marker_trace(lang, changes), "layout": lay}


def spending(runs: list[tuple[str, object]], lang: str, changes=(), big=False,
             labels: dict | None = None) -> Figure:
    """Public spending per year (MXN million): by instrument for one run, totals for several."""
    data = []
    if len(runs) == 1:
        df = runs[0][1]
        parts = [c for c in df.columns if c.startswith("spend_") and c.endswith("_mxn")]
        parts = parts or ["public_spending_mxn"]
        data = [{"type": "bar", "x": list(df["year"]), "y": list(df[c] / 1e6),
                 "name": _money_label(lang, c, labels)} for c in parts]
    else:
        data = [_line(df["year"], df["public_spending_mxn"] / 1e6, name,
                      line={"color": RUN_COLOURS[k % 3], "width": 3})
                for k, (name, df) in enumerate(runs)]
    return {"data": data + _marker_trace(lang, changes),
            "layout": _layout(lang, t(lang, "chart_spending"), big, barmode="stack",
                              ytitle=t(lang, "mxn_millions"), changes=changes)}


def budgets(df, lang: str, changes=(), big=False, labels: dict | None = None) -> Figure | None:
    """Programme budgets left (MXN million), where the scenario's instruments have budgets."""
    cols = [c for c in df.columns if "budget" in c]
    if not cols:
        return None
    data = [_line(df["year"], df[c] / 1e6, _money_label(lang, c, labels)) for c in cols]
    return {"data": data + _marker_trace(lang, changes),
            "layout": _layout(lang, t(lang, "chart_budget"), big, ytitle=t(lang, "mxn_millions"),
                              changes=changes)}


def loans(df, lang: str, changes=(), big=False) -> Figure:
    data = [_line(df["year"], df[col], t(lang, col))
            for col in ("loans_approved", "loans_declined", "loans_active")]
    return {"data": data + _marker_trace(lang, changes),
            "layout": _layout(lang, t(lang, "chart_loans"), big, changes=changes)}


def network(sample, lang: str, big=False) -> Figure:
    """The sampled peer network: links in light grey, firms coloured by the cleanest
    technology they run."""
    colours = [CATEGORY_COLOURS[c] for c in sample.categories]
    data = [
        {"type": "scatter", "mode": "lines", "x": sample.edge_x, "y": sample.edge_y,
         "hoverinfo": "skip", "showlegend": False, "line": {"color": "#cfd8dc", "width": 0.7}},
        {"type": "scatter", "mode": "markers", "x": list(sample.x), "y": list(sample.y),
         "showlegend": False, "hoverinfo": "skip",
         "marker": {"color": colours, "size": 13 if big else 9,
                    "line": {"width": 0.5, "color": "#37474f"}}},
    ]
    # legend-only entries: one per category, so the colours are named in the page's language
    data += [{"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": t(lang, c),
              "marker": {"color": colour, "size": 10}} for c, colour in CATEGORY_COLOURS.items()]
    lay = _layout(lang, t(lang, "chart_network"), big, height=400)
    lay["xaxis"] = {"visible": False}
    lay["yaxis"] = {"visible": False}
    return {"data": data, "layout": lay}


def _money_label(lang: str, col: str, labels: dict | None = None) -> str:
    """spend_<instrument>_mxn and budget_left_<instrument>_mxn are named by the instrument's
    label (controls.instrument_labels) where the scenario gives one."""
    key = col.removesuffix("_mxn").removeprefix("spend_").removeprefix("budget_left_")
    if labels and key in labels:
        return labels[key]
    return t(lang, key) if key in i18n.MESSAGES else key.replace("_", " ")
