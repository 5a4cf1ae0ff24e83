"""The national baseline run from its December 2014 stock (mexico_national_2015) against what
Mexico's register, sales and import statistics recorded in 2015-2024 (issue 12, "History").

Bands are docs/sources.md B1's "suggested validation band" (written by the research pass before
any of these runs) and are copied to docs/validation.md (## History 2015-2024). Nothing here was
fitted: the scenario's inputs are the Dec 2014 stock, the fleet's growth as GDP, and 2015-2024
diesel prices. A known mismatch is xfail(strict=True) with its measured value, so it fails the
day the mechanism is fixed and the mark must go."""

from __future__ import annotations

import pytest

from fleetsim.scenarios import load
from fleetsim.sim import FleetModel
from fleetsim.sim.metrics import yearly

SAMPLE, SEED = 0.05, 1


def band(value: float, rel: float) -> tuple[float, float]:
    return value * (1 - rel), value * (1 + rel)


# (figure, column, year, band, source) -- "register" figures compare with the federal register
CHECKS = [
    ("power units", "register", 2019, band(561_061, 0.05), "DGAF end 2019 (CANACAR)"),
    ("power units", "register", 2020, band(580_035, 0.05), "DGAF end 2020 (TyT)"),
    ("power units", "register", 2022, band(632_252, 0.05), "CANACAR Agenda 2022"),
    ("power units", "register", 2024, band(721_622, 0.05), "DGAF Dec 2024 (DATA.md)"),
    ("mean age, years", "register_age", 2019, (19.3, 21.3), "CANACAR 20.3 (2019)"),
    ("mean age, years", "register_age", 2022, (19.4, 21.4), "DGAF 20.37 (Jan 2023)"),
    ("mean age, years", "register_age", 2024, (18.3, 20.3), "DGAF 19.27 (Dec 2024)"),
    ("new cargo trucks sold", "entered_new", 2019, band(33_890, 0.15), "ANPACT retail 2019"),
    ("new cargo trucks sold", "entered_new", 2022, band(34_840, 0.15), "ANPACT retail 2022 [E]"),
    ("new cargo trucks sold", "entered_new", 2023, band(43_137, 0.15), "ANPACT retail 2023"),
    ("used imports", "entered_import", 2023, band(20_139, 0.15), "ANPACT 2023"),
    ("used imports", "entered_import", 2024, band(29_790, 0.15), "ANPACT 2024"),
]

# measured at 5%, seed 1 (docs/validation.md); fails the day a mechanism brings it inside
KNOWN_OUTSIDE: dict[tuple[str, int], str] = {
    ("register", 2022): "598k: the working fleet stays near 430-440k (exits not replaced)",
    ("register", 2024): "623k: the working fleet stays near 430-450k (exits not replaced)",
    ("register_age", 2019): "18.3 y: the first year's replacements renew the fleet (74.7k new)",
    ("register_age", 2022): "17.8 y: as for 2019",
    ("register_age", 2024): "17.4 y: as for 2019",
    ("entered_new", 2019): "15.1k: replacements only; the working fleet does not grow",
    ("entered_new", 2022): "27.2k: as for 2019",
    ("entered_new", 2023): "28.4k: as for 2019",
    ("entered_import", 2023): "3.4k: no mechanism drives the 2023-2024 import surge",
    ("entered_import", 2024): "3.3k: as for 2023",
    ("burst", 2015): "74.7k new in 2015 against 18.9k a year in 2016-2017",
}


@pytest.fixture(scope="module")
def years():
    model = FleetModel(load("mexico_national_2015",
                            {"simulation.sample_fraction": SAMPLE}), rng=SEED)
    model.run(years=10)
    table = yearly(model.results()).set_index("year")
    registered = "registered" in table  # the register layer, where the model has one
    table["register"] = table["registered" if registered else "vehicles"]
    table["register_age"] = table["registered_mean_age_years" if registered
                                  else "mean_age_years"]
    return table


def params():
    for figure, column, year, (lo, hi), source in CHECKS:
        reason = KNOWN_OUTSIDE.get((column, year))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(column, year, lo, hi, id=f"{figure} {year} ({source})", marks=marks)


@pytest.mark.slow
@pytest.mark.parametrize("column, year, lo, hi", params())
def test_history_within_the_observed_band(years, column, year, lo, hi):
    assert lo <= years.loc[year, column] <= hi, years.loc[year, column]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=KNOWN_OUTSIDE[("burst", 2015)])
def test_no_first_year_burst(years):
    # issue 12: the first year's new sales within 20% of the next two years' mean
    later = years.loc[[2016, 2017], "entered_new"].mean()
    assert abs(years.loc[2015, "entered_new"] / later - 1) <= 0.20, years["entered_new"]
