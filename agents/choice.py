"""How an operator picks one option: a multinomial logit over utilities, with a perceived-risk
premium on technologies it has not adopted that falls as its peers adopt them.

Utility of an option = - cost sensitivity x total cost (million MXN) + the technology's constant
(+ the band's keep constant for keeping) - the risk premium if the option's technology family is
new to the operator (it has never run one: an adopted family stays familiar).

Firms adopt, not vehicles. Bass's hazard p + q F (per year; F the share of the firm's neighbours
that have adopted the family, demonstration fleets weighing more) acts on the firm over the time
since its previous decision month (`exposure`, years): the firm adopts with probability
h = 1 - exp(-(p + q F) exposure), and each of its n rows this month that can buy the family
(one decision, shared out) with pi = 1 - (1 - h)^(1/n). The premium on each of a row's m options
of the family is

    premium = ln(m (1 - pi) / (K pi)),   K = open options of familiar families, leave excluded.

So when costs are neutral (every option that keeps or brings a vehicle the same utility, leaving
out of the question: leaving is not an adoption option) the firm adopts an unfamiliar family with
probability exactly h over each interval: adoption follows Bass diffusion in continuous time
(tests/sim/test_bass_diffusion.py). When costs differ they shift the choice as in any logit. The
choice itself is argmax(utility + Gumbel noise), which is the logit.
"""

from __future__ import annotations

import numpy as np

from .kernels import logit_choice_kernel

PI_MIN, PI_MAX = 1e-6, 1 - 1e-6


def bass_probability(p: float, q: float, neighbour_share, exposure_years=1.0,
                     n_rows=1) -> np.ndarray:
    """Probability that one of a firm's n_rows rows adopts: the firm adopts with Bass's hazard
    p + qF over its exposure, h = 1 - exp(-(p + qF) exposure); its rows share that out,
    1 - (1 - pi)^n_rows = h."""
    rate = p + q * np.asarray(neighbour_share, float)
    survive = np.exp(-rate * np.asarray(exposure_years, float))  # 1 - h
    pi = -np.expm1(np.log(survive) / np.maximum(np.asarray(n_rows, float), 1.0))
    return np.clip(pi, PI_MIN, PI_MAX)


def risk_premium(pi, n_familiar, n_same=1) -> np.ndarray:
    """Utils subtracted from each of a row's n_same options of an unfamiliar family so that, at
    cost parity with n_familiar familiar options, the family is chosen with probability pi."""
    k = np.maximum(np.asarray(n_familiar, float), 1.0)
    m = np.maximum(np.asarray(n_same, float), 1.0)
    return np.log(m * (1.0 - pi) / (k * pi))


def logit_choice(utility: np.ndarray, feasible: np.ndarray,
                 rng: np.random.Generator | None = None,
                 gumbel: np.ndarray | None = None) -> np.ndarray:
    """Index of the chosen option per row; rows with no feasible option get -1. The model
    passes its keyed `gumbel` tastes (sim.draws); a caller without them passes a generator."""
    if gumbel is None:
        gumbel = rng.gumbel(size=utility.shape)
    # the kernel takes [option, row]: callers hold option-major tables and pass them transposed
    return logit_choice_kernel(np.ascontiguousarray(utility.T, np.float64),
                               np.ascontiguousarray(feasible.T, np.bool_),
                               np.ascontiguousarray(gumbel))


def choice_probabilities(utility: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """Logit probabilities (rows sum to 1 over feasible options): for reports and tests."""
    u = np.where(feasible, utility, -np.inf)
    top = np.max(u, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.where(feasible, np.exp(u - top), 0.0)
    total = e.sum(axis=1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def with_peer_risk(util: np.ndarray, feasible: np.ndarray, familiar: np.ndarray,
                   both: np.ndarray, family: np.ndarray, owner: np.ndarray,
                   neighbour_share: np.ndarray, p: float, q: float, exposure: np.ndarray,
                   leave: np.ndarray) -> np.ndarray:
    """[option, row] utilities less the risk premium on options of families the firm has not
    adopted (module docstring); `both` marks the options open and financeable, `leave` [option]
    the leave column, `exposure` [row] the years since the firm's previous decision month."""
    u = util.copy()
    strange = feasible & ~familiar
    if not strange.any():
        return u
    n_fam = (both & familiar & ~leave[:, None]).sum(axis=0)
    jj, rr = np.nonzero(strange)
    fam = family[jj, rr].astype(np.int64)
    m, n = options_and_rows(rr, fam, both[jj, rr], owner, neighbour_share.shape[0])
    pi = bass_probability(p, q, neighbour_share[owner[rr], fam], exposure[rr], n)
    u[jj, rr] -= risk_premium(pi, n_fam[rr], m)
    return u


def options_and_rows(rr: np.ndarray, fam: np.ndarray, can: np.ndarray, owner: np.ndarray,
                     n_firms: int) -> tuple[np.ndarray, np.ndarray]:
    """For each unfamiliar (option, row) cell, its row rr and family fam: m, the row's options of
    that family it can take (open and financeable, `can`), and n, the rows of its firm this
    month that can take one (owner: [row] firm). Dense tallies: no sort."""
    nf = int(fam.max()) + 1
    cell = rr * nf + fam  # (row, family)
    m = np.bincount(cell, weights=can, minlength=len(owner) * nf)
    cells = np.flatnonzero(m > 0)  # (row, family) pairs whose row can take the family
    n = np.bincount(owner[cells // nf] * nf + cells % nf, minlength=n_firms * nf)
    return m[cell], n[owner[rr] * nf + fam]


def gumbel_draws(feasible: np.ndarray, draws) -> np.ndarray:
    """[row, option] Gumbel tastes (float32) for the options open to anyone, keyed by the
    row's decision key and the option (draws: sim.draws.RowDraws), so a row keeps its tastes
    when it chooses again and has the same ones in a policy run and its baseline."""
    return draws.tastes(np.flatnonzero(feasible.any(axis=1)), feasible.shape[0])


def declined_by_finance(u: np.ndarray, feasible: np.ndarray, fin_ok: np.ndarray,
                        gumbel: np.ndarray) -> np.ndarray:
    """[row] whether the choice had finance not mattered needed finance that was refused;
    it can differ only where finance closed an option."""
    open_cols = np.flatnonzero(feasible.any(axis=1))
    short = np.flatnonzero((feasible & ~fin_ok).any(axis=0))
    wanted = open_cols[logit_choice(u[np.ix_(open_cols, short)].T,
                                    feasible[np.ix_(open_cols, short)].T,
                                    gumbel=gumbel[np.ix_(short, open_cols)])]
    declined = np.zeros(feasible.shape[1], bool)
    declined[short] = ~fin_ok[wanted, short]
    return declined
