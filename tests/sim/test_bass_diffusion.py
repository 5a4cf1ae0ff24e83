"""Peer influence reduces to Bass diffusion in its stated limit (issue 13): with neutral costs
among the options that keep or bring a vehicle, leaving out of the question, a complete peer
graph and no adopter at the start, the share of firms that have adopted battery-electric trucks
follows Bass's closed form F(t) = (1 - exp(-(p + q) t)) / (1 + (q / p) exp(-(p + q) t)).

Stated before running: within 0.03 at years 5, 10, 15 and 20 for (p, q) = (0.01, 0.40) and
(0.03, 0.38), averaged over four seeds of a 5% sample of Mexico City (~1,800 firms).
"""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel
from tests.helpers import no_quotas

YEARS = (5, 10, 15, 20)
SEEDS = (1, 2, 3, 4)
FRACTION = 0.05
TECHS = ("diesel_pre1994", "diesel_epa1998", "diesel_epa2004", "diesel_epa2007",
         "diesel_epa2010", "natural_gas", "battery_electric", "diesel_dpf_retrofit")


def bass(p: float, q: float, t: float) -> float:
    e = np.exp(-(p + q) * t)
    return (1 - e) / (1 + (q / p) * e)


def bass_limit(p: float, q: float) -> dict:
    """Costs irrelevant (no cost sensitivity, no keep constant, cash never short), every
    technology the same constant so that leaving (utility 0) is out of the question, a complete
    graph, electric the
    only family to adopt (gas counted as diesel, filter retrofits closed: no ultra-low-sulphur
    diesel), and no electric truck or filter at the start (the city has no demonstration or
    partnership)."""
    out = {f"decisions.bands.{b}.cost_sensitivity_per_million_mxn": 0 for b in SIZE_BANDS}
    out |= {f"decisions.bands.{b}.keep_constant": 0 for b in SIZE_BANDS}
    # firms start with cash for centuries: money never closes an option or ends a firm
    out |= {f"decisions.bands.{b}.cash_start_months": 12_000 for b in SIZE_BANDS}
    out |= {"decisions.technology_constants": dict.fromkeys(TECHS, 12.0),
            "network.generator": "complete", "decisions.outside_p": p, "decisions.peer_q": q,
            "technologies.natural_gas.family": "diesel",
            "regions.zmvm.ulsd_available_from": "2100-01-01", "initial_stock.placed": [],
            "initial_stock.retrofitted": [],
            **no_quotas()}
    return out


def adopted_shares(p: float, q: float, seed: int) -> list[float]:
    model = FleetModel("mexico_city", rng=seed, sample_fraction=FRACTION,
                       overrides=bass_limit(p, q))
    electric = model.tables.family_reported[model.tables.tech_code["battery_electric"]]
    assert not model.uses()[:, electric].any(), "no adopter at the start"
    out, done = [], 0
    for year in YEARS:
        model.run(years=year - done)
        done = year
        out.append(float(model.adopted[:, electric].mean()))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("p", "q"), [(0.01, 0.40), (0.03, 0.38)])
def test_adoption_follows_bass_closed_form(p, q):
    shares = np.mean([adopted_shares(p, q, s) for s in SEEDS], axis=0)
    expected = np.array([bass(p, q, t) for t in YEARS])
    print(f"p={p} q={q}: model {np.round(shares, 3)}, Bass {np.round(expected, 3)}")
    np.testing.assert_allclose(shares, expected, atol=0.03)
