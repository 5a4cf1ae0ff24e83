"""Reading a sweep: summary tables, run outcomes, cost-effectiveness against the baseline preset
and sensitivity indices (Sobol with confidence intervals, Morris mu* and sigma, or rank
correlations for grids and Latin hypercubes). `build_report` writes them as CSV, charts as PNG
and one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fleetsim.sim.metrics import EMISSIONS
from fleetsim.sim.output import (
    OutError,
    check_out_folder,
    publish_folder,
    recover_run,
    writable_staging,
)

from .runner import is_stock
from .spec import SpecError
from .storage import SweepDir

HEADLINE = ["pm25_t", "bc_t", "nox_t", "co2_wtw_t", "share_soot_free", "share_zev", "vehicles",
            "public_spending_mxn"]
# Public money in today's results; a `public_spending_mxn` column (policy instruments) wins.
PUBLIC_PARTS = ["subsidy_mxn", "scrap_bonus_mxn"]
ID_COLS = ("run_id", "point", "seed", "preset", "year", "months", "date", "month")
REPORT_SUFFIXES = (".csv", ".png", ".html")


def open_sweep(folder: str | Path) -> SweepDir:
    sd = SweepDir(folder)
    if not sd.root.exists():
        raise SpecError([f"{folder}: got no such folder, expected the output folder of "
                         "`fleetsim sweep`"])
    if not sd.root.is_dir():
        raise SpecError([f"{folder}: got a file, expected the output folder of "
                         "`fleetsim sweep`"])
    if not sd.exists():
        raise SpecError([f"{folder}: got a folder without sweep.json, expected the output "
                         "folder of `fleetsim sweep`"])
    return sd


def yearly_frame(sd: SweepDir) -> pd.DataFrame:
    """Every ok run's rows, one per run and year (monthly outputs are summed or taken at the
    year's end as in yearly summaries), with `public_spending_mxn` filled in if absent."""
    data = sd.read_data()
    if data.empty:
        return data
    if "date" in data:  # monthly outputs
        params = [c for c in data if c.startswith("param_")]
        keys = ["preset", "run_id", "point", "seed", *params, "year"]
        values = [c for c in data if c not in keys and c not in ID_COLS
                  and pd.api.types.is_numeric_dtype(data[c])]
        g = data.groupby(keys, sort=False, dropna=False)
        stocks = [c for c in values if is_stock(c)]
        flows = [c for c in values if not is_stock(c)]
        parts = [g.size().rename("months"), g[flows].sum(), g[stocks].last()]
        data = pd.concat(parts, axis=1)[["months", *values]].reset_index()
    if "public_spending_mxn" not in data:
        parts = [c for c in PUBLIC_PARTS if c in data]
        if parts:
            data["public_spending_mxn"] = data[parts].sum(axis=1)
    return data


