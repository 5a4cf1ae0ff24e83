"""Weibull survival S(a) = exp(-(a/lambda)^k), lifetimes drawn conditional on age, ages by bin."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.sim.turnover import (
    death_months,
    draw_ages_months,
    draw_lifetimes,
    monthly_retirement_probability,
    survival,
)

LAM, K = 30.0, 3.0


def test_survival_values():
    assert survival(0.0, LAM, K) == pytest.approx(1.0)
    assert survival(LAM, LAM, K) == pytest.approx(np.exp(-1.0))
    assert survival(15.0, 30.0, 2.0) == pytest.approx(np.exp(-0.25))
    assert survival(60.0, 30.0, 3.0) == pytest.approx(np.exp(-8.0))
    ages = np.array([0.0, 5, 10, 20, 40, 80])
    s = survival(ages, LAM, K)
    assert s.shape == ages.shape
    assert np.all(np.diff(s) < 0)
    assert np.all((s > 0) & (s <= 1))


def test_monthly_retirement_probability():
    ages = np.array([0.0, 1.0, 10.0, 30.0, 50.0])
    p = monthly_retirement_probability(ages, LAM, K)
    expected = 1.0 - survival(ages + 1 / 12, LAM, K) / survival(ages, LAM, K)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert p[0] == pytest.approx(1.0 - np.exp(-((1 / 12 / LAM) ** K)))
    assert np.all((p > 0) & (p < 1))
    assert np.all(np.diff(p) > 0), "with k > 1 the hazard rises with age"
    # k = 1 is memoryless: the same chance at every age
    flat = monthly_retirement_probability(ages, LAM, 1.0)
    np.testing.assert_allclose(flat, 1.0 - np.exp(-1 / 12 / LAM), rtol=1e-9)


def test_lifetimes_are_at_least_the_current_age():
    rng = np.random.default_rng(1)
    ages = rng.uniform(0, 60, 50_000)
    life = draw_lifetimes(ages, LAM, K, rng.random(len(ages)))
    assert np.all(life >= ages)
    assert np.all(np.isfinite(life))


def test_lifetimes_from_age_zero_follow_the_survival_curve():
    rng = np.random.default_rng(2)
    n = 200_000
    life = draw_lifetimes(np.zeros(n), LAM, K, rng.random(n))
    # standard error of an empirical share is at most 0.5/sqrt(n) = 0.0011; allow ~5 of them
    for a in (5.0, 15.0, 25.0, 30.0, 40.0, 55.0):
        assert np.mean(life > a) == pytest.approx(survival(a, LAM, K), abs=0.006), a


def test_lifetimes_conditional_on_age_follow_the_conditional_curve():
    rng = np.random.default_rng(3)
    n = 200_000
    a0 = 20.0
    life = draw_lifetimes(np.full(n, a0), LAM, K, rng.random(n))
    for a in (22.0, 30.0, 40.0):
        expected = survival(a, LAM, K) / survival(a0, LAM, K)
        assert np.mean(life > a) == pytest.approx(expected, abs=0.006), a


def test_death_months_come_after_now():
    rng = np.random.default_rng(4)
    now = 2025 * 12
    birth = now - rng.integers(0, 600, 20_000)
    death = death_months(birth, now, LAM, K, rng.random(len(birth)))
    assert death.dtype == np.int32
    assert np.all(death > now)
    assert np.all(death > birth)


def test_death_month_is_birth_plus_drawn_lifetime():
    now = 2025 * 12
    birth = now - np.array([0, 12, 120, 240, 480])
    u = np.random.default_rng(5).random(len(birth))
    life = draw_lifetimes((now - birth) / 12.0, LAM, K, u)
    death = death_months(birth, now, LAM, K, u)
    expected = np.maximum(birth + np.ceil(life * 12).astype(int), now + 1)
    np.testing.assert_array_equal(death, expected)


def test_draw_ages_months_respects_bins_and_shares():
    bins = [(0, 4, 0.5), (5, 9, 0.3), (20, 29, 0.2)]
    rng = np.random.default_rng(6)
    ages = draw_ages_months(bins, 100_000, rng)
    years = ages // 12
    assert ages.min() >= 0 and years.max() <= 29
    assert not np.any((years >= 10) & (years < 20)), "no ages between the bins"
    assert np.mean(years <= 4) == pytest.approx(0.5, abs=0.01)
    assert np.mean((years >= 5) & (years <= 9)) == pytest.approx(0.3, abs=0.01)
    assert np.mean(years >= 20) == pytest.approx(0.2, abs=0.01)
    # uniform within a bin: every whole year of the first bin gets about a fifth of it
    counts = np.bincount(years[years <= 4], minlength=5)
    np.testing.assert_allclose(counts / counts.sum(), 0.2, atol=0.01)
