"""How an operator picks one option: a multinomial logit over utilities, with a perceived-risk
premium on technologies it has not used that falls as its peers adopt them.

Utility of an option = - cost sensitivity x total cost (million MXN) + the technology's constant
(+ the band's keep constant for keeping) - the risk premium if the option's technology family is
new to the operator.

The risk premium is set from Bass's hazard pi = p + q F, F the share of the operator's neighbours
using the family (demonstration fleets weigh more):

    premium = ln((1 - pi) / (K pi)),   K = number of feasible options of familiar families.

Then, when costs are neutral (every option the same utility), an unfamiliar technology is chosen
with probability exactly pi: adoption follows Bass diffusion. When costs differ they shift the
choice as in any logit. The choice itself is argmax(utility + Gumbel noise), which is the logit.
"""

from __future__ import annotations

import numpy as np

from .kernels import logit_choice_kernel

PI_MIN, PI_MAX = 1e-6, 1 - 1e-6


def bass_probability(p: float, q: float, neighbour_share) -> np.ndarray:
    return np.clip(p + q * np.asarray(neighbour_share, float), PI_MIN, PI_MAX)


def risk_premium(pi, n_familiar) -> np.ndarray:
    """Utils subtracted from an unfamiliar option so that, at cost parity with n_familiar
    familiar options, it is chosen with probability pi."""
    k = np.maximum(np.asarray(n_familiar, float), 1.0)
    return np.log((1.0 - pi) / (k * pi))


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
                   neighbour_share: np.ndarray, p: float, q: float) -> np.ndarray:
    """[option, row] utilities less the risk premium on options of families the firm does not
    run (Bass p + q F, F the share of its neighbours running the family); `both` marks the
    options open and financeable."""
    u = util.copy()
    strange = feasible & ~familiar
    if strange.any():
        n_fam = (both & familiar).sum(axis=0)
        jj, rr = np.nonzero(strange)
        pi = bass_probability(p, q, neighbour_share[owner[rr], family[jj, rr]])
        u[jj, rr] -= risk_premium(pi, n_fam[rr])
    return u


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
