"""Growth of the demand for vehicles: each month firms are asked to add vehicles, in proportion
to their fleets of each class."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import market
from .registry import ACTIVE

if TYPE_CHECKING:
    from .model import FleetModel


class GrowthDemand:
    """The vehicles a growing market asks for, class by class, carrying the fractions of a
    vehicle from month to month."""

    def __init__(self, n_class: int):
        self.carry = np.zeros(n_class)

    def purchases(self, model: FleetModel, m: int) -> tuple[np.ndarray, np.ndarray]:
        """(owner, class) of the purchases asked of firms this month: in proportion to their
        fleets of each class."""
        growth = market.monthly_growth(model.spec, m / 12.0)
        owners, classes = [], []
        for c, stock in enumerate(model.vehicles.counts.sum(axis=1)):
            want = stock * growth + self.carry[c]
            n = max(0, int(np.floor(want)))
            self.carry[c] = want - n
            if n:
                owners.append(_sample_owners(model, c, n))
                classes.append(np.full(n, c, np.int8))
        if not owners:
            return np.zeros(0, np.int32), np.zeros(0, np.int8)
        return np.concatenate(owners).astype(np.int32), np.concatenate(classes)


def _sample_owners(model: FleetModel, c: int, k: int) -> np.ndarray:
    """Owners of k vehicles drawn uniformly among the active vehicles of class c."""
    reg = model.registry
    state, vclass, owner = reg.cols["state"], reg.cols["vclass"], reg.cols["owner"]
    got: list[np.ndarray] = []
    need = k
    for _ in range(20):  # rejection sampling: rows are mostly active and classes not rare
        cand = model.rng.integers(0, reg.n, size=max(4 * need, 64))
        cand = cand[(state[cand] == ACTIVE) & (vclass[cand] == c)][:need]
        got.append(owner[cand])
        need -= len(cand)
        if need == 0:
            return np.concatenate(got)
    pool = np.flatnonzero((state[: reg.n] == ACTIVE) & (vclass[: reg.n] == c))
    if len(pool) == 0:  # no vehicle of the class left: any firm may buy
        got.append(model.rng.integers(0, len(model.operators), size=need))
    else:
        got.append(owner[model.rng.choice(pool, size=need)])
    return np.concatenate(got).astype(np.int32)
