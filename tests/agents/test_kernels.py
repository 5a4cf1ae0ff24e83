"""The compiled kernels give the numpy code's numbers to the last bit, and warm() loads them."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.kernels import (
    best_loan_kernel,
    book_offer_kernel,
    logit_choice_kernel,
    offer_terms_kernel,
    offer_util_kernel,
    pay_kernel,
    warm,
)


def best_loan_numpy(price, zev, band, cofin, funds, guarantee, history, collateral, skip,
                    lender_index, serves_band, serves_rep, rep, rate, min_score, down_share,
                    max_principal, cw, gw):
    """The numpy version the kernel replaced (agents.finance before issue 11's step 5)."""
    m = len(price)
    best_rate, best_lender, best_down = np.full(m, np.inf), np.full(m, -1), np.zeros(m)
    for k in range(len(skip)):
        if skip[k]:
            continue
        reach = history + 2.0 * cw + gw * guarantee >= min_score[k]
        w = np.flatnonzero(serves_band[k, band] & serves_rep[k, rep] & reach)
        pw, cofin_w = price[w], cofin[w]
        down = np.maximum((pw + cofin_w) * down_share[k] - cofin_w, 0.0)
        r = rate[k, band[w], zev[w]]
        loan = np.maximum(pw - down, 1.0)
        score = history[w] + cw * np.minimum(collateral[w] / loan, 2.0) + gw * guarantee[w]
        ok = (score >= min_score[k]) & (funds[w] >= down) & (pw > 0)
        if np.isfinite(max_principal[k]):
            ok &= pw - down <= max_principal[k]
        sel = ok & (r < best_rate[w])
        better = w[sel]
        best_rate[better] = r[sel]
        best_lender[better] = lender_index[k]
        best_down[better] = down[sel]
    return best_rate, best_lender, best_down


def loan_args(rng: np.random.Generator, m: int = 500) -> dict:
    """Random rows and lenders: some free, some refused, some capped, some skipped."""
    n_l, n_b, n_rep = 3, 4, 9
    return dict(
        price=rng.choice([0.0, 1.0, 5e4], m) + rng.uniform(0, 3e6, m) * (rng.random(m) < 0.9),
        zev=rng.integers(0, 2, m), band=rng.integers(0, n_b, m),
        cofin=rng.uniform(0, 5e5, m) * (rng.random(m) < 0.3), funds=rng.uniform(0, 2e6, m),
        guarantee=rng.uniform(0, 0.5, m) * (rng.random(m) < 0.3),
        history=rng.uniform(-1, 1, m), collateral=rng.uniform(0, 4e6, m),
        skip=rng.random(n_l) < 0.2, lender_index=np.arange(n_l),
        serves_band=rng.random((n_l, n_b)) < 0.8, serves_rep=rng.random((n_l, n_rep)) < 0.8,
        rep=rng.integers(0, n_rep, m), rate=rng.choice([0.08, 0.1, 0.12, 0.15], (n_l, n_b, 2)),
        min_score=rng.uniform(-0.5, 1.5, n_l), down_share=rng.uniform(0.1, 0.3, n_l),
        max_principal=np.where(rng.random(n_l) < 0.5, 2e6, np.inf))


@pytest.mark.parametrize("seed", range(8))
def test_best_loan_kernel_equals_numpy(seed):
    args = loan_args(np.random.default_rng(seed))
    got = best_loan_kernel(**args, collateral_weight=0.4, guarantee_weight=0.6)
    want = best_loan_numpy(**args, cw=0.4, gw=0.6)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    assert (got[1] >= 0).any() and (got[1] < 0).any(), "both approvals and refusals"


def pay_numpy(per_mxn, **args):
    """agents.finance.Finance.pay's numpy code after the best loan (before issue 11's speed
    step): a loan is used when short of cash or when it is cheaper than own discounting."""
    best_rate, best_lender, best_down = best_loan_numpy(
        **{k: v for k, v in args.items() if k not in ("collateral_weight", "guarantee_weight")},
        cw=args["collateral_weight"], gw=args["guarantee_weight"])
    price, funds = args["price"], args["funds"]
    loan_ok = best_lender >= 0
    cash_ok = funds >= price
    principal = np.where(loan_ok, price - best_down, 0.0)
    rate = np.where(loan_ok, best_rate, 0.0)
    financing = principal * per_mxn[best_lender, args["zev"], args["band"]]
    use_loan = loan_ok & (~cash_ok | (financing < 0))
    return (np.where(use_loan, principal, 0.0), np.where(use_loan, rate, 0.0),
            np.where(use_loan, best_lender, -1), loan_ok | cash_ok,
            np.where(use_loan, financing, 0.0))


@pytest.mark.parametrize("seed", range(8))
def test_pay_kernel_equals_numpy(seed):
    rng = np.random.default_rng(100 + seed)
    args = loan_args(rng)
    args["funds"] = np.where(rng.random(len(args["price"])) < 0.5, args["funds"], 1e9)
    # financing cost per MXN by [lender (last: none), zev, band]: gains and costs both
    per_mxn = np.concatenate([rng.uniform(-0.3, 0.3, (3, 2, 4)), np.zeros((1, 2, 4))])
    args.update(collateral_weight=0.4, guarantee_weight=0.6)
    got = pay_kernel(**args, per_mxn=per_mxn)
    want = pay_numpy(per_mxn, **args)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    used, cash_only = got[2] >= 0, (got[2] < 0) & got[3]
    assert used.any() and cash_only.any() and (~got[3]).any(), "loans, cash and neither"


def offer_util_numpy(fixed, per_km, rev, subsidy, km_new, lost, uplift, financing, sale, cofin,
                     beta, const):
    """agents.pricing.book_offer's numpy lines (before issue 11's speed step)."""
    total = (fixed - subsidy + km_new * (per_km + rev * (lost - uplift * (1.0 - lost)))
             + financing - sale - cofin)
    return -beta * total / 1e6 + const


@pytest.mark.parametrize("seed", range(8))
def test_offer_util_kernel_equals_numpy(seed):
    rng = np.random.default_rng(200 + seed)
    m = 1000
    some = rng.random((4, m)) < 0.5
    args = [rng.uniform(1e5, 5e6, m), rng.uniform(1.0, 40.0, m), rng.uniform(5.0, 60.0, m),
            rng.uniform(0, 5e5, m) * some[0], rng.uniform(1e3, 2e5, m),
            rng.uniform(0, 1, m) * some[1], rng.uniform(0, 0.2, m) * some[2],
            rng.uniform(-5e5, 5e5, m), rng.uniform(0, 2e6, m), rng.uniform(0, 1e6, m) * some[3],
            rng.uniform(0.1, 3.0, m), rng.normal(0, 1, m)]
    np.testing.assert_array_equal(offer_util_kernel(*args), offer_util_numpy(*args))


def test_warm_loads_every_kernel():
    assert warm() >= 0.0


def book_offer_numpy(j, i, util, loan, money, claim_which, d_i, eol, scrap_value, p, t_after,
                     family, owned, has_fallback, t):
    """agents.pricing.book_offer's numpy writes (before issue 11's speed step) into tables t."""
    principal, rate, lender, ok, financing = loan
    price, subsidy, cofin, b_mxn, sale_before, alt = money
    s_which, b_which, alt_which = claim_which
    t["principal"][j, i], t["rate"][j, i], t["lender"][j, i] = principal, rate, lender
    t["fin_ok"][j, i] = ok
    t["util"][j, i] = util
    t["feasible"][j, i] = True
    t["family"][j, i] = family
    t["familiar"][j, i] = owned[i, t["family"][j, i]]
    t["fin_line"][j, i] = financing
    t["price"][j, i], t["subsidy"][j, i], t["cofin"][j, i] = price, subsidy, cofin
    t["scrap_old"][j, i] = d_i | eol | (b_mxn > 0)
    t["scrap_base"][j, i] = d_i | eol
    t["which"][0, j, i] = np.where(subsidy > 0, s_which, -1)
    t["mxn"][0, j, i] = np.where(subsidy > 0, subsidy, 0.0)
    t["which"][1, j, i] = np.where(b_mxn > 0, b_which, -1)
    t["mxn"][1, j, i] = np.where(b_mxn > 0, b_mxn, 0.0)
    t["bonus_gain"][j, i] = np.where(b_mxn > 0, scrap_value + b_mxn - sale_before, 0.0)
    if has_fallback:
        t["alt_which"][j, i] = np.where(alt > 0, alt_which, -1)
        t["alt_mxn"][j, i] = np.where(alt > 0, alt, 0.0)
    t["partnership"][j, i] = np.where(d_i, p, 0)
    t["rep_tech"][j, i] = t_after


def empty_tables(k: int, n: int) -> dict:
    f = {x: np.full((k, n), -7.5) for x in ("util", "fin_line", "price", "subsidy", "cofin",
                                            "principal", "rate", "bonus_gain", "alt_mxn")}
    b = {x: np.zeros((k, n), bool) for x in ("feasible", "fin_ok", "familiar", "scrap_old",
                                             "scrap_base")}
    i8 = {x: np.full((k, n), 3, np.int8) for x in ("lender", "partnership", "rep_tech",
                                                   "family")}
    return {**f, **b, **i8, "alt_which": np.full((k, n), 5, np.int32),
            "which": np.full((2, k, n), 5, np.int32), "mxn": np.full((2, k, n), -7.5)}


@pytest.mark.parametrize("seed", range(6))
def test_book_offer_kernel_equals_numpy(seed):
    rng = np.random.default_rng(300 + seed)
    k, n, m, j = 4, 800, 500, 2
    i = np.sort(rng.choice(n, m, replace=False)).astype(np.intp)

    def some(x):
        return x * (rng.random(m) < 0.5)

    loan = (rng.uniform(0, 1e6, m), rng.uniform(0, 0.2, m), rng.integers(-1, 3, m),
            rng.random(m) < 0.8, rng.uniform(-1e5, 1e5, m))
    money = (rng.uniform(0, 3e6, m), some(rng.uniform(0, 5e5, m)), some(rng.uniform(0, 5e5, m)),
             some(rng.uniform(0, 2e5, m)), rng.uniform(0, 1e6, m), some(rng.uniform(0, 3e5, m)))
    which = tuple(rng.integers(-1, 4, m) for _ in range(3))
    rest = (rng.random(m) < 0.3, rng.random(m) < 0.3, rng.uniform(0, 1e5, m),
            rng.integers(0, 3, m), rng.integers(0, 9, m), rng.integers(0, 4, m),
            rng.random((n, 4)) < 0.5, bool(seed % 2))
    util = rng.normal(0, 3, m)
    got, want = empty_tables(k, n), empty_tables(k, n)
    book_offer_kernel(
        i, util, loan, money, which, *rest,
        tuple(got[x][j] for x in ("util", "fin_line", "price", "subsidy", "cofin", "principal",
                                   "rate", "bonus_gain")) + (got["mxn"][0, j], got["mxn"][1, j],
                                                             got["alt_mxn"][j]),
        tuple(got[x][j] for x in ("feasible", "fin_ok", "familiar", "scrap_old", "scrap_base")),
        tuple(got[x][j] for x in ("lender", "partnership", "rep_tech", "family")),
        (got["which"][0, j], got["which"][1, j], got["alt_which"][j]))
    book_offer_numpy(j, i, util, loan, money, which, *rest, want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def logit_choice_numpy(utility, feasible, gumbel):
    """agents.choice.logit_choice's numpy code (before issue 11's speed step), [row, option]."""
    u = np.where(feasible, utility + gumbel, -np.inf)
    return np.where(feasible.any(axis=1), np.argmax(u, axis=1), -1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logit_choice_kernel_equals_numpy(seed, dtype):
    rng = np.random.default_rng(400 + seed)
    n, k = 2000, 11
    utility = rng.normal(0, 2, (n, k)).round(1)  # ties, so the first of equals must win
    utility[rng.random((n, k)) < 0.05] = -np.inf
    utility[rng.random((n, k)) < 0.002] = np.nan
    feasible = rng.random((n, k)) < 0.6
    feasible[rng.random(n) < 0.1] = False
    gumbel = np.where(rng.random((n, k)) < 0.3, 0.0, rng.gumbel(size=(n, k))).astype(dtype)
    got = logit_choice_kernel(np.ascontiguousarray(utility.T), np.ascontiguousarray(feasible.T),
                              gumbel)
    np.testing.assert_array_equal(got, logit_choice_numpy(utility, feasible, gumbel))
    assert (got == -1).any() and (got >= 0).any()


def offer_terms_numpy(gross, subsidy, d_i, p, terms, own_uplift, keeps_contract):
    """agents.pricing.book_offer's partnership terms in numpy (before issue 11's speed step)."""
    cofin = np.where(d_i, (gross - subsidy) * terms[0][p], 0.0)
    price = gross - subsidy - cofin
    guarantee = np.where(d_i, terms[1][p], 0.0) + np.zeros(len(gross))
    uplift = np.where(d_i, terms[2][p], 0.0)
    if keeps_contract:
        uplift = np.maximum(uplift, own_uplift)
    return cofin, price, guarantee, uplift


@pytest.mark.parametrize("seed", range(6))
def test_offer_terms_kernel_equals_numpy(seed):
    rng = np.random.default_rng(500 + seed)
    m, n_p = 1000, 3
    terms = np.concatenate([np.zeros((3, 1)), rng.uniform(0, 0.5, (3, n_p))], axis=1)
    terms[2, 1] = 0.1  # ties with the vehicle's own uplift
    own = rng.choice([0.0, 0.1, 0.3], m)
    own[rng.random(m) < 0.01] = np.nan
    args = (rng.uniform(1e5, 4e6, m), rng.uniform(0, 5e5, m) * (rng.random(m) < 0.5),
            rng.random(m) < 0.5, rng.integers(0, n_p + 1, m), terms, own, bool(seed % 2))
    for g, w in zip(offer_terms_kernel(*args), offer_terms_numpy(*args), strict=True):
        np.testing.assert_array_equal(g, w)
