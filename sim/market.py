"""Market prices and supply: what a vehicle is worth by age and standard, what used imports
arrive under the import rule in force, and how fast demand grows."""

from __future__ import annotations

import numpy as np

from fleetsim.scenarios import Scenario
from fleetsim.scenarios.schema import ImportRule
from fleetsim.scenarios.schema_base import at_year

from .technology import TechTables, YearTables


class Valuer:
    """Value of a vehicle: its technology's new price (or, for an engine no longer sold, the
    class's reference technology) times a factor for its engine standard, times the share of
    it the vehicle keeps at its age; never below the scrap value. The share falls by a
    declining balance towards a plateau (used-truck values level off late in life, DATA.md):
    plateau + (1 - plateau) * keep ** age. A seller gets the value less the dealer's margin."""

    def __init__(self, spec: Scenario, tables: TechTables):
        self.keep = spec.market.resale_value_retained_per_year.value
        self.plateau = spec.market.resale_value_plateau_share.value
        self.dealer_margin = spec.market.dealer_margin_share.value
        self.factor = np.array([spec.used_market.technology_value_factor[t]
                                for t in tables.tech_names])
        self.scrap = np.array([c.economics.scrap_value_mxn for c in spec.classes.values()])
        self.ref = tables.tech_code[spec.market.used_price_reference_technology]

    def base_price(self, year: YearTables) -> np.ndarray:
        """[tech, class] new price, the reference technology's where a tech is not sold."""
        p = year.price_mxn
        return np.where(np.isnan(p), p[self.ref][None, :], p)

    def kept_share(self, age_years) -> np.ndarray:
        """Share of the new price a vehicle keeps at this age (before its engine's factor)."""
        return self.plateau + (1.0 - self.plateau) * self.keep ** np.asarray(age_years, float)

    def value(self, year: YearTables, tech, vclass, age_years) -> np.ndarray:
        """The market price of a used vehicle (what a buyer pays a dealer)."""
        base = self.base_price(year)[tech, vclass]
        v = base * self.kept_share(age_years) * self.factor[tech]
        return np.maximum(v, self.scrap[vclass])

    def seller_gets(self, market_value: np.ndarray) -> np.ndarray:
        """What a seller is paid for a vehicle the market prices at `market_value`."""
        return market_value * (1.0 - self.dealer_margin)


def import_technology_by_model_year(spec: Scenario, tables: TechTables,
                                    model_year: np.ndarray) -> np.ndarray:
    """Engine technology of a used import from its model year (US standards by model year)."""
    table = spec.market.used_imports.technology_by_model_year
    starts = np.array(sorted(table))
    codes = np.array([tables.tech_code[table[y]] for y in starts], np.int8)
    idx = np.searchsorted(starts, model_year, side="right") - 1
    return codes[np.clip(idx, 0, None)]


class ImportSupply:
    """Used imports on offer: ages from the scenario's distribution restricted to what the
    import rule in force admits (age and engine standard)."""

    def __init__(self, spec: Scenario, tables: TechTables):
        self.spec, self.tables = spec, tables
        bins = spec.market.used_imports.age.bins()
        # one-year steps: ages 0..max, each with its share of the bin it falls in
        self.ages = np.arange(max(b[1] for b in bins) + 1)
        share = np.zeros(len(self.ages))
        for lo, hi, s in bins:
            share[lo : hi + 1] += s / (hi - lo + 1)
        self.share = share

    def offer(self, now_month: int, rule: ImportRule | None) -> tuple[np.ndarray, np.ndarray]:
        """(ages in years, probabilities) of imports admitted this month; empty if none."""
        year = now_month // 12
        tech = import_technology_by_model_year(self.spec, self.tables, year - self.ages)
        ok = self.share > 0
        if rule is not None:
            if rule.max_age_years is not None:
                ok &= self.ages <= rule.max_age_years
            if rule.allowed_technologies is not None:
                ok &= np.isin(tech, [self.tables.tech_code[t] for t in rule.allowed_technologies])
        p = np.where(ok, self.share, 0.0)
        if p.sum() == 0:
            return self.ages[:0], p[:0]
        return self.ages[ok], p[ok] / p.sum()

    def typical(self, now_month: int, rule: ImportRule | None) -> tuple[float, int] | None:
        """Mean age of admitted imports and the technology of that age; None if none."""
        ages, p = self.offer(now_month, rule)
        if len(ages) == 0:
            return None
        mean_age = float((ages * p).sum())
        tech = import_technology_by_model_year(self.spec, self.tables,
                                               np.array([now_month // 12 - round(mean_age)]))
        return mean_age, int(tech[0])

    def draw(self, n: int, now_month: int, rule: ImportRule | None,
             u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ages (months) and technologies of n admitted imports, from two uniforms each
        (u[0] the age, u[1] the month of birth; sim.draws keys them by the buyer)."""
        ages, p = self.offer(now_month, rule)
        cum = np.cumsum(p)
        years = ages[np.minimum(np.searchsorted(cum / cum[-1], u[0, :n], side="right"),
                                len(ages) - 1)]
        # born in model year (this year - age) no later in it than this month of the year, so
        # the age in whole years and the engine are the ones the offer admitted
        model_year = now_month // 12 - years
        birth = model_year * 12 + np.minimum((u[1, :n] * (now_month % 12 + 1)).astype(np.int64),
                                             now_month % 12)
        tech = import_technology_by_model_year(self.spec, self.tables, model_year)
        return (now_month - birth).astype(np.int32), tech


def monthly_growth(spec: Scenario, year: float) -> float:
    """Monthly growth rate of the demand for vehicles from the scenario's yearly rate."""
    g = at_year(spec.market.growth_per_year.value, year)
    return (1.0 + g) ** (1.0 / 12.0) - 1.0
