"""cProfile of one run (issue 11's timing pass): top functions by own time and by cumulative
time, after warming the kernels so that compile time is not counted.

    .venv/bin/python benchmarks/profile_core.py mexico_national 0.1 3
    .venv/bin/python benchmarks/profile_core.py mexico_city 0.05 30
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

from fleetsim.sim import FleetModel, warm


def main() -> None:
    scenario, fraction, years = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    warm()
    model = FleetModel(scenario, rng=0, sample_fraction=fraction)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    model.run(years=years)
    prof.disable()
    print(f"{scenario} at {fraction:g} for {years:g} years: run {time.perf_counter() - t0:.2f} s"
          f" (under cProfile), {int(model.vehicles.counts.sum())} vehicles")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    main()
