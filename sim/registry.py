"""The vehicle registry: one row per vehicle, one numpy array per column.

A row is active (in a fleet), listed (for sale on the used market) or gone (scrapped). Rows are
appended in blocks and change state by flag; gone rows are dropped in bulk by `compact` (the
model does it each January), so no step ever loops over vehicles in Python. `vid` is a vehicle's
lasting id: it increases with the row order, which compaction keeps, so ids map to rows by a
binary search.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NEVER = np.iinfo(np.int32).max  # death month of a retired row: never due again

GONE, ACTIVE, LISTED = 0, 1, 2
ORIGIN_NAMES = ("initial", "new", "used_import", "demonstration")

# name -> dtype; months are counted from year 0 (year * 12 + month - 1)
COLUMNS: dict[str, np.dtype] = {
    "vid": np.dtype(np.int64),
    "key": np.dtype(np.int64),  # its draws' key (sim.draws): the same in a preset and its baseline
    "owner": np.dtype(np.int32),
    "vclass": np.dtype(np.int8),
    "tech": np.dtype(np.int8),
    "retrofit": np.dtype(np.int8),
    "region": np.dtype(np.int8),
    "origin": np.dtype(np.int8),
    "birth_month": np.dtype(np.int32),
    "death_month": np.dtype(np.int32),
    "km_new": np.dtype(np.float32),  # annual km this vehicle would drive at age 0
    "pm_mult": np.dtype(np.float32),  # this vehicle's high-emitter multipliers (mean 1)
    "nox_mult": np.dtype(np.float32),
    "tamper_u": np.dtype(np.float32),  # uniform draw: tampered if below the tampering share
    "review_month": np.dtype(np.int8),  # month of the year (0-11) its owner reviews it
    "partnership": np.dtype(np.int8),  # partnership (index + 1) whose contract it runs under
    "listed_month": np.dtype(np.int32),  # when it went up for sale (listed rows)
    "state": np.dtype(np.int8),
}
SET_BY_REGISTRY = {"vid", "state", "listed_month"}
OPTIONAL = {"key"}  # the vid when not given


class VehicleRegistry:
    def __init__(self, n_rates: int, capacity: int = 1024):
        self.n = 0
        self.next_vid = 0
        self._cap = max(capacity, 16)
        self.cols = {k: np.zeros(self._cap, dt) for k, dt in COLUMNS.items()}
        # per-vehicle yearly rates (km, emissions, energy, costs), see sim.emissions.RATES;
        # one contiguous row per rate, so whole-fleet passes read memory in order
        self.rates = np.zeros((n_rates, self._cap))

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def add(self, **values: np.ndarray) -> np.ndarray:
        """Append active rows; every column but vid, state and listed_month must be given.
        Returns their indices."""
        missing = set(COLUMNS) - SET_BY_REGISTRY - OPTIONAL - set(values)
        if missing:
            raise ValueError(f"registry.add: missing columns {sorted(missing)}")
        k = len(values["owner"])
        self._reserve(self.n + k)
        sl = slice(self.n, self.n + k)
        for name, arr in values.items():
            self.cols[name][sl] = arr
        self.cols["vid"][sl] = np.arange(self.next_vid, self.next_vid + k)
        if "key" not in values:
            self.cols["key"][sl] = self.cols["vid"][sl]
        self.cols["state"][sl] = ACTIVE
        self.next_vid += k
        self.n += k
        return np.arange(sl.start, sl.stop)

    def set_state(self, rows: np.ndarray, state: int, month: int = 0) -> None:
        """Move rows to a state; rows leaving the active fleet stop emitting."""
        self.cols["state"][rows] = state
        if state != ACTIVE:
            self.rates[:, rows] = 0.0
        if state == GONE:
            self.cols["death_month"][rows] = NEVER
        if state == LISTED:
            self.cols["listed_month"][rows] = month

    def rows_of(self, vids: np.ndarray) -> np.ndarray:
        """Row of each vehicle id (ids still in the registry)."""
        return np.searchsorted(self.cols["vid"][: self.n], vids)

    def in_state(self, state: int) -> np.ndarray:
        return np.flatnonzero(self.cols["state"][: self.n] == state)

    def due(self, month: int) -> np.ndarray:
        """Rows whose end of life has come (gone rows are never due)."""
        return np.flatnonzero(self.cols["death_month"][: self.n] <= month)

    def compact(self, keep_rates: bool = True) -> None:
        """Drop gone rows. keep_rates=False skips moving the rates when the caller is about
        to recompute them all anyway."""
        keep = np.flatnonzero(self.cols["state"][: self.n] != GONE)
        m = len(keep)
        for arr in self.cols.values():
            arr[:m] = arr.take(keep)
        if keep_rates:
            self.rates[:, :m] = self.rates.take(keep, axis=1)
        self.n = m

    def _reserve(self, size: int) -> None:
        if size <= self._cap:
            return
        cap = max(size, int(self._cap * 1.5))
        for name, arr in self.cols.items():
            grown = np.zeros(cap, arr.dtype)
            grown[: self.n] = arr[: self.n]
            self.cols[name] = grown
        rates = np.zeros((self.rates.shape[0], cap))
        rates[:, : self.n] = self.rates[:, : self.n]
        self.rates = rates
        self._cap = cap

    def frame(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Raw columns of the given rows (default: all active rows)."""
        if rows is None:
            rows = self.in_state(ACTIVE)
        return pd.DataFrame({k: v[rows] for k, v in self.cols.items()})
