"""Partnership finance (mexico_city_partnership): large fleets guarantee and co-finance their
hauliers' retrofits and replacements, within the partnership's dates, for members only."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from fleetsim.agents.options import NEW, RETROFIT
from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel
from tests.helpers import money_moves, recorded_run

FRACTION = 0.05
# every large fleet joins, for one year only: plenty of deals, and months on both sides
WINDOW = {"partnerships.0.large_fleet_share": 1.0, "partnerships.0.end": "2026-12-31"}
START, END = 2026 * 12, 2026 * 12 + 11


@pytest.fixture(scope="module")
def deals_log():
    return recorded_run("mexico_city_partnership", months=36, fraction=FRACTION,
                        overrides=WINDOW)


def deal_rows(log):
    """(month, reviews, decision, rows under a deal) for every month."""
    for rec in log.decisions:
        d = rec.decision
        yield rec.month, rec.reviews, d, np.flatnonzero(d.partnership > 0)


def test_members_are_hauliers_of_joined_large_fleets(deals_log):
    model = deals_log.model
    ops, peers = model.operator_arrays, model.peers
    members = np.flatnonzero(ops.partnership >= 0)
    assert len(members) > 0
    np.testing.assert_array_equal(ops.partnership[members], 0)
    assert np.all(ops.band[members] == SIZE_BANDS.index("micro"))
    np.testing.assert_array_equal(ops.partner_of[members], peers.hauls_for[members])
    assert np.all(ops.band[ops.partner_of[members]] == SIZE_BANDS.index("large"))
    # with every large fleet in, every haulier is a member
    np.testing.assert_array_equal(np.sort(members), np.flatnonzero(peers.hauls_for >= 0))
    outsiders = ops.partnership < 0
    assert np.all(ops.partner_of[outsiders] == -1)


def test_only_members_get_deals(deals_log):
    ops = deals_log.model.operator_arrays
    total = 0
    for _, rv, d, rows in deal_rows(deals_log):
        np.testing.assert_array_equal(ops.partnership[rv.owner[rows]], d.partnership[rows] - 1)
        total += len(rows)
    assert total > 0
    fleet = deals_log.model.fleet()
    under = fleet[fleet["partnership_contract"]]
    assert len(under) > 0
    assert np.all(ops.partnership[under["owner"].to_numpy()] >= 0)


def test_deals_only_while_the_partnership_runs(deals_log):
    p = deals_log.model.spec.partnerships[0]
    assert p.start == date(2026, 1, 1) and p.end == date(2026, 12, 31)
    inside = 0
    for month, _, _, rows in deal_rows(deals_log):
        if not START <= month <= END:
            assert len(rows) == 0, month
        inside += len(rows)
    assert inside > 0
    res = deals_log.results()
    cols = ["partnership_retrofits", "partnership_replacements", "partnership_cofinance_mxn"]
    in_window = res["date"].between("2026-01", "2026-12")
    assert (res.loc[~in_window, cols] == 0).all().all()
    assert res.loc[in_window, cols].to_numpy().sum() > 0


def test_deal_terms(deals_log):
    """Under a deal the partner pays its share of the price and the old truck is scrapped;
    replacements are of the partnership's technologies for trucks old enough, retrofits of its
    filters on trucks young enough."""
    p = deals_log.model.spec.partnerships[0]
    t = deals_log.model.tables
    seen = set()
    for _, rv, d, rows in deal_rows(deals_log):
        if not len(rows):
            continue
        gross = d.price[rows] + d.cofinance[rows] + d.subsidy[rows]
        np.testing.assert_allclose(d.cofinance[rows], (gross - d.subsidy[rows])
                                   * p.cofinance_share)
        for r in rows:
            kind = d.kind[r]
            seen.add(int(kind))
            if kind == NEW:
                assert t.tech_names[d.item[r]] in p.replacement_technologies
                if not rv.growth[r]:
                    assert rv.age_years[r] >= p.replace_min_age_years
                    assert d.scrap_old[r]
            elif kind == RETROFIT:
                assert t.retrofit_names[d.item[r] - 1] in p.retrofit_technologies
                assert rv.age_years[r] <= p.retrofit_max_age_years
            else:
                pytest.fail(f"a deal on option kind {kind}")
    assert NEW in seen


def test_deal_flows_are_recorded(deals_log):
    """The results count what the deals did: co-finance paid, retrofits and replacements."""
    model = deals_log.model
    res = deals_log.results()
    f = model.sample_fraction
    cofin = retro = repl = 0.0
    for rec in deals_log.decisions:
        d = rec.applied  # as carried out
        under = d.partnership > 0
        retro += (under & (d.kind == RETROFIT)).sum()
        repl += (under & (d.kind == NEW)).sum()
        cofin += d.cofinance[under & np.isin(d.kind, [NEW, RETROFIT])].sum()
    assert res["partnership_retrofits"].sum() * f == pytest.approx(retro)
    assert res["partnership_replacements"].sum() * f == pytest.approx(repl)
    assert res["partnership_cofinance_mxn"].sum() * f == pytest.approx(cofin)


def test_contracts_stay_with_members_vehicles(deals_log):
    model = deals_log.model
    reg = model.registry
    ops = model.operator_arrays
    rows = np.flatnonzero(reg.cols["partnership"][: reg.n] > 0)
    assert len(rows) > 0
    running = rows[reg.cols["state"][rows] == 1]
    assert np.all(ops.partnership[reg.cols["owner"][running]] >= 0)


def test_no_uptake_when_no_large_fleet_joins():
    model = FleetModel("mexico_city_partnership", rng=2, sample_fraction=FRACTION,
                       overrides={"partnerships.0.large_fleet_share": 0.0}).run(years=2)
    assert (model.operator_arrays.partnership == -1).all()
    res = model.results()
    cols = ["partnership_retrofits", "partnership_replacements", "partnership_cofinance_mxn"]
    assert (res[cols] == 0).all().all()
    assert not model.fleet()["partnership_contract"].any()


def test_partners_pay_the_co_finance_of_their_hauliers(deals_log):
    """Each firm's cash moves by what it sells less what it pays; a partnering large fleet's
    also by the co-finance of its hauliers' deals that month: deals create no money."""
    ops = deals_log.model.operator_arrays
    by_month = {s.month: s for s in deals_log.snapshots}
    cofinanced = 0.0
    for rec in deals_log.decisions:
        proceeds, payments = money_moves(rec)
        d, rv = rec.applied, rec.reviews
        n = len(rec.cash)
        own = np.bincount(rv.owner, weights=proceeds - payments, minlength=n)
        under = (d.partnership > 0) & np.isin(d.kind, [NEW, RETROFIT])
        partner = ops.partner_of[rv.owner[under]]
        owed = np.bincount(partner, weights=d.cofinance[under], minlength=n)
        got = by_month[rec.month].cash - rec.cash
        np.testing.assert_allclose(got, own - owed, rtol=1e-9, atol=1e-4,
                                   err_msg=str(rec.month))
        cofinanced += owed.sum()
    assert cofinanced > 0


def active_months(overrides: dict, months: int = 16) -> list[str]:
    log = recorded_run("mexico_city_partnership", months=months, fraction=0.02,
                       overrides=overrides)
    return [f"{r.month // 12}-{r.month % 12 + 1:02d}" for r in log.decisions
            if r.context.partnership_running.any()]


def test_partnership_in_force_from_its_first_month_to_its_last():
    on = active_months({"partnerships.0.start": "2026-01-01",
                        "partnerships.0.end": "2026-03-31"})
    assert on == ["2026-01", "2026-02", "2026-03"]


def test_partnership_starting_mid_month_is_in_force_that_month():
    on = active_months({"partnerships.0.start": "2026-03-05",
                        "partnerships.0.end": "2026-03-25"})
    assert on == ["2026-03"]
