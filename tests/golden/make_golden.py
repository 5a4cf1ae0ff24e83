"""Write the golden results: every output column, monthly, from the code as it was before the
core was reshaped (issue 11). Run only to refresh them on purpose:

    python -m tests.golden.make_golden
"""

from __future__ import annotations

from pathlib import Path

from fleetsim.sim import FleetModel

HERE = Path(__file__).parent

# name -> (scenario, seed, sample fraction, years)
CASES = {
    "city_5pct": ("mexico_city", 7, 0.05, 4),
    "city_full": ("mexico_city", 3, 1.0, 2),
    "national_2pct": ("mexico_national", 11, 0.02, 4),
    "clean_fleets_mix_5pct": ("clean_fleets_mix", 5, 0.05, 5),
    "partnership_5pct": ("mexico_city_partnership", 2, 0.05, 4),
    "zev_strategy_2pct": ("zev_strategy_2030", 4, 0.02, 9),
    "curfew_5pct": ("contingency_curfew", 6, 0.05, 3),
}


def run(name: str):
    scenario, seed, fraction, years = CASES[name]
    return FleetModel(scenario, rng=seed, sample_fraction=fraction).run(years=years).results()


def main() -> None:
    for name in CASES:
        run(name).to_parquet(HERE / f"{name}.parquet", index=False, compression="zstd")
        print(name, (HERE / f"{name}.parquet").stat().st_size)


if __name__ == "__main__":
    main()
