"""Total cost of ownership line by line (agents.tco), against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetsim.agents.tco import (
    LINES,
    annuity_factor,
    discount,
    financing_cost,
    loan_payment,
    tco,
)

# the module docstring's tractor: a large fleet, 80% financed at 12%
TRACTOR = dict(price=3_800_000, discount_rate=0.10, horizon_years=7, km_per_year=150_000,
               energy_mxn_per_km=6.9, maintenance_mxn_per_km=3.7, resale_end=1_900_000,
               margin_mxn_per_km=22, loan_principal=3_040_000, loan_rate=0.12)


def pv_of_years(rate: float, years: int) -> float:
    """1 a year for `years` years, paid at each year's end, discounted at `rate`."""
    return sum((1 + rate) ** -t for t in range(1, years + 1))


def pv_of_payments(payment: float, annual_rate: float, months: int) -> float:
    """`payment` at each month's end, discounted monthly at the rate equivalent to
    `annual_rate` a year."""
    m = (1 + annual_rate) ** (1 / 12) - 1
    return sum(payment / (1 + m) ** t for t in range(1, months + 1))


def balance_after(principal: float, annual_rate: float, payment: float, months: int) -> float:
    balance = principal
    for _ in range(months):
        balance = balance * (1 + annual_rate / 12) - payment
    return balance


# ---- the factors --------------------------------------------------------------------------------

def test_annuity_and_discount_factors():
    assert annuity_factor(0.10, 7) == pytest.approx(pv_of_years(0.10, 7))
    assert annuity_factor(0.10, 7) == pytest.approx(4.868418818)
    assert annuity_factor(0.0, 5) == 5.0, "no discounting: years"
    assert discount(0.10, 7) == pytest.approx(1.1**-7)
    np.testing.assert_allclose(annuity_factor(np.array([0.1, 0.3]), np.array([7, 3])),
                               [pv_of_years(0.1, 7), pv_of_years(0.3, 3)])


def test_loan_payment_by_hand():
    # 1,000,000 at 12% a year (1% a month) over 60 months
    pay = loan_payment(1_000_000, 0.12, 60)
    assert pay == pytest.approx(1_000_000 * 0.01 / (1 - 1.01**-60))
    assert pay == pytest.approx(22_244.45, abs=0.01)
    assert balance_after(1_000_000, 0.12, pay, 60) == pytest.approx(0.0, abs=1e-6)
    assert loan_payment(1_200_000, 0.0, 24) == 50_000.0, "no interest: equal parts"
    np.testing.assert_allclose(loan_payment(np.array([1e6, 2e6]), 0.12, 60), [pay, 2 * pay])


@pytest.mark.parametrize(("loan_rate", "discount_rate", "term"), [
    (0.12, 0.30, 60), (0.16, 0.10, 60), (0.30, 0.15, 24), (0.08, 0.20, 72), (0.0, 0.10, 12)])
def test_financing_cost_by_hand(loan_rate, discount_rate, term):
    principal = 2_000_000.0
    pay = principal * (loan_rate / 12) / (1 - (1 + loan_rate / 12) ** -term) if loan_rate \
        else principal / term
    expected = pv_of_payments(pay, discount_rate, term) - principal
    got = financing_cost(principal, loan_rate, term, discount_rate, 5)
    assert got == pytest.approx(expected, rel=1e-9)


def test_credit_cheaper_than_own_money_is_a_gain():
    # an owner-operator discounting at 30% borrowing at 16%: the loan is worth having
    assert financing_cost(1e6, 0.16, 60, 0.30, 3) < 0
    # a large fleet discounting at 10% paying 16%: the loan costs
    assert financing_cost(1e6, 0.16, 60, 0.10, 7) > 0
    # no loan, no cost
    assert financing_cost(0.0, 0.16, 60, 0.10, 7) == 0.0
    # the cost grows with the loan rate
    rates = np.array([0.05, 0.10, 0.15, 0.20, 0.30])
    assert np.all(np.diff(financing_cost(1e6, rates, 60, 0.15, 5)) > 0)


# ---- the lines ----------------------------------------------------------------------------------

def test_every_line_and_the_total():
    lines = tco(**TRACTOR)
    assert set(lines) == {*LINES, "total"}
    assert lines["total"] == pytest.approx(sum(lines[k] for k in LINES))


def test_lines_by_hand():
    t = TRACTOR
    a = pv_of_years(0.10, 7)
    lines = tco(**t, sale_of_old=400_000, lost_revenue_share=0.1, charger_mxn=250_000)
    km = t["km_per_year"]
    assert lines["purchase"] == t["price"]
    assert lines["energy"] == pytest.approx(km * 6.9 * a)
    assert lines["maintenance"] == pytest.approx(km * 3.7 * a)
    assert lines["charging"] == 250_000
    assert lines["revenue"] == pytest.approx(-km * 22 * a)
    assert lines["lost_revenue"] == pytest.approx(km * 22 * 0.1 * a)
    assert lines["sale_of_old"] == -400_000
    assert lines["resale_end"] == pytest.approx(-1_900_000 * 1.1**-7)
    pay = loan_payment(3_040_000, 0.12, 60)
    assert lines["financing"] == pytest.approx(pv_of_payments(pay, 0.10, 60) - 3_040_000)
    assert lines["total"] == pytest.approx(sum(lines[k] for k in LINES))


