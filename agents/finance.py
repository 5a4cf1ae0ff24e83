"""How an operator pays for an option: cash, or the cheapest loan an approving lender offers.

A decision pass sees each lender's terms as lookup tables (whom it serves, what it charges by
band and zero-emission or not); the financing cost per MXN borrowed, over the operator's horizon
at its discount rate, is computed once per lender, technology kind and band."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetsim.scenarios import SIZE_BANDS, Scenario

from .kernels import pay_kernel
from .lenders import Lender, credit_score
from .tco import financing_cost


class LenderTerms:
    """A lender's terms this month as lookup tables: whom it serves, what it charges."""

    def __init__(self, lender: Lender, tables: Any, spec: Scenario):
        self.lender, self.spec = lender, lender.spec
        self.serves_band = lender.serves_band
        served = lender.spec.technologies_served
        self.serves_rep = (np.ones(len(tables.reported_names), bool) if served is None
                           else np.isin(tables.reported_names, served))
        bands = np.arange(len(SIZE_BANDS))
        self.rate = np.stack([lender.rate(bands, np.zeros(len(bands), bool)),
                              lender.rate(bands, np.ones(len(bands), bool))], axis=1)


@dataclass
class Loan:
    """How each row of an option pays: the loan it uses (principal 0 and lender -1 for cash),
    whether it can pay at all, and the financing line of its total cost."""

    principal: np.ndarray
    rate: np.ndarray
    lender: np.ndarray
    ok: np.ndarray
    financing: np.ndarray


class Finance:
    """The credit open to the review rows: their cash, credit history and collateral, and
    every lender's terms.

    Args:
        ctx: the decision's context (agents.decisions.Context).
        owner: [row] the firm deciding.
        band: [row] its size band.
        cash: [row] the firm's cash shared among its rows under review.
        taste: the bands' discount rates and horizons (agents.options.band_tastes).
    """

    def __init__(self, ctx: Any, owner: np.ndarray, band: np.ndarray, cash: np.ndarray,
                 taste: dict[str, np.ndarray]):
        spec, ops = ctx.spec, ctx.ops
        self.band, self.cash = band, cash
        self.zev_reported = ctx.tables.zev_reported
        self.lenders = [LenderTerms(x, ctx.tables, spec) for x in ctx.lenders]
        self.terms = lender_tables(self.lenders)
        # the score without collateral and guarantee
        self.history = credit_score(spec, band, ops.loans_repaid[owner],
                                    ops.loans_defaulted[owner], 0.0, 1.0, 0.0)
        self.collateral = ops.fleet_value[owner]
        self.collateral_weight = spec.credit.collateral_weight
        self.guarantee_weight = spec.credit.guarantee_weight
        # financing cost per MXN borrowed by [lender, zev, band] (row -1: no loan)
        self.per_mxn = np.zeros((len(self.lenders) + 1, 2, len(SIZE_BANDS)))
        for lt in self.lenders:
            for z in (0, 1):
                self.per_mxn[lt.lender.index, z] = financing_cost(
                    1.0, lt.rate[:, z], lt.spec.term_months, taste["r"], taste["h"])

    def pay(self, i: np.ndarray, price: np.ndarray, rep: np.ndarray, used: bool,
            guarantee: np.ndarray, cofin: np.ndarray, trade_in) -> Loan:
        """Cheapest way for rows i to pay `price` for a vehicle of reported technology `rep`:
        cash (with what the old vehicle fetches), or a loan; a loan is used when short of cash
        or when it is cheaper than the firm's own discounting (agents.kernels.pay_kernel: the
        cheapest loan each row is approved for, lenders in order, then cash or loan)."""
        funds = self.cash[i] + trade_in  # what the old vehicle fetches pays towards the new one
        skip = np.array([(used and not lt.spec.serves_used) or lt.lender.quota_left() < 1
                         for lt in self.lenders], np.bool_)
        t = self.terms
        principal, rate, lender, ok, financing = pay_kernel(
            np.ascontiguousarray(price, np.float64), self.zev_reported[rep].astype(np.int64),
            self.band[i].astype(np.int64), np.ascontiguousarray(cofin, np.float64),
            np.ascontiguousarray(funds, np.float64), np.ascontiguousarray(guarantee, np.float64),
            self.history[i], self.collateral[i], skip, t["index"], t["serves_band"],
            t["serves_rep"], rep.astype(np.int64), t["rate"], t["min_score"],
            t["used_down"] if used else t["down"], t["max_principal"],
            float(self.collateral_weight), float(self.guarantee_weight), self.per_mxn)
        return Loan(principal=principal, rate=rate, lender=lender, ok=ok, financing=financing)


def lender_tables(lenders: list[LenderTerms]) -> dict[str, np.ndarray]:
    """Every lender's terms stacked [lender, ...] for the compiled loop (no cap: inf)."""
    return {
        "index": np.array([lt.lender.index for lt in lenders], np.int64),
        "serves_band": np.array([lt.serves_band for lt in lenders], np.bool_).reshape(
            len(lenders), len(SIZE_BANDS)),
        "serves_rep": np.array([lt.serves_rep for lt in lenders], np.bool_).reshape(
            len(lenders), -1),
        "rate": np.array([lt.rate for lt in lenders], np.float64).reshape(
            len(lenders), len(SIZE_BANDS), 2),
        "min_score": np.array([lt.spec.min_score for lt in lenders], np.float64),
        "down": np.array([lt.spec.down_payment_share for lt in lenders], np.float64),
        "used_down": np.array([lt.spec.used_down_payment_share for lt in lenders], np.float64),
        "max_principal": np.array([np.inf if lt.spec.max_principal_mxn is None
                                   else lt.spec.max_principal_mxn for lt in lenders],
                                  np.float64),
    }
