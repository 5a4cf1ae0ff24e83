"""Lenders (pricing, learning, quotas), the loan book's amortisation and credit scores."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from fleetsim.agents import Lender, LoanBook, credit_score
from fleetsim.agents.lenders import ACTIVE, DEFAULTED, REPAID
from fleetsim.scenarios import SIZE_BANDS, load

BANDS = np.arange(len(SIZE_BANDS))


@pytest.fixture(scope="module")
def spec():
    return load("mexico_city")


def lender(spec, name: str, scale: float = 1.0) -> Lender:
    names = list(spec.credit.lenders)
    return Lender(mesa.Model(rng=1), name, spec.credit.lenders[name], names.index(name), scale)


# ---- learning -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["commercial_bank", "development_bank", "green_fund"])
def test_perceived_default_starts_at_the_prior(spec, name):
    x = lender(spec, name)
    s = spec.credit.lenders[name]
    np.testing.assert_allclose(x.perceived_default(),
                               [s.prior_default_probability, s.prior_default_probability_zev])
    assert s.prior_default_probability_zev > s.prior_default_probability, \
        "unproven technology starts riskier"


@pytest.mark.parametrize("name", ["commercial_bank", "development_bank", "green_fund"])
def test_perceived_default_learns_from_the_record(spec, name):
    x = lender(spec, name)
    prior = x.perceived_default().copy()
    w = spec.credit.lenders[name].prior_weight_loans
    seen = [prior[1]]
    for _ in range(5):  # zero-emission loans repaid: the risk it sees falls
        x.repaid[1] += 4
        seen.append(x.perceived_default()[1])
    assert np.all(np.diff(seen) < 0)
    assert x.perceived_default()[0] == prior[0], "the other group is untouched"
    assert x.perceived_default()[1] == pytest.approx(prior[1] * w / (w + 20))
    for _ in range(5):  # defaults: it rises
        x.defaulted[1] += 2
        seen.append(x.perceived_default()[1])
    assert np.all(np.diff(seen[5:]) > 0)
    assert x.perceived_default()[1] == pytest.approx((prior[1] * w + 10) / (w + 30))
    # a long clean record brings it towards zero, a bad one towards one
    x.repaid[:] = 1e6
    x.defaulted[:] = 0
    assert np.all(x.perceived_default() < 1e-3)
    x.repaid[:] = 0
    x.defaulted[:] = 1e6
    assert np.all(x.perceived_default() > 0.999)


def test_rate_is_base_plus_band_premium_plus_risk(spec):
    x = lender(spec, "commercial_bank")
    s = spec.credit.lenders["commercial_bank"]
    assert s.max_rate is None
    premium = np.array([getattr(s.band_premium, b) for b in SIZE_BANDS])
    pd_ = x.perceived_default()
    for zev in (False, True):
        got = x.rate(BANDS, np.full(4, zev))
        np.testing.assert_allclose(got, s.base_rate + premium + s.risk_loading * pd_[int(zev)])
    # micro firms pay more than large fleets, unproven technology more than proven
    assert x.rate(BANDS, np.zeros(4, bool))[0] > x.rate(BANDS, np.zeros(4, bool))[3]
    assert np.all(x.rate(BANDS, np.ones(4, bool)) > x.rate(BANDS, np.zeros(4, bool)))
    x.defaulted[1] += 100
    assert np.all(x.rate(BANDS, np.ones(4, bool)) > s.base_rate + premium
                  + s.risk_loading * pd_[1])


def test_development_bank_rate_never_exceeds_its_cap(spec):
    x = lender(spec, "development_bank")
    cap = spec.credit.lenders["development_bank"].max_rate
    assert cap == pytest.approx(0.16)
    for defaults in (0, 5, 50, 500, 1e6):
        x.defaulted[:] = defaults
        for zev in (False, True):
            assert np.all(x.rate(BANDS, np.full(4, zev)) <= cap + 1e-15)
    # with a bad enough record every band pays the cap
    np.testing.assert_allclose(x.rate(BANDS, np.ones(4, bool)), cap)


def test_quota_is_scaled_to_the_sample_and_renewed_each_year(spec):
    x = lender(spec, "development_bank", scale=0.02)
    quota = spec.credit.lenders["development_bank"].yearly_loan_quota
    assert x.yearly_quota == pytest.approx(quota * 0.02)
    assert x.quota_left() == pytest.approx(quota * 0.02)
    x.loans_this_year += 3
    assert x.quota_left() == pytest.approx(quota * 0.02 - 3)
    x.new_year()
    assert x.quota_left() == pytest.approx(quota * 0.02)
    assert lender(spec, "commercial_bank").quota_left() == np.inf


def test_who_a_lender_serves(spec):
    dev, green = lender(spec, "development_bank"), lender(spec, "green_fund")
    np.testing.assert_array_equal(
        dev.serves_band, np.isin(SIZE_BANDS, spec.credit.lenders["development_bank"].bands_served))
    assert green.serves_band.all()
    assert not spec.credit.lenders["green_fund"].serves_used


# ---- the loan book ------------------------------------------------------------------------------

def synthetic_book() -> tuple[LoanBook, dict]:
    book = LoanBook()
    loans = dict(borrower=np.array([0, 1, 2, 3, 4]), lender=np.array([0, 1, 2, 0, 1]),
                 vid=np.array([10, 11, 12, 13, 14]), zev=np.array([0, 1, 0, 1, 0]),
                 principal=np.array([1e6, 2.5e6, 3e5, 8e6, 5e5]),
                 rate=np.array([0.12, 0.16, 0.0, 0.23, 0.30]),
                 term=np.array([60, 72, 12, 60, 24]))
    book.add(loans["borrower"], loans["lender"], loans["vid"], loans["zev"], loans["principal"],
             loans["rate"], loans["term"], 24300)
    return book, loans


def annuity(principal, rate, term):
    i = rate / 12
    return principal / term if i == 0 else principal * i / (1 - (1 + i) ** -term)


def test_payments_follow_the_annuity_formula():
    book, loans = synthetic_book()
    assert book.n == 5
    for k in range(5):
        expected = annuity(loans["principal"][k], loans["rate"][k], loans["term"][k])
        assert book.payment[k] == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(book.balance, loans["principal"])
    np.testing.assert_array_equal(book.months_left, loans["term"])
    np.testing.assert_array_equal(book.status, ACTIVE)
    np.testing.assert_array_equal(book.start_month, 24300)


def test_every_loan_amortises_to_zero_by_its_term():
    book, loans = synthetic_book()
    term = loans["term"]
    balance = loans["principal"].astype(float).copy()
    paid_total = np.zeros(5)
    for month in range(1, term.max() + 1):
        rows, done = book.amortise()
        live = term >= month
        np.testing.assert_array_equal(np.sort(rows), np.flatnonzero(live))
        np.testing.assert_array_equal(np.sort(done), np.flatnonzero(term == month))
        # by hand: interest on the balance, less the payment
        balance[live] = balance[live] * (1 + loans["rate"][live] / 12) - book.payment[live]
        paid_total[live] += book.payment[live]
        still = live & (term > month)
        np.testing.assert_allclose(book.balance[still], balance[still], rtol=1e-9)
        # nothing is owed on the last payment: the annuity pays the loan off exactly
        np.testing.assert_allclose(balance[term == month], 0.0, atol=1e-6 * loans[
            "principal"].max())
        np.testing.assert_array_equal(book.balance[term <= month], 0.0)
        np.testing.assert_array_equal(book.status[term <= month], REPAID)
        np.testing.assert_array_equal(book.status[term > month], ACTIVE)
    assert len(book.active()) == 0
    rows, done = book.amortise()
    assert len(rows) == len(done) == 0, "repaid loans are not paid again"
    np.testing.assert_allclose(paid_total, book.payment * term)
    # what was paid is the principal plus interest; at rate 0 just the principal
    assert paid_total[2] == pytest.approx(loans["principal"][2])
    assert np.all(paid_total[loans["rate"] > 0] > loans["principal"][loans["rate"] > 0])


def test_a_defaulted_loan_keeps_its_balance_and_stops_paying():
    book, _ = synthetic_book()
    for _ in range(6):
        book.amortise()
    owed = book.balance.copy()
    book.default(np.array([1, 3]))
    np.testing.assert_array_equal(book.status[[1, 3]], DEFAULTED)
    np.testing.assert_array_equal(np.sort(book.active()), [0, 2, 4])
    rows, _ = book.amortise()
    assert not np.isin([1, 3], rows).any()
    np.testing.assert_array_equal(book.balance[[1, 3]], owed[[1, 3]])


def test_book_grows_past_its_first_capacity():
    book = LoanBook()
    for k in range(30):
        m = 20
        book.add(np.arange(m), np.zeros(m, int), np.arange(m) + 100 * k, np.zeros(m, int),
                 np.full(m, 1e5), np.full(m, 0.1), np.full(m, 12), k)
    assert book.n == 600
    np.testing.assert_array_equal(book.start_month, np.repeat(np.arange(30), 20))
    book.add(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), np.zeros(0, int),
             np.zeros(0), np.zeros(0), np.zeros(0, int), 31)
    assert book.n == 600


# ---- credit scores ------------------------------------------------------------------------------

def test_credit_score_by_hand(spec):
    c = spec.credit
    band = np.array([0, 0, 3, 3, 1])
    repaid = np.array([0, 2, 0, 1, 0])
    defaulted = np.array([0, 0, 1, 0, 0])
    collateral = np.array([0.0, 5e5, 1e7, 1e5, 0.0])
    loan = np.array([1e6, 1e6, 1e6, 1e6, 0.0])
    guarantee = np.array([0.0, 0.0, 0.0, 0.8, 0.0])
    score = credit_score(spec, band, repaid, defaulted, collateral, loan, guarantee)
    bs = [c.band_score.micro, c.band_score.small, c.band_score.medium, c.band_score.large]
    expected = [
        bs[0],
        bs[0] + c.repaid_loan_bonus + c.collateral_weight * 0.5,
        bs[3] - c.default_penalty + c.collateral_weight * 2.0,  # cover capped at 2
        bs[3] + c.repaid_loan_bonus + c.collateral_weight * 0.1 + c.guarantee_weight * 0.8,
        bs[1] + c.collateral_weight * 2.0,  # no loan: full cover
    ]
    np.testing.assert_allclose(score, expected)


def test_a_default_hurts_and_a_guarantee_helps(spec):
    one = np.ones(1)
    base = credit_score(spec, np.array([0]), 0 * one, 0 * one, 0 * one, 1e6 * one, 0 * one)
    bad = credit_score(spec, np.array([0]), 0 * one, one, 0 * one, 1e6 * one, 0 * one)
    backed = credit_score(spec, np.array([0]), 0 * one, 0 * one, 0 * one, 1e6 * one, 0.8 * one)
    assert bad < base < backed
    # a micro firm without history or collateral is below the commercial banks' bar, and a
    # partner's 80% guarantee lifts it over
    bar = spec.credit.lenders["commercial_bank"].min_score
    assert base < bar <= backed
