"""Yearly use, energy and emission rates per vehicle."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents import PolicyEffects
from fleetsim.scenarios import load
from fleetsim.sim.emissions import (
    RATES,
    Earnings,
    compute_rates,
    deterioration,
    high_emitter_multipliers,
    km_factor,
    rate_names,
)
from fleetsim.sim.registry import VehicleRegistry
from fleetsim.sim.technology import TechTables
from fleetsim.sim.wear import PM25_SHARE, wear_tsp_g_per_km

NOW = 2030 * 12


def test_deterioration_rises_with_age_and_caps():
    ages = np.arange(0, 80, dtype=float)
    d = deterioration(ages, 0.04, 3.0)
    assert d[0] == 1.0
    assert d[10] == pytest.approx(1.4)
    assert np.all(np.diff(d) >= 0)
    assert np.all(np.diff(d[:50]) > 0)
    assert d.max() == 3.0
    np.testing.assert_array_equal(d[ages >= 50], 3.0)


def test_km_factor_declines_to_a_floor(city_spec):
    u = city_spec.usage
    ages = np.arange(0, 100, dtype=float)
    f = km_factor(ages, city_spec)
    assert f[0] == 1.0
    assert f[1] == pytest.approx(1 - u.km_decline_per_year_of_age)
    assert np.all(np.diff(f) <= 0)
    assert f.min() == pytest.approx(u.km_min_share_of_new)


def test_high_emitter_multipliers_have_mean_one():
    z = np.random.default_rng(1).standard_normal(400_000)
    m = high_emitter_multipliers(z, 1.0)
    assert m.dtype == np.float32
    assert m.mean() == pytest.approx(1.0, abs=0.02)
    assert np.all(m > 0)
    np.testing.assert_array_equal(high_emitter_multipliers(z[:10], 0.0), 1.0)


@pytest.fixture(scope="module")
def tables(city_spec):
    return TechTables(city_spec)


def rates_for(spec, tables, vehicles: list[dict], lost_share=None) -> dict[str, np.ndarray]:
    """Yearly rates of the given vehicles (tech, retrofit, vclass by name, age in years,
    partnership = its index + 1); lost_share: margin lost to access limits by reported
    technology."""
    reg = VehicleRegistry(len(rate_names(tables)))
    n = len(vehicles)
    rows = reg.add(
        owner=np.zeros(n, np.int32),
        vclass=[tables.class_code[v.get("vclass", "C2")] for v in vehicles],
        tech=[tables.tech_code[v["tech"]] for v in vehicles],
        retrofit=[tables.retrofit_code.get(v.get("retrofit"), 0) for v in vehicles],
        region=np.zeros(n), origin=np.zeros(n),
        birth_month=[NOW - 12 * v.get("age", 0) for v in vehicles],
        death_month=np.full(n, NOW + 600),
        km_new=np.full(n, 50_000.0), pm_mult=[v.get("pm_mult", 1.0) for v in vehicles],
        nox_mult=np.ones(n), tamper_u=[v.get("tamper_u", 1.0) for v in vehicles],
        review_month=np.zeros(n), partnership=[v.get("partnership", 0) for v in vehicles])
    access = PolicyEffects.neutral(len(tables.tech_names), len(tables.class_names),
                                   len(tables.retrofit_names), len(spec.regions), 1).access
    if lost_share is not None:
        access.lost[:] = np.asarray(lost_share)[None, :, None, None]
    out = compute_rates(reg, rows, NOW, tables, tables.for_year(NOW // 12), spec,
                        Earnings(spec, access))
    return dict(zip(rate_names(tables), out, strict=True))


def test_retrofitted_filter_cuts_pm_and_bc_by_its_reductions(city_spec, tables):
    r = rates_for(city_spec, tables, [
        {"tech": "diesel_epa2004", "age": 8},
        {"tech": "diesel_epa2004", "age": 8, "retrofit": "diesel_dpf_retrofit"},
    ])
    dpf = city_spec.retrofits["diesel_dpf_retrofit"]
    bc = exhaust_bc(r, tables, "diesel_epa2004")
    assert r["pm25_exhaust_g"][0] > 0 and bc[0] > 0
    assert r["pm25_exhaust_g"][1] == pytest.approx(
        r["pm25_exhaust_g"][0] * (1 - dpf.pm_reduction.value))
    assert bc[1] == pytest.approx(bc[0] * (1 - dpf.bc_reduction.value))
    # a filter does nothing to tyre, brake and road wear
    assert r["pm25_g"][1] - r["pm25_exhaust_g"][1] == pytest.approx(
        r["pm25_g"][0] - r["pm25_exhaust_g"][0])
    # the filter costs fuel, and so CO2
    assert r["co2_ttw_kg"][1] == pytest.approx(r["co2_ttw_kg"][0] * (1 + dpf.fuel_penalty.value))
    assert r["km"][1] == r["km"][0]
    assert r["nox_g"][1] == pytest.approx(r["nox_g"][0])


def exhaust_bc(r, tables, tech: str, vclass: str = "C2") -> np.ndarray:
    """Exhaust black carbon: all BC less the wear's."""
    wear = tables.wear_bc[tables.tech_code[tech], tables.class_code[vclass]]
    return r["bc_g"] - r["km"] * wear


