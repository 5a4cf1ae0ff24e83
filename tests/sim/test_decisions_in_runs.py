"""Over whole runs, what firms buy is paid for: from their cash (plus trade-in) or by a loan an
approving lender makes, within its quota and rate cap."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.options import IMPORT, NEW, RETROFIT, USED
from fleetsim.scenarios import load

BUY = [RETROFIT, NEW, USED, IMPORT]


# ---- a run's purchases and loans -------------------------------------------------------------

@pytest.fixture(scope="module", params=["city", "credit"])
def log(request, city_log, credit_log):
    return {"city": city_log, "credit": credit_log}[request.param]


def test_no_firm_spends_cash_it_does_not_have(log):
    """Down payments and cash purchases come out of cash at hand plus what the vehicles a firm
    lets go fetch: over a month's decisions a firm with cash never goes below zero, and one
    already below zero goes no lower."""
    by_month = {s.month: s for s in log.snapshots}
    checked = 0
    for rec in log.decisions:
        after = by_month[rec.month].cash
        floor = np.minimum(rec.cash, 0.0)
        assert np.all(after >= floor - 1e-6 * np.maximum(1.0, np.abs(rec.cash))), rec.month
        checked += np.isin(rec.decision.kind, BUY).sum()
    assert checked > 100


def test_every_purchase_paid_in_cash_was_affordable(log):
    """Row by row: what a firm pays from its own pocket (all of a cash purchase, the down
    payment of a loan) is at most its cash, shared among its rows under review that month,
    plus what the vehicle it replaces fetches."""
    from tests.helpers import money_moves

    cash_rows = loan_rows = 0
    for rec in log.decisions:
        d, rv = rec.applied, rec.reviews
        proceeds, own = money_moves(rec)
        share = np.maximum(rec.cash[rv.owner], 0.0) / np.bincount(rv.owner)[rv.owner]
        trade_in = np.where(d.kind == RETROFIT, 0.0, proceeds)
        bought = np.isin(d.kind, BUY)
        assert np.all(own[bought] <= (share + trade_in)[bought] * (1 + 1e-9) + 1e-6), rec.month
        cash_rows += (bought & (d.lender < 0)).sum()
        loan_rows += (bought & (d.lender >= 0)).sum()
    assert cash_rows > 20 and loan_rows > 20


def test_every_purchase_is_paid_by_cash_or_a_loan(log):
    for rec in log.decisions:
        d = rec.decision
        bought = np.isin(d.kind, BUY)
        cash_only = bought & (d.lender < 0)
        np.testing.assert_array_equal(d.principal[cash_only], 0.0)
        lent = bought & (d.lender >= 0)
        assert np.all(d.principal[lent] > 0)
        assert np.all(d.principal[lent] <= d.price[lent] * (1 + 1e-12))
        assert np.all(d.price[bought] >= 0)
        assert not (~bought & (d.lender >= 0)).any(), "no loan without a purchase"


def test_loans_go_only_to_firms_whose_score_clears_the_bar(log):
    """Recomputed from the firm's record just before the decision: band, loans repaid and
    defaulted, fleet value as collateral over the loan, a partner's guarantee."""
    model = log.model
    spec = model.spec
    from fleetsim.agents import credit_score

    guarantee_of = np.array([0.0, *(p.guarantee_share for p in spec.partnerships)])
    served_tech = {x.index: x.spec.technologies_served for x in model.lenders}
    t = model.tables
    loans = 0
    for rec in log.decisions:
        d, rv = rec.decision, rec.reviews
        lent = np.flatnonzero(d.lender >= 0)
        if not len(lent):
            continue
        owner = rv.owner[lent]
        band = model.operator_arrays.band[owner]
        score = credit_score(spec, band, rec.loans_repaid[owner], rec.loans_defaulted[owner],
                             rec.fleet_value[owner], d.principal[lent],
                             guarantee_of[d.partnership[lent]])
        for k, row in enumerate(lent):
            x = model.lenders[d.lender[row]]
            assert score[k] >= x.spec.min_score - 1e-9, (rec.month, x.name, score[k])
            assert x.serves_band[band[k]], (x.name, band[k])
            if d.kind[row] in (USED, IMPORT):
                assert x.spec.serves_used, x.name
            if served_tech[x.index] is not None:
                rep = (t.retrofit_names[d.item[row] - 1] if d.kind[row] == RETROFIT
                       else t.tech_names[d.rep_tech[row]])
                assert rep in served_tech[x.index], (x.name, rep)
            if x.spec.max_principal_mxn is not None:
                assert d.principal[row] <= x.spec.max_principal_mxn + 1e-6
            loans += 1
    assert loans > 20


def test_lenders_yearly_quotas_are_never_exceeded(log):
    model = log.model
    book = model.loans
    year = book.start_month // 12
    quota_lenders = [x for x in model.lenders if x.yearly_quota is not None]
    assert quota_lenders
    for x in quota_lenders:
        assert x.yearly_quota == pytest.approx(x.spec.yearly_loan_quota * model.sample_fraction)
        mine = book.lender == x.index
        for y in np.unique(year):
            assert (mine & (year == y)).sum() <= x.yearly_quota, (x.name, y)


def test_quotas_hold_when_every_lender_is_rationed():
    """Every lender with a quota of 100 loans a year (2 at 2%): firms turned away by one
    lender try the next, and still no lender lends past its quota."""
    from fleetsim.scenarios.loader import validate
    from fleetsim.sim import FleetModel

    raw = load("mexico_city").model_dump(mode="json", exclude_none=True)
    for lender in raw["credit"]["lenders"].values():
        lender["yearly_loan_quota"] = 100
    model = FleetModel(validate(raw), rng=1, sample_fraction=0.02).run(years=2)
    book = model.loans
    full = 0
    for x in model.lenders:
        per_year = np.bincount(book.start_month[book.lender == x.index] // 12 - 2025,
                               minlength=2)
        assert np.all(per_year <= x.yearly_quota), (x.name, per_year)
        full += (per_year == x.yearly_quota).sum()
    assert full >= 4, "the quotas bind"


def test_quota_binds_in_the_city(city_log):
    """The development bank's scaled quota (170 a year at 2%: 3.4) is used up: without it more
    micro and small firms would borrow from it."""
    model = city_log.model
    dev = next(x for x in model.lenders if x.name == "development_bank")
    book = model.loans
    per_year = np.bincount(book.start_month[book.lender == dev.index] // 12 - 2025)
    assert per_year.max() == int(np.floor(dev.yearly_quota))


def test_development_bank_rate_never_exceeds_its_cap(log):
    model = log.model
    book = model.loans
    for x in model.lenders:
        mine = book.lender == x.index
        if x.spec.max_rate is not None:
            assert np.all(book.rate[mine] <= x.spec.max_rate + 1e-12), x.name
        assert np.all(book.rate[mine] >= x.spec.base_rate - 1e-12), x.name
    dev = next(x for x in model.lenders if x.name == "development_bank")
    assert (book.lender == dev.index).any()
