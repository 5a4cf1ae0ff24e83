"""`fleetsim run PRESET --compare BASELINE`: emissions avoided and public cost per tonne in
summary.json, computed from the two runs; presets on another fleet are refused as a user error.
And every policy preset loads, is listed on one line, and compares with its baseline."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fleetsim.scenarios import builtin_names, describe_builtins, load
from fleetsim.sim import FleetModel
from fleetsim.sim.comparison import check_comparable, compare
from fleetsim.sim.output import EMISSIONS
from tests.experiments.test_cli import assert_user_error, cli, fleetsim

SMALL = "simulation.sample_fraction=0.02"
CITY_PRESETS = ["autorregulacion", "clean_fleets_mix", "contingency_curfew",
                "partnership_finance", "scrappage_2015", "zev_strategy_2030"]
NATIONAL_PRESETS = ["border_drayage_zev"]
PRESETS = ["baseline", "baseline_national", *CITY_PRESETS, *NATIONAL_PRESETS]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "out"
    result = fleetsim("run", "clean_fleets_mix", "--compare", "baseline", "--years", "2",
                      "--set", SMALL, "--out", str(out))
    return result, out


def test_compare_writes_avoided_emissions_and_cost_per_tonne(compared):
    result, out = compared
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "against baseline" in result.stdout
    info = json.loads((out / "summary.json").read_text())
    cmp = info["comparison"]
    assert cmp["baseline"] == "baseline" and cmp["months"] == 24 and cmp["seed"] == 42
    assert set(cmp["avoided_t"]) == set(EMISSIONS)
    assert set(cmp["public_cost_mxn_per_t_avoided"]) == set(EMISSIONS)
    # the baseline spends nothing: the extra spending is the preset's own
    assert cmp["public_spending_mxn"] == pytest.approx(info["policy"]["public_spending_mxn"])
    assert cmp["public_spending_mxn"] > 0
    for key in EMISSIONS:
        avoided, per_t = cmp["avoided_t"][key], cmp["public_cost_mxn_per_t_avoided"][key]
        if avoided > 0:
            assert per_t == pytest.approx(cmp["public_spending_mxn"] / avoided)
        else:
            assert per_t is None


def test_compare_is_the_difference_of_the_two_runs(compared):
    """avoided = baseline's emissions less the preset's, over the same months and seed."""
    _, out = compared
    cmp = json.loads((out / "summary.json").read_text())["comparison"]
    preset = pd.read_parquet(out / "timeseries.parquet")
    base = FleetModel("baseline", rng=42, sample_fraction=0.02).run(years=2).results()
    for key in EMISSIONS:
        assert cmp["avoided_t"][key] == pytest.approx(base[key].sum() - preset[key].sum(),
                                                      rel=1e-9, abs=1e-9)


def test_compare_function_matches_its_inputs():
    a = FleetModel("scrappage_2015", rng=3, sample_fraction=0.02).run(years=2)
    b = FleetModel("baseline", rng=3, sample_fraction=0.02).run(years=2)
    cmp = compare(a, b)
    ra, rb = a.results(), b.results()
    assert cmp["public_spending_mxn"] == pytest.approx(ra["public_spending_mxn"].sum())
    assert cmp["public_spending_mxn"] > 0
    assert cmp["avoided_t"]["pm25_t"] == pytest.approx(rb["pm25_t"].sum() - ra["pm25_t"].sum())
    short = FleetModel("baseline", rng=3, sample_fraction=0.02).run(years=1)
    with pytest.raises(ValueError, match="months"):
        compare(a, short)


def test_city_preset_against_the_national_baseline_is_a_user_error():
    result = fleetsim("run", "scrappage_2015", "--compare", "baseline_national", "--years", "1",
                      "--set", "simulation.sample_fraction=0.005")
    lines = assert_user_error(result, "--compare", "baseline_national")
    assert len(lines) == 1, lines


def test_policy_overrides_apply_to_the_preset_only(tmp_path):
    """The baseline has no scrappage instrument: a --set on the preset's policy must not be
    applied to it."""
    out = tmp_path / "out"
    result = cli("run", "scrappage_2015", "--compare", "baseline", "--years", "2", "--set", SMALL,
                 "--set", "policy.scrappage.0.bonus_mxn=100000", "--out", str(out))
    assert result.exit_code == 0, result.output
    info = json.loads((out / "summary.json").read_text())
    assert info["comparison"]["public_spending_mxn"] > 0
    res = pd.read_parquet(out / "timeseries.parquet")
    units = res["spend_scrappage_2015_mxn"] * 0.02 / 100_000
    np.testing.assert_allclose(units, np.round(units), atol=1e-6)


def test_a_scenario_compared_with_itself_avoids_nothing(tmp_path):
    out = tmp_path / "out"
    result = cli("run", "baseline", "--compare", "baseline", "--years", "1", "--set", SMALL,
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    cmp = json.loads((out / "summary.json").read_text())["comparison"]
    assert all(v == 0 for v in cmp["avoided_t"].values())
    assert all(v is None for v in cmp["public_cost_mxn_per_t_avoided"].values())
    assert cmp["public_spending_mxn"] == 0


def test_compare_with_an_unknown_scenario_is_a_user_error(tmp_path):
    result = cli("run", "scrappage_2015", "--compare", "no_such_baseline", "--years", "1",
                 "--set", SMALL, "--out", str(tmp_path / "out"))
    assert_user_error(result, "no_such_baseline")
    assert not (tmp_path / "out").exists()


# ---- presets ------------------------------------------------------------------------------------

def test_every_preset_is_built_in_and_listed_on_one_line():
    assert set(PRESETS) <= set(builtin_names())
    described = describe_builtins()
    for name in PRESETS:
        text = described[name]
        assert text and "\n" not in text, name
    result = cli("scenarios")
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == len(builtin_names())
    for name in PRESETS:
        assert sum(ln.split()[0] == name for ln in lines) == 1, name


@pytest.mark.parametrize("name", CITY_PRESETS + NATIONAL_PRESETS)
def test_each_policy_preset_loads_runs_and_compares_with_its_baseline(name):
    spec = load(name)
    assert spec.policy.instruments() or spec.partnerships, "a preset has something to compare"
    for _, x in spec.policy.instruments():
        assert x.source.strip(), (name, x.name)
    national = name in NATIONAL_PRESETS
    fraction = 0.002 if national else 0.01
    model = FleetModel(name, rng=1, sample_fraction=fraction)
    model.step()
    res = model.results()
    assert len(res) == 1 and np.isfinite(res["public_spending_mxn"]).all()
    base = FleetModel("baseline_national" if national else "baseline", rng=1,
                      sample_fraction=fraction)
    check_comparable(model, base)
    wrong = FleetModel("baseline" if national else "baseline_national", rng=1,
                       sample_fraction=fraction)
    with pytest.raises(Exception, match="compare"):
        check_comparable(model, wrong)