def test_costs_are_positive_money_in_is_negative():
    lines = tco(**TRACTOR, sale_of_old=100_000, lost_revenue_share=0.2, charger_mxn=1.0)
    for name in ("purchase", "energy", "maintenance", "charging", "lost_revenue"):
        assert lines[name] > 0, name
    for name in ("revenue", "sale_of_old", "resale_end"):
        assert lines[name] < 0, name


def changed(**kw) -> float:
    return float(tco(**{**TRACTOR, **kw})["total"])


BASE = float(tco(**TRACTOR)["total"])


@pytest.mark.parametrize(("field", "value", "direction"), [
    ("price", 4_000_000, +1),
    ("energy_mxn_per_km", 8.0, +1),
    ("maintenance_mxn_per_km", 5.0, +1),
    ("resale_end", 2_500_000, -1),
    ("margin_mxn_per_km", 30.0, -1),
    # margin 22 > energy 6.9 + maintenance 3.7: more km earn more than they cost
    ("km_per_year", 180_000, -1),
    ("loan_rate", 0.20, +1),
    ("charger_mxn", 500_000, +1),
    ("lost_revenue_share", 0.3, +1),
    ("sale_of_old", 300_000, -1),
])
def test_each_line_moves_the_total_the_right_way(field, value, direction):
    assert np.sign(changed(**{field: value}) - BASE) == direction


def test_more_km_cost_more_when_the_margin_does_not_cover_running_costs():
    low = dict(margin_mxn_per_km=5.0)
    assert changed(km_per_year=180_000, **low) > changed(**low)


def test_loan_below_the_discount_rate_lowers_the_total():
    cash = dict(loan_principal=0.0)
    # a micro firm: discounts at 30%, borrows at 16% below it, at 40% above it
    micro = dict(discount_rate=0.30, horizon_years=3)
    cheap = tco(**{**TRACTOR, **micro, "loan_rate": 0.16})
    dear = tco(**{**TRACTOR, **micro, "loan_rate": 0.40})
    own = tco(**{**TRACTOR, **micro, **cash})
    assert cheap["financing"] < 0 < dear["financing"]
    assert own["financing"] == 0
    assert cheap["total"] < own["total"] < dear["total"]


def test_precomputed_factors_give_the_same_lines():
    direct = tco(**TRACTOR)
    given_ = tco(**TRACTOR, annuity=annuity_factor(0.10, 7), discount_end=discount(0.10, 7),
                 financing=financing_cost(3_040_000, 0.12, 60, 0.10, 7))
    for name in (*LINES, "total"):
        assert given_[name] == pytest.approx(direct[name], rel=1e-12), name


def test_precomputed_financing_replaces_the_loan():
    """With `financing` given, the loan arguments are not used again."""
    lines = tco(**{**TRACTOR, "loan_principal": 1.0, "loan_rate": 0.9}, financing=1234.5)
    assert lines["financing"] == 1234.5


def test_arrays_price_many_options_at_once():
    prices = np.array([1e6, 2e6, 3e6])
    rates = np.array([0.1, 0.2, 0.3])
    lines = tco(price=prices, discount_rate=rates, horizon_years=np.array([7, 5, 3]),
                km_per_year=np.array([150_000, 100_000, 60_000]), energy_mxn_per_km=6.0,
                maintenance_mxn_per_km=3.0, margin_mxn_per_km=20.0,
                loan_principal=prices * 0.8, loan_rate=0.15)
    assert lines["total"].shape == (3,)
    for i in range(3):
        one = tco(price=prices[i], discount_rate=rates[i], horizon_years=[7, 5, 3][i],
                  km_per_year=[150_000, 100_000, 60_000][i], energy_mxn_per_km=6.0,
                  maintenance_mxn_per_km=3.0, margin_mxn_per_km=20.0,
                  loan_principal=prices[i] * 0.8, loan_rate=0.15)
        for name in (*LINES, "total"):
            # lines with scalar inputs (charging here) stay scalars: broadcast them
            assert np.broadcast_to(lines[name], (3,))[i] == pytest.approx(one[name]), (i, name)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(price=st.floats(0, 1e7), rate=st.floats(0.0, 0.5), years=st.integers(1, 15),
       km=st.floats(0, 3e5), energy=st.floats(0, 20), maint=st.floats(0, 10),
       margin=st.floats(0, 40), lost=st.floats(0, 1), share=st.floats(0, 1),
       loan_rate=st.floats(0.0, 0.5), term=st.integers(1, 120))
def test_total_is_the_sum_of_the_lines(price, rate, years, km, energy, maint, margin, lost,
                                       share, loan_rate, term):
    lines = tco(price=price, discount_rate=rate, horizon_years=years, km_per_year=km,
                energy_mxn_per_km=energy, maintenance_mxn_per_km=maint,
                margin_mxn_per_km=margin, lost_revenue_share=lost,
                loan_principal=price * share, loan_rate=loan_rate, loan_term_months=term,
                resale_end=price * 0.3)
    assert lines["total"] == pytest.approx(sum(lines[k] for k in LINES), rel=1e-9, abs=1e-3)
    assert np.isfinite(lines["total"])
    # a loan is never worth more than what it lends
    assert lines["financing"] > -price * share - 1e-6
