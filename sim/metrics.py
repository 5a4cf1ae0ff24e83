"""What each month records: the fleet by technology, class and size band, emissions, money,
decisions, credit, the used market and partnerships. Counts and amounts are scaled from the
simulated sample to the whole fleet."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fleetsim.scenarios import SIZE_BANDS
from fleetsim.scenarios.policy import (
    SPENDING_KINDS,
    ContingencyCurfew,
    GreenFreight,
    ZevSalesRequirement,
)

from .emissions import RATES, annual_km
from .registry import ACTIVE, ORIGIN_NAMES

if TYPE_CHECKING:
    from .model import FleetModel


@dataclass
class Flows:
    """What happened this month (counts of simulated vehicles and loans, MXN amounts)."""

    entered_new: int = 0
    entered_import: int = 0
    entered_used: int = 0
    entered_demo: int = 0
    scrapped: int = 0
    listed: int = 0
    used_expired: int = 0
    used_unmet: int = 0
    used_sales_mxn: float = 0.0
    reviews: int = 0
    retrofits: int = 0
    exits: int = 0
    early_replacements: int = 0
    growth_unmet: int = 0
    repossessed: int = 0
    loans_approved: int = 0
    loans_repaid: int = 0
    loans_defaulted: int = 0
    loans_principal_mxn: float = 0.0
    loan_payments_mxn: float = 0.0
    defaulted_balance_mxn: float = 0.0  # written off by lenders
    guarantees_paid_mxn: float = 0.0  # paid by guarantors on defaults
    purchase_new_mxn: float = 0.0
    purchase_import_mxn: float = 0.0
    subsidy_mxn: float = 0.0
    scrap_bonus_mxn: float = 0.0
    forced_out: int = 0  # vehicles a zero-emission fleet rule sent out
    partnership_retrofits: int = 0
    partnership_replacements: int = 0
    partnership_cofinance_mxn: float = 0.0
    declined: int = 0


SCALED_FLOWS = [f.name for f in fields(Flows) if f.name != "declined"]

FLOW, STOCK, LABEL = "flow", "stock", "label"
# tonnes, flows; PM2.5 and PM10 include tyre, brake and road wear
EMISSIONS = ("pm25_t", "pm25_exhaust_t", "pm10_t", "pm25_urban_t", "bc_t", "nox_t",
             "co2_ttw_t", "co2_wtw_t")

# Every output column, by family ({} stands for a technology, class, band, fuel, lender,
# instrument or rule): its kind and what it is. A flow is summed over a year, a stock read at
# the year's last month. How each is computed is in `catalogue`, which names its family.
FAMILIES: dict[str, tuple[str, str]] = {
    "date": (LABEL, "YYYY-MM"), "year": (LABEL, "calendar year"), "month": (LABEL, "1-12"),
    "vehicles": (STOCK, "active vehicles"),
    "vehicles_{}": (STOCK, "active vehicles by reported technology, by class, by size band"),
    "vehicles_{}_{}": (STOCK, "active vehicles by size band and reported technology"),
    "entered_{}": (FLOW, "vehicles that joined the active fleet, by class"),
    "retired_{}": (FLOW, "vehicles that left it (scrapped or listed for sale), by class"),
    "entered": (FLOW, "vehicles that joined the active fleet"),
    "retired": (FLOW, "vehicles that left it"),
    "share_soot_free": (STOCK, "share of active vehicles soot-free"),
    "share_zev": (STOCK, "share of active vehicles zero-emission"),
    "share_soot_free_{}": (STOCK, "soot-free share by size band"),
    "share_zev_{}": (STOCK, "zero-emission share by size band"),
    "mean_age_years": (STOCK, "mean age of active vehicles"),
    # the federal register's count (sim.register): working, for sale, and scrapped but not
    # yet struck off; what the registry statistics report
    "registered": (STOCK, "vehicles on the register: active, listed, scrapped not yet struck off"),
    "registered_mean_age_years": (STOCK, "mean age of the vehicles on the register"),
    "pm25_t": (FLOW, "exhaust and non-exhaust PM2.5, t"),
    "pm25_exhaust_t": (FLOW, "exhaust PM2.5, t"),
    "pm10_t": (FLOW, "exhaust and non-exhaust PM10, t"),
    "pm25_urban_t": (FLOW, "PM2.5 emitted on urban km, t"),
    "bc_t": (FLOW, "black carbon, exhaust and wear, t"),
    "nox_t": (FLOW, "NOx, t"), "co2_ttw_t": (FLOW, "CO2 tank to wheel, t"),
    "co2_wtw_t": (FLOW, "CO2 well to wheel, t"), "vehicle_km": (FLOW, "km driven"),
    "{}_{}": (FLOW, "energy by fuel, in its unit"),
    "energy_cost_mxn": (FLOW, "energy bought"), "maintenance_mxn": (FLOW, "maintenance"),
    "operating_margin_mxn": (FLOW, "margin after energy and maintenance"),
    **{name: (FLOW, "this month's flow (metrics.Flows)") for name in SCALED_FLOWS},
    "loans_declined": (FLOW, "rows whose preferred option needed a loan that was refused"),
    "used_pool": (STOCK, "listings on the used market"),
    "used_price_mean_mxn": (STOCK, "mean price of the month's used sales"),
    "loans_active": (STOCK, "loans being repaid"), "loan_balance_mxn": (STOCK, "their balance"),
    "loans_{}": (STOCK, "loans being repaid, by lender"),
    "perceived_default_zev_{}": (STOCK, "a lender's perceived default rate on ZEV loans"),
    "operator_cash_mxn": (STOCK, "firms' cash"),
    "public_spending_mxn": (FLOW, "public money paid out"),
    "fuel_tax_revenue_mxn": (FLOW, "fuel tax collected"),
    "spend_{}_mxn": (FLOW, "public money paid by an instrument"),
    "granted_{}": (FLOW, "grants an instrument paid"),
    "budget_left_{}_mxn": (STOCK, "what is left of an instrument's budget"),
    "units_left_{}": (STOCK, "grants left this year"),
    "members_{}": (STOCK, "firms in a green-freight programme"),
    "member_vehicles_{}": (STOCK, "vehicles its members run under it"),
    "curfew_days_{}": (STOCK, "a curfew's days this year (0 while off)"),
    "zev_fee_{}_mxn": (STOCK, "a sales requirement's fee per non-ZEV sold"),
    "active_{}": (STOCK, "1 while an instrument is in force"),
    "adaptive_{}_fired": (STOCK, "1 once an adaptive rule has fired"),
}
_PATTERNS = [(re.compile("^" + re.escape(t).replace(r"\{\}", ".+") + "$"), k)
             for t, (k, _) in FAMILIES.items() if "{}" in t and not t.startswith("{}")]


def kind_of(column: str) -> str:
    """flow, stock or label, from the column's family; columns of no family (such as energy
    by fuel) are flows."""
    if column in FAMILIES:
        return FAMILIES[column][0]
    for pattern, kind in _PATTERNS:
        if pattern.match(column):
            return kind
    return FLOW


@dataclass
class Column:
    name: str
    family: str  # key of FAMILIES
    value: Callable[[Month], Any]


class Month:
    """The model after a step as the columns read it: aggregates computed once, amounts
    scaled from the sample to the whole fleet by `s`."""

    def __init__(self, model: FleetModel):
        self.model = model
        self.s = 1.0 / model.sample_fraction
        self.fleet = fleet = model.vehicles
        self.flows = model.flows
        self.by_tech = fleet.counts.sum(axis=0)
        self.n = self.by_tech.sum()
        self.by_class = fleet.counts.sum(axis=1)
        self.band_n = fleet.band_counts.sum(axis=1)
        self.rates = dict(zip(model.rate_names, fleet.totals * self.s / 12.0, strict=True))
        self.loans_active = model.loans.active()

    @functools.cached_property
    def covered(self) -> np.ndarray:
        """[active vehicle] green-freight programme covering it (index + 1), 0 none."""
        model, t = self.model, self.model.tables
        rows = model.active_rows()
        cols = model.registry.cols
        age = (model.month - cols["birth_month"][rows]) / 12.0
        return model.regulator.effects.access.cover(
            cols["owner"][rows], t.reported(cols["tech"][rows], cols["retrofit"][rows]),
            cols["vclass"][rows].astype(np.intp), cols["region"][rows].astype(np.intp), age)

    def share(self, mask: np.ndarray, counts: np.ndarray, whole) -> float:
        return _share(counts[mask].sum(), whole)


def catalogue(model: FleetModel) -> list[Column]:
    """Every column of the monthly results, in order, with how it is computed."""
    return [*fleet_columns(model), *register_columns(), *emission_columns(model),
            *money_columns(model), *policy_columns(model)]


def register_columns() -> list[Column]:
    """The register as the federal statistics count it (sim.register.Register)."""
    return [
        Column("registered", "registered",
               lambda mo: mo.model.register.counts(mo.model.registry, int(mo.n),
                                                   mo.fleet.birth_sum)[0] * mo.s),
        Column("registered_mean_age_years", "registered_mean_age_years",
               lambda mo: mo.model.register.mean_age_years(
                   mo.model.registry, int(mo.n), mo.fleet.birth_sum, mo.model.month)),
    ]


def fleet_columns(model: FleetModel) -> list[Column]:
    t, bands = model.tables, list(enumerate(SIZE_BANDS))
    reps, classes = list(enumerate(t.reported_names)), list(enumerate(model.class_names))
    return [
        Column("date", "date", lambda mo: f"{mo.model.month // 12:04d}-"
                                          f"{mo.model.month % 12 + 1:02d}"),
        Column("year", "year", lambda mo: mo.model.month // 12),
        Column("month", "month", lambda mo: mo.model.month % 12 + 1),
        Column("vehicles", "vehicles", lambda mo: mo.n * mo.s),
        *(Column(f"vehicles_{n}", "vehicles_{}", lambda mo, i=i: mo.by_tech[i] * mo.s)
          for i, n in reps),
        *(Column(f"vehicles_{c}", "vehicles_{}", lambda mo, i=i: mo.by_class[i] * mo.s)
          for i, c in classes),
        *(Column(f"vehicles_{b}", "vehicles_{}", lambda mo, i=i: mo.band_n[i] * mo.s)
          for i, b in bands),
        *(Column(f"vehicles_{b}_{n}", "vehicles_{}_{}",
                 lambda mo, bi=bi, i=i: mo.fleet.band_counts[bi][i] * mo.s)
          for bi, b in bands for i, n in reps),
        *(Column(f"entered_{c}", "entered_{}", lambda mo, i=i: mo.fleet.entered[i] * mo.s)
          for i, c in classes),
        *(Column(f"retired_{c}", "retired_{}", lambda mo, i=i: mo.fleet.left[i] * mo.s)
          for i, c in classes),
        Column("entered", "entered", lambda mo: mo.fleet.entered.sum() * mo.s),
        Column("retired", "retired", lambda mo: mo.fleet.left.sum() * mo.s),
        Column("share_soot_free", "share_soot_free",
               lambda mo: mo.share(t.soot_free_reported, mo.by_tech, mo.n)),
        Column("share_zev", "share_zev", lambda mo: mo.share(t.zev_reported, mo.by_tech, mo.n)),
        *(Column(f"share_soot_free_{b}", "share_soot_free_{}", lambda mo, bi=bi: mo.share(
            t.soot_free_reported, mo.fleet.band_counts[bi], mo.band_n[bi])) for bi, b in bands),
        *(Column(f"share_zev_{b}", "share_zev_{}", lambda mo, bi=bi: mo.share(
            t.zev_reported, mo.fleet.band_counts[bi], mo.band_n[bi])) for bi, b in bands),
        Column("mean_age_years", "mean_age_years",
               lambda mo: mo.fleet.mean_age_years(mo.model.month)),
    ]


def emission_columns(model: FleetModel) -> list[Column]:
    """Emissions, km, energy and running costs: the active fleet's yearly rates over 12."""
    fuels = [(f"{f}_{model.spec.fuels[f].unit.lower()}", f"energy_{f}")
             for f in model.tables.fuel_names]
    return [
        *(Column(name, name, lambda mo, r=name[:-2] + "_g": mo.rates[r] / 1e6)
          for name in EMISSIONS if not name.startswith("co2")),
        Column("co2_ttw_t", "co2_ttw_t", lambda mo: mo.rates["co2_ttw_kg"] / 1e3),
        Column("co2_wtw_t", "co2_wtw_t", lambda mo: mo.rates["co2_wtw_kg"] / 1e3),
        Column("vehicle_km", "vehicle_km", lambda mo: mo.rates["km"]),
        *(Column(name, "{}_{}", lambda mo, r=rate: mo.rates[r]) for name, rate in fuels),
        Column("energy_cost_mxn", "energy_cost_mxn", lambda mo: mo.rates["energy_cost_mxn"]),
        Column("maintenance_mxn", "maintenance_mxn", lambda mo: mo.rates["maintenance_mxn"]),
        Column("operating_margin_mxn", "operating_margin_mxn",
               lambda mo: mo.rates["margin_mxn"]),
    ]


