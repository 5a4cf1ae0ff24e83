"""The vehicle registry: one row per vehicle, one numpy array per column.

Rows are appended in blocks and retired by flag; retired rows are dropped in bulk by `compact`
(the model does it each January), so no step ever loops over vehicles in Python.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NEVER = np.iinfo(np.int32).max  # death month of a retired row: never due again

ORIGIN_NAMES = ("initial", "new", "used_import")

# name -> dtype; months are counted from year 0 (year * 12 + month - 1)
COLUMNS: dict[str, np.dtype] = {
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
    "alive": np.dtype(bool),
}


class VehicleRegistry:
    def __init__(self, n_rates: int, capacity: int = 1024):
        self.n = 0
        self.n_alive = 0
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
        """Append rows; every column must be given (except alive). Returns their indices."""
        missing = set(COLUMNS) - {"alive"} - set(values)
        if missing:
            raise ValueError(f"registry.add: missing columns {sorted(missing)}")
        k = len(values["owner"])
        self._reserve(self.n + k)
        rows = np.arange(self.n, self.n + k)
        for name, arr in values.items():
            self.cols[name][self.n : self.n + k] = arr
        self.cols["alive"][self.n : self.n + k] = True
        self.n += k
        self.n_alive += k
        return rows

    def retire(self, rows: np.ndarray) -> None:
        self.cols["alive"][rows] = False
        self.cols["death_month"][rows] = NEVER
        self.rates[:, rows] = 0.0
        self.n_alive -= len(rows)

    def due(self, month: int) -> np.ndarray:
        """Rows whose end of life has come (retired rows are never due)."""
        return np.flatnonzero(self.cols["death_month"][: self.n] <= month)

    def compact(self, keep_rates: bool = True) -> None:
        """Drop retired rows. keep_rates=False skips moving the rates when the caller is about
        to recompute them all anyway."""
        keep = np.flatnonzero(self.cols["alive"][: self.n])
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
        """Raw columns of the given rows (default: all alive rows)."""
        if rows is None:
            rows = np.flatnonzero(self.cols["alive"][: self.n])
        return pd.DataFrame({k: v[rows] for k, v in self.cols.items() if k != "alive"})
