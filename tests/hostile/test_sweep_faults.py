"""Sweeps under faults: the driver SIGKILLed (no process of the sweep left, resume byte-identical
to an uninterrupted sweep), a disk that fills (refused before the first run, or the run recorded
as retryable and redone on resume), run files lost or damaged after the fact (run again, never
counted done) and an unreachable Dask scheduler (nothing written, a rerun is not refused)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from fleetsim.experiments import Sweep
from tests.experiments.hostile_support import (
    FLEETSIM,
    MARKER_ENV,
    SMALL_SWEEP,
    assert_clean_error,
    cli,
    fleetsim,
    mounted,
    processes_with,
    run_files,
)


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL_SWEEP))
    return path


@pytest.fixture(scope="module")
def reference(spec, tmp_path_factory) -> dict[str, bytes]:
    """The run files of the sweep, uninterrupted."""
    out = tmp_path_factory.mktemp("ref") / "sweep"
    assert Sweep.from_file(spec).run(out, workers=2).ok == 12
    return run_files(out)


def manifest_lines(out: Path) -> int:
    path = out / "manifest.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def statuses(out: Path) -> dict[str, str]:
    recs = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    return {r["run_id"]: r["status"] for r in recs}


@pytest.mark.slow
def test_a_killed_driver_leaves_no_process_and_resumes_to_the_same_bytes(spec, reference,
                                                                         tmp_path):
    out, marker = tmp_path / "killed", uuid.uuid4().hex
    env = {**os.environ, MARKER_ENV: marker}
    proc = subprocess.Popen([str(FLEETSIM), "sweep", str(spec), "--out", str(out),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while manifest_lines(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(processes_with(marker)) >= 3  # the driver, the forkserver, workers
    proc.send_signal(signal.SIGKILL)  # the driver only: its workers must follow by themselves
    proc.wait(timeout=10)
    time.sleep(5)
    left = processes_with(marker)
    for p in left:  # do not leave them to the other tests
        p.kill()
    assert left == [], [(p.pid, p.name()) for p in left]
    assert 3 <= manifest_lines(out) < 12, "the sweep must be killed mid-way"

    report = fleetsim("report", out, "--out", tmp_path / "rep", limit_s=90)
    assert report.returncode == 0, report.stderr
    assert "partial sweep:" in report.stdout

    resumed = fleetsim("sweep", spec, "--out", out, "--workers", "2", "--resume", limit_s=120)
    assert resumed.returncode == 0, resumed.stderr
    assert run_files(out) == reference
    assert not list(out.rglob("*.tmp"))


@pytest.mark.slow
def test_a_full_disk_mid_sweep_is_retryable_and_resume_finishes(spec, reference, tmp_path):
    out = tmp_path / "full"
    hit = fleetsim("sweep", spec, "--out", out, "--workers", "2",
                   env={"FLEETSIM_TEST_ENOSPC_AT": "run-0000003"}, limit_s=120)
    assert hit.returncode == 0, hit.stderr
    assert "1 to retry" in hit.stdout
    assert statuses(out)["0000003"] == "retry"
    assert not (out / "data" / "preset=mexico_city" / "run-0000003.parquet").exists()
    resumed = fleetsim("sweep", spec, "--out", out, "--workers", "2", "--resume", limit_s=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "11 already done, 1 ok" in resumed.stdout
    assert run_files(out) == reference


@pytest.mark.slow
def test_lost_and_damaged_run_files_are_never_counted_done(spec, reference, tmp_path):
    out = tmp_path / "lost"
    assert Sweep.from_file(spec).run(out, workers=2).ok == 12
    files = sorted((out / "data").glob("preset=*/run-*.parquet"))
    files[0].unlink()
    files[5].write_bytes(files[5].read_bytes()[:500])
    files[7].write_bytes(files[7].read_bytes()[:-200])
    resumed = fleetsim("sweep", spec, "--out", out, "--workers", "2", "--resume", limit_s=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "9 already done, 3 ok" in resumed.stdout
    assert run_files(out) == reference


def test_a_disk_too_small_is_refused_before_the_first_run(spec, tmp_path):
    with mounted(tmp_path / "small", "size=300k") as small:
        result = cli("sweep", spec, "--out", small / "sweep", "--workers", "1")
        assert_clean_error(result, "free, expected at least", "for 12 runs")
        assert list(small.iterdir()) == []


def test_an_unwritable_sweep_out(spec, tmp_path):
    with mounted(tmp_path / "ro", "ro,size=64k") as ro:
        assert_clean_error(cli("sweep", spec, "--out", ro / "sweep"),
                           "expected a writable folder (Read-only file system)")


def test_a_sweep_out_inside_a_file(spec, tmp_path):
    (tmp_path / "f").write_text("x")
    assert_clean_error(cli("sweep", spec, "--out", tmp_path / "f" / "sweep"),
                       "which is inside the file")


@pytest.mark.slow
def test_an_unreachable_scheduler_writes_nothing_and_a_rerun_runs(spec, reference, tmp_path):
    out = tmp_path / "dask"
    result = fleetsim("sweep", spec, "--out", out, "--scheduler", "tcp://127.0.0.1:9",
                      env={"FLEETSIM_SCHEDULER_TIMEOUT": "1s"}, limit_s=30)
    assert_clean_error(result, "--scheduler: got 'tcp://127.0.0.1:9', expected a reachable")
    assert not out.exists()
    rerun = fleetsim("sweep", spec, "--out", out, "--workers", "2", limit_s=120)
    assert rerun.returncode == 0, rerun.stderr
    assert run_files(out) == reference


def test_an_unreachable_scheduler_on_an_existing_sweep_keeps_it(spec, tmp_path, monkeypatch):
    out = tmp_path / "kept"
    Sweep.from_file(spec).run(out, workers=1, executor=_NoRuns())
    before = sorted(p.name for p in out.iterdir())
    monkeypatch.setenv("FLEETSIM_SCHEDULER_TIMEOUT", "1s")
    result = cli("sweep", spec, "--out", out, "--resume", "--scheduler", "tcp://127.0.0.1:9")
    assert_clean_error(result, "--scheduler: got")
    assert sorted(p.name for p in out.iterdir()) == before


class _NoRuns:
    """An executor that runs nothing (a sweep folder with its description only)."""

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def map_unordered(self, tasks):
        return iter(())


def test_resume_of_a_folder_with_a_corrupt_sweep_json(spec, tmp_path):
    out = tmp_path / "bad_meta"
    Sweep.from_file(spec).run(out, workers=1, executor=_NoRuns())
    (out / "sweep.json").write_text("{not json")
    assert_clean_error(cli("sweep", spec, "--out", out, "--resume"),
                       "sweep.json: got a corrupt file")
    assert (out / "sweep.json").read_text() == "{not json"


def test_resume_of_a_folder_with_a_corrupt_manifest(spec, tmp_path):
    out = tmp_path / "bad_manifest"
    Sweep.from_file(spec).run(out, workers=1, executor=_NoRuns())
    (out / "manifest.jsonl").write_text('{"run_id": "0000000", "pre\n{"run_id": "0000001"}\n')
    assert_clean_error(cli("sweep", spec, "--out", out, "--resume"),
                       "manifest.jsonl: got a corrupt line 1")
