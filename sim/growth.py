"""Growth of the demand for vehicles: each month firms are asked to add vehicles, in proportion
to their fleets of each class."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import market
from .draws import Draws, Purpose

if TYPE_CHECKING:
    from .model import FleetModel

KEY_CLASS_SHIFT = 40  # a growth purchase's parent key: class << 40 | its place in the month


class GrowthDemand:
    """The vehicles a growing market asks for, class by class, carrying the fractions of a
    vehicle from month to month."""

    def __init__(self, n_class: int):
        self.carry = np.zeros(n_class)

    def purchases(self, model: FleetModel, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(owner, class, key) of the purchases asked of firms this month: in proportion to
        their fleets of each class. The j-th purchase of class c in month m has the same key in
        every run (sim.draws), and the same firm wherever the fleets are the same."""
        growth = market.monthly_growth(model.spec, m / 12.0)
        owners, classes, keys = [], [], []
        for c, stock in enumerate(model.vehicles.counts.sum(axis=1)):
            want = stock * growth + self.carry[c]
            n = max(0, int(np.floor(want)))
            self.carry[c] = want - n
            if n:
                key = model.draws.children((c << KEY_CLASS_SHIFT) + np.arange(n), m,
                                           Purpose.GROWTH)
                owners.append(sample_owners(model.vehicles.class_counts[:, c], key, m,
                                            model.draws))
                classes.append(np.full(n, c, np.int8))
                keys.append(key)
        if not owners:
            return np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, np.int64)
        return (np.concatenate(owners).astype(np.int32), np.concatenate(classes),
                np.concatenate(keys))


def sample_owners(fleet: np.ndarray, keys: np.ndarray, m: int, draws: Draws) -> np.ndarray:
    """Firms drawn in proportion to their fleets of the class (`fleet`, per firm), one per
    purchase key: the firm at the key's uniform quantile of the firms' cumulative fleets, so
    that firms keep their place in every run. No vehicle of the class left: any firm."""
    u = draws.uniform(Purpose.GROWTH_OWNER, keys, m)
    cum = np.cumsum(fleet, dtype=np.int64)
    if cum[-1] == 0:
        return np.minimum((u * len(fleet)).astype(np.int64), len(fleet) - 1)
    return np.searchsorted(cum, u * cum[-1], side="right")
