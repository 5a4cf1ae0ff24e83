"""Paired seeds for `run P --compare B --seeds N`: on each extra seed the preset and its
baseline both run (they share the seed), in worker processes across the cores while the caller
runs the first seed itself."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from fleetsim.sim import FleetModel
from fleetsim.sim.checks import check_finite
from fleetsim.sim.comparison import check_comparable, compare

from .executors import default_workers


def paired(spec, base_spec, seed: int, years: float | None) -> dict[str, Any]:
    """One seed: the preset, then its baseline on the same seed and sample, compared."""
    with np.errstate(all="ignore"):  # a NaN or infinity is reported by check_finite below
        model = FleetModel(spec, rng=seed)
        model.run(years=years)
        base = FleetModel(base_spec, rng=seed, sample_fraction=model.sample_fraction)
        check_comparable(model, base)
        base.run(years=years)
    check_finite(model.results(), f"{spec.name!r} on seed {seed}")
    check_finite(base.results(), f"the baseline {base_spec.name!r} on seed {seed}")
    return compare(model, base)


class PairedSeeds:
    """Starts the seeds' comparisons on entering; `results` waits for them in seed order.
    One worker fewer than the cores (the caller runs a seed too), at least one."""

    def __init__(self, spec, base_spec, seeds: list[int], years: float | None,
                 workers: int | None = None):
        self.args = (spec, base_spec, years)
        self.seeds = seeds
        self.workers = max(1, min(len(seeds), workers or default_workers() - 1))
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[Future] = []

    def __enter__(self) -> PairedSeeds:
        if self.seeds:
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("forkserver"))
            spec, base_spec, years = self.args
            self.futures = [self.pool.submit(paired, spec, base_spec, s, years)
                            for s in self.seeds]
        return self

    def results(self) -> list[dict[str, Any]]:
        return [f.result() for f in self.futures]

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
