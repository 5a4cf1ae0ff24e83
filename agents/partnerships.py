"""Partnerships: which partnership's terms a review row can take, and what they give. A vehicle
bought or refitted under one runs under its contract; `partnership` below is always the
partnership's index + 1, 0 for none."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fleetsim.scenarios import Scenario

if TYPE_CHECKING:
    from .operators import OperatorSet


def partnership_for(ops: OperatorSet, owner: np.ndarray, running: np.ndarray) -> np.ndarray:
    """Partnership (index + 1) whose terms each row's owner can take this month, or 0."""
    partner = ops.partnership[owner]
    out = np.zeros(len(owner), np.int64)
    ok = partner >= 0
    ok[ok] = running[partner[ok]]
    out[ok] = partner[ok] + 1
    return out


TERMS = ("cofinance", "guarantee", "uplift")


def partnership_terms(spec: Scenario) -> np.ndarray:
    """[term (TERMS), partnership + 1] every partnership's shares; column 0 (none) is zero."""
    return np.array([[0.0, *(p.cofinance_share for p in spec.partnerships)],
                     [0.0, *(p.guarantee_share for p in spec.partnerships)],
                     [0.0, *(p.contract_uplift_share for p in spec.partnerships)]])


def partnership_term(spec: Scenario, partnership: np.ndarray, what: str) -> np.ndarray:
    """A partnership's term (cofinance, guarantee or uplift share) for each row."""
    return partnership_terms(spec)[TERMS.index(what)][partnership]


def partnership_covers(spec: Scenario, partnership: np.ndarray, age: np.ndarray, *,
                       retrofit: str | None = None, tech: str | None = None) -> np.ndarray:
    """Rows whose partnership covers this action: fitting `retrofit` to a young enough truck,
    or replacing an old enough one with a new `tech`."""
    ok = np.zeros(len(partnership), bool)
    for i, p in enumerate(spec.partnerships, start=1):
        if retrofit is not None and retrofit in p.retrofit_technologies:
            ok |= (partnership == i) & (age <= p.retrofit_max_age_years)
        if tech is not None and tech in p.replacement_technologies:
            ok |= (partnership == i) & (age >= p.replace_min_age_years)
    return ok