def summary_table(data: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Mean and 5-95% band across runs, per preset, metric and year."""
    metrics = [m for m in (metrics or HEADLINE) if m in data]
    long = data.melt(id_vars=["preset", "year"], value_vars=metrics, var_name="metric")
    g = long.groupby(["preset", "metric", "year"], sort=True)["value"]
    out = pd.DataFrame({"mean": g.mean(), "p5": g.quantile(0.05), "p50": g.median(),
                        "p95": g.quantile(0.95), "runs": g.size()})
    return out.reset_index()


def outcomes(data: pd.DataFrame) -> pd.DataFrame:
    """One row per run: emissions and public spending summed over the run, shares at its end."""
    params = [c for c in data if c.startswith("param_")]
    keys = ["preset", "run_id", "point", "seed", *params]
    g = data.sort_values(["run_id", "year"]).groupby(keys, sort=True, dropna=False)
    sums = [c for c in [*EMISSIONS, "public_spending_mxn"] if c in data]
    out = g[sums].sum().add_prefix("total_")
    for c in ("share_soot_free", "share_zev"):
        if c in data:
            out[f"end_{c}"] = g[c].last()
    return out.reset_index()


def cost_effectiveness(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each preset against the baseline on the same parameter point and seed: tonnes avoided,
    extra public spending, and MXN per tonne avoided (extra spending / tonnes avoided, both as
    means over the paired runs)."""
    if baseline not in set(runs["preset"]):
        return pd.DataFrame()
    value_cols = [c for c in runs if c.startswith(("total_", "end_"))]
    base_runs = runs[runs["preset"] == baseline]
    # a baseline no parameter applies to runs at point 0 only: pair on the seed alone
    keys = ["seed"] if base_runs["point"].nunique() == 1 else ["point", "seed"]
    base = base_runs.set_index(keys)[value_cols]
    rows = []
    for preset, grp in runs.groupby("preset", sort=True):
        paired = grp.set_index(keys)[value_cols].join(base.add_suffix("_base"), how="inner")
        if paired.empty:
            continue
        row = {"preset": preset, "pairs": len(paired)}
        for pol in ("pm25_t", "bc_t", "co2_wtw_t"):
            if f"total_{pol}" not in paired:
                continue
            avoided = paired[f"total_{pol}_base"] - paired[f"total_{pol}"]
            row[f"{pol}_avoided_mean"] = avoided.mean()
            row[f"{pol}_avoided_p5"] = avoided.quantile(0.05)
            row[f"{pol}_avoided_p95"] = avoided.quantile(0.95)
        if "total_public_spending_mxn" in paired:
            extra = paired["total_public_spending_mxn"] - paired["total_public_spending_mxn_base"]
            row["public_spending_mxn_mean"] = paired["total_public_spending_mxn"].mean()
            row["extra_spending_mxn_mean"] = extra.mean()
            for pol in ("pm25_t", "co2_wtw_t"):
                avoided = row.get(f"{pol}_avoided_mean", np.nan)
                row[f"mxn_per_t_{pol}"] = (extra.mean() / avoided
                                           if avoided and avoided > 0 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def sensitivity(runs: pd.DataFrame, sd: SweepDir) -> pd.DataFrame:
    """Per preset and outcome, the design's indices: Sobol S1/ST (95% intervals), Morris mu*
    and sigma, or Spearman rank correlations for a grid or Latin hypercube. Outcomes are
    averaged over seeds at each point first. A preset with missing points (failed runs) gets
    no Sobol or Morris indices: the estimators need every point of the design."""
    meta = sd.read_meta()
    design = sd.read_design()
    names = list(design.columns)
    if not names:
        return pd.DataFrame()
    method = meta["method"]
    out_cols = [c for c in runs if c.startswith(("total_", "end_"))]
    rows = []
    for preset, grp in runs.groupby("preset", sort=True):
        if len(design) > 1 and grp["point"].nunique() == 1:
            rows.append({"preset": preset, "outcome": None, "parameter": None,
                         "note": "no parameter applies to this preset"})
            continue
        by_point = grp.groupby("point")[out_cols].mean().reindex(design.index)
        complete = not by_point.isna().any().any()
        for col in out_cols:
            y = by_point[col].to_numpy(dtype=float)
            if method in ("sobol", "morris") and not complete:
                rows.append({"preset": preset, "outcome": col, "parameter": None,
                             "note": f"{int(np.isnan(y).sum())} points missing; no indices"})
                continue
            if np.nanstd(y) == 0:
                rows.append({"preset": preset, "outcome": col, "parameter": None,
                             "note": "outcome does not vary"})
                continue
            rows.extend({"preset": preset, "outcome": col, **r}
                        for r in _indices(method, meta, design, y))
    return pd.DataFrame(rows)


def _indices(method: str, meta: dict, design: pd.DataFrame, y: np.ndarray) -> list[dict]:
    names = list(design.columns)
    if method == "sobol":
        from SALib.analyze import sobol

        problem = meta["problem"]
        si = sobol.analyze(problem, y, calc_second_order=meta["spec"]["design"]["second_order"],
                           seed=meta["spec"]["design"]["seed"])
        return [{"parameter": n, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                 "ST": si["ST"][i], "ST_conf": si["ST_conf"][i]} for i, n in enumerate(names)]
    if method == "morris":
        from SALib.analyze import morris

        problem = {k: v for k, v in meta["problem"].items() if k != "dists"}
        si = morris.analyze(problem, design.to_numpy(dtype=float), y,
                            num_levels=meta["spec"]["design"]["levels"],
                            seed=meta["spec"]["design"]["seed"])
        return [{"parameter": n, "mu_star": si["mu_star"][i],
                 "mu_star_conf": si["mu_star_conf"][i], "sigma": si["sigma"][i]}
                for i, n in enumerate(names)]
    ok = ~np.isnan(y)
    ranks_y = pd.Series(y[ok]).rank()
    out = []
    for n in names:
        x = pd.Series(design[n].to_numpy(dtype=float)[ok]).rank()
        rho = float(np.corrcoef(x, ranks_y)[0, 1]) if x.std() > 0 else np.nan
        out.append({"parameter": n, "spearman_rho": rho})
    return out


def completeness(folder: str | Path) -> dict:
    """How much of the sweep is there: planned runs, ok runs with their file, failed runs,
    runs to retry and missing runs; `partial` when not every run is finished."""
    sd = open_sweep(folder)
    planned = int(sd.read_meta()["runs"])
    recs = sd.records()
    ok = sum(1 for r in recs.values() if r["status"] == "ok" and sd.file_ok(r))
    failed = sum(1 for r in recs.values() if r["status"] == "failed")
    retry = sum(1 for r in recs.values() if r["status"] == "retry")
    missing = max(planned - ok - failed - retry, 0)
    text = (f"{ok + failed} of {planned} runs finished ({ok} ok, {failed} failed), "
            f"{missing} missing, {retry} to retry")
    return {"planned": planned, "ok": ok, "failed": failed, "retry": retry,
            "missing": missing, "partial": bool(missing or retry), "text": text}


def report_target(sd: SweepDir, out: str | Path | None) -> Path:
    """Where the report goes: a new folder, or one holding only an earlier report."""
    target = (Path(out) if out else sd.root / "report").resolve()
    check_out_folder(target)
    recover_run(target)  # staging folders of reports killed while writing
    if target.is_dir():
        other = sorted(p.name for p in target.iterdir() if p.suffix not in REPORT_SUFFIXES)
        if other:
            raise OutError(f"--out: got {target}, which holds other files "
                           f"({', '.join(other[:3])}), expected a new folder or an earlier "
                           "report's folder")
    return target


def build_report(folder: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write DIR/report/: summary.csv, outcomes.csv, cost_effectiveness.csv, sensitivity.csv,
    completeness.csv, the PNG charts and report.html (last in the returned list). Everything
    is read and computed first, then written into a staging folder published whole: a damaged
    sweep or a failed write leaves no half-written report."""
    sd = open_sweep(folder)
    meta = sd.read_meta()
    target = report_target(sd, out)
    manifest = sd.read_manifest()
    data = yearly_frame(sd)
    if data.empty:
        raise SpecError([f"{folder}: got no finished runs, expected at least one ok run"])
    state = completeness(folder)
    tables = {"summary": summary_table(data), "outcomes": outcomes(data)}
    tables["cost_effectiveness"] = cost_effectiveness(tables["outcomes"], meta["baseline"])
    tables["sensitivity"] = sensitivity(tables["outcomes"], sd)
    staging = writable_staging(target)
    try:
        names = write_report(staging, data, tables, meta, manifest, state)
        publish_folder(staging, target)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / n for n in names]


def write_report(folder: Path, data: pd.DataFrame, tables: dict, meta: dict,
                 manifest: pd.DataFrame, state: dict) -> list[str]:
    """The report's files in `folder`; returns their names, report.html last."""
    from . import charts

    names = []
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
        names.append(f"{name}.csv")
    status = {k: v for k, v in state.items() if k != "text"}
    pd.DataFrame([status]).to_csv(folder / "completeness.csv", index=False)
    names.append("completeness.csv")
    names.extend(p.name for p in charts.draw_all(data, tables, meta, folder))
    html = charts.html_report(meta, manifest, tables, [folder / n for n in names
                                                       if n.endswith(".png")],
                              folder / "report.html")
    if state["partial"]:  # say it where the reader looks first
        text = html.read_text(encoding="utf-8")
        banner = (f'<p style="background:#fde2e1;padding:.6em"><b>Partial sweep:</b> '
                  f'{state["text"]}. This report covers the finished runs only.</p>')
        html.write_text(text.replace("<body>", "<body>" + banner, 1), encoding="utf-8")
    names.append(html.name)
    return names
