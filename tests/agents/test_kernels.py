"""The compiled kernels give the numpy code's numbers to the last bit, and warm() loads them."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.kernels import best_loan_kernel, warm


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


@pytest.mark.parametrize("seed", range(8))
def test_best_loan_kernel_equals_numpy(seed):
    rng = np.random.default_rng(seed)
    m, n_l, n_b, n_rep = 500, 3, 4, 9
    args = dict(
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
    got = best_loan_kernel(**args, collateral_weight=0.4, guarantee_weight=0.6)
    want = best_loan_numpy(**args, cw=0.4, gw=0.6)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    assert (got[1] >= 0).any() and (got[1] < 0).any(), "both approvals and refusals"


def test_warm_loads_every_kernel():
    assert warm() >= 0.0
