"""The regulator: holds the regulation timeline and the policy instruments, says which are in
force on a date, and turns them into the terms operators face (PolicyEffects). It also keeps
the instruments' books: budgets, spending, green-freight members, a sales requirement's fee,
and the adaptive rules that switch instruments on when a target is missed."""

from __future__ import annotations

import calendar
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import mesa
import numpy as np

from fleetsim.scenarios import SIZE_BANDS, Scenario
from fleetsim.scenarios.policy import (
    SPENDING_KINDS,
    ClassScope,
    ContingencyCurfew,
    FuelTax,
    GreenFreight,
    LowEmissionZone,
    PurchaseSubsidy,
    RetrofitSubsidy,
    Scrappage,
    ZevFleetRule,
    ZevSalesRequirement,
)
from fleetsim.scenarios.schema import ImportRule, NewVehicleStandard
from fleetsim.scenarios.schema_base import at_year

from .instruments import Access, Budget, Offer, PolicyEffects


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


@dataclass
class ActiveVehicles:
    """The active fleet as a green-freight programme weighs it: one entry per vehicle."""

    owner: np.ndarray
    age_years: np.ndarray
    vclass: np.ndarray
    region: np.ndarray
    rep: np.ndarray  # reported technology
    pm25_g: np.ndarray  # yearly PM2.5
    margin_mxn: np.ndarray  # yearly margin before access limits


@dataclass
class World:
    """What the regulator sees of the world in a month, handed to it by the model."""

    draws: Any  # sim.draws.Draws: uniform(purpose name, keys, month, slot)
    ops: Any  # agents.operators.OperatorSet
    results: dict[str, Any]  # last month's results row (adaptive rules watch it)
    vehicles: Callable[[int], ActiveVehicles]  # at a month; built when a programme needs it


def same_access(a: Access, b: Access) -> bool:
    """Whether every vehicle faces the same access limits: the same members, and the same
    losses for non-members and for the programmes (a programme's row counts once it exists in
    both, or has members). Recomputing rates that did not change would only reorder sums."""
    if not np.array_equal(a.member_of, b.member_of):
        return False
    if a.lost.shape == b.lost.shape:
        return np.array_equal(a.lost, b.lost)
    return bool((b.member_of < 0).all()) and np.array_equal(a.lost[0], b.lost[0])


