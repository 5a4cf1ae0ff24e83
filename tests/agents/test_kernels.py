"""The compiled kernels give the numpy code's numbers to the last bit, and warm() loads them."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.kernels import best_loan_kernel, offer_util_kernel, pay_kernel, warm


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
