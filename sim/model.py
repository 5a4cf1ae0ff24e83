"""FleetModel: the world, one month per step.

The month's flow (see DESIGN.md): the regulator updates the rules in force; loans are paid and
firms' cash moves (a firm whose cash stays negative defaults); unsold used trucks past their
time go to scrap; operators decide for the vehicles under review (their yearly review, or the
end of a vehicle's life) and for the purchases a growing market asks of them; the used market
clears and its prices move; each January every vehicle's yearly rates are recomputed for its
new age; the month's emissions, money and flows are recorded.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from fleetsim.agents import (
    Lender,
    LoanBook,
    Operator,
    Regulator,
    build_network,
    build_operators,
)
from fleetsim.agents.decisions import Context, Market, Reviews
from fleetsim.agents.pricing import TcoGrids
from fleetsim.agents.regulator import ActiveVehicles, World
from fleetsim.scenarios import SIZE_BANDS, Scenario, ScenarioError, load
from fleetsim.scenarios.schema_limits import size_problems

from . import cashflow, market, metrics
from .carry_out import carry_out
from .draws import Draws, Purpose
from .emissions import Earnings, compute_rates, km_factor, rate_names
from .fleet import Fleet
from .growth import GrowthDemand
from .register import Register
from .registry import ACTIVE
from .stock import class_counts, initial_columns, usage_columns
from .technology import TechTables
from .turnover import death_months
from .used_market import UsedMarket


class ModelRangeError(ValueError):
    """A run asked to go past the scenario's last year."""


