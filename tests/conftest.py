"""Shared fixtures: the built-in scenarios, small fast models and helpers to write scenario
files.

The small models simulate 2% of the Mexico City fleet (about 3,100 vehicles and 700 firms).
Session-scoped models and recorded runs are shared between tests: a test must not step them
further or change them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from fleetsim.scenarios import load, load_raw
from fleetsim.sim import FleetModel
from tests.helpers import SEED, SMALL_FRACTION, SMALL_YEARS, dump_scenario, recorded_run

LENDERS = tuple(load("mexico_city").credit.lenders)


@pytest.fixture(scope="session")
def city_raw_session() -> dict:
    return load_raw("mexico_city")


@pytest.fixture
def city_raw(city_raw_session) -> dict:
    """The merged raw mapping of mexico_city, self-contained: `extends` is dropped because the
    mapping already holds everything the base gave (re-extending would merge the base twice)."""
    raw = copy.deepcopy(city_raw_session)
    raw.pop("extends", None)
    return raw


@pytest.fixture
def write_scenario(tmp_path):
    """write_scenario(raw, name="scenario.yaml") -> path of a YAML file holding `raw`."""

    def write(raw: dict, name: str = "scenario.yaml") -> Path:
        return dump_scenario(tmp_path / name, raw)

    return write


@pytest.fixture(scope="session")
def city_spec():
    return load("mexico_city")


@pytest.fixture(scope="session")
def small_model() -> FleetModel:
    """Mexico City at 2%, seed 7, run 10 years (long enough for 5-year loans to be repaid and
    for ten Januaries). Shared: do not step or change it."""
    return FleetModel("mexico_city", rng=SEED, sample_fraction=SMALL_FRACTION).run(
        years=SMALL_YEARS)


@pytest.fixture(scope="session")
def small_results(small_model):
    return small_model.results()


@pytest.fixture(scope="session")
def city_log():
    """Mexico City at 2%, three years, every decision and a registry snapshot each month."""
    return recorded_run("mexico_city", months=36)


CREDIT_OVERRIDES = {
    # one-year loans, so that loans are repaid within the run
    **{f"credit.lenders.{name}.term_months": 12 for name in LENDERS},
    # battery-electric trucks attractive enough to be bought (on credit) by many firms
    "decisions.technology_constants.battery_electric": 4.0,
    "decisions.outside_p": 0.5,
}
SHOCK_MONTH = 12


def cash_shock(model, k: int) -> None:
    """Before the 13th month, every other indebted firm loses far more cash than it can earn
    back: it stays negative and defaults."""
    if k == SHOCK_MONTH:
        borrowers = np.unique(model.loans.borrower[model.loans.active()])
        model.operator_arrays.cash[borrowers[::2]] = -1e10


@pytest.fixture(scope="session")
def credit_log():
    """Mexico City at 2% for two years with one-year loans, popular electric trucks and a cash
    shock after a year: loans are made, repaid and defaulted, vehicles repossessed."""
    return recorded_run("mexico_city", months=24, seed=3, overrides=CREDIT_OVERRIDES,
                        before_step=cash_shock)
