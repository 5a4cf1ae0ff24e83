"""Ceilings that keep one run within one machine (about 20 GB of memory): checked when a
scenario is validated (with its own sample_fraction) and again when a model is built with
another one, before anything is allocated."""

from __future__ import annotations

from .schema_base import at_year

MAX_SIMULATED_VEHICLES = 5_000_000  # registry rows; the national fleet at 100% starts at 0.72 M
MAX_SIMULATED_FIRMS = 2_000_000  # agents; the national scenario has 0.21 M
MAX_PEER_LINKS = 5_000_000  # networkx keeps each link as Python objects (about 0.5 kB)
MAX_HORIZON_YEARS = 100


def size_problems(spec, sample_fraction: float) -> list[str]:
    """What would make a run of `spec` at `sample_fraction` too large, one line each."""
    problems = []
    vehicles = sum(c.initial_stock_units.value for c in spec.classes.values())
    sampled = vehicles * sample_fraction
    if sampled > MAX_SIMULATED_VEHICLES:
        problems.append(
            f"classes: got {vehicles:,} vehicles x sample_fraction {sample_fraction:g} = "
            f"{sampled:,.0f} simulated, expected at most {MAX_SIMULATED_VEHICLES:,} "
            "(lower simulation.sample_fraction)")
        return problems
    growth = growth_problem(spec, sampled)
    if growth:
        problems.append(growth)
    firms = sum(b.firms for b in spec.operators.bands.values()) * sample_fraction
    if firms > MAX_SIMULATED_FIRMS:
        problems.append(
            f"operators.bands: got {firms:,.0f} simulated firms, expected at most "
            f"{MAX_SIMULATED_FIRMS:,} (lower the firms or simulation.sample_fraction)")
    agents = min(firms, sampled)  # each firm holds at least one vehicle
    links = agents * min(spec.network.mean_degree, max(agents - 1, 0)) / 2
    if links > MAX_PEER_LINKS:
        problems.append(
            f"network.mean_degree: got {spec.network.mean_degree} for {agents:,.0f} simulated "
            f"firms ({links:,.0f} links), expected at most {MAX_PEER_LINKS:,} links")
    return problems


def growth_problem(spec, sampled: float) -> str | None:
    """Growth must stay above -100% a year, and the fleet it compounds to within the ceiling
    by the scenario's last year."""
    path = spec.market.growth_per_year.value
    rates = list(path.values()) if isinstance(path, dict) else [path]
    if min(rates) <= -1:
        return f"market.growth_per_year: got {min(rates):g}, expected more than -1 (-100% a year)"
    fleet = sampled
    for year in range(spec.simulation.start_year, spec.simulation.max_end_year + 1):
        fleet *= 1 + max(at_year(path, year), 0.0)
        if fleet > MAX_SIMULATED_VEHICLES:
            return (f"market.growth_per_year: got growth taking the {sampled:,.0f} simulated "
                    f"vehicles past {MAX_SIMULATED_VEHICLES:,} by {year}, expected a fleet "
                    "within that ceiling until simulation.max_end_year")
    return None
