"""Helpers for the hostile-input corpus: run the `fleetsim` command in-process through main()
(the executable's own entry point, with its error handling) or in a subprocess with a memory
limit, and check that a refusal has the usual form."""

from __future__ import annotations

import contextlib
import io
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow
import pytest

from fleetsim.experiments.cli import main

# pyarrow reserves its memory pool's address space on first use: do that before any cap
pyarrow.array(["warm up"])

SECONDS = 5.0  # per in-process case (each takes well under a second on a quiet machine)
EXTRA_ADDRESS_SPACE = 1 * 2**30  # what one in-process case may add to this process's memory
SUBPROCESS_SECONDS = 60  # a subprocess pays ~1-4 s to import numpy, pandas and mesa
ADDRESS_SPACE = 4 * 2**30  # RLIMIT_AS of a subprocess case: a 3 GB blow-up cannot fit
SECRET_LINES = ["root:x:0:0:SECRET-ROOT:/root:/bin/bash",
                "daemon:x:1:1:SECRET-DAEMON:/usr/sbin:/usr/sbin/nologin",
                "hunter2-SECRET-TOKEN"]
FLEETSIM = Path(sys.executable).parent / "fleetsim"
LAUGHS_TEXT = ("name: x\n"
          "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
          + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                    for p, c in zip("abcdefgh", "bcdefghi", strict=True))
          + "description: *i\n")  # 9**9 values if expanded


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    in_process: bool = True

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]


@contextlib.contextmanager
def memory_cap(extra: int = EXTRA_ADDRESS_SPACE):
    """Cap this process's address space at its current size + `extra` for the block (a blow-up
    becomes a MemoryError, which main() reports as exit 1, failing the case); tracemalloc
    would make the pure-Python YAML parser ten times slower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    cap = pages * os.sysconf("SC_PAGE_SIZE") + extra
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY
                                            else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def invoke(*args: str, extra_memory: int = EXTRA_ADDRESS_SPACE) -> Outcome:
    """main(args) in this process, its output captured, timed, its memory capped."""
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with memory_cap(extra_memory), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        code = main(list(args))
    return Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - started)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def invoke_subprocess(*args: str, cwd: Path | None = None) -> Outcome:
    """The installed executable in a child with at most ADDRESS_SPACE of memory and a timeout
    (a hang fails the test instead of blocking the suite)."""
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    done = subprocess.run([str(FLEETSIM), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=SUBPROCESS_SECONDS, preexec_fn=_limit_memory)
    return Outcome(done.returncode, done.stdout, done.stderr, time.perf_counter() - started,
                   in_process=False)


def assert_refused(result: Outcome, prefix: str, *fragments: str, code: int = 2,
                   forbidden: tuple[str, ...] = ()) -> list[str]:
    """Exit `code`, every stderr line a one-line problem (the first starting with `prefix`),
    no traceback, none of `forbidden` (e.g. a secret file's lines) anywhere, within bounds."""
    assert result.code == code, (result.code, result.stderr[-2000:])
    text = result.stdout + result.stderr
    assert "Traceback" not in text
    lines = result.lines
    assert lines, "a refusal says why"
    assert lines[0].startswith(prefix), lines
    for fragment in fragments:
        assert any(fragment in ln for ln in lines), (fragment, lines)
    for secret in forbidden:
        assert secret not in text, (secret, lines)
    assert all(len(ln) < 2000 for ln in lines), "one short line per problem"
    assert result.seconds < (SECONDS if result.in_process else SUBPROCESS_SECONDS), \
        result.seconds
    return lines


@pytest.fixture
def secret_file(tmp_path) -> Path:
    """A planted file standing for /etc/passwd or /etc/shadow: no line of it may be echoed."""
    folder = tmp_path / "private"
    folder.mkdir()
    path = folder / "passwd"
    path.write_text("\n".join(SECRET_LINES) + "\n")
    return path


@pytest.fixture
def scen_dir(tmp_path) -> Path:
    folder = tmp_path / "scen"
    folder.mkdir()
    return folder


def child(folder: Path, body: str, name: str = "child.yaml", extends: str = "mexico_city") -> Path:
    """A scenario file extending `extends` with `body` (YAML) added."""
    path = folder / name
    path.write_text(f"name: child\nextends: {extends}\n{body}")
    return path
