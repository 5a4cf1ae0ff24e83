"""Benchmark: mexico_national (about 720k trucks, 206k firms) for 30 years, full fleet, with
every operator deciding (yearly reviews, credit, used market, peers).

Each repetition runs in a fresh process so its peak memory is its own. Records wall time
(model build, run, total) and peak resident memory; prints medians and writes them to
benchmarks/results/national_30y.json.

    .venv/bin/python benchmarks/bench_national.py [--reps 5] [--years 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from fleetsim.sim import FleetModel
model = FleetModel("mexico_national", rng=int(sys.argv[2]), sample_fraction=1.0)
t1 = time.perf_counter()
model.run(years=float(sys.argv[1]))
t2 = time.perf_counter()
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"build_s": t1 - t0, "run_s": t2 - t1, "total_s": t2 - t0,
                  "peak_mib": peak_mib, "vehicles_end": float(model.results()["vehicles"].iloc[-1]),
                  "rows": int(model.registry.n)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--years", type=float, default=30)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "national_30y.json")
    args = ap.parse_args()
    runs = []
    for rep in range(args.reps):
        done = subprocess.run([sys.executable, "-c", CHILD, str(args.years), str(rep)],
                              capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
        print(f"rep {rep}: total {runs[-1]['total_s']:.2f} s, peak {runs[-1]['peak_mib']:.0f} MiB")
    med = {k: statistics.median(r[k] for r in runs) for k in ("build_s", "run_s", "total_s",
                                                                 "peak_mib")}
    record = {
        "benchmark": "mexico_national, full fleet, operators deciding",
        "command": f"python benchmarks/bench_national.py --reps {args.reps} --years {args.years:g}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
                   f"{platform.python_version()}, 2 cores",
        "goal": {"total_s": 30, "peak_mib": 2048},
        "median": med,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"median: total {med['total_s']:.2f} s (build {med['build_s']:.2f}, run "
          f"{med['run_s']:.2f}), peak {med['peak_mib']:.0f} MiB -> {args.out}")


if __name__ == "__main__":
    main()