def money_columns(model: FleetModel) -> list[Column]:
    """The month's flows, the used market, loans and firms' cash."""
    loans = model.loans
    return [
        *(Column(name, name, lambda mo, k=name: getattr(mo.flows, k) * mo.s)
          for name in SCALED_FLOWS),
        Column("loans_declined", "loans_declined", lambda mo: mo.flows.declined * mo.s),
        Column("used_pool", "used_pool", lambda mo: len(mo.fleet.listed_rows()) * mo.s),
        Column("used_price_mean_mxn", "used_price_mean_mxn",
               lambda mo: (mo.flows.used_sales_mxn / mo.flows.entered_used
                           if mo.flows.entered_used else 0.0)),
        Column("loans_active", "loans_active", lambda mo: len(mo.loans_active) * mo.s),
        Column("loan_balance_mxn", "loan_balance_mxn",
               lambda mo: float(loans.balance[mo.loans_active].sum()) * mo.s),
        *(Column(f"loans_{x.name}", "loans_{}", lambda mo, x=x: float(
            (loans.lender[mo.loans_active] == x.index).sum()) * mo.s) for x in model.lenders),
        *(Column(f"perceived_default_zev_{x.name}", "perceived_default_zev_{}",
                 lambda mo, x=x: float(x.perceived_default()[1])) for x in model.lenders),
        Column("operator_cash_mxn", "operator_cash_mxn",
               lambda mo: float(mo.model.operator_arrays.cash.sum()) * mo.s),
    ]


