"""Use, energy, emissions and running costs of vehicles, as yearly rates per vehicle.

Rates depend on age in whole years, so they are computed when a vehicle enters and again each
January; a month's totals are the fleet's yearly rates over twelve. All of it is array arithmetic
over the rows given.
"""

from __future__ import annotations

import numpy as np

from fleetsim.agents.instruments import Access
from fleetsim.scenarios import Scenario

from .registry import VehicleRegistry
from .technology import TechTables, YearTables

# yearly rate columns; then one column per fuel: "energy_<fuel>" in that fuel's unit
RATES = (
    "km",
    "pm25_g",
    "bc_g",
    "nox_g",
    "co2_ttw_kg",
    "co2_wtw_kg",
    "energy_cost_mxn",
    "maintenance_mxn",
    "margin_mxn",  # revenue less non-vehicle costs, energy and maintenance
)


def rate_names(tables: TechTables) -> list[str]:
    return [*RATES, *(f"energy_{f}" for f in tables.fuel_names)]


MAX_AGE_YEARS = 200  # ages index small lookup tables; no vehicle lives this long


def km_factor(age_years: np.ndarray, spec: Scenario) -> np.ndarray:
    """Share of its new-vehicle km a vehicle drives at this age: falls by a share per year,
    down to a floor."""
    u = spec.usage
    return np.maximum((1.0 - u.km_decline_per_year_of_age) ** age_years, u.km_min_share_of_new)


def annual_km(km_new: np.ndarray, age_years: np.ndarray, spec: Scenario) -> np.ndarray:
    return km_new * km_factor(age_years, spec)


def deterioration(age_years: np.ndarray, per_year: float, cap: float) -> np.ndarray:
    """Emission multiplier from wear: 1 when new, rising linearly with age up to a cap."""
    return np.minimum(1.0 + per_year * age_years, cap)


class Earnings:
    """What a vehicle earns per km before vehicle costs, by class, with a partnership contract's
    uplift (by partnership index + 1, 0 = none) and the share lost to access limits (the
    regulator's `Access`: by reported technology, class, region and green-freight cover)."""

    def __init__(self, spec: Scenario, access: Access):
        self.margin_per_km = np.array([c.economics.contribution_mxn_per_km
                                       for c in spec.classes.values()])
        self.contract_share = np.array([0.0, *(p.contract_uplift_share
                                               for p in spec.partnerships)])
        self.uplift = self.contract_share.copy()  # by partnership: only while its partnership runs
        self.access = access

    def set_partnerships_running(self, running: np.ndarray) -> bool:
        """Contracts pay their uplift only while their partnership runs; True if that changed."""
        uplift = self.contract_share * np.concatenate([[True], running])
        changed = not np.array_equal(uplift, self.uplift)
        self.uplift = uplift
        return changed


def compute_rates(
    reg: VehicleRegistry,
    rows: np.ndarray | slice,
    month: int,
    tables: TechTables,
    year: YearTables,
    spec: Scenario,
    earnings: Earnings,
) -> np.ndarray:
    """Yearly rates (one row per name in `rate_names`, one column per vehicle) for the given
    registry rows (indices, or a slice for a whole-fleet pass) at this month."""
    cols = reg.cols
    # whole years of age index lookup tables of the age effects
    age = np.minimum((month - cols["birth_month"][rows]) // 12, MAX_AGE_YEARS)
    years = np.arange(MAX_AGE_YEARS + 1, dtype=float)
    t = cols["tech"][rows].astype(np.intp)
    c = cols["vclass"][rows].astype(np.intp)
    r = cols["retrofit"][rows].astype(np.intp)
    n_cls = len(tables.class_names)
    tc = t * n_cls + c  # one flat gather per [tech, class] table
    e = spec.emissions

    out = np.empty((len(RATES) + len(tables.fuel_names), len(t)))
    km = out[0]
    np.multiply(cols["km_new"][rows], km_factor(years, spec)[age], out=km)
    energy = km * year.energy_per_km.ravel()[tc]
    if len(tables.retrofit_names):
        energy *= 1.0 + tables.fuel_penalty[r]
    pm_engine = km * tables.pm_g_per_km.ravel()[tc]
    pm_engine *= cols["pm_mult"][rows]
    pm_engine *= deterioration(years, e.pm_deterioration_per_year_of_age,
                               e.deterioration_cap_multiplier)[age]
    np.multiply(pm_engine, 1.0 - tables.pm_reduction[r], out=out[1])
    np.multiply(pm_engine, tables.bc_fraction[t] * (1.0 - tables.bc_reduction[r]), out=out[2])
    np.multiply(km, tables.nox_g_per_km.ravel()[tc], out=out[3])
    out[3] *= cols["nox_mult"][rows]
    out[3] *= deterioration(years, e.nox_deterioration_per_year_of_age,
                            e.deterioration_cap_multiplier)[age]
    np.multiply(energy, tables.ttw_co2_kg[t], out=out[4])
    np.add(out[4], energy * year.wtt_co2_kg[t], out=out[5])
    np.multiply(energy, year.fuel_price_mxn[t], out=out[6])
    maint_age = 1.0 + spec.usage.maintenance_growth_per_year_of_age * years
    np.multiply(km, (year.maintenance_mxn_per_km.ravel()[tc]
                     + tables.retrofit_extra_maint.ravel()[r * n_cls + c]) * maint_age[age],
                out=out[7])
    rep = tables.reported(t, r)
    earn = (earnings.margin_per_km[c] * (1.0 + earnings.uplift[cols["partnership"][rows]])
            * (1.0 - earnings.access.lost_share(cols["owner"][rows], rep, c,
                                                cols["region"][rows].astype(np.intp), age)))
    np.subtract(km * earn, out[6] + out[7], out=out[8])
    fuel = tables.fuel_of_tech[t]
    for f in range(len(tables.fuel_names)):
        np.multiply(energy, fuel == f, out=out[len(RATES) + f])
    return out


def high_emitter_multipliers(z: np.ndarray, sigma: float) -> np.ndarray:
    """Lognormal multipliers with mean 1 from standard normal draws: a few vehicles emit far
    more than the factor for their technology (Zhou et al. 2020)."""
    return np.exp(sigma * z - 0.5 * sigma * sigma).astype(np.float32)
