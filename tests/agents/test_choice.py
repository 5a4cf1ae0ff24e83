"""The logit choice with a peer-dependent risk premium, and how it reduces to Bass diffusion.

(a) Unit level: at cost parity with K familiar options, an unfamiliar option carrying the risk
    premium ln((1 - pi) / (K pi)) is chosen with probability exactly pi = p + q F.
(b) Diffusion level: operators on a complete graph, each period facing K familiar options and
    the unfamiliar one, adopt along Bass's curve.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from fleetsim.agents.choice import (
    PI_MAX,
    PI_MIN,
    bass_probability,
    choice_probabilities,
    logit_choice,
    risk_premium,
)
from fleetsim.agents.peers import PeerNetwork

P, Q = 0.03, 0.38


def parity_utilities(pi: np.ndarray, k: int) -> np.ndarray:
    """Rows: K familiar options of utility 0, then the unfamiliar one with its premium."""
    u = np.zeros((len(pi), k + 1))
    u[:, k] = -risk_premium(pi, k)
    return u


# ---- (a) one choice -----------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 13])
def test_unfamiliar_option_is_chosen_with_the_bass_hazard(k):
    shares = np.linspace(0.0, 1.0, 21)
    pi = bass_probability(P, Q, shares)  # a firm with one row and a year's exposure
    hazard = 1 - np.exp(-(P + Q * shares))
    np.testing.assert_allclose(pi, hazard, rtol=1e-12)
    prob = choice_probabilities(parity_utilities(pi, k), np.ones((len(pi), k + 1), bool))
    np.testing.assert_allclose(prob[:, k], hazard, rtol=1e-12, atol=1e-15)
    # the familiar options share the rest equally
    np.testing.assert_allclose(prob[:, :k], ((1 - pi) / k)[:, None] * np.ones((1, k)),
                               rtol=1e-12)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0)


def test_the_firm_adopts_with_the_bass_hazard_over_its_exposure_whatever_its_rows():
    """h = 1 - exp(-(p + qF) e); each of its n rows pi with 1 - (1 - pi)^n = h."""
    share, exposure = np.array([0.0, 0.3, 0.9]), np.array([1 / 12, 0.5, 2.0])
    h = 1 - np.exp(-(P + Q * share) * exposure)
    for n in (1, 2, 7, 40):
        pi = bass_probability(P, Q, share, exposure, n)
        np.testing.assert_allclose(1 - (1 - pi) ** n, h, rtol=1e-12)
    # a month's exposure: about a twelfth of the yearly rate
    assert bass_probability(P, Q, 0.0, 1 / 12) == pytest.approx(P / 12, rel=0.01)


def test_hazard_is_clipped_to_a_probability():
    pi = bass_probability(50.0, 0.9, np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(pi, [PI_MAX, PI_MAX, PI_MAX])
    assert bass_probability(0.0, 0.0, 0.0) == PI_MIN
    # still exact at the clip
    prob = choice_probabilities(parity_utilities(pi, 4), np.ones((3, 5), bool))
    np.testing.assert_allclose(prob[:, 4], pi)


def test_risk_premium_falls_as_peers_adopt_and_with_more_familiar_options():
    pi = bass_probability(P, Q, np.array([0.0, 0.2, 0.5, 1.0]))
    premium = risk_premium(pi, 3)
    assert np.all(np.diff(premium) < 0)
    pi0 = 1 - np.exp(-P)
    assert premium[0] == pytest.approx(np.log((1 - pi0) / (3 * pi0)))
    # more familiar options: a smaller premium keeps the same pull
    assert risk_premium(0.1, 6) < risk_premium(0.1, 3)
    # no familiar option counts as one
    assert risk_premium(0.1, 0) == risk_premium(0.1, 1)


def test_choice_probabilities_ignore_infeasible_options():
    u = np.array([[0.0, 1.0, 2.0], [5.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    feasible = np.array([[True, False, True], [False, False, False], [True, True, True]])
    prob = choice_probabilities(u, feasible)
    e = np.exp([0.0, 2.0])
    np.testing.assert_allclose(prob[0], [e[0] / e.sum(), 0.0, e[1] / e.sum()])
    np.testing.assert_array_equal(prob[1], 0.0)
    np.testing.assert_allclose(prob[2], 1 / 3)


def test_logit_choice_draws_with_the_logit_probabilities():
    rng = np.random.default_rng(11)
    n = 200_000
    u = np.tile([0.5, 0.0, -1.0, 2.0], (n, 1))
    feasible = np.ones_like(u, bool)
    feasible[:, 2] = False
    choice = logit_choice(u, feasible, rng)
    freq = np.bincount(choice, minlength=4) / n
    expected = choice_probabilities(u[:1], feasible[:1])[0]
    # standard error at most 0.5 / sqrt(n) = 0.0011
    np.testing.assert_allclose(freq, expected, atol=0.006)
    assert freq[2] == 0


def test_logit_choice_with_given_draws_and_no_options():
    rng = np.random.default_rng(1)
    u = np.zeros((5, 3))
    feasible = np.ones((5, 3), bool)
    feasible[3] = False
    gumbel = rng.gumbel(size=u.shape)
    a = logit_choice(u, feasible, np.random.default_rng(2), gumbel)
    b = logit_choice(u, feasible, np.random.default_rng(3), gumbel)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[[0, 1, 2, 4]], np.argmax(gumbel, axis=1)[[0, 1, 2, 4]])
    assert a[3] == -1


# ---- (b) diffusion on a complete graph ----------------------------------------------------------

N, K, PERIODS, RUNS = 2000, 3, 240, 10  # periods are months: each firm decides monthly
STEP = 1 / 12  # years of exposure per period


def bass_closed_form(t: np.ndarray) -> np.ndarray:
    e = np.exp(-(P + Q) * t)
    return (1 - e) / (1 + (Q / P) * e)


def bass_recursion(n: int = N) -> np.ndarray:
    """F[t+1] = F[t] + (1 - exp(-(p + q F'[t]) / 12)) (1 - F[t]), F' the share of the *other*
    n - 1 firms that a non-adopter sees on a complete graph (A / (n - 1) rather than A / n)."""
    f = [0.0]
    for _ in range(PERIODS):
        f.append(f[-1] + -np.expm1(-(P + Q * f[-1] * n / (n - 1)) * STEP) * (1 - f[-1]))
    return np.array(f)


@pytest.fixture(scope="module")
def diffusion():
    """RUNS runs of N operators: each period every non-adopter chooses among K familiar options
    (utility 0) and the new technology (utility minus its risk premium); adopters keep it.
    Returns adopter counts [run, period] (period 0: nobody)."""
    edges = np.array(nx.complete_graph(N).edges(), dtype=np.int64)
    net = PeerNetwork(edges, N, np.full(N, -1), complete=True)
    counts = np.zeros((RUNS, PERIODS + 1), np.int64)
    for run in range(RUNS):
        rng = np.random.default_rng(1000 + run)
        adopted = np.zeros(N, bool)
        for t in range(PERIODS):
            share = net.neighbour_share(adopted[:, None].astype(float))[:, 0]
            pi = bass_probability(P, Q, share, STEP)
            feasible = np.ones((N, K + 1), bool)
            feasible[adopted] = False
            choice = logit_choice(parity_utilities(pi, K), feasible, rng)
            adopted |= choice == K
            counts[run, t + 1] = adopted.sum()
    return counts


@pytest.mark.slow
def test_each_period_adopters_are_binomial_with_the_bass_hazard(diffusion):
    """Given A adopters, the N - A others each adopt in a month with pi = 1 - exp(-(p + q A /
    (N - 1)) / 12): the new adopters are Binomial(N - A, pi). Standardised, the steps must look
    N(0, 1)."""
    a = diffusion[:, :-1].ravel().astype(float)
    new = np.diff(diffusion, axis=1).ravel().astype(float)
    pi = -np.expm1(-(P + Q * a / (N - 1)) * STEP)
    mean, var = (N - a) * pi, (N - a) * pi * (1 - pi)
    ok = var > 0
    z = (new[ok] - mean[ok]) / np.sqrt(var[ok])
    m = len(z)
    assert m >= RUNS * (PERIODS - 2)
    assert abs(z.mean()) < 4.5 / np.sqrt(m)
    # sum of z^2 is about chi-square with m degrees of freedom: sd sqrt(2m)
    assert abs((z**2).sum() - m) < 5 * np.sqrt(2 * m)


@pytest.mark.slow
def test_adoption_follows_the_discrete_bass_recursion(diffusion):
    """The mean adopter share over the runs follows the recursion closely: one run's share
    wanders by up to about 0.04 (early randomness, amplified by q), ten runs' mean by a third
    of that; nearly everyone adopts within 20 years."""
    share = diffusion.mean(axis=0) / N
    expected = bass_recursion()
    assert np.abs(share - expected).max() < 0.02
    assert share[-1] > 0.95, "nearly everyone adopts within 20 periods"


@pytest.mark.slow
def test_adoption_follows_the_closed_form_bass_curve(diffusion):
    """The closed form F(t) = (1 - e^-(p+q)t) / (1 + (q/p) e^-(p+q)t) is the continuous-time
    limit: a month is a small step of the hazard, so the monthly recursion stays close to it.
    We allow that discretisation gap (computed, under 0.01 at p=0.03, q=0.38) plus the 0.02 of
    sampling noise above."""
    t = np.arange(PERIODS + 1) * STEP
    share = diffusion.mean(axis=0) / N
    gap = np.abs(bass_recursion() - bass_closed_form(t))
    assert gap.max() < 0.01
    assert np.all(np.abs(share - bass_closed_form(t)) < gap + 0.02)
    # the S shape: adoption speeds up, then slows
    growth = np.diff(share)
    peak = int(np.argmax(growth))
    assert 0 < peak < PERIODS - 1
    assert growth[0] < growth[peak] and growth[-1] < growth[peak]
