"""A preset against its baseline, same seed and months: emissions avoided over the run, the
public cost per tonne avoided, deaths avoided and the money of it all (sim.health); over
several paired seeds, each figure's mean and 90% interval."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fleetsim.scenarios import ScenarioError

from .health import health_and_money
from .metrics import EMISSIONS
from .model import FleetModel

POLLUTANTS = {"pm25_t": "PM2.5 (exhaust and wear)", "pm25_exhaust_t": "PM2.5 exhaust",
              "pm10_t": "PM10 (exhaust and wear)", "pm25_urban_t": "PM2.5 on urban km",
              "bc_t": "black carbon", "nox_t": "NOx", "co2_ttw_t": "CO2 tank-to-wheel",
              "co2_wtw_t": "CO2 well-to-wheel"}
assert set(POLLUTANTS) == set(EMISSIONS), "every emission column needs its label"
HEALTH_AND_MONEY = {"deaths_avoided": "premature deaths avoided (PM2.5)",
                    "health_benefit_mxn": "health benefit, MXN (discounted)",
                    "climate_benefit_mxn": "climate benefit, MXN (discounted)",
                    "private_cost_change_mxn": "operators' private costs, change, MXN",
                    "public_cost_change_mxn": "public spending, change, MXN (discounted)",
                    "net_benefit_mxn": "net benefit, MXN (discounted)"}
INTERVAL = (5.0, 95.0)  # percentiles of the seeds' values: a 90% interval


def check_comparable(preset: FleetModel, baseline: FleetModel) -> None:
    """Both runs must start from the same fleet: same regions, classes, start and size."""
    a, b = preset.spec, baseline.spec
    same = (list(a.regions) == list(b.regions) and list(a.classes) == list(b.classes)
            and a.simulation.start_year == b.simulation.start_year
            and all(a.classes[c].initial_stock_units.value == b.classes[c].initial_stock_units.value
                    for c in a.classes))
    if not same:
        units_a = sum(c.initial_stock_units.value for c in a.classes.values())
        units_b = sum(c.initial_stock_units.value for c in b.classes.values())
        raise ScenarioError([
            f"--compare: got '{b.name}' ({units_b:,.0f} vehicles in {', '.join(b.regions)}), "
            f"expected a scenario on the same fleet as '{a.name}' ({units_a:,.0f} vehicles in "
            f"{', '.join(a.regions)}); the national presets compare with baseline_national"])


def avoided_and_cost(pol: pd.DataFrame, base: pd.DataFrame) -> tuple[dict[str, float], float]:
    """Tonnes of each pollutant both tables have avoided (baseline less policy, summed over the
    rows given) and the extra public spending (MXN) that bought them."""
    avoided = {k: float(base[k].sum() - pol[k].sum()) for k in EMISSIONS
               if k in pol and k in base}
    return avoided, float(pol["public_spending_mxn"].sum() - base["public_spending_mxn"].sum())


def compare(preset: FleetModel, baseline: FleetModel) -> dict[str, Any]:
    """Emissions avoided (baseline less preset, tonnes over the months both ran), extra public
    spending and its cost per tonne avoided of each pollutant (the whole cost set against each
    pollutant in turn, as cost-effectiveness studies do; None where nothing was avoided)."""
    a, b = preset.results(), baseline.results()
    if len(a) != len(b):
        raise ValueError(f"compare: got runs of {len(a)} and {len(b)} months, expected the same")
    avoided_t, spent = avoided_and_cost(a, b)
    revenue = float(a["fuel_tax_revenue_mxn"].sum()) - float(b["fuel_tax_revenue_mxn"].sum())
    out: dict[str, Any] = {
        "baseline": baseline.spec.name,
        "seed": preset.seed,
        "months": len(a),
        "public_spending_mxn": spent,
        "fuel_tax_revenue_mxn": revenue,
        "avoided_t": avoided_t,
        "public_cost_mxn_per_t_avoided": {
            k: spent / v if v > 0 else None for k, v in avoided_t.items()},
        "health_and_money": health_and_money(a, b, preset.spec.health),
    }
    return out


def figures(cmp: dict[str, Any]) -> dict[str, float]:
    """A comparison's numbers, flat: "avoided_t.pm25_t", "health_and_money.deaths_avoided"...
    (costs per tonne are left out: a ratio is undefined where a seed avoided nothing)."""
    out = {k: float(cmp[k]) for k in ("public_spending_mxn", "fuel_tax_revenue_mxn")}
    for group in ("avoided_t", "health_and_money"):
        out.update({f"{group}.{k}": float(v) for k, v in cmp[group].items()})
    return out


def intervals(comparisons: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each figure over paired seeds: mean, and the 5th and 95th percentiles of the seeds'
    values (a 90% interval of what one seed gives; equal to the value with one seed)."""
    if not comparisons:
        raise ValueError("intervals: got no comparisons, expected at least one seed's")
    flat = [figures(c) for c in comparisons]
    out = {}
    for key in flat[0]:
        v = np.array([f[key] for f in flat])
        lo, hi = np.percentile(v, INTERVAL)
        out[key] = {"mean": float(v.mean()), "low": float(lo), "high": float(hi)}
    return out
