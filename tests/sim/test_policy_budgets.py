"""Public money in runs: no budget or yearly unit quota is ever exceeded, month by month or in
total; undersubscribed and exhausted budgets show in the results; only eligible vehicles and
firms ever get an instrument (classes, bands, regions, ages, technologies, replacement kind),
only within the instrument's dates, never from a disabled instrument; the spending columns are
what was actually paid.

Most tests read one recorded run (every month's decisions kept) with narrow eligibility rules,
so that ineligible rows are plentiful."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.options import IMPORT, KEEP, NEW, RETROFIT, USED
from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel
from fleetsim.sim.output import summary
from fleetsim.sim.registry import GONE
from tests.helpers import recorded_run
from tests.policy_helpers import (
    END,
    REPLACEMENT_KIND,
    START,
    instrument,
    merge,
    month_index,
    with_policy,
)

FRACTION = 0.05
MONTHS = 24  # 2025-2026
BONUS = 5e5
UNITS = 4000  # scrappage units a year, whole fleet: 200 at the 5% sample
RETROFIT_BUDGET = 8 * 2e5 / FRACTION  # eight subsidised filters at the sample's scale
ZEV_WINDOW = ("2025-03-10", "2026-05-20")  # acts March 2025 to May 2026

POLICY = merge(
    {"purchase_subsidies": [
        {"name": "zev_sub", "start": ZEV_WINDOW[0], "end": ZEV_WINDOW[1],
         "technologies": ["battery_electric", "natural_gas"], "amount_mxn": 2e6,
         "max_share_of_price": 0.5, "classes": ["C2", "T3"],
         "bands": ["micro", "small", "medium"]},
        {"name": "off_sub", "start": START, "end": END, "technologies": ["battery_electric"],
         "amount_mxn": 3e6, "enabled": False},
    ]},
    instrument("retrofit_subsidies", "dpf_sub", retrofits=["diesel_dpf_retrofit"],
               amount_mxn=2e5, max_share_of_price=1.0, max_age_years=10, classes=["C3", "T3"],
               bands=["small", "medium", "large"], budget_mxn=RETROFIT_BUDGET),
    instrument("scrappage", "scrap", min_age_years=15, bonus_mxn=BONUS, classes=["C2", "C3"],
               bands=["micro", "small"], replacement=["new", "import", "none"],
               max_replacement_age_years=8, units_per_year=UNITS,
               reserved_share_by_band={"micro": 0.5}),
)


@pytest.fixture(scope="module")
def log():
    return recorded_run(with_policy(POLICY), months=MONTHS, fraction=FRACTION)


@pytest.fixture(scope="module")
def res(log):
    return log.results()


def index_of(model, name: str) -> int:
    return [x.name for _, x in model.regulator.instruments].index(name)


def terms(model, name: str):
    return model.regulator.instruments[index_of(model, name)][1]


def claims(log, name: str, slot: str = "subsidy"):
    """(record, rows) of every month: the rows whose chosen option claims the instrument."""
    i = index_of(log.model, name)
    for rec in log.decisions:
        claim = rec.decision.subsidy_claim if slot == "subsidy" else rec.decision.bonus_claim
        yield rec, np.flatnonzero(claim == i)


def paid(rec, i: int) -> tuple[float, float]:
    """(subsidy, bonus) MXN instrument i paid out in a month, from what was carried out: new
    vehicles and retrofits take their subsidy; a vehicle that went (replaced or left) its
    bonus (a used buyer who found no truck has none left)."""
    d, rv = rec.applied, rec.reviews
    sub = (d.subsidy_claim == i) & np.isin(d.kind, [NEW, RETROFIT])
    went = (rv.row >= 0) & ~np.isin(d.kind, [KEEP, RETROFIT])
    bonus = (d.bonus_claim == i) & went
    return float(d.subsidy[sub].sum()), float(d.scrap_bonus[bonus].sum())


def names_of(rows, codes, names) -> set[str]:
    return {names[k] for k in np.unique(codes[rows])}


# ---- claims are consistent ----------------------------------------------------------------------

def test_a_claim_names_its_instrument_and_amount(log):
    for rec in log.decisions:
        d = rec.decision
        np.testing.assert_array_equal(d.subsidy_claim >= 0, d.subsidy > 0)
        np.testing.assert_array_equal(d.bonus_claim >= 0, d.scrap_bonus > 0)


def test_every_spending_instrument_is_used(log):
    for name, slot in (("zev_sub", "subsidy"), ("dpf_sub", "subsidy"), ("scrap", "bonus")):
        n = sum(len(rows) for _, rows in claims(log, name, slot))
        assert n >= 5, (name, n)


# ---- eligibility --------------------------------------------------------------------------------

def test_purchase_subsidy_only_for_eligible_purchases(log):
    x, model = terms(log.model, "zev_sub"), log.model
    ops, t = model.operator_arrays, model.tables
    for rec, rows in claims(log, "zev_sub"):
        d, rv = rec.decision, rec.reviews
        assert (d.kind[rows] == NEW).all()
        assert names_of(rows, d.item, t.tech_names) <= set(x.technologies)
        assert names_of(rows, rv.vclass, t.class_names) <= set(x.classes)
        assert names_of(rows, ops.band[rv.owner], SIZE_BANDS) <= set(x.bands)
        gross = d.price[rows] + d.subsidy[rows] + d.cofinance[rows]
        assert (d.subsidy[rows] <= np.minimum(x.amount_mxn, x.max_share_of_price * gross)
                + 1e-6).all()
        # and every eligible purchase is offered the subsidy
        eligible = ((d.kind == NEW) & np.isin(d.item, [t.tech_code[n] for n in x.technologies])
                    & np.isin(rv.vclass, [t.class_code[c] for c in x.classes])
                    & np.isin(ops.band[rv.owner], [SIZE_BANDS.index(b) for b in x.bands]))
        if month_index(ZEV_WINDOW[0]) <= rec.month <= month_index(ZEV_WINDOW[1]):
            np.testing.assert_array_equal(np.flatnonzero(eligible), rows)


def test_retrofit_subsidy_only_for_eligible_retrofits(log):
    x, model = terms(log.model, "dpf_sub"), log.model
    ops, t = model.operator_arrays, model.tables
    for rec, rows in claims(log, "dpf_sub"):
        d, rv = rec.decision, rec.reviews
        assert (d.kind[rows] == RETROFIT).all()
        assert {t.retrofit_names[k - 1] for k in d.item[rows]} <= set(x.retrofits)
        assert (rv.age_years[rows] <= x.max_age_years).all()
        assert names_of(rows, rv.vclass, t.class_names) <= set(x.classes)
        assert names_of(rows, ops.band[rv.owner], SIZE_BANDS) <= set(x.bands)
        gross = d.price[rows] + d.subsidy[rows] + d.cofinance[rows]
        assert (d.subsidy[rows] <= np.minimum(x.amount_mxn, x.max_share_of_price * gross)
                + 1e-6).all()


def test_scrappage_bonus_only_for_eligible_vehicles_and_replacements(log):
    x, model = terms(log.model, "scrap"), log.model
    ops, t = model.operator_arrays, model.tables
    kinds = [REPLACEMENT_KIND[k] for k in x.replacement]
    for rec, rows in claims(log, "scrap", "bonus"):
        d, rv = rec.decision, rec.reviews
        assert (rv.row[rows] >= 0).all(), "a growth purchase has nothing to scrap"
        assert np.isin(d.kind[rows], kinds).all()
        assert (rv.age_years[rows] >= x.min_age_years).all()
        assert names_of(rows, rv.vclass, t.class_names) <= set(x.classes)
        assert names_of(rows, ops.band[rv.owner], SIZE_BANDS) <= set(x.bands)
        np.testing.assert_allclose(d.scrap_bonus[rows], x.bonus_mxn)
        assert d.scrap_old[rows].all(), "a bonus is paid for scrapping the old vehicle"


def test_disabled_instrument_never_claimed_nor_active(log, res):
    assert sum(len(rows) for _, rows in claims(log, "off_sub")) == 0
    assert (res["spend_off_sub_mxn"] == 0).all()
    assert (res["active_off_sub"] == 0).all()


def test_nothing_outside_an_instruments_dates(log, res):
    lo, hi = month_index(ZEV_WINDOW[0]), month_index(ZEV_WINDOW[1])
    inside = 0
    for rec, rows in claims(log, "zev_sub"):
        if not lo <= rec.month <= hi:
            assert len(rows) == 0, rec.month
        inside += len(rows)
    assert inside > 0
    months = res["date"].map(month_index)
    window = (months >= lo) & (months <= hi)
    np.testing.assert_array_equal(res["active_zev_sub"].to_numpy(), window.astype(float))
    assert (res.loc[~window, "spend_zev_sub_mxn"] == 0).all()
    assert res.loc[window, "spend_zev_sub_mxn"].sum() > 0


# ---- what is spent ------------------------------------------------------------------------------

def test_spending_columns_are_what_was_paid(log, res):
    model = log.model
    s = 1.0 / FRACTION
    names = ["zev_sub", "off_sub", "dpf_sub", "scrap"]
    for k, rec in enumerate(log.decisions):
        row = res.iloc[k]
        sub_total = bonus_total = 0.0
        for name in names:
            sub, bonus = paid(rec, index_of(model, name))
            assert row[f"spend_{name}_mxn"] == pytest.approx((sub + bonus) * s), (k, name)
            sub_total += sub
            bonus_total += bonus
        assert row["subsidy_mxn"] == pytest.approx(sub_total * s)
        assert row["scrap_bonus_mxn"] == pytest.approx(bonus_total * s)
        assert row["public_spending_mxn"] == pytest.approx((sub_total + bonus_total) * s)


def test_yearly_unit_quota_and_band_reservation_are_never_exceeded(log, res):
    model = log.model
    i = index_of(model, "scrap")
    band = model.operator_arrays.band
    units = UNITS * FRACTION
    micro_reserve, pool = 0.5 * units, 0.5 * units
    for year in (2025, 2026):
        by_band = np.zeros(len(SIZE_BANDS))
        for rec in log.decisions:
            if rec.month // 12 != year:
                continue
            d, rv = rec.applied, rec.reviews
            went = (rv.row >= 0) & ~np.isin(d.kind, [KEEP, RETROFIT]) & (d.bonus_claim == i)
            np.add.at(by_band, band[rv.owner[went]], 1)
        assert by_band.sum() <= units
        assert by_band[SIZE_BANDS.index("micro")] <= micro_reserve + pool
        assert by_band[SIZE_BANDS.index("small")] <= pool
        # demand outruns the quota in this run: the quota is what binds
        assert by_band.sum() >= units - 2, (year, by_band)
        spent = res.loc[res["year"] == year, "spend_scrap_mxn"].sum()
        assert spent == pytest.approx(by_band.sum() * BONUS / FRACTION)
        assert spent / BONUS <= UNITS + 1e-6


def test_retrofit_budget_never_exceeded_and_its_balance_is_shown(res):
    spent = res["spend_dpf_sub_mxn"].cumsum()
    left = res["budget_left_dpf_sub_mxn"]
    np.testing.assert_allclose(left, RETROFIT_BUDGET - spent, rtol=1e-9, atol=1e-3)
    assert (left >= -1e-6).all()
    assert spent.iloc[-1] <= RETROFIT_BUDGET + 1e-6


def test_the_months_retrofit_claims_fit_the_mxn_left(log):
    """Within a month the claims that survive rationing fit the budget left at its start."""
    i = index_of(log.model, "dpf_sub")
    left = RETROFIT_BUDGET * FRACTION
    for rec, rows in claims(log, "dpf_sub"):
        assert rec.decision.subsidy[rows].sum() <= left + 1e-6, rec.month
        left -= paid(rec, i)[0]
    assert left < 2e5, "the budget was spent"


def test_the_months_bonus_claims_fit_the_units_left(log):
    """... and so do the bonus claims the year's units left (micro firms' reserve first)."""
    i = index_of(log.model, "scrap")
    band = log.model.operator_arrays.band
    micro = SIZE_BANDS.index("micro")
    for rec, rows in claims(log, "scrap", "bonus"):
        if rec.month % 12 == 0:
            reserve, pool = 0.5 * UNITS * FRACTION, 0.5 * UNITS * FRACTION
        is_micro = band[rec.reviews.owner[rows]] == micro
        from_reserve = min(int(is_micro.sum()), int(reserve + 1e-9))
        assert len(rows) - from_reserve <= pool + 1e-9, rec.month
        d, rv = rec.applied, rec.reviews
        went = (rv.row >= 0) & ~np.isin(d.kind, [KEEP, RETROFIT]) & (d.bonus_claim == i)
        n_micro = int((band[rv.owner[went]] == micro).sum())
        used_reserve = min(n_micro, int(reserve + 1e-9))
        reserve -= used_reserve
        pool -= int(went.sum()) - used_reserve
        assert pool >= -1e-9


# ---- budgets undersubscribed and exhausted ------------------------------------------------------

EXHAUST_FRACTION = 0.02
N_BONUSES = 40  # at the sample's scale: spent within the first months
EXHAUST = instrument("scrappage", "scrap", min_age_years=15, bonus_mxn=BONUS,
                     replacement=["new", "used", "import", "none"],
                     budget_mxn=N_BONUSES * BONUS / EXHAUST_FRACTION)


@pytest.fixture(scope="module")
def exhausted():
    return FleetModel(with_policy(EXHAUST), rng=5, sample_fraction=EXHAUST_FRACTION).run(years=2)


def test_exhausted_budget_shows_and_nothing_more_is_spent(exhausted):
    res = exhausted.results()
    budget = N_BONUSES * BONUS / EXHAUST_FRACTION
    spent = res["spend_scrap_mxn"].cumsum()
    left = res["budget_left_scrap_mxn"]
    np.testing.assert_allclose(left, budget - spent, rtol=1e-9, atol=1e-3)
    assert (left >= -1e-3).all()
    assert spent.iloc[-1] == pytest.approx(budget)
    empty = int(np.flatnonzero(left.to_numpy() < 1.0)[0])
    assert 0 < empty < len(res) - 6, "the budget runs out early in the run"
    assert (res["spend_scrap_mxn"].iloc[empty + 1:] == 0).all()
    assert (res["active_scrap"] == 1).all(), "still in force, with nothing left to give"
    assert exhausted.regulator.effects.scrappage == [], "no offer once the budget is spent"
    pol = summary(exhausted)["policy"]["instruments"]["scrap"]
    assert pol["budget_left_mxn"] == pytest.approx(0.0, abs=1.0)
    assert pol["spent_mxn"] == pytest.approx(budget)


def test_undersubscribed_budget_shows_what_is_left():
    big = N_BONUSES * 1000 * BONUS / EXHAUST_FRACTION
    spec = with_policy(instrument("scrappage", "scrap", min_age_years=15, bonus_mxn=BONUS,
                                  budget_mxn=big))
    model = FleetModel(spec, rng=5, sample_fraction=EXHAUST_FRACTION).run(years=1)
    res = model.results()
    spent = res["spend_scrap_mxn"].sum()
    assert 0 < spent < big
    assert res["budget_left_scrap_mxn"].iloc[-1] == pytest.approx(big - spent)
    assert (res["spend_scrap_mxn"] > 0).sum() >= 10, "spending goes on month after month"
    pol = summary(model)["policy"]["instruments"]["scrap"]
    assert pol["budget_left_mxn"] == pytest.approx(big - spent)


# ---- regions (national scenario) ----------------------------------------------------------------

REGIONAL = merge(
    instrument("purchase_subsidies", "north_sub",
               technologies=["battery_electric", "natural_gas", "diesel_epa2010"],
               amount_mxn=5e5, regions=["northern_border", "monterrey"]),
    instrument("scrappage", "rest_scrap", min_age_years=15, bonus_mxn=8e5,
               replacement=["new", "none"], regions=["rest"]),
)


@pytest.fixture(scope="module")
def national_log():
    return recorded_run(with_policy(REGIONAL, base="mexico_national"), months=12,
                        fraction=0.01)


@pytest.mark.parametrize(("name", "slot"), [("north_sub", "subsidy"), ("rest_scrap", "bonus")])
def test_regional_instruments_only_in_their_regions(national_log, name, slot):
    model = national_log.model
    regions = list(model.spec.regions)
    x = terms(model, name)
    n = elsewhere = 0
    for rec, rows in claims(national_log, name, slot):
        region = model.operator_arrays.region[rec.reviews.owner]
        got = names_of(rows, region, regions)
        assert got <= set(x.regions), got
        n += len(rows)
        # the same choices are made in the other regions, without the instrument
        outside = ~np.isin(region, [regions.index(r) for r in x.regions])
        elsewhere += int((outside & (rec.decision.kind == NEW)).sum())
    assert n > 20 and elsewhere > 20


# ---- the replacement a bonus asks for -----------------------------------------------------------

MAX_REPLACEMENT_AGE = 7


def test_bonus_only_when_the_replacement_bought_is_young_enough(monkeypatch):
    """Options are priced on the used market's (or admitted imports') mean age; the bonus is
    paid only if the vehicle actually bought is at most max_replacement_age_years old."""
    spec = with_policy(instrument("scrappage", "scrap", min_age_years=12, bonus_mxn=3e5,
                                  replacement=["used", "import"],
                                  max_replacement_age_years=MAX_REPLACEMENT_AGE))
    model = FleetModel(spec, rng=7, sample_fraction=FRACTION)
    # month -> (kinds as decided, the decision as carried out); month -> {kind: ages bought}
    decided, bought = {}, {}
    real_decide, real_match, real_draw = (model.operator_arrays.step, model.used_market.match,
                                          model.imports.draw)

    def decide(rv, ctx, draws):
        d = real_decide(rv, ctx, draws)
        decided[model.month] = (d.kind.copy(), d.scrap_bonus.copy(), d)
        return d

    def match(reg, buyer_class, buyer, buyer_u, listing_u, listing_class=None):
        got = real_match(reg, buyer_class, buyer, buyer_u, listing_u, listing_class)
        age = (model.month - reg.cols["birth_month"][np.maximum(got, 0)]) / 12.0
        bought.setdefault(model.month, {})[USED] = np.where(got >= 0, age, np.nan)
        return got

    def draw(n, month, rule, u):
        age, tech = real_draw(n, month, rule, u)
        bought.setdefault(model.month, {})[IMPORT] = np.asarray(age) / 12.0
        return age, tech

    monkeypatch.setattr(model.operator_arrays, "step", decide)
    monkeypatch.setattr(model.used_market, "match", match)
    monkeypatch.setattr(model.imports, "draw", draw)
    model.run(years=2)
    claimed = n_paid = 0
    too_old = []
    for month, (kind, claim, applied) in decided.items():
        for k in (USED, IMPORT):
            ages = bought.get(month, {}).get(k)
            if ages is None:
                continue
            claimed += int((claim[kind == k] > 0).sum())
            paid = applied.scrap_bonus[kind == k] > 0
            n_paid += int(paid.sum())
            too_old += list(ages[paid & (ages > MAX_REPLACEMENT_AGE)])
            assert not (paid & np.isnan(ages)).any(), "no bonus without a replacement"
    assert n_paid > 20 and claimed > n_paid, (claimed, n_paid)
    assert not too_old, (f"{len(too_old)} of {n_paid} bonuses paid for replacements older than "
                         f"{MAX_REPLACEMENT_AGE} years (up to {max(too_old):.1f})")
    spent = model.results()["spend_scrap_mxn"].sum()
    assert spent == pytest.approx(n_paid * 3e5 / FRACTION)


def test_a_vehicle_that_loses_its_bonus_is_sold_if_the_market_pays_more():
    spec = with_policy(instrument("scrappage", "scrap", min_age_years=10, bonus_mxn=3e5,
                                  replacement=["new", "used", "import"],
                                  max_replacement_age_years=MAX_REPLACEMENT_AGE,
                                  units_per_year=2000))
    log = recorded_run(spec, months=24, fraction=FRACTION)
    replaced = scrapped = 0
    for k, rec in enumerate(log.decisions):
        d, rv, ctx = rec.applied, rec.reviews, rec.context
        c = rv.vclass
        value = ctx.valuer.value(ctx.year, rv.tech.astype(np.intp), c, rv.age_years) \
            * ctx.market.used_multiplier[c]
        scrap = np.array([x.economics.scrap_value_mxn for x in ctx.spec.classes.values()])[c]
        # replaced before the end of its life, outside any partnership, without a bonus, and
        # worth more on the used market than as scrap
        sel = ((rv.row >= 0) & ~rv.eol & (d.partnership == 0) & np.isin(d.kind, [NEW, USED, IMPORT])
               & (d.scrap_bonus == 0) & (value > scrap))
        state = log.snapshots[k].state[rv.row[sel]]
        replaced += int(sel.sum())
        scrapped += int((state == GONE).sum())
    assert replaced > 100
    assert scrapped == 0, f"{scrapped} of {replaced} scrapped for less than the market pays"


# ---- two instruments for the same purchase ------------------------------------------------------

def test_a_buyer_rationed_out_of_one_subsidy_gets_the_next_one():
    f = 0.02
    both = ["battery_electric", "diesel_epa2010"]
    policy = {"purchase_subsidies": [
        # two and a half subsidies at the sample's scale: two are paid, half of one is left
        {"name": "generous", "start": START, "end": END, "technologies": both,
         "amount_mxn": 1e6, "max_share_of_price": 0.5, "budget_mxn": 2.5 * 1e6 / f},
        {"name": "modest", "start": START, "end": END, "technologies": both,
         "amount_mxn": 5e5, "max_share_of_price": 0.5},
    ]}
    res = FleetModel(with_policy(policy), rng=1, sample_fraction=f).run(years=1).results()
    assert res["spend_generous_mxn"].sum() > 0
    assert (res["entered_new"].iloc[3:] > 0).all(), "new purchases every month"
    # once the generous budget cannot pay a whole subsidy, buyers get the modest one
    assert (res["spend_modest_mxn"].iloc[3:] > 0).mean() > 0.5, \
        res[["spend_generous_mxn", "budget_left_generous_mxn", "spend_modest_mxn"]]


# ---- a bonus withdrawn after it paid for the replacement ----------------------------------------

def unaffordable(log) -> tuple[int, list[tuple[int, float, float, float]]]:
    """Purchases (all of them, and the ones that were not affordable) as in
    test_decisions_in_runs: what a firm pays from its own pocket is at most its cash, shared
    among its rows under review that month, plus what the vehicle it replaces fetches."""
    from tests.helpers import money_moves

    bought_n, bad = 0, []
    for rec in log.decisions:
        d, rv = rec.applied, rec.reviews
        proceeds, own = money_moves(rec)
        share = np.maximum(rec.cash[rv.owner], 0.0) / np.bincount(rv.owner)[rv.owner]
        funds = share + np.where(d.kind == RETROFIT, 0.0, proceeds)
        bought = np.isin(d.kind, [RETROFIT, NEW, USED, IMPORT])
        over = bought & (own > funds * (1 + 1e-9) + 1e-6)
        bought_n += int(bought.sum())
        bad += [(rec.month, float(own[i]), float(funds[i]), float(rec.decision.scrap_bonus[i]))
                for i in np.flatnonzero(over)]
    return bought_n, bad


def test_a_rationed_bonus_leaves_no_unaffordable_purchase():
    log = recorded_run(with_policy(EXHAUST), months=12, fraction=EXHAUST_FRACTION)
    assert log.results()["budget_left_scrap_mxn"].iloc[-1] < BONUS, "rationing happened"
    n, bad = unaffordable(log)
    assert n > 100
    assert not bad, f"{len(bad)} of {n} purchases beyond the firm's cash: {bad[:3]}"


def test_a_bonus_withdrawn_for_an_old_replacement_leaves_no_unaffordable_purchase(log):
    n, bad = unaffordable(log)
    assert n > 100
    assert not bad, f"{len(bad)} of {n} purchases beyond the firm's cash: {bad[:3]}"
