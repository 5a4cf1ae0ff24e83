"""Lenders and the loans they make.

A Lender is a mesa.Agent: it scores a borrower from its size band, credit history, collateral and
any guarantee, approves when the score clears its bar and its yearly quota is not used up, and
prices the loan from its base rate, the band's premium and the default risk it perceives for the
technology. It learns: its perceived default probability for zero-emission loans (and for the
rest) is a prior updated by the repaid and defaulted loans it has seen.

The LoanBook holds every loan as array rows and amortises them all each month at once.
"""

from __future__ import annotations

from datetime import date

import mesa
import numpy as np

from fleetsim.scenarios import SIZE_BANDS, Scenario
from fleetsim.scenarios.behaviour import Lender as LenderSpec

from .tco import loan_payment

ACTIVE, REPAID, DEFAULTED = 0, 1, 2


class Lender(mesa.Agent):
    def __init__(self, model: mesa.Model, name: str, spec: LenderSpec, index: int,
                 quota_scale: float):
        super().__init__(model)
        self.name = name
        self.spec = spec
        self.index = index
        self.band_premium = np.array([getattr(spec.band_premium, b) for b in SIZE_BANDS])
        self.serves_band = np.isin(SIZE_BANDS, spec.bands_served)
        # a sample of the fleet gets the same share of the quota
        self.yearly_quota = (None if spec.yearly_loan_quota is None
                             else spec.yearly_loan_quota * quota_scale)
        self.loans_this_year = 0.0
        # record by group: 0 conventional, 1 zero-emission
        self.repaid = np.zeros(2)
        self.defaulted = np.zeros(2)

    def perceived_default(self) -> np.ndarray:
        """[conventional, zero-emission] default probability: prior, updated by the record."""
        s = self.spec
        prior = np.array([s.prior_default_probability, s.prior_default_probability_zev])
        w = s.prior_weight_loans
        return (prior * w + self.defaulted) / (w + self.repaid + self.defaulted)

    def rate(self, band: np.ndarray, zev: np.ndarray) -> np.ndarray:
        r = (self.spec.base_rate + self.band_premium[band]
             + self.spec.risk_loading * self.perceived_default()[zev.astype(np.intp)])
        return np.minimum(r, self.spec.max_rate) if self.spec.max_rate is not None else r

    def quota_left(self) -> float:
        return np.inf if self.yearly_quota is None else self.yearly_quota - self.loans_this_year

    def step(self, today: date) -> None:
        """Step 2 of the month: each January the yearly loan quota starts again."""
        if today.month == 1:
            self.new_year()

    def new_year(self) -> None:
        self.loans_this_year = 0.0


class LoanBook:
    """All loans, one row each: who borrowed from whom, what for, and where they stand."""

    FIELDS = {
        "borrower": np.int64, "lender": np.int8, "vid": np.int64, "zev": np.int8,
        "principal": float, "rate": float, "payment": float, "balance": float,
        "months_left": np.int32, "status": np.int8, "start_month": np.int32,
        "guarantor": np.int64, "guarantee": float,  # who covers what share on default
    }

    def __init__(self):
        self.n = 0
        self.cols = {k: np.zeros(256, t) for k, t in self.FIELDS.items()}

    def __getattr__(self, name):
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def add(self, borrower, lender, vid, zev, principal, rate, term_months, month,
            guarantor=-1, guarantee=0.0) -> None:
        k = len(borrower)
        if k == 0:
            return
        need = self.n + k
        if need > len(self.cols["borrower"]):
            cap = max(need, int(len(self.cols["borrower"]) * 1.5))
            for name, arr in self.cols.items():
                grown = np.zeros(cap, arr.dtype)
                grown[: self.n] = arr[: self.n]
                self.cols[name] = grown
        sl = slice(self.n, need)
        c = self.cols
        c["borrower"][sl], c["lender"][sl], c["vid"][sl], c["zev"][sl] = (
            borrower, lender, vid, zev)
        c["principal"][sl], c["rate"][sl], c["balance"][sl] = principal, rate, principal
        c["payment"][sl] = loan_payment(principal, rate, term_months)
        c["months_left"][sl], c["status"][sl], c["start_month"][sl] = term_months, ACTIVE, month
        c["guarantor"][sl], c["guarantee"][sl] = guarantor, guarantee
        self.n = need

    def active(self) -> np.ndarray:
        return np.flatnonzero(self.cols["status"][: self.n] == ACTIVE)

    def amortise(self) -> tuple[np.ndarray, np.ndarray]:
        """One month of payments on every active loan. Returns (rows paid, rows just repaid)."""
        rows = self.active()
        c = self.cols
        interest = c["balance"][rows] * c["rate"][rows] / 12.0
        c["balance"][rows] = np.maximum(c["balance"][rows] + interest - c["payment"][rows], 0.0)
        c["months_left"][rows] -= 1
        done = rows[c["months_left"][rows] <= 0]
        c["balance"][done] = 0.0
        c["status"][done] = REPAID
        return rows, done

    def default(self, rows: np.ndarray) -> None:
        self.cols["status"][rows] = DEFAULTED


def credit_score(spec: Scenario, band: np.ndarray, repaid: np.ndarray, defaulted: np.ndarray,
                 collateral_mxn: np.ndarray, loan_mxn: np.ndarray,
                 guarantee_share: np.ndarray) -> np.ndarray:
    """A borrower's score for one loan: band, history, collateral per MXN lent (up to 2) and
    the share of the loan a third party guarantees."""
    c = spec.credit
    band_score = np.array([getattr(c.band_score, b) for b in SIZE_BANDS])
    cover = np.divide(collateral_mxn, loan_mxn, out=np.full(np.shape(loan_mxn), 2.0),
                      where=np.asarray(loan_mxn) > 0)
    return (band_score[band] + c.repaid_loan_bonus * (repaid > 0)
            - c.default_penalty * (defaulted > 0) + c.collateral_weight * np.minimum(cover, 2.0)
            + c.guarantee_weight * guarantee_share)
