"""The market: what vehicles are worth (Valuer), the used imports the import rule admits
(ImportSupply), the engine of an import by model year, and demand growth."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from fleetsim.scenarios.schema import ImportRule
from fleetsim.sim import market
from fleetsim.sim.technology import TechTables

NOW = 2026 * 12  # January 2026


@pytest.fixture(scope="module")
def tables(city_spec):
    return TechTables(city_spec)


@pytest.fixture(scope="module")
def valuer(city_spec, tables):
    return market.Valuer(city_spec, tables)


@pytest.fixture(scope="module")
def supply(city_spec, tables):
    return market.ImportSupply(city_spec, tables)


# ---- the value of a vehicle ---------------------------------------------------------------------

def test_value_declines_with_age_from_the_new_price_to_a_plateau(city_spec, tables, valuer):
    year = tables.for_year(2026)
    t, c = tables.tech_code["diesel_epa2010"], tables.class_code["T3"]
    keep = city_spec.market.resale_value_retained_per_year.value
    plateau = city_spec.market.resale_value_plateau_share.value
    factor = city_spec.used_market.technology_value_factor["diesel_epa2010"]
    ages = np.array([0.0, 1.0, 2.5, 5.0, 8.0, 17.0, 19.0, 40.0])
    value = valuer.value(year, np.full(len(ages), t), np.full(len(ages), c), ages)
    share = plateau + (1 - plateau) * keep**ages
    np.testing.assert_allclose(value, year.price_mxn[t, c] * share * factor)
    assert np.all(np.diff(value) < 0)
    new = year.price_mxn[t, c] * factor
    lost = new - value
    # most of what is lost by 19 years is lost between ages 2 and 8 (DATA.md); little after 17
    between = np.interp(8.0, ages, lost) - np.interp(2.0, ages, lost)
    assert between > np.interp(2.0, ages, lost)
    assert between > lost[ages == 19.0][0] - np.interp(8.0, ages, lost)
    yearly = valuer.value(year, np.full(40, t), np.full(40, c), np.arange(40.0))
    drop = 1 - yearly[1:] / yearly[:-1]  # share of its value lost in the year after each age
    assert (drop[2:8] > 0.10).all() and (drop[17:] < 0.05).all()  # levelled off by 17-19


def test_value_never_falls_below_scrap(tables):
    from fleetsim.scenarios import load

    spec = load("mexico_city", {"market.resale_value_plateau_share.value": 0.0})
    valuer = market.Valuer(spec, tables)
    year = tables.for_year(2026)
    scrap = {name: cls.economics.scrap_value_mxn for name, cls in spec.classes.items()}
    for name, c in tables.class_code.items():
        v = valuer.value(year, np.array([tables.tech_code["diesel_epa1998"]]), np.array([c]),
                         np.array([200.0]))
        assert v[0] == pytest.approx(scrap[name]), name


def test_engines_no_longer_sold_are_valued_from_the_reference_technology(city_spec, tables,
                                                                           valuer):
    year = tables.for_year(2026)
    pre, ref = tables.tech_code["diesel_pre1994"], tables.tech_code[
        city_spec.market.used_price_reference_technology]
    c = tables.class_code["C2"]
    assert np.isnan(year.price_mxn[pre, c])
    base = valuer.base_price(year)
    assert base[pre, c] == year.price_mxn[ref, c]
    assert not np.isnan(base).any()
    factor = city_spec.used_market.technology_value_factor
    v = valuer.value(year, np.array([pre, ref]), np.array([c, c]), np.array([3.0, 3.0]))
    assert v[0] / v[1] == pytest.approx(factor["diesel_pre1994"] / factor[
        city_spec.market.used_price_reference_technology])


def test_cleaner_engines_are_worth_more(tables, valuer):
    year = tables.for_year(2026)
    names = ["diesel_pre1994", "diesel_epa1998", "diesel_epa2004", "diesel_epa2007",
             "diesel_epa2010"]
    codes = np.array([tables.tech_code[n] for n in names])
    c = np.full(len(codes), tables.class_code["T3"])
    v = valuer.value(year, codes, c, np.full(len(codes), 8.0))
    assert np.all(np.diff(v) > 0)


# ---- used imports -------------------------------------------------------------------------------

def test_import_technology_by_model_year(city_spec, tables):
    years = np.array([1850, 1993, 1994, 2003, 2004, 2009, 2010, 2024])
    codes = market.import_technology_by_model_year(city_spec, tables, years)
    names = [tables.tech_names[c] for c in codes]
    assert names == ["diesel_pre1994", "diesel_pre1994", "diesel_epa1998", "diesel_epa1998",
                     "diesel_epa2004", "diesel_epa2007", "diesel_epa2010", "diesel_epa2010"]


def test_offer_without_a_rule_follows_the_age_distribution(city_spec, supply):
    ages, p = supply.offer(NOW, None)
    assert p.sum() == pytest.approx(1.0)
    bins = city_spec.market.used_imports.age.bins()
    assert ages.min() == bins[0][0] and ages.max() == bins[-1][1]
    for lo, hi, share in bins:
        in_bin = (ages >= lo) & (ages <= hi)
        assert p[in_bin].sum() == pytest.approx(share), (lo, hi)
        np.testing.assert_allclose(p[in_bin], share / (hi - lo + 1))


def test_rule_admits_only_young_clean_imports(city_spec, tables, supply):
    rule = city_spec.regulation.used_import_rules[0]
    assert rule.max_age_years == 10
    ages, p = supply.offer(NOW, rule)
    assert len(ages) > 0 and p.sum() == pytest.approx(1.0)
    assert ages.max() <= 10
    techs = market.import_technology_by_model_year(city_spec, tables, 2026 - ages)
    assert set(tables.tech_names[t] for t in techs) <= set(rule.allowed_technologies)
    # the admitted ages keep their relative shares
    all_ages, all_p = supply.offer(NOW, None)
    kept = np.isin(all_ages, ages)
    np.testing.assert_allclose(p, all_p[kept] / all_p[kept].sum())


def test_rule_on_age_only(supply):
    rule = ImportRule(name="age only", effective=date(2025, 1, 1), max_age_years=5,
                      source="[E] test")
    ages, _ = supply.offer(NOW, rule)
    np.testing.assert_array_equal(ages, np.arange(1, 6))


def test_rule_on_technology_only(city_spec, tables, supply):
    rule = ImportRule(name="EPA 2007 on", effective=date(2025, 1, 1),
                      allowed_technologies=["diesel_epa2007", "diesel_epa2010"],
                      source="[E] test")
    ages, _ = supply.offer(NOW, rule)
    # model years 2007 on: ages up to 19 in 2026
    np.testing.assert_array_equal(ages, np.arange(1, 20))


def test_rule_that_admits_nothing(supply):
    rule = ImportRule(name="nothing", effective=date(2025, 1, 1), max_age_years=0,
                      source="[E] test")
    ages, p = supply.offer(NOW, rule)
    assert len(ages) == len(p) == 0
    assert supply.typical(NOW, rule) is None


def test_typical_import(city_spec, tables, supply):
    rule = city_spec.regulation.used_import_rules[0]
    ages, p = supply.offer(NOW, rule)
    mean_age, tech = supply.typical(NOW, rule)
    assert mean_age == pytest.approx((ages * p).sum())
    assert tables.tech_names[tech] == "diesel_epa2010"
    unruled_age, unruled_tech = supply.typical(NOW, None)
    assert unruled_age > mean_age, "the rule keeps older imports out"


@pytest.mark.parametrize("ruled", [False, True])
def test_draw_follows_the_offer(city_spec, tables, supply, ruled):
    rule = city_spec.regulation.used_import_rules[0] if ruled else None
    ages, p = supply.offer(NOW, rule)
    age_months, tech = supply.draw(50_000, NOW, rule,
                                 np.random.default_rng(3).random((2, 50_000)))
    assert age_months.dtype == np.int32
    years = age_months // 12
    assert set(np.unique(years)) <= set(ages)
    freq = np.array([(years == a).mean() for a in ages])
    np.testing.assert_allclose(freq, p, atol=0.01)
    np.testing.assert_array_equal(
        tech, market.import_technology_by_model_year(city_spec, tables,
                                                     (NOW - age_months) // 12))
    if ruled:
        assert age_months.max() < 11 * 12, "at most 10 whole years old"
        allowed = [tables.tech_code[t] for t in rule.allowed_technologies]
        assert np.isin(tech, allowed).all()


# ---- growth -------------------------------------------------------------------------------------

def test_monthly_growth_compounds_to_the_yearly_rate(city_spec):
    g = market.monthly_growth(city_spec, 2025.0)
    assert (1 + g) ** 12 == pytest.approx(1.02)
    path = city_spec.market.growth_per_year.value
    expected_2050 = (path[2040] + path[2060]) / 2
    assert (1 + market.monthly_growth(city_spec, 2050.0)) ** 12 == pytest.approx(
        1 + expected_2050)


@pytest.mark.parametrize("month", [0, 6])  # January and July 2026
def test_draw_under_an_engine_only_rule_admits_only_its_engines(tables, supply, month):
    rule = ImportRule(name="EPA 2010 on", effective=date(2025, 1, 1),
                      allowed_technologies=["diesel_epa2010"], source="[E] test")
    _, tech = supply.draw(20_000, NOW + month, rule,
                         np.random.default_rng(5).random((2, 20_000)))
    assert set(tables.tech_names[t] for t in np.unique(tech)) == {"diesel_epa2010"}
