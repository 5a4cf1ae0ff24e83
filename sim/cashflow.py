"""Firms' money each month: operating margins in, loan payments out, owners' draw, and default
when cash stays negative (the lender repossesses what its loans financed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fleetsim.agents.partnerships import partnership_term
from fleetsim.scenarios import SIZE_BANDS

from .registry import ACTIVE

if TYPE_CHECKING:
    from fleetsim.agents.decisions import Decision, Reviews

    from .model import FleetModel


def month(model: FleetModel, m: int) -> None:
    ops, loans, fl = model.operator_arrays, model.loans, model.flows
    n_ops = len(ops)
    paid, done = loans.amortise()
    payments = np.bincount(loans.borrower[paid], weights=loans.payment[paid], minlength=n_ops)
    ops.loans_repaid += np.bincount(loans.borrower[done], minlength=n_ops).astype(np.int32)
    for lender in model.lenders:
        mine = done[loans.lender[done] == lender.index]
        lender.repaid += np.bincount(loans.zev[mine], minlength=2)
    fl.loans_repaid += len(done)
    fl.loan_payments_mxn += float(payments.sum())

    flow = model.owner_margin() / 12.0 - payments
    payout = np.array([model.spec.decisions.bands[b].payout_share for b in SIZE_BANDS])
    ops.cash += flow - payout[ops.band] * np.maximum(flow, 0.0)
    ops.negative_months = np.where(ops.cash < 0, ops.negative_months + 1, 0).astype(np.int32)

    active = loans.active()
    indebted = np.bincount(loans.borrower[active], minlength=n_ops) > 0
    after = model.spec.credit.default_after_negative_months
    who = np.flatnonzero(indebted & (ops.negative_months >= after))
    if len(who):
        _default(model, who, active)


def _default(model: FleetModel, who: np.ndarray, active: np.ndarray) -> None:
    """The firms in `who` stop paying: their loans are written off and the vehicles those loans
    financed, if still theirs, are repossessed and sold on the used market."""
    ops, loans, reg, fl = model.operator_arrays, model.loans, model.registry, model.flows
    gone = active[np.isin(loans.borrower[active], who)]
    loans.default(gone)
    for lender in model.lenders:
        mine = gone[loans.lender[gone] == lender.index]
        lender.defaulted += np.bincount(loans.zev[mine], minlength=2)
    ops.loans_defaulted[who] += 1
    ops.cash[who] = 0.0
    ops.negative_months[who] = 0
    # guarantors pay their share of what is left; the lender loses the rest
    backed = gone[loans.guarantor[gone] >= 0]
    paid = loans.balance[backed] * loans.guarantee[backed]
    ops.cash -= np.bincount(loans.guarantor[backed], weights=paid, minlength=len(ops))
    fl.guarantees_paid_mxn += float(paid.sum())
    fl.loans_defaulted += len(gone)
    fl.defaulted_balance_mxn += float(loans.balance[gone].sum() - paid.sum())
    rows = reg.rows_of(loans.vid[gone])
    rows = np.clip(rows, 0, max(reg.n - 1, 0))
    ok = ((reg.cols["vid"][rows] == loans.vid[gone]) & (reg.cols["state"][rows] == ACTIVE)
          & (reg.cols["owner"][rows] == loans.borrower[gone]))
    rows = np.unique(rows[ok])
    model.vehicles.list_for_sale(rows, model.month)
    fl.repossessed += len(rows)


def pay(model: FleetModel, rv: Reviews, d: Decision, idx: np.ndarray,
        vehicle_row: np.ndarray) -> None:
    """Buyers in `idx` pay the down payment (or all) from cash; loans are booked against the
    vehicle they financed."""
    ops, reg, fl = model.operator_arrays, model.registry, model.flows
    owner = rv.owner[idx]
    ops.cash -= np.bincount(owner, weights=d.price[idx] - d.principal[idx], minlength=len(ops))
    # a partnering large fleet pays the co-finance of its hauliers' partnership purchases
    backed = idx[d.cofinance[idx] > 0]
    ops.cash -= np.bincount(ops.partner_of[rv.owner[backed]], weights=d.cofinance[backed],
                            minlength=len(ops))
    lent = idx[d.lender[idx] >= 0]
    if not len(lent):
        return
    lender = d.lender[lent]
    term = np.array([x.spec.term_months for x in model.lenders])[lender]
    zev = model.tables.zev_reported[d.rep_tech[lent]].astype(np.int8)
    # a loan under a partnership is guaranteed by the large fleet the haulier works for
    partnership = d.partnership[lent]
    share = partnership_term(model.spec, partnership, "guarantee")
    guarantor = np.where(partnership > 0, ops.partner_of[rv.owner[lent]], -1)
    model.loans.add(rv.owner[lent], lender, reg.cols["vid"][vehicle_row[lent]], zev,
                    d.principal[lent], d.rate[lent], term, model.month,
                    guarantor=guarantor, guarantee=share)
    for x in model.lenders:
        x.loans_this_year += float((lender == x.index).sum())
    fl.loans_approved += len(lent)
    fl.loans_principal_mxn += float(d.principal[lent].sum())
