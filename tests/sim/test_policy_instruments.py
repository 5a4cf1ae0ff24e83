"""Each policy instrument moves outcomes the expected way, by a plausible amount, in small
Mexico City runs (2-5% samples, two or three years) compared with the same seeds without it.

An instrument may change the random stream (a curfew draws its days, a programme its joiners),
so runs are compared in aggregate, over more than one seed where the effect is small, with
margins well inside what the runs show (numbers in the comments: whole-fleet figures)."""

from __future__ import annotations

from datetime import date
from functools import cache

import numpy as np
import pytest

from fleetsim.agents.options import IMPORT, NEW, USED
from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel
from fleetsim.sim.registry import ACTIVE
from tests.helpers import recorded_run
from tests.policy_helpers import SOOT_FREE, instrument, merge, month_index, total, with_policy

YEARS = 3
SEEDS = (1, 2)
FRACTION = 0.02

BEV_SUBSIDY = instrument("purchase_subsidies", "bev_sub", technologies=["battery_electric"],
                         amount_mxn=1.5e6, max_share_of_price=0.6)
RETROFIT_SUBSIDY = instrument("retrofit_subsidies", "dpf_sub", retrofits=["diesel_dpf_retrofit"],
                              amount_mxn=2e5, max_share_of_price=1.0)
SCRAPPAGE = instrument("scrappage", "scrap", min_age_years=15, bonus_mxn=4e5,
                       replacement=["new", "used", "import"])
LEZ = instrument("low_emission_zones", "lez", allowed_technologies=SOOT_FREE,
                 revenue_lost_share=0.3)
CARBON_PRICE = 3000.0
FUEL_TAX = instrument("fuel_taxes", "tax", mxn_per_tonne_co2=CARBON_PRICE)
ZEV_TARGET = {2025: 0.3, 2030: 0.6}
ZEV_SALES = instrument("zev_sales_requirements", "zev_req", share_by_year=ZEV_TARGET,
                       fee_step_mxn=5000, max_fee_mxn=2e6)
CURFEW_TERMS = dict(classes=["C2", "C3", "T3"], days_per_year_observed=[30], hours_per_day=10,
                    operating_hours_per_year=3000, exempt_technologies=["battery_electric"])
CURFEW_LOSS = 30 * 10 / 3000
CURFEW = instrument("contingency_curfews", "cf", **CURFEW_TERMS)
PROGRAMME_TERMS = dict(covered_technologies=["diesel_dpf_retrofit", "diesel_epa2010",
                                             "battery_electric"],
                       max_age_years=15, pm_cut_per_year=0.1, fee_mxn_per_vehicle_per_year=2500,
                       join_propensity={"micro": 0.3, "small": 0.5, "medium": 0.8, "large": 1.0},
                       bands=["small", "medium", "large"])

POLICIES = {
    "baseline": {},
    "bev_sub": BEV_SUBSIDY,
    "dpf_sub": RETROFIT_SUBSIDY,
    "scrap": SCRAPPAGE,
    "lez": LEZ,
    "tax": FUEL_TAX,
    "zev_req": ZEV_SALES,
    "curfew": CURFEW,
}


@cache
def run(policy: str, seed: int, fraction: float = FRACTION, years: int = YEARS) -> FleetModel:
    """A finished run, shared between the tests of this module (do not step it further)."""
    return FleetModel(with_policy(POLICIES[policy]), rng=seed, sample_fraction=fraction).run(
        years=years)


def end(policy: str, column: str, seeds=SEEDS, **kw) -> np.ndarray:
    return np.array([run(policy, s, **kw).results()[column].iloc[-1] for s in seeds])


def summed(policy: str, column: str, seeds=SEEDS, **kw) -> np.ndarray:
    return np.array([total(run(policy, s, **kw).results(), column) for s in seeds])


def new_sales(model: FleetModel) -> np.ndarray:
    """New vehicles sold over the last 12 months: [other, zero-emission]."""
    return np.sum(model.regulator.sales, axis=0).sum(axis=0)