def policy_columns(model: FleetModel) -> list[Column]:
    """Public money per instrument and what is left of its budget; the programmes' members;
    the state of curfews, sales requirements and adaptive rules."""
    reg = model.regulator
    out = [Column("public_spending_mxn", "public_spending_mxn",
                  lambda mo: float(reg.spent_month.sum()) * mo.s),
           Column("fuel_tax_revenue_mxn", "fuel_tax_revenue_mxn", fuel_tax)]
    programmes = [x for _, x in reg.instruments if isinstance(x, GreenFreight)]
    for i, (kind, x) in enumerate(reg.instruments):
        out += instrument_columns(model, i, kind, x, programmes)
        out.append(Column(f"active_{x.name}", "active_{}",
                          lambda mo, n=x.name: float(n in reg.active_names)))
    out += [Column(f"adaptive_{r.name}_fired", "adaptive_{}_fired",
                   lambda mo, n=r.name: float(n in reg.fired))
            for r in model.spec.policy.adaptive]
    return out


def instrument_columns(model: FleetModel, i: int, kind: str, x, programmes) -> list[Column]:
    reg = model.regulator
    if kind in SPENDING_KINDS:
        return [Column(f"spend_{x.name}_mxn", "spend_{}_mxn",
                       lambda mo: float(reg.spent_month[i]) * mo.s),
                Column(f"granted_{x.name}", "granted_{}",
                       lambda mo: float(reg.granted_month[i]) * mo.s),
                Column(f"budget_left_{x.name}_mxn", "budget_left_{}_mxn",
                       lambda mo: reg.budget_left(i) * mo.s),
                Column(f"units_left_{x.name}", "units_left_{}",
                       lambda mo: reg.units_left(i) * mo.s)]
    if isinstance(x, GreenFreight):
        p = programmes.index(x)
        return [Column(f"members_{x.name}", "members_{}",
                       lambda mo: float((reg.member_of == p).sum()) * mo.s),
                Column(f"member_vehicles_{x.name}", "member_vehicles_{}",
                       lambda mo: float((mo.covered == p + 1).sum()) * mo.s)]
    if isinstance(x, ContingencyCurfew):
        return [Column(f"curfew_days_{x.name}", "curfew_days_{}",
                       lambda mo: float(reg.curfew_days[i]) if x.name in reg.active_names
                       else 0.0)]
    if isinstance(x, ZevSalesRequirement):
        return [Column(f"zev_fee_{x.name}_mxn", "zev_fee_{}_mxn",
                       lambda mo: float(reg.fee[i].max()))]
    return []


