"""The register layer: a scrapped truck stays registered for the de-registration lag (an
exponential time with the scenario's mean, counted as its expectation), then drops off; the
registered columns are working + listed + those dormant trucks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleetsim.sim import FleetModel
from fleetsim.sim.register import Register

BIRTH = 2000 * 12


def test_a_scrapped_truck_counts_for_the_lag_then_not():
    reg = Register(lag_years=2.0)
    reg.month_end(scrapped=1, scrapped_birth_sum=BIRTH)
    assert reg.dormant == pytest.approx(math.exp(-1 / 24))  # nearly whole its first month
    for _ in range(23):
        reg.month_end(0, 0)
    assert reg.dormant == pytest.approx(math.exp(-1.0))  # one mean lag later: e^-1 of it
    assert reg.dormant_birth / reg.dormant == pytest.approx(BIRTH)  # its age stays its own
    for _ in range(12 * 40):
        reg.month_end(0, 0)
    assert reg.dormant < 1e-7  # long after the lag: struck off


def test_no_lag_strikes_a_truck_off_at_once():
    reg = Register(lag_years=0.0)
    reg.month_end(3, 3 * BIRTH)
    assert reg.dormant == 0


def test_a_longer_lag_keeps_more_trucks_registered():
    short, long = Register(1.0), Register(10.0)
    for r in (short, long):
        for _ in range(60):
            r.month_end(10, 10 * BIRTH)
    assert long.dormant > short.dormant > 0


@pytest.mark.parametrize("lag", [0.0, 8.0])
def test_registered_is_working_plus_listed_plus_dormant(lag):
    model = FleetModel("mexico_city", rng=2, sample_fraction=0.01,
                       overrides={"registration.deregistration_lag_years.value": lag})
    model.run(years=2)
    res = model.results()
    s = 1.0 / model.sample_fraction
    last = res.iloc[-1]
    listed = len(model.vehicles.listed_rows())
    assert last["registered"] == pytest.approx(
        (len(model.vehicles) + listed + model.register.dormant) * s)
    gap = res["registered"] - res["vehicles"] - res["used_pool"]
    if lag == 0:
        np.testing.assert_allclose(gap, 0.0, atol=1e-6)
    else:
        assert (gap >= -1e-6).all() and gap.iloc[-1] > 0
        # dormant trucks are old ones: the register is older than the working fleet
        assert last["registered_mean_age_years"] > last["mean_age_years"]
