"""Firms' money and the loan book over a run (sim.cashflow): loans amortise as annuities, the
money lent is accounted for, defaults write loans off and repossess what they financed, and
lenders learn from what they see."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.lenders import ACTIVE, DEFAULTED, REPAID
from fleetsim.sim import FleetModel, cashflow
from fleetsim.sim.metrics import Flows
from fleetsim.sim.registry import ACTIVE as RUNNING
from fleetsim.sim.registry import LISTED
from tests.conftest import SHOCK_MONTH
from tests.helpers import money_moves


@pytest.fixture(scope="module", params=["credit", "ten_years"])
def run(request, credit_log, small_model):
    """(model, results): two years of one-year loans with defaults; ten years of the built-in
    five-year loans (the first ones repaid)."""
    if request.param == "credit":
        return credit_log.model, credit_log.results()
    return small_model, small_model.results()


def loan_terms(model) -> np.ndarray:
    book = model.loans
    return np.array([x.spec.term_months for x in model.lenders])[book.lender]


def replay(model):
    """Each loan's schedule by hand from its principal, rate and payment: payments made so far
    (the book's term less months left), interest accrued and the balance left."""
    book = model.loans
    term = loan_terms(model)
    k = term - book.months_left
    principal, rate, pay = book.principal, book.rate, book.payment
    balance = principal.astype(float).copy()
    interest = np.zeros(book.n)
    for month in range(int(k.max(initial=0))):
        live = k > month
        accrued = balance[live] * rate[live] / 12.0
        interest[live] += accrued
        balance[live] = np.maximum(balance[live] + accrued - pay[live], 0.0)
    return k, interest, balance


def test_every_loan_is_an_annuity(run):
    model, _ = run
    book = model.loans
    assert book.n > 20
    i = book.rate / 12.0
    term = loan_terms(model)
    expected = np.where(i > 0, book.principal * i / (1 - (1 + i) ** -term), book.principal / term)
    np.testing.assert_allclose(book.payment, expected, rtol=1e-12)
    assert np.all(book.principal > 0) and np.all(book.rate >= 0)


def test_payments_made_follow_the_calendar(run):
    """One payment a month from the month after the loan: an active loan has made as many as
    months have passed, a repaid one all of them, a defaulted one fewer."""
    model, _ = run
    book = model.loans
    k, _, _ = replay(model)
    term = loan_terms(model)
    since = model.month - book.start_month
    active, repaid, defaulted = (book.status == s for s in (ACTIVE, REPAID, DEFAULTED))
    np.testing.assert_array_equal(k[active], since[active])
    assert np.all(k[active] < term[active])
    np.testing.assert_array_equal(k[repaid], term[repaid])
    assert np.all(since[repaid] >= term[repaid])
    assert np.all(k[defaulted] <= since[defaulted])
    assert np.all(k[defaulted] < term[defaulted])
    assert repaid.any(), "the run is long enough for loans to be repaid"


def test_balances_follow_the_schedule(run):
    model, _ = run
    book = model.loans
    _, _, balance = replay(model)
    open_ = book.status != REPAID
    np.testing.assert_allclose(book.balance[open_], balance[open_], rtol=1e-9, atol=1e-6)
    repaid = book.status == REPAID
    np.testing.assert_array_equal(book.balance[repaid], 0.0)
    # the last payment pays the loan off (what the book zeroes is rounding)
    np.testing.assert_allclose(balance[repaid], 0.0, atol=1e-6 * book.principal.max())


def test_money_lent_is_accounted_for(run):
    """The identity, loan by loan and summed:

        principal + interest accrued = payments made + balance outstanding

    where the balance is owed on active loans, written off on defaulted ones, and zero on
    repaid ones. Interest is replayed by hand (balance x rate / 12 each month a payment is
    made), independently of LoanBook.amortise; the results' flows must give the same totals:
    lent (loans_principal_mxn), paid (loan_payments_mxn), still owed (loan_balance_mxn at the
    end) and written off (defaulted_balance_mxn)."""
    model, res = run
    book = model.loans
    f = model.sample_fraction
    k, interest, _ = replay(model)
    paid = k * book.payment
    owed = np.where(book.status == ACTIVE, book.balance, 0.0)
    lost = np.where(book.status == DEFAULTED, book.balance, 0.0)
    np.testing.assert_allclose(book.principal + interest, paid + owed + lost,
                               rtol=1e-9, atol=1e-4)
    lent = book.principal.sum()
    assert res["loans_principal_mxn"].sum() * f == pytest.approx(lent, rel=1e-9)
    assert res["loan_payments_mxn"].sum() * f == pytest.approx(paid.sum(), rel=1e-9)
    assert res["loan_balance_mxn"].iloc[-1] * f == pytest.approx(owed.sum(), rel=1e-9, abs=1e-3)
    assert res["defaulted_balance_mxn"].sum() * f == pytest.approx(lost.sum(), rel=1e-9,
                                                                    abs=1e-3)
    assert lent + interest.sum() == pytest.approx(paid.sum() + owed.sum() + lost.sum(),
                                                  rel=1e-9)


def test_loan_counts_add_up(run):
    model, res = run
    book = model.loans
    f = model.sample_fraction
    status = np.bincount(book.status, minlength=3)
    assert status.sum() == book.n == round(res["loans_approved"].sum() * f)
    assert status[REPAID] == round(res["loans_repaid"].sum() * f)
    assert status[DEFAULTED] == round(res["loans_defaulted"].sum() * f)
    assert status[ACTIVE] == round(res["loans_active"].iloc[-1] * f)
    per_lender = sum(res[f"loans_{x.name}"].iloc[-1] for x in model.lenders)
    assert per_lender * f == pytest.approx(status[ACTIVE])
    for x in model.lenders:
        mine = (book.lender == x.index) & (book.status == ACTIVE)
        assert res[f"loans_{x.name}"].iloc[-1] * f == pytest.approx(mine.sum()), x.name


def test_firms_keep_their_loan_records(run):
    model, _ = run
    book, ops = model.loans, model.operator_arrays
    n = len(ops)
    np.testing.assert_array_equal(
        ops.loans_repaid, np.bincount(book.borrower[book.status == REPAID], minlength=n))
    # a firm's defaults count default events (all its loans at once), not loans
    defaulters = np.unique(book.borrower[book.status == DEFAULTED])
    assert np.all(ops.loans_defaulted[defaulters] >= 1)
    assert np.all(ops.loans_defaulted <= np.bincount(book.borrower[book.status == DEFAULTED],
                                                     minlength=n))


def test_results_report_the_firms_cash(run):
    model, res = run
    assert res["operator_cash_mxn"].iloc[-1] * model.sample_fraction == pytest.approx(
        model.operator_arrays.cash.sum())


# ---- defaults -----------------------------------------------------------------------------------

def test_defaults_follow_the_shock(credit_log):
    """Firms default only after cash below zero for the months the scenario allows, and only
    with loans outstanding; their loans are written off together."""
    res = credit_log.results()
    after = credit_log.model.spec.credit.default_after_negative_months
    defaults = res["loans_defaulted"].to_numpy()
    # the shocked firms go negative in the shock's month and default `after` months on
    assert defaults[SHOCK_MONTH:SHOCK_MONTH + after - 1].sum() == 0
    assert defaults[SHOCK_MONTH + after - 1] > 0
    assert defaults[:SHOCK_MONTH].sum() < defaults[SHOCK_MONTH + after - 1]


def test_repossessed_vehicles_were_financed_by_defaulted_loans(credit_log):
    model = credit_log.model
    book = model.loans
    f = model.sample_fraction
    res = model.results()
    defaulted = book.status == DEFAULTED
    # every vehicle listed by a repossession carried a written-off loan of its owner
    repossessed = 0
    for prev, snap in zip([credit_log.start, *credit_log.snapshots], credit_log.snapshots,
                          strict=False):
        _, ip, ic = np.intersect1d(prev.vid, snap.vid, return_indices=True)
        taken = ((prev.state[ip] == RUNNING) & (snap.listed_month[ic] == snap.month)
                 & (snap.state[ic] != RUNNING)) | (
            (prev.state[ip] == RUNNING) & (snap.state[ic] == LISTED))
        for vid, owner in zip(snap.vid[ic][taken], prev.owner[ip][taken], strict=True):
            mine = defaulted & (book.vid == vid) & (book.borrower == owner)
            repossessed += mine.any()
    assert repossessed > 0
    assert repossessed <= round(res["repossessed"].sum() * f)


# ---- lenders learn ------------------------------------------------------------------------------

def test_lenders_record_what_they_see(run):
    model, res = run
    book = model.loans
    for x in model.lenders:
        mine = book.lender == x.index
        for z in (0, 1):
            group = mine & (book.zev == z)
            assert x.repaid[z] == (group & (book.status == REPAID)).sum(), (x.name, z)
            assert x.defaulted[z] == (group & (book.status == DEFAULTED)).sum(), (x.name, z)
        s = x.spec
        w = s.prior_weight_loans
        expected = (s.prior_default_probability_zev * w + x.defaulted[1]) / (
            w + x.repaid[1] + x.defaulted[1])
        assert res[f"perceived_default_zev_{x.name}"].iloc[-1] == pytest.approx(expected)


def test_perceived_zev_risk_falls_with_repayments_and_rises_with_defaults(credit_log):
    model = credit_log.model
    res = credit_log.results()
    for x in model.lenders:
        prior = x.spec.prior_default_probability_zev
        assert res[f"perceived_default_zev_{x.name}"].iloc[0] == pytest.approx(prior)
    fell = rose = 0
    prev = credit_log.start
    for snap in credit_log.snapshots:
        for i in range(len(model.lenders)):
            d_rep = snap.lender_repaid[i][1] - prev.lender_repaid[i][1]
            d_def = snap.lender_defaulted[i][1] - prev.lender_defaulted[i][1]
            change = snap.perceived_zev[i] - prev.perceived_zev[i]
            # p' = (a + D + dD) / (b + R + D + dR + dD) moves towards dD / (dR + dD): it
            # falls with repayments only, rises with defaults only, and with both rises iff
            # the month's default rate exceeds what the lender believed
            pull = d_def - prev.perceived_zev[i] * (d_rep + d_def)
            assert np.sign(change) == np.sign(pull), (snap.month, model.lenders[i].name)
            fell += bool(change < 0)
            rose += bool(change > 0)
        prev = snap
    assert fell > 0 and rose > 0, "the run shows both"


def test_zero_emission_loans_are_priced_from_the_perceived_risk(credit_log):
    """Loans for zero-emission vehicles carry the lender's perceived zero-emission risk."""
    model = credit_log.model
    book = model.loans
    zev = book.zev == 1
    assert zev.sum() > 10
    band = model.operator_arrays.band[book.borrower]
    compared = 0
    for x in model.lenders:
        if x.spec.max_rate is not None:
            continue
        # a rate also carries the borrower's size-band premium: compare within a band
        for b in np.unique(band):
            mine = (book.lender == x.index) & (band == b)
            if (mine & zev).any() and (mine & ~zev).any():
                assert book.rate[mine & zev].mean() > book.rate[mine & ~zev].mean(), (x.name, b)
                compared += 1
    assert compared >= 2


# ---- no money from nowhere ----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["city", "credit"])
def log(request, city_log, credit_log):
    return {"city": city_log, "credit": credit_log}[request.param]


def test_each_firm_s_cash_moves_by_what_it_sells_less_what_it_pays(log):
    """From the moment firms decide to the end of the month, a firm's cash changes by exactly
    what its departing vehicles fetch (scrap or the used market) less what it pays for its
    purchases and retrofits out of its own pocket: decisions create no money."""
    by_month = {s.month: s for s in log.snapshots}
    moved = 0.0
    for rec in log.decisions:
        proceeds, payments = money_moves(rec)
        expected = np.bincount(rec.reviews.owner, weights=proceeds - payments,
                               minlength=len(rec.cash))
        got = by_month[rec.month].cash - rec.cash
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-4, err_msg=str(rec.month))
        moved += np.abs(expected).sum()
    assert moved > 0


def test_a_guarantor_pays_its_share_of_a_defaulted_balance():
    """A partnership loan's guarantor (the large fleet) pays its guarantee share of what is left
    when the haulier defaults; the lender writes off only the rest."""

    model = FleetModel("mexico_city_partnership", rng=3, sample_fraction=0.05)
    ops = model.operator_arrays
    haulier = int(np.flatnonzero(ops.partner_of >= 0)[0])
    guarantor = int(ops.partner_of[haulier])
    row = int(np.flatnonzero(model.registry.owner == haulier)[0])
    model.loans.add(np.array([haulier]), np.array([0]), model.registry.vid[[row]],
                    np.array([0]), np.array([100_000.0]), np.array([0.2]), np.array([24]),
                    model.month, guarantor=np.array([guarantor]), guarantee=np.array([0.8]))
    model.flows = Flows()
    before = ops.cash[guarantor]
    cashflow._default(model, np.array([haulier]), model.loans.active())
    assert ops.cash[guarantor] == pytest.approx(before - 80_000.0)
    assert model.flows.guarantees_paid_mxn == pytest.approx(80_000.0)
    assert model.flows.defaulted_balance_mxn == pytest.approx(20_000.0)
    assert model.loans.status[-1] == DEFAULTED