def test_black_carbon_up_to_the_factor_has_the_technology_share_and_the_excess_its_own(
        city_spec, tables):
    r = rates_for(city_spec, tables, [{"tech": "diesel_epa1998", "age": 0},
                                      {"tech": "diesel_epa1998", "age": 0, "pm_mult": 3.0},
                                      {"tech": "diesel_epa1998", "age": 0, "pm_mult": 0.5}])
    tech = city_spec.technologies["diesel_epa1998"]
    f_bc, f_excess = tech.bc_fraction_of_pm.value, tech.excess_bc_fraction_of_pm.value
    assert f_excess < f_bc
    base = r["km"][0] * tech.by_class["C2"].pm25_g_per_km
    np.testing.assert_allclose(r["pm25_exhaust_g"], [base, 3 * base, 0.5 * base])
    np.testing.assert_allclose(exhaust_bc(r, tables, "diesel_epa1998"),
                               [base * f_bc, base * (f_bc + 2 * f_excess), 0.5 * base * f_bc])


def test_a_tampered_vehicle_emits_as_its_untreated_technology(city_spec, tables):
    share = city_spec.emissions.tampering_share
    assert 0 < share < 1
    r = rates_for(city_spec, tables, [
        {"tech": "diesel_epa2010", "vclass": "T3", "tamper_u": share + 0.01},
        {"tech": "diesel_epa2010", "vclass": "T3", "tamper_u": share - 0.01},
        {"tech": "diesel_epa2004", "vclass": "T3", "tamper_u": 0.0}])
    t = city_spec.technologies
    assert t["diesel_epa2010"].tampered_as == "diesel_epa2004"
    assert r["pm25_exhaust_g"][0] / r["km"][0] == pytest.approx(
        t["diesel_epa2010"].by_class["T3"].pm25_g_per_km)
    assert r["pm25_exhaust_g"][1] == pytest.approx(r["pm25_exhaust_g"][2])
    assert r["nox_g"][1] == pytest.approx(r["nox_g"][2])  # no urban SCR penalty: no SCR left
    # an engine with nothing to tamper with is not changed by the draw
    assert t["diesel_epa2004"].tampered_as is None


def test_scr_nox_rises_on_urban_km(city_spec, tables):
    r = rates_for(city_spec, tables, [{"tech": "diesel_epa2010", "vclass": "T3"}])
    e, row = city_spec.emissions, city_spec.technologies["diesel_epa2010"].by_class["T3"]
    assert city_spec.regions["zmvm"].urban_km_share == 1.0
    assert r["nox_g"][0] / r["km"][0] == pytest.approx(
        row.nox_g_per_km * e.scr_urban_nox_multiplier)


