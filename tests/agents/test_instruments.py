"""Policy instruments at run time, without running a model: budgets (first come, first served,
band reservations, yearly unit quotas), offers and who is eligible for them, the access table
of lost revenue and green-freight cover, fleet rules, and the regulator's monthly terms
(which instruments are in force on a date, fuel-tax surcharges, the sales requirement's fee)."""

from __future__ import annotations

from datetime import date

import mesa
import numpy as np
import pytest

from fleetsim.agents import Regulator
from fleetsim.agents.instruments import Access, Budget, FleetRule, Offer, best_offer
from fleetsim.scenarios import SIZE_BANDS
from tests.policy_helpers import SOOT_FREE, instrument, merge, with_policy

MICRO, SMALL, MEDIUM, LARGE = range(4)
POOL = len(SIZE_BANDS)


# ---- Budget -------------------------------------------------------------------------------------

def test_budget_is_scaled_to_the_sample():
    b = Budget(1_000_000.0, 100, {"micro": 0.5}, fraction=0.02)
    assert b.mxn_left == pytest.approx(20_000.0)
    np.testing.assert_allclose(b.units_left, [1.0, 0, 0, 0, 1.0])
    unlimited = Budget(None, None, {}, fraction=0.02)
    assert np.isinf(unlimited.mxn_left) and np.isinf(unlimited.units_left).all()
    assert unlimited.open
    assert unlimited.fits(np.full(1000, 1e9), np.zeros(1000, np.intp)).all()


def test_budget_first_come_first_served_in_mxn():
    b = Budget(1000.0, None, {}, fraction=1.0)
    amounts = np.array([400.0, 400.0, 400.0, 150.0, 100.0])
    ok = b.fits(amounts, np.zeros(5, np.intp))
    # the third claim no longer fits; smaller later ones still do, in order
    np.testing.assert_array_equal(ok, [True, True, False, True, False])
    assert b.mxn_left == 1000.0, "fits() only looks; spend() draws down"
    assert b.spend(amounts[ok], np.zeros(3, np.intp)) == pytest.approx(950.0)
    assert b.mxn_left == pytest.approx(50.0)
    assert not b.fits(np.array([60.0]), np.zeros(1, np.intp)).any()
    assert b.open  # MXN 50 is left, if nothing that small is ever claimed
    b.spend(np.array([50.0]), np.zeros(1, np.intp))
    assert not b.open


def test_budget_exact_exhaustion_fits_the_last_claim():
    b = Budget(300.0, None, {}, fraction=1.0)
    assert b.fits(np.full(4, 100.0), np.zeros(4, np.intp)).tolist() == [True] * 3 + [False]


def test_units_reserved_for_a_band_serve_it_first_then_the_pool():
    b = Budget(None, 10, {"micro": 0.4}, fraction=1.0)
    np.testing.assert_allclose(b.units_left, [4, 0, 0, 0, 6])
    # micro firms: 4 from their reserve, then 6 from the pool, then nothing
    ok = b.fits(np.ones(12), np.full(12, MICRO))
    assert ok.sum() == 10 and ok[:10].all()
    # other bands only ever reach the pool
    ok = b.fits(np.ones(8), np.full(8, LARGE))
    assert ok.sum() == 6
    # the pool taken by large firms first, micro firms still have their reserve
    ok = b.fits(np.ones(10), np.array([LARGE] * 6 + [MICRO] * 4))
    assert ok.all()
    ok = b.fits(np.ones(11), np.array([LARGE] * 6 + [MICRO] * 5))
    np.testing.assert_array_equal(ok, [True] * 10 + [False])


def test_unit_quota_is_yearly_and_reservations_lapse():
    b = Budget(None, 10, {"micro": 0.4}, fraction=1.0)
    b.spend(np.ones(6), np.full(6, LARGE))
    np.testing.assert_allclose(b.units_left, [4, 0, 0, 0, 0])
    assert b.open  # the micro reserve is still open
    assert not b.fits(np.ones(1), np.array([SMALL])).any()
    b.spend(np.ones(4), np.full(4, MICRO))
    assert not b.open
    b.new_year()
    np.testing.assert_allclose(b.units_left, [4, 0, 0, 0, 6])
    # an unused reservation does not carry over into the next year
    b.new_year()
    np.testing.assert_allclose(b.units_left, [4, 0, 0, 0, 6])


