"""When policy acts: an instrument before its start changes nothing; an adaptive rule fires when,
and only when, its target is missed, in the month after its date, and the instrument it
switches on acts only from then; runs are deterministic; policy changed mid-run acts from the
next month, and a bad change leaves the model as it was."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fleetsim.scenarios import ScenarioError
from fleetsim.sim import FleetModel
from fleetsim.sim.output import summary
from tests.policy_helpers import SOOT_FREE, instrument, merge, month_index, with_policy

FRACTION = 0.02
SEED = 7

# ---- before its start an instrument does nothing -----------------------------------------------

LATER = {"start": "2026-01-01"}
PROGRAMME = dict(covered_technologies=["diesel_dpf_retrofit", "diesel_epa2010",
                                       "battery_electric"],
                 max_age_years=15, pm_cut_per_year=0.1, fee_mxn_per_vehicle_per_year=2500,
                 join_propensity={"micro": 0.3, "small": 0.5, "medium": 0.8, "large": 1.0})
CURFEW = dict(days_per_year_observed=[20, 30], hours_per_day=10, operating_hours_per_year=3000)
FROM_2026 = {
    "purchase_subsidies": instrument("purchase_subsidies", technologies=["battery_electric"],
                                     amount_mxn=1.5e6, **LATER),
    "retrofit_subsidies": instrument("retrofit_subsidies", retrofits=["diesel_dpf_retrofit"],
                                     amount_mxn=2e5, **LATER),
    "scrappage": instrument("scrappage", min_age_years=15, bonus_mxn=4e5, **LATER),
    "low_emission_zones": instrument("low_emission_zones", allowed_technologies=SOOT_FREE,
                                     revenue_lost_share=0.3, **LATER),
    "fuel_taxes": instrument("fuel_taxes", mxn_per_tonne_co2=3000, **LATER),
    "zev_sales_requirements": instrument("zev_sales_requirements", share_by_year={2025: 0.5},
                                         fee_step_mxn=5000, max_fee_mxn=2e6, **LATER),
    "green_freight": instrument("green_freight", "gf", **PROGRAMME, **LATER),
}
# these draw random numbers whether in force or not (curfew days each January, the firms a
# fleet rule binds): compared with the same instrument switched off
SAME_DRAWS = {
    "contingency_curfews": instrument("contingency_curfews", **CURFEW, **LATER),
    "green_freight_and_curfew": merge(
        instrument("green_freight", "gf", **PROGRAMME, **LATER),
        instrument("contingency_curfews", "cf", **CURFEW, exempt_programmes=["gf"], **LATER)),
    "zev_fleet_rules": instrument("zev_fleet_rules", classes=["T3", "C2"], firm_share=0.5,
                                  legacy_max_age_years=10, **LATER),
}


def outcome_columns(res: pd.DataFrame) -> list[str]:
    """Everything but the instruments' own book-keeping columns."""
    own = ("spend_", "budget_left_", "members_", "member_vehicles_", "curfew_days_", "zev_fee_",
           "active_", "adaptive_", "granted_", "units_left_")
    return [c for c in res.columns if not c.startswith(own)]


@pytest.fixture(scope="module")
def baseline_two_years():
    return FleetModel(with_policy({}), rng=SEED, sample_fraction=FRACTION).run(years=2).results()


def first_difference(a: pd.DataFrame, b: pd.DataFrame, cols) -> int:
    """The first month (row) in which any of the numeric columns differ (beyond the rounding
    of sums taken in another order)."""
    cols = [c for c in cols if c != "date"]
    differs = ~np.isclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-9,
                          atol=1e-9, equal_nan=True).all(axis=1)
    return int(np.flatnonzero(differs)[0]) if differs.any() else len(a)


@pytest.mark.parametrize("kind", sorted(FROM_2026))
def test_an_instrument_changes_nothing_before_its_start(kind, baseline_two_years):
    res = FleetModel(with_policy(FROM_2026[kind]), rng=SEED, sample_fraction=FRACTION).run(
        years=2).results()
    # the same as without it through 2025, then (perhaps not in its first month) not; a
    # green-freight programme alone exempts from no access limit, so it changes nothing (with
    # common random numbers its draws leave the baseline's alone)
    first = first_difference(res, baseline_two_years, outcome_columns(res))
    assert first == 24 if kind == "green_freight" else 12 <= first < 24
    assert (res.filter(like="active_").iloc[:12] == 0).all().all()
    assert (res.filter(like="active_").iloc[12:] == 1).all().all()
    assert (res["public_spending_mxn"].iloc[:12] == 0).all()
    assert (res["fuel_tax_revenue_mxn"].iloc[:12] == 0).all()


