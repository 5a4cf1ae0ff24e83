"""Benchmark of the core against the numpy floor (issue 11), in one session.

Each case runs in a fresh process (its peak memory is its own), alternating with the floor kernel
(benchmarks/floor_kernel.py, a copy of /work/shared/bench/floor_kernel.py) at the same number of
vehicles and months, so that the machine's load weighs on both alike. Records every run, the
medians, the ratio of the medians and the load average before and after each run; writes
benchmarks/results/core_<case>.json.

    .venv/bin/python benchmarks/bench_core.py city      # mexico_city at 5%, 30 years
    .venv/bin/python benchmarks/bench_core.py national  # mexico_national, full, 30 years
    .venv/bin/python benchmarks/bench_core.py national10  # mexico_national at 10%, 10 years
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
CASES = {  # name -> (scenario, sample fraction, years, goal: ratio to the floor)
    "city": ("mexico_city", 0.05, 30, 10.0),
    "national": ("mexico_national", 1.0, 30, 7.0),
    # a shorter national run, for before/after comparisons on a shared machine
    "national10": ("mexico_national", 0.1, 10, 7.0),
}

MODEL = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from fleetsim.sim import FleetModel
model = FleetModel(sys.argv[1], rng=int(sys.argv[4]), sample_fraction=float(sys.argv[2]))
t1 = time.perf_counter()
n = int(model.vehicles.counts.sum())
model.run(years=float(sys.argv[3]))
t2 = time.perf_counter()
print(json.dumps({"build_s": t1 - t0, "run_s": t2 - t1, "total_s": t2 - t0, "vehicles": n,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FLOOR = r"""
import json, sys, time
sys.path.insert(0, sys.argv[3])
import floor_kernel
t0 = time.perf_counter()
floor_kernel.run(int(sys.argv[1]), int(sys.argv[2]))
print(json.dumps({"total_s": time.perf_counter() - t0}))
"""


def child(code: str, *args) -> dict:
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, check=True)
    return {**json.loads(done.stdout), "load_before": load, "load_after": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("case", choices=list(CASES))
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    scenario, fraction, years, goal = CASES[args.case]
    runs, floors = [], []
    for rep in range(args.reps):
        runs.append(child(MODEL, scenario, fraction, years, rep))
        floors.append(child(FLOOR, runs[-1]["vehicles"], int(years * 12), HERE))
        print(f"rep {rep}: model {runs[-1]['total_s']:.2f} s (run {runs[-1]['run_s']:.2f}), "
              f"floor {floors[-1]['total_s']:.2f} s, load {runs[-1]['load_before']:.1f}")
    med = {k: statistics.median(r[k] for r in runs) for k in ("build_s", "run_s", "total_s",
                                                                 "peak_mib")}
    floor = statistics.median(r["total_s"] for r in floors)
    record = {
        "benchmark": f"{scenario} at {fraction:g} for {years} years against the floor kernel "
                     f"at the same vehicles and months",
        "command": f"python benchmarks/bench_core.py {args.case} --reps {args.reps}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
                   f"{platform.python_version()}, {os.cpu_count()} cores, shared",
        "goal_ratio": goal,
        "median": med, "floor_median_s": floor,
        "ratio_total": med["total_s"] / floor, "ratio_run": med["run_s"] / floor,
        "runs": runs, "floor_runs": floors,
    }
    out = HERE / "results" / f"core_{args.case}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"median {med['total_s']:.2f} s (run {med['run_s']:.2f}), floor {floor:.2f} s: "
          f"{record['ratio_total']:.1f}x (run only {record['ratio_run']:.1f}x), peak "
          f"{med['peak_mib']:.0f} MiB -> {out}")


if __name__ == "__main__":
    main()
