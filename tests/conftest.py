"""Shared fixtures: the built-in scenarios, a small fast model and helpers to write scenario
files.

The small model simulates 2% of the Mexico City fleet (about 3,100 vehicles), so a 30-year run
takes a fraction of a second. Session-scoped models are shared between tests: a test must not
step them further or change them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from fleetsim.scenarios import load, load_raw
from fleetsim.sim import FleetModel
from tests.helpers import SEED, SMALL_FRACTION, dump_scenario


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
    """Mexico City at 2%, seed 7, run 30 years. Shared: do not step or change it."""
    return FleetModel("mexico_city", rng=SEED, sample_fraction=SMALL_FRACTION).run(years=30)


@pytest.fixture(scope="session")
def small_results(small_model):
    return small_model.results()
