"""What each month records: the fleet by technology, class and size band, emissions, money,
decisions, credit, the used market and partnerships. Counts and amounts are scaled from the
simulated sample to the whole fleet."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fleetsim.scenarios import SIZE_BANDS

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


def names(model: FleetModel) -> list[str]:
    t = model.tables
    fuels = [f"{f}_{model.spec.fuels[f].unit.lower()}" for f in t.fuel_names]
    return [
        "date", "year", "month", "vehicles",
        *(f"vehicles_{n}" for n in t.reported_names),
        *(f"vehicles_{c}" for c in model.class_names),
        *(f"vehicles_{b}" for b in SIZE_BANDS),
        *(f"vehicles_{b}_{n}" for b in SIZE_BANDS for n in t.reported_names),
        *(f"entered_{c}" for c in model.class_names),
        *(f"retired_{c}" for c in model.class_names),
        "entered", "retired",
        "share_soot_free", "share_zev",
        *(f"share_soot_free_{b}" for b in SIZE_BANDS),
        *(f"share_zev_{b}" for b in SIZE_BANDS),
        "mean_age_years",
        "pm25_t", "bc_t", "nox_t", "co2_ttw_t", "co2_wtw_t", "vehicle_km", *fuels,
        "energy_cost_mxn", "maintenance_mxn", "operating_margin_mxn",
        *SCALED_FLOWS,
        "loans_declined", "used_pool", "used_price_mean_mxn", "loans_active", "loan_balance_mxn",
        *(f"loans_{x.name}" for x in model.lenders),
        *(f"perceived_default_zev_{x.name}" for x in model.lenders),
        "operator_cash_mxn",
        *policy_names(model),
    ]


def policy_names(model: FleetModel) -> list[str]:
    """Public money per instrument and what is left of its budget; the programmes' members;
    the state of curfews, sales requirements and adaptive rules."""
    from fleetsim.scenarios.policy import (
        SPENDING_KINDS,
        ContingencyCurfew,
        GreenFreight,
        ZevSalesRequirement,
    )

    out = ["public_spending_mxn", "fuel_tax_revenue_mxn"]
    for kind, x in model.regulator.instruments:
        if kind in SPENDING_KINDS:
            out += [f"spend_{x.name}_mxn", f"granted_{x.name}", f"budget_left_{x.name}_mxn",
                    f"units_left_{x.name}"]
        elif isinstance(x, GreenFreight):
            out += [f"members_{x.name}", f"member_vehicles_{x.name}"]
        elif isinstance(x, ContingencyCurfew):
            out.append(f"curfew_days_{x.name}")
        elif isinstance(x, ZevSalesRequirement):
            out.append(f"zev_fee_{x.name}_mxn")
        out.append(f"active_{x.name}")
    out += [f"adaptive_{r.name}_fired" for r in model.spec.policy.adaptive]
    return out


def row(model: FleetModel) -> dict[str, Any]:
    s = 1.0 / model.sample_fraction
    t, fl, fleet = model.tables, model.flows, model.vehicles
    by_tech = fleet.counts.sum(axis=0)
    n = by_tech.sum()
    rates = dict(zip(model.rate_names, fleet.totals * s / 12.0, strict=True))
    out: dict[str, Any] = {
        "date": f"{model.month // 12:04d}-{model.month % 12 + 1:02d}",
        "year": model.month // 12,
        "month": model.month % 12 + 1,
        "vehicles": n * s,
    }
    out.update({f"vehicles_{k}": v * s for k, v in zip(t.reported_names, by_tech, strict=True)})
    out.update({f"vehicles_{c}": v * s for c, v in zip(model.class_names,
                                                       fleet.counts.sum(axis=1), strict=True)})
    band_n = fleet.band_counts.sum(axis=1)
    out.update({f"vehicles_{b}": v * s for b, v in zip(SIZE_BANDS, band_n, strict=True)})
    for bi, b in enumerate(SIZE_BANDS):
        out.update({f"vehicles_{b}_{n}": v * s
                    for n, v in zip(t.reported_names, fleet.band_counts[bi], strict=True)})
    out.update({f"entered_{c}": v * s for c, v in zip(model.class_names, fleet.entered,
                                                      strict=True)})
    out.update({f"retired_{c}": v * s for c, v in zip(model.class_names, fleet.left,
                                                      strict=True)})
    out["entered"] = fleet.entered.sum() * s
    out["retired"] = fleet.left.sum() * s
    out["share_soot_free"] = _share(by_tech[t.soot_free_reported].sum(), n)
    out["share_zev"] = _share(by_tech[t.zev_reported].sum(), n)
    for b, bn in zip(SIZE_BANDS, band_n, strict=True):
        row_b = fleet.band_counts[SIZE_BANDS.index(b)]
        out[f"share_soot_free_{b}"] = _share(row_b[t.soot_free_reported].sum(), bn)
        out[f"share_zev_{b}"] = _share(row_b[t.zev_reported].sum(), bn)
    out["mean_age_years"] = fleet.mean_age_years(model.month)
    out["pm25_t"] = rates["pm25_g"] / 1e6
    out["bc_t"] = rates["bc_g"] / 1e6
    out["nox_t"] = rates["nox_g"] / 1e6
    out["co2_ttw_t"] = rates["co2_ttw_kg"] / 1e3
    out["co2_wtw_t"] = rates["co2_wtw_kg"] / 1e3
    out["vehicle_km"] = rates["km"]
    for f in t.fuel_names:
        out[f"{f}_{model.spec.fuels[f].unit.lower()}"] = rates[f"energy_{f}"]
    out["energy_cost_mxn"] = rates["energy_cost_mxn"]
    out["maintenance_mxn"] = rates["maintenance_mxn"]
    out["operating_margin_mxn"] = rates["margin_mxn"]
    for name in SCALED_FLOWS:
        out[name] = getattr(fl, name) * s
    out["loans_declined"] = fl.declined * s
    out["used_pool"] = len(fleet.listed_rows()) * s
    out["used_price_mean_mxn"] = fl.used_sales_mxn / fl.entered_used if fl.entered_used else 0.0
    loans = model.loans
    active = loans.active()
    out["loans_active"] = len(active) * s
    out["loan_balance_mxn"] = float(loans.balance[active].sum()) * s
    for x in model.lenders:
        out[f"loans_{x.name}"] = float((loans.lender[active] == x.index).sum()) * s
        out[f"perceived_default_zev_{x.name}"] = float(x.perceived_default()[1])
    out["operator_cash_mxn"] = float(model.operator_arrays.cash.sum()) * s
    out.update(policy_row(model, rates, s))
    return out


def policy_row(model: FleetModel, rates: dict, s: float) -> dict[str, Any]:
    from fleetsim.scenarios.policy import (
        SPENDING_KINDS,
        ContingencyCurfew,
        GreenFreight,
        ZevSalesRequirement,
    )

    reg, t = model.regulator, model.tables
    out: dict[str, Any] = {"public_spending_mxn": float(reg.spent_month.sum()) * s}
    surcharge = reg.effects.fuel_surcharge_mxn
    fuel_tax = 0.0
    for f, name in enumerate(t.fuel_names):
        per_unit = surcharge[t.fuel_of_tech == f]
        if len(per_unit):
            fuel_tax += rates[f"energy_{name}"] * float(per_unit.max())
    out["fuel_tax_revenue_mxn"] = fuel_tax
    programmes = [x for _, x in reg.instruments if isinstance(x, GreenFreight)]
    covered = None
    if programmes:
        rows = model.active_rows()
        cols = model.registry.cols
        access = reg.effects.access
        age = (model.month - cols["birth_month"][rows]) / 12.0
        covered = access.cover(cols["owner"][rows], t.reported(cols["tech"][rows],
                                                               cols["retrofit"][rows]),
                               cols["vclass"][rows].astype(np.intp),
                               cols["region"][rows].astype(np.intp), age)
    active = reg.active_names
    for i, (kind, x) in enumerate(reg.instruments):
        if kind in SPENDING_KINDS:
            out[f"spend_{x.name}_mxn"] = float(reg.spent_month[i]) * s
            out[f"granted_{x.name}"] = float(reg.granted_month[i]) * s
            out[f"budget_left_{x.name}_mxn"] = reg.budget_left(i) * s
            out[f"units_left_{x.name}"] = reg.units_left(i) * s
        elif isinstance(x, GreenFreight):
            p = programmes.index(x)
            out[f"members_{x.name}"] = float((reg.member_of == p).sum()) * s
            out[f"member_vehicles_{x.name}"] = float((covered == p + 1).sum()) * s
        elif isinstance(x, ContingencyCurfew):
            out[f"curfew_days_{x.name}"] = float(reg.curfew_days[i]) if x.name in active \
                else 0.0
        elif isinstance(x, ZevSalesRequirement):
            out[f"zev_fee_{x.name}_mxn"] = float(reg.fee[i].max())
        out[f"active_{x.name}"] = float(x.name in active)
    for r in model.spec.policy.adaptive:
        out[f"adaptive_{r.name}_fired"] = float(r.name in reg.fired)
    return out


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
