"""Small sweeps shared by the experiments tests: Mexico City at 0.5-1% for a year or two, so a
run takes a fraction of a second."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from fleetsim.experiments import Sweep
from fleetsim.experiments.storage import SweepDir

TINY = {
    "name": "tiny",
    "presets": ["mexico_city", "mexico_city_partnership"],
    "years": 2,
    "sample_fraction": 0.005,
    "parameters": {
        "growth": {"path": "market.growth_per_year", "values": [0.01, 0.04]},
        # -1 is not a valid peer_q: those runs fail when the model is built
        "peer_q": {"path": "decisions.peer_q", "values": [0.2, 0.6, -1.0]},
    },
    "replications": 2,
    "seed": 11,
}  # 2 presets x 6 points x 2 seeds = 24 runs, 8 of them failing


def write_spec(folder: Path, raw: dict, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def dataset(out: Path) -> pd.DataFrame:
    """The sweep's data as one frame in run order (what must not depend on how it ran)."""
    return SweepDir(out).read_data()


@pytest.fixture(scope="session")
def tiny_spec(tmp_path_factory) -> Path:
    return write_spec(tmp_path_factory.mktemp("spec"), TINY)


@pytest.fixture(scope="session")
def tiny_reference(tiny_spec, tmp_path_factory) -> Path:
    """The tiny sweep, uninterrupted, on two local worker processes. Shared: do not change."""
    out = tmp_path_factory.mktemp("ref") / "sweep"
    Sweep.from_file(tiny_spec).run(out, workers=2)
    return out
