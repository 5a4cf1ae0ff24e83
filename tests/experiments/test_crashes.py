"""A sweep killed mid-way with SIGKILL (the driver, or one worker) loses only the runs in flight;
resumed, it gives the same dataset as an uninterrupted sweep."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from fleetsim.experiments import Sweep
from fleetsim.experiments.executors import LocalExecutor
from fleetsim.experiments.storage import SweepDir
from tests.experiments.conftest import dataset

pytestmark = pytest.mark.slow

FLEETSIM = Path(sys.executable).parent / "fleetsim"


def manifest_lines(out: Path) -> int:
    path = out / "manifest.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def test_driver_killed_then_resumed_gives_the_same_dataset(tiny_spec, tiny_reference, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen([str(FLEETSIM), "sweep", str(tiny_spec), "--out", str(out),
                             "--workers", "2"], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while manifest_lines(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # the driver
        proc.wait(timeout=10)
    finally:
        # and whatever it left behind (its workers), as a crash of the machine would
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    done_at_kill = manifest_lines(out)
    assert 4 <= done_at_kill < 24, "the sweep must be killed mid-way"
    assert proc.returncode == -signal.SIGKILL

    resumed = subprocess.run([str(FLEETSIM), "sweep", str(tiny_spec), "--out", str(out),
                              "--workers", "2", "--resume"], capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "already done" in resumed.stdout
    pd.testing.assert_frame_equal(dataset(out), dataset(tiny_reference))
    man = SweepDir(out).read_manifest()
    assert len(man) == 24 and man["run_id"].is_unique
    assert (man["status"] == "failed").sum() == 8
    assert not list((out / "data").rglob("*.tmp"))  # half-written files of killed runs: gone


def test_a_worker_killed_mid_sweep_loses_only_the_runs_in_flight(tiny_spec, tiny_reference,
                                                                 tmp_path):
    executor = LocalExecutor(workers=2)
    killed = []

    def kill_a_worker(rec, progress):
        if not killed and progress.done >= 3:
            pid = executor.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    out = tmp_path / "worker"
    result = Sweep.from_file(tiny_spec).run(out, executor=executor, on_result=kill_a_worker)
    assert killed and executor.restarts >= 1
    assert (result.ok, result.failed) == (16, 8)
    pd.testing.assert_frame_equal(dataset(out), dataset(tiny_reference))
    records = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 24  # nothing recorded twice, nothing lost
