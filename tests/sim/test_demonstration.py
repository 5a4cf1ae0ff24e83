"""Named fleets and demonstrations (mexico_city_partnership): the named firm gets its
demonstration vehicles in the start month, and its peers see it as a weighty user of the
technology."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel

FRACTION = 0.05
START = 2026 * 12  # the demonstration starts on 2026-01-01


@pytest.fixture(scope="module")
def before_and_after():
    """The partnership scenario stepped to December 2025, what peers see then, and one month
    later (January 2026, the demonstration's month)."""
    model = FleetModel("mexico_city_partnership", rng=4, sample_fraction=FRACTION)
    model.run(years=1)
    assert model.month == START - 1
    uses_before = model.uses().copy()
    share_before = model.peers.neighbour_share(uses_before)
    fleet_before = model.fleet()
    model.step()
    return model, uses_before, share_before, fleet_before


def named(model) -> int:
    names = model.operator_arrays.names
    (index,) = [i for i, n in names.items() if n == "Demonstration fleet A"]
    return index


def test_the_named_fleet_is_the_largest_of_its_band_and_region(before_and_after):
    model, *_ = before_and_after
    ops = model.operator_arrays
    nf = model.spec.named_fleets[0]
    i = named(model)
    assert ops.band[i] == SIZE_BANDS.index(nf.band)
    assert ops.region_names[ops.region[i]] == nf.region
    same = (ops.band == ops.band[i]) & (ops.region == ops.region[i])
    assert ops.initial_size[i] == ops.initial_size[same].max()
    assert model.operators[i].name == nf.name


def test_demonstration_vehicles_arrive_in_the_start_month(before_and_after):
    model, _, _, fleet_before = before_and_after
    demo = model.spec.demonstrations[0]
    assert demo.start.year * 12 + demo.start.month - 1 == START
    assert (fleet_before["origin"] == "demonstration").sum() == 0
    fleet = model.fleet()
    placed = fleet[fleet["origin"] == "demonstration"]
    n = max(1, round(demo.units * FRACTION))
    assert len(placed) == n
    assert (placed["owner"] == named(model)).all()
    assert (placed["technology"] == demo.technology).all()
    assert (placed["vehicle_class"] == demo.vehicle_class).all()
    assert (placed["age_years"] == 0).all() and (placed["model_year"] == 2026).all()
    res = model.results()
    assert res["entered_demo"].iloc[-1] == pytest.approx(n / FRACTION)
    assert (res["entered_demo"].iloc[:-1] == 0).all()
    # counted among the month's entries, and in the fleet's technology counts
    assert res["entered"].iloc[-1] >= res["entered_demo"].iloc[-1]


def test_no_demonstration_in_other_months():
    model = FleetModel("mexico_city_partnership", rng=4, sample_fraction=FRACTION).run(years=3)
    res = model.results()
    months = res.index[res["entered_demo"] > 0].tolist()
    assert months == [12], "January 2026 only"


def test_peers_of_the_demonstration_fleet_see_more_of_its_technology(before_and_after):
    model, uses_before, share_before, _ = before_and_after
    t = model.tables
    electric = t.family_reported[t.tech_code[model.spec.demonstrations[0].technology]]
    i = named(model)
    weight = model.spec.decisions.demonstration_weight
    uses = model.uses()
    assert uses[i, electric] == weight > 1
    assert uses_before[i, electric] <= 1
    share = model.peers.neighbour_share(uses)
    adj = model.peers.adjacency
    peers = adj[[i]].toarray().ravel().nonzero()[0]
    assert len(peers) > 0
    # the named fleet now counts as `weight` users for each of its peers (shares cap at 1)
    deg = model.peers.degree[peers]
    expected = np.minimum((adj @ uses)[peers, electric] / deg, 1.0)
    np.testing.assert_allclose(share[peers, electric], expected)
    rose = share[peers, electric] > share_before[peers, electric]
    capped = share_before[peers, electric] >= 1.0
    assert np.all(rose | capped)
    assert rose.sum() > 0
