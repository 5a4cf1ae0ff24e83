"""Compiled loops of the decision pass (numba, cached on disk next to this file).

Each kernel does, row by row, exactly the arithmetic of the numpy code it replaces, in the same
order, with no fast-math: the results are the same to the last bit. No kernel draws random
numbers; every draw stays with the model's generator. `warm()` compiles (or loads from the
cache) every kernel, so that the first month a user waits for is not the compile.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit


@njit(cache=True)
def best_loan_kernel(price, zev, band, cofin, funds, guarantee, history, collateral, skip,
                     lender_index, serves_band, serves_rep, rep, rate, min_score, down_share,
                     max_principal, collateral_weight, guarantee_weight):
    """(rate, lender, down payment) of the cheapest loan each row is approved for, lenders in
    order, a later one only if strictly cheaper; lender -1 where none approves.

    Per lender L: skip[L], lender_index[L], serves_band[L, band], serves_rep[L, rep],
    rate[L, band, zev], min_score[L], down_share[L] (new or used, as the option), and
    max_principal[L] (inf: no cap).
    """
    m = len(price)
    best_rate = np.full(m, np.inf)
    best_lender = np.full(m, -1, np.int64)
    best_down = np.zeros(m)
    cw, gw = collateral_weight, guarantee_weight
    for k in range(len(skip)):
        if skip[k]:
            continue
        for r in range(m):
            b = band[r]
            # rows this lender serves and that could reach its score with full collateral
            if not (serves_band[k, b] and serves_rep[k, rep[r]]):
                continue
            if not (history[r] + 2.0 * cw + gw * guarantee[r] >= min_score[k]):
                continue
            p, c = price[r], cofin[r]
            down = max((p + c) * down_share[k] - c, 0.0)  # co-finance counts towards it
            loan = max(p - down, 1.0)
            score = history[r] + cw * min(collateral[r] / loan, 2.0) + gw * guarantee[r]
            ok = (score >= min_score[k]) and (funds[r] >= down) and (p > 0)
            ok = ok and (p - down <= max_principal[k])
            x = rate[k, b, zev[r]]
            if ok and x < best_rate[r]:
                best_rate[r] = x
                best_lender[r] = lender_index[k]
                best_down[r] = down
    return best_rate, best_lender, best_down


def warm() -> float:
    """Compile or load every kernel; returns the seconds it took."""
    started = time.perf_counter()
    one = np.ones(1)
    zero_i = np.zeros(1, np.int64)
    best_loan_kernel(one, zero_i, zero_i, one, one, one, one, one, np.zeros(1, np.bool_),
                     zero_i, np.ones((1, 1), np.bool_), np.ones((1, 1), np.bool_), zero_i,
                     np.ones((1, 1, 1)), one, one, np.full(1, np.inf), 1.0, 1.0)
    return time.perf_counter() - started
