"""One run of a sweep, as a worker carries it out: build the model, run it, keep the outputs the
spec asks for and write them atomically to the run's own Parquet file. A run that fails (a bad
parameter combination, a model error) returns its error instead; it never raises. A failure of
the machine rather than the run (a full disk, an I/O error, out of memory) has status `retry`:
a resumed sweep runs it again."""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fleetsim.scenarios import ScenarioError
from fleetsim.sim.metrics import FLOW, kind_of, yearly
from fleetsim.sim.output import atomic_write, fleetsim_version

# Yearly summaries: these columns are stocks (the year's last month); every other numeric
# column is a flow or an amount per month and is summed over the year.
ERROR_CHARS = 2000


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small and picklable)."""

    run_id: str
    preset: str  # the partition name
    source: str  # the scenario to load: a built-in name or an absolute path
    point: int
    seed: int
    params: dict[str, Any]
    overrides: dict[str, Any]
    years: float | None
    sample_fraction: float | None
    outputs: str  # yearly or monthly
    metrics: tuple[str, ...] | None
    data_dir: str
    param_types: dict[str, str] = field(default_factory=dict)  # name -> arrow type

    @property
    def path(self) -> Path:
        return run_path(self.data_dir, self.preset, self.run_id)


def run_path(data_dir: str | Path, preset: str, run_id: str) -> Path:
    return Path(data_dir) / f"preset={preset}" / f"run-{run_id}.parquet"


def execute(task: RunTask) -> dict[str, Any]:
    """Run one task; return its manifest record (status ok or failed, never an exception)."""
    from fleetsim.sim import FleetModel

    started = time.perf_counter()
    record: dict[str, Any] = {
        "run_id": task.run_id, "preset": task.preset, "point": task.point, "seed": task.seed,
        "params": task.params, "status": "ok", "error": None, "rows": 0,
        "version": fleetsim_version(), "host": socket.gethostname(), "pid": os.getpid(),
    }
    try:
        model = FleetModel(task.source, rng=task.seed, sample_fraction=task.sample_fraction,
                           overrides=task.overrides)
        model.run(years=task.years)
        table = shape(model.results(), task)
        atomic_write(task.path, lambda p: pq.write_table(table, p), stage=f"run-{task.run_id}")
        record["rows"] = table.num_rows
    except ScenarioError as err:
        record.update(status="failed", error="; ".join(err.problems)[:ERROR_CHARS])
    except (OSError, MemoryError) as err:  # the disk or the machine, not the run: retry it
        record.update(status="retry", error=f"{type(err).__name__}: {err}"[:ERROR_CHARS])
    except Exception as err:  # a model error: keep it with the run, the sweep goes on
        where = traceback.extract_tb(err.__traceback__)[-1]
        record.update(status="failed", error=(f"{type(err).__name__}: {err} "
                                              f"({Path(where.filename).name}:{where.lineno})"
                                              )[:ERROR_CHARS])
    record["wall_time_s"] = round(time.perf_counter() - started, 4)
    return record


def is_stock(column: str) -> bool:
    """A column read at the year's end (the catalogue's kind), not summed over it."""
    return kind_of(column) != FLOW


def shape(results: pd.DataFrame, task: RunTask) -> pa.Table:
    """The run's table: identifying columns, the parameter values, then the outputs."""
    keep = list(task.metrics) if task.metrics else None
    if keep is not None:
        unknown = [m for m in keep if m not in results.columns]
        if unknown:
            raise ScenarioError([f"metrics: got {', '.join(unknown)}, expected columns of the "
                                 f"results ({', '.join(results.columns[:8])}, ...)"])
    if task.outputs == "yearly":
        frame = yearly(results)
        cols = ["year", "months"] + (keep or [c for c in frame.columns
                                              if c not in ("year", "months")])
    else:
        frame = results
        cols = ["date", "year", "month"] + (keep or [c for c in frame.columns
                                                     if c not in ("date", "year", "month")])
    frame = frame[[c for c in dict.fromkeys(cols) if c in frame.columns]].copy()
    ids = {"run_id": task.run_id, "point": task.point, "seed": task.seed}
    ids.update({f"param_{k}": v for k, v in task.params.items()})
    for i, (k, v) in enumerate(ids.items()):
        frame.insert(i, k, v)
    frame = frame.reset_index(drop=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name, kind in task.param_types.items():  # same types in every file, nulls included
        i = table.schema.get_field_index(f"param_{name}")
        table = table.set_column(i, f"param_{name}", table.column(i).cast(pa.type_for_alias(kind)))
    return table
