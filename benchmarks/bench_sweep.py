"""Benchmarks of `fleetsim sweep` on this machine.

speed:  a 200-run Mexico City sweep (the `baseline` preset at a 2% sample for 5 years; a grid of
        10 growth paths x 10 peer effects x 2 seeds) on 1 and on 2 local worker processes,
        alternating, `--reps` times each. Records wall time (pool start included), runs per
        minute and the speed-up (median wall on 1 worker / median wall on 2), plus the load
        average before each sweep and the workers' busy fraction (time inside runs / wall):
        the machine is shared, and other work slows the runs themselves.
memory: the driver's resident memory over a 2,000-run sweep of real short runs (Mexico City at
        0.3% for one year) on 2 workers, sampled every 50 runs: its growth per 1,000 runs,
        extrapolated to 10,000. Workers write results; the driver keeps only bookkeeping.

    .venv/bin/python benchmarks/bench_sweep.py speed [--reps 3]
    .venv/bin/python benchmarks/bench_sweep.py memory [--runs 2000]
    .venv/bin/python benchmarks/bench_sweep.py ceiling    # the machine's own 2-core limit

Results go to benchmarks/results/sweep_city.json and sweep_driver_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def city_spec(points: int, seeds: int, fraction: float, years: float) -> dict:
    side = int(round(points ** 0.5))
    return {
        "name": "bench_city",
        "presets": ["baseline"],
        "years": years,
        "sample_fraction": fraction,
        "parameters": {
            "growth": {"path": "market.growth_per_year",
                       "values": [round(float(x), 4) for x in np.linspace(0.0, 0.05, side)]},
            "peer_q": {"path": "decisions.peer_q",
                       "values": [round(float(x), 4)
                                  for x in np.linspace(0.2, 0.6, points // side)]},
        },
        "replications": seeds,
        "seed": 1,
    }


def machine() -> str:
    return f"{platform.machine()}, CPython {platform.python_version()}, {os.cpu_count()} cores"


BURN = "import time; t = time.perf_counter(); x = sum(range(60_000_000)); " \
       "print(time.perf_counter() - t)"


def parallel_ceiling() -> dict:
    """The machine's own limit: a pure-Python loop alone, then two copies side by side. On
    two free cores the ratio (2 x alone / side-by-side) is about 2; less means the cores are
    shared (other work on the machine, or vCPUs that are one core's threads)."""
    import subprocess
    import sys

    def timed(n: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", BURN], stdout=subprocess.PIPE,
                                  text=True) for _ in range(n)]
        return [float(p.communicate()[0]) for p in procs]

    alone = timed(1)[0]
    both = timed(2)
    return {"loop_alone_s": alone, "loop_side_by_side_s": both,
            "throughput_ratio_2_vs_1": 2 * alone / max(both),
            "load_average_1min": os.getloadavg()[0]}


