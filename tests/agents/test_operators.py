"""Operators: splitting units between bands and firms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetsim.agents.operators import allocate, band_fleet_sizes, build_operators
from fleetsim.scenarios import SIZE_BANDS

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def test_allocate_examples():
    np.testing.assert_array_equal(allocate(10, np.array([0.5, 0.5])), [5, 5])
    np.testing.assert_array_equal(allocate(10, np.array([1, 1, 1])), [4, 3, 3])
    np.testing.assert_array_equal(allocate(7, np.array([0.0, 1.0])), [0, 7])
    np.testing.assert_array_equal(allocate(0, np.array([0.3, 0.7])), [0, 0])
    # largest remainders win: 100 * [0.26, 0.29, 0.15, 0.30] has no remainders
    np.testing.assert_array_equal(allocate(100, np.array([0.26, 0.29, 0.15, 0.30])),
                                  [26, 29, 15, 30])
    np.testing.assert_array_equal(allocate(3, np.array([0.26, 0.29, 0.15, 0.30])), [1, 1, 0, 1])


@FAST
@given(total=st.integers(0, 10**7),
       shares=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=8)
       .filter(lambda s: sum(s) > 1e-3))
def test_allocate_sums_exactly(total, shares):
    shares = np.array(shares)
    parts = allocate(total, shares)
    assert parts.sum() == total
    assert np.all(parts >= 0)
    ideal = total * shares / shares.sum()
    assert np.all(np.abs(parts - ideal) < 1 + 1e-6), "each part within one of its ideal"


@FAST
@given(firms=st.integers(1, 300), lo=st.integers(1, 40), hi_extra=st.one_of(
    st.none(), st.integers(0, 100)), fill=st.floats(0, 1), sigma=st.floats(0, 1.5),
    seed=st.integers(0, 2**32 - 1))
def test_band_fleet_sizes_within_bounds_and_sum(firms, lo, hi_extra, fill, sigma, seed):
    hi = None if hi_extra is None else lo + hi_extra
    top = firms * (hi if hi is not None else lo + 200)
    units = int(firms * lo + fill * (top - firms * lo))
    sizes = band_fleet_sizes(firms, units, lo, hi, sigma, np.random.default_rng(seed))
    assert len(sizes) == firms
    assert sizes.sum() == units
    assert sizes.min() >= lo
    if hi is not None:
        assert sizes.max() <= hi


def test_band_fleet_sizes_without_firms():
    assert len(band_fleet_sizes(0, 0, 1, 5, 0.5, np.random.default_rng(0))) == 0


def test_band_fleet_sizes_spread_grows_with_sigma():
    rng = np.random.default_rng(1)
    narrow = band_fleet_sizes(2000, 100_000, 1, None, 0.1, rng)
    wide = band_fleet_sizes(2000, 100_000, 1, None, 1.0, rng)
    assert narrow.std() < wide.std()


@pytest.mark.parametrize("fraction", [0.02, 0.05, 1.0])
def test_build_operators_band_counts(city_spec, fraction):
    from fleetsim.sim.stock import class_counts

    n = int(class_counts(city_spec, fraction).sum())
    ops = build_operators(city_spec, n, fraction, np.random.default_rng(2))
    assert len(ops) == len(ops.band) == len(ops.region) == len(ops.initial_size)
    assert ops.initial_size.sum() == n
    units = allocate(n, np.array([city_spec.operators.bands[b].power_unit_share
                                  for b in SIZE_BANDS]))
    for i, name in enumerate(SIZE_BANDS):
        band = city_spec.operators.bands[name]
        in_band = ops.band == i
        assert in_band.sum() == round(band.firms * fraction), name
        sizes = ops.initial_size[in_band]
        assert sizes.sum() == units[i], name
        assert sizes.min() >= band.min_units
        if band.max_units is not None:
            assert sizes.max() <= band.max_units
    assert ops.region_names == ["zmvm"]
    assert np.all(ops.region == 0)


def test_build_operators_regions_follow_stock_shares():
    from fleetsim.scenarios import load

    spec = load("mexico_national")
    ops = build_operators(spec, 36_000, 0.05, np.random.default_rng(3))
    assert ops.initial_size.sum() == 36_000
    freq = np.bincount(ops.region, minlength=len(spec.regions)) / len(ops)
    expected = [r.stock_share for r in spec.regions.values()]
    np.testing.assert_allclose(freq, expected, atol=0.02)


def test_build_operators_keeps_every_unit_for_a_small_sample(city_spec):
    ops = build_operators(city_spec, 77, 0.0005, np.random.default_rng(4))
    assert ops.initial_size.sum() == 77
