"""`fleetsim calibrate` on a small case: Mexico City at 1% for two years, observations made by
the model itself at a known growth factor; rejection ABC over a Latin hypercube must recover
it, report the held-out year apart, write an overlay that loads, resume from the sweep's
finished runs, and refuse a bad targets file with exit status 2 before any run."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from fleetsim.experiments.calibrate import calibrate, read_targets
from fleetsim.experiments.cli import main
from fleetsim.scenarios import load
from fleetsim.scenarios.loader import load_raw
from fleetsim.sim import FleetModel
from fleetsim.sim.metrics import yearly

TRUE_FACTOR = 1.3  # the growth path x this made the "observations"
SEED, SAMPLE = 4, 0.01


def observed_vehicles() -> dict[int, float]:
    base = load_raw("mexico_city")["market"]["growth_per_year"]["value"]
    path = {k: v * TRUE_FACTOR for k, v in base.items()}
    model = FleetModel("mexico_city", rng=SEED, sample_fraction=SAMPLE,
                       overrides={"market.growth_per_year.value": path})
    model.run(years=2)
    y = yearly(model.results()).set_index("year")["vehicles"]
    return {int(k): float(v) for k, v in y.items()}


def targets_file(folder, observed: dict[int, float], **changes) -> str:
    raw = {
        "name": "tiny_city",
        "description": "growth factor recovered from the model's own output",
        "scenario": "mexico_city", "years": 2, "sample_fraction": SAMPLE, "seeds": [SEED],
        "design": {"samples": 12, "seed": 3}, "accept": {"quantile": 0.25},
        "parameters": {"market.growth_per_year.value": {"range": [0.4, 2.2], "scale": True,
                                                  "source": "test"}},
        "targets": {"stock": {
            "column": "vehicles", "unit": "vehicles", "source": "the model at factor 1.3",
            "observed": {2025: observed[2025], 2026: observed[2026] * 1.5},
            # 2026 is held out: its observation is deliberately off and must not matter
            "band": {2025: [observed[2025] * 0.99, observed[2025] * 1.01],
                     2026: [observed[2026] * 1.4, observed[2026] * 1.6]},
            "held_out": [2026]}},
    }
    raw.update(changes)
    path = folder / "targets.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calib")
    path = targets_file(folder, observed_vehicles())
    out = folder / "out"
    written = calibrate(path, out, workers=1)
    return path, out, written


def test_the_known_factor_is_recovered_within_the_posterior(calibrated):
    _, out, written = calibrated
    assert written[-1].name == "report.md"
    post = pd.read_csv(out / "posterior.csv").set_index("parameter")
    row = post.loc["market.growth_per_year.value"]
    assert row["accepted"] == 3  # a quarter of 12 points
    assert row["min"] <= TRUE_FACTOR <= row["max"] or abs(row["median"] - TRUE_FACTOR) < 0.15
    assert abs(row["median"] - TRUE_FACTOR) < 0.25  # the prior's middle is 1.3 +- 0.9
    dist = pd.read_csv(out / "distances.csv")
    assert len(dist) == 12
    acc = pd.read_csv(out / "accepted.csv")
    assert sorted(acc["distance"]) == sorted(dist["distance"].nsmallest(3))


def test_held_out_years_are_reported_apart_and_not_fitted(calibrated):
    _, out, _ = calibrated
    cmp = pd.read_csv(out / "comparison.csv")
    held = cmp[cmp["held_out"]]
    assert held["year"].tolist() == [2026]
    assert not held["within_band"].iloc[0]  # the deliberately wrong 2026 is missed
    assert cmp[~cmp["held_out"]]["year"].tolist() == [2025]
    report = (out / "report.md").read_text()
    assert "| held out |" in report and "| fitted |" in report
    assert (out / "calibration.png").stat().st_size > 1000


def test_the_overlay_extends_the_scenario_with_the_posterior_median(calibrated):
    _, out, _ = calibrated
    spec = load(str(out / "overlay.yaml"))
    median = pd.read_csv(out / "posterior.csv")["median"].iloc[0]
    base = load("mexico_city").market.growth_per_year.value
    got = spec.market.growth_per_year.value
    assert set(got) == set(base)
    for year, v in base.items():
        assert got[year] == pytest.approx(v * median)
    assert "# Accepted sets" in (out / "overlay.yaml").read_text()


def test_a_second_call_resumes_from_the_finished_runs(calibrated):
    path, out, _ = calibrated
    before = (out / "runs" / "manifest.jsonl").read_text().splitlines()
    first = (out / "posterior.csv").read_text()
    calibrate(path, out, workers=1)
    after = (out / "runs" / "manifest.jsonl").read_text().splitlines()
    assert after == before  # nothing ran again
    assert (out / "posterior.csv").read_text() == first
    assert all(json.loads(line)["status"] == "ok" for line in after)


@pytest.mark.parametrize("changes, expected", [
    ({"parameters": {"market.growth_per_yaer": {"range": [0.5, 1.5], "scale": True}}},
     "parameters.market.growth_per_yaer: got"),
    ({"parameters": {"decisions.peer_q": {"range": [-1.0, 0.5]}}},
     "parameters.decisions.peer_q.range: got -1.0"),
    ({"parameters": {"market.growth_per_year": {"range": [1.5, 0.5]}}},
     "parameters.market.growth_per_year.range: got [1.5, 0.5], expected finite [low, high]"),
    ({"targets": {"x": {"column": "no_such_column", "unit": "u", "source": "s",
                        "observed": {2025: 1.0}, "band": {2025: [0.5, 1.5]}}}},
     "targets.x.column: got 'no_such_column', expected a results column"),
    ({"targets": {"x": {"column": "vehicles", "unit": "u", "source": "s",
                        "observed": {2025: 1.0}, "band": {2025: [2.0, 3.0]}}}},
     "targets.x.band.2025: got [2.0, 3.0], expected low < high around the observed 1.0"),
    ({"seeds": []}, "seeds: got a list, expected"),
])
def test_a_bad_targets_file_exits_2_before_any_run(tmp_path, capsys, changes, expected):
    path = targets_file(tmp_path, {2025: 100.0, 2026: 100.0}, **changes)
    out = tmp_path / "out"
    assert main(["calibrate", path, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert not out.exists()  # nothing was run or written


def test_a_missing_targets_file_exits_2(tmp_path, capsys):
    assert main(["calibrate", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)]) == 2
    assert "targets: got" in capsys.readouterr().err


def test_the_mexico_targets_file_is_valid():
    targets, _ = read_targets("experiments/calibration/mexico_national.yaml")
    assert targets.scenario == "mexico_national"
    assert any(t.held_out for t in targets.targets.values())
