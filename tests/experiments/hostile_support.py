"""Helpers of the hostile-input and fault tests of files, sweeps and reports (tests/hostile/):
the clean-error check, timed command runs, small file systems and the processes of a sweep."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleetsim.experiments.cli import app

FLEETSIM = Path(sys.executable).parent / "fleetsim"
FORM = re.compile(r"^\S.*: got .+, expected .+$")  # path: got VALUE, expected WHAT
MARKER_ENV = "FLEETSIM_TEST_MARKER"
# a sweep of 12 quick runs: 2 presets x 3 points x 2 seeds, Mexico City at 0.5% for a year
SMALL_SWEEP = {
    "name": "small",
    "presets": ["mexico_city", "mexico_city_partnership"],
    "years": 1,
    "sample_fraction": 0.005,
    "parameters": {"growth": {"path": "market.growth_per_year", "values": [0.01, 0.03, 0.05]}},
    "replications": 2,
    "seed": 3,
}


def cli(*args: str, limit_s: float = 20.0):
    """The command in-process; fails the test if it takes longer than `limit_s`."""
    started = time.monotonic()
    result = CliRunner().invoke(app, [str(a) for a in args])
    elapsed = time.monotonic() - started
    assert elapsed < limit_s, f"took {elapsed:.1f} s"
    return result


def fleetsim(*args: str, env: dict | None = None, limit_s: float = 60.0
             ) -> subprocess.CompletedProcess:
    """The installed executable in a subprocess, within `limit_s`."""
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([str(FLEETSIM), *map(str, args)], capture_output=True, text=True,
                          env=full, timeout=limit_s)


def assert_clean_error(result, *fragments: str) -> list[str]:
    """Exit 2, every stderr line in the form `path: got VALUE, expected WHAT`, no traceback."""
    code = result.returncode if hasattr(result, "returncode") else result.exit_code
    stderr = result.stderr
    assert code == 2, (code, stderr, getattr(result, "exception", None))
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines, "no message"
    for ln in lines:
        assert FORM.match(ln), ln
    for fragment in fragments:
        assert any(fragment in ln for ln in lines), (fragment, lines)
    return lines


@contextlib.contextmanager
def mounted(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `path` (root only; the test is skipped where mount is refused)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def processes_with(marker: str) -> list:
    """Processes whose environment carries MARKER_ENV=marker (a sweep and all it started)."""
    import psutil

    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get(MARKER_ENV) == marker:
                found.append(proc)
    return found


def run_files(out: Path) -> dict[str, bytes]:
    """Every run file of a sweep by its path under data/, with its bytes."""
    return {str(p.relative_to(out)): p.read_bytes()
            for p in sorted((out / "data").glob("preset=*/run-*.parquet"))}
