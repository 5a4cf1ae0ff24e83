"""Rationing, first come, first served: public money an option would draw from the policy
instruments (kept within every budget) and loans (kept within every lender's yearly quota).

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

    alt_which: np.ndarray  # [option, row] the next subsidy instrument offered, -1 none
    alt_mxn: np.ndarray

    @classmethod
    def empty(cls, k: int, n: int) -> Claims:
        return cls(np.full((2, k, n), -1, np.int32), np.zeros((2, k, n)),
                   np.full((k, n), -1, np.int32), np.zeros((k, n)))

    def set_fallback(self, j: int, rows: np.ndarray, which: np.ndarray,
                     mxn: np.ndarray) -> None:
        self.alt_which[j, rows] = np.where(mxn > 0, which, -1)
        self.alt_mxn[j, rows] = np.where(mxn > 0, mxn, 0.0)

    def fall_back(self, jj: np.ndarray, rr: np.ndarray, full: set[int]) -> np.ndarray:
        """Cells that lost their subsidy take the next instrument's, unless it too was
        rationed this month; returns the MXN each cell now gets."""
        alt = self.alt_which[jj, rr]
        ok = (alt >= 0) & ~np.isin(alt, list(full))
        gain = np.where(ok, self.alt_mxn[jj, rr], 0.0)
        self.which[SUBSIDY, jj[ok], rr[ok]] = alt[ok]
        self.mxn[SUBSIDY, jj[ok], rr[ok]] = gain[ok]
        self.alt_which[jj, rr] = -1
        self.alt_mxn[jj, rr] = 0.0
        return gain

    def set(self, slot: int, j: int, rows: np.ndarray, which: np.ndarray,
            mxn: np.ndarray) -> None:
        self.which[slot, j, rows] = np.where(mxn > 0, which, -1)
        self.mxn[slot, j, rows] = np.where(mxn > 0, mxn, 0.0)

    def over_budget(self, choice: np.ndarray, band: np.ndarray,
                    fits: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
                    arrival: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        """(slot, instrument, rows) whose chosen option's claim does not fit what is left of
        the instrument's budget, the claims taken in the order of the rows' `arrival` (a keyed
        uniform, sim.draws): first come, first served."""
        rows = np.flatnonzero(choice >= 0)
        out = []
        for slot in (SUBSIDY, BONUS):
            which = self.which[slot, choice[rows], rows]
            for idx in np.unique(which[which >= 0]):
                mine = in_arrival_order(rows[which == idx], arrival)
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


def in_arrival_order(rows: np.ndarray, arrival: np.ndarray) -> np.ndarray:
    return rows[np.argsort(arrival[rows], kind="stable")]


def ration(choice, table, u, beta, band, budget_fits, arrival, both, affordable) -> np.ndarray:
    """Rows whose chosen option claims more than is left of an instrument's budget lose that
    instrument on every option (price, utility, and whether they can still pay); a subsidy
    falls back to the next instrument that offered one. `table` is the decision's
    agents.pricing.OptionTable. Returns the rows, to choose again."""
    rows = []
    claims = table.claims
    over_all = claims.over_budget(choice, band, budget_fits, arrival)
    full = {idx for _, idx, _ in over_all}  # rationed this month: no fallback to them
    for slot, idx, over in over_all:
        jj, rr, lost = claims.strip(slot, idx, over)
        if slot == BONUS:
            u[jj, rr] -= beta[rr] * table.bonus_gain[jj, rr] / 1e6
            table.bonus_gain[jj, rr] = 0.0
            table.scrap_old[jj, rr] = table.scrap_base[jj, rr]  # sold, if the market pays more
            both[jj, rr] &= affordable(jj, rr)  # the bonus was paying towards it
        else:
            gain = claims.fall_back(jj, rr, full)
            u[jj, rr] -= beta[rr] * (lost - gain) / 1e6
            table.price[jj, rr] += lost - gain
            table.subsidy[jj, rr] -= lost - gain
            both[jj, rr] &= affordable(jj, rr)
        rows.append(over)
    return np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)


def over_quota(choice, lender_of, lenders, arrival) -> np.ndarray:
    """Rows whose chosen loan is past its lender's yearly quota (the last to arrive);
    lender_of is [option, row]."""
    rows = np.flatnonzero(choice >= 0)
    lend = lender_of[choice[rows], rows]
    over = []
    for lender in lenders:
        if lender.yearly_quota is None:
            continue
        mine = rows[lend == lender.index]
        room = int(np.floor(max(lender.quota_left(), 0.0)))
        if len(mine) > room:
            over.append(in_arrival_order(mine, arrival)[room:])
    return np.concatenate(over) if over else np.zeros(0, np.int64)
