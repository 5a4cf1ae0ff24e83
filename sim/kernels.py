"""Compiled loops of the month's bookkeeping (numba, cached on disk next to this file).

Integer tallies only, so the order of additions cannot change a result; `warm()` compiles (or
loads) these and the decision kernels (agents.kernels).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from fleetsim.agents import kernels as decision_kernels

from . import draws


@njit(cache=True)
def count_kernel(vclass, rep, owner, owner_band, family_reported, sign, counts, band_counts,
                 family_counts, class_counts):
    """sim.fleet.Fleet's tallies moved by `sign` for each row: [class, reported technology],
    [band, reported technology], [firm, family] and [firm, class] (np.add.at, unbuffered, row
    by row)."""
    for r in range(len(rep)):
        counts[vclass[r], rep[r]] += sign
        band_counts[owner_band[owner[r]], rep[r]] += sign
        family_counts[owner[r], family_reported[rep[r]]] += sign
        class_counts[owner[r], vclass[r]] += sign


@njit(cache=True)
def tally_kernel(target, index):
    """target[index[r]] += 1 for each row (np.add.at(target, index, 1))."""
    for r in range(len(index)):
        target[index[r]] += 1


def warm() -> float:
    """Compile or load every kernel, the decision pass's too; returns the seconds it took."""
    started = time.perf_counter()
    decision_kernels.warm()
    draws.warm()
    i = np.zeros(1, np.int64)
    count_kernel(i, i, i, i, i, 1, np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64),
                 np.zeros((1, 1), np.int32), np.zeros((1, 1), np.int32))
    tally_kernel(np.zeros(1, np.int64), i)
    return time.perf_counter() - started
