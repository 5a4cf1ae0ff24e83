"""A sweep report's pictures and page: emission fan charts per preset, cost-effectiveness
compared, sensitivity bars (matplotlib, Agg, PNG) and one self-contained HTML file that embeds
them as base64."""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

FAN_METRICS = [("pm25_t", "PM2.5, t/year"), ("co2_wtw_t", "CO2 well-to-wheel, t/year"),
               ("share_zev", "zero-emission share")]


KEY_OUTCOMES = ["total_pm25_t", "total_co2_wtw_t", "end_share_zev",
                "total_public_spending_mxn"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_all(data: pd.DataFrame, tables: dict[str, pd.DataFrame], meta: dict,
             target: Path) -> list[Path]:
    out = []
    for metric, label in FAN_METRICS:
        if metric in data:
            out.append(fan_chart(data, metric, label, target / f"fan_{metric}.png"))
    ce = tables.get("cost_effectiveness")
    if ce is not None and not ce.empty:
        out.append(cost_chart(ce, meta["baseline"], target / "cost_effectiveness.png"))
    sens = tables.get("sensitivity")
    if sens is not None and not sens.empty and \
            (sens["parameter"].notna() & sens["outcome"].isin(KEY_OUTCOMES)).any():
        out.append(sensitivity_chart(sens, meta["method"], target / "sensitivity.png"))
    return out


def fan_chart(data: pd.DataFrame, metric: str, label: str, path: Path) -> Path:
    """Median and 5-95% / 25-75% bands across runs, one panel per preset, shared y axis."""
    plt = _plt()
    presets = sorted(data["preset"].unique())
    cols = min(len(presets), 3)
    rows = -(-len(presets) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), sharey=True,
                             squeeze=False)
    full = data[data["months"] == 12] if (data["months"] == 12).any() else data
    for ax, preset in zip(axes.flat, presets, strict=False):
        g = full[full["preset"] == preset].groupby("year")[metric]
        q = g.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
        years = q.index.to_numpy()
        ax.fill_between(years, q[0.05], q[0.95], alpha=0.2, color="C0", label="5-95%")
        ax.fill_between(years, q[0.25], q[0.75], alpha=0.35, color="C0", label="25-75%")
        ax.plot(years, q[0.5], color="C0", label="median")
        ax.set_title(f"{preset} ({g.size().max()} runs)", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(presets):]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(label)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(label)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def cost_chart(ce: pd.DataFrame, baseline: str, path: Path) -> Path:
    """PM2.5 avoided (with its 5-95% band) and extra public spending, per preset."""
    plt = _plt()
    ce = ce[ce["preset"] != baseline]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 0.5 * max(len(ce), 2) + 1.8))
    y = np.arange(len(ce))
    if "pm25_t_avoided_mean" in ce:
        err = np.vstack([ce["pm25_t_avoided_mean"] - ce["pm25_t_avoided_p5"],
                         ce["pm25_t_avoided_p95"] - ce["pm25_t_avoided_mean"]])
        a1.barh(y, ce["pm25_t_avoided_mean"], xerr=np.clip(err, 0, None), color="C2")
    a1.set_yticks(y, ce["preset"])
    a1.set_xlabel(f"PM2.5 avoided over the run vs {baseline}, t")
    if "extra_spending_mxn_mean" in ce:
        a2.barh(y, ce["extra_spending_mxn_mean"] / 1e6, color="C1")
        for yi, v in zip(y, ce.get("mxn_per_t_pm25_t", []), strict=False):
            if np.isfinite(v):
                a2.annotate(f"{v / 1e6:,.1f} M MXN/t", (0, yi), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=8)
    a2.set_yticks(y, [""] * len(y))
    a2.set_xlabel("extra public spending, M MXN (label: per t PM2.5 avoided)")
    for ax in (a1, a2):
        ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sensitivity_chart(sens: pd.DataFrame, method: str, path: Path) -> Path:
    """Bars per parameter for each preset x outcome: total Sobol index (with its interval),
    Morris mu*, or Spearman rho."""
    plt = _plt()
    value, conf = {"sobol": ("ST", "ST_conf"), "morris": ("mu_star", "mu_star_conf")}.get(
        method, ("spearman_rho", None))
    sens = sens[sens["parameter"].notna() & sens["outcome"].isin(KEY_OUTCOMES)]
    panels = list(sens.groupby(["preset", "outcome"], sort=True))
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, ((preset, outcome), grp) in zip(axes.flat, panels, strict=False):
        y = np.arange(len(grp))
        xerr = grp[conf].to_numpy(dtype=float) if conf else None
        ax.barh(y, grp[value].to_numpy(dtype=float), xerr=xerr, color="C4")
        if method == "sobol":
            ax.plot(grp["S1"].to_numpy(dtype=float), y, "k|", markersize=12, label="S1")
        ax.set_yticks(y, grp["parameter"])
        ax.set_title(f"{preset}: {outcome}", fontsize=8)
        ax.grid(alpha=0.3, axis="x")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle({"sobol": "Sobol total index ST (bars, 95% interval) and S1 (ticks)",
                  "morris": "Morris mu* (95% interval)"}.get(method, "Spearman rank correlation"))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _table(frame: pd.DataFrame, max_rows: int = 200) -> str:
    if frame is None or frame.empty:
        return "<p><em>nothing to show</em></p>"
    shown = frame.head(max_rows)
    more = f"<p>{len(frame) - max_rows} more rows in the CSV.</p>" if len(frame) > max_rows \
        else ""
    return shown.to_html(index=False, float_format=lambda v: f"{v:,.4g}", border=0,
                         classes="t") + more


