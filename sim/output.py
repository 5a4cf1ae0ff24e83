"""A run's files: the monthly table (Parquet or CSV) and a JSON summary, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from .metrics import EMISSIONS, yearly
from .model import FleetModel


def fleetsim_version() -> str:
    try:
        return version("fleetsim")
    except PackageNotFoundError:
        return "unknown"


def summary(model: FleetModel, wall_time_s: float | None = None) -> dict[str, Any]:
    """Headline figures of a run: fleet and shares at start and end, emissions in the first and
    last simulated years (tonnes per year; a partial year says how many months it has)."""
    res = model.results()
    if res.empty:
        raise ValueError("summary: got a model with no simulated months, expected a run")
    per_year = yearly(res).set_index("year")
    first, last = per_year.iloc[0], per_year.iloc[-1]
    start_vehicles = float(model.initial_counts.sum() / model.sample_fraction)

    def year_block(y: int, row: pd.Series) -> dict[str, Any]:
        return {"year": int(y), "months": int(row["months"]),
                **{k: float(row[k]) for k in EMISSIONS}}

    return {
        "scenario": model.spec.name,
        "seed": model.seed,
        "version": fleetsim_version(),
        "sample_fraction": model.sample_fraction,
        "start": res["date"].iloc[0],
        "end": res["date"].iloc[-1],
        "months": len(res),
        "wall_time_s": None if wall_time_s is None else round(wall_time_s, 3),
        "headline": {
            "vehicles_start": start_vehicles,
            "vehicles_end": float(res["vehicles"].iloc[-1]),
            "share_soot_free_end": float(res["share_soot_free"].iloc[-1]),
            "share_zev_end": float(res["share_zev"].iloc[-1]),
            "mean_age_years_end": float(res["mean_age_years"].iloc[-1]),
            "emissions_first_year": year_block(per_year.index[0], first),
            "emissions_last_year": year_block(per_year.index[-1], last),
            "emissions_total_t": {k: float(res[k].sum()) for k in EMISSIONS},
        },
        "policy": policy_summary(model, res),
    }


def policy_summary(model: FleetModel, res: pd.DataFrame) -> dict[str, Any]:
    """Public money per instrument over the run, and what is left of each budget."""
    reg = model.regulator
    per = {}
    for i, (kind, x) in enumerate(reg.instruments):
        entry: dict[str, Any] = {"kind": kind, "active_months": int(res[f"active_{x.name}"].sum())}
        if f"spend_{x.name}_mxn" in res:
            budget = getattr(x, "budget_mxn", None)
            left = reg.budget_left(i) / model.sample_fraction
            granted = res.groupby("year")[f"granted_{x.name}"].sum()
            entry.update({
                "spent_mxn": float(res[f"spend_{x.name}_mxn"].sum()),
                "budget_mxn": budget,
                "budget_left_mxn": None if budget is None else float(left),
                "granted": float(granted.sum()),
                "granted_by_year": {int(y): float(v) for y, v in granted.items() if v},
            })
            if getattr(x, "units_per_year", None) is not None:
                # units a year against what was granted: undersubscription shows here
                entry["units_per_year"] = x.units_per_year
        per[x.name] = entry
    return {
        "public_spending_mxn": float(res["public_spending_mxn"].sum()),
        "fuel_tax_revenue_mxn": float(res["fuel_tax_revenue_mxn"].sum()),
        "instruments": per,
        "adaptive_fired": {r: f"{m // 12:04d}-{m % 12 + 1:02d}" for r, m in reg.fired.items()},
    }


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: a reader never sees a
    partial file under the final name, even if the process dies mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_run(model: FleetModel, out_dir: str | Path, fmt: str = "parquet",
              wall_time_s: float | None = None,
              extra: dict[str, Any] | None = None) -> list[Path]:
    """DIR/timeseries.parquet (or .csv) and DIR/summary.json (with `extra` entries, e.g. a
    comparison); returns the paths written."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format: got '{fmt}', expected parquet or csv")
    out = Path(out_dir)
    res = model.results()
    table = out / f"timeseries.{fmt}"
    if fmt == "parquet":
        atomic_write(table, lambda p: res.to_parquet(p, index=False))
    else:
        atomic_write(table, lambda p: res.to_csv(p, index=False))
    info = {**summary(model, wall_time_s), **(extra or {})}
    path = out / "summary.json"
    atomic_write(path, lambda p: p.write_text(json.dumps(info, indent=2) + "\n"))
    return [table, path]