@pytest.mark.parametrize("kind", sorted(SAME_DRAWS))
def test_an_instrument_that_draws_changes_nothing_before_its_start(kind):
    on = with_policy(SAME_DRAWS[kind])
    off = with_policy({k: [{**x, "enabled": False} for x in items]
                       for k, items in SAME_DRAWS[kind].items()})
    a = FleetModel(on, rng=SEED, sample_fraction=FRACTION).run(years=2).results()
    b = FleetModel(off, rng=SEED, sample_fraction=FRACTION).run(years=2).results()
    assert 12 <= first_difference(a, b, outcome_columns(a)) < 24
    assert (a.filter(like="active_").iloc[:12] == 0).all().all()
    assert (a.filter(like="active_").iloc[12:] == 1).all().all()
    assert (b.filter(like="active_") == 0).all().all()


# ---- adaptive rules -----------------------------------------------------------------------------

# clean_fleets_mix's rule moved to the end of 2025: if under `target` of the fleet is soot-free,
# the low-emission zone (index 1) closes the city to trucks without a filter from January 2026
EARLY = {"policy.adaptive.0.by": "2025-12-31", "policy.low_emission_zones.1.start": "2026-01-01"}
RULE, LEZ = "soot_free_2030", "zmvm_low_emission_zone"
BY = month_index("2025-12")


def mix(target: float, **more) -> FleetModel:
    overrides = {**EARLY, "policy.adaptive.0.target": target, **more}
    return FleetModel("clean_fleets_mix", rng=SEED, sample_fraction=FRACTION,
                      overrides=overrides).run(years=2)


@pytest.fixture(scope="module")
def reached() -> tuple[FleetModel, float]:
    """A run whose rule cannot fire (target 0) and the share it reached by the rule's date."""
    model = mix(0.0)
    res = model.results()
    assert res["date"].iloc[BY - model.start_month] == "2025-12"
    return model, float(res["share_soot_free"].iloc[BY - model.start_month])


@pytest.fixture(scope="module")
def missed(reached):
    return mix(reached[1] + 1e-3)


@pytest.fixture(scope="module")
def met(reached):
    return mix(reached[1] - 1e-3)


def test_adaptive_rule_fires_when_its_target_is_missed(reached, missed):
    res = missed.results()
    k = BY + 1 - missed.start_month
    assert missed.regulator.fired == {RULE: BY + 1}, "fires in the month after its date"
    np.testing.assert_array_equal(res[f"adaptive_{RULE}_fired"], np.arange(len(res)) >= k)
    np.testing.assert_array_equal(res[f"active_{LEZ}"], np.arange(len(res)) >= k)
    assert summary(missed)["policy"]["adaptive_fired"] == {RULE: "2026-01"}
    # until it fires, the run is the one whose rule cannot fire
    base = reached[0].results()
    pd.testing.assert_frame_equal(res.iloc[:k], base.iloc[:k])
    # then the zone takes a quarter of the margin of every truck without a filter
    assert res["operating_margin_mxn"].iloc[k] < 0.85 * base["operating_margin_mxn"].iloc[k]
    later = res["share_soot_free"].iloc[-1] - base["share_soot_free"].iloc[-1]
    assert later > 0.03, "the zone raises the soot-free share"


def test_adaptive_rule_does_not_fire_when_its_target_is_met(reached, met):
    assert met.regulator.fired == {}
    assert summary(met)["policy"]["adaptive_fired"] == {}
    res = met.results()
    assert (res[f"adaptive_{RULE}_fired"] == 0).all() and (res[f"active_{LEZ}"] == 0).all()
    pd.testing.assert_frame_equal(res, reached[0].results())