def new_zev_share(*models: FleetModel) -> float:
    """Share of zero-emission vehicles among new sales over the last 12 months (of the runs
    pooled: a 2% sample sells about 60 new vehicles a year)."""
    sold = sum(new_sales(m) for m in models)
    return float(sold[1] / sold.sum())


# ---- purchase, retrofit and scrappage money -----------------------------------------------------

def test_purchase_subsidy_for_electric_trucks_raises_zero_emission_purchases():
    # whole fleet after 3 years: ZEV share 1.5-1.8% without, 5.7-6.2% with; new sales
    # 3-7% zero-emission without, 50-56% with; MXN 8.7-10.2 bn spent, about 1.4 M per extra ZEV
    base, sub = end("baseline", "share_zev"), end("bev_sub", "share_zev")
    assert (sub > 2.5 * base).all(), (base, sub)
    assert all(new_zev_share(run("bev_sub", s)) > new_zev_share(run("baseline", s)) + 0.2
               for s in SEEDS)
    spent = summed("bev_sub", "spend_bev_sub_mxn")
    extra_zev = (sub - base) * end("bev_sub", "vehicles")
    per_extra = spent / extra_zev
    assert ((per_extra > 0.5e6) & (per_extra < 4.5e6)).all(), per_extra
    # nothing is spent on anything else
    np.testing.assert_allclose(summed("bev_sub", "public_spending_mxn"), spent)


def test_retrofit_subsidy_raises_retrofits():
    # 5% samples, three seeds: about 3,200 retrofits without, 5,200 with (+60%)
    seeds, f = (1, 2, 3), 0.05
    base = summed("baseline", "retrofits", seeds, fraction=f)
    sub = summed("dpf_sub", "retrofits", seeds, fraction=f)
    assert sub.sum() > 1.2 * base.sum(), (base, sub)
    # the subsidy pays the whole filter (MXN 200,000): every subsidised retrofit is counted
    paid = summed("dpf_sub", "spend_dpf_sub_mxn", seeds, fraction=f) / 2e5
    assert (paid > 0).all() and (paid <= sub + 1e-6).all()
    assert (summed("baseline", "public_spending_mxn", seeds, fraction=f) == 0).all()


def test_scrappage_bonus_scraps_more_old_trucks():
    # 24,000-25,000 scrapped in 3 years without, 34,000-37,000 with; mean age 18.4 -> 17.3;
    # trucks of 15 years or more 50-51% of the fleet -> 44-46%
    base, scrap = summed("baseline", "scrapped"), summed("scrap", "scrapped")
    assert (scrap > 1.2 * base).all(), (base, scrap)
    assert (end("scrap", "mean_age_years") < end("baseline", "mean_age_years") - 0.5).all()
    for s in SEEDS:
        old = [(run(p, s).fleet()["age_years"] >= 15).mean() for p in ("baseline", "scrap")]
        assert old[1] < old[0] - 0.03, old
    # every bonus paid is a vehicle scrapped
    bonuses = summed("scrap", "spend_scrap_mxn") / 4e5
    assert (bonuses > 0).all() and (bonuses <= scrap).all()


# ---- access limits ------------------------------------------------------------------------------

def test_curfew_takes_its_share_of_non_exempt_trucks_margins():
    model = FleetModel(with_policy(CURFEW), rng=1, sample_fraction=FRACTION)
    model.step()
    reg, t = model.registry, model.tables
    rows = model.active_rows()
    c = reg.cols["vclass"][rows].astype(np.intp)
    rep = t.reported(reg.cols["tech"][rows], reg.cols["retrofit"][rows])
    lost = model.earnings.access.lost_share(reg.cols["owner"][rows], rep, c,
                                            reg.cols["region"][rows].astype(np.intp),
                                            np.zeros(len(rows)))
    hit = np.isin(c, [t.class_code[x] for x in ("C2", "C3", "T3")]) \
        & (rep != t.tech_code["battery_electric"])
    np.testing.assert_allclose(lost[hit], CURFEW_LOSS)
    assert (lost[~hit] == 0).all() and (~hit).sum() > 100
    # the month's margin falls by that share of the hit trucks' contribution
    km = reg.rates[model.rate_index("km"), rows]
    contribution = model.earnings.margin_per_km[c] * km
    drop = (contribution * lost).sum() / 12.0 / FRACTION
    base = run("baseline", 1).results()["operating_margin_mxn"].iloc[0]
    got = model.results()["operating_margin_mxn"].iloc[0]
    assert base - got == pytest.approx(drop, rel=0.05)
    # over the run: margins stay lower (MXN 159-161 bn without, 127-128 bn with, in 3 years)
    assert (summed("curfew", "operating_margin_mxn")
            < 0.9 * summed("baseline", "operating_margin_mxn")).all()