def speed(reps: int) -> None:
    from fleetsim.experiments import Sweep

    spec = city_spec(100, 2, 0.02, 5)
    walls: dict[int, list[float]] = {1: [], 2: []}
    loads: dict[int, list[float]] = {1: [], 2: []}
    run_means: dict[int, list[float]] = {1: [], 2: []}
    for rep in range(reps):
        for workers in (1, 2):
            out = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
            try:
                loads[workers].append(os.getloadavg()[0])
                sweep = Sweep.from_dict(spec)
                assert sweep.total == 200
                started = time.perf_counter()
                result = sweep.run(out / "s", workers=workers)
                wall = time.perf_counter() - started
                assert (result.ok, result.failed) == (200, 0)
                import pandas as pd

                man = pd.read_parquet(out / "s" / "manifest.parquet")
                run_means[workers].append(float(man["wall_time_s"].mean()))
                walls[workers].append(wall)
                print(f"rep {rep} workers {workers}: {wall:.1f} s, "
                      f"{200 / wall * 60:.0f} runs/min, mean run {run_means[workers][-1]:.2f} s, "
                      f"load {loads[workers][-1]:.2f}", flush=True)
            finally:
                shutil.rmtree(out, ignore_errors=True)
    med = {w: statistics.median(v) for w, v in walls.items()}
    record = {
        "benchmark": "200-run Mexico City sweep (baseline preset, 2% sample, 5 years), local "
                     "process pool",
        "command": f"python benchmarks/bench_sweep.py speed --reps {reps}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "goal": {"speedup_2_vs_1": 1.8},
        "median": {
            "wall_s_1_worker": med[1], "wall_s_2_workers": med[2],
            "runs_per_min_1_worker": 200 / med[1] * 60,
            "runs_per_min_2_workers": 200 / med[2] * 60,
            "speedup_2_vs_1": med[1] / med[2],
            "mean_run_s_1_worker": statistics.median(run_means[1]),
            "mean_run_s_2_workers": statistics.median(run_means[2]),
        },
        "machine_parallel_ceiling": parallel_ceiling(),
        "wall_s": {str(k): v for k, v in walls.items()},
        "mean_run_s": {str(k): v for k, v in run_means.items()},
        # share of the wall time the workers spent inside runs: near 1, the pool keeps every
        # worker busy, and a speed-up short of the worker count comes from slower runs
        # (cores shared with other processes), not from the sweep's own overhead
        "busy_fraction": {str(k): [200 * m / (k * w) for m, w in zip(run_means[k], walls[k],
                                                                      strict=True)]
                          for k in walls},
        "load_average_1min_before": {str(k): v for k, v in loads.items()},
    }
    write(RESULTS / "sweep_city.json", record)


def memory(runs: int) -> None:
    import psutil

    from fleetsim.experiments import Sweep

    proc = psutil.Process()
    spec = city_spec(runs // 2, 2, 0.003, 1)
    spec["name"] = "bench_memory"
    sweep = Sweep.from_dict(spec)
    samples: list[tuple[int, float]] = []
    out = Path(tempfile.mkdtemp(prefix="bench_mem_"))

    def sample(rec, progress):
        if progress.done % 50 == 0:
            samples.append((progress.done, proc.memory_info().rss / 2**20))

    try:
        rss_before = proc.memory_info().rss / 2**20
        started = time.perf_counter()
        result = sweep.run(out / "s", workers=2, on_result=sample)
        wall = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    done = np.array([s[0] for s in samples], float)
    rss = np.array([s[1] for s in samples])
    steady = done >= 200  # after the pool, imports and first allocations settle
    slope = float(np.polyfit(done[steady], rss[steady], 1)[0]) if steady.sum() > 2 else None
    record = {
        "benchmark": f"driver memory over a {sweep.total}-run sweep of real runs (Mexico City, "
                     "0.3% sample, 1 year, yearly summaries), 2 local workers",
        "command": f"python benchmarks/bench_sweep.py memory --runs {runs}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "goal": {"driver_mib_at_10000_runs": 1024},
        "runs": sweep.total, "ok": result.ok, "failed": result.failed, "wall_s": wall,
        "driver_rss_mib": {"before": rss_before, "after_200_runs": float(rss[steady][0]),
                           "end": float(rss[-1]), "max": float(rss.max())},
        "growth_mib_per_1000_runs": None if slope is None else slope * 1000,
        "extrapolated_driver_mib_at_10000_runs": None if slope is None else
        float(rss[-1] + slope * (10_000 - done[-1])),
        "samples": [{"runs": int(d), "rss_mib": round(float(r), 1)} for d, r in samples],
    }
    write(RESULTS / "sweep_driver_memory.json", record)


def write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "samples"}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["speed", "memory", "ceiling"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--runs", type=int, default=2000)
    args = ap.parse_args()
    if args.mode == "ceiling":
        print(json.dumps(parallel_ceiling(), indent=2))
    elif args.mode == "speed":
        speed(args.reps)
    else:
        memory(args.runs)


if __name__ == "__main__":
    main()
