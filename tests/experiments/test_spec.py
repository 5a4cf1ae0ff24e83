"""Sweep specs are checked like scenarios: one line per problem, "path: got X, expected Y", and
the CLI exits 2 without a traceback. The built-in specs load and their runs build."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

from fleetsim.experiments import SpecError, Sweep
from fleetsim.experiments.cli import app
from fleetsim.experiments.design import design_points, design_size
from fleetsim.experiments.runner import execute
from fleetsim.experiments.spec import builtin_spec_names, parse_spec
from tests.experiments.conftest import TINY, write_spec


def problems(raw: dict) -> list[str]:
    with pytest.raises(SpecError) as info:
        Sweep.from_dict(raw)
    lines = info.value.problems
    assert lines and all("\n" not in ln for ln in lines)
    return lines


def test_unknown_keys_name_what_is_allowed():
    lines = problems({**TINY, "replicates": 3})
    assert lines == ["replicates: got an unknown key, expected one of: name, description, "
                     "presets, baseline, years, sample_fraction, overrides, parameters, design, "
                     "replications, seed, seeds, outputs, metrics"]
    lines = problems({**TINY, "parameters": {"g": {"path": "market.growth_per_year",
                                                   "valeus": [1]}}})
    assert any(ln.startswith("parameters.g.valeus: got an unknown key, expected one of: path")
               for ln in lines)


def test_values_and_distributions_must_fit_the_design():
    lines = problems({**TINY, "design": {"method": "sobol", "samples": 6}})
    assert "design.samples: got 6, expected a power of 2 for a sobol design" in lines
    assert "parameters.growth: got `values`, expected a distribution for a sobol design" in lines
    lines = problems({**TINY, "parameters": {"g": {"path": "decisions.peer_q",
                                                   "uniform": [0.2, 0.6]}}})
    assert lines == ["parameters.g: got a distribution, expected `values` for a grid design"]
    lines = problems({**TINY, "parameters": {"g": {"path": "decisions.peer_q",
                                                   "uniform": [0.6, 0.2]}}})
    assert lines == ["parameters.g: got bounds [0.6, 0.2], expected low < high"]
    lines = problems({**TINY, "parameters": {"g": {"path": "decisions.peer_q"}}})
    assert lines == ["parameters.g: got none, expected exactly one of values, uniform, "
                     "loguniform, triangular, normal"]


def test_paths_and_presets_are_checked_against_the_scenarios():
    lines = problems({**TINY, "parameters": {"g": {"path": "market.growth_per_yr",
                                                   "values": [0.01]}}})
    assert lines[0].startswith("parameters.g.path: market.growth_per_yr: got an unknown path, "
                               "expected one of: ")
    assert lines[0].endswith("(in preset mexico_city)")
    lines = problems({**TINY, "presets": ["mexico_city", "no_such_city"]})
    assert lines[0].startswith("presets.1: got 'no_such_city', expected a built-in name")
    lines = problems({**TINY, "baseline": "baseline"})
    assert lines == ["baseline: got 'baseline', expected one of the presets (mexico_city, "
                     "mexico_city_partnership)"]
    lines = problems({**TINY, "years": 40})
    assert lines == ["years: got 40, expected at most 36 (preset mexico_city runs 2025 to 2060)",
                     "years: got 40, expected at most 36 (preset mexico_city_partnership runs "
                     "2025 to 2060)"]
    lines = problems({**TINY, "years": -1, "outputs": "weekly"})
    assert "years: got -1, expected greater than 0" in lines
    assert "outputs: got 'weekly', expected 'yearly' or 'monthly'" in lines


def test_designs_have_the_sizes_salib_gives():
    def sized(design: dict, params: dict) -> tuple[int, int]:
        spec = parse_spec({"name": "d", "presets": ["mexico_city"], "design": design,
                           "parameters": params})
        return len(design_points(spec)), design_size(spec)

    two = {"a": {"path": "x", "uniform": [0, 1]}, "b": {"path": "y", "uniform": [1, 3]}}
    assert sized({"method": "sobol", "samples": 8}, two) == (32, 32)  # N (D + 2)
    assert sized({"method": "sobol", "samples": 8, "second_order": True}, two) == (48, 48)
    assert sized({"method": "morris", "samples": 5}, two) == (15, 15)  # N (D + 1)
    assert sized({"method": "latin_hypercube", "samples": 7}, two) == (7, 7)
    grid = {"a": {"path": "x", "values": [1, 2, 3]}, "b": {"path": "y", "values": [0, 1]}}
    assert sized({}, grid) == (6, 6)


def test_a_sampled_design_is_reproducible_and_within_its_bounds():
    raw = {"name": "d", "presets": ["mexico_city"],
           "design": {"method": "latin_hypercube", "samples": 50, "seed": 3},
           "parameters": {"q": {"path": "decisions.peer_q", "uniform": [0.2, 0.6]},
                          "days": {"path": "x", "triangular": [0, 6, 30], "integer": True}}}
    a, b = design_points(parse_spec(raw)), design_points(parse_spec(raw))
    assert a.equals(b)
    assert a["q"].between(0.2, 0.6).all() and a["days"].between(0, 30).all()
    assert a["days"].dtype.kind == "i"
    other = design_points(parse_spec({**raw, "design": {**raw["design"], "seed": 4}}))
    assert not a.equals(other)


def test_cli_sweep_with_a_bad_spec_exits_2_one_line_per_problem(tmp_path):
    spec = write_spec(tmp_path, {**TINY, "replications": 0, "seed": "x"})
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == ["replications: got 0, expected greater than or equal to 1",
                     "seed: got 'x', expected a valid integer, unable to parse string as an "
                     "integer"]
    assert not (tmp_path / "o").exists()


def test_cli_sweep_missing_spec_and_unreachable_scheduler_exit_2(tmp_path, monkeypatch):
    monkeypatch.setattr("fleetsim.experiments.executors.CONNECT_TIMEOUT", "2s")
    result = CliRunner().invoke(app, ["sweep", str(tmp_path / "nope.yaml"), "--out", "o"])
    assert result.exit_code == 2 and "spec: got" in result.stderr
    spec = write_spec(tmp_path, TINY)
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "o"),
                                      "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2
    assert result.stderr.startswith("--scheduler: got 'tcp://127.0.0.1:9', expected a reachable "
                                    "Dask scheduler")
    assert not (tmp_path / "o").exists()  # nothing written: a rerun is not refused


def test_cli_sweep_reports_its_counts_and_first_failure(tmp_path):
    spec = write_spec(tmp_path, {"name": "two", "presets": ["mexico_city"], "years": 1,
                                 "sample_fraction": 0.005, "parameters": {
                                     "q": {"path": "decisions.peer_q", "values": [0.3, -1]}}})
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(tmp_path / "o"),
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("two: 2 runs, 0 already done, 1 ok, 1 failed in ")
    assert lines[1].startswith("first failure: run 0000001 (mexico_city, point 1, seed 0): "
                               "decisions.peer_q: got -1")


def test_cli_report_on_a_folder_that_is_no_sweep_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "expected the output folder of `fleetsim sweep`" in result.stderr


@pytest.mark.parametrize("name", ["city_incentive_mix", "national_uncertainty"])
def test_builtin_specs_load_and_their_extreme_runs_build(name, tmp_path):
    assert name in builtin_spec_names()
    sweep = Sweep.from_file(name)
    tasks = list(sweep.tasks(tmp_path))
    assert len(tasks) == sweep.total
    assert len({t.run_id for t in tasks}) == sweep.total
    # the first and last points, at a tiny sample for one year: the overrides build a model
    for task in (tasks[0], tasks[-1]):
        small = dataclasses.replace(task, years=1, overrides={
            **task.overrides, "simulation.sample_fraction": 0.003})
        rec = execute(small)
        assert rec["status"] == "ok", rec["error"]


def test_the_incentive_mix_varies_the_real_policy_levers():
    sweep = Sweep.from_file("city_incentive_mix")
    assert sweep.preset_points == [1, 144]
    last = list(sweep.tasks("/nowhere"))[-1]
    assert last.preset == "clean_fleets_mix"
    assert last.overrides["policy.scrappage.0.bonus_mxn"] == 500000
    assert last.overrides["policy.retrofit_subsidies.0.amount_mxn"] == 100000
    assert last.overrides["partnerships.0.large_fleet_share"] == 0.6
    assert last.overrides["policy.contingency_curfews.0.days_per_year_observed"] == [30]
