"""Common random numbers: every random draw of a run keyed by what it is for.

A draw is a hash of (scenario seed, purpose, entity key, month, slot): splitmix64's finaliser
chained over the five fields, the top 53 bits giving a uniform in (0, 1). A policy run and its
baseline with the same seed therefore see the same draw for the same vehicle (or firm) and
purpose in the same month, whatever else differs, so their difference is the policy's effect and
not a reshuffled sequence of one generator (issue 13). The hash is compiled (numba, cached on
disk), so kernels and vectorised code alike evaluate it where the draw is used; nothing is drawn
in sequence and the same seed gives the same numbers in any process.

Entity keys (documented in docs/odd.md, "Common random numbers"):
- a vehicle's key is a registry column `key`, fixed for its life (a used sale keeps it); a
  starting vehicle's key is its place in the starting fleet; a vehicle bought new or imported
  takes `child_keys(key of the decision row, month)`, so the truck that replaces truck X in month
  m has the same key in every run, whatever technology it is and however many others bought;
- a growth purchase's key is `child_keys` of (class, j) for the j-th purchase of that class
  asked in the month;
- a firm's key is its operator index (firms are built from the seed alone, identical in both
  runs).
The starting world (operators, the peer network, the starting fleet, programme draws made once)
comes from `Draws.generator(purpose)`: a numpy Philox generator keyed by (seed, purpose), the
same in both runs because the starting world is.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numba import njit, uint64


class Purpose(IntEnum):
    """What a draw is for: declared once, the hash's second field."""

    OPERATORS = 1  # starting firms: sizes, regions (generator)
    PEERS = 2  # the peer network and haulage links (generator)
    STOCK = 3  # the starting fleet (generator)
    PARTNERS = 4  # which large fleets join a partnership (generator)
    FLEET_RULE = 5  # which firms a zero-emission fleet rule binds (firm key; slot: rule name)
    LIFETIME = 10  # a vehicle's end of life, drawn when it enters (vehicle key)
    USAGE = 11  # a vehicle's km and high-emitter multipliers (vehicle or growth key; slots 0-3)
    REVIEW = 12  # the month of the year its owner reviews it (vehicle key; slot: month sold)
    GROWTH_OWNER = 13  # which firm a growth purchase is asked of (growth key)
    CHOICE = 14  # Gumbel taste for each option (decision key; slot: option column)
    ARRIVAL = 15  # place in the month's queue for budgets and loan quotas (decision key)
    IMPORT = 16  # an import's age and birth month (decision key; slots 0-1)
    LISTING = 17  # a listed vehicle's place among the month's used offers (vehicle key)
    CURFEW = 18  # days a year a contingency curfew binds (key: its name; month: January)
    PROGRAMME_JOIN = 19  # a firm joining a green-freight programme (firm key; slot: its name)
    CHILD = 20  # the key of a vehicle bought (parent key)
    GROWTH = 21  # the key of a growth purchase (class, j)
    DEMONSTRATION = 22  # the key of a demonstration vehicle (demonstration, i)


def _slot(slot: int | str) -> int:
    """A named slot (an instrument's or a rule's name) keys the same draws in every run that
    has it, whatever its place in the scenario's lists."""
    return zlib.crc32(slot.encode()) if isinstance(slot, str) else int(slot)


_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_KEY_MASK = (1 << 62) - 1  # keys stay positive int64


@njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> uint64(30))) * uint64(_M1)
    z = (z ^ (z >> uint64(27))) * uint64(_M2)
    return z ^ (z >> uint64(31))


@njit(cache=True, inline="always")
def hash64(seed, purpose, key, month, slot):
    """splitmix64 chained over the five fields (each as unsigned 64 bits)."""
    g = uint64(_GOLDEN)
    h = _mix(uint64(seed) + g)
    h = _mix(h ^ (uint64(purpose) * g))
    h = _mix(h ^ uint64(key))
    h = _mix(h ^ (uint64(month) * g))
    return _mix(h ^ uint64(slot))


@njit(cache=True, inline="always")
def uniform01(seed, purpose, key, month, slot):
    """A uniform in (0, 1), never 0 or 1."""
    return (float(hash64(seed, purpose, key, month, slot) >> uint64(11)) + 0.5) * 2.0**-53


@njit(cache=True)
def uniform_kernel(seed, purpose, keys, month, slot):
    out = np.empty(len(keys))
    for i in range(len(keys)):
        out[i] = uniform01(seed, purpose, keys[i], month, slot)
    return out


@njit(cache=True)
def normal_kernel(seed, purpose, keys, month, slot):
    """Standard normals by Box-Muller from slots 2 slot and 2 slot + 1."""
    out = np.empty(len(keys))
    for i in range(len(keys)):
        u1 = uniform01(seed, purpose, keys[i], month, 2 * slot)
        u2 = uniform01(seed, purpose, keys[i], month, 2 * slot + 1)
        out[i] = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return out


