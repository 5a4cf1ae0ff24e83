"""One browser session's run: the model with the chosen policy, its baseline (same scenario and
seed, instruments off) stepped alongside, and the small yearly tables the charts draw.

Nothing here knows about Solara; the page calls `step`, `set_control` and reads `yearly()`,
`headline()`. A lock makes the play thread and the page's clicks take turns.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fleetsim.scenarios import SIZE_BANDS, Scenario, ScenarioError, load
from fleetsim.sim import FleetModel, metrics
from fleetsim.sim.comparison import avoided_and_cost
from fleetsim.sim.metrics import EMISSIONS

from . import controls

# monthly flows: summed per year; the other columns kept are stocks, read at the year's end
FLOW = re.compile(r"^(pm25_t|bc_t|nox_t|co2_ttw_t|loans_approved|loans_declined|subsidy_mxn"
                  r"|scrap_bonus_mxn|public_spending_mxn|spend_.*_mxn|fuel_tax_revenue_mxn)$")
STOCK = re.compile(r"^(vehicles|share_soot_free|share_zev|loans_active|loan_balance_mxn"
                   r"|.*budget.*)$")
MID_RUN_PATHS = ("policy.", "regulation.")  # what FleetModel.update_policy may change

BASELINES_KEPT = 8  # shared baselines kept for sessions to come (each up to ~50 MB)


class BoundedCache:
    """A thread-safe mapping that keeps the `size` entries used most recently (LRU). Whoever
    got an entry holds its own reference: eviction only stops new sessions from sharing it."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get_or_add(self, key, make):
        """The entry for `key`, made by `make()` (under the lock: keep it cheap) if absent."""
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
            value = self.entries[key] = make()
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
            return value

    def get(self, key, default=None):
        with self.lock:
            if key not in self.entries:
                return default
            self.entries.move_to_end(key)
            return self.entries[key]

    def put(self, key, value) -> None:
        self.get_or_add(key, lambda: value)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key) -> bool:
        return key in self.entries


# baseline months by (scenario, baseline overrides, seed, sample): sessions that ask for the
# same baseline share it instead of each stepping an identical model (same seed, same numbers)
BASELINES = BoundedCache(BASELINES_KEPT)


@dataclass
class Change:
    month: int  # months since the start (1 = the first month simulated)
    path: str
    value: Any