def test_fractional_units_never_allow_more_than_the_scaled_quota():
    b = Budget(None, 1040, {"micro": 0.5}, fraction=0.02)  # 20.8 units, 10.4 reserved
    ok = b.fits(np.ones(40), np.full(40, MICRO))
    assert ok.sum() <= 20.8
    ok = b.fits(np.ones(40), np.full(40, SMALL))
    assert ok.sum() <= 10.4


def test_money_and_units_both_bind():
    b = Budget(250.0, 5, {}, fraction=1.0)
    assert b.fits(np.full(4, 100.0), np.zeros(4, np.intp)).tolist() == [True, True, False, False]
    assert b.fits(np.full(7, 10.0), np.zeros(7, np.intp)).sum() == 5
    b.spend(np.full(2, 100.0), np.zeros(2, np.intp))
    b.new_year()
    assert b.mxn_left == pytest.approx(50.0), "money is for the whole run, units for a year"
    np.testing.assert_allclose(b.units_left[-1], 5)


def test_available_says_whether_one_more_claim_could_be_paid():
    b = Budget(250.0, 10, {"micro": 0.2}, fraction=1.0)
    band = np.array([MICRO, SMALL, SMALL])
    np.testing.assert_array_equal(b.available(np.array([100.0, 250.0, 251.0]), band),
                                  [True, True, False])
    b.spend(np.ones(8), np.full(8, LARGE))  # the pool is spent; the micro reserve is not
    np.testing.assert_array_equal(b.available(np.ones(2), np.array([MICRO, SMALL])),
                                  [True, False])


def test_reconfigured_budget_keeps_what_was_spent_and_used():
    b = Budget(1000.0, 10, {"micro": 0.4}, fraction=1.0)
    b.spend(np.full(3, 100.0), np.array([MICRO, LARGE, LARGE]))
    b.reconfigure(2000.0, 20, {"micro": 0.4}, fraction=1.0, spent=300.0)
    assert b.mxn_left == pytest.approx(1700.0)
    # this year: 1 of the micro reserve and 2 of the pool used; the quota doubled
    np.testing.assert_allclose(b.units_left, [7, 0, 0, 0, 10])
    b.reconfigure(None, None, {}, fraction=1.0, spent=300.0)
    assert np.isinf(b.mxn_left) and np.isinf(b.units_left).all()


def test_best_offer_skips_an_offer_its_budget_cannot_pay_and_names_the_runner_up():
    spent = Budget(50.0, None, {}, fraction=1.0)
    rich = Budget(None, None, {}, fraction=1.0)
    big = offer(index=1, amount=300.0, budget=spent)
    small = offer(index=2, amount=100.0, budget=rich)
    tiny = offer(index=3, amount=40.0, budget=spent)
    z = np.zeros(2, np.intp)
    amount, which, amount2, which2 = best_offer([big, small, tiny], z, z, z, np.zeros(2),
                                                item=0, second=True)
    np.testing.assert_allclose(amount, 100.0)
    np.testing.assert_array_equal(which, 2)
    np.testing.assert_allclose(amount2, 40.0)
    np.testing.assert_array_equal(which2, 3)


@pytest.mark.parametrize("seed", range(5))
def test_spending_what_fits_never_overdraws(seed):
    """Whatever the order and mix of claims, spending exactly what fits() let through leaves
    every MXN and unit balance at or above zero, month after month."""
    rng = np.random.default_rng(seed)
    b = Budget(5e6, 60, {"micro": 0.3, "small": 0.2}, fraction=0.5)
    mxn0 = b.mxn_left
    spent = 0.0
    for month in range(36):
        if month % 12 == 0:
            b.new_year()
        n = int(rng.integers(0, 15))
        amounts = rng.uniform(1e4, 3e5, n)
        bands = rng.integers(0, 4, n)
        ok = b.fits(amounts, bands)
        # a random part of what was allowed is carried out (e.g. a used buyer found no truck)
        done = ok & (rng.random(n) < 0.8)
        spent += b.spend(amounts[done], bands[done])
        assert b.mxn_left >= -1e-6
        assert (b.units_left >= -1e-9).all(), b.units_left
    assert spent <= mxn0 + 1e-6
    assert b.mxn_left == pytest.approx(mxn0 - spent)


