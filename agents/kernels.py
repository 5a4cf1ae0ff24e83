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


@njit(cache=True)
def pay_kernel(price, zev, band, cofin, funds, guarantee, history, collateral, skip,
               lender_index, serves_band, serves_rep, rep, rate, min_score, down_share,
               max_principal, collateral_weight, guarantee_weight, per_mxn):
    """agents.finance.Finance.pay row by row: (principal, rate, lender, ok, financing) of the
    cheapest way to pay, cash or the best loan; per_mxn[lender, zev, band] is the financing
    cost per MXN borrowed (its last row, for lender -1, is zero)."""
    best_rate, best_lender, best_down = best_loan_kernel(
        price, zev, band, cofin, funds, guarantee, history, collateral, skip, lender_index,
        serves_band, serves_rep, rep, rate, min_score, down_share, max_principal,
        collateral_weight, guarantee_weight)
    m = len(price)
    principal = np.zeros(m)
    loan_rate = np.zeros(m)
    lender = np.full(m, -1, np.int64)
    ok = np.zeros(m, np.bool_)
    financing = np.zeros(m)
    for r in range(m):
        loan_ok = best_lender[r] >= 0
        cash_ok = funds[r] >= price[r]
        ok[r] = loan_ok or cash_ok
        if not loan_ok:
            continue
        owed = price[r] - best_down[r]
        cost = owed * per_mxn[best_lender[r], zev[r], band[r]]
        # a loan is used when short of cash or when cheaper than the firm's own discounting
        if not cash_ok or cost < 0:
            principal[r] = owed
            loan_rate[r] = best_rate[r]
            lender[r] = best_lender[r]
            financing[r] = cost
    return principal, loan_rate, lender, ok, financing


@njit(cache=True)
def offer_util_kernel(fixed, per_km, rev, subsidy, km_new, lost, uplift, financing, sale,
                      cofin, beta, const):
    """agents.pricing.book_offer's utility row by row: the total cost from the grid's lines
    and the row's own (subsidy, access loss, contract uplift, financing, old vehicle's sale,
    co-finance), then -beta x total (million MXN) + the technology's constant."""
    m = len(fixed)
    util = np.empty(m)
    for r in range(m):
        lo = lost[r]
        total = (fixed[r] - subsidy[r] + km_new[r] * (per_km[r] + rev[r] * (
            lo - uplift[r] * (1.0 - lo))) + financing[r] - sale[r] - cofin[r])
        util[r] = -beta[r] * total / 1e6 + const[r]
    return util


@njit(cache=True)
def book_offer_kernel(i, util, loan, money, claim_which, in_partnership, eol, scrap_value,
                      partnership, t_after, family_rep, owned, has_fallback, f_rows, b_rows,
                      i8_rows, i32_rows):
    """agents.pricing.book_offer's writes into option j's row of every table, row by row.

    loan: (principal, rate, lender, ok, financing); money: (price, subsidy, cofin, bonus,
    sale_before, fallback MXN); claim_which: (subsidy's, bonus's, fallback's instrument).
    Table rows at j: f_rows (util, fin_line, price, subsidy, cofin, principal, rate,
    bonus_gain, subsidy claim, bonus claim, fallback MXN), b_rows (feasible, fin_ok, familiar,
    scrap_old, scrap_base), i8_rows (lender, partnership, rep_tech, family), i32_rows
    (subsidy claim's, bonus claim's and fallback's instrument).
    """
    principal, rate, lender, ok, financing = loan
    price, subsidy, cofin, bonus, sale_before, alt = money
    s_which, b_which, alt_which = claim_which
    (u_j, fin_j, price_j, subsidy_j, cofin_j, principal_j, rate_j, gain_j, s_mxn_j, b_mxn_j,
     alt_mxn_j) = f_rows
    feasible_j, fin_ok_j, familiar_j, scrap_old_j, scrap_base_j = b_rows
    lender_j, partnership_j, rep_tech_j, family_j = i8_rows
    s_which_j, b_which_j, alt_which_j = i32_rows
    for r in range(len(i)):
        x = i[r]
        principal_j[x], rate_j[x], lender_j[x] = principal[r], rate[r], lender[r]
        fin_ok_j[x] = ok[r]
        u_j[x], fin_j[x], feasible_j[x] = util[r], financing[r], True
        family_j[x] = family_rep[r]
        familiar_j[x] = owned[x, family_j[x]]
        price_j[x], subsidy_j[x], cofin_j[x] = price[r], subsidy[r], cofin[r]
        scrap_base_j[x] = in_partnership[r] or eol[r]
        scrap_old_j[x] = scrap_base_j[x] or bonus[r] > 0
        s_which_j[x] = s_which[r] if subsidy[r] > 0 else -1
        s_mxn_j[x] = subsidy[r] if subsidy[r] > 0 else 0.0
        b_which_j[x] = b_which[r] if bonus[r] > 0 else -1
        b_mxn_j[x] = bonus[r] if bonus[r] > 0 else 0.0
        gain_j[x] = scrap_value[r] + bonus[r] - sale_before[r] if bonus[r] > 0 else 0.0
        if has_fallback:
            alt_which_j[x] = alt_which[r] if alt[r] > 0 else -1
            alt_mxn_j[x] = alt[r] if alt[r] > 0 else 0.0
        partnership_j[x] = partnership[r] if in_partnership[r] else 0
        rep_tech_j[x] = t_after[r]