def fuel_tax(mo: Month) -> float:
    """A fuel tax's revenue: the month's energy by fuel times the surcharge on it."""
    t, surcharge = mo.model.tables, mo.model.regulator.effects.fuel_surcharge_mxn
    total = 0.0
    for f, name in enumerate(t.fuel_names):
        per_unit = surcharge[t.fuel_of_tech == f]
        if len(per_unit):
            total += mo.rates[f"energy_{name}"] * float(per_unit.max())
    return total


def names(model: FleetModel) -> list[str]:
    return [c.name for c in catalogue(model)]


def row(model: FleetModel) -> dict[str, Any]:
    month = Month(model)
    return {c.name: c.value(month) for c in catalogue(model)}


def yearly(results: pd.DataFrame, annualise: tuple[str, ...] = ()) -> pd.DataFrame:
    """Monthly results -> one row per calendar year: `year`, `months` (how many months of the
    year the run has), then every numeric column: flows summed, stocks at the year's last
    month; the `annualise` flows scaled to twelve months in a partial year. Plain numpy:
    pandas' groupby costs more than a model month (the page calls it after every frame)."""
    cols = [c for c in results.columns if c not in ("date", "year", "month")
            and pd.api.types.is_numeric_dtype(results[c])]
    if results.empty:
        return pd.DataFrame(columns=["year", "months", *cols])
    years = results["year"].to_numpy()
    starts = np.r_[0, np.flatnonzero(np.diff(years)) + 1]
    ends = np.r_[starts[1:], len(years)] - 1
    months = ends - starts + 1
    out = {"year": years[starts].astype("int64"), "months": months.astype("int64")}
    for c in cols:
        v = results[c].to_numpy()
        if kind_of(c) == FLOW:
            total = np.add.reduceat(v, starts)
            out[c] = total * 12 / months if c in annualise else total
        else:
            out[c] = v[ends]
    return pd.DataFrame(out)