# ---- offers -------------------------------------------------------------------------------------

def offer(index=0, amount=100.0, items=(True, True, False), classes=(True, True),
          bands=(True, True, True, True), regions=(True, False), **kw) -> Offer:
    return Offer(index, np.array(items), np.array(classes), np.array(bands), np.array(regions),
                 amount, **kw)


def test_offer_eligibility_masks_and_ages():
    o = offer(classes=(True, False), bands=(True, False, False, True), min_age=10.0,
              max_age=20.0)
    vclass = np.array([0, 1, 0, 0, 0, 0, 0])
    band = np.array([0, 0, 1, 3, 0, 0, 0])
    region = np.array([0, 0, 0, 0, 1, 0, 0])
    age = np.array([15.0, 15.0, 15.0, 15.0, 15.0, 9.9, 20.1])
    np.testing.assert_array_equal(o.eligible(vclass, band, region, age),
                                  [True, False, False, True, False, False, False])
    edges = o.eligible(np.zeros(2, np.intp), np.zeros(2, np.intp), np.zeros(2, np.intp),
                       np.array([10.0, 20.0]))
    assert edges.all(), "age limits are inclusive"


def test_best_offer_takes_the_most_generous_eligible_one():
    small = offer(index=3, amount=100.0)
    big = offer(index=5, amount=300.0, bands=(False, True, True, True))
    capped = offer(index=7, amount=1000.0, max_share=0.1, items=(False, True, False))
    z = np.zeros(3, np.intp)
    band = np.array([MICRO, SMALL, SMALL])
    price = np.array([5000.0, 5000.0, 1000.0])
    amount, which = best_offer([small, big, capped], z, band, z, np.zeros(3), price, item=0)
    np.testing.assert_allclose(amount, [100.0, 300.0, 300.0])
    np.testing.assert_array_equal(which, [3, 5, 5])
    # item 1: the capped offer is worth 10% of the price
    amount, which = best_offer([small, big, capped], z, band, z, np.zeros(3), price, item=1)
    np.testing.assert_allclose(amount, [500.0, 500.0, 300.0])
    np.testing.assert_array_equal(which, [7, 7, 5])
    # item 2: nobody offers it
    amount, which = best_offer([small, big, capped], z, band, z, np.zeros(3), price, item=2)
    assert (amount == 0).all() and (which == -1).all()
    # ineligible rows (region 1) get nothing; `ok` narrows further
    amount, which = best_offer([small], z, band, np.ones(3, np.intp), np.zeros(3))
    assert (which == -1).all()
    amount, which = best_offer([small, big], z, band, z, np.zeros(3), ok=lambda o: o.index == 3)
    np.testing.assert_array_equal(which, [3, 3, 3])


# ---- access limits and cover --------------------------------------------------------------------

def access() -> Access:
    """Two reported technologies (0 dirty, 1 clean), two classes, one region, one programme
    covering technology 1 up to 10 years old, class 0 only. Not covered: 20% lost (dirty) or
    5% (clean); covered: nothing lost."""
    lost = np.zeros((2, 2, 2, 1))
    lost[0, 0] = 0.20
    lost[0, 1] = 0.05
    member_of = np.array([0, -1, 0], np.int8)
    return Access(lost, member_of, covered=np.array([[False, True]]),
                  cover_max_age=np.array([10.0]), cover_class=np.array([[True, False]]),
                  cover_region=np.array([[True]]))


def test_cover_needs_membership_technology_age_class_and_region():
    a = access()
    owner = np.array([0, 1, 0, 0, 0, 2])
    rep = np.array([1, 1, 0, 1, 1, 1])
    vclass = np.array([0, 0, 0, 1, 0, 0])
    age = np.array([5.0, 5.0, 5.0, 5.0, 10.5, 10.0])
    region = np.zeros(6, np.intp)
    np.testing.assert_array_equal(a.cover(owner, rep, vclass, region, age), [1, 0, 0, 0, 0, 1])
    np.testing.assert_allclose(a.lost_share(owner, rep, vclass, region, age),
                               [0.0, 0.05, 0.20, 0.05, 0.05, 0.0])


