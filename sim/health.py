"""Premature deaths from primary PM2.5, and what they and CO2 are worth.

Intake fraction iF (grams inhaled per tonne emitted, ppm) turns a tonne into the population's
intake; spread over the population's breathing, that is the sum over people of the
concentration change (person·µg/m³), so the population size cancels. A log-linear
concentration-response function with slope beta = ln(RR per 10 µg/m³) / 10, linearised for small
changes, gives deaths = baseline mortality rate × beta × that sum. Deaths are counted in the year
of the emission (no cessation lag). Secondary PM from NOx is not counted.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fleetsim.scenarios.schema import Health

DAYS_PER_YEAR = 365.0
UG_PER_T = 1e12


def deaths_per_tonne(intake_fraction_ppm: float, h: Health) -> float:
    """Premature deaths per tonne of primary PM2.5 emitted where the intake fraction is this."""
    intake_ug = intake_fraction_ppm * 1e-6 * UG_PER_T
    person_ug_m3 = intake_ug / (h.breathing_rate_m3_per_day * DAYS_PER_YEAR)
    beta = math.log(h.relative_risk_per_10_ug_m3) / 10.0
    return h.baseline_mortality_per_100k / 1e5 * beta * person_ug_m3


def premature_deaths(pm25_t: np.ndarray, pm25_urban_t: np.ndarray, h: Health) -> np.ndarray:
    """Deaths from the PM2.5 emitted (t), split into urban km and the rest."""
    urban = np.asarray(pm25_urban_t, float)
    rural = np.asarray(pm25_t, float) - urban
    return (urban * deaths_per_tonne(h.intake_fraction_urban_ppm, h)
            + rural * deaths_per_tonne(h.intake_fraction_rural_ppm, h))


def discount_factors(months: int, rate_per_year: float) -> np.ndarray:
    """Present value of one MXN in each month of a run, at its first month."""
    return (1.0 + rate_per_year) ** (-np.arange(months) / 12.0)


# operators' outlays: running costs and vehicles bought, less public grants they received
PRIVATE_COSTS = ("energy_cost_mxn", "maintenance_mxn", "purchase_new_mxn", "purchase_import_mxn")
PRIVATE_GRANTS = ("subsidy_mxn", "scrap_bonus_mxn")


def private_costs_mxn(results: pd.DataFrame) -> np.ndarray:
    """Operators' monthly outlays on energy, maintenance and vehicles, less grants received.
    Retrofit kits' prices are not among the recorded flows, so they are not counted."""
    cost = sum(results[c].to_numpy(float) for c in PRIVATE_COSTS)
    return cost - sum(results[c].to_numpy(float) for c in PRIVATE_GRANTS)


def health_and_money(pol: pd.DataFrame, base: pd.DataFrame, h: Health) -> dict[str, float]:
    """Deaths avoided (baseline less policy) and, in MXN at the run's first month, discounted at
    the scenario's rate: health benefits (deaths x VSL), climate benefits (well-to-wheel CO2 x
    social cost of carbon), the change in operators' private costs and in public spending, and
    the net benefit (benefits less both changes; grants are transfers and cancel)."""
    w = discount_factors(len(pol), h.discount_rate_per_year)
    deaths = (premature_deaths(base["pm25_t"], base["pm25_urban_t"], h)
              - premature_deaths(pol["pm25_t"], pol["pm25_urban_t"], h))
    usd = h.mxn_per_usd
    health = float((deaths * w).sum()) * h.vsl_usd * usd
    co2 = (base["co2_wtw_t"].to_numpy(float) - pol["co2_wtw_t"].to_numpy(float))
    climate = float((co2 * w).sum()) * h.social_cost_of_carbon_usd_per_t * usd
    private = float(((private_costs_mxn(pol) - private_costs_mxn(base)) * w).sum())
    public = float(((pol["public_spending_mxn"].to_numpy(float)
                     - base["public_spending_mxn"].to_numpy(float)) * w).sum())
    return {
        "deaths_avoided": float(deaths.sum()),
        "health_benefit_mxn": health,
        "climate_benefit_mxn": climate,
        "private_cost_change_mxn": private,
        "public_cost_change_mxn": public,
        "net_benefit_mxn": health + climate - private - public,
    }
