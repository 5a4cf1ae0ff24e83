"""Hostile and broken command lines for `fleetsim run`, `validate` and `scenarios`, in-process
through main() (the executable's entry point): a user mistake exits 2 with one line per problem
"path: got VALUE, expected WHAT"; a bug exits 1 with one line naming the log of its traceback;
a run whose results are not finite exits 2 naming the column and month."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fleetsim.scenarios.schema_limits import MAX_HORIZON_YEARS
from fleetsim.scenarios.yaml_input import MAX_DEPTH, MAX_NODES
from fleetsim.sim.checks import NonFiniteResult, check_finite

from .conftest import assert_refused, invoke

SMALL = "simulation.sample_fraction=0.005"
YEARS = f"--years: got {{!r}}, expected a finite number of years above 0 and at most " \
        f"{MAX_HORIZON_YEARS}"
SEED = "--seed: got {!r}, expected a whole number from 0 to 9223372036854775807"
BOMB = "[" + ", ".join(["[" + ", ".join(["x"] * 200) + "]"] * 200) + "]"  # 40,200 values
ALIAS_BOMB = "[&a [x, x, x, x, x, x, x, x, x, x], " + ", ".join(["*a"] * 3000) + "]"

# (id, arguments after `run mexico_city`, the first line starts with)
RUN_CASES = [
    *[(f"years_{v}", ["--years", v], YEARS.format(v))
      for v in ("nan", "inf", "-inf", "-1", "0", "1e9", "1e400", "abc", "", "101")],
    ("years_too_few_months", ["--years", "0.01"], "years: got 0.01, expected a number of years "
     "from 1/12 to 36 (the scenario ends with 2060)"),
    ("years_past_the_scenario", ["--years", "99"], "years: got 99.0, expected a number of years "
     "from 1/12 to 36"),
    *[(f"seed_{name}", ["--seed", v], SEED.format(v))
      for name, v in (("minus_1", "-1"), ("2_64", str(2**64)), ("2_63", str(2**63)),
                      ("abc", "abc"), ("fraction", "1.5"), ("empty", ""), ("nan", "nan"))],
    ("format_bad", ["--format", "xlsx"], "--format: got 'xlsx', expected parquet or csv"),
    ("format_empty", ["--format", ""], "--format: got '', expected parquet or csv"),
    ("set_unknown_path", ["--set", "market.nope=1"], "market.nope: got an unknown path, "
     "expected one of: growth_per_year"),
    ("set_without_equals", ["--set", "market.growth_per_year"],
     "--set: got 'market.growth_per_year', expected dotted.path=value"),
    ("set_without_path", ["--set", "=5"], "--set: got '=5', expected dotted.path=value"),
    ("set_nan", ["--set", "market.growth_per_year=.nan"],
     "market.growth_per_year.value: got nan, expected a finite number"),
    ("set_inf_fuel_price", ["--set", "fuels.diesel.price_mxn_per_unit=.inf"],
     "fuels.diesel.price_mxn_per_unit: got inf, expected a finite number"),
    ("set_1e400", ["--set", "usage.km_spread_sigma=1e400"],
     "usage.km_spread_sigma: got '1e400', expected a finite number"),
    ("set_minus_1e400", ["--set", "usage.km_spread_sigma=-1.0e+400"],
     "usage.km_spread_sigma: got -inf, expected a finite number"),
    ("set_nan_in_year_path", ["--set", "market.growth_per_year.value.2025=.nan"],
     "market.growth_per_year.value.2025: got nan, expected a finite number"),
    ("set_nan_sample_fraction", ["--set", "simulation.sample_fraction=.nan"],
     "simulation.sample_fraction: got nan, expected a finite number"),
    ("set_huge_firms", ["--set", "operators.bands.micro.firms=1000000000000"],
     "operators.bands.micro.firms: got 1000000000000, expected a whole number of at most"),
    ("set_negative_count", ["--set", "classes.C2.initial_stock_units=-1"],
     "classes.C2.initial_stock_units.value: got -1, expected greater than or equal to 0"),
    ("set_runaway_growth", ["--set", "market.growth_per_year=5"],
     "market.growth_per_year: got growth taking the "),
    ("set_deep_path", ["--set", "a." * 2000 + "b=1"], "a: got an unknown path"),
    ("set_deep_value", ["--set", "usage.km_spread_sigma=" + "[" * 1500 + "]" * 1500],
     f"usage.km_spread_sigma: got nesting deeper than {MAX_DEPTH} levels"),
    ("set_many_values", ["--set", "usage.km_spread_sigma=" + BOMB],
     f"usage.km_spread_sigma: got more than {MAX_NODES} values"),
    ("set_alias_bomb", ["--set", "usage.km_spread_sigma=" + ALIAS_BOMB],
     f"usage.km_spread_sigma: got more than {MAX_NODES} values (aliases expanded)"),
    ("set_recursive_alias", ["--set", "usage.km_spread_sigma=&a [*a]"],
     "usage.km_spread_sigma: got an alias inside its own anchor"),
    ("set_impossible_date", ["--set", "regulation.new_vehicle_standards.0.effective=2025-13-01"],
     "regulation.new_vehicle_standards.0.effective: got '2025-13-01', expected a valid value"),
    ("set_duplicate_key", ["--set", "usage={km_spread_sigma: 1, km_spread_sigma: 2}"],
     "usage: got the key 'km_spread_sigma' twice, expected each key once"),
    ("set_python_tag", ["--set", "usage.km_spread_sigma=!!python/name:os.system"],
     "usage.km_spread_sigma: got '!!python/name:os.system', expected a valid number"),
    ("compare_unknown", ["--compare", "no_such_baseline"], "scenario: got 'no_such_baseline'"),
    ("unknown_option", ["--bogus"], "--bogus: got an unknown option, expected one listed by"),
    ("option_without_value", ["--years"], "--years: got nothing, expected a value after it"),
]


@pytest.mark.parametrize(("args", "prefix"), [c[1:] for c in RUN_CASES],
                         ids=[c[0] for c in RUN_CASES])
def test_bad_run_command_line(tmp_path, args, prefix):
    out = tmp_path / "out"
    needs_value = "--years" in args and len(args) == 1
    tail = [] if needs_value else ["--out", str(out)]
    assert_refused(invoke("run", "mexico_city", *tail, *args), prefix)
    assert not out.exists(), "nothing is written for a refused run"


@pytest.mark.parametrize(("args", "prefix"), [
    (["run"], "SCENARIO: got nothing, expected a value"),
    (["validate"], "FILE: got nothing, expected a value"),
    (["nosuch"], "command: got 'nosuch', expected one of: app, calibrate, report, run, scenarios"),
    (["run", "no_such_scenario"], "scenario: got 'no_such_scenario', expected a built-in name"),
    (["validate", "mexico_city", "--set", "market.growth_per_year=.inf"],
     "market.growth_per_year.value: got inf, expected a finite number"),
    (["validate", "mexico_city", "--set", "x"], "--set: got 'x', expected dotted.path=value"),
    (["scenarios", "extra"], "fleetsim scenarios: got 'Got unexpected extra argument"),
    (["scenarios", "--bogus"], "--bogus: got an unknown option"),
], ids=["run_no_scenario", "validate_no_file", "unknown_command", "unknown_scenario",
        "validate_set_inf", "validate_set_no_equals", "scenarios_extra_arg",
        "scenarios_unknown_option"])
def test_bad_command_line(args, prefix):
    assert_refused(invoke(*args), prefix)


def test_several_problems_one_line_each(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("name: two\nextends: mexico_city\nusage: {km_spread_sigma: .nan, "
                    "km_min_share_of_new: .inf}\n")
    lines = assert_refused(invoke("validate", str(path)), "usage.km_")
    assert len(lines) == 2 and all("expected a finite number" in ln for ln in lines), lines


# ---- a bug: one line, exit 1, the traceback in a log file -----------------------------------

def test_internal_error_is_one_line_and_a_log(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETSIM_ERROR_DIR", str(tmp_path / "errors"))

    def broken(*_args, **_kwargs):
        raise RuntimeError("deliberate bug for the test")

    monkeypatch.setattr("fleetsim.experiments.cli.load", broken)
    result = invoke("validate", "mexico_city")
    (line,) = assert_refused(result, "fleetsim: internal error (a bug, not your input): "
                             "RuntimeError at test_cli_inputs.py:", code=1)
    logs = list((tmp_path / "errors").iterdir())
    assert len(logs) == 1 and f"details written to {logs[0]}" in line
    text = logs[0].read_text()
    assert "Traceback" in text and "deliberate bug for the test" in text
    assert "validate mexico_city" in text


def test_internal_error_log_falls_back_to_the_temporary_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FLEETSIM_ERROR_DIR", str(blocker / "errors"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr("fleetsim.experiments.cli.describe_builtins",
                        lambda: 1 / 0)
    result = invoke("scenarios")
    (line,) = assert_refused(result, "fleetsim: internal error", "ZeroDivisionError", code=1)
    (log,) = tmp_path.glob("fleetsim-error-*.log")
    assert str(log) in line


# ---- results must be finite -------------------------------------------------------------------

def test_run_with_non_finite_results_names_the_column_and_month(tmp_path):
    """A finite but absurd fuel price overflows the energy cost: refused, nothing written."""
    out = tmp_path / "o"
    result = invoke("run", "mexico_city", "--years", "0.1", "--set", SMALL,
                    "--set", "fuels.diesel.price_mxn_per_unit=1.0e+308", "--out", str(out),
                    extra_memory=4 * 2**30)  # a (small) run: Mesa, pandas and their pools
    assert_refused(result, "results.", "in 2025-01, expected a finite number")
    assert not out.exists()


def test_check_finite_allows_nan_where_it_means_no_limit():
    frame = pd.DataFrame({"date": ["2025-01", "2025-02"], "vehicles": [1.0, 2.0],
                          "units_left_x": [np.nan, np.nan], "budget_left_x_mxn": [np.nan, 3.0],
                          "label": ["a", "b"]})
    check_finite(frame)
    frame.loc[1, "budget_left_x_mxn"] = np.inf
    with pytest.raises(NonFiniteResult, match=r"^results.budget_left_x_mxn: got inf in 2025-02"):
        check_finite(frame)


def test_check_finite_names_the_first_bad_column_and_month():
    frame = pd.DataFrame({"date": ["2025-01", "2025-02", "2025-03"], "a": [1.0, 2.0, 3.0],
                          "b": [1.0, 1.0, np.nan], "c": [np.inf, 1.0, 1.0]})
    with pytest.raises(NonFiniteResult, match=r"^results.b: got nan in 2025-03, expected a "
                                              r"finite number \(an input out of range"):
        check_finite(frame, "the inputs")
