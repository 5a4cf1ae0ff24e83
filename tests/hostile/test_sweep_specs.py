"""Hostile sweep specs: each exits 2 with one `path: got VALUE, expected WHAT` line per problem,
no traceback, within seconds, and writes nothing."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.experiments.hostile_support import SMALL_SWEEP, assert_clean_error, cli, fleetsim


def spec_with(**changes) -> dict:
    raw = copy.deepcopy(SMALL_SWEEP)
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def grid(**param) -> dict:
    return {"growth": {"path": "market.growth_per_year", **param}}


def lhs(**param) -> dict:
    return {"method": "latin_hypercube", "samples": 4}, {"growth": {
        "path": "market.growth_per_year", **param}}


HUGE = {f"p{i}": {"path": "market.growth_per_year", "values": [0.01 * k for k in range(1, 11)]}
        for i in range(7)}

CASES = {
    "grid mixing lists and numbers": (spec_with(parameters=grid(values=[[0.1, 0.2], 0.3])),
                                      "parameters.growth.values: got a mix of list and number"),
    "grid mixing strings and numbers": (spec_with(parameters=grid(values=["a", 0.3])),
                                        "parameters.growth.values: got a mix of string and number"),
    "grid of lists mixing items": (spec_with(parameters=grid(values=[[1, "a"], [2]])),
                                   "parameters.growth.values: got lists mixing number and"),
    "grid of mappings and lists": (spec_with(parameters=grid(values=[{"a": 1}, [2]])),
                                   "parameters.growth.values: got a mix of mapping and list"),
    "grid of mappings Arrow cannot store": (
        spec_with(parameters=grid(values=[{"a": 1}, {"a": "x"}])),
        "parameters: got values that cannot be stored together"),
    "grid of nulls": (spec_with(parameters=grid(values=[None, None])),
                      "parameters.growth.values: got null values"),
    "NaN in a grid": (spec_with(parameters=grid(values=[0.1, float("nan")])),
                      "parameters.growth.values: got nan, expected finite numbers"),
    "a grid value twice": (spec_with(parameters=grid(values=[0.1, 0.1])),
                           "parameters.growth.values: got a value more than once"),
    "empty grid": (spec_with(parameters=grid(values=[])),
                   "parameters.growth.values: got an empty list"),
    "empty seeds": (spec_with(seeds=[]), "seeds: got an empty list, expected at least one seed"),
    "negative seed in seeds": (spec_with(seeds=[1, -1]), "seeds.1: got -1, expected a whole"),
    "huge seed": (spec_with(seeds=[2**40]), f"seeds.0: got {2**40}, expected a whole number"),
    "negative seed": (spec_with(seed=-5), "seed: got -5, expected a whole number from 0"),
    "seed overflowing with replications": (spec_with(seed=2**32 - 1, replications=3),
                                           "seed: got 4294967295, expected"),
    "a seed twice": (spec_with(seeds=[4, 4]), "seeds: got a seed more than once"),
    "zero replications": (spec_with(replications=0), "replications: got 0, expected"),
    "unknown preset": (spec_with(presets=["atlantis"]), "presets.0: got 'atlantis'"),
    "preset path with traversal": (spec_with(presets=["mexico_city", "../../escaped/evil"]),
                                   "presets.1: got '../../escaped/evil', expected a plain name"),
    "preset dot-dot": (spec_with(presets=["mexico_city", ".."]),
                       "presets.1: got '..', expected a plain name"),
    "preset with a partition separator": (spec_with(presets=["a=b"]),
                                          "presets.0: got 'a=b', expected a plain name"),
    "preset file with a space in its name": (spec_with(presets=["../x/bad name.yaml"]),
                                             "presets.0: got '../x/bad name.yaml', expected a"),
    "NaN in a distribution": (spec_with(**dict(zip(("design", "parameters"),
                                                   lhs(uniform=[float("nan"), 1.0]), strict=True))),
                              "parameters.growth.uniform: got [nan, 1.0], expected finite"),
    "infinite sd": (spec_with(**dict(zip(("design", "parameters"),
                                         lhs(normal=[0.0, float("inf")]), strict=True))),
                    "parameters.growth.normal: got [0.0, inf], expected finite numbers"),
    "bounds reversed": (spec_with(**dict(zip(("design", "parameters"), lhs(uniform=[0.5, 0.1]),
                                             strict=True))),
                        "parameters.growth: got bounds [0.5, 0.1], expected low < high"),
    "triangular mode outside": (spec_with(**dict(zip(("design", "parameters"),
                                                     lhs(triangular=[0, 2, 1]), strict=True))),
                                "parameters.growth.triangular: got [0.0, 2.0, 1.0], expected"),
    "loguniform from zero": (spec_with(**dict(zip(("design", "parameters"),
                                                  lhs(loguniform=[0, 1]), strict=True))),
                             "parameters.growth.loguniform: got 0.0, expected a positive"),
    "zero samples": (spec_with(design={"method": "latin_hypercube", "samples": 0},
                               parameters={"growth": {"path": "market.growth_per_year",
                                                      "uniform": [0.0, 0.1]}}),
                     "design.samples: got 0, expected"),
    "sobol samples not a power of two": (
        spec_with(design={"method": "sobol", "samples": 6},
                  parameters={"growth": {"path": "market.growth_per_year",
                                         "uniform": [0.0, 0.1]}}),
        "design.samples: got 6, expected a power of 2"),
    "grid beyond the run cap": (spec_with(parameters=HUGE),
                                "spec: got 40,000,000 runs, expected at most 1,000,000"),
    "unknown outputs": (spec_with(outputs="daily"), "outputs: got 'daily', expected"),
    "zero years": (spec_with(years=0), "years: got 0, expected"),
    "negative years": (spec_with(years=-3), "years: got -3, expected"),
    "years beyond the schema": (spec_with(years=500), "years: got 500, expected"),
    "years as words": (spec_with(years="ten"), "years: got 'ten', expected"),
    "years beyond the preset": (spec_with(years=150), "years: got 150, expected at most"),
    "empty metrics": (spec_with(metrics=[]), "metrics: got an empty list"),
    "unknown key": (spec_with(colour="red"), "colour: got an unknown key"),
    "unknown parameter path": (spec_with(parameters=grid(path="market.nope", values=[1])),
                               "parameters.growth.path:"),
    "baseline not a preset": (spec_with(baseline="baseline"),
                              "baseline: got 'baseline', expected one of the presets"),
    "unknown design method": (spec_with(design={"method": "magic"}),
                              "design.method: got 'magic', expected"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_exits_2_with_one_line_per_problem(case, tmp_path):
    raw, fragment = CASES[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = cli("sweep", spec, "--out", tmp_path / "out", limit_s=15)
    assert_clean_error(result, fragment)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "escaped").exists()


@pytest.mark.parametrize("text, fragment", [
    ("- a list\n- not a mapping\n", "spec.yaml: got list, expected a mapping"),
    ("name: [unclosed\n", "spec.yaml: got malformed YAML"),
    (b"\xff\xfe\x00binary", "spec.yaml: got a byte that is not UTF-8 at byte 0"),
], ids=["not a mapping", "broken yaml", "binary"])
def test_unreadable_spec_files_exit_2(text, fragment, tmp_path):
    spec = tmp_path / "spec.yaml"
    if isinstance(text, bytes):
        spec.write_bytes(text)
    else:
        spec.write_text(text)
    assert_clean_error(cli("sweep", spec, "--out", tmp_path / "out", limit_s=15), fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_missing_spec_and_a_traversal_preset_through_the_executable(tmp_path):
    assert_clean_error(fleetsim("sweep", tmp_path / "nope.yaml", "--out", tmp_path / "o",
                                limit_s=30), "spec: got")
    raw = spec_with(presets=["../../escaped/evil"])
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(raw))
    assert_clean_error(fleetsim("sweep", tmp_path / "spec.yaml", "--out", tmp_path / "o",
                                limit_s=30), "presets.0: got '../../escaped/evil'")
    assert not (tmp_path / "o").exists()
