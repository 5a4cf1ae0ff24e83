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
from fleetsim.scenarios import SIZE_BANDS, Scenario, ScenarioError, load
from fleetsim.scenarios.schema_limits import size_problems

from . import cashflow, market, metrics
from .carry_out import carry_out
from .decisions import Context, Market, Reviews, decide
from .emissions import Earnings, compute_rates, rate_names
from .growth import growth_purchases
from .registry import ACTIVE, GONE, VehicleRegistry
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
            raise ScenarioError([f"sample_fraction: got {f}, expected a number in (0, 1]"])
        if f != spec.simulation.sample_fraction and size_problems(spec, f):  # before allocating
            raise ScenarioError(size_problems(spec, f))
        self.sample_fraction = float(f)
        self.tables = t = TechTables(spec)
        self.class_names = t.class_names
        self.start_month = spec.simulation.start_year * 12
        self.last_month = spec.simulation.max_end_year * 12 + 11
        self.month = self.start_month - 1  # the last month simulated so far
        self._rate_names = rate_names(t)
        self._rate = {name: i for i, name in enumerate(self._rate_names)}

        counts = class_counts(spec, self.sample_fraction)
        self.operator_arrays = ops = build_operators(spec, int(counts.sum()),
                                                     self.sample_fraction, self.rng)
        self.operators = [Operator(self, i) for i in range(len(ops))]
        self.regulator = Regulator(self, spec, len(ops), self.sample_fraction)
        self.lenders = [Lender(self, name, ls, i, self.sample_fraction)
                        for i, (name, ls) in enumerate(spec.credit.lenders.items())]
        self.loans = LoanBook()
        self.peers = build_network(spec, ops.band, ops.region, self.rng)
        self._name_fleets()
        self._join_partnerships()
        self.valuer = market.Valuer(spec, t)
        self.imports = market.ImportSupply(spec, t)
        self.used_market = UsedMarket(spec, len(t.class_names), len(t.tech_names))
        self.earnings = Earnings(spec, self.regulator.effects.access)
        self._demo_weight = np.zeros((len(ops), len(t.family_names)))
        # active vehicles per firm and technology family: who runs what, kept up to date
        self.family_counts = np.zeros((len(ops), len(t.family_names)), np.int32)

        self.registry = VehicleRegistry(len(self._rate_names), int(counts.sum() * 1.3) + 64)
        n_cls, n_rep = len(t.class_names), len(t.reported_names)
        self.counts = np.zeros((n_cls, n_rep), np.int64)  # active vehicles: class, technology
        self.band_counts = np.zeros((len(SIZE_BANDS), n_rep), np.int64)
        self._birth_sum = 0  # sum of birth months of active vehicles, for the mean age
        self._totals = np.zeros(len(self._rate_names))  # active fleet's yearly rates, summed
        self.flows = metrics.Flows(n_cls)
        cols = initial_columns(spec, t, ops, counts, self.start_month, self.sample_fraction,
                               self.rng)
        self._activate(self.registry.add(**cols), count=False)
        self.initial_counts = self.counts.copy()
        self._growth_carry = np.zeros(n_cls)
        self._fleet_values()
        months = np.array([spec.decisions.bands[b].cash_start_months for b in SIZE_BANDS])
        ops.cash = months[ops.band] * np.maximum(self._owner_margin(), 0.0) / 12.0
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
            joined = large[self.rng.random(len(large)) < p.large_fleet_share]
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
        m = self.month + 1
        if m > self.last_month:
            raise ModelRangeError(
                f"years: the run reached December {self.spec.simulation.max_end_year}, "
                f"the scenario's max_end_year; expected no further steps")
        self.month = m
        year, mon = divmod(m, 12)
        self.flows = metrics.Flows(len(self.class_names))
        self.regulator.update(date(year, mon + 1, 1), self)
        self.earnings.access = self.regulator.effects.access
        contracts_changed = self.earnings.set_partnerships_running(self._deals_running())
        if mon == 0:
            for lender in self.lenders:
                lender.new_year()
        if mon == 0 and m != self.start_month:
            self._new_year(m)
        elif self.regulator.rates_changed or contracts_changed:
            # an access limit, a member, a fuel tax or a partnership's contracts changed
            self._recompute_rates()
        self._place_demonstrations(m)
        cashflow.month(self, m)
        self._expire_listings(m)
        self._decide(m)
        self._record()
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

    # ---- the fleet's books --------------------------------------------------------------------
    def year_tables(self, m: int | None = None):
        """The year's technology tables, with fuel prices as operators pay them (taxes)."""
        m = max(self.month, self.start_month) if m is None else m
        year = self.tables.for_year(m // 12)
        surcharge = self.regulator.effects.fuel_surcharge_mxn
        if not surcharge.any():
            return year
        return dataclasses.replace(year, fuel_price_mxn=year.fuel_price_mxn + surcharge)

    def _deals_running(self) -> np.ndarray:
        """[partnership] in force this month: every month its dates touch."""
        return np.array([p.start <= _month_end(self.date) and p.end >= self.date
                         for p in self.spec.partnerships], bool)

    def active_rows(self) -> np.ndarray:
        return self.registry.in_state(ACTIVE)

    def rate_index(self, name: str) -> int:
        return self._rate[name]

    def _rates(self, rows) -> np.ndarray:
        m = max(self.month, self.start_month)
        return compute_rates(self.registry, rows, m, self.tables, self.year_tables(m),
                             self.spec, self.earnings)

    def _activate(self, rows: np.ndarray, count: bool = True) -> None:
        """Rows join the active fleet: counted, emitting, earning."""
        reg = self.registry
        reg.cols["state"][rows] = ACTIVE
        reg.rates[:, rows] = self._rates(rows)
        self._totals += reg.rates[:, rows].sum(axis=1)
        self._count(rows, +1)
        if count:
            np.add.at(self.flows.entered, reg.cols["vclass"][rows], 1)

    def _deactivate(self, rows: np.ndarray, state: int) -> None:
        """Rows leave the active fleet: scrapped (GONE) or put up for sale (LISTED)."""
        reg = self.registry
        self._totals -= reg.rates[:, rows].sum(axis=1)
        self._count(rows, -1)
        np.add.at(self.flows.left, reg.cols["vclass"][rows], 1)
        reg.set_state(rows, state, self.month)

    def _count(self, rows: np.ndarray, sign: int) -> None:
        reg = self.registry
        rep = self.tables.reported(reg.cols["tech"][rows], reg.cols["retrofit"][rows])
        np.add.at(self.counts, (reg.cols["vclass"][rows], rep), sign)
        owner = reg.cols["owner"][rows]
        band = self.operator_arrays.band[owner]
        np.add.at(self.band_counts, (band, rep), sign)
        np.add.at(self.family_counts, (owner, self.tables.family_reported[rep]), sign)
        self._birth_sum += sign * int(reg.cols["birth_month"][rows].astype(np.int64).sum())

    def _new_year(self, m: int) -> None:
        """Drop scrapped rows and recompute every active vehicle's yearly rates at its new age."""
        self.registry.compact(keep_rates=False)
        self._recompute_rates()
        self._fleet_values()

    def _recompute_rates(self) -> None:
        reg = self.registry
        reg.rates[:, : reg.n] = self._rates(slice(0, reg.n))
        reg.rates[:, np.flatnonzero(reg.cols["state"][: reg.n] != ACTIVE)] = 0.0
        self._totals = reg.rates[:, : reg.n].sum(axis=1)

    def _fleet_values(self) -> None:
        """What each firm's vehicles are worth: its collateral when it asks for a loan."""
        reg, t = self.registry, self.tables
        rows = reg.in_state(ACTIVE)
        m = max(self.month, self.start_month)
        value = self.valuer.value(t.for_year(m // 12), reg.cols["tech"][rows].astype(np.intp),
                                  reg.cols["vclass"][rows].astype(np.intp),
                                  (m - reg.cols["birth_month"][rows]) / 12.0)
        self.operator_arrays.fleet_value = np.bincount(
            reg.cols["owner"][rows], weights=value, minlength=len(self.operators))

    def _owner_margin(self) -> np.ndarray:
        """Each firm's yearly operating margin from its active vehicles."""
        reg = self.registry
        return np.bincount(reg.cols["owner"][: reg.n], weights=reg.rates[self._rate["margin_mxn"],
                                                                         : reg.n],
                           minlength=len(self.operators))

    def uses(self) -> np.ndarray:
        """[operator, family] 1 where a firm runs a vehicle of that family, more for
        demonstration fleets: what its neighbours see."""
        seen = self.family_counts > 0
        return np.maximum(seen, self._demo_weight * seen)

    # ---- events ------------------------------------------------------------------------------
    def _place_demonstrations(self, m: int) -> None:
        t, spec = self.tables, self.spec
        names = {v: k for k, v in self.operator_arrays.names.items()}
        for d in spec.demonstrations:
            if d.start.year * 12 + d.start.month - 1 != m:
                continue
            owner = names[d.fleet]
            n = max(1, int(round(d.units * self.sample_fraction)))
            c = t.class_code[d.vehicle_class]
            rows = self._add_vehicles(np.full(n, owner, np.int32), np.full(n, c, np.int8),
                                      np.full(n, t.tech_code[d.technology], np.int8),
                                      np.zeros(n, np.int32), origin=3)
            self.flows.entered_demo += len(rows)
            fam = t.family_reported[t.tech_code[d.technology]]
            self._demo_weight[owner, fam] = spec.decisions.demonstration_weight

    def _expire_listings(self, m: int) -> None:
        rows = self.used_market.expiring(self.registry, m)
        self.registry.set_state(rows, GONE)
        self.flows.used_expired += len(rows)

    def _add_vehicles(self, owner, vclass, tech, age_months, origin: int, km_new=None,
                      deal=None) -> np.ndarray:
        spec, n = self.spec, len(owner)
        m = self.month
        birth = (m - age_months).astype(np.int32)
        death = np.empty(n, np.int32)
        for c, cls in enumerate(spec.classes.values()):
            sel = np.flatnonzero(vclass == c)
            death[sel] = death_months(birth[sel], m, cls.survival.lambda_years, cls.survival.k,
                                      self.rng)
        usage = usage_columns(spec, vclass, self.operator_arrays.band[owner], self.rng)
        if km_new is not None:
            usage["km_new"] = km_new.astype(np.float32)
        rows = self.registry.add(
            owner=owner, vclass=vclass, tech=tech, retrofit=np.zeros(n, np.int8),
            region=self.operator_arrays.region[owner], origin=np.full(n, origin, np.int8),
            birth_month=birth, death_month=death,
            review_month=self.rng.integers(0, 12, size=n).astype(np.int8),
            deal=np.zeros(n, np.int8) if deal is None else deal.astype(np.int8), **usage)
        self._activate(rows)
        return rows

    # ---- decisions ---------------------------------------------------------------------------
    def _decide(self, m: int) -> None:
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
        g_owner, g_class = growth_purchases(self, m)
        n_rows, n_g = len(rows), len(g_owner)
        g_km = usage_columns(spec, g_class, ops.band[g_owner], self.rng)["km_new"]
        rv = Reviews(
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
            contract=np.concatenate([reg.cols["deal"][rows], np.zeros(n_g, np.int8)])
            .astype(np.int64),
        )
        if len(rv) == 0:
            return
        count, used_tech, used_age = self.used_market.stats(reg, m)
        uses = self.uses()
        ctx = Context(
            spec=spec, tables=t, year=self.year_tables(m), valuer=self.valuer,
            effects=self.regulator.effects, ops=ops, lenders=self.lenders, peers=self.peers,
            uses=uses,
            neighbour_share=self.peers.neighbour_share(uses, changed_since_last=True),
            market=Market(count, used_tech, used_age, self.used_market.multiplier,
                          self.imports.typical(m, self.regulator.import_rule),
                          spec.used_market.import_cost_share),
            deal_active=self._deals_running(),
            ulsd=np.array([r.ulsd_available_from <= self.date for r in spec.regions.values()]),
            budget_fits=self.regulator.budget_fits,
        )
        d = decide(rv, ctx, self.rng)
        self._apply(rv, d, count, m)

    def _apply(self, rv: Reviews, d, used_supply: np.ndarray, m: int) -> None:
        carry_out(self, rv, d, used_supply, m)

    def _count_owner_change(self, rows: np.ndarray, owner: np.ndarray) -> None:
        """Listed vehicles bought at home rejoin the fleet with their new owner."""
        reg = self.registry
        reg.cols["owner"][rows] = owner
        reg.cols["region"][rows] = self.operator_arrays.region[owner]
        reg.cols["review_month"][rows] = self.rng.integers(0, 12, size=len(rows))
        reg.cols["deal"][rows] = 0
        self._activate(rows)

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
        self._row = metrics.row(self)
        self.datacollector.collect(self)

    def results(self) -> pd.DataFrame:
        """One row per simulated month; counts and amounts scaled to the whole fleet."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return df[self.metric_names()] if len(df) else pd.DataFrame(columns=self.metric_names())

    def fleet_sizes(self) -> np.ndarray:
        """Active vehicles per operator (simulated rows, not scaled)."""
        reg = self.registry
        rows = reg.in_state(ACTIVE)
        return np.bincount(reg.cols["owner"][rows], minlength=len(self.operators))

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
    return lambda model: model._row[name]
