"""The vehicle market: what new vehicles are sold and what used imports arrive.

New-sales shares come from the scenario's mix for the class and year; a new-vehicle standard in
force moves the shares of technologies it bars to the ones it allows, in proportion (to its
fallback technology if the mix has none of them). A used import draws an age and takes the
engine standard of its model year; one barred by the import rule in force is bought new instead.
"""

from __future__ import annotations

import numpy as np

from fleetsim.scenarios import Scenario
from fleetsim.scenarios.schema import ImportRule, NewVehicleStandard

from .technology import TechTables, at_year
from .turnover import draw_ages_months


def sales_shares(spec: Scenario, tables: TechTables, vclass: str, year: float,
                 standard: NewVehicleStandard | None) -> np.ndarray:
    """Shares of new sales by engine technology code for this class and year."""
    points = spec.market.sales_mix.by_class[vclass]
    shares = np.array([at_year({y: p.get(t, 0.0) for y, p in points.items()}, year)
                       for t in tables.tech_names])
    if standard is not None:
        allowed = np.isin(tables.tech_names, standard.allowed_technologies)
        if shares[allowed].sum() > 0:
            shares = np.where(allowed, shares, 0.0)
        else:
            shares = np.zeros_like(shares)
            shares[tables.tech_code[standard.fallback_technology]] = 1.0
    return shares / shares.sum()


def draw_new_technologies(shares: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(shares)
    cum[-1] = 1.0
    return np.searchsorted(cum, rng.random(n), side="right").astype(np.int8)


def import_technology_by_model_year(spec: Scenario, tables: TechTables,
                                    model_year: np.ndarray) -> np.ndarray:
    """Engine technology of a used import from its model year (US standards by model year)."""
    table = spec.market.used_imports.technology_by_model_year
    starts = np.array(sorted(table))
    codes = np.array([tables.tech_code[table[y]] for y in starts], np.int8)
    idx = np.searchsorted(starts, model_year, side="right") - 1
    return codes[np.clip(idx, 0, None)]


def draw_imports(spec: Scenario, tables: TechTables, n: int, now_month: int,
                 rule: ImportRule | None, rng: np.random.Generator):
    """Ages (months) and technologies of n import candidates, and which the rule admits."""
    age = draw_ages_months(spec.market.used_imports.age.bins(), n, rng)
    tech = import_technology_by_model_year(spec, tables, (now_month - age) // 12)
    ok = np.ones(n, bool)
    if rule is not None:
        if rule.max_age_years is not None:
            ok &= age < (rule.max_age_years + 1) * 12
        if rule.allowed_technologies is not None:
            ok &= np.isin(tech, [tables.tech_code[t] for t in rule.allowed_technologies])
    return age, tech, ok


def used_price(spec: Scenario, year_price_ref: np.ndarray, vclass: np.ndarray,
               age_years: np.ndarray) -> np.ndarray:
    """Price of a used vehicle: the class's reference new price, declining by a share a year."""
    keep = spec.market.resale_value_retained_per_year.value
    return year_price_ref[vclass] * keep ** age_years


def monthly_growth(spec: Scenario, year: float) -> float:
    """Monthly growth rate of the stock from the scenario's yearly rate."""
    g = at_year(spec.market.growth_per_year.value, year)
    return (1.0 + g) ** (1.0 / 12.0) - 1.0