def test_curfew_days_are_drawn_each_january_from_the_observed_series():
    series = [1, 5, 9, 14]
    spec = with_policy(instrument("contingency_curfews", "cf", **{
        **CURFEW_TERMS, "days_per_year_observed": series}))
    res = FleetModel(spec, rng=3, sample_fraction=0.01).run(years=4).results()
    days = res.groupby("year")["curfew_days_cf"]
    assert (days.nunique() == 1).all(), "the same days all year"
    assert set(days.first()) <= set(series)
    assert days.first().nunique() > 1


def test_low_emission_zone_raises_the_soot_free_share():
    # soot-free share after 3 years: 21-22% without, 42% with (retrofits x10-14, old trucks
    # out)
    base, lez = end("baseline", "share_soot_free"), end("lez", "share_soot_free")
    assert (lez > base + 0.1).all(), (base, lez)
    assert (summed("lez", "retrofits") > 3 * summed("baseline", "retrofits")).all()
    assert (summed("lez", "public_spending_mxn") == 0).all()


# ---- green freight ------------------------------------------------------------------------------

def programme(**changes) -> dict:
    return instrument("green_freight", "gf", **{**PROGRAMME_TERMS, **changes})


def exempting_curfew() -> dict:
    return instrument("contingency_curfews", "cf", **{**CURFEW_TERMS,
                                                      "exempt_programmes": ["gf"]})


@pytest.fixture(scope="module")
def members_run():
    """Two years with a curfew that exempts the programme's covered trucks."""
    spec = with_policy(merge(programme(), exempting_curfew()))
    model = FleetModel(spec, rng=1, sample_fraction=FRACTION)
    joined = []
    for _ in range(24):
        model.step()
        joined.append(model.regulator.member_of.copy())
    return model, np.array(joined)


def test_firms_join_a_green_freight_programme_when_it_exempts_them(members_run):
    # about 1,300 member firms in 2025 with 14,000 covered trucks, 1,850 firms by 2026
    model, joined = members_run
    res = model.results()
    assert res["members_gf"].iloc[0] > 0 and res["member_vehicles_gf"].iloc[0] > 0
    members = np.flatnonzero((joined >= 0).any(axis=0))
    band = model.operator_arrays.band[members]
    assert not np.isin(band, [SIZE_BANDS.index("micro")]).any(), "micro firms are not in scope"
    assert (joined[:, members] <= 0).all()
    # membership changes only in January (joins and departures)
    changed = np.flatnonzero((joined[1:] != joined[:-1]).any(axis=1)) + 1
    assert set(changed % 12) <= {0}


def test_members_covered_trucks_escape_the_curfew(members_run):
    model, _ = members_run
    reg, t = model.registry, model.tables
    rows = model.active_rows()
    owner = reg.cols["owner"][rows]
    rep = t.reported(reg.cols["tech"][rows], reg.cols["retrofit"][rows])
    c = reg.cols["vclass"][rows].astype(np.intp)
    region = reg.cols["region"][rows].astype(np.intp)
    age = (model.month - reg.cols["birth_month"][rows]) / 12.0
    access = model.earnings.access
    cover = access.cover(owner, rep, c, region, age)
    lost = access.lost_share(owner, rep, c, region, age)
    in_scope = np.isin(c, [t.class_code[x] for x in ("C2", "C3", "T3")])
    assert (cover > 0).sum() > 50
    assert (lost[cover > 0] == 0).all()
    member = model.regulator.member_of[owner] >= 0
    dirty = member & (cover == 0) & in_scope & (rep != t.tech_code["battery_electric"])
    assert dirty.sum() > 0, "members' uncovered trucks are still hit"
    np.testing.assert_allclose(lost[dirty], CURFEW_LOSS)


