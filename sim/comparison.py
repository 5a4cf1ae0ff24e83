"""A preset against its baseline, same seed and months: emissions avoided over the run and the
public cost per tonne avoided."""

from __future__ import annotations

from typing import Any

import pandas as pd

from fleetsim.scenarios import ScenarioError

from .metrics import EMISSIONS
from .model import FleetModel

POLLUTANTS = {"pm25_t": "PM2.5", "bc_t": "black carbon", "nox_t": "NOx",
              "co2_ttw_t": "CO2 tank-to-wheel", "co2_wtw_t": "CO2 well-to-wheel"}


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
    }
    return out
