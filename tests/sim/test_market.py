"""The market: new-sales shares under standards, used imports under import rules, growth."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from fleetsim.scenarios.schema import ImportRule, NewVehicleStandard
from fleetsim.sim import market
from fleetsim.sim.technology import TechTables


@pytest.fixture(scope="module")
def tables(city_spec):
    return TechTables(city_spec)


def shares_by_name(tables, shares) -> dict[str, float]:
    return {t: s for t, s in zip(tables.tech_names, shares, strict=True) if s > 0}


def test_sales_shares_follow_the_mix(city_spec, tables):
    shares = market.sales_shares(city_spec, tables, "van", 2025, None)
    assert shares.sum() == pytest.approx(1.0)
    assert shares_by_name(tables, shares) == pytest.approx(
        city_spec.market.sales_mix.by_class["van"][2025])


def test_sales_shares_interpolate_between_years(city_spec, tables):
    points = city_spec.market.sales_mix.by_class["van"]
    shares = shares_by_name(tables, market.sales_shares(city_spec, tables, "van", 2030, None))
    for tech in set(points[2025]) | set(points[2035]):
        expected = (points[2025].get(tech, 0) + points[2035].get(tech, 0)) / 2
        assert shares.get(tech, 0) == pytest.approx(expected), tech


def test_standard_keeps_only_allowed_technologies(city_spec, tables):
    std = city_spec.regulation.new_vehicle_standards[0]
    mix = city_spec.market.sales_mix.by_class["C2"][2025]
    shares = market.sales_shares(city_spec, tables, "C2", 2025, std)
    assert shares.sum() == pytest.approx(1.0)
    allowed = set(std.allowed_technologies)
    got = shares_by_name(tables, shares)
    assert set(got) <= allowed
    assert set(mix) - allowed, "the test needs a mix with barred technologies"
    # barred shares move to the allowed ones in proportion
    allowed_total = sum(v for t, v in mix.items() if t in allowed)
    assert got == pytest.approx({t: v / allowed_total for t, v in mix.items() if t in allowed})


def test_standard_falls_back_when_the_mix_has_nothing_allowed(city_spec, tables):
    std = NewVehicleStandard(name="gas only", effective=date(2025, 1, 1), classes=["van"],
                             allowed_technologies=["natural_gas"],
                             fallback_technology="natural_gas", source="[E] test")
    assert "natural_gas" not in city_spec.market.sales_mix.by_class["van"][2025]
    shares = market.sales_shares(city_spec, tables, "van", 2025, std)
    assert shares_by_name(tables, shares) == {"natural_gas": 1.0}


def test_draw_new_technologies_matches_shares(tables):
    shares = np.zeros(len(tables.tech_names))
    shares[[2, 4, 6]] = [0.2, 0.5, 0.3]
    drawn = market.draw_new_technologies(shares, 100_000, np.random.default_rng(1))
    assert drawn.dtype == np.int8
    freq = np.bincount(drawn, minlength=len(shares)) / len(drawn)
    np.testing.assert_allclose(freq, shares, atol=0.01)
    assert set(np.unique(drawn)) == {2, 4, 6}


def test_import_technology_by_model_year(city_spec, tables):
    years = np.array([1850, 1993, 1994, 2003, 2004, 2009, 2010, 2024])
    codes = market.import_technology_by_model_year(city_spec, tables, years)
    names = [tables.tech_names[c] for c in codes]
    assert names == ["diesel_pre1994", "diesel_pre1994", "diesel_epa1998", "diesel_epa1998",
                     "diesel_epa2004", "diesel_epa2007", "diesel_epa2010", "diesel_epa2010"]


def test_imports_without_a_rule_are_all_admitted(city_spec, tables):
    age, tech, ok = market.draw_imports(city_spec, tables, 5000, 2025 * 12, None,
                                        np.random.default_rng(2))
    assert ok.all()
    assert age.min() >= 12 and age.max() < 21 * 12, "import ages are 1-20 years"
    assert len(age) == len(tech) == 5000


def test_import_rule_bars_old_and_ineligible_imports(city_spec, tables):
    rule = city_spec.regulation.used_import_rules[0]
    assert rule.max_age_years == 10
    now = 2026 * 12
    age, tech, ok = market.draw_imports(city_spec, tables, 20_000, now, rule,
                                        np.random.default_rng(3))
    allowed = np.isin(tech, [tables.tech_code[t] for t in rule.allowed_technologies])
    young = age < 11 * 12  # at most 10 whole years old
    np.testing.assert_array_equal(ok, young & allowed)
    assert ok.any() and (~ok).any()
    assert not ok[age >= 11 * 12].any()
    # model year 2010 on is EPA 2010: all admitted imports are of it
    assert set(np.unique(tech[ok])) == {tables.tech_code["diesel_epa2010"]}


def test_import_rule_on_age_only(city_spec, tables):
    rule = ImportRule(name="age only", effective=date(2025, 1, 1), max_age_years=5,
                      source="[E] test")
    age, tech, ok = market.draw_imports(city_spec, tables, 20_000, 2026 * 12, rule,
                                        np.random.default_rng(4))
    np.testing.assert_array_equal(ok, age < 6 * 12)


def test_monthly_growth_compounds_to_the_yearly_rate(city_spec):
    g = market.monthly_growth(city_spec, 2025.0)
    assert (1 + g) ** 12 == pytest.approx(1.02)
    path = city_spec.market.growth_per_year.value
    expected_2050 = (path[2040] + path[2060]) / 2
    assert (1 + market.monthly_growth(city_spec, 2050.0)) ** 12 == pytest.approx(
        1 + expected_2050)


def test_used_price_declines_with_age(city_spec):
    ref = np.array([100.0, 200.0])
    keep = city_spec.market.resale_value_retained_per_year.value
    price = market.used_price(city_spec, ref, np.array([0, 1, 1]), np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(price, [100.0, 200.0 * keep, 200.0 * keep**2])