@pytest.mark.parametrize("case", ["nothing_to_gain", "fee_above_gain", "programme_not_exempt"])
def test_nobody_joins_a_programme_with_nothing_to_gain(case):
    policy = {
        "nothing_to_gain": programme(),
        "fee_above_gain": merge(programme(fee_mxn_per_vehicle_per_year=1e7), exempting_curfew()),
        "programme_not_exempt": merge(programme(), CURFEW),
    }[case]
    res = FleetModel(with_policy(policy), rng=1, sample_fraction=FRACTION).run(years=2).results()
    assert (res["members_gf"] == 0).all()
    assert (res["member_vehicles_gf"] == 0).all()


def test_a_programme_starting_mid_year_takes_members_in_its_first_month_and_ends_with_them():
    spec = with_policy(merge(programme(start="2025-07-01", end="2025-12-31"),
                             exempting_curfew()))
    res = FleetModel(spec, rng=1, sample_fraction=FRACTION).run(years=2).results()
    members = res["members_gf"].to_numpy()
    assert (members[:6] == 0).all()
    assert members[6] > 0 and (members[6:12] == members[6]).all()
    assert (members[12:] == 0).all() and (res["member_vehicles_gf"].iloc[12:] == 0).all()


def test_members_pay_the_yearly_fee_for_their_covered_trucks():
    spec = with_policy(merge(programme(), exempting_curfew()))
    model = FleetModel(spec, rng=1, sample_fraction=FRACTION).run(years=1)
    ops, reg, t = model.operator_arrays, model.regulator, model.tables
    cash = ops.cash.copy()
    today = date(2026, 1, 1)
    reg.update(today, model.world())  # January's update alone: joins, departures and fees
    m = month_index("2026-01")
    rows = model.active_rows()
    cols = model.registry.cols
    cover = reg.effects.access.cover(cols["owner"][rows],
                                     t.reported(cols["tech"][rows], cols["retrofit"][rows]),
                                     cols["vclass"][rows].astype(np.intp),
                                     cols["region"][rows].astype(np.intp),
                                     (m - cols["birth_month"][rows]) / 12.0)
    n_cov = np.bincount(cols["owner"][rows], weights=cover == 1, minlength=len(cash))
    members = reg.member_of == 0
    assert members.sum() > 10
    np.testing.assert_allclose(cash - ops.cash, np.where(members, 2500 * n_cov, 0.0))


def test_members_that_miss_their_pm_cut_leave_and_wait_a_year():
    """A cut of 100% a year: every member whose fleet is not all covered leaves in January and
    may not rejoin for twelve months."""
    spec = with_policy(merge(programme(pm_cut_per_year=1.0), exempting_curfew()))
    model = FleetModel(spec, rng=1, sample_fraction=FRACTION)
    model.run(years=1)
    reg = model.regulator
    before = reg.member_of.copy()
    model.step()  # January 2026
    assert reg.members_left > 0
    left = np.flatnonzero((before >= 0) & (reg.member_of < 0))
    assert len(left) == reg.members_left
    np.testing.assert_array_equal(reg.barred_until[left], model.month + 12)
    for _ in range(11):
        model.step()
        assert (reg.member_of[left] < 0).all()


# ---- fuel tax -----------------------------------------------------------------------------------