def test_switched_on_instrument_waits_for_its_own_start(reached):
    later = mix(reached[1] + 1e-3, **{"policy.low_emission_zones.1.start": "2026-06-01"})
    res = later.results()
    assert later.regulator.fired == {RULE: BY + 1}
    k = month_index("2026-06") - later.start_month
    np.testing.assert_array_equal(res[f"active_{LEZ}"], np.arange(len(res)) >= k)
    base = reached[0].results()
    assert first_difference(res, base, outcome_columns(res)) == k


@pytest.mark.parametrize(("offset", "fires"), [(-1e-3, True), (1e-3, False)])
def test_at_most_rule_fires_when_the_metric_ends_above_its_target(reached, offset, fires):
    pm = float(reached[0].results()["pm25_t"].iloc[BY - reached[0].start_month])
    model = mix(pm + offset, **{"policy.adaptive.0.metric": "pm25_t",
                                "policy.adaptive.0.direction": "at_most"})
    assert (RULE in model.regulator.fired) == fires
    assert model.results()[f"active_{LEZ}"].iloc[-1] == float(fires)


def test_adaptive_rule_is_checked_once():
    """The rule looks at its date only: a target first missed later does not fire it."""
    model = mix(0.0)
    model.update_policy({"policy.adaptive.0.target": 1.0})  # impossible, but too late
    model.run(years=1)
    assert model.regulator.fired == {}


def test_an_instrument_a_rule_switched_on_stays_on(reached):
    model = mix(reached[1] + 1e-3)
    model.update_policy({"policy.low_emission_zones.1.enabled": False})
    model.run(years=1)
    assert (model.results()[f"active_{LEZ}"].iloc[-12:] == 1).all()


def test_adaptive_rule_on_an_unknown_metric_is_refused():
    with pytest.raises(ScenarioError) as info:
        FleetModel("clean_fleets_mix", rng=SEED, sample_fraction=FRACTION,
                   overrides={"policy.adaptive.0.metric": "happiness"})
    assert any("policy.adaptive.0.metric" in p for p in info.value.problems)


# ---- determinism --------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["clean_fleets_mix", "fleet_rule_and_programme"])
def test_same_scenario_and_seed_same_results(scenario, missed):
    if scenario == "clean_fleets_mix":
        def build():
            return mix(missed.regulator.adaptive[0].target)
        first = missed
    else:
        spec = with_policy(merge(
            instrument("zev_fleet_rules", "fr", classes=["T3"], firm_share=0.5,
                       legacy_max_age_years=10),
            instrument("green_freight", "gf", **PROGRAMME),
            instrument("contingency_curfews", "cf", **CURFEW, exempt_programmes=["gf"]),
            instrument("zev_sales_requirements", "z", share_by_year={2025: 0.3},
                       fee_step_mxn=5000, max_fee_mxn=2e6)))

        def build():
            return FleetModel(spec, rng=SEED, sample_fraction=FRACTION).run(years=2)
        first = build()
    again = build()
    res = first.results()
    assert any(c.startswith(("spend_", "members_", "zev_fee_")) for c in res.columns)
    pd.testing.assert_frame_equal(res, again.results())
    pd.testing.assert_frame_equal(first.fleet(), again.fleet())
    other = FleetModel(first.spec, rng=SEED + 1, sample_fraction=FRACTION).run(years=2)
    assert not res.equals(other.results())


# ---- policy changed mid-run ---------------------------------------------------------------------

def scrappage_model(**overrides) -> FleetModel:
    """scrappage_2015 (2026-2028, 1,040 units a year), run to the end of 2026."""
    return FleetModel("scrappage_2015", rng=SEED, sample_fraction=0.05,
                      overrides=overrides or None).run(years=2)


@pytest.fixture(scope="module")
def untouched():
    return scrappage_model().run(years=1)