class Regulator(mesa.Agent):
    """Updates the rules in force at the start of each month (step 1 of the monthly flow)."""

    def __init__(self, model: mesa.Model, spec: Scenario, n_operators: int,
                 sample_fraction: float = 1.0):
        super().__init__(model)
        self.n_operators = n_operators
        self.fraction = sample_fraction
        self.tech_names = list(spec.technologies)
        self.class_names = list(spec.classes)
        self.region_names = list(spec.regions)
        self.retrofit_names = list(spec.retrofits)
        self.reported_names = self.tech_names + self.retrofit_names
        self.zev = np.array([t.zero_emission for t in spec.technologies.values()]
                            + [False] * len(self.retrofit_names))
        self.ttw_co2 = np.array([spec.fuels[t.fuel].ttw_co2_kg_per_unit
                                 for t in spec.technologies.values()])
        self.fuel_of = [t.fuel for t in spec.technologies.values()]
        self.standards_in_force: list[NewVehicleStandard] = []
        self.import_rule: ImportRule | None = None
        self.configure(spec)
        ops = getattr(model, "operator_arrays", None)
        self.member_of = np.full(n_operators, -1, np.int8)
        self.barred_until = np.zeros(n_operators, np.int32)  # month index a firm may rejoin
        self.member_pm = np.zeros(n_operators)  # PM2.5 of a member's fleet when last checked
        self.checked_at = np.zeros(n_operators, np.int64)  # month of that check
        self.members_left = 0  # firms that left a programme for missing its cut, this month
        # which firms a fleet rule binds is drawn once, for the whole run (keyed by firm and
        # rule name, so a preset and its baseline bind the same firms)
        draws = getattr(model, "draws", None)
        self.bound_draw = [draws.uniform("fleet_rule", np.arange(n_operators), 0,
                                         r.name)
                           if ops is not None and draws is not None else np.zeros(n_operators)
                           for r in spec.policy.zev_fleet_rules]
        self.budgets = {i: Budget(getattr(x, "budget_mxn", None),
                                  getattr(x, "units_per_year", None),
                                  getattr(x, "reserved_share_by_band", {}), sample_fraction)
                        for i, (kind, x) in enumerate(self.instruments) if kind in SPENDING_KINDS}
        self.spent_total = np.zeros(len(self.instruments))
        self.spent_month = np.zeros(len(self.instruments))
        self.granted_month = np.zeros(len(self.instruments))  # vehicles paid for this month
        self.curfew_days = np.zeros(len(self.instruments))
        self.fee = np.zeros((len(self.instruments), len(self.class_names)))
        self.sales = deque(maxlen=12)  # months of new sales [class, zev]
        self._sales_month = np.zeros((len(self.class_names), 2))
        self.fired: dict[str, int] = {}  # adaptive rule -> month it fired
        self.checked: set[str] = set()  # adaptive rules whose date has been checked
        self.switched_on: set[str] = set()  # instruments adaptive rules switched on
        self._year = None
        self.effects = PolicyEffects.neutral(len(self.tech_names), len(self.class_names),
                                             len(self.retrofit_names), len(self.region_names),
                                             n_operators)
        self.rates_changed = False
        self.active_names: set[str] = set()

    def configure(self, spec: Scenario) -> None:
        """Read the scenario's rules and instruments; kept state (budgets, members) is not
        touched, so a policy changed mid-run acts from the next month on."""
        self.spec = spec
        self.standards = list(spec.regulation.new_vehicle_standards)
        self.import_rules = list(spec.regulation.used_import_rules)
        instruments = spec.policy.instruments()
        old = [x.name for _, x in getattr(self, "instruments", [])]
        if old and old != [x.name for _, x in instruments]:
            raise ValueError("policy: got a change to the list of instruments, expected the "
                             "same instruments with new terms (add or remove them at reset)")
        self.instruments = instruments
        self.names = [x.name for _, x in instruments]
        # a budget changed mid-run: what is left follows the new terms; it cannot fall below
        # what was already spent
        budgets = getattr(self, "budgets", {})
        for i in budgets:
            kind, x = instruments[i]
            new = getattr(x, "budget_mxn", None)
            spent = self.spent_total[i] / self.fraction
            if new is not None and new < spent - 1e-6:
                raise ValueError(f"policy.{kind}.{getattr(spec.policy, kind).index(x)}"
                                 f".budget_mxn: got {new:,.0f}, expected at least the "
                                 f"{spent:,.0f} already spent")
        for i, b in budgets.items():
            x = instruments[i][1]
            b.reconfigure(getattr(x, "budget_mxn", None), getattr(x, "units_per_year", None),
                          getattr(x, "reserved_share_by_band", {}), self.fraction,
                          float(self.spent_total[i]))
        switched_on = getattr(self, "switched_on", set())
        self.enabled = {x.name: x.enabled or x.name in switched_on for _, x in instruments}
        self.adaptive = list(spec.policy.adaptive)

    # ---- the month ------------------------------------------------------------------------
    def step(self, today: date, world: World) -> None:
        """Step 1 of the month: the rules in force, as the world stands."""
        self.update(today, world)

    def update(self, today: date, world: World | None = None) -> None:
        """Rules whose dates cover this month. A rule effective on the 4th applies from that
        month; an instrument acts in every month its start and end touch."""
        month_end = date(today.year, today.month,
                         calendar.monthrange(today.year, today.month)[1])
        m = _month_index(today)
        self.standards_in_force = [s for s in self.standards if s.effective <= month_end]
        rules = [r for r in self.import_rules if r.effective <= month_end]
        self.import_rule = rules[-1] if rules else None
        self.sales.append(self._sales_month)
        self._sales_month = np.zeros_like(self._sales_month)
        self.spent_month[:] = 0.0
        self.granted_month[:] = 0.0
        self.members_left = 0
        if world is not None:
            self._adapt(m, world)
        new_year = self._year != today.year
        if new_year:
            self._year = today.year
            for b in self.budgets.values():
                b.new_year()
            self._draw_curfew_days(world)

        def active(x) -> bool:
            return self.enabled[x.name] and x.start <= month_end and x.end >= today

        nt, nc = len(self.tech_names), len(self.class_names)
        old = self.effects
        eff = PolicyEffects.neutral(nt, nc, len(self.retrofit_names), len(self.region_names),
                                    self.n_operators)
        for c, cname in enumerate(self.class_names):
            std = self.standard_for(cname)
            if std is not None:
                eff.new_allowed[:, c] = names_in(self.tech_names, std.allowed_technologies)
        programmes = [x for _, x in self.instruments if isinstance(x, GreenFreight)]
        self.active_names = {x.name for _, x in self.instruments if active(x)}
        for i, (_, x) in enumerate(self.instruments):
            if not active(x):
                continue
            if isinstance(x, PurchaseSubsidy | RetrofitSubsidy | Scrappage):
                if self.budgets[i].open:
                    self._offer(eff, i, x)
            elif isinstance(x, FuelTax):
                fuels = x.fuels or self.fuel_of
                price = at_year(x.mxn_per_tonne_co2, today.year + (today.month - 1) / 12)
                eff.fuel_surcharge_mxn += np.where(names_in(self.fuel_of, fuels),
                                                   price * self.ttw_co2 / 1000.0, 0.0)
            elif isinstance(x, ZevSalesRequirement):
                self._feebate(eff, i, x, today)
            elif isinstance(x, ZevFleetRule):
                self._fleet_rule(eff, i, x, today, world)
        eff.access = self._access(programmes, active)
        if world is not None:
            self._programmes(m, today, programmes, active, eff.access, world, new_year)
        eff.access.member_of = self.member_of.copy()
        self.effects = eff
        self.rates_changed = not (same_access(old.access, eff.access)
                                  and np.array_equal(old.fuel_surcharge_mxn,
                                                     eff.fuel_surcharge_mxn))

    def standard_for(self, vehicle_class: str) -> NewVehicleStandard | None:
        """The latest new-vehicle standard in force that covers this class."""
        covering = [s for s in self.standards_in_force if vehicle_class in s.classes]
        return covering[-1] if covering else None

    # ---- spending ---------------------------------------------------------------------------
    def _masks(self, x: ClassScope):
        """Eligible classes, bands and regions (a field the instrument lacks means all)."""
        return (scope_mask(self.class_names, x.classes),
                scope_mask(list(SIZE_BANDS), getattr(x, "bands", [])),
                scope_mask(self.region_names, getattr(x, "regions", [])))

    def _offer(self, eff: PolicyEffects, i: int, x) -> None:
        classes, bands, regions = self._masks(x)
        budget = self.budgets[i]
        if isinstance(x, PurchaseSubsidy):
            eff.purchase.append(Offer(i, names_in(self.tech_names, x.technologies), classes,
                                      bands, regions, x.amount_mxn, x.max_share_of_price,
                                      budget=budget))
        elif isinstance(x, RetrofitSubsidy):
            items = names_in(["", *self.retrofit_names], x.retrofits)
            eff.retrofit.append(Offer(i, items, classes, bands, regions, x.amount_mxn,
                                      x.max_share_of_price,
                                      max_age=x.max_age_years if x.max_age_years is not None
                                      else np.inf, budget=budget))
        else:
            eff.scrappage.append(Offer(
                i, np.ones(len(self.tech_names), bool), classes, bands, regions, x.bonus_mxn,
                min_age=x.min_age_years, kinds=tuple(x.replacement),
                max_replacement_age=(x.max_replacement_age_years
                                     if x.max_replacement_age_years is not None else np.inf),
                budget=budget))

    def budget_fits(self, index: int, amounts: np.ndarray, bands: np.ndarray) -> np.ndarray:
        return self.budgets[index].fits(amounts, bands)

    def spend(self, index: int, amounts: np.ndarray, bands: np.ndarray) -> float:
        """Public money paid out by instrument `index` (sample scale)."""
        if not len(amounts):
            return 0.0
        total = self.budgets[index].spend(amounts, bands)
        self.spent_month[index] += total
        self.granted_month[index] += len(amounts)
        self.spent_total[index] += total
        return total

    def units_left(self, index: int) -> float:
        """Units of this year's quota not yet granted (sample scale), NaN without a quota."""
        b = self.budgets.get(index)
        return np.nan if b is None or b.units is None else float(b.units_left.sum())

    def budget_left(self, index: int) -> float:
        b = self.budgets.get(index)
        return np.nan if b is None or np.isinf(b.mxn_left) else b.mxn_left

    # ---- sales requirement ----------------------------------------------------------------
    def observe_new_sales(self, vclass: np.ndarray, zev: np.ndarray) -> None:
        np.add.at(self._sales_month, (vclass, zev.astype(np.intp)), 1)

    def _feebate(self, eff: PolicyEffects, i: int, x: ZevSalesRequirement, today: date) -> None:
        """Makers cross-subsidise: the fee on other new vehicles rises while zero-emission
        sales lag the target, and pays a rebate on zero-emission ones."""
        classes, _, _ = self._masks(x)
        sold = np.sum(self.sales, axis=0) if self.sales else np.zeros((len(classes), 2))
        total = sold.sum(axis=1)
        share = np.divide(sold[:, 1], total, out=np.zeros(len(total)), where=total > 0)
        target = at_year(x.share_by_year, today.year + (today.month - 1) / 12)
        gap = np.where(total > 0, target - share, target)
        self.fee[i] = np.where(classes, np.clip(self.fee[i] + x.fee_step_mxn * 100 * gap, 0.0,
                                                x.max_fee_mxn), 0.0)
        rebate = np.minimum(self.fee[i] * np.divide(sold[:, 0], sold[:, 1],
                                                    out=np.ones(len(total)),
                                                    where=sold[:, 1] > 0), x.max_fee_mxn)
        zev = self.zev[: len(self.tech_names)]
        eff.price_adjust_mxn += np.where(zev[:, None], -rebate[None, :], self.fee[i][None, :])

    # ---- fleet rules ------------------------------------------------------------------------
    def _fleet_rule(self, eff: PolicyEffects, i: int, x: ZevFleetRule, today: date,
                    world) -> None:
        if world is None:
            return
        ops = world.ops
        classes, bands, regions = self._masks(x)
        k = [j for j, (_, y) in enumerate(self.instruments) if isinstance(y, ZevFleetRule)]
        draw = self.bound_draw[k.index(i)]
        firms = bands[ops.band] & regions[ops.region] & (draw < x.firm_share)
        bound = firms[:, None] & classes[None, :]
        age = x.legacy_max_age_years
        if x.all_zero_emission_from is not None and today >= x.all_zero_emission_from:
            age = 0.0
        eff.fleet_rule.bound |= bound
        eff.fleet_rule.legacy_age = np.where(bound, np.minimum(eff.fleet_rule.legacy_age, age),
                                             eff.fleet_rule.legacy_age)

    # ---- access limits and green freight ----------------------------------------------------
    def _draw_curfew_days(self, world) -> None:
        """Each January, the days the curfew binds this year: one of the years observed, drawn
        by the curfew's name and year (without a world, the middle one)."""
        for i, (_, x) in enumerate(self.instruments):
            if isinstance(x, ContingencyCurfew):
                days = x.days_per_year_observed
                u = (0.5 if world is None else
                     float(world.draws.uniform("curfew", [0], self._year, x.name)[0]))
                self.curfew_days[i] = float(days[min(int(u * len(days)), len(days) - 1)])

    def _access(self, programmes: list[GreenFreight], active) -> Access:
        n_rep, nc, nr = len(self.reported_names), len(self.class_names), len(self.region_names)
        keep = np.ones((len(programmes) + 1, n_rep, nc, nr))  # share of margin kept
        names = [p.name for p in programmes]
        for i, (_, x) in enumerate(self.instruments):
            if not isinstance(x, ContingencyCurfew | LowEmissionZone) or not active(x):
                continue
            classes, _, regions = self._masks(x)
            if isinstance(x, ContingencyCurfew):
                loss = min(self.curfew_days[i] * x.hours_per_day / x.operating_hours_per_year,
                           1.0)
                hit = ~names_in(self.reported_names, x.exempt_technologies)
            else:
                loss = x.revenue_lost_share
                hit = ~names_in(self.reported_names, x.allowed_technologies)
            where = hit[:, None, None] & classes[None, :, None] & regions[None, None, :]
            # not covered, or covered by a programme this limit does not exempt: hit
            hit_cover = np.array([True] + [n not in x.exempt_programmes for n in names])
            keep[hit_cover] *= np.where(where, 1.0 - loss, 1.0)
        cover = np.zeros((len(programmes), n_rep), bool)
        cls = np.zeros((len(programmes), nc), bool)
        reg = np.zeros((len(programmes), nr), bool)
        for p, x in enumerate(programmes):
            cover[p] = names_in(self.reported_names, x.covered_technologies)
            cls[p], _, reg[p] = self._masks(x)
        return Access(1.0 - keep, self.member_of, cover,
                      np.array([p.max_age_years for p in programmes], float), cls, reg)

    def _programmes(self, m: int, today: date, programmes, active, access: Access, world,
                    new_year: bool) -> None:
        """Members that missed their PM cut leave; each January (and in a programme's first
        month) firms that would gain from the exemption may join."""
        if not programmes:
            return
        ops, v = world.ops, world.vehicles(m)
        owner, age, vclass, region, rep = v.owner, v.age_years, v.vclass, v.region, v.rep
        pm = np.bincount(owner, weights=v.pm25_g, minlength=self.n_operators)
        for p, x in enumerate(programmes):
            mine = self.member_of == p
            first = (x.start.year * 12 + x.start.month - 1) == m
            if not active(x):
                self.member_of[mine] = -1
                continue
            if not (new_year or first):
                continue
            covered = access.covered[p, rep] & (age <= x.max_age_years) \
                & access.cover_class[p, vclass] & access.cover_region[p, region]
            n_cov = np.bincount(owner, weights=covered, minlength=self.n_operators)
            n_all = np.bincount(owner, minlength=self.n_operators)
            if new_year and not first:
                # the cut asked is pro rata for a member that joined during the year
                share = np.minimum((m - self.checked_at) / 12.0, 1.0)
                missed = mine & (pm > (1.0 - x.pm_cut_per_year * share) * self.member_pm) \
                    & (n_cov < n_all)
                self.member_of[missed] = -1
                self.barred_until[missed] = m + 12
                self.members_left += int(missed.sum())
            # what a firm would keep of its margin if its covered vehicles were exempt
            gain_v = covered * v.margin_mxn * (access.lost[0, rep, vclass, region]
                                         - access.lost[p + 1, rep, vclass, region])
            gain = np.bincount(owner, weights=gain_v, minlength=self.n_operators)
            fee = x.fee_mxn_per_vehicle_per_year * n_cov
            classes, bands, regions = self._masks(x)
            prop = np.array([getattr(x.join_propensity, b) for b in SIZE_BANDS])
            can = ((self.member_of < 0) & (self.barred_until <= m) & bands[ops.band]
                   & regions[ops.region] & (n_cov > 0) & (gain > fee))
            u = world.draws.uniform("programme_join", np.arange(self.n_operators), m,
                                    x.name)
            join = can & (u < prop[ops.band])
            self.member_of[join] = p
            now = self.member_of == p
            self.member_pm[now] = pm[now]
            self.checked_at[now] = m
            # members pay the year's fee for their covered vehicles
            ops.cash[now] -= x.fee_mxn_per_vehicle_per_year * n_cov[now]

    # ---- consequences for inaction ------------------------------------------------------------
    def _adapt(self, m: int, world) -> None:
        row = world.results
        for rule in self.adaptive:
            if rule.name in self.checked or m <= _month_index(rule.by) or rule.metric not in row:
                continue
            value = float(row[rule.metric])
            missed = value < rule.target if rule.direction == "at_least" else value > rule.target
            self.checked.add(rule.name)
            if missed:
                self.fired[rule.name] = m
                for name in rule.enable:
                    self.enabled[name] = True
                    self.switched_on.add(name)


def names_in(names, chosen) -> np.ndarray:
    """[name] in `chosen` (None: none), as np.isin gives for names: a set costs a few
    microseconds where np.isin sorts strings (tens, several times a month)."""
    chosen = set(chosen or ())
    return np.array([name in chosen for name in names], bool)


def scope_mask(names, chosen) -> np.ndarray:
    """[name] within an instrument's scope; an empty or missing field means all."""
    return names_in(names, chosen) if chosen else np.ones(len(names), bool)
