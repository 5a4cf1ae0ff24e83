"""The `fleetsim` command line, end to end (the installed executable in a subprocess), and
atomic output files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fleetsim.experiments.cli import app
from fleetsim.scenarios import builtin_names
from fleetsim.sim.output import atomic_write

FLEETSIM = Path(sys.executable).parent / "fleetsim"
SMALL = "simulation.sample_fraction=0.02"


def fleetsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run([str(FLEETSIM), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def cli(*args: str):
    """In-process run (faster); exceptions other than exits are kept in result.exception."""
    return CliRunner().invoke(app, list(args))


def assert_user_error(result, *fragments: str) -> list[str]:
    """Exit 2, one line per problem on stderr, no traceback."""
    stderr = result.stderr
    code = result.returncode if hasattr(result, "returncode") else result.exit_code
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines
    for fragment in fragments:
        assert any(fragment in ln for ln in lines), (fragment, lines)
    return lines


@pytest.fixture(scope="module")
def good_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scen")
    path = folder / "good.yaml"
    path.write_text("name: good\nextends: mexico_city\nusage:\n  km_spread_sigma: 0.2\n")
    return path


# ---- the executable -----------------------------------------------------------------------------

def test_executable_is_installed():
    assert FLEETSIM.exists()


def test_scenarios_lists_builtins():
    result = fleetsim("scenarios")
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert names == builtin_names()
    assert "baseline" in names and "clean_fleets_mix" in names
    assert "Mexico City" in result.stdout and "partnership" in result.stdout


def test_run_writes_parquet_and_summary(tmp_path):
    out = tmp_path / "out"
    result = fleetsim("run", "mexico_city", "--years", "2", "--seed", "3", "--set", SMALL,
                      "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    table = pd.read_parquet(out / "timeseries.parquet")
    assert len(table) == 24
    assert table["date"].iloc[0] == "2025-01" and table["date"].iloc[-1] == "2026-12"
    assert {"vehicles", "pm25_t", "share_soot_free"} <= set(table.columns)
    info = json.loads((out / "summary.json").read_text())
    assert info["scenario"] == "mexico_city"
    assert info["seed"] == 3
    assert info["version"] == "0.1.0"
    assert info["sample_fraction"] == 0.02
    assert isinstance(info["wall_time_s"], float) and info["wall_time_s"] > 0
    assert info["months"] == 24
    headline = info["headline"]
    assert headline["vehicles_end"] == pytest.approx(table["vehicles"].iloc[-1])
    assert headline["emissions_first_year"]["year"] == 2025
    assert headline["emissions_last_year"]["months"] == 12
    assert headline["emissions_first_year"]["pm25_t"] == pytest.approx(
        table.loc[table["year"] == 2025, "pm25_t"].sum())
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "timeseries.parquet"]
    assert "Wrote" in result.stdout


def test_validate_good_file_exits_0(good_file):
    result = fleetsim("validate", str(good_file))
    assert result.returncode == 0, result.stderr
    assert "valid scenario 'good'" in result.stdout
    assert result.stderr == ""


def test_validate_bad_file_exits_2_with_one_line_per_problem(tmp_path, city_raw,
                                                             write_scenario):
    city_raw["simulation"]["start_year"] = "soon"
    city_raw["fuels"]["diesel"]["unit"] = "gallon"
    path = write_scenario(city_raw, "bad.yaml")
    lines = assert_user_error(fleetsim("validate", str(path)),
                              "simulation.start_year: got 'soon', expected",
                              "fuels.diesel.unit: got 'gallon', expected")
    assert len(lines) == 2


def test_validate_malformed_yaml_names_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nclasses: [1, 2\nusage: 3\n")
    lines = assert_user_error(fleetsim("validate", str(path)))
    assert lines == ["broken.yaml: malformed YAML at line 3, column 6: "
                     "expected ',' or ']', but got ':'"]


def test_validate_impossible_date_exits_2_without_traceback(tmp_path):
    path = tmp_path / "date.yaml"
    path.write_text("name: x\nregulation:\n  new_vehicle_standards:\n"
                    "    - effective: 2025-13-01\n")
    assert_user_error(fleetsim("validate", str(path)))


# ---- in-process (CliRunner) ---------------------------------------------------------------------

def test_run_csv(tmp_path):
    out = tmp_path / "csv"
    result = cli("run", "mexico_city", "--years", "1", "--set", SMALL, "--out", str(out),
                 "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "timeseries.csv")
    assert len(table) == 12
    assert not (out / "timeseries.parquet").exists()
    assert json.loads((out / "summary.json").read_text())["months"] == 12


def test_run_same_seed_same_files(tmp_path):
    for name in ("a", "b"):
        result = cli("run", "mexico_city", "--years", "1", "--seed", "9", "--set", SMALL,
                     "--out", str(tmp_path / name), "--format", "csv")
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "timeseries.csv").read_text() == (
        tmp_path / "b" / "timeseries.csv").read_text()


def test_run_unknown_set_path_exits_2(tmp_path):
    result = cli("run", "mexico_city", "--years", "1", "--set", "market.nope=1",
                 "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.stderr.startswith("market.nope: got an unknown path, expected")
    assert not (tmp_path / "o").exists()


def test_run_set_without_equals_exits_2(tmp_path):
    result = cli("run", "mexico_city", "--set", "market.growth_per_year",
                 "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--set: got 'market.growth_per_year', expected dotted.path=value" in result.stderr


def test_run_too_many_years_exits_2(tmp_path):
    result = cli("run", "mexico_city", "--years", "100", "--set", SMALL,
                 "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.stderr.startswith("years: got 100")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "o").exists()


def test_run_too_many_years_in_a_subprocess_has_no_traceback(tmp_path):
    result = fleetsim("run", "mexico_city", "--years", "100", "--set", SMALL,
                      "--out", str(tmp_path / "o"))
    assert_user_error(result, "years: got 100.0, expected")


def test_run_bad_format_exits_2(tmp_path):
    result = cli("run", "mexico_city", "--years", "1", "--format", "xlsx",
                 "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--format: got 'xlsx', expected parquet or csv" in result.stderr


def test_run_unwritable_out_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = cli("run", "mexico_city", "--years", "1", "--set", SMALL,
                 "--out", str(blocker / "sub"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"--out: got {(blocker / 'sub').resolve()}, which is inside "
                                     f"the file {blocker.resolve()}, expected a folder")


def test_validate_set_is_applied(good_file):
    assert cli("validate", str(good_file), "--set", "usage.km_spread_sigma=0.3").exit_code == 0
    result = cli("validate", str(good_file), "--set", "usage.km_spread_sigma=-1")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "usage.km_spread_sigma: got -1, expected greater than or equal to 0")


def test_validate_missing_file_exits_2(tmp_path):
    result = cli("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "expected a built-in name" in result.stderr


def test_validate_builtin_by_name():
    result = cli("validate", "mexico_national")
    assert result.exit_code == 0
    assert "valid scenario 'mexico_national'" in result.stdout


# ---- atomic writes ------------------------------------------------------------------------------

def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_interrupted_leaves_nothing(tmp_path):
    target = tmp_path / "timeseries.csv"

    def half_then_fail(path: Path) -> None:
        with open(path, "w") as fh:
            fh.write("date,vehicles\n2025-01,")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert not target.exists()
    assert leftovers(tmp_path) == [], "no temporary file remains"


def test_atomic_write_interrupted_keeps_the_old_file(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text('{"old": true}')

    def fail(path: Path) -> None:
        path.write_text('{"new": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, fail)
    assert target.read_text() == '{"old": true}'
    assert leftovers(tmp_path) == ["summary.json"]


def test_atomic_write_success(tmp_path):
    target = tmp_path / "deep" / "er" / "out.txt"
    seen = []

    def write(path: Path) -> None:
        seen.append(path)
        assert path != target and path.parent == target.parent
        assert not target.exists(), "the final name appears only when complete"
        path.write_text("complete")

    atomic_write(target, write)
    assert target.read_text() == "complete"
    assert leftovers(target.parent) == ["out.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_run_the_partnership_scenario(tmp_path):
    out = tmp_path / "p"
    result = cli("run", "mexico_city_partnership", "--years", "2", "--set", SMALL, "--out",
                 str(out), "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "timeseries.csv")
    assert len(table) == 24
    assert {"partnership_replacements", "entered_demo", "loans_approved",
            "used_pool"} <= set(table.columns)
    assert table["entered_demo"].sum() > 0
    assert json.loads((out / "summary.json").read_text())["scenario"] == "mexico_city_partnership"


def test_run_with_a_set_on_the_new_sections(tmp_path):
    result = cli("run", "mexico_city", "--years", "1", "--set", SMALL,
                 "--set", "network.generator=complete",
                 "--set", "decisions.bands.micro.keep_constant=0",
                 "--out", str(tmp_path / "o"), "--format", "csv")
    assert result.exit_code == 0, result.output
    result = cli("run", "mexico_city", "--years", "1", "--set", "network.generator=ring",
                 "--out", str(tmp_path / "bad"))
    assert result.exit_code == 2
    assert result.stderr.startswith("network.generator: got 'ring', expected")


def test_complete_network_too_large_is_a_user_error(tmp_path):
    """A complete peer graph over too many firms is refused with one line, not a traceback."""
    result = cli("run", "mexico_city", "--years", "1", "--set", "network.generator=complete",
                 "--set", "simulation.sample_fraction=0.2", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("network.generator: got 'complete'")
