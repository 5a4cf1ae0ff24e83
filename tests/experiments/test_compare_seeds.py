"""`fleetsim run P --compare B --seeds N`: N paired seeds, every comparison figure's mean and 90%
interval in summary.json; the health and money figures beside the tonnes; --seeds checked."""

from __future__ import annotations

import json

import pytest

from fleetsim.sim.comparison import HEALTH_AND_MONEY, figures
from tests.experiments.test_cli import assert_user_error, cli

SMALL = "simulation.sample_fraction=0.02"


def run_compare(out, *extra: str) -> dict:
    result = cli("run", "scrappage_2015", "--compare", "baseline", "--years", "1", "--set", SMALL,
                 "--out", str(out), *extra)
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text())["comparison"]


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    return (run_compare(root / "pair", "--seeds", "2"),
            run_compare(root / "s43", "--seed", "43"))


def test_two_paired_seeds_give_mean_and_interval_of_every_figure(two_seeds):
    pair, alone43 = two_seeds
    assert pair["seeds"] == [42, 43]
    first, second = figures(pair), figures(alone43)
    assert set(pair["intervals"]) == set(first)
    for key, x in pair["intervals"].items():
        assert x["mean"] == pytest.approx((first[key] + second[key]) / 2, rel=1e-9, abs=1e-6)
        assert x["low"] <= x["mean"] <= x["high"], key
    assert set(HEALTH_AND_MONEY) == set(pair["health_and_money"])


def test_one_seed_has_an_interval_equal_to_its_value(two_seeds):
    _, alone = two_seeds
    assert alone["seeds"] == [43]
    for key, value in figures(alone).items():
        x = alone["intervals"][key]
        assert x["low"] == x["mean"] == x["high"] == pytest.approx(value), key


@pytest.mark.parametrize(("args", "fragment"), [
    (["--compare", "baseline", "--seeds", "0"], "--seeds: got '0', expected a whole number"),
    (["--compare", "baseline", "--seeds", "many"], "--seeds: got 'many'"),
    (["--seeds", "3"], "--seeds: got 3, expected 1 without --compare"),
])
def test_bad_seeds_are_user_errors_before_any_run(tmp_path, args, fragment):
    result = cli("run", "scrappage_2015", "--years", "1", "--set", SMALL,
                 "--out", str(tmp_path / "out"), *args)
    assert_user_error(result, fragment)
    assert not (tmp_path / "out").exists()