def test_battery_electric_has_no_tailpipe_but_upstream_co2(city_spec, tables):
    r = rates_for(city_spec, tables, [{"tech": "battery_electric", "vclass": v, "age": 2}
                                      for v in ("van", "C2", "C3", "T3")])
    assert np.all(r["km"] > 0)
    np.testing.assert_array_equal(r["pm25_exhaust_g"], 0.0)
    np.testing.assert_array_equal(r["nox_g"], 0.0)
    # tyre, brake and road wear remain
    assert np.all(r["pm25_g"] > 0) and np.all(r["pm10_g"] > r["pm25_g"])
    assert np.all(r["bc_g"] > 0)
    np.testing.assert_array_equal(r["co2_ttw_kg"], 0.0)
    assert np.all(r["co2_wtw_kg"] > 0)
    assert np.all(r["energy_electricity"] > 0)
    np.testing.assert_array_equal(r["energy_diesel"], 0.0)


def test_diesel_well_to_wheel_exceeds_tank_to_wheel(city_spec, tables):
    r = rates_for(city_spec, tables, [{"tech": "diesel_epa2010", "age": 0}])
    diesel = city_spec.fuels["diesel"]
    litres = r["energy_diesel"][0]
    assert litres == pytest.approx(r["km"][0] * 20.5 / 100)  # C2 EPA 2010: 20.5 L/100 km
    assert r["co2_ttw_kg"][0] == pytest.approx(litres * diesel.ttw_co2_kg_per_unit)
    assert r["co2_wtw_kg"][0] == pytest.approx(
        litres * (diesel.ttw_co2_kg_per_unit + diesel.wtt_co2_kg_per_unit))
    assert r["energy_cost_mxn"][0] == pytest.approx(litres * 26.30)


def test_emissions_per_km_rise_with_age_and_cap(city_spec, tables):
    ages = [0, 5, 10, 20, 49, 50, 70]
    r = rates_for(city_spec, tables, [{"tech": "diesel_epa2007", "age": a} for a in ages])
    pm_per_km = r["pm25_exhaust_g"] / r["km"]
    e = city_spec.emissions
    expected = 0.035 * np.minimum(1 + e.pm_deterioration_per_year_of_age * np.array(ages),
                                  e.deterioration_cap_multiplier)
    np.testing.assert_allclose(pm_per_km, expected, rtol=1e-6)
    assert pm_per_km[-1] == pytest.approx(0.035 * e.deterioration_cap_multiplier)
    # older vehicles drive less, down to the floor
    assert np.all(np.diff(r["km"]) <= 0)
    assert r["km"][-1] == pytest.approx(50_000 * city_spec.usage.km_min_share_of_new)


def test_rate_names_cover_every_fuel(tables):
    names = rate_names(tables)
    assert names[: len(RATES)] == list(RATES)
    assert names[len(RATES):] == [f"energy_{f}" for f in tables.fuel_names]


def test_maintenance_rises_with_age(city_spec, tables):
    ages = [0, 1, 5, 10, 30]
    r = rates_for(city_spec, tables, [{"tech": "diesel_epa2007", "age": a} for a in ages])
    per_km = r["maintenance_mxn"] / r["km"]
    base = tables.for_year(NOW // 12).maintenance_mxn_per_km[
        tables.tech_code["diesel_epa2007"], tables.class_code["C2"]]
    g = city_spec.usage.maintenance_growth_per_year_of_age
    assert g > 0
    np.testing.assert_allclose(per_km, base * (1 + g * np.array(ages)), rtol=1e-9)
    assert np.all(np.diff(per_km) > 0)


def test_retrofit_adds_its_maintenance(city_spec, tables):
    r = rates_for(city_spec, tables, [
        {"tech": "diesel_epa2004", "age": 4},
        {"tech": "diesel_epa2004", "age": 4, "retrofit": "diesel_dpf_retrofit"},
    ])
    extra = city_spec.retrofits["diesel_dpf_retrofit"].by_class["C2"].extra_maintenance_mxn_per_km
    g = city_spec.usage.maintenance_growth_per_year_of_age
    assert r["maintenance_mxn"][1] - r["maintenance_mxn"][0] == pytest.approx(
        r["km"][0] * extra * (1 + 4 * g))