@pytest.mark.parametrize("change", [
    {"policy.scrappage.0.bonus_mxn": -5},
    {"policy.scrappage.0.end": "2020-01-01"},
    {"policy.scrappage.0.name": "renamed"},
    {"policy.scrappage": []},
    {"policy.scrappage.0.no_such_term": 1},
    {"market.growth_per_year": 0.5},
    {"policy.adaptive": [{"name": "r", "metric": "happiness", "target": 1, "by": "2027-01-01",
                          "enable": ["scrappage_2015"], "source": "[E] t"}]},
])
def test_a_bad_change_raises_and_leaves_the_model_as_it_was(change, untouched):
    model = scrappage_model()
    spec, instruments = model.spec, list(model.regulator.instruments)
    with pytest.raises(ScenarioError) as info:
        model.update_policy(change)
    assert info.value.problems
    assert model.spec is spec
    assert model.regulator.spec is spec
    assert model.regulator.instruments == instruments
    assert model.policy_changes == []
    model.run(years=1)
    pd.testing.assert_frame_equal(model.results(), untouched.results())


def test_a_change_acts_from_the_next_month(untouched):
    model = scrappage_model()
    month = model.month
    model.update_policy({"policy.scrappage.0.bonus_mxn": 100_000})
    assert model.policy_changes == [(month + 1, "policy.scrappage.0.bonus_mxn", 100_000)]
    res_before = model.results()
    model.run(years=1)
    res = model.results()
    pd.testing.assert_frame_equal(res.iloc[: len(res_before)], res_before)
    after = res["spend_scrappage_2015_mxn"].iloc[len(res_before):]
    assert after.sum() > 0
    # every bonus paid from January 2027 is the new one
    units = after * 0.05 / 100_000
    np.testing.assert_allclose(units, np.round(units), atol=1e-6)
    old = untouched.results()["spend_scrappage_2015_mxn"].iloc[len(res_before):]
    assert not np.allclose(after, old)


def test_switching_an_instrument_off_mid_run_stops_it(untouched):
    model = scrappage_model()
    model.update_policy({"policy.scrappage.0.enabled": False})
    n = len(model.results())
    model.run(years=1)
    res = model.results().iloc[n:]
    assert (res["spend_scrappage_2015_mxn"] == 0).all()
    assert (res["active_scrappage_2015"] == 0).all()
    # left on, it would have spent its 2027 units
    assert untouched.results()["spend_scrappage_2015_mxn"].iloc[n:].sum() > 0


def test_a_budget_raised_mid_run_can_be_spent():
    spec = with_policy(instrument("scrappage", "scrap", min_age_years=15, bonus_mxn=4e5,
                                  budget_mxn=20 * 4e5 / FRACTION))
    model = FleetModel(spec, rng=SEED, sample_fraction=FRACTION).run(years=1)
    res = model.results()
    assert res["budget_left_scrap_mxn"].iloc[-1] < 4e5, "spent within the year"
    model.update_policy({"policy.scrappage.0.budget_mxn": 40 * 4e5 / FRACTION})
    model.run(years=1)
    res = model.results()
    pol = summary(model)["policy"]["instruments"]["scrap"]
    assert pol["spent_mxn"] + pol["budget_left_mxn"] == pytest.approx(pol["budget_mxn"])
    assert res["spend_scrap_mxn"].iloc[12:].sum() > 0
    assert res["spend_scrap_mxn"].sum() <= 40 * 4e5 / FRACTION + 1e-3
    assert (res["budget_left_scrap_mxn"] >= -1e-3).all()


def test_a_budget_cut_below_what_was_spent_is_refused():
    spec = with_policy(instrument("scrappage", "scrap", min_age_years=15, bonus_mxn=4e5,
                                  budget_mxn=200 * 4e5 / FRACTION))
    model = FleetModel(spec, rng=SEED, sample_fraction=FRACTION).run(years=1)
    spent = model.results()["spend_scrap_mxn"].sum()
    assert spent > 10 * 4e5 / FRACTION
    left = model.regulator.budget_left(0)
    with pytest.raises(ScenarioError) as info:
        model.update_policy({"policy.scrappage.0.budget_mxn": 10 * 4e5 / FRACTION})
    assert info.value.problems[0].startswith("policy.scrappage.0.budget_mxn: got ")
    assert "already spent" in info.value.problems[0]
    assert model.spec.policy.scrappage[0].budget_mxn == 200 * 4e5 / FRACTION
    assert model.regulator.budget_left(0) == left
    model.run(years=1)
    res = model.results()
    assert (res["budget_left_scrap_mxn"] >= 0).all()
    assert summary(model)["policy"]["instruments"]["scrap"]["budget_left_mxn"] >= 0