def html_report(meta: dict, manifest: pd.DataFrame, tables: dict[str, pd.DataFrame],
                pngs: list[Path], path: Path) -> Path:
    status = manifest["status"].value_counts().to_dict() if "status" in manifest else {}
    failed = manifest[manifest.get("status") == "failed"] if "status" in manifest else None
    imgs = "".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{html.escape(p.stem)}'
        f"</figcaption></figure>" for p in pngs)
    summary = tables["summary"]
    last = summary[summary["year"] == summary.groupby(["preset", "metric"])["year"]
                   .transform("max")]
    errors = "" if failed is None or failed.empty else (
        "<h2>Failed runs</h2>" + _table(failed[["run_id", "preset", "point", "seed", "error"]]))
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>fleetsim sweep {html.escape(meta['name'])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table.t{{border-collapse:collapse;font-size:12px}} table.t td,table.t th{{padding:2px 8px;
border-bottom:1px solid #ddd;text-align:right}} img{{max-width:100%}}</style></head><body>
<h1>Sweep <code>{html.escape(meta['name'])}</code></h1>
<p>{html.escape(meta['spec'].get('description') or '')}</p>
<p>{meta['runs']} runs over {len(meta['presets'])} presets and {meta['points']} design points
({meta['method']} design) and {len(meta['seeds'])} seeds; outputs {meta['outputs']};
status {html.escape(str(status))}; fleetsim {html.escape(str(meta['version']))};
report made {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Baseline: {html.escape(meta['baseline'])}.</p>
<h2>Charts</h2>{imgs}
<h2>Last simulated year: mean and 5-95% band per preset</h2>{_table(last)}
<h2>Cost-effectiveness against {html.escape(meta['baseline'])}</h2>
{_table(tables['cost_effectiveness'])}
<h2>Sensitivity ({meta['method']})</h2>{_table(tables['sensitivity'])}
{errors}
<p>Every year's table is in summary.csv; each run's outcomes in outcomes.csv.</p>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
    return path


def calibration(table: pd.DataFrame, path: Path) -> Path:
    """A calibration's fit: per target, observed values with their bands (bars) against the
    accepted runs' median and 5-95% range (dots and lines); held-out years hollow."""
    plt = _plt()
    names = list(dict.fromkeys(table["target"]))
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        t = table[table["target"] == name]
        x = t["year"].to_numpy()
        ax.errorbar(x - 0.08, t["observed"], yerr=[t["observed"] - t["low"],
                                                   t["high"] - t["observed"]],
                    fmt="s", color="black", capsize=4, label="observed, band")
        for held, face in ((False, "tab:blue"), (True, "white")):
            s = t[t["held_out"] == held]
            ax.errorbar(s["year"] + 0.08, s["sim_median"],
                        yerr=[s["sim_median"] - s["sim_p5"], s["sim_p95"] - s["sim_median"]],
                        fmt="o", color="tab:blue", mfc=face, capsize=3,
                        label="simulated, held out" if held else "simulated, fitted")
        ax.set_title(f"{name} ({t['unit'].iloc[0]})", fontsize=9)
        ax.set_xticks(sorted(set(x)))
        ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
        ax.tick_params(labelsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
