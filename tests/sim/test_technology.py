"""Technology lookup tables and paths over time."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.scenarios.schema_base import at_year
from fleetsim.sim.technology import TechTables


def test_at_year_number_and_none():
    assert at_year(3.5, 2030) == 3.5
    assert at_year(0, 1990) == 0.0
    assert np.isnan(at_year(None, 2030))
    assert at_year(None, 2030, default=7.0) == 7.0


def test_at_year_interpolates_linearly():
    path = {2025: 10.0, 2035: 20.0, 2045: 0.0}
    assert at_year(path, 2025) == 10.0
    assert at_year(path, 2030) == pytest.approx(15.0)
    assert at_year(path, 2027.5) == pytest.approx(12.5)
    assert at_year(path, 2040) == pytest.approx(10.0)
    assert at_year(path, 2035) == 20.0


def test_at_year_is_flat_outside_its_years():
    path = {2035: 20.0, 2025: 10.0}  # order of keys does not matter
    assert at_year(path, 1990) == 10.0
    assert at_year(path, 2024.9) == 10.0
    assert at_year(path, 2100) == 20.0
    assert at_year({2030: 4.0}, 2000) == at_year({2030: 4.0}, 2060) == 4.0


@pytest.fixture(scope="module")
def tables(city_spec):
    return TechTables(city_spec)


def test_names_and_codes(tables, city_spec):
    assert tables.tech_names == list(city_spec.technologies)
    assert tables.class_names == list(city_spec.classes)
    assert tables.reported_names == [*city_spec.technologies, *city_spec.retrofits]
    assert tables.reported_names == city_spec.technology_names
    assert tables.retrofit_code == {"diesel_dpf_retrofit": 1}
    assert all(tables.tech_names[code] == name for name, code in tables.tech_code.items())


def test_reported_codes(tables):
    tech = np.array([0, 3, 3, 6])
    retrofit = np.array([0, 0, 1, 0])
    rep = tables.reported(tech, retrofit)
    names = [tables.reported_names[i] for i in rep]
    assert names == [tables.tech_names[0], tables.tech_names[3], "diesel_dpf_retrofit",
                     tables.tech_names[6]]


def test_soot_free_and_zero_emission_flags(tables, city_spec):
    soot_free = dict(zip(tables.reported_names, tables.soot_free_reported, strict=True))
    zev = dict(zip(tables.reported_names, tables.zev_reported, strict=True))
    assert soot_free["diesel_epa2010"] and soot_free["battery_electric"]
    assert soot_free["diesel_dpf_retrofit"]
    assert not soot_free["diesel_epa2004"] and not soot_free["diesel_pre1994"]
    assert zev["battery_electric"] and not zev["natural_gas"]
    assert not zev["diesel_dpf_retrofit"]
    assert sum(zev.values()) == sum(t.zero_emission for t in city_spec.technologies.values())


def test_year_tables(tables, city_spec):
    c2 = tables.class_code["C2"]
    bev, pre = tables.tech_code["battery_electric"], tables.tech_code["diesel_pre1994"]
    y2027 = tables.for_year(2027)
    assert tables.for_year(2027) is y2027, "a year's tables are computed once"
    row = city_spec.technologies["battery_electric"].by_class["C2"]
    # energy per km is per 100 km / 100, interpolated
    expected_energy = at_year(row.energy_units_per_100km, 2027) / 100.0
    assert y2027.energy_per_km[bev, c2] == pytest.approx(expected_energy)
    # price 2,660,000 (2025) -> 2,100,000 (2030): 2027 is 40% of the way
    assert y2027.price_mxn[bev, c2] == pytest.approx(2_660_000 - 0.4 * 560_000)
    assert np.isnan(y2027.price_mxn[pre, c2]), "pre-1994 diesel is not sold new"
    # electricity's upstream CO2 falls over time, diesel's price is flat after 2025
    assert tables.for_year(2050).wtt_co2_kg[bev] < tables.for_year(2025).wtt_co2_kg[bev]
    diesel = tables.tech_code["diesel_epa2010"]
    assert tables.for_year(2040).fuel_price_mxn[diesel] == pytest.approx(26.30)


def test_fixed_tables(tables, city_spec):
    bev, c3 = tables.tech_code["battery_electric"], tables.class_code["C3"]
    assert tables.pm_g_per_km[bev, c3] == 0.0
    assert tables.ttw_co2_kg[bev] == 0.0
    assert tables.pm_reduction[0] == 0.0 and tables.bc_reduction[0] == 0.0
    dpf = city_spec.retrofits["diesel_dpf_retrofit"]
    assert tables.pm_reduction[1] == dpf.pm_reduction.value
    assert tables.bc_reduction[1] == dpf.bc_reduction.value
    # city-specific (urban) factors override the national ones for C3
    epa1998 = tables.tech_code["diesel_epa1998"]
    assert tables.pm_g_per_km[epa1998, c3] == pytest.approx(0.145)
    assert tables.has_class.all()
