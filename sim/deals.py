"""Partnership deals: which partnership's terms a review row can take, and what they give."""

from __future__ import annotations

import numpy as np

from fleetsim.agents import OperatorArrays
from fleetsim.scenarios import Scenario


def deals_for(ops: OperatorArrays, owner: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Partnership (index + 1) whose terms each row's owner can take this month, or 0."""
    partner = ops.partnership[owner]
    deal = np.zeros(len(owner), np.int64)
    ok = partner >= 0
    ok[ok] = active[partner[ok]]
    deal[ok] = partner[ok] + 1
    return deal


def deal_term(spec: Scenario, deal: np.ndarray, what: str) -> np.ndarray:
    """A partnership's term for each row's deal (deal = partnership index + 1, 0 = none)."""
    values = {"cofinance": [p.cofinance_share for p in spec.partnerships],
              "guarantee": [p.guarantee_share for p in spec.partnerships],
              "uplift": [p.contract_uplift_share for p in spec.partnerships]}[what]
    table = np.array([0.0, *values])
    return table[deal]


def deal_covers(spec: Scenario, deal: np.ndarray, age: np.ndarray, *,
                 retrofit: str | None = None, tech: str | None = None) -> np.ndarray:
    """Rows whose partnership covers this action: fitting `retrofit` to a young enough truck,
    or replacing an old enough one with a new `tech`."""
    ok = np.zeros(len(deal), bool)
    for i, p in enumerate(spec.partnerships, start=1):
        if retrofit is not None and retrofit in p.retrofit_technologies:
            ok |= (deal == i) & (age <= p.retrofit_max_age_years)
        if tech is not None and tech in p.replacement_technologies:
            ok |= (deal == i) & (age >= p.replace_min_age_years)
    return ok