def test_fuel_tax_revenue_is_energy_times_surcharge_and_raises_energy_cost():
    model = run("tax", 1)
    res = model.results()
    spec = model.spec
    want = sum(res[f"{f}_{spec.fuels[f].unit.lower()}"] * CARBON_PRICE
               * spec.fuels[f].ttw_co2_kg_per_unit / 1000.0 for f in spec.fuels)
    np.testing.assert_allclose(res["fuel_tax_revenue_mxn"], want, rtol=1e-9)
    # a carbon price on every fuel: revenue is tank-to-wheel CO2 times the price
    np.testing.assert_allclose(res["fuel_tax_revenue_mxn"], res["co2_ttw_t"] * CARBON_PRICE,
                               rtol=1e-9)
    # month one (the fleets barely differ yet): energy cost is the untaxed one plus the tax
    base = run("baseline", 1).results()
    assert res["energy_cost_mxn"].iloc[0] - res["fuel_tax_revenue_mxn"].iloc[0] == \
        pytest.approx(base["energy_cost_mxn"].iloc[0], rel=0.01)
    # MXN 27-28 bn collected in 3 years; energy costs up by about 28%; more new ZEVs
    assert (summed("tax", "energy_cost_mxn") > 1.2 * summed("baseline", "energy_cost_mxn")).all()
    assert (summed("baseline", "fuel_tax_revenue_mxn") == 0).all()
    # three seeds pooled: 5% of new sales zero-emission without, 16% with
    seeds = (*SEEDS, 3)
    assert new_zev_share(*(run("tax", s) for s in seeds)) > \
        new_zev_share(*(run("baseline", s) for s in seeds)) + 0.05


# ---- zero-emission sales requirement ------------------------------------------------------------

def test_zev_sales_requirement_raises_the_zev_share_of_sales_towards_its_target():
    # share of new sales in the third year: 3-7% without, 40-61% with, against a 45% target
    target = np.interp(2027.5, list(ZEV_TARGET), list(ZEV_TARGET.values()))
    for s in SEEDS:
        base, req = new_zev_share(run("baseline", s)), new_zev_share(run("zev_req", s))
        assert req > base + 0.2, (base, req)
        assert abs(target - req) < abs(target - base)
    fee = run("zev_req", 1).results()["zev_fee_zev_req_mxn"]
    assert (fee <= 2e6).all() and fee.max() > 0
    # while sales lag (the first months) the fee climbs every month
    assert (np.diff(fee.iloc[:6]) > 0).all(), fee.iloc[:6].tolist()
    assert (run("baseline", 1).results()["public_spending_mxn"] == 0).all()


def test_zev_fee_moves_with_the_gap_each_month():
    """Month by month, per class: the fee rises while the last 12 months' ZEV share of new
    sales lags the target, and falls when it is ahead (unless held at a bound)."""
    model = FleetModel(with_policy(ZEV_SALES), rng=2, sample_fraction=FRACTION)
    reg = model.regulator
    moved = 0
    for _ in range(30):
        fee0 = reg.fee[0].copy()
        window = [*list(reg.sales)[1:], reg._sales_month] if len(reg.sales) == 12 else \
            [*reg.sales, reg._sales_month]
        sold = np.sum(window, axis=0)
        model.step()
        d = model.date
        target = np.interp(d.year + (d.month - 1) / 12, list(ZEV_TARGET),
                           list(ZEV_TARGET.values()))
        n = sold.sum(axis=1)
        share = np.divide(sold[:, 1], n, out=np.zeros(len(n)), where=n > 0)
        gap = np.where(n > 0, target - share, target)
        step = reg.fee[0] - fee0
        free = (fee0 > 0) & (fee0 < 2e6) & (reg.fee[0] > 0) & (reg.fee[0] < 2e6)
        np.testing.assert_allclose(step[free], 5000 * 100 * gap[free], atol=1e-6)
        assert (np.sign(step[free]) == np.sign(gap[free])).all()
        moved += int(free.sum())
    assert moved > 10


# ---- zero-emission fleet rule -------------------------------------------------------------------

RULE_START, ALL_ZEV = "2025-03-01", "2026-04-01"
LEGACY = 12
FLEET_RULE = instrument("zev_fleet_rules", "fr", start=RULE_START, classes=["C2", "T3"],
                        bands=["small", "medium", "large"], firm_share=0.5,
                        legacy_max_age_years=LEGACY, all_zero_emission_from=ALL_ZEV)