def test_no_programme_no_cover():
    a = Access(np.full((1, 2, 1, 1), 0.1), np.full(3, -1, np.int8), np.zeros((0, 2), bool),
               np.zeros(0), np.zeros((0, 1), bool), np.zeros((0, 1), bool))
    z = np.zeros(3, np.intp)
    assert (a.cover(np.arange(3), z, z, z, np.zeros(3)) == 0).all()
    np.testing.assert_allclose(a.lost_share(np.arange(3), z, z, z, np.zeros(3)), 0.1)


def test_fleet_rule_sends_out_bound_legacy_vehicles_at_their_age():
    rule = FleetRule(bound=np.array([[True, False], [False, False]]),
                     legacy_age=np.array([[12.0, np.inf], [np.inf, np.inf]]))
    owner = np.array([0, 0, 0, 0, 1])
    vclass = np.array([0, 0, 0, 1, 0])
    age = np.array([12.0, 11.9, 30.0, 30.0, 30.0])
    zev = np.array([False, False, True, False, False])
    np.testing.assert_array_equal(rule.forced_out(owner, vclass, age, zev),
                                  [True, False, False, False, False])


# ---- the regulator's monthly terms --------------------------------------------------------------

def regulator(policy, fraction: float = 1.0, n_operators: int = 10) -> Regulator:
    return Regulator(mesa.Model(rng=0), with_policy(policy), n_operators, fraction)


def test_an_instrument_acts_in_every_month_its_dates_touch():
    reg = regulator(instrument("purchase_subsidies", "p", technologies=["battery_electric"],
                               amount_mxn=1e5, start="2026-03-15", end="2026-06-01"))
    active = []
    for month in range(1, 13):
        reg.update(date(2026, month, 1))
        assert ("p" in reg.active_names) == (len(reg.effects.purchase) == 1)
        active.append("p" in reg.active_names)
    assert active == [m in (3, 4, 5, 6) for m in range(1, 13)]


def test_a_disabled_instrument_makes_no_offer():
    reg = regulator(instrument("purchase_subsidies", "p", technologies=["battery_electric"],
                               amount_mxn=1e5, enabled=False))
    reg.update(date(2026, 1, 1))
    assert reg.active_names == set() and reg.effects.purchase == []


def test_offers_stop_when_the_budget_is_spent():
    reg = regulator(instrument("purchase_subsidies", "p", technologies=["battery_electric"],
                               amount_mxn=1e5, budget_mxn=1e6), fraction=0.5)
    reg.update(date(2026, 1, 1))
    assert len(reg.effects.purchase) == 1
    assert reg.budget_left(0) == pytest.approx(5e5)
    assert reg.spend(0, np.full(5, 1e5), np.zeros(5, np.intp)) == pytest.approx(5e5)
    assert reg.budget_left(0) == pytest.approx(0.0, abs=1e-6)
    assert reg.spent_total[0] == pytest.approx(5e5)
    reg.update(date(2026, 2, 1))
    assert reg.effects.purchase == [], "no offer once the budget is spent"
    assert "p" in reg.active_names, "the instrument is still in force, with nothing left"
    assert reg.spent_month[0] == 0.0


def test_offer_terms_follow_the_scenario():
    reg = regulator(merge(
        instrument("retrofit_subsidies", "r", retrofits=["diesel_dpf_retrofit"],
                   amount_mxn=1.5e5, max_share_of_price=0.75, max_age_years=12,
                   classes=["C2"], bands=["micro", "small"]),
        instrument("scrappage", "s", min_age_years=20, bonus_mxn=3e5,
                   replacement=["new", "used"], max_replacement_age_years=10)))
    reg.update(date(2026, 1, 1))
    (r,), (s,) = reg.effects.retrofit, reg.effects.scrappage
    assert r.items.tolist() == [False, True]  # code 0 is "no retrofit"
    assert r.classes.tolist() == [c == "C2" for c in reg.class_names]
    assert r.bands.tolist() == [True, True, False, False]
    assert (r.amount_mxn, r.max_share, r.max_age, r.min_age) == (1.5e5, 0.75, 12.0, 0.0)
    assert (s.amount_mxn, s.min_age, s.max_replacement_age) == (3e5, 20.0, 10.0)
    assert s.kinds == ("new", "used")


