"""`fleetsim run --out` on hostile folders, a full disk, and SIGKILL at each stage of publishing:
the run's timeseries and summary are published as one unit, so a folder holds the previous pair
or the new pair, never a mix, and nothing half-written is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from fleetsim.sim.output import recover_run
from tests.experiments.hostile_support import FLEETSIM, assert_clean_error, cli, fleetsim, mounted

SMALL = ("--years", "1", "--set", "simulation.sample_fraction=0.01")


def run_into(out: Path, seed: int, *extra: str, env: dict | None = None):
    return fleetsim("run", "mexico_city", *SMALL, "--seed", str(seed), "--out", out, *extra,
                    env=env, limit_s=90)


def pair(out: Path) -> tuple[int, int]:
    """(seed in summary.json, fingerprint of the table): a mixed pair shows as a mismatch."""
    info = json.loads((out / "summary.json").read_text())
    table = pd.read_parquet(out / "timeseries.parquet")
    return info["seed"], round(float(table["vehicles"].iloc[-1]), 6) == round(
        info["headline"]["vehicles_end"], 6)


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def test_out_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_clean_error(cli("run", "mexico_city", *SMALL, "--out", tmp_path / "f"),
                       "which is a file, expected a folder")


def test_out_inside_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_clean_error(cli("run", "mexico_city", *SMALL, "--out", tmp_path / "f" / "o"),
                       "which is inside the file")


def test_out_holding_other_files_is_not_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert_clean_error(cli("run", "mexico_city", *SMALL, "--out", tmp_path),
                       "which holds other files (notes.txt)")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_out_unwritable(tmp_path):
    with mounted(tmp_path / "ro", "ro,size=64k") as ro:
        assert_clean_error(cli("run", "mexico_city", *SMALL, "--out", ro / "o"),
                           f"--out: got {ro / 'o'}, expected a writable folder")


@pytest.mark.slow
def test_csv_over_parquet_results_leaves_only_the_csv_pair(tmp_path):
    out = tmp_path / "o"
    assert run_into(out, 1).returncode == 0
    assert run_into(out, 2, "--format", "csv").returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "timeseries.csv"]
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert leftovers(out) == []


@pytest.mark.slow
def test_a_full_disk_is_refused_before_the_run(tmp_path):
    with mounted(tmp_path / "small", "size=200k") as small:
        started = time.monotonic()
        # the whole default horizon at full scale would take minutes: refused in seconds
        result = fleetsim("run", "mexico_city", "--out", small / "o", limit_s=30)
        assert_clean_error(result, "free, expected at least")
        assert time.monotonic() - started < 30
        assert list(small.iterdir()) == []


@pytest.mark.slow
def test_enospc_while_writing_keeps_the_previous_results(tmp_path):
    out = tmp_path / "o"
    assert run_into(out, 1).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = run_into(out, 2, env={"FLEETSIM_TEST_ENOSPC_AT": "table"})
    assert_clean_error(result, "expected a writable folder (No space left on device)")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(out) == []


def kill_at(out: Path, stage: str, seed: int, env: dict | None = None) -> None:
    """Start a run into `out`, wait for it to pause at `stage`, SIGKILL it."""
    full = {**os.environ, "FLEETSIM_TEST_PAUSE_AT": stage, **(env or {})}
    proc = subprocess.Popen([str(FLEETSIM), "run", "mexico_city", *SMALL, "--seed", str(seed),
                             "--out", str(out)], env=full, stderr=subprocess.PIPE, text=True,
                            stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        for line in proc.stderr:
            if line.startswith(f"FLEETSIM_TEST_PAUSED {stage}") or time.monotonic() > deadline:
                break
        assert proc.poll() is None, f"the run ended before {stage}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


STAGES = [("staged", None), ("table", None), ("files", None), ("swapped", None),
          ("aside", {"FLEETSIM_TEST_NO_EXCHANGE": "1"})]


@pytest.mark.slow
@pytest.mark.parametrize("stage, env", STAGES, ids=[s for s, _ in STAGES])
def test_sigkill_while_publishing_leaves_the_old_pair_or_the_new_one(stage, env, tmp_path):
    out = tmp_path / "o"
    assert run_into(out, 1).returncode == 0
    kill_at(out, stage, seed=2, env=env)
    recover_run(out)  # what the next run (or a reader) does first
    seed, matches = pair(out)
    assert matches and seed in (1, 2)
    assert seed == (2 if stage in ("swapped", "aside") else 1)
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "timeseries.parquet"]
    assert leftovers(out) == []
    assert run_into(out, 3).returncode == 0 and pair(out) == (3, True)
