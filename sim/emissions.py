"""Use, energy, emissions and running costs of vehicles, as yearly rates per vehicle.

Exhaust PM in use: a technology's factor (g/km), times the vehicle's high-emitter multiplier and
its age's deterioration. Up to the factor the particles have the technology's black-carbon
share; the excess above it (worn and high-emitting engines) has its own, mostly organic for
engines without a filter. A share of vehicles with aftertreatment is tampered and emits as the
technology named in `tampered_as`. SCR-equipped engines emit more NOx on urban km. Tyre, brake
and road wear (sim.wear) are added for every technology, electric included.

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
    "pm25_g",  # exhaust and non-exhaust
    "pm25_exhaust_g",
    "pm10_g",  # exhaust and non-exhaust
    "pm25_urban_g",  # the PM2.5 emitted on urban km (exposure is higher there)
    "bc_g",  # exhaust and non-exhaust
    "nox_g",
    "co2_ttw_kg",
    "co2_wtw_kg",
    "energy_cost_mxn",
    "maintenance_mxn",
    "margin_mxn",  # revenue less non-vehicle costs, energy and maintenance
)


ROW = {name: i for i, name in enumerate(RATES)}  # row of each rate in `out`


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
    tampered = tables.can_tamper[t] & (cols["tamper_u"][rows] < e.tampering_share)
    te = np.where(tampered, tables.emits_as_tampered[t], t)  # the technology it emits as
    urban = tables.urban_km_share[cols["region"][rows].astype(np.intp)]
    exhaust_pm_and_bc(out, km, te * n_cls + c, te, r, cols["pm_mult"][rows],
                      deterioration(years, e.pm_deterioration_per_year_of_age,
                                    e.deterioration_cap_multiplier)[age], tables)
    non_exhaust(out, km, tc, tables)
    np.multiply(out[ROW["pm25_g"]], urban, out=out[ROW["pm25_urban_g"]])
    nox_rate(out[ROW["nox_g"]], km, te * n_cls + c, te, urban, cols["nox_mult"][rows]
             * deterioration(years, e.nox_deterioration_per_year_of_age,
                             e.deterioration_cap_multiplier)[age], tables, e)
    np.multiply(energy, tables.ttw_co2_kg[t], out=out[ROW["co2_ttw_kg"]])
    np.add(out[ROW["co2_ttw_kg"]], energy * year.wtt_co2_kg[t], out=out[ROW["co2_wtw_kg"]])
    np.multiply(energy, year.fuel_price_mxn[t], out=out[ROW["energy_cost_mxn"]])
    maint_age = 1.0 + spec.usage.maintenance_growth_per_year_of_age * years
    np.multiply(km, (year.maintenance_mxn_per_km.ravel()[tc]
                     + tables.retrofit_extra_maint.ravel()[r * n_cls + c]) * maint_age[age],
                out=out[ROW["maintenance_mxn"]])
    rep = tables.reported(t, r)
    earn = (earnings.margin_per_km[c] * (1.0 + earnings.uplift[cols["partnership"][rows]])
            * (1.0 - earnings.access.lost_share(cols["owner"][rows], rep, c,
                                                cols["region"][rows].astype(np.intp), age)))
    np.subtract(km * earn, out[ROW["energy_cost_mxn"]] + out[ROW["maintenance_mxn"]],
                out=out[ROW["margin_mxn"]])
    fuel = tables.fuel_of_tech[t]
    for f in range(len(tables.fuel_names)):
        np.multiply(energy, fuel == f, out=out[len(RATES) + f])
    return out


def exhaust_pm_and_bc(out: np.ndarray, km: np.ndarray, tec: np.ndarray, te: np.ndarray,
                      r: np.ndarray, high_emitter: np.ndarray, wear_multiplier: np.ndarray,
                      tables: TechTables) -> None:
    """Exhaust PM2.5 and BC into `out`: up to the factor with the technology's BC share, above
    it (a multiplier over 1) with the excess's own; a retrofit filter removes its shares."""
    engine = km * tables.pm_g_per_km.ravel()[tec]
    m = high_emitter * wear_multiplier
    nominal = engine * np.minimum(m, 1.0)
    excess = engine * np.maximum(m - 1.0, 0.0)
    np.multiply(nominal + excess, 1.0 - tables.pm_reduction[r], out=out[ROW["pm25_exhaust_g"]])
    np.multiply(nominal * tables.bc_fraction[te] + excess * tables.excess_bc_fraction[te],
                1.0 - tables.bc_reduction[r], out=out[ROW["bc_g"]])


def nox_rate(nox: np.ndarray, km: np.ndarray, tec: np.ndarray, te: np.ndarray,
             urban: np.ndarray, multiplier: np.ndarray, tables: TechTables, e) -> None:
    """NOx into `nox`: the factor of the technology it emits as, times the vehicle's emitter
    and age multiplier; SCR works poorly in slow city driving, so more on its urban km."""
    np.multiply(km, tables.nox_g_per_km.ravel()[tec], out=nox)
    nox *= multiplier
    nox *= np.where(tables.scr[te], 1.0 + (e.scr_urban_nox_multiplier - 1.0) * urban, 1.0)


def non_exhaust(out: np.ndarray, km: np.ndarray, tc: np.ndarray, tables: TechTables) -> None:
    """Tyre, brake and road wear added: total PM2.5, PM10 and BC."""
    exhaust = out[ROW["pm25_exhaust_g"]]
    np.add(exhaust, km * tables.wear_pm25.ravel()[tc], out=out[ROW["pm25_g"]])
    np.add(exhaust, km * tables.wear_pm10.ravel()[tc], out=out[ROW["pm10_g"]])
    out[ROW["bc_g"]] += km * tables.wear_bc.ravel()[tc]


def high_emitter_multipliers(z: np.ndarray, sigma: float) -> np.ndarray:
    """Lognormal multipliers with mean 1 from standard normal draws: a few vehicles emit far
    more than the factor for their technology (Zhou et al. 2020)."""
    return np.exp(sigma * z - 0.5 * sigma * sigma).astype(np.float32)
