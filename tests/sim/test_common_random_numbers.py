"""Common random numbers (issue 13): every draw is keyed by (seed, purpose, entity, month)
(sim.draws), so a preset and its baseline with the same seed differ only by what the policy
does: nothing where it never acts, nothing before it first acts, little where it acts little."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.sim import FleetModel
from fleetsim.sim.comparison import compare
from fleetsim.sim.draws import Draws, Purpose
from tests.policy_helpers import instrument, merge, month_index, with_policy

FRACTION = 0.02
LATE = {"start": "2040-01-01", "end": "2045-12-31"}  # after a three-year run from 2025
FROM_2027 = {"start": "2027-01-01", "end": "2040-12-31"}
SOOT_FREE = ["diesel_dpf_retrofit", "diesel_epa2010", "natural_gas", "battery_electric"]
CURFEW = {"days_per_year_observed": [3, 5, 8], "hours_per_day": 10,
          "operating_hours_per_year": 3000, "exempt_technologies": SOOT_FREE}
PROGRAMME = {"covered_technologies": ["diesel_dpf_retrofit", "diesel_epa2010", "battery_electric"],
             "max_age_years": 15, "pm_cut_per_year": 0.1, "fee_mxn_per_vehicle_per_year": 2500,
             "join_propensity": {"micro": 0.3, "small": 0.5, "medium": 0.8, "large": 1.0}}


def every_instrument(dates: dict) -> dict:
    """One instrument of each spending, pricing and access kind, in force over `dates`."""
    return merge(
        instrument("purchase_subsidies", "ps", technologies=["battery_electric"],
                   amount_mxn=6e5, **dates),
        instrument("retrofit_subsidies", "rs", retrofits=["diesel_dpf_retrofit"],
                   amount_mxn=1e5, **dates),
        instrument("scrappage", "sc", min_age_years=15, bonus_mxn=4e5, **dates),
        instrument("low_emission_zones", "lez", allowed_technologies=SOOT_FREE,
                   revenue_lost_share=0.3, **dates),
        instrument("fuel_taxes", "ft", mxn_per_tonne_co2=3000, **dates),
        instrument("contingency_curfews", "cf", **CURFEW, **dates),
        instrument("green_freight", "gf", **PROGRAMME, **dates),
        instrument("zev_fleet_rules", "fr", classes=["T3", "C2"], firm_share=0.5,
                   legacy_max_age_years=10, **dates))


def pair(policy: dict, years: float, seed: int = 5) -> tuple[FleetModel, FleetModel]:
    runs = [FleetModel(with_policy(p, name=n), rng=seed, sample_fraction=FRACTION).run(years)
            for p, n in ((policy, "preset"), ({}, "baseline"))]
    return runs[0], runs[1]


def shared_numeric(a, b) -> list[str]:
    return [c for c in a.select_dtypes("number").columns if c in b.columns]


def test_draws_are_a_function_of_their_key_alone():
    d = Draws(42)
    keys = np.array([3, 1, 4, 1, 5, 9, 2, 6], np.int64)
    u = d.uniform(Purpose.CHOICE, keys, 300)
    # the same key gives the same draw wherever it stands, and in another process's order
    np.testing.assert_array_equal(u[[1, 3]], d.uniform(Purpose.CHOICE, [1, 1], 300))
    np.testing.assert_array_equal(d.uniform(Purpose.CHOICE, keys[::-1], 300), u[::-1])
    assert np.all((u > 0) & (u < 1))
    # purpose, month, slot and seed each change the draw
    for other in (d.uniform(Purpose.ARRIVAL, keys, 300), d.uniform(Purpose.CHOICE, keys, 301),
                  d.uniform(Purpose.CHOICE, keys, 300, 1), Draws(43).uniform("choice", keys, 300)):
        assert not np.any(other == u)


def test_keyed_uniforms_and_normals_have_their_distributions():
    d = Draws(7)
    keys = np.arange(200_000)
    u = d.uniform(Purpose.LIFETIME, keys)
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001
    # neighbouring keys are not correlated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    z = d.normal(Purpose.USAGE, keys)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    g = d.gumbel(Purpose.CHOICE, keys[:50_000], 0, np.array([0, 2]), 3)
    assert np.all(g[:, 1] == 0)
    assert abs(g[:, 0].mean() - np.euler_gamma) < 0.02


def test_child_keys_depend_on_parent_and_month_only():
    d = Draws(1)
    a = d.children(np.array([10, 11, 12]), 24300)
    np.testing.assert_array_equal(a[[2, 0]], d.children(np.array([12, 10]), 24300))
    assert len(set(a) | set(d.children(np.array([10, 11, 12]), 24301))) == 6
    assert np.all(a >= 0)


@pytest.fixture(scope="module")
def never_acts():
    return pair(every_instrument(LATE), years=3)


def test_instruments_that_never_act_avoid_exactly_nothing(never_acts):
    preset, base = never_acts
    a, b = preset.results(), base.results()
    cols = shared_numeric(a, b)
    assert len(cols) > 50
    diff = a[cols].to_numpy(float) - b[cols].to_numpy(float)
    bad = [c for c, d in zip(cols, np.abs(diff).max(axis=0), strict=True) if d != 0]
    assert not bad, f"columns that differ month by month: {bad}"
    out = compare(preset, base)
    assert all(v == 0.0 for v in out["avoided_t"].values()), out["avoided_t"]
    assert out["public_spending_mxn"] == 0.0


def test_a_subsidy_with_no_budget_avoids_nothing():
    """Every claim is rationed away: the rows choose again, with the same tastes, among the
    baseline's options; what they choose and what the fleet emits is the baseline's."""
    preset, base = pair(instrument("purchase_subsidies", "ps", technologies=["battery_electric"],
                                   amount_mxn=6e5, budget_mxn=0), years=3)
    out = compare(preset, base)
    assert all(v == 0.0 for v in out["avoided_t"].values()), out["avoided_t"]


def test_nothing_differs_before_the_first_instrument_acts():
    preset, base = pair(every_instrument(FROM_2027), years=4)
    a, b = preset.results(), base.results()
    cols = shared_numeric(a, b)
    first = month_index(FROM_2027["start"]) - preset.start_month
    before = (a[cols].to_numpy(float)[:first] != b[cols].to_numpy(float)[:first]).any(axis=0)
    assert not before.any(), [c for c, x in zip(cols, before, strict=True) if x]
    # and the instruments do act afterwards
    assert (a["pm25_t"].to_numpy()[first:] != b["pm25_t"].to_numpy()[first:]).any()


def test_a_subsidy_for_one_truck_moves_pm25_by_at_most_that_truck():
    """A purchase subsidy whose budget pays for one simulated truck: the PM2.5 it changes is
    at most what the most polluting vehicle of the fleet emits over the run (the truck it
    replaces, scaled to the whole fleet). On main's code before common random numbers, seed 6
    gave -71 t against a bound of 44 t: the runs diverged from the first different choice."""
    years, amount = 4, 6e5
    preset, base = pair(instrument("purchase_subsidies", "ps", technologies=["battery_electric"],
                                   amount_mxn=amount, budget_mxn=amount / FRACTION), years=years)
    spent = float(preset.results()["public_spending_mxn"].sum())
    assert spent == pytest.approx(amount / FRACTION), "one simulated truck subsidised"
    pm_rate = base.registry.rates[base.rate_index("pm25_g"), : base.registry.n]
    worst_t = float(pm_rate.max()) * years / 1e6 / FRACTION  # tonnes over the run
    avoided = compare(preset, base)["avoided_t"]["pm25_t"]
    assert abs(avoided) <= worst_t, (avoided, worst_t)
