"""Emissions and health against published data: the bands of docs/validation.md (## Emissions,
## Health and money), stated there before running. A known mismatch is xfail(strict=True) with
its measured value, so it fails the day the mechanism is fixed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleetsim.scenarios import load
from fleetsim.sim.health import deaths_per_tonne, premature_deaths
from fleetsim.sim.model import FleetModel
from tests.validation.scenarios import actual_pair, icct_pair

HEAVY = ("C2", "C3", "T3")
DIESEL_KG_PER_L = 0.84


@pytest.fixture(scope="module")
def city():
    """Mexico City at the start of 2025: yearly rates of the heavy trucks, scaled up."""
    m = FleetModel(load("mexico_city", {"simulation.sample_fraction": 0.25}), rng=42)
    t, cols, rows = m.tables, m.registry.cols, m.active_rows()
    tech, vclass = cols["tech"][rows].astype(np.intp), cols["vclass"][rows].astype(np.intp)
    heavy = np.isin(vclass, [t.class_code[c] for c in HEAVY])
    diesel = t.fuel_of_tech[tech] == t.fuel_names.index("diesel")
    rates = {n: m.registry.rates[m.rate_index(n), rows] / m.sample_fraction
             for n in ("km", "pm25_g", "pm25_exhaust_g", "bc_g", "nox_g", "energy_diesel")}
    rates["bc_exhaust_g"] = rates["bc_g"] - rates["km"] * t.wear_bc[tech, vclass]
    return {"rates": rates, "heavy": heavy, "heavy_diesel": heavy & diesel, "tables": t}


def heavy_t(city, name: str) -> float:
    return float(city["rates"][name][city["heavy"]].sum()) / 1e6


def test_e1_city_heavy_pm25_within_the_inventory_band(city):
    assert 750 <= heavy_t(city, "pm25_g") <= 3000


def test_e2_city_heavy_black_carbon_within_the_inventory_band(city):
    assert 225 <= heavy_t(city, "bc_g") <= 900


def test_e3_black_carbon_well_under_half_of_pm25(city):
    assert 0.20 <= heavy_t(city, "bc_g") / heavy_t(city, "pm25_g") <= 0.45


def test_e4_city_heavy_nox_a_plausible_share_of_on_road(city):
    assert 0.25 * 52_219 <= heavy_t(city, "nox_g") <= 0.60 * 52_219


def test_e5_top_tenth_of_trucks_carries_a_zhou_like_share_of_pm(city):
    pm = np.sort(city["rates"]["pm25_exhaust_g"][city["heavy_diesel"]])[::-1]
    assert 0.40 <= pm[: len(pm) // 10].sum() / pm.sum() <= 0.70


@pytest.mark.xfail(strict=True, reason="measured 0.36 g/kg (seed 42): in-use PM of pre-2010 "
                   "diesels too low, see docs/validation.md E6")
def test_e6_in_use_black_carbon_per_kg_fuel_in_the_mexico_city_chase_range(city):
    r, hd = city["rates"], city["heavy_diesel"]
    per_kg = r["bc_exhaust_g"][hd].sum() / (r["energy_diesel"][hd].sum() * DIESEL_KG_PER_L)
    assert 0.4 <= per_kg <= 2.5


def test_e7_non_exhaust_against_exhaust_per_km(city):
    t = city["tables"]
    t3 = t.class_code["T3"]

    def ratio(tech: str) -> float:
        i = t.tech_code[tech]
        return t.wear_pm25[i, t3] / t.pm_g_per_km[i, t3]

    assert ratio("diesel_epa2010") > 5
    assert ratio("diesel_pre1994") < 0.5


def test_e8_electric_non_exhaust_near_diesel(city):
    t = city["tables"]
    t3 = t.class_code["T3"]
    diesel = t.wear_pm25[t.tech_code["diesel_epa2010"], t3]
    assert 0.040 <= diesel <= 0.100
    assert 0.8 <= t.wear_pm25[t.tech_code["battery_electric"], t3] / diesel <= 1.3


def avoided(pair, year_from: int, year_to: int) -> dict[str, float]:
    """Counterfactual (second) less policy (first) over the years given, seed 42."""
    out = []
    for spec in pair:
        m = FleetModel(spec, rng=42)
        while m.month // 12 <= year_to:
            m.step()
        r = m.results()
        out.append(r[(r.year >= year_from) & (r.year <= year_to)])
    return {c: float(out[1][c].sum() - out[0][c].sum()) for c in ("pm25_t", "bc_t", "nox_t")}


@pytest.fixture(scope="module")
def icct_2037():
    return avoided(icct_pair(0.05), 2037, 2037)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured 1,324 t PM2.5 (5% sample, seed 42): 10-20x "
                   "short, see docs/validation.md E9")
def test_e9_nom044_as_icct_modelled_it_pm25_in_2037(icct_2037):
    assert 12_000 <= icct_2037["pm25_t"] <= 36_000


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured 684 t BC (5% sample, seed 42)")
def test_e9_nom044_as_icct_modelled_it_bc_in_2037(icct_2037):
    assert 8_500 <= icct_2037["bc_t"] <= 25_500


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured 174,449 t NOx (5% sample, seed 42)")
def test_e9_nom044_as_icct_modelled_it_nox_in_2037(icct_2037):
    assert 205_000 <= icct_2037["nox_t"] <= 615_000


@pytest.mark.slow
def test_e10_nom044_as_it_came_avoids_pm_but_well_under_icct():
    got = avoided(actual_pair(0.05), 2025, 2037)
    assert 0 < got["pm25_t"] < 225_000


# ---- health and money (docs/validation.md ## Health and money) --------------------------------

def test_h1_crf_slope_within_the_meta_analyses():
    h = load("mexico_national").health
    assert 0.6 <= 100 * math.log(h.relative_risk_per_10_ug_m3) / 10 <= 1.4


def test_h2_h4_deaths_and_damage_per_tonne_in_the_city():
    h = load("mexico_city").health
    d = deaths_per_tonne(h.intake_fraction_urban_ppm, h)
    assert 0.2 <= d <= 2.5
    assert 0.04e6 <= d * h.vsl_usd <= 8e6


def test_h3_deaths_per_tonne_of_the_national_fleet():
    spec = load("baseline_national", {"simulation.sample_fraction": 0.01})
    m = FleetModel(spec, rng=42)
    for _ in range(12):
        m.step()
    r = m.results()
    per_t = premature_deaths(r["pm25_t"], r["pm25_urban_t"], spec.health).sum() / r["pm25_t"].sum()
    assert 0.05 <= per_t <= 0.4