@njit(cache=True)
def gumbel_kernel(seed, purpose, keys, month, cols, n_cols):
    """[row, column] float32 Gumbel draws for the given columns (slot = column), zero in the
    others."""
    out = np.zeros((len(keys), n_cols), np.float32)
    for i in range(len(keys)):
        for c in cols:
            u = uniform01(seed, purpose, keys[i], month, c)
            out[i, c] = -np.log(-np.log(u))
    return out


@njit(cache=True)
def child_kernel(seed, purpose, parents, month):
    out = np.empty(len(parents), np.int64)
    for i in range(len(parents)):
        out[i] = np.int64(hash64(seed, purpose, parents[i], month, 0) & uint64(_KEY_MASK))
    return out


class Draws:
    """The run's keyed draws: `Draws(seed)`; every method is a pure function of its arguments."""

    def __init__(self, seed: int):
        self.seed = int(seed) & ((1 << 64) - 1)

    def uniform(self, purpose: Purpose | str, keys: np.ndarray, month: int = 0,
                slot: int | str = 0) -> np.ndarray:
        return uniform_kernel(self.seed, _purpose(purpose), _keys(keys), int(month), _slot(slot))

    def normal(self, purpose: Purpose | str, keys: np.ndarray, month: int = 0,
               slot: int | str = 0) -> np.ndarray:
        return normal_kernel(self.seed, _purpose(purpose), _keys(keys), int(month), _slot(slot))

    def gumbel(self, purpose: Purpose | str, keys: np.ndarray, month: int, cols: np.ndarray,
               n_cols: int) -> np.ndarray:
        return gumbel_kernel(self.seed, _purpose(purpose), _keys(keys), int(month),
                             np.asarray(cols, np.int64), int(n_cols))

    def integers(self, purpose: Purpose | str, keys: np.ndarray, high: int, month: int = 0,
                 slot: int | str = 0) -> np.ndarray:
        """Integers in [0, high)."""
        u = self.uniform(purpose, keys, month, slot)
        return np.minimum((u * high).astype(np.int64), high - 1)

    def order(self, purpose: Purpose | str, keys: np.ndarray, month: int = 0,
              slot: int | str = 0) -> np.ndarray:
        """A random order of `keys` (indices into it): each key's place depends on the key
        alone, so the same entities keep their relative order in any run."""
        u = self.uniform(purpose, keys, month, slot)
        return np.lexsort((_keys(keys), u))

    def children(self, parents: np.ndarray, month: int, purpose: Purpose = Purpose.CHILD
                 ) -> np.ndarray:
        """Keys of entities made in `month` by `parents` (a vehicle bought by a decision row)."""
        return child_kernel(self.seed, _purpose(purpose), _keys(parents), int(month))

    def generator(self, purpose: Purpose) -> np.random.Generator:
        """A numpy generator for the starting world, keyed by (seed, purpose)."""
        return np.random.Generator(np.random.Philox(key=[self.seed, _purpose(purpose)]))

    def rows(self, keys: np.ndarray, month: int) -> RowDraws:
        return RowDraws(self, _keys(keys), int(month))


@dataclass
class RowDraws:
    """The draws of one month's decision rows (agents.decisions.decide takes them): each row's
    Gumbel tastes and its place in the month's queue for budgets and loan quotas."""

    draws: Draws
    keys: np.ndarray  # [row] decision key: the vehicle's, or the growth purchase's
    month: int
    _arrival: np.ndarray | None = field(default=None, repr=False)

    def tastes(self, cols: np.ndarray, n_cols: int) -> np.ndarray:
        """[row, column] float32 Gumbel tastes for the given option columns, zero elsewhere."""
        return self.draws.gumbel(Purpose.CHOICE, self.keys, self.month, cols, n_cols)

    @property
    def arrival(self) -> np.ndarray:
        """[row] uniform: the row's arrival time in the month's first-come-first-served queue."""
        if self._arrival is None:
            self._arrival = self.draws.uniform(Purpose.ARRIVAL, self.keys, self.month)
        return self._arrival


def _purpose(purpose: Purpose | str) -> int:
    return int(Purpose[purpose.upper()] if isinstance(purpose, str) else purpose)


def _keys(keys) -> np.ndarray:
    return np.ascontiguousarray(keys, np.int64)


def warm() -> None:
    """Compile (or load from the cache) every kernel."""
    d = Draws(0)
    k = np.arange(2, dtype=np.int64)
    d.uniform(Purpose.CHOICE, k)
    d.normal(Purpose.USAGE, k)
    d.gumbel(Purpose.CHOICE, k, 0, np.arange(2), 2)
    d.children(k, 0)
