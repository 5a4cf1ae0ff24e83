"""FleetModel: the world, one month per step.

The month's flow (see DESIGN.md): the regulator updates the rules in force; vehicles whose end of
life has come retire; the market replaces them and grows the stock with new sales and used
imports; each January every vehicle's yearly use and emission rates are recomputed for its new
age; the month's emissions and costs are counted and recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from fleetsim.agents import Operator, Regulator, build_operators
from fleetsim.scenarios import SIZE_BANDS, Scenario, load

from . import market
from .emissions import RATES, annual_km, compute_rates, rate_names
from .registry import ORIGIN_NAMES, VehicleRegistry
from .stock import class_counts, initial_columns, usage_columns
from .technology import TechTables
from .turnover import death_months


class ModelRangeError(ValueError):
    """A run asked to go past the scenario's last year."""


class FleetModel(mesa.Model):
    """A fleet of vehicles, their owners and the regulator, stepped monthly.

    Args:
        scenario: a built-in scenario name, a path to a YAML file, or a loaded Scenario.
        rng: seed or numpy Generator (Mesa's convention); same scenario and seed, same numbers.
        sample_fraction: simulate this share of the fleet and scale results back (default: the
            scenario's own).
        overrides: dotted-path overrides, e.g. {"market.growth_per_year": 0.02}.

    The validated scenario is `model.spec` (Mesa reserves `model.scenario` for its own use).
    """

    def __init__(
        self,
        scenario: str | Path | Scenario = "mexico_city",
        rng: Any = None,
        sample_fraction: float | None = None,
        overrides: dict[str, Any] | None = None,
    ):
        super().__init__(rng=rng)
        self.seed = int(rng) if isinstance(rng, int | np.integer) else None
        self.spec = spec = load(scenario, overrides)
        f = spec.simulation.sample_fraction if sample_fraction is None else sample_fraction
        if not 0 < f <= 1:
            raise ValueError(f"sample_fraction: got {f}, expected a number in (0, 1]")
        self.sample_fraction = float(f)
        self.tables = TechTables(spec)
        self.class_names = self.tables.class_names
        self.start_month = spec.simulation.start_year * 12
        self.last_month = spec.simulation.max_end_year * 12 + 11
        self.month = self.start_month - 1  # the last month simulated so far
        self._rate_names = rate_names(self.tables)

        counts = class_counts(spec, self.sample_fraction)
        self.operator_arrays = ops = build_operators(spec, int(counts.sum()),
                                                     self.sample_fraction, self.rng)
        self.operators = [Operator(self, i) for i in range(len(ops))]
        self.regulator = Regulator(self, spec)

        self.registry = VehicleRegistry(len(self._rate_names), int(counts.sum() * 1.3) + 64)
        cols = initial_columns(spec, self.tables, ops, counts, self.start_month,
                               self.sample_fraction, self.rng)
        rows = self.registry.add(**cols)
        n_cls, n_rep = len(self.class_names), len(self.tables.reported_names)
        self.counts = np.zeros((n_cls, n_rep), np.int64)  # alive vehicles by class, technology
        self._birth_sum = 0  # sum of birth months of alive vehicles, for the mean age
        self._totals = np.zeros(len(self._rate_names))  # fleet's yearly rates, summed
        self._enter(rows)
        self.initial_counts = self.counts.copy()
        self._growth_carry = np.zeros(n_cls)
        self._import_share = np.array([getattr(spec.market.used_imports
                                               .share_of_additions_by_band, b)
                                       for b in SIZE_BANDS])
        self._row: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={k: _reporter(k) for k in self.metric_names()})

    # ---- time -------------------------------------------------------------------------------
    @property
    def date(self) -> date:
        """First day of the last month simulated (the month before the start, initially)."""
        return date(self.month // 12, self.month % 12 + 1, 1)

    def months_left(self) -> int:
        return self.last_month - self.month

    def step(self) -> None:
        m = self.month + 1
        if m > self.last_month:
            raise ModelRangeError(
                f"years: the run reached December {self.spec.simulation.max_end_year}, "
                f"the scenario's max_end_year; expected no further steps")
        self.month = m
        year, mon = divmod(m, 12)
        self.regulator.update(date(year, mon + 1, 1))
        if mon == 0 and m != self.start_month:
            self._new_year(m)
        flows = self._turn_over(m)
        self._record(flows)
        if m == self.last_month:
            self.running = False

    def run(self, years: float | None = None,
            progress: Callable[[int], None] | None = None) -> FleetModel:
        """Step `years` years (default: the scenario's default_years); `progress(1)` per month."""
        years = self.spec.simulation.default_years if years is None else years
        months = int(round(years * 12))
        if months < 1 or months > self.months_left():
            max_years = self.months_left() / 12
            raise ModelRangeError(
                f"years: got {years}, expected a number of years from 1/12 to {max_years:g} "
                f"(the scenario ends with {self.spec.simulation.max_end_year})")
        for _ in range(months):
            self.step()
            if progress is not None:
                progress(1)
        return self

    # ---- the month's flows ------------------------------------------------------------------
    def _new_year(self, m: int) -> None:
        """Drop retired rows and recompute every vehicle's yearly rates at its new age."""
        reg = self.registry
        reg.compact(keep_rates=False)
        reg.rates[:, : reg.n] = compute_rates(reg, slice(0, reg.n), m, self.tables,
                                              self.tables.for_year(m // 12), self.spec)
        self._totals = reg.rates[:, : reg.n].sum(axis=1)

    def _turn_over(self, m: int) -> dict[str, np.ndarray]:
        reg, spec, n_cls = self.registry, self.spec, len(self.class_names)
        stock_before = self.counts.sum(axis=1)
        gone = reg.due(m)
        gone_class = reg.cols["vclass"][gone]
        retired = np.bincount(gone_class, minlength=n_cls)
        self._leave(gone)

        year_frac = m / 12.0
        growth = market.monthly_growth(spec, year_frac)
        owners, classes = [], []
        for c in range(n_cls):
            want = retired[c] + stock_before[c] * growth + self._growth_carry[c]
            n = max(0, int(np.floor(want)))
            self._growth_carry[c] = want - n
            replace = reg.cols["owner"][gone[gone_class == c]]
            if n <= len(replace):
                chosen = replace[self.rng.permutation(len(replace))[:n]]
            else:
                extra = self._sample_owners(c, n - len(replace))
                chosen = np.concatenate([replace, extra])
            owners.append(chosen)
            classes.append(np.full(len(chosen), c, np.int8))
        owner = np.concatenate(owners).astype(np.int32)
        vclass = np.concatenate(classes)
        added = self._buy(m, owner, vclass)
        return {"retired": retired, **added}

    def _sample_owners(self, c: int, k: int) -> np.ndarray:
        """Owners of k vehicles drawn uniformly among the alive vehicles of class c: growth goes
        to firms in proportion to their fleets of that class."""
        reg = self.registry
        alive, vclass, owner = reg.cols["alive"], reg.cols["vclass"], reg.cols["owner"]
        got: list[np.ndarray] = []
        need = k
        for _ in range(20):  # rejection sampling: rows are mostly alive and classes not rare
            cand = self.rng.integers(0, reg.n, size=max(4 * need, 64))
            cand = cand[alive[cand] & (vclass[cand] == c)][:need]
            got.append(owner[cand])
            need -= len(cand)
            if need == 0:
                return np.concatenate(got)
        pool = np.flatnonzero(alive[: reg.n] & (vclass[: reg.n] == c))
        if len(pool) == 0:  # no vehicle of the class left: any firm may buy
            got.append(self.rng.integers(0, len(self.operator_arrays), size=need))
        else:
            got.append(owner[self.rng.choice(pool, size=need)])
        return np.concatenate(got).astype(np.int32)

    def _buy(self, m: int, owner: np.ndarray, vclass: np.ndarray) -> dict[str, np.ndarray]:
        """Vehicles bought this month: used imports for the share of buyers that import (by size
        band), if the import rule admits what they find; new vehicles for everyone else."""
        spec, tables, rng = self.spec, self.tables, self.rng
        n, n_cls = len(owner), len(self.class_names)
        band = self.operator_arrays.band[owner]
        wants_import = rng.random(n) < self._import_share[band]
        cand = np.flatnonzero(wants_import)
        age_cand, tech_cand, admitted = market.draw_imports(
            spec, tables, len(cand), m, self.regulator.import_rule, rng)
        is_import = np.zeros(n, bool)
        is_import[cand[admitted]] = True
        age = np.zeros(n, np.int32)
        age[cand[admitted]] = age_cand[admitted]
        tech = np.zeros(n, np.int8)
        tech[cand[admitted]] = tech_cand[admitted]
        year = m // 12
        for c, cname in enumerate(self.class_names):
            rows = np.flatnonzero((vclass == c) & ~is_import)
            if len(rows):
                shares = market.sales_shares(spec, tables, cname, m / 12.0,
                                             self.regulator.standard_for(cname))
                tech[rows] = market.draw_new_technologies(shares, len(rows), rng)
        birth = (m - age).astype(np.int32)
        death = np.empty(n, np.int32)
        for c, cls in enumerate(spec.classes.values()):
            rows = np.flatnonzero(vclass == c)
            death[rows] = death_months(birth[rows], m, cls.survival.lambda_years,
                                       cls.survival.k, rng)
        rows = self.registry.add(
            owner=owner, vclass=vclass, tech=tech, retrofit=np.zeros(n, np.int8),
            region=self.operator_arrays.region[owner],
            origin=np.where(is_import, 2, 1).astype(np.int8),
            birth_month=birth, death_month=death,
            **usage_columns(spec, vclass, band, rng))
        self._enter(rows)

        prices = tables.for_year(year)
        ref = prices.price_mxn[tables.tech_code[spec.market.used_price_reference_technology]]
        new_price = prices.price_mxn[tech.astype(np.intp), vclass.astype(np.intp)]
        used_price = market.used_price(spec, ref, vclass.astype(np.intp), age / 12.0)
        return {
            "entered_new": np.bincount(vclass[~is_import], minlength=n_cls),
            "entered_import": np.bincount(vclass[is_import], minlength=n_cls),
            "import_barred": np.array([np.count_nonzero(~admitted)]),
            "purchase_new_mxn": np.array([new_price[~is_import].sum()]),
            "purchase_import_mxn": np.array([used_price[is_import].sum()]),
        }

    def _enter(self, rows: np.ndarray) -> None:
        reg = self.registry
        m = max(self.month, self.start_month)
        reg.rates[:, rows] = compute_rates(reg, rows, m, self.tables,
                                           self.tables.for_year(m // 12), self.spec)
        self._totals += reg.rates[:, rows].sum(axis=1)
        rep = self.tables.reported(reg.cols["tech"][rows], reg.cols["retrofit"][rows])
        np.add.at(self.counts, (reg.cols["vclass"][rows], rep), 1)
        self._birth_sum += int(reg.cols["birth_month"][rows].astype(np.int64).sum())

    def _leave(self, rows: np.ndarray) -> None:
        reg = self.registry
        self._totals -= reg.rates[:, rows].sum(axis=1)
        rep = self.tables.reported(reg.cols["tech"][rows], reg.cols["retrofit"][rows])
        np.subtract.at(self.counts, (reg.cols["vclass"][rows], rep), 1)
        self._birth_sum -= int(reg.cols["birth_month"][rows].astype(np.int64).sum())
        reg.retire(rows)

    # ---- results ----------------------------------------------------------------------------
    def metric_names(self) -> list[str]:
        t = self.tables
        fuels = [f"{f}_{self.spec.fuels[f].unit.lower()}" for f in t.fuel_names]
        return [
            "date", "year", "month", "vehicles",
            *(f"vehicles_{n}" for n in t.reported_names),
            *(f"vehicles_{c}" for c in self.class_names),
            "entered_new", "entered_import", "retired", "import_barred",
            *(f"entered_{c}" for c in self.class_names),
            *(f"retired_{c}" for c in self.class_names),
            "share_soot_free", "share_zev", "mean_age_years",
            "pm25_t", "bc_t", "nox_t", "co2_ttw_t", "co2_wtw_t", "vehicle_km", *fuels,
            "energy_cost_mxn", "maintenance_mxn", "purchase_new_mxn", "purchase_import_mxn",
        ]

    def _record(self, flows: dict[str, np.ndarray]) -> None:
        s = 1.0 / self.sample_fraction
        by_tech = self.counts.sum(axis=0)
        n = by_tech.sum()
        t = self.tables
        month_rates = dict(zip(self._rate_names, self._totals * s / 12.0, strict=True))
        row: dict[str, Any] = {
            "date": f"{self.month // 12:04d}-{self.month % 12 + 1:02d}",
            "year": self.month // 12,
            "month": self.month % 12 + 1,
            "vehicles": n * s,
        }
        row.update({f"vehicles_{k}": v * s for k, v in zip(t.reported_names, by_tech,
                                                           strict=True)})
        row.update({f"vehicles_{c}": v * s for c, v in zip(self.class_names,
                                                           self.counts.sum(axis=1),
                                                           strict=True)})
        entered = flows["entered_new"] + flows["entered_import"]
        row["entered_new"] = flows["entered_new"].sum() * s
        row["entered_import"] = flows["entered_import"].sum() * s
        row["retired"] = flows["retired"].sum() * s
        row["import_barred"] = flows["import_barred"][0] * s
        row.update({f"entered_{c}": v * s for c, v in zip(self.class_names, entered,
                                                          strict=True)})
        row.update({f"retired_{c}": v * s for c, v in zip(self.class_names, flows["retired"],
                                                          strict=True)})
        row["share_soot_free"] = by_tech[t.soot_free_reported].sum() / n if n else 0.0
        row["share_zev"] = by_tech[t.zev_reported].sum() / n if n else 0.0
        row["mean_age_years"] = (self.month - self._birth_sum / n) / 12.0 if n else 0.0
        row["pm25_t"] = month_rates["pm25_g"] / 1e6
        row["bc_t"] = month_rates["bc_g"] / 1e6
        row["nox_t"] = month_rates["nox_g"] / 1e6
        row["co2_ttw_t"] = month_rates["co2_ttw_kg"] / 1e3
        row["co2_wtw_t"] = month_rates["co2_wtw_kg"] / 1e3
        row["vehicle_km"] = month_rates["km"]
        for f in t.fuel_names:
            row[f"{f}_{self.spec.fuels[f].unit.lower()}"] = month_rates[f"energy_{f}"]
        row["energy_cost_mxn"] = month_rates["energy_cost_mxn"]
        row["maintenance_mxn"] = month_rates["maintenance_mxn"]
        row["purchase_new_mxn"] = flows["purchase_new_mxn"][0] * s
        row["purchase_import_mxn"] = flows["purchase_import_mxn"][0] * s
        self._row = row
        self.datacollector.collect(self)

    def results(self) -> pd.DataFrame:
        """One row per simulated month; counts and amounts scaled to the whole fleet."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return df[self.metric_names()] if len(df) else pd.DataFrame(columns=self.metric_names())

    def fleet_sizes(self) -> np.ndarray:
        """Alive vehicles per operator (simulated rows, not scaled)."""
        reg = self.registry
        alive = reg.cols["alive"][: reg.n]
        return np.bincount(reg.cols["owner"][: reg.n][alive], minlength=len(self.operators))

    def fleet(self) -> pd.DataFrame:
        """The vehicle registry now, one row per simulated vehicle, in readable columns."""
        reg, t, spec = self.registry, self.tables, self.spec
        rows = np.flatnonzero(reg.cols["alive"][: reg.n])
        raw = reg.frame(rows)
        age = (max(self.month, self.start_month) - raw["birth_month"].to_numpy()) / 12.0
        rep = t.reported(raw["tech"].to_numpy(), raw["retrofit"].to_numpy())
        return pd.DataFrame({
            "owner": raw["owner"],
            "owner_unique_id": np.array([a.unique_id for a in self.operators])[raw["owner"]],
            "size_band": pd.Categorical.from_codes(
                self.operator_arrays.band[raw["owner"]], SIZE_BANDS),
            "vehicle_class": pd.Categorical.from_codes(raw["vclass"], self.class_names),
            "technology": pd.Categorical.from_codes(raw["tech"], t.tech_names),
            "retrofit": pd.Categorical.from_codes(raw["retrofit"].astype(int) - 1,
                                                  t.retrofit_names or ["none"]),
            "reported_technology": pd.Categorical.from_codes(rep, t.reported_names),
            "model_year": raw["birth_month"] // 12,
            "age_years": age,
            "annual_km": annual_km(raw["km_new"].to_numpy(np.float64), np.floor(age), spec),
            "region": pd.Categorical.from_codes(raw["region"], list(spec.regions)),
            "origin": pd.Categorical.from_codes(raw["origin"], list(ORIGIN_NAMES)),
            "retirement_year": raw["death_month"] // 12,
            "pm25_g_per_year": reg.rates[RATES.index("pm25_g"), rows],
            "co2_ttw_kg_per_year": reg.rates[RATES.index("co2_ttw_kg"), rows],
        })


def _reporter(name: str) -> Callable[[FleetModel], Any]:
    return lambda model: model._row[name]