@njit(cache=True)
def logit_choice_kernel(util, feasible, gumbel):
    """agents.choice.logit_choice row by row: the first index of the largest utility + Gumbel
    draw among feasible options (numpy's argmax: a NaN wins at once), -1 where none is
    feasible. util and feasible are [option, row], gumbel [row, option]."""
    k, n = util.shape
    choice = np.full(n, -1, np.int64)
    for r in range(n):
        any_ok = False
        for j in range(k):
            any_ok = any_ok or feasible[j, r]
        if not any_ok:
            continue
        best = util[0, r] + gumbel[r, 0] if feasible[0, r] else -np.inf
        idx = 0
        if not np.isnan(best):
            for j in range(1, k):
                v = util[j, r] + gumbel[r, j] if feasible[j, r] else -np.inf
                if np.isnan(v):
                    idx = j
                    break
                if v > best:
                    best, idx = v, j
        choice[r] = idx
    return choice


@njit(cache=True)
def offer_terms_kernel(gross, subsidy, in_partnership, partnership, terms, own_uplift,
                       keeps_contract):
    """agents.pricing.book_offer's partnership terms row by row: (co-finance, price paid by the
    operator, guarantee share, contract uplift share); terms[term, partnership] as
    agents.partnerships.partnership_terms; a vehicle that stays (keeps_contract) keeps the
    larger of the offer's uplift and its own contract's (NaN wins, as np.maximum)."""
    m = len(gross)
    cofin, price, guarantee, uplift = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    for r in range(m):
        d, p = in_partnership[r], partnership[r]
        net = gross[r] - subsidy[r]
        cofin[r] = net * terms[0, p] if d else 0.0
        price[r] = net - cofin[r]
        guarantee[r] = (terms[1, p] if d else 0.0) + 0.0
        u = terms[2, p] if d else 0.0
        if keeps_contract:
            own = own_uplift[r]
            u = u if np.isnan(u) else (own if np.isnan(own) or own > u else u)
        uplift[r] = u
    return cofin, price, guarantee, uplift


def warm() -> float:
    """Compile or load every kernel; returns the seconds it took."""
    started = time.perf_counter()
    one = np.ones(1)
    zero_i = np.zeros(1, np.int64)
    best_loan_kernel(one, zero_i, zero_i, one, one, one, one, one, np.zeros(1, np.bool_),
                     zero_i, np.ones((1, 1), np.bool_), np.ones((1, 1), np.bool_), zero_i,
                     np.ones((1, 1, 1)), one, one, np.full(1, np.inf), 1.0, 1.0)
    pay_kernel(one, zero_i, zero_i, one, one, one, one, one, np.zeros(1, np.bool_), zero_i,
               np.ones((1, 1), np.bool_), np.ones((1, 1), np.bool_), zero_i, np.ones((1, 1, 1)),
               one, one, np.full(1, np.inf), 1.0, 1.0, np.zeros((2, 2, 1)))
    offer_util_kernel(*([one] * 12))
    f8, b1 = np.zeros(1), np.zeros(1, np.bool_)
    i8, i32 = np.zeros(1, np.int8), np.zeros(1, np.int32)
    book_offer_kernel(zero_i, one, (one, one, zero_i, b1, one), (one,) * 6, (zero_i,) * 3, b1, b1,
                      one, zero_i, zero_i, zero_i, np.ones((1, 1), np.bool_), True, (f8,) * 11,
                      (b1,) * 5, (i8,) * 4, (i32,) * 3)
    logit_choice_kernel(np.ones((1, 1)), np.ones((1, 1), np.bool_), np.ones((1, 1), np.float32))
    offer_terms_kernel(one, one, b1, zero_i, np.zeros((3, 1)), one, True)
    return time.perf_counter() - started
