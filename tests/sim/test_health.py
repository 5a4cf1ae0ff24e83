"""Premature deaths from primary PM2.5 and the money of a comparison, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fleetsim.scenarios import load
from fleetsim.sim.comparison import intervals
from fleetsim.sim.health import (
    PRIVATE_COSTS,
    PRIVATE_GRANTS,
    deaths_per_tonne,
    discount_factors,
    health_and_money,
    premature_deaths,
)


@pytest.fixture(scope="module")
def city_health():
    return load("mexico_city").health


def test_deaths_per_tonne_by_hand(city_health):
    """One tonne of PM2.5 emitted in Mexico City: 83 g inhaled (iF 83 ppm) = 8.3e7 ug; a person
    breathes 14.5 m3/day x 365 = 5,292.5 m3/year, so the population's exposure sums to
    8.3e7 / 5,292.5 = 15,682.6 person.ug/m3; beta = ln(1.08) / 10 = 0.0076961 per ug/m3;
    deaths = 615 / 100,000 x 0.0076961 x 15,682.6 = 0.7423."""
    h = city_health
    assert (h.intake_fraction_urban_ppm, h.relative_risk_per_10_ug_m3,
            h.baseline_mortality_per_100k, h.breathing_rate_m3_per_day) == (83, 1.08, 615, 14.5)
    assert deaths_per_tonne(83, h) == pytest.approx(0.7423, abs=1e-4)
    # rural intake fraction 2 ppm: 2/83 of that
    assert deaths_per_tonne(2, h) == pytest.approx(0.7423 * 2 / 83, abs=1e-5)
    # within sources.md A5's band for the city: 0.2-2.5 deaths per tonne
    assert 0.2 <= deaths_per_tonne(h.intake_fraction_urban_ppm, h) <= 2.5


def test_deaths_split_urban_and_rural(city_health):
    h = city_health
    d = premature_deaths(np.array([10.0]), np.array([4.0]), h)
    assert d[0] == pytest.approx(4 * deaths_per_tonne(83, h) + 6 * deaths_per_tonne(2, h))


def frame(months: int, **cols) -> pd.DataFrame:
    base = {c: np.zeros(months) for c in ("pm25_t", "pm25_urban_t", "co2_wtw_t",
                                          "public_spending_mxn", *PRIVATE_COSTS,
                                          *PRIVATE_GRANTS)}
    base.update({k: np.asarray(v, float) for k, v in cols.items()})
    return pd.DataFrame(base)


def test_health_and_money_by_hand(city_health):
    """Policy avoids 10 t of urban PM2.5 in month 0 and 10 t in month 12 (a year later),
    1,000 t of CO2 in month 0; costs operators 1 M MXN more in month 12 (a vehicle bought, half
    of it paid by a 0.5 M MXN grant) and the public 0.5 M MXN in month 12."""
    h = city_health
    months = 13
    base = frame(months, pm25_t=[10] + [0] * 11 + [10], pm25_urban_t=[10] + [0] * 11 + [10],
                 co2_wtw_t=[1000] + [0] * 12)
    buy = [0] * 12 + [1e6]
    grant = [0] * 12 + [5e5]
    pol = frame(months, purchase_new_mxn=buy, subsidy_mxn=grant, public_spending_mxn=grant)
    out = health_and_money(pol, base, h)
    d = deaths_per_tonne(83, h) * 10
    one_year = 1 / 1.10
    vsl_mxn = 3_300_000 * 18.0
    assert out["deaths_avoided"] == pytest.approx(2 * d)
    assert out["health_benefit_mxn"] == pytest.approx(d * (1 + one_year) * vsl_mxn)
    assert out["climate_benefit_mxn"] == pytest.approx(1000 * 190 * 18.0)
    assert out["private_cost_change_mxn"] == pytest.approx(5e5 * one_year)
    assert out["public_cost_change_mxn"] == pytest.approx(5e5 * one_year)
    # the grant is a transfer: the net benefit bears the vehicle's whole price once
    assert out["net_benefit_mxn"] == pytest.approx(
        out["health_benefit_mxn"] + out["climate_benefit_mxn"] - 1e6 * one_year)


def test_discount_factors():
    w = discount_factors(25, 0.10)
    assert w[0] == 1.0
    assert w[12] == pytest.approx(1 / 1.1)
    assert w[24] == pytest.approx(1 / 1.21)
    assert math.isclose(discount_factors(3, 0.0).sum(), 3.0)


def comparison(pm: float, deaths: float) -> dict:
    return {"public_spending_mxn": 1.0, "fuel_tax_revenue_mxn": 0.0,
            "avoided_t": {"pm25_t": pm}, "health_and_money": {"deaths_avoided": deaths}}


def test_interval_covers_the_seeds_mean():
    cmps = [comparison(pm, pm / 2) for pm in (5.0, 9.0, 1.0, 30.0, 12.0)]
    out = intervals(cmps)
    pm = out["avoided_t.pm25_t"]
    assert pm["mean"] == pytest.approx(11.4)
    assert pm["low"] <= pm["mean"] <= pm["high"]
    assert pm["low"] == pytest.approx(np.percentile([5, 9, 1, 30, 12], 5))
    assert pm["high"] == pytest.approx(np.percentile([5, 9, 1, 30, 12], 95))
    assert out["health_and_money.deaths_avoided"]["mean"] == pytest.approx(5.7)


def test_one_seed_interval_is_its_value():
    out = intervals([comparison(7.0, 2.0)])
    assert out["avoided_t.pm25_t"] == {"mean": 7.0, "low": 7.0, "high": 7.0}
    with pytest.raises(ValueError, match="no comparisons"):
        intervals([])
