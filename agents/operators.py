"""Operators: the firms that own the vehicles, in four size bands.

The firms act as one vectorised agent set, `OperatorSet` (in the style of mesa-frames): it owns
their columns (band, region, cash, credit record, partner) and its `step` decides for every
vehicle under review in one pass. Each firm is also a mesa.Agent, `Operator`, for inspection
and drawing; it reads the set's columns through properties.
"""

from __future__ import annotations

import mesa
import numpy as np

from fleetsim.scenarios import SIZE_BANDS, Scenario

from .decisions import Context, Decision, Reviews, decide


class Operator(mesa.Agent):
    """A carrier: hombre-camion, small, medium or large fleet. Its vehicles' decisions are
    made for all firms at once by OperatorSet.step, from the set's columns."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def band(self) -> str:
        return SIZE_BANDS[self.model.operator_arrays.band[self.index]]

    @property
    def region(self) -> str:
        arrays = self.model.operator_arrays
        return arrays.region_names[arrays.region[self.index]]

    @property
    def cash(self) -> float:
        return float(self.model.operator_arrays.cash[self.index])

    @property
    def name(self) -> str | None:
        return self.model.operator_arrays.names.get(self.index)

    @property
    def fleet_size(self) -> int:
        """Vehicles this firm owns now (scaled to a sample, as a count of simulated rows)."""
        return int(self.model.fleet_sizes()[self.index])


class OperatorSet:
    """The firms as one agent set: per-firm columns (size band, region, starting fleet size,
    the money state the decisions use: cash, credit history, partner) and the set's step."""

    def __init__(self, band: np.ndarray, region: np.ndarray, initial_size: np.ndarray,
                 region_names: list[str]):
        n = len(band)
        self.band = band
        self.region = region
        self.initial_size = initial_size
        self.region_names = region_names
        # month of each firm's previous decision (its exposure to adoption runs from there);
        # before the first, half its usual interval before the start (start_exposure)
        self.last_decision = np.zeros(n)
        self.cash = np.zeros(n)  # MXN
        self.negative_months = np.zeros(n, np.int32)  # consecutive months with cash below 0
        self.loans_repaid = np.zeros(n, np.int32)
        self.loans_defaulted = np.zeros(n, np.int32)
        self.fleet_value = np.zeros(n)  # MXN, resale value of its vehicles (each January)
        self.partner_of = np.full(n, -1, np.int64)  # partnering large fleet it hauls for
        self.partnership = np.full(n, -1, np.int64)  # index of that partnership
        self.names: dict[int, str] = {}  # named fleets

    def __len__(self) -> int:
        return len(self.band)

    def step(self, reviews: Reviews, context: Context, draws) -> Decision:
        """Step 3 of the month: every firm decides for its vehicles under review and the
        purchases asked of it, all in one vectorised pass (agents.decisions.decide)."""
        decision = decide(reviews, context, draws)
        self.last_decision[reviews.owner] = context.month
        return decision

    def start_exposure(self, start_month: int) -> None:
        """A firm with s vehicles decides about every 12 / min(s, 12) months; its first decision
        month carries the exposure since half that interval before the start, so that a firm
        deciding once a year adopts, on average, when a continuous-time process would."""
        interval = 12.0 / np.clip(self.initial_size, 1, 12)
        self.last_decision = start_month - 0.5 - interval / 2.0

    def exposure_years(self, owner: np.ndarray, month: int) -> np.ndarray:
        """[row] years since each row's firm last decided (its exposure to adoption)."""
        return (month - self.last_decision[owner]) / 12.0


def allocate(total: int, shares: np.ndarray) -> np.ndarray:
    """Split an integer total by shares, largest remainder first, so the parts add up."""
    raw = total * shares / shares.sum()
    base = np.floor(raw).astype(np.int64)
    rest = total - base.sum()
    base[np.argsort(-(raw - base), kind="stable")[:rest]] += 1
    return base


def band_fleet_sizes(firms: int, units: int, lo: int, hi: int | None, sigma: float,
                     rng: np.random.Generator) -> np.ndarray:
    """Fleet sizes of `firms` firms holding `units` vehicles, each within [lo, hi]."""
    if firms == 0:
        return np.zeros(0, np.int64)
    sizes = np.full(firms, lo, np.int64)
    weights = np.exp(sigma * rng.standard_normal(firms))
    sizes += rng.multinomial(units - lo * firms, weights / weights.sum())
    if hi is not None:
        # move the excess of firms over the cap to firms under it, in a few passes
        for _ in range(100):
            excess = np.clip(sizes - hi, 0, None)
            if excess.sum() == 0:
                break
            sizes -= excess
            room = hi - sizes
            sizes += rng.multinomial(excess.sum(), room / room.sum())
    return sizes


def build_operators(spec: Scenario, n_vehicles: int, sample_fraction: float,
                    rng: np.random.Generator) -> OperatorSet:
    """Firms of each band, scaled to the sample, holding n_vehicles between them."""
    bands = [spec.operators.bands[b] for b in SIZE_BANDS]
    units = allocate(n_vehicles, np.array([b.power_unit_share for b in bands]))
    band_idx, sizes = [], []
    for i, (band, u) in enumerate(zip(bands, units, strict=True)):
        u = int(u)
        firms = int(round(band.firms * sample_fraction))
        # a tiny sample keeps at least one firm per band that holds vehicles, each firm with at
        # least min_units where the units allow it, and enough firms to stay under max_units
        firms = min(max(firms, 1 if u > 0 else 0), max(u // band.min_units, 1 if u else 0))
        if band.max_units is not None and firms * band.max_units < u:
            firms = -(-u // band.max_units)
        lo = min(band.min_units, u // firms) if firms else band.min_units
        s = band_fleet_sizes(firms, u, lo, band.max_units, band.fleet_size_sigma, rng)
        band_idx.append(np.full(len(s), i, np.int8))
        sizes.append(s)
    band_arr = np.concatenate(band_idx)
    regions = list(spec.regions)
    shares = np.array([spec.regions[r].stock_share for r in regions])
    region = rng.choice(len(regions), size=len(band_arr), p=shares / shares.sum()).astype(np.int8)
    return OperatorSet(band_arr, region, np.concatenate(sizes), regions)