class LiveRun:
    def __init__(self, scenario: str | Scenario, seed: int = 42, sample_fraction: float = 0.05,
                 settings: dict[str, Any] | None = None, with_baseline: bool = True):
        self.with_baseline = with_baseline
        self.lock = threading.RLock()
        self.scenario = scenario
        self.seed = int(seed)
        self.sample_fraction = float(sample_fraction)
        self.spec = load(scenario)
        self.raw = self.spec.model_dump(exclude_none=True)
        self.controls = controls.available(self.raw)
        self.settings = dict(settings or {})  # path -> value chosen in the page
        self.off = controls.baseline_overrides(self.raw)
        self.changes: list[Change] = []  # mid-run changes, for the chart markers
        self.pending: dict[str, Any] = {}  # chosen while running, applied at the next reset
        self.reset()

    # ---- life cycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Build the policy model afresh from the scenario and the current settings; find (or
        start) the baseline this scenario, seed and sample share with other sessions."""
        with self.lock:
            self.settings.update(self.pending)
            self.pending = {}
            self.changes = []
            self.model = FleetModel(self.spec, rng=self.seed,
                                    sample_fraction=self.sample_fraction,
                                    overrides=self.settings or None)
            self.horizon = min(self.spec.simulation.default_years * 12,
                               self.model.months_left())
            self.columns = _columns(self.model)
            self.rows: list[list[float]] = []
            key = (self.spec.model_dump_json(), repr(sorted(self.off.items())), self.seed,
                   self.sample_fraction)
            self.shared = BASELINES.get_or_add(key, SharedBaseline)
            self._baseline_to(0)  # built now, while the page opens, not at the first step
            self._cache: tuple = ((), None)

    @property
    def months_done(self) -> int:
        return len(self.rows)

    @property
    def finished(self) -> bool:
        return self.months_done >= self.horizon

    def step(self, months: int = 1) -> int:
        """Step both runs up to `months` months (stopping at the horizon); how many were run."""
        done = 0
        with self.lock:
            while done < months and not self.finished:
                self.model.step()
                self.rows.append(_last_row(self.model, self.columns))
                self._baseline_to(self.months_done)
                done += 1
        return done

    def _baseline_to(self, n: int) -> None:
        """Make sure the shared baseline has `n` months."""
        if self.with_baseline:
            self.shared.extend_to(n, lambda: FleetModel(
                self.spec, rng=self.seed, sample_fraction=self.sample_fraction,
                overrides=self.off or None))

    # ---- settings ----------------------------------------------------------------------------
    def set_control(self, path: str, value: Any) -> list[str]:
        """Apply a control's new value: before the first month, at once; mid-run, a policy or
        regulation term from the next month on (FleetModel.update_policy, marked on the
        charts), anything else (prices, credit, partnerships) at the next reset. A bad value
        returns its problems and changes nothing."""
        with self.lock:
            try:
                if self.months_done and path.startswith(MID_RUN_PATHS):
                    self.model.update_policy({path: value})
                    self.settings[path] = value
                    self.changes.append(Change(self.months_done + 1, path, value))
                    return []
                load(self.spec, {**self.settings, **self.pending, path: value})
            except ScenarioError as err:
                return err.problems
            if self.months_done:
                self.pending[path] = value
            else:
                self.settings[path] = value
                self.reset()
        return []

    def value(self, path: str) -> Any:
        """The value a control shows: pending, chosen, or the scenario's own."""
        for source in (self.pending, self.settings):
            if path in source:
                return source[path]
        return dict((c.path, v) for c, v in self.controls)[path]

    # ---- what the page draws ------------------------------------------------------------------
    def monthly(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        with self.lock:
            n = self.months_done
            pol = pd.DataFrame(np.array(self.rows, float).reshape(n, len(self.columns)),
                               columns=self.columns)
            rows = self.shared.rows[:n]  # a slice of a list only appended to: no lock needed
            if len(rows) < n:  # no baseline (the comparison view runs without one)
                return pol, pd.DataFrame(columns=self.columns, dtype=float)
            base = pd.DataFrame(np.array(rows, float).reshape(n, len(self.shared.columns)),
                                columns=self.shared.columns)
            # the baseline lacks the policy run's per-instrument columns: it spends nothing
            return pol, base.reindex(columns=self.columns, fill_value=0.0)

    def _tables(self):
        """(yearly policy, yearly baseline, headline), computed once per month shown."""
        key = (id(self.rows), self.months_done)
        if self._cache[0] != key:
            pol, base = self.monthly()
            self._cache = (key, (yearly(pol), yearly(base), headline(pol, base)))
        return self._cache[1]

    def yearly(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(policy, baseline) per calendar year; emissions annualised in a partial year."""
        with self.lock:
            pol, base, _ = self._tables()
            return pol, base

    def headline(self) -> dict[str, float | None]:
        with self.lock:
            return self._tables()[2]

    @property
    def date(self) -> tuple[int, int]:
        """(year, month) of the last month simulated."""
        return self.model.date.year, self.model.date.month


class SharedBaseline:
    """One baseline run for every session that asks for it (same scenario, instruments off,
    seed and sample): the first session to need a month steps the one model for all, the
    others wait a moment and read (same seed, same numbers, so one model serves them all)."""

    def __init__(self):
        self.columns: list[str] = []
        self.rows: list[list[float]] = []
        self.model: FleetModel | None = None
        self.lock = threading.Lock()

    def extend_to(self, n: int, build) -> None:
        """Step the shared model until it has `n` months (n = 0: just build it)."""
        if self.model is not None and len(self.rows) >= n:
            return
        with self.lock:
            if self.model is None:
                self.model = build()
                self.columns = _columns(self.model)
            while len(self.rows) < n and self.model.months_left() > 0:
                self.model.step()
                self.rows.append(_last_row(self.model, self.columns))


def _columns(model: FleetModel) -> list[str]:
    by = [f"vehicles_{n}" for n in (*model.tables.reported_names, *SIZE_BANDS)]
    return ["year", "month", *(c for c in model.metric_names()
                               if FLOW.match(c) or STOCK.match(c) or c in by)]


def _last_row(model: FleetModel, columns: list[str]) -> list[float]:
    row = model.latest()
    return [float(row[c]) for c in columns]


def yearly(df: pd.DataFrame) -> pd.DataFrame:
    """Months -> calendar years (sim.metrics.yearly), emissions annualised in a partial year."""
    return metrics.yearly(df, annualise=EMISSIONS)


def headline(pol: pd.DataFrame, base: pd.DataFrame) -> dict[str, float | None]:
    """Emissions avoided so far (baseline minus policy, t), public spending beyond the
    baseline's (MXN) and what each avoided tonne cost the public purse."""
    if pol.empty:
        return {"avoided_pm25": 0.0, "avoided_co2": 0.0, "public_cost": 0.0,
                "cost_per_t_pm25": None, "cost_per_t_co2": None,
                "share_zev": 0.0, "share_soot_free": 0.0}
    avoided, cost = avoided_and_cost(pol, base)
    avoided_pm, avoided_co2 = avoided["pm25_t"], avoided["co2_ttw_t"]
    return {
        "avoided_pm25": avoided_pm, "avoided_co2": avoided_co2, "public_cost": cost,
        "cost_per_t_pm25": cost / avoided_pm if avoided_pm > 0 and cost > 0 else None,
        "cost_per_t_co2": cost / avoided_co2 if avoided_co2 > 0 and cost > 0 else None,
        "share_zev": float(pol["share_zev"].iloc[-1]),
        "share_soot_free": float(pol["share_soot_free"].iloc[-1]),
    }
