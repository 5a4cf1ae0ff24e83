"""Public money an option would draw from the policy instruments, and the first-come,
first-served rationing that keeps every budget whole.

Slot 0 is a price subsidy (purchase or retrofit), slot 1 a scrappage bonus; each (option, row)
cell names the instrument it would draw from (-1: none) and how much.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SUBSIDY, BONUS = 0, 1


@dataclass
class Claims:
    which: np.ndarray  # [slot, option, row] instrument index, -1 none
    mxn: np.ndarray  # [slot, option, row]

    @classmethod
    def empty(cls, k: int, n: int) -> Claims:
        return cls(np.full((2, k, n), -1, np.int32), np.zeros((2, k, n)))

    def set(self, slot: int, j: int, rows: np.ndarray, which: np.ndarray,
            mxn: np.ndarray) -> None:
        self.which[slot, j, rows] = np.where(mxn > 0, which, -1)
        self.mxn[slot, j, rows] = np.where(mxn > 0, mxn, 0.0)

    def over_budget(self, choice: np.ndarray, band: np.ndarray,
                    fits: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
                    rng: np.random.Generator) -> list[tuple[int, int, np.ndarray]]:
        """(slot, instrument, rows) whose chosen option's claim does not fit what is left of
        the instrument's budget, the claims taken in a random order: first come, first
        served."""
        rows = np.flatnonzero(choice >= 0)
        out = []
        for slot in (SUBSIDY, BONUS):
            which = self.which[slot, choice[rows], rows]
            for idx in np.unique(which[which >= 0]):
                mine = rng.permutation(rows[which == idx])
                ok = fits(int(idx), self.mxn[slot, choice[mine], mine], band[mine])
                if not ok.all():
                    out.append((slot, int(idx), mine[~ok]))
        return out

    def strip(self, slot: int, idx: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                        np.ndarray]:
        """Take instrument `idx` out of every option of these rows; returns the (option, row,
        MXN) cells that lost it."""
        jj, ri = np.nonzero(self.which[slot][:, rows] == idx)
        rr = rows[ri]
        lost = self.mxn[slot, jj, rr].copy()
        self.which[slot, jj, rr] = -1
        self.mxn[slot, jj, rr] = 0.0
        return jj, rr, lost