@pytest.fixture(scope="module")
def rule_log():
    return recorded_run(with_policy(FLEET_RULE), months=28, fraction=FRACTION)


def in_scope(model, owner, vclass):
    return model.regulator.effects.fleet_rule.bound[owner, vclass]


def test_the_rule_binds_a_share_of_the_firms_in_scope_for_its_classes(rule_log):
    model = rule_log.model
    bound = model.regulator.effects.fleet_rule.bound
    band = model.operator_arrays.band
    t = model.tables
    in_bands = band != SIZE_BANDS.index("micro")
    firms = bound.any(axis=1)
    assert not firms[~in_bands].any(), "micro firms are out of scope"
    assert 0.35 < firms[in_bands].mean() < 0.65, "half the firms in scope"
    classes = [t.class_code[c] for c in ("C2", "T3")]
    np.testing.assert_array_equal(bound[firms][:, classes], True)
    assert not np.delete(bound, classes, axis=1).any()


def test_bound_firms_buy_only_zero_emission_vehicles_in_scope(rule_log):
    model = rule_log.model
    t = model.tables
    start = month_index(RULE_START)
    bound_buys = free_buys = 0
    for rec in rule_log.decisions:
        d, rv = rec.decision, rec.reviews
        buys = np.isin(d.kind, [NEW, USED, IMPORT])
        bound = in_scope(model, rv.owner, rv.vclass)
        if rec.month < start:
            continue
        assert t.zev_reported[d.rep_tech[buys & bound]].all()
        bound_buys += int((buys & bound).sum())
        free_buys += int((buys & ~bound & ~t.zev_reported[d.rep_tech]).sum())
    assert bound_buys > 0 and free_buys > 100
    # in the registry: every non-ZEV in scope of a bound firm was already that firm's at the
    # rule's start (none came in later, new or used)
    first = rule_log.snapshots[start - model.start_month - 1]
    last = rule_log.snapshots[-1]
    active = last.state == ACTIVE
    legacy = active & in_scope(model, last.owner, last.vclass.astype(np.intp)) \
        & ~t.zev_reported[last.tech]
    was = first.state == ACTIVE
    held = set(zip(first.vid[was].tolist(), first.owner[was].tolist(), strict=True))
    assert {(v, o) for v, o in zip(last.vid[legacy].tolist(), last.owner[legacy].tolist(),
                                   strict=True)} <= held


def test_fleet_rule_sends_legacy_vehicles_out(rule_log):
    model = rule_log.model
    t = model.tables
    res = rule_log.results()
    start, all_zev = month_index(RULE_START), month_index(ALL_ZEV)
    months = res["date"].map(month_index)
    assert (res.loc[months < start, "forced_out"] == 0).all()
    assert res.loc[months >= start, "forced_out"].sum() > 0
    zero = model.regulator.instruments[0][1]
    assert zero.legacy_max_age_years == LEGACY

    def bound_legacy(snap):
        active = snap.state == ACTIVE
        legacy = active & in_scope(model, snap.owner, snap.vclass.astype(np.intp)) \
            & ~t.zev_reported[snap.tech]
        return (snap.month - snap.birth_month[legacy]) / 12.0

    # a year after the rule (its reviews all passed), before all must be zero-emission: no
    # legacy vehicle past its legacy age plus the year to its next review
    age = bound_legacy(rule_log.snapshots[all_zev - model.start_month - 1])
    assert len(age) > 50
    assert age.max() < LEGACY + 1
    assert bound_legacy(rule_log.snapshots[start - model.start_month - 1]).max() > LEGACY + 1
    # a year after all_zero_emission_from: every vehicle in scope of a bound firm is a ZEV
    assert len(bound_legacy(rule_log.snapshots[-1])) == 0
    last = rule_log.snapshots[-1]
    free = (last.state == ACTIVE) & ~in_scope(model, last.owner, last.vclass.astype(np.intp))
    assert (~t.zev_reported[last.tech[free]]).sum() > 1000, "other firms keep theirs"