def test_fuel_tax_surcharge_is_price_times_tank_to_wheel_co2():
    spec = with_policy(instrument("fuel_taxes", "t", mxn_per_tonne_co2={2025: 1000, 2027: 3000},
                                  fuels=["diesel"]))
    reg = Regulator(mesa.Model(rng=0), spec, 5)
    reg.update(date(2026, 1, 1))
    price = 2000.0  # halfway along the path
    for t, name in enumerate(reg.tech_names):
        fuel = spec.technologies[name].fuel
        want = price * spec.fuels[fuel].ttw_co2_kg_per_unit / 1000.0 if fuel == "diesel" else 0.0
        assert reg.effects.fuel_surcharge_mxn[t] == pytest.approx(want), name
    reg.update(date(2026, 7, 1))
    assert reg.effects.fuel_surcharge_mxn.max() == pytest.approx(2500 * 2.68 / 1000)


def test_access_table_for_a_curfew_and_a_low_emission_zone():
    spec = with_policy(merge(
        instrument("contingency_curfews", "cf", classes=["T3"], days_per_year_observed=[30],
                   hours_per_day=10, operating_hours_per_year=3000,
                   exempt_technologies=["battery_electric"]),
        instrument("low_emission_zones", "lez", allowed_technologies=SOOT_FREE,
                   revenue_lost_share=0.25, classes=["C2", "T3"])))
    reg = Regulator(mesa.Model(rng=0), spec, 5)
    reg.update(date(2026, 1, 1))
    assert reg.curfew_days.max() == 30
    lost = reg.effects.access.lost[0, :, :, 0]  # not covered, the only region
    for r, rep in enumerate(reg.reported_names):
        for c, cls in enumerate(reg.class_names):
            keep = 1.0
            if cls == "T3" and rep != "battery_electric":
                keep *= 1 - 0.1
            if cls in ("C2", "T3") and rep not in SOOT_FREE:
                keep *= 1 - 0.25
            assert lost[r, c] == pytest.approx(1 - keep), (rep, cls)


def test_feebate_fee_rises_while_zero_emission_sales_lag_and_pays_a_rebate():
    spec = with_policy(instrument("zev_sales_requirements", "z", share_by_year={2025: 0.2},
                                  fee_step_mxn=1000, max_fee_mxn=50_000, classes=["C2"]))
    reg = Regulator(mesa.Model(rng=0), spec, 5)
    c2 = reg.class_names.index("C2")
    bev = reg.tech_names.index("battery_electric")
    diesel = reg.tech_names.index("diesel_epa2010")
    fees = []
    for month in range(1, 13):
        # 10 new C2 a month, one of them zero-emission: 10% against a 20% target
        reg.observe_new_sales(np.full(10, c2), np.arange(10) == 0)
        reg.update(date(2025, month, 1))
        fees.append(reg.fee[0, c2])
        assert (np.delete(reg.fee[0], c2) == 0).all(), "only the classes in scope pay"
        adj = reg.effects.price_adjust_mxn
        assert adj[diesel, c2] == pytest.approx(fees[-1])
        assert adj[bev, c2] == pytest.approx(-min(fees[-1] * 9, 50_000))
    # 10 points of gap, MXN 1,000 per point a month; capped at max_fee
    np.testing.assert_allclose(fees[:5], [10_000, 20_000, 30_000, 40_000, 50_000])
    assert max(fees) == 50_000
    # sales above the target: the fee falls back, to zero
    for month in range(1, 13):
        reg.observe_new_sales(np.full(10, c2), np.arange(10) < 5)
        reg.update(date(2026, month, 1))
    assert reg.fee[0, c2] == 0.0
