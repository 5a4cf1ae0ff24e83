"""An uploaded scenario checked in a separate process with a time and memory limit.

YAML aliases, merges and `extends:` can turn a small upload into gigabytes or hours of work;
run in the page's server, one visitor would stall the whole room. The check runs in a fresh
interpreter (`python -m fleetsim.viz.upload_check`) limited to MEMORY_BYTES of address space
and, once it has imported its libraries (STARTUP_S), TIME_S of wall time (killed after), at
most CONCURRENT at once. The child sends back the validated scenario as JSON
(`model_dump(mode="json")`), which the parent validates again: JSON
has no aliases and its size is capped (MAX_RESULT_BYTES), so the parent's work is linear in a
bounded size, whereas loading the YAML text again could repeat the blow-up. The child also
builds the model once at the page's largest sample, so that a valid scenario with an absurd
fleet is refused here rather than built by the server.

Problem lines come from `load_text`, which never opens a server file; they are still cut to
MAX_LINES lines of MAX_LINE_CHARS and any server path in them is replaced (defence in depth).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fleetsim.scenarios import Scenario, ScenarioError

TIME_S = 10.0  # wall time of one check once the child is ready, then it is killed
STARTUP_S = 60.0  # the child's imports: slow on a loaded machine, but not the upload's doing
READY = b"ready\n"  # the child's first line, once its libraries are imported
MEMORY_BYTES = 1 << 30  # RLIMIT_AS of the child (it needs ~600 MB to build a model)
CPU_S = 20  # RLIMIT_CPU: a backstop should the parent fail to kill the child
CONCURRENT = 2  # checks at once for the whole server; more uploads wait (QUEUE_WAIT_S)
QUEUE_WAIT_S = 20.0
MAX_RESULT_BYTES = 8_000_000  # the validated scenario as JSON (built-ins are ~30 kB)
MAX_LINES = 20
MAX_LINE_CHARS = 500  # a line naming every built-in scenario is ~330
TRIAL_SAMPLE = 0.2  # the page's largest fleet sample (panels.SAMPLES)

SLOTS = threading.BoundedSemaphore(CONCURRENT)


@dataclass
class Checked:
    """What a check found: the scenario, or problem lines, or a message key for the page
    (`check_slow`, `check_memory`, `check_busy`, `check_failed`)."""
    scenario: Scenario | None = None
    problems: list[str] = field(default_factory=list)
    key: str = ""


def check(text: str, label: str, uploads: dict[str, str] | None = None) -> Checked:
    """Validate an uploaded scenario's text in a limited child process."""
    if not SLOTS.acquire(timeout=QUEUE_WAIT_S):
        return Checked(key="check_busy")
    try:
        return _run_child(json.dumps({"text": text, "label": label, "uploads": uploads or {},
                                      "memory": MEMORY_BYTES, "cpu": CPU_S}))
    finally:
        SLOTS.release()


def _run_child(request: str) -> Checked:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    try:
        child = subprocess.Popen([sys.executable, "-m", "fleetsim.viz.upload_check"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=env, cwd="/")
    except OSError:  # e.g. the process table is full
        return Checked(key="check_failed")
    try:
        if not _ready(child):  # the machine is too loaded to start a check: not the upload's fault
            raise subprocess.TimeoutExpired(child.args, STARTUP_S)
    except (subprocess.TimeoutExpired, OSError):
        _kill(child)
        return Checked(key="check_busy")
    try:
        out, _ = child.communicate(request.encode(), timeout=TIME_S)
    except subprocess.TimeoutExpired:
        _kill(child)
        return Checked(key="check_slow")
    return _read_answer(out, child.returncode)


def _ready(child: subprocess.Popen) -> bool:
    """Wait (at most STARTUP_S) for the child's READY line, read byte by byte from the pipe so
    that nothing of the answer is left in a buffer communicate() does not see."""
    got, fd = b"", child.stdout.fileno()
    deadline = time.monotonic() + STARTUP_S
    while len(got) < len(READY):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        byte = os.read(fd, 1)
        if not byte:  # the child died while importing
            return False
        got += byte
    return got == READY


def _kill(child: subprocess.Popen) -> None:
    child.kill()
    child.communicate()


def _read_answer(out: bytes, returncode: int) -> Checked:
    try:
        answer = json.loads(out)
    except ValueError:  # killed by the memory limit mid-way, or crashed
        return Checked(key="check_memory" if returncode else "check_failed")
    if not isinstance(answer, dict):
        return Checked(key="check_failed")
    if "key" in answer:
        return Checked(key=str(answer["key"]))
    if "problems" in answer:
        return Checked(problems=clean_lines(answer["problems"]))
    try:
        return Checked(scenario=Scenario.model_validate(answer["scenario"]))
    except (ValueError, KeyError, TypeError):
        return Checked(key="check_failed")


def server_paths() -> list[str]:
    """Folders of this server a message must never show (longest first)."""
    found = {str(Path(__file__).resolve().parents[1]), sys.prefix, sys.base_prefix,
             os.getcwd(), str(Path.home()), sys.executable}
    return sorted((p for p in found if p and p != "/"), key=len, reverse=True)


def clean_lines(lines) -> list[str]:
    """Problem lines fit to show a visitor: text only, short, few, no server path."""
    if not isinstance(lines, list):
        return []
    paths = server_paths()
    out = []
    for line in lines[:MAX_LINES]:
        text = str(line)
        for p in paths:
            text = text.replace(p, "…")
        out.append(text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + "…")
    if len(lines) > MAX_LINES:
        out.append(f"… (+{len(lines) - MAX_LINES})")
    return out


# ---- the child --------------------------------------------------------------------------------
def _limit_child(request: dict) -> None:
    """Limits set once the request is read (its size is the parent's to bound)."""
    import resource

    memory, cpu = int(request.get("memory", MEMORY_BYTES)), int(request.get("cpu", CPU_S))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # the check writes no file


def child_answer(request: dict) -> dict:
    """The child's work: load_text, then one model built at the page's largest sample."""
    from fleetsim.scenarios import load_text

    try:
        spec = load_text(str(request["text"]), str(request["label"]),
                         uploads=dict(request.get("uploads") or {}))
    except ScenarioError as err:
        return {"problems": err.problems}
    except RecursionError:
        return {"key": "check_deep"}
    answer = spec.model_dump(mode="json")
    if len(json.dumps(answer)) > MAX_RESULT_BYTES:
        return {"key": "check_large"}
    from fleetsim.sim import FleetModel

    try:
        FleetModel(spec, rng=0, sample_fraction=TRIAL_SAMPLE)
    except ScenarioError as err:
        return {"problems": err.problems}
    except (ValueError, ArithmeticError, LookupError, TypeError):
        return {"key": "check_model"}
    return {"scenario": answer}


def main() -> None:
    # imported before the limits and the clock: a shared library that cannot be mapped, or a
    # slow start on a loaded machine, is not the upload's fault
    import fleetsim.sim  # noqa: F401
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    request = json.loads(sys.stdin.buffer.read())
    _limit_child(request)
    try:
        answer = child_answer(request)
    except MemoryError:
        answer = {"key": "check_memory"}
    except RecursionError:
        answer = {"key": "check_deep"}
    except Exception:  # noqa: BLE001  (never a traceback with server paths to the parent)
        answer = {"key": "check_failed"}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
