"""Where runs execute: a local process pool (the default, all cores) or a Dask distributed
cluster. Both take an iterator of tasks and yield each run's record as it finishes, keeping only
a bounded number of runs in flight, so the driver holds neither all tasks nor any results.

A worker killed mid-run (SIGKILL, out of memory) loses only the runs in flight: the local pool
is rebuilt and those runs are submitted again; Dask reschedules them itself.

A driver killed (SIGKILL) takes its local workers with it: each worker watches the driver
(`worker_lifeline`) and, when it is gone, kills the forkserver that forked it and itself, so no
process goes on writing runs that no manifest will record.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .runner import RunTask, execute

CONNECT_TIMEOUT = "20s"
TIMEOUT_ENV = "FLEETSIM_SCHEDULER_TIMEOUT"  # e.g. "2s": how long to try reaching a scheduler
MAX_POOL_RESTARTS = 5  # in a row without a run finishing
PRELOAD = ["fleetsim.sim", "fleetsim.experiments.runner"]
WATCH_INTERVAL_S = 0.25
PR_SET_PDEATHSIG = 1


class SchedulerError(OSError):
    """The Dask scheduler cannot be reached."""


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process_start(pid: int) -> float | None:
    """When a process started (to tell it from a later one with the same pid)."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def worker_lifeline(driver_pid: int, driver_start: float | None) -> None:
    """Worker initializer: die with the driver. The worker's parent is the forkserver, so the
    kernel's parent-death signal covers the forkserver's death and a thread covers the
    driver's."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    threading.Thread(target=watch_driver, args=(driver_pid, driver_start), daemon=True,
                     name="fleetsim-lifeline").start()


def watch_driver(driver_pid: int, driver_start: float | None) -> None:
    """Poll the driver; when it is gone, kill the forkserver (this worker's parent, if it is
    not the driver) and this worker."""
    while process_start(driver_pid) == driver_start:
        time.sleep(WATCH_INTERVAL_S)
    parent = os.getppid()
    if parent not in (driver_pid, 1) and is_forkserver(parent):
        with contextlib.suppress(OSError):
            os.kill(parent, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def is_forkserver(pid: int) -> bool:
    import psutil

    try:
        return "forkserver" in " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


class LocalExecutor:
    """A pool of worker processes on this machine (forkserver: fast, thread-safe starts)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        self.restarts = 0
        self.pool: ProcessPoolExecutor | None = None
        self.on_start: Callable[[ProcessPoolExecutor], None] | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        me = os.getpid()
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=worker_lifeline,
                                   initargs=(me, process_start(me)))

    def connect(self) -> None:
        """Nothing to reach before a local sweep starts."""

    def close(self) -> None:
        """The pool is shut down when map_unordered ends."""

    def worker_pids(self) -> list[int]:
        procs = getattr(self.pool, "_processes", None) or {}
        return list(procs)

    def map_unordered(self, tasks: Iterable[RunTask],
                      fn: Callable[[RunTask], dict[str, Any]] = execute
                      ) -> Iterator[dict[str, Any]]:
        source = iter(tasks)
        retry: deque[RunTask] = deque()
        limit = 2 * self.workers + 2
        in_flight: dict[Future, RunTask] = {}
        failures_in_a_row = 0
        self.pool = self._new_pool()
        try:
            while True:
                while len(in_flight) < limit:
                    task = retry.popleft() if retry else next(source, None)
                    if task is None:
                        break
                    in_flight[self.pool.submit(fn, task)] = task
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    task = in_flight.pop(fut)
                    try:
                        rec = fut.result()
                    except BrokenProcessPool:
                        retry.append(task)
                        broken = True
                        continue
                    failures_in_a_row = 0
                    yield rec
                if broken:
                    # every run still in flight died with the pool: run them again
                    retry.extend(in_flight.values())
                    in_flight.clear()
                    failures_in_a_row += 1
                    self.restarts += 1
                    if failures_in_a_row > MAX_POOL_RESTARTS:
                        raise RuntimeError(f"workers: the process pool broke "
                                           f"{failures_in_a_row} times in a row; giving up")
                    self.pool.shutdown(wait=True, cancel_futures=True)
                    self.pool = self._new_pool()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Runs on a Dask distributed cluster: a scheduler address or a connected Client."""

    def __init__(self, scheduler: Any, workers: int | None = None, timeout: str | None = None):
        self.scheduler = scheduler
        self.workers = workers
        self.timeout = timeout
        self.client: Any = None
        self.own = False

    def connect(self) -> None:
        """Reach the scheduler (before the sweep writes anything): SchedulerError if not."""
        from distributed import Client

        if self.client is not None:
            return
        if isinstance(self.scheduler, Client):
            self.client = self.scheduler
            return
        try:
            timeout = self.timeout or os.environ.get(TIMEOUT_ENV) or CONNECT_TIMEOUT
            self.client = Client(self.scheduler, set_as_default=False, timeout=timeout)
        except (OSError, TimeoutError, ValueError, TypeError) as err:
            raise SchedulerError(f"--scheduler: got {self.scheduler!r}, expected a reachable "
                                 f"Dask scheduler ({type(err).__name__}: {err})") from None
        self.own = True

    def close(self) -> None:
        if self.own and self.client is not None:
            self.client.close()
        self.client, self.own = None, False

    def map_unordered(self, tasks: Iterable[RunTask],
                      fn: Callable[[RunTask], dict[str, Any]] = execute
                      ) -> Iterator[dict[str, Any]]:
        from distributed import as_completed

        self.connect()
        client = self.client
        try:
            cores = sum(client.nthreads().values()) or 1
            limit = 2 * (self.workers or cores) + 2
            source = iter(tasks)
            pending: dict[Any, RunTask] = {}
            ready = as_completed(loop=client.loop)

            def submit() -> bool:
                task = next(source, None)
                if task is None:
                    return False
                fut = client.submit(fn, task, pure=False, key=f"fleetsim-run-{task.run_id}-"
                                                             f"{os.urandom(4).hex()}")
                pending[fut.key] = task
                ready.add(fut)
                return True

            while len(pending) < limit and submit():
                pass
            for fut in ready:
                task = pending.pop(fut.key)
                try:
                    rec = fut.result()
                except Exception as err:  # e.g. KilledWorker: the run kept killing workers
                    rec = lost_record(task, err)
                fut.release()
                yield rec
                while len(pending) < limit and submit():
                    pass
        finally:
            self.close()


def lost_record(task: RunTask, err: BaseException) -> dict[str, Any]:
    from fleetsim.sim.output import fleetsim_version

    # a lost connection (an OSError) is the cluster's failure, not the run's: run it again
    status = "retry" if isinstance(err, OSError) else "failed"
    return {"run_id": task.run_id, "preset": task.preset, "point": task.point,
            "seed": task.seed, "params": task.params, "status": status,
            "error": f"{type(err).__name__}: {err}"[:2000], "rows": 0,
            "version": fleetsim_version(), "host": None, "pid": None, "wall_time_s": None}
