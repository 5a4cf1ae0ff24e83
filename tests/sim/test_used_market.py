"""The cascade of vehicles: fleets sell, the used market holds, other fleets buy. Vehicles are
conserved at every step, a vehicle is in one place at a time and keeps its id, and the used
market's own pieces (listings, matching, prices) do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.scenarios import load
from fleetsim.sim.registry import ACTIVE, GONE, LISTED, VehicleRegistry
from fleetsim.sim.used_market import UsedMarket


@pytest.fixture(scope="module", params=["city", "credit"])
def log(request, city_log, credit_log):
    """Three years of Mexico City; two years with credit trouble (repossessions)."""
    return {"city": city_log, "credit": credit_log}[request.param]


def simulated(series, fraction) -> np.ndarray:
    """Scaled counts back to simulated vehicles, checked to be whole numbers."""
    x = np.asarray(series, float) * fraction
    whole = np.round(x)
    np.testing.assert_allclose(x, whole, atol=1e-6)
    return whole.astype(np.int64)


# ---- conservation -------------------------------------------------------------------------------

def test_vehicles_are_conserved_every_month_and_class(log):
    """vehicles_<class>[t] - vehicles_<class>[t-1] == entered_<class>[t] - retired_<class>[t]:
    entered counts new, imported, bought-used and demonstration vehicles, retired every vehicle
    leaving the active fleet (scrapped, listed for sale, repossessed)."""
    model, res = log.model, log.results()
    f = model.sample_fraction
    for c, name in enumerate(model.class_names):
        stock = simulated(res[f"vehicles_{name}"], f)
        before = np.concatenate([[model.initial_counts[c].sum()], stock[:-1]])
        np.testing.assert_array_equal(
            stock - before,
            simulated(res[f"entered_{name}"], f) - simulated(res[f"retired_{name}"], f),
            err_msg=name)
    assert res["entered_used"].sum() > 0 and res["listed"].sum() > 0


def test_used_pool_balances_every_month(log):
    """used_pool[t] - used_pool[t-1] == listed[t] + repossessed[t] - entered_used[t]
    - used_expired[t]: listings come from owners selling and from lenders repossessing, and
    leave when bought or when they expire (unsold too long, or at the end of their life)."""
    res, f = log.results(), log.model.sample_fraction
    pool = simulated(res["used_pool"], f)
    before = np.concatenate([[0], pool[:-1]])
    inflow = simulated(res["listed"], f) + simulated(res["repossessed"], f)
    outflow = simulated(res["entered_used"], f) + simulated(res["used_expired"], f)
    np.testing.assert_array_equal(pool - before, inflow - outflow)
    assert res["used_expired"].sum() > 0


def test_repossessions_feed_the_used_pool(credit_log):
    res = credit_log.results()
    assert res["repossessed"].sum() > 0
    assert res["loans_defaulted"].sum() >= res["repossessed"].sum() > 0


def test_flows_add_up_to_entries_and_exits(log):
    res = log.results()
    np.testing.assert_allclose(res["entered"], res["entered_new"] + res["entered_import"]
                               + res["entered_used"] + res["entered_demo"])
    np.testing.assert_allclose(res["retired"], res["scrapped"] + res["listed"]
                               + res["repossessed"])


# ---- one place at a time, ids last ---------------------------------------------------------------

def test_registry_agrees_with_the_results_every_month(log):
    res, f = log.results(), log.model.sample_fraction
    for k, snap in enumerate(log.snapshots):
        assert set(np.unique(snap.state)) <= {GONE, ACTIVE, LISTED}
        assert len(np.unique(snap.vid)) == len(snap.vid), "a vehicle is one row"
        assert np.all(np.diff(snap.vid) > 0)
        assert (snap.state == ACTIVE).sum() == round(res["vehicles"].iloc[k] * f)
        assert (snap.state == LISTED).sum() == round(res["used_pool"].iloc[k] * f)


def transitions(log):
    """(previous snapshot, this one, indices of the vehicles in both) month by month."""
    prev = log.start
    for snap in log.snapshots:
        _, ip, ic = np.intersect1d(prev.vid, snap.vid, return_indices=True)
        yield prev, snap, ip, ic
        prev = snap


def test_no_vehicle_comes_back_from_scrap(log):
    for prev, snap, ip, ic in transitions(log):
        was_gone = prev.state[ip] == GONE
        assert np.all(snap.state[ic][was_gone] == GONE), snap.month
        # a gone vehicle leaves the registry only by compaction, in January
        lost = np.setdiff1d(prev.vid, snap.vid)
        if len(lost):
            assert snap.month % 12 == 0
            assert np.isin(lost, prev.vid[prev.state == GONE]).all()


def test_new_ids_only_for_vehicles_new_to_the_country_s_fleet(log):
    """Vehicles bought used keep their id: the ids added each month are the new, imported and
    demonstration vehicles only."""
    res, f = log.results(), log.model.sample_fraction
    for k, (prev, snap, _, _) in enumerate(transitions(log)):
        added = snap.next_vid - prev.next_vid
        assert np.all(snap.vid[snap.vid >= prev.next_vid] < snap.next_vid)
        expected = res[["entered_new", "entered_import", "entered_demo"]].iloc[k].sum() * f
        assert added == round(expected), snap.month


def used_purchases(prev, snap, ip, ic) -> np.ndarray:
    """Vehicles in both snapshots that were bought used this month: listed before and running
    now, or running before and now, listed in between (repossessed and sold within the
    month: its listing month is this month)."""
    listed_then = (prev.state[ip] == LISTED) & (snap.state[ic] == ACTIVE)
    resold = (prev.state[ip] == ACTIVE) & (snap.state[ic] == ACTIVE) & (
        snap.listed_month[ic] == snap.month)
    return listed_then | resold


def test_a_vehicle_bought_used_keeps_its_id(log):
    res, f = log.results(), log.model.sample_fraction
    bought = 0
    for k, (prev, snap, ip, ic) in enumerate(transitions(log)):
        got = used_purchases(prev, snap, ip, ic)
        assert got.sum() == round(res["entered_used"].iloc[k] * f), snap.month
        # it is the same vehicle: class, engine, age
        for col in ("vclass", "tech", "birth_month", "origin"):
            np.testing.assert_array_equal(getattr(prev, col)[ip][got],
                                          getattr(snap, col)[ic][got])
        bought += got.sum()
    assert bought > 20


def test_a_vehicle_bought_used_changes_owner(log):
    """Nobody buys back its own listing: not a truck it sold months before, nor one its lender
    has just repossessed."""
    same = bought = 0
    for prev, snap, ip, ic in transitions(log):
        got = used_purchases(prev, snap, ip, ic)
        bought += got.sum()
        same += (got & (prev.owner[ip] == snap.owner[ic])).sum()
    assert bought > 20
    assert same == 0, f"{same} of {bought} used purchases went back to the seller"


def test_listed_vehicles_do_not_run(log):
    model = log.model
    reg = model.registry
    listed = reg.in_state(LISTED)
    assert len(listed) > 0
    assert np.all(reg.rates[:, listed] == 0), "a vehicle for sale neither drives nor emits"
    fleet = model.fleet()
    assert not np.isin(fleet["vehicle_id"], reg.cols["vid"][listed]).any()
    # still within its listing time and its life
    m = model.month
    max_months = model.spec.used_market.listing_max_months
    assert np.all(m - reg.cols["listed_month"][listed] < max_months)
    assert np.all(reg.cols["death_month"][listed] > m)


# ---- the used market's pieces -------------------------------------------------------------------

@pytest.fixture
def market():
    spec = load("mexico_city")
    return spec, UsedMarket(spec, n_class=4, n_tech=7)


def registry_with(listed_class, listed_tech, listed_birth, active_class=()):
    reg = VehicleRegistry(3)
    n = len(listed_class) + len(active_class)
    cls = np.array([*listed_class, *active_class])
    reg.add(owner=np.arange(n), vclass=cls,
            tech=np.array([*listed_tech, *([0] * len(active_class))]),
            retrofit=np.zeros(n), region=np.zeros(n), origin=np.zeros(n),
            birth_month=np.array([*listed_birth, *([24000] * len(active_class))]),
            death_month=np.full(n, 25000), km_new=np.ones(n), pm_mult=np.ones(n),
            nox_mult=np.ones(n), tamper_u=np.ones(n), review_month=np.zeros(n),
            partnership=np.zeros(n))
    reg.set_state(np.arange(len(listed_class)), LISTED, month=24290)
    return reg


def uniforms(reg, n_buyers: int, seed: int):
    """The buyers' and the listings' uniforms (the model keys them, sim.draws)."""
    rng = np.random.default_rng(seed)
    return rng.random(n_buyers), rng.random(len(reg.in_state(LISTED)))


def test_stats_of_the_listings(market):
    _, um = market
    now = 24300
    reg = registry_with([1, 1, 1, 3], [2, 2, 4, 5], [now - 120, now - 240, now - 60, now - 12],
                        active_class=[1, 1, 2])
    count, tech, age = um.stats(reg, now)
    np.testing.assert_array_equal(count, [0, 3, 0, 1])
    assert tech[1] == 2 and tech[3] == 5
    np.testing.assert_allclose(age, [0.0, (10 + 20 + 5) / 3, 0.0, 1.0])


def test_match_gives_each_buyer_a_distinct_listing_of_its_class(market):
    _, um = market
    reg = registry_with([1, 1, 1, 3], [2, 2, 4, 5], [24000] * 4, active_class=[1, 1])
    buyers = np.arange(100, 107)  # firms that own none of the listings
    got = um.match(reg, np.array([1, 1, 3, 3, 2, 1, 1]), buyers, *uniforms(reg, 7, 1))
    hits = got[got >= 0]
    assert len(np.unique(hits)) == len(hits) == 4
    assert np.all(reg.cols["state"][hits] == LISTED)
    class_1 = got[[0, 1, 5, 6]]
    np.testing.assert_array_equal(reg.cols["vclass"][class_1[class_1 >= 0]], 1)
    assert sorted(got[[2, 3]]) == [-1, 3], "one class-3 listing for two buyers"
    assert got[4] == -1, "no class-2 listing"
    assert (got[[0, 1, 5, 6]] >= 0).sum() == 3


@pytest.mark.parametrize("seed", range(5))
def test_match_never_sells_a_buyer_its_own_listing(market, seed):
    _, um = market
    # listings of class 0 from sellers 0..5 (owner = row); buyers are those same firms
    reg = registry_with([0] * 6, [1] * 6, [24000] * 6)
    buyers = np.array([0, 1, 2, 3, 4, 5])
    got = um.match(reg, np.zeros(6, np.int8), buyers, *uniforms(reg, 6, seed))
    hit = got >= 0
    assert hit.sum() >= 5, "a swap finds most buyers another firm's listing"
    assert np.all(reg.cols["owner"][got[hit]] != buyers[hit])
    assert len(np.unique(got[hit])) == hit.sum()
    # the only listing is the buyer's own: no sale
    alone = registry_with([2], [1], [24000])
    assert um.match(alone, np.array([2]), np.array([0]), *uniforms(alone, 1, seed))[0] == -1


def test_expiring_listings(market):
    spec, um = market
    reg = registry_with([0, 0, 0], [1, 1, 1], [24000] * 3)
    max_months = spec.used_market.listing_max_months
    reg.cols["listed_month"][:3] = [24300 - max_months, 24300 - max_months + 1, 24300]
    reg.cols["death_month"][2] = 24300
    np.testing.assert_array_equal(um.expiring(reg, 24300), [0, 2])


def test_prices_follow_excess_demand_within_bounds(market):
    spec, um = market
    p = spec.used_market
    um.update_prices(np.array([10.0, 0.0, 5.0, 3.0]), np.array([5.0, 10.0, 5.0, 0.0]))
    np.testing.assert_allclose(um.multiplier, [1 + p.price_adjustment, 1 - p.price_adjustment,
                                               1.0, 1 + p.price_adjustment])
    for _ in range(500):
        um.update_prices(np.array([100.0, 0.0, 1.0, 1.0]), np.array([1.0, 100.0, 1.0, 1.0]))
    assert um.multiplier[0] == pytest.approx(p.price_multiplier_max)
    assert um.multiplier[1] == pytest.approx(p.price_multiplier_min)


def test_used_price_level_stays_within_bounds_in_a_run(log):
    p = log.model.spec.used_market
    m = log.model.used_market.multiplier
    assert np.all((m >= p.price_multiplier_min) & (m <= p.price_multiplier_max))