class FleetModel(mesa.Model):
    """A fleet of vehicles, the firms that own them, their lenders and the regulator, stepped
    monthly.

    Args:
        scenario: a built-in scenario name, a path to a YAML file, or a loaded Scenario.
        rng: seed or numpy Generator (Mesa's convention); same scenario and seed, same numbers.
            Every draw of the run is keyed by the seed (sim.draws), so a preset and its
            baseline with the same seed share their draws (common random numbers).
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
        self.draws = Draws(self.seed if self.seed is not None
                           else int(self.rng.integers(2**63 - 1)))
        self.spec = spec = load(scenario, overrides)
        f = spec.simulation.sample_fraction if sample_fraction is None else sample_fraction
        if not 0 < f <= 1:
            raise ScenarioError([f"sample_fraction: got {f}, expected a number in (0, 1]"])
        if f != spec.simulation.sample_fraction and size_problems(spec, f):  # before allocating
            raise ScenarioError(size_problems(spec, f))
        self.sample_fraction = float(f)
        self.tables = t = TechTables(spec)
        self.class_names = t.class_names
        self.start_month = spec.simulation.start_year * 12
        self.last_month = spec.simulation.max_end_year * 12 + 11
        self.month = self.start_month - 1  # the last month simulated so far
        self.rate_names = rate_names(t)
        self._rate = {name: i for i, name in enumerate(self.rate_names)}

        counts = class_counts(spec, self.sample_fraction)
        self.operator_arrays = ops = build_operators(spec, int(counts.sum()),
                                                     self.sample_fraction,
                                                     self.draws.generator(Purpose.OPERATORS))
        ops.start_exposure(self.start_month)
        self.operators = [Operator(self, i) for i in range(len(ops))]
        self.regulator = Regulator(self, spec, len(ops), self.sample_fraction)
        self.lenders = [Lender(self, name, ls, i, self.sample_fraction)
                        for i, (name, ls) in enumerate(spec.credit.lenders.items())]
        self.loans = LoanBook()
        self.peers = build_network(spec, ops.band, ops.region,
                                   self.draws.generator(Purpose.PEERS))
        self._name_fleets()
        self._join_partnerships()
        self.valuer = market.Valuer(spec, t)
        self.tco_grids = TcoGrids()
        self.imports = market.ImportSupply(spec, t)
        self.used_market = UsedMarket(spec, len(t.class_names), len(t.tech_names))
        self.earnings = Earnings(spec, self.regulator.effects.access)
        self._demo_weight = np.zeros((len(ops), len(t.family_names)))
        self.adopted = np.zeros((len(ops), len(t.family_names)), bool)  # ever ran the family

        self.vehicles = Fleet(t, ops.band, len(t.family_names), len(self.rate_names),
                              int(counts.sum() * 1.3) + 64, self.vehicle_rates)
        self.flows = metrics.Flows()
        self.register = Register(spec.registration.deregistration_lag_years.value)
        cols = initial_columns(spec, t, ops, counts, self.start_month, self.sample_fraction,
                               self.draws)
        self.vehicles.add(cols, count=False)
        self.initial_counts = self.vehicles.counts.copy()
        self.growth = GrowthDemand(len(t.class_names))
        self._fleet_values()
        months = np.array([spec.decisions.bands[b].cash_start_months for b in SIZE_BANDS])
        ops.cash = months[ops.band] * np.maximum(self.owner_margin(), 0.0) / 12.0
        self._row: dict[str, float] = {}
        self.policy_changes: list[tuple[int, str, Any]] = []  # (month index, path, value)
        _check_metrics(spec, self.metric_names())
        self.datacollector = mesa.DataCollector(
            model_reporters={k: _reporter(k) for k in self.metric_names()})

    # ---- set-up ------------------------------------------------------------------------------
    def _name_fleets(self) -> None:
        """Give each named fleet to the largest unnamed firm of its band (and region)."""
        ops = self.operator_arrays
        regions = list(self.spec.regions)
        for nf in self.spec.named_fleets:
            ok = ops.band == SIZE_BANDS.index(nf.band)
            if nf.region:
                ok &= ops.region == regions.index(nf.region)
            ok[list(ops.names)] = False
            if not ok.any():
                raise ScenarioError([f"named_fleets: got '{nf.name}' ({nf.band}), expected an "
                                     f"unnamed {nf.band} firm to give the name to; none left"])
            idx = int(np.flatnonzero(ok)[np.argmax(ops.initial_size[ok])])
            ops.names[idx] = nf.name

    def _join_partnerships(self) -> None:
        """Each partnership signs up a share of large fleets; the firms hauling for them can
        take its terms."""
        ops = self.operator_arrays
        large = np.flatnonzero(ops.band == SIZE_BANDS.index("large"))
        for i, p in enumerate(self.spec.partnerships):
            u = self.draws.uniform(Purpose.PARTNERS, large, 0, p.name)
            joined = large[u < p.large_fleet_share]
            hauliers = np.isin(self.peers.hauls_for, joined)
            ops.partnership[hauliers] = i
            ops.partner_of[hauliers] = self.peers.hauls_for[hauliers]

    # ---- time -------------------------------------------------------------------------------
    @property
    def date(self) -> date:
        """First day of the last month simulated (the month before the start, initially)."""
        return date(self.month // 12, self.month % 12 + 1, 1)

    def months_left(self) -> int:
        return self.last_month - self.month

    def step(self) -> None:
        """One month: the regulator's and the lenders' steps, the firms' money, the operators
        deciding as one set, markets clearing, the fleet ageing and emitting, the month
        recorded."""
        today = self._next_month()
        m = self.month
        self.agents_by_type[Regulator].do("step", today, self.world())
        self.agents_by_type[Lender].do("step", today)
        self._rules_take_effect(m)
        self._place_demonstrations(m)
        cashflow.month(self, m)
        self._expire_listings(m)
        reviews = self._reviews(m)
        if len(reviews):
            used_supply = self.used_market.stats(self.registry, m)
            decision = self.operator_arrays.step(reviews, self._context(m, used_supply),
                                                 self.draws.rows(reviews.key, m))
            carry_out(self, reviews, decision, used_supply[0], m)  # markets clear
        self._record()
        if m == self.last_month:
            self.running = False

    def _next_month(self) -> date:
        m = self.month + 1
        if m > self.last_month:
            raise ModelRangeError(
                f"years: the run reached December {self.spec.simulation.max_end_year}, "
                f"the scenario's max_end_year; expected no further steps")
        self.month = m
        self.flows = metrics.Flows()
        self.vehicles.new_month()
        return self.date

    def world(self) -> World:
        """What the regulator sees: last month's results and, when it asks, the fleet."""
        return World(draws=self.draws, ops=self.operator_arrays, results=self._row,
                     vehicles=self._active_vehicles)

    def _active_vehicles(self, m: int) -> ActiveVehicles:
        """The active fleet as green-freight programmes weigh it, ages at month m."""
        reg = self.registry
        rows = self.active_rows()
        vclass = reg.cols["vclass"][rows].astype(np.intp)
        return ActiveVehicles(
            owner=reg.cols["owner"][rows], age_years=(m - reg.cols["birth_month"][rows]) / 12.0,
            vclass=vclass, region=reg.cols["region"][rows].astype(np.intp),
            rep=self.tables.reported(reg.cols["tech"][rows], reg.cols["retrofit"][rows]),
            pm25_g=reg.rates[self.rate_index("pm25_g"), rows],
            margin_mxn=(self.earnings.margin_per_km[vclass]
                        * reg.rates[self.rate_index("km"), rows]))

    def _rules_take_effect(self, m: int) -> None:
        """Access limits, fuel taxes and partnerships change what vehicles earn and cost; each
        January every vehicle's rates are recomputed for its new age."""
        self.earnings.access = self.regulator.effects.access
        partnerships_changed = self.earnings.set_partnerships_running(
            self._partnerships_running())
        if m % 12 == 0 and m != self.start_month:
            self.vehicles.new_year()
            self._fleet_values()
        elif self.regulator.rates_changed or partnerships_changed:
            self.vehicles.recompute_rates()

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

    # ---- the fleet's books --------------------------------------------------------------------
    def year_tables(self, m: int | None = None):
        """The year's technology tables, with fuel prices as operators pay them (taxes)."""
        m = max(self.month, self.start_month) if m is None else m
        year = self.tables.for_year(m // 12)
        surcharge = self.regulator.effects.fuel_surcharge_mxn
        if not surcharge.any():
            return year
        return dataclasses.replace(year, fuel_price_mxn=year.fuel_price_mxn + surcharge)

    def _partnerships_running(self) -> np.ndarray:
        """[partnership] in force this month: every month its dates touch."""
        return np.array([p.start <= _month_end(self.date) and p.end >= self.date
                         for p in self.spec.partnerships], bool)

    @property
    def registry(self):
        """The vehicle registry (read it; the Fleet, `model.vehicles`, alone writes it)."""
        return self.vehicles.registry

    def active_rows(self) -> np.ndarray:
        return self.vehicles.active_rows()

    def rate_index(self, name: str) -> int:
        return self._rate[name]

    def vehicle_rates(self, rows) -> np.ndarray:
        """[rate, row] yearly rates of registry rows at this month's age, prices and rules."""
        m = max(self.month, self.start_month)
        return compute_rates(self.registry, rows, m, self.tables, self.year_tables(m),
                             self.spec, self.earnings)

    def _fleet_values(self) -> None:
        """What each firm's vehicles are worth: its collateral when it asks for a loan."""
        reg, t = self.registry, self.tables
        rows = self.vehicles.active_rows()
        m = max(self.month, self.start_month)
        value = self.valuer.value(t.for_year(m // 12), reg.cols["tech"][rows].astype(np.intp),
                                  reg.cols["vclass"][rows].astype(np.intp),
                                  (m - reg.cols["birth_month"][rows]) / 12.0)
        self.operator_arrays.fleet_value = np.bincount(
            reg.cols["owner"][rows], weights=value, minlength=len(self.operators))

    def owner_margin(self) -> np.ndarray:
        """Each firm's yearly operating margin from its active vehicles."""
        reg = self.registry
        return np.bincount(reg.cols["owner"][: reg.n], weights=reg.rates[self._rate["margin_mxn"],
                                                                         : reg.n],
                           minlength=len(self.operators))

    def uses(self) -> np.ndarray:
        """[operator, family] 1 where a firm has adopted the family (it runs, or once ran, a
        vehicle of it: an adopted technology stays familiar), more for demonstration fleets
        while they run it: what its neighbours see and what it knows."""
        running = self.vehicles.family_counts > 0
        self.adopted |= running
        return np.maximum(self.adopted, self._demo_weight * running)

    # ---- events ------------------------------------------------------------------------------
    def _place_demonstrations(self, m: int) -> None:
        t, spec = self.tables, self.spec
        names = {v: k for k, v in self.operator_arrays.names.items()}
        for i, d in enumerate(spec.demonstrations):
            if d.start.year * 12 + d.start.month - 1 != m:
                continue
            owner = names[d.fleet]
            n = max(1, int(round(d.units * self.sample_fraction)))
            c = t.class_code[d.vehicle_class]
            rows = self.add_vehicles(np.full(n, owner, np.int32), np.full(n, c, np.int8),
                                      np.full(n, t.tech_code[d.technology], np.int8),
                                      np.zeros(n, np.int32), origin=3,
                                      keys=self.draws.children((i << 40) + np.arange(n), m,
                                                               Purpose.DEMONSTRATION))
            self.flows.entered_demo += len(rows)
            fam = t.family_reported[t.tech_code[d.technology]]
            self._demo_weight[owner, fam] = spec.decisions.demonstration_weight

    def _expire_listings(self, m: int) -> None:
        rows = self.used_market.expiring(self.registry, m)
        self.vehicles.scrap_listings(rows)
        self.flows.used_expired += len(rows)

    def add_vehicles(self, owner, vclass, tech, age_months, origin: int, keys: np.ndarray,
                     km_new=None, partnership=None) -> np.ndarray:
        """New vehicles join the fleet this month, with their draws' keys (sim.draws): their
        end of life, use and review month drawn by key. Returns their rows."""
        spec, n = self.spec, len(owner)
        m, draws = self.month, self.draws
        life_u = draws.uniform(Purpose.LIFETIME, keys)
        birth = (m - age_months).astype(np.int32)
        death = np.empty(n, np.int32)
        for c, cls in enumerate(spec.classes.values()):
            sel = np.flatnonzero(vclass == c)
            death[sel] = death_months(birth[sel], m, cls.survival.lambda_years, cls.survival.k,
                                      life_u[sel])
        usage = usage_columns(spec, vclass, self.operator_arrays.band[owner],
                              self.usage_normals(keys))
        if km_new is not None:
            usage["km_new"] = km_new.astype(np.float32)
        return self.vehicles.add(dict(
            owner=owner, vclass=vclass, tech=tech, retrofit=np.zeros(n, np.int8),
            region=self.operator_arrays.region[owner], origin=np.full(n, origin, np.int8),
            birth_month=birth, death_month=death,
            review_month=draws.integers(Purpose.REVIEW, keys, 12).astype(np.int8), key=keys,
            partnership=(np.zeros(n, np.int8) if partnership is None
                         else partnership.astype(np.int8)), **usage))

    # ---- decisions ---------------------------------------------------------------------------
    def _reviews(self, m: int) -> Reviews:
        """Who decides this month: vehicles at their end of life (or sent out by a fleet rule),
        vehicles at their owner's yearly review, and the purchases a growing market asks."""
        reg, spec, t, ops = self.registry, self.spec, self.tables, self.operator_arrays
        state = reg.cols["state"][: reg.n]
        due = reg.due(m)
        eol_rows = due[state[due] == ACTIVE]
        review_rows = np.flatnonzero((state == ACTIVE)
                                     & (reg.cols["review_month"][: reg.n] == m % 12))
        review_rows = np.setdiff1d(review_rows, eol_rows, assume_unique=True)
        # a zero-emission fleet rule sends its legacy vehicles out at their review
        rule = self.regulator.effects.fleet_rule
        if rule.bound.any():
            forced = rule.forced_out(reg.cols["owner"][review_rows],
                                     reg.cols["vclass"][review_rows].astype(np.intp),
                                     (m - reg.cols["birth_month"][review_rows]) / 12.0,
                                     t.zev_reported[reg.cols["tech"][review_rows]])
            eol_rows = np.concatenate([eol_rows, review_rows[forced]])
            review_rows = review_rows[~forced]
            self.flows.forced_out += int(forced.sum())
        rows = np.concatenate([eol_rows, review_rows])
        g_owner, g_class, g_key = self.growth.purchases(self, m)
        n_rows, n_g = len(rows), len(g_owner)
        g_km = usage_columns(spec, g_class, ops.band[g_owner], self.usage_normals(g_key))["km_new"]
        return Reviews(
            row=np.concatenate([rows, np.full(n_g, -1)]),
            owner=np.concatenate([reg.cols["owner"][rows], g_owner]).astype(np.int64),
            vclass=np.concatenate([reg.cols["vclass"][rows], g_class]).astype(np.intp),
            tech=np.concatenate([reg.cols["tech"][rows], np.zeros(n_g, np.int8)]),
            retrofit=np.concatenate([reg.cols["retrofit"][rows], np.zeros(n_g, np.int8)]),
            age_years=np.concatenate([(m - reg.cols["birth_month"][rows]) / 12.0,
                                      np.zeros(n_g)]),
            km_new=np.concatenate([reg.cols["km_new"][rows], g_km]).astype(float),
            eol=np.concatenate([np.ones(len(eol_rows), bool),
                                np.zeros(len(review_rows) + n_g, bool)]),
            growth=np.concatenate([np.zeros(n_rows, bool), np.ones(n_g, bool)]),
            partnership=np.concatenate([reg.cols["partnership"][rows],
                                        np.zeros(n_g, np.int8)]).astype(np.int64),
            key=np.concatenate([reg.cols["key"][rows], g_key]),
        )

    def usage_normals(self, keys: np.ndarray) -> np.ndarray:
        """[3, vehicle] standard normals for sim.stock.usage_columns, by key."""
        return np.stack([self.draws.normal(Purpose.USAGE, keys, 0, s) for s in (0, 1, 2)])

    def _context(self, m: int, used_supply: tuple) -> Context:
        """What the operators are given to decide with this month."""
        spec = self.spec
        count, used_tech, used_age = used_supply
        uses = self.uses()
        return Context(
            spec=spec, tables=self.tables, year=self.year_tables(m), valuer=self.valuer,
            effects=self.regulator.effects, ops=self.operator_arrays, lenders=self.lenders,
            peers=self.peers, uses=uses,
            neighbour_share=self.peers.neighbour_share(uses, changed_since_last=True),
            market=Market(count, used_tech, used_age, self.used_market.multiplier,
                          self.imports.typical(m, self.regulator.import_rule),
                          spec.used_market.import_cost_share),
            partnership_running=self._partnerships_running(),
            km_share=partial(km_factor, spec=spec),
            ulsd=np.array([r.ulsd_available_from <= self.date for r in spec.regions.values()]),
            budget_fits=self.regulator.budget_fits,
            tco_grids=self.tco_grids,
            month=m,
        )

    # ---- policy mid-run -------------------------------------------------------------------------
    def update_policy(self, overrides: dict[str, Any]) -> None:
        """Change policy terms of a running model, e.g. {"policy.scrappage.0.bonus_mxn": 2e5}:
        they act from the next month on. Paths must be under `policy.` or `regulation.`;
        a bad value raises ScenarioError and leaves the model as it was."""
        outside = [k for k in overrides if not k.startswith(("policy.", "regulation."))]
        if outside:
            raise ScenarioError([f"{k}: got a path outside policy and regulation, expected "
                                 "one of them (the rest is fixed once a run has started)"
                                 for k in outside])
        spec = load(self.spec, overrides)
        _check_metrics(spec, self.metric_names())
        try:
            self.regulator.configure(spec)
        except ValueError as err:
            self.regulator.configure(self.spec)
            raise ScenarioError([str(err)]) from None
        self.spec = spec
        self.policy_changes.extend((self.month + 1, k, v) for k, v in overrides.items())

    # ---- results ----------------------------------------------------------------------------
    def metric_names(self) -> list[str]:
        return metrics.names(self)

    def _record(self) -> None:
        self.register.month_end(self.vehicles.scrapped, self.vehicles.scrapped_birth_sum)
        self._row = metrics.row(self)
        self.datacollector.collect(self)

    def result(self, name: str) -> Any:
        """One column of the last month's results row (the data collector's reporter)."""
        return self._row[name]

    def latest(self) -> dict[str, Any]:
        """The last month's results row (empty before the first step)."""
        return dict(self._row)

    def results(self) -> pd.DataFrame:
        """One row per simulated month; counts and amounts scaled to the whole fleet."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return df[self.metric_names()] if len(df) else pd.DataFrame(columns=self.metric_names())

    def fleet_sizes(self) -> np.ndarray:
        """Active vehicles per operator (simulated rows, not scaled)."""
        return self.vehicles.sizes()

    def fleet(self) -> pd.DataFrame:
        """The active vehicle registry now, one row per simulated vehicle, readable columns."""
        return metrics.fleet_frame(self)


def _check_metrics(spec: Scenario, names: list[str]) -> None:
    """An adaptive rule must watch a column the results have."""
    bad = [f"policy.adaptive.{i}.metric: got '{r.metric}', expected a results column such as "
           "share_soot_free, share_zev, pm25_t or bc_t"
           for i, r in enumerate(spec.policy.adaptive) if r.metric not in names]
    if bad:
        raise ScenarioError(bad)


def _month_end(first: date) -> date:
    return date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])


def _reporter(name: str) -> Callable[[FleetModel], Any]:
    return partial(FleetModel.result, name=name)  # mesa calls a partial with the model
