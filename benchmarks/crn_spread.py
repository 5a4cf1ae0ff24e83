"""Seed-to-seed spread of emissions avoided by a preset against its baseline (issue 13's common
random numbers): runs the preset and the baseline with the same seed for several seeds and prints
the mean, standard deviation and range of PM2.5 avoided, and the first month where any column of
the two runs differs.

    .venv/bin/python benchmarks/crn_spread.py clean_fleets_mix baseline --seeds 8 --years 10
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from fleetsim.sim import FleetModel
from fleetsim.sim.comparison import compare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("preset")
    ap.add_argument("baseline")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--first-seed", type=int, default=42)
    ap.add_argument("--years", type=float, default=10)
    ap.add_argument("--sample", type=float, default=0.05)
    args = ap.parse_args()
    pm, first = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        runs = [FleetModel(s, rng=seed, sample_fraction=args.sample).run(args.years)
                for s in (args.preset, args.baseline)]
        pm.append(compare(*runs)["avoided_t"]["pm25_t"])
        a, b = (r.results() for r in runs)
        cols = [c for c in a.select_dtypes("number").columns if c in b]
        differs = np.flatnonzero((a[cols].to_numpy(float) != b[cols].to_numpy(float))
                                 .any(axis=1))
        first.append(int(differs[0]) if len(differs) else -1)
        print(f"seed {seed}: PM2.5 avoided {pm[-1]:.1f} t, first differing month {first[-1]}",
              flush=True)
    x = np.array(pm)
    print(json.dumps({"preset": args.preset, "baseline": args.baseline, "years": args.years,
                      "sample": args.sample, "seeds": args.seeds, "pm25_avoided_t": pm,
                      "mean": x.mean(), "std": x.std(ddof=1), "min": x.min(), "max": x.max(),
                      "first_differing_month": first}))


if __name__ == "__main__":
    main()
