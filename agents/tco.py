"""Total cost of ownership of one option over an operator's horizon, line by line.

`tco` works on plain numbers or on numpy arrays of any matching shape, so the same function
prices one vehicle for a user and every option of every vehicle under review for the model.
All amounts are MXN, present values at the operator's discount rate over its horizon; a cost is
positive, money received (resale, the sale of the old truck, revenue) is negative.

Example, a new soot-free tractor for a large fleet, 80% financed at 12%:

    lines = tco(price=3_800_000, discount_rate=0.10, horizon_years=7, km_per_year=150_000,
                energy_mxn_per_km=6.9, maintenance_mxn_per_km=3.7, resale_end=1_900_000,
                margin_mxn_per_km=22, loan_principal=3_040_000, loan_rate=0.12)
    lines["energy"], lines["total"]
"""

from __future__ import annotations

import numpy as np

LINES = (
    "purchase",  # price paid, net of incentives and co-finance
    "financing",  # present value of loan payments less the amount borrowed
    "energy",
    "maintenance",
    "charging",  # depot charging equipment
    "lost_revenue",  # margin lost to access restrictions (curfews, low-emission zones)
    "revenue",  # margin the vehicle earns (negative: money in)
    "sale_of_old",  # what the old vehicle fetches now (negative)
    "resale_end",  # value of the vehicle at the end of the horizon (negative)
)


def annuity_factor(rate, years):
    """Present value of 1 a year for `years` years at `rate` (paid mid-year is ignored)."""
    rate = np.asarray(rate, float)
    years = np.asarray(years, float)
    safe = np.where(rate > 1e-9, rate, 1.0)
    return np.where(rate > 1e-9, (1.0 - (1.0 + safe) ** -years) / safe, years)


def discount(rate, years):
    return (1.0 + np.asarray(rate, float)) ** -np.asarray(years, float)


def loan_payment(principal, annual_rate, term_months):
    """Monthly payment of a fully amortising loan."""
    principal = np.asarray(principal, float)
    i = np.asarray(annual_rate, float) / 12.0
    n = np.asarray(term_months, float)
    safe = np.where(i > 1e-12, i, 1.0)
    return np.where(i > 1e-12, principal * safe / (1.0 - (1.0 + safe) ** -n), principal / n)


def financing_cost(principal, loan_rate, term_months, discount_rate, horizon_years):
    """PV (at the operator's own rate) of the loan's payments, less the amount borrowed. An
    operator that discounts at 30% and borrows at 16% gains from credit: the cost is negative.
    Payments beyond the horizon are counted too: the debt does not vanish with the horizon."""
    pay = loan_payment(principal, loan_rate, term_months)
    monthly = (1.0 + np.asarray(discount_rate, float)) ** (1.0 / 12.0) - 1.0
    pv = pay * annuity_factor(monthly, term_months)
    return np.where(np.asarray(principal) > 0, pv - principal, 0.0)


def tco(
    *,
    price=0.0,
    discount_rate,
    horizon_years,
    km_per_year,
    energy_mxn_per_km,
    maintenance_mxn_per_km,
    resale_end=0.0,
    sale_of_old=0.0,
    margin_mxn_per_km=0.0,
    lost_revenue_share=0.0,
    charger_mxn=0.0,
    loan_principal=0.0,
    loan_rate=0.0,
    loan_term_months=60,
    annuity=None,
    discount_end=None,
    financing=None,
) -> dict[str, np.ndarray]:
    """Cost lines of one option (see LINES) and their `total`.

    Args:
        price: what the operator pays up front for the vehicle or retrofit, net of incentives.
        discount_rate: the operator's yearly discount rate; horizon_years: its horizon.
        km_per_year: distance the vehicle will drive each year.
        energy_mxn_per_km, maintenance_mxn_per_km: running costs.
        resale_end: value of the vehicle at the end of the horizon (undiscounted).
        sale_of_old: what the vehicle it replaces fetches now.
        margin_mxn_per_km: revenue less non-vehicle costs (driver, tolls, overheads).
        lost_revenue_share: share of that margin lost to access restrictions.
        charger_mxn: charging equipment bought with a battery-electric vehicle.
        loan_principal, loan_rate, loan_term_months: the loan that pays part of `price`.
        annuity, discount_end, financing: the same present-value factors and financing line,
            already computed; a caller pricing many rows that share a few rates passes them to
            skip recomputing powers row by row.
    """
    a = annuity_factor(discount_rate, horizon_years) if annuity is None else annuity
    if discount_end is None:
        discount_end = discount(discount_rate, horizon_years)
    if financing is None:
        financing = financing_cost(loan_principal, loan_rate, loan_term_months, discount_rate,
                                   horizon_years)
    km = np.asarray(km_per_year, float)
    lines = {
        "purchase": np.asarray(price, float) + 0.0,
        "financing": np.asarray(financing, float) + 0.0,
        "energy": km * energy_mxn_per_km * a,
        "maintenance": km * maintenance_mxn_per_km * a,
        "charging": np.asarray(charger_mxn, float) + 0.0,
        "lost_revenue": km * margin_mxn_per_km * lost_revenue_share * a,
        "revenue": -km * margin_mxn_per_km * a,
        "sale_of_old": -np.asarray(sale_of_old, float),
        "resale_end": -np.asarray(resale_end, float) * discount_end,
    }
    lines["total"] = sum(lines[k] for k in LINES)
    return lines
