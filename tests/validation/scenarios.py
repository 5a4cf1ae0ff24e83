"""Scenario variants the validation compares: NOM-044 as ICCT (2014) modelled it (soot-free
new heavy vehicles from 2018 against EPA 2004 / Euro IV forever) and as it came (2025)."""

from __future__ import annotations

from fleetsim.scenarios import Scenario, load

HEAVY = ["C2", "C3", "T3"]
ALLOWED_OTHERS = ["natural_gas", "battery_electric"]


def with_heavy_rule(spec: Scenario, diesel: str, from_model_year: int | None) -> Scenario:
    """New heavy trucks' only diesel is `diesel` from 2025 (the run's start); with
    `from_model_year`, the stock's trucks of that model year on are of it too."""
    reg = spec.regulation
    rule = reg.new_vehicle_standards[0].model_copy(
        update={"allowed_technologies": [diesel, *ALLOWED_OTHERS], "classes": HEAVY})
    update = {"regulation": reg.model_copy(update={"new_vehicle_standards": [rule]})}
    if from_model_year is not None:
        stock = spec.initial_stock
        table = {y: mix for y, mix in stock.technology_by_model_year.items()
                 if y < from_model_year}
        table[from_model_year] = {diesel: 1.0}
        update["initial_stock"] = stock.model_copy(update={"technology_by_model_year": table})
    return spec.model_copy(update=update)


def icct_pair(sample_fraction: float) -> tuple[Scenario, Scenario]:
    """(soot-free from 2018, EPA 2004 forever) on the national baseline."""
    spec = load("baseline_national", {"simulation.sample_fraction": sample_fraction})
    return (with_heavy_rule(spec, "diesel_epa2010", 2018),
            with_heavy_rule(spec, "diesel_epa2004", 2018))


def actual_pair(sample_fraction: float) -> tuple[Scenario, Scenario]:
    """(NOM-044 from 2025 as it came, EPA 2004 forever from 2025 instead)."""
    spec = load("baseline_national", {"simulation.sample_fraction": sample_fraction})
    return spec, with_heavy_rule(spec, "diesel_epa2004", None)
