"""Where runs execute: a local process pool (the default, all cores) or a Dask distributed
cluster. Both take an iterator of tasks and yield each run's record as it finishes, keeping only
a bounded number of runs in flight, so the driver holds neither all tasks nor any results.

A worker killed mid-run (SIGKILL, out of memory) loses only the runs in flight: the local pool
is rebuilt and those runs are submitted again; Dask reschedules them itself.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .runner import RunTask, execute

CONNECT_TIMEOUT = "20s"
MAX_POOL_RESTARTS = 5  # in a row without a run finishing
PRELOAD = ["fleetsim.sim", "fleetsim.experiments.runner"]


class SchedulerError(OSError):
    """The Dask scheduler cannot be reached."""


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
        return ProcessPoolExecutor(self.workers, mp_context=ctx)

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

    def __init__(self, scheduler: Any, workers: int | None = None):
        self.scheduler = scheduler
        self.workers = workers

    def map_unordered(self, tasks: Iterable[RunTask],
                      fn: Callable[[RunTask], dict[str, Any]] = execute
                      ) -> Iterator[dict[str, Any]]:
        from distributed import Client, as_completed

        own = not isinstance(self.scheduler, Client)
        if own:
            try:
                client = Client(self.scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as err:
                raise SchedulerError(f"--scheduler: could not connect to {self.scheduler!r} "
                                     f"({type(err).__name__}: {err})") from None
        else:
            client = self.scheduler
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
            if own:
                client.close()


def lost_record(task: RunTask, err: BaseException) -> dict[str, Any]:
    from fleetsim.sim.output import fleetsim_version

    return {"run_id": task.run_id, "preset": task.preset, "point": task.point,
            "seed": task.seed, "params": task.params, "status": "failed",
            "error": f"{type(err).__name__}: {err}"[:2000], "rows": 0,
            "version": fleetsim_version(), "host": None, "pid": None, "wall_time_s": None}
