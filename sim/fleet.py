"""The Fleet: the vehicle registry and the running aggregates kept alongside it.

Only the Fleet writes the registry and its aggregates (counts by class, technology, size band and
firm; the sum of birth months; the active fleet's yearly rates summed; this month's entries and
exits by class). Everything else reads them or asks through the public API: add, retire, list for
sale, scrap listings, change owner, refit, recompute rates, new year. So the aggregates always
equal a recount from the registry (tests/sim/test_fleet.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fleetsim.scenarios import SIZE_BANDS

from .kernels import count_kernel, tally_kernel
from .registry import ACTIVE, GONE, LISTED, VehicleRegistry
from .technology import TechTables

# rows -> [rate, row] yearly rates of those rows now (the model knows the month and prices)
RateFunction = Callable[[np.ndarray | slice], np.ndarray]


class Fleet:
    """Vehicles as rows of a columnar registry, with the aggregates the month's record and the
    decisions read.

    Args:
        tables: technology tables (reported technology and family of each engine).
        owner_band: [operator] size band of each firm (fixed for a run).
        n_families: technology families (for who runs what).
        n_rates: yearly rate columns per vehicle.
        capacity: rows to reserve.
        rates: the yearly rates of given rows at the current month.
    """

    def __init__(self, tables: TechTables, owner_band: np.ndarray, n_families: int,
                 n_rates: int, capacity: int, rates: RateFunction):
        self.registry = VehicleRegistry(n_rates, capacity)
        self.tables = tables
        self.owner_band = owner_band
        self._band_i = owner_band.astype(np.intp)  # the compiled tallies take intp indices
        self._family_i = tables.family_reported.astype(np.intp)
        self.rates_of = rates
        n_cls, n_rep = len(tables.class_names), len(tables.reported_names)
        self.counts = np.zeros((n_cls, n_rep), np.int64)  # active vehicles: class, technology
        self.band_counts = np.zeros((len(SIZE_BANDS), n_rep), np.int64)
        # active vehicles per firm and technology family: who runs what
        self.family_counts = np.zeros((len(owner_band), n_families), np.int32)
        # active vehicles per firm and class: whom a growing market asks for more
        self.class_counts = np.zeros((len(owner_band), n_cls), np.int32)
        self.birth_sum = 0  # sum of birth months of active vehicles, for the mean age
        self.totals = np.zeros(n_rates)  # active fleet's yearly rates, summed
        self.entered = np.zeros(n_cls, np.int64)  # this month, by class
        self.left = np.zeros(n_cls, np.int64)
        self.scrapped = 0  # this month: rows gone to scrap (from the fleet or unsold listings)
        self.scrapped_birth_sum = 0  # their birth months, summed (for the register's ages)

    # ---- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.counts.sum())

    def active_rows(self) -> np.ndarray:
        return self.registry.in_state(ACTIVE)

    def listed_rows(self) -> np.ndarray:
        return self.registry.in_state(LISTED)

    def sizes(self) -> np.ndarray:
        """Active vehicles per firm (simulated rows)."""
        reg = self.registry
        return np.bincount(reg.cols["owner"][self.active_rows()], minlength=len(self.owner_band))

    def mean_age_years(self, month: int) -> float:
        n = self.counts.sum()
        return (month - self.birth_sum / n) / 12.0 if n else 0.0

    # ---- changing --------------------------------------------------------------------------------
    def new_month(self) -> None:
        """Entries and exits are counted per month."""
        self.entered = np.zeros_like(self.entered)
        self.left = np.zeros_like(self.left)
        self.scrapped = self.scrapped_birth_sum = 0

    def add(self, columns: dict[str, np.ndarray], count: bool = True) -> np.ndarray:
        """Append active vehicles (every registry column but vid, state and listed_month);
        `count=False` for the starting fleet, which is not an entry. Returns their rows."""
        rows = self.registry.add(**columns)
        self._activate(rows, count)
        return rows

    def retire(self, rows: np.ndarray) -> None:
        """Active rows are scrapped."""
        self._note_scrapped(rows)
        self._deactivate(rows, GONE, 0)

    def list_for_sale(self, rows: np.ndarray, month: int) -> None:
        """Active rows go up for sale on the used market (they stop emitting and earning)."""
        self._deactivate(rows, LISTED, month)

    def scrap_listings(self, rows: np.ndarray) -> None:
        """Listed rows nobody bought go to scrap (they were no longer counted as active)."""
        self._note_scrapped(rows)
        self.registry.set_state(rows, GONE)

    def _note_scrapped(self, rows: np.ndarray) -> None:
        self.scrapped += len(rows)
        self.scrapped_birth_sum += int(self.registry.cols["birth_month"][rows]
                                       .astype(np.int64).sum())

    def change_owner(self, rows: np.ndarray, owner: np.ndarray, region: np.ndarray,
                     review_month: np.ndarray, km_new: np.ndarray) -> None:
        """Listed rows bought at home rejoin the fleet with their new owner, who drives them as
        much as `km_new` says and reviews them in `review_month`."""
        cols = self.registry.cols
        cols["km_new"][rows] = km_new
        cols["owner"][rows] = owner
        cols["region"][rows] = region
        cols["review_month"][rows] = review_month
        cols["partnership"][rows] = 0
        self._activate(rows, True)

    def refit(self, rows: np.ndarray, retrofit: np.ndarray, partnership: np.ndarray) -> None:
        """Active rows get a retrofit (1 + its index); a partnership (index + 1, 0 for none)
        replaces the contract they ran under."""
        reg = self.registry
        self._count(rows, -1)
        self.totals -= reg.rates[:, rows].sum(axis=1)
        reg.cols["retrofit"][rows] = retrofit
        reg.cols["partnership"][rows] = np.where(partnership > 0, partnership,
                                                 reg.cols["partnership"][rows])
        reg.rates[:, rows] = self.rates_of(rows)
        self.totals += reg.rates[:, rows].sum(axis=1)
        self._count(rows, +1)

    def recompute_rates(self) -> None:
        """Every active vehicle's yearly rates, anew (prices, access or partnerships changed)."""
        reg = self.registry
        reg.rates[:, : reg.n] = self.rates_of(slice(0, reg.n))
        reg.rates[:, np.flatnonzero(reg.cols["state"][: reg.n] != ACTIVE)] = 0.0
        self.totals = reg.rates[:, : reg.n].sum(axis=1)

    def new_year(self) -> None:
        """Drop scrapped rows and recompute every active vehicle's rates at its new age."""
        self.registry.compact(keep_rates=False)
        self.recompute_rates()

    # ---- the aggregates ------------------------------------------------------------------------
    def _activate(self, rows: np.ndarray, count: bool) -> None:
        reg = self.registry
        reg.cols["state"][rows] = ACTIVE
        reg.rates[:, rows] = self.rates_of(rows)
        self.totals += reg.rates[:, rows].sum(axis=1)
        self._count(rows, +1)
        if count:
            tally_kernel(self.entered, reg.cols["vclass"][rows].astype(np.intp))

    def _deactivate(self, rows: np.ndarray, state: int, month: int) -> None:
        reg = self.registry
        self.totals -= reg.rates[:, rows].sum(axis=1)
        self._count(rows, -1)
        tally_kernel(self.left, reg.cols["vclass"][rows].astype(np.intp))
        reg.set_state(rows, state, month)

    def _count(self, rows: np.ndarray, sign: int) -> None:
        reg, t = self.registry, self.tables
        rep = t.reported(reg.cols["tech"][rows], reg.cols["retrofit"][rows])
        count_kernel(reg.cols["vclass"][rows].astype(np.intp), rep.astype(np.intp),
                     reg.cols["owner"][rows].astype(np.intp), self._band_i, self._family_i,
                     sign, self.counts, self.band_counts, self.family_counts,
                     self.class_counts)
        self.birth_sum += sign * int(reg.cols["birth_month"][rows].astype(np.int64).sum())