def test_margin_is_revenue_less_energy_and_maintenance(city_spec, tables):
    r = rates_for(city_spec, tables, [{"tech": "diesel_epa2010", "age": a} for a in (0, 12)])
    per_km = city_spec.classes["C2"].economics.contribution_mxn_per_km
    expected = r["km"] * per_km - r["energy_cost_mxn"] - r["maintenance_mxn"]
    np.testing.assert_allclose(r["margin_mxn"], expected, rtol=1e-9)
    assert RATES[-1] == "margin_mxn"


def test_access_limits_take_their_share_of_revenue(city_spec, tables):
    lost = np.zeros(len(tables.reported_names))
    lost[tables.reported_names.index("diesel_pre1994")] = 0.25
    vehicles = [{"tech": "diesel_pre1994", "age": 35}, {"tech": "diesel_epa2010", "age": 3}]
    free, limited = rates_for(city_spec, tables, vehicles), rates_for(city_spec, tables,
                                                                       vehicles, lost)
    revenue = free["km"][0] * city_spec.classes["C2"].economics.contribution_mxn_per_km
    assert limited["margin_mxn"][0] == pytest.approx(free["margin_mxn"][0] - 0.25 * revenue)
    assert limited["margin_mxn"][1] == pytest.approx(free["margin_mxn"][1])
    assert limited["energy_cost_mxn"][0] == free["energy_cost_mxn"][0]


def test_partnership_contract_lifts_the_margin():
    spec = load("mexico_city_partnership")
    tables = TechTables(spec)
    uplift = spec.partnerships[0].contract_uplift_share
    assert uplift > 0
    r = rates_for(spec, tables, [{"tech": "diesel_epa2010", "age": 2},
                                 {"tech": "diesel_epa2010", "age": 2, "partnership": 1}])
    revenue = r["km"][0] * spec.classes["C2"].economics.contribution_mxn_per_km
    assert r["margin_mxn"][1] - r["margin_mxn"][0] == pytest.approx(uplift * revenue)
    assert r["pm25_g"][1] == r["pm25_g"][0]


def test_non_exhaust_reproduces_the_guidebook_at_half_load_and_50_km_h():
    """docs/sources.md A3: PM2.5 mg/km tyre, brake, road for C2 (2 axles), C3 (3), T3S2 (5)."""
    expected = {2: (12.2, 17.9, 20.5), 3: (18.3, 17.9, 20.5), 5: (30.4, 17.9, 20.5)}
    for axles, mg in expected.items():
        tsp = wear_tsp_g_per_km(True, axles, 0.5, 50.0)
        np.testing.assert_allclose(tsp * PM25_SHARE * 1000, mg, atol=0.15)  # sources rounded
    # Germany's IIR: 4 axles at LF 0.5 without speed correction, tyre 45.0 and brake 32.7 mg TSP
    at_one = wear_tsp_g_per_km(True, 4, 0.5, 0.78 / 0.00974)
    assert at_one[0] * 1000 == pytest.approx(45.0, abs=0.1)
    brake = wear_tsp_g_per_km(True, 4, 0.5, 1.75 / 0.0270)[1]  # where its speed factor is 1
    assert brake * 1000 == pytest.approx(32.7, abs=0.05)


def test_non_exhaust_is_there_for_every_technology_and_electric_near_diesel(city_spec, tables):
    assert np.all(tables.wear_pm25[:, [tables.class_code[c] for c in city_spec.classes]] > 0)
    t3 = tables.class_code["T3"]
    bev = tables.wear_pm25[tables.tech_code["battery_electric"], t3]
    diesel = tables.wear_pm25[tables.tech_code["diesel_epa2010"], t3]
    assert 0.8 <= bev / diesel <= 1.3  # sources.md A3 band
    # T3S2 urban, half load: 40-100 mg/km (sources.md A3 band)
    assert 0.040 <= diesel <= 0.100