def _share(part, whole) -> float:
    return float(part / whole) if whole else 0.0


def fleet_frame(model: FleetModel) -> pd.DataFrame:
    """The active vehicle registry, one row per simulated vehicle, in readable columns."""
    reg, t, spec = model.registry, model.tables, model.spec
    rows = reg.in_state(ACTIVE)
    raw = reg.frame(rows)
    age = (max(model.month, model.start_month) - raw["birth_month"].to_numpy()) / 12.0
    rep = t.reported(raw["tech"].to_numpy(), raw["retrofit"].to_numpy())
    return pd.DataFrame({
        "vehicle_id": raw["vid"],
        "owner": raw["owner"],
        "owner_unique_id": np.array([a.unique_id for a in model.operators])[raw["owner"]],
        "size_band": pd.Categorical.from_codes(
            model.operator_arrays.band[raw["owner"]], SIZE_BANDS),
        "vehicle_class": pd.Categorical.from_codes(raw["vclass"], model.class_names),
        "technology": pd.Categorical.from_codes(raw["tech"], t.tech_names),
        "retrofit": pd.Categorical.from_codes(raw["retrofit"].astype(int) - 1,
                                              t.retrofit_names or ["none"]),
        "reported_technology": pd.Categorical.from_codes(rep, t.reported_names),
        "model_year": raw["birth_month"] // 12,
        "age_years": age,
        "annual_km": annual_km(raw["km_new"].to_numpy(np.float64), np.floor(age), spec),
        "region": pd.Categorical.from_codes(raw["region"], list(spec.regions)),
        "origin": pd.Categorical.from_codes(raw["origin"], list(ORIGIN_NAMES)),
        "partnership_contract": raw["partnership"] > 0,
        "retirement_year": raw["death_month"] // 12,
        "pm25_g_per_year": reg.rates[RATES.index("pm25_g"), rows],
        "co2_ttw_kg_per_year": reg.rates[RATES.index("co2_ttw_kg"), rows],
    })
