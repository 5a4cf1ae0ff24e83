"""Sweep: runs every (preset, parameter point, seed) of a spec, locally or on a Dask cluster,
each run to its own Parquet file, resumable.

    from fleetsim.experiments import Sweep
    Sweep.from_file("experiments/specs/city_incentive_mix.yaml").run("out/mix", workers=2)

Run ids are fixed by the spec (preset, point and replication), so a resumed sweep, or one run
with another number of workers or on a cluster, writes the same files with the same contents.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from fleetsim.scenarios.loader import load_raw
from fleetsim.sim.output import (
    COLUMNS_ESTIMATE,
    SUMMARY_BYTES,
    OutError,
    check_out_folder,
    estimate_bytes,
    existing_ancestor,
    fleetsim_version,
    free_bytes,
    mb,
    recover_run,
    staging_folder,
)

from .design import design_points, design_size, plain, point_overrides, salib_problem
from .executors import DaskExecutor, LocalExecutor
from .runner import RunTask, run_path
from .spec import (
    MAX_RUNS,
    SpecError,
    SweepSpec,
    check_against_scenarios,
    parse_spec,
    preset_source,
    read_spec,
)
from .storage import SweepDir


@dataclass
class SweepResult:
    out: Path
    total: int  # runs in the spec
    skipped: int  # already finished before this call (resume)
    ok: int  # finished ok in this call
    failed: int  # failed in this call
    wall_time_s: float
    retry: int = 0  # stopped by the disk or the machine in this call: a resume runs them again

    @property
    def done(self) -> int:
        return self.skipped + self.ok + self.failed + self.retry


class Sweep:
    def __init__(self, spec: SweepSpec, folder: Path | None = None, check: bool = True):
        self.spec = spec
        self.folder = folder
        if check:
            check_against_scenarios(spec, folder)
        if self.total > MAX_RUNS:
            raise SpecError([f"spec: got {self.total:,} runs, expected at most {MAX_RUNS:,}"])

    @classmethod
    def from_file(cls, path: str | Path) -> Sweep:
        """A built-in spec name or a YAML file."""
        spec, folder = read_spec(path)
        return cls(spec, folder, check=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], folder: str | Path | None = None) -> Sweep:
        return cls(parse_spec(raw), Path(folder) if folder else None)

    # ---- what runs ----------------------------------------------------------------------------
    @cached_property
    def points(self) -> pd.DataFrame:
        return design_points(self.spec)

    @property
    def n_points(self) -> int:
        return design_size(self.spec)

    @cached_property
    def preset_points(self) -> list[int]:
        """Points each preset runs: all of them, or only point 0 for a preset that no
        parameter applies to (its runs would be the same at every point)."""
        spec = self.spec
        return [self.n_points if any(spec.applies(n, p) for n in spec.parameters) else 1
                for p in spec.presets]

    @property
    def total(self) -> int:
        return sum(self.preset_points) * len(self.spec.seed_list)

    def run_id(self, preset_index: int, point: int, rep: int) -> str:
        reps = len(self.spec.seed_list)
        k = (sum(self.preset_points[:preset_index]) + point) * reps + rep
        return f"{k:07d}"

    def all_run_ids(self) -> set[str]:
        return {self.run_id(pi, p, r) for pi, n in enumerate(self.preset_points)
                for p in range(n) for r in range(len(self.spec.seed_list))}

    @cached_property
    def param_types(self) -> dict[str, str]:
        kinds = {"i": "int64", "u": "int64", "f": "double", "b": "bool"}
        return {n: kinds.get(self.points[n].dtype.kind, "string") for n in self.points.columns}

    @cached_property
    def _raw_presets(self) -> list[dict]:
        return [load_raw(preset_source(p, self.folder)) for p in self.spec.presets]

    def tasks(self, data_dir: str | Path, skip: set[str] | frozenset = frozenset()
              ) -> Iterator[RunTask]:
        """Every run not in `skip`, point by point (all presets and seeds of a point together,
        so that early results already compare presets)."""
        spec, names = self.spec, self.spec.preset_names
        seeds = spec.seed_list
        metrics = tuple(spec.metrics) if spec.metrics else None
        for point, row in zip(self.points.index, self.points.to_dict("records"), strict=True):
            for pi, preset in enumerate(spec.presets):
                if point >= self.preset_points[pi]:
                    continue
                params = {k: plain(v) if spec.applies(k, preset) else None
                          for k, v in row.items()}
                if any(t == "string" for t in self.param_types.values()):
                    params = {k: v if v is None or self.param_types[k] != "string" else
                              (v if isinstance(v, str) else json.dumps(v))
                              for k, v in params.items()}
                overrides = point_overrides(
                    spec, self._raw_presets[pi],
                    {k: plain(v) for k, v in row.items() if spec.applies(k, preset)})
                if spec.sample_fraction is not None:
                    overrides.setdefault("simulation.sample_fraction", spec.sample_fraction)
                for rep, seed in enumerate(seeds):
                    run_id = self.run_id(pi, int(point), rep)
                    if run_id in skip:
                        continue
                    yield RunTask(run_id=run_id, preset=names[pi],
                                  source=preset_source(preset, self.folder), point=int(point),
                                  seed=int(seed), params=params, overrides=overrides,
                                  years=spec.years, sample_fraction=None,
                                  outputs=spec.outputs, metrics=metrics,
                                  data_dir=str(data_dir), param_types=self.param_types)

    def meta(self) -> dict[str, Any]:
        spec_json = self.spec.model_dump(mode="json")
        digest = hashlib.sha256(json.dumps(spec_json, sort_keys=True).encode()).hexdigest()
        sampled = self.spec.design.method != "grid" and self.spec.parameters
        return {
            "name": self.spec.name, "spec": spec_json, "spec_sha256": digest,
            "folder": str(self.folder) if self.folder else None,
            "method": self.spec.design.method,
            "problem": salib_problem(self.spec) if sampled else None,
            "presets": self.spec.preset_names, "baseline": self.spec.baseline_name,
            "seeds": self.spec.seed_list, "points": self.n_points, "runs": self.total,
            "preset_points": dict(zip(self.spec.preset_names, self.preset_points, strict=True)),
            "outputs": self.spec.outputs, "version": fleetsim_version(),
        }

    # ---- running ------------------------------------------------------------------------------
    def run(self, out: str | Path, workers: int | None = None, scheduler: Any = None,
            resume: bool = False, retry_failed: bool = False,
            on_result: Callable[[dict[str, Any], SweepResult], None] | None = None,
            executor: Any = None) -> SweepResult:
        """Run what is missing in `out` (everything, for a new folder). `scheduler`: a Dask
        scheduler address or Client; else a local process pool of `workers` (default: all
        cores). `on_result(record, progress)` is called as each run finishes. A resume skips
        runs that failed (they fail the same way again) unless `retry_failed`; runs to retry
        (a full disk) and runs whose file is missing or damaged always run again. Nothing is
        written before --out, the room it has and the scheduler are checked; a new folder is
        removed again if the sweep stops before its first run is recorded."""
        started = time.perf_counter()
        folder = SweepDir(out)
        if executor is None:
            executor = DaskExecutor(scheduler, workers) if scheduler is not None else \
                LocalExecutor(workers)
        check_out_folder(folder.root)
        created = not folder.exists()
        try:
            self._check_folder(folder, resume)
            design_table(self.points)
            skip = self._skip(folder, retry_failed)
            self._check_room(folder.root, self.total - len(skip))
            if hasattr(executor, "connect"):  # executors written before connect() existed
                executor.connect()
            if created:
                folder.write_meta(self.meta(), self.points)
            result = SweepResult(Path(out), self.total, len(skip), 0, 0, 0.0)
            self._drive(folder, executor, skip, result, on_result, started)
        except BaseException:
            if hasattr(executor, "close"):
                executor.close()
            if created and not folder.records():
                remove_new_sweep(folder)
            raise
        folder.compact(order=sorted(self.all_run_ids()))
        result.wall_time_s = time.perf_counter() - started
        return result

    def _check_folder(self, folder: SweepDir, resume: bool) -> None:
        """A folder with a sweep is resumed only with --resume and the same spec and design."""
        if not folder.exists():
            return
        if not resume:
            raise SpecError([f"--out: got {folder.root}, which already holds a sweep; "
                             "expected --resume or a new folder"])
        if folder.read_meta().get("spec_sha256") != self.meta()["spec_sha256"]:
            raise SpecError([f"--resume: got a spec that differs from the one "
                             f"{folder.meta} was made with, expected the same spec"])
        stored = folder.read_design()
        if not stored.reset_index(drop=True).equals(self.points.reset_index(drop=True)):
            raise SpecError([f"--resume: got design points that differ from "
                             f"{folder.design} (another SALib version?), expected the same"])

    def _skip(self, folder: SweepDir, retry_failed: bool) -> set[str]:
        finished = {k: v for k, v in folder.finished().items()
                    if not (retry_failed and v == "failed")}
        return set(finished) & self.all_run_ids()

    def _check_room(self, root: Path, runs: int) -> None:
        """Probe the folder and compare its free space with the runs' estimated size."""
        base = existing_ancestor(root)
        recover_run(base / f"{root.name}-probe")  # probes of drivers killed right here
        try:
            probe_dir = staging_folder(base / f"{root.name}-probe")
            shutil.rmtree(probe_dir)
        except OSError as err:
            raise OutError(f"--out: got {root}, expected a writable folder "
                           f"({err.strerror or err})") from None
        need = runs * self.run_bytes()
        free = free_bytes(base)
        if free < need:
            raise OutError(f"--out: got {root} with {mb(free)} free, expected at least "
                           f"{mb(need)} for {runs} runs")

    def run_bytes(self) -> int:
        """A generous size of one run's file (Parquet: ~1 KB of metadata per column)."""
        years = self.spec.years or 30
        rows = round(years * 12) if self.spec.outputs == "monthly" else int(years) + 1
        columns = 8 + len(self.spec.parameters) + (len(self.spec.metrics) if self.spec.metrics
                                                   else COLUMNS_ESTIMATE)
        return estimate_bytes("parquet", rows, columns) - SUMMARY_BYTES

    def _drive(self, folder: SweepDir, executor: Any, skip: set[str], result: SweepResult,
               on_result: Callable | None, started: float) -> None:
        folder.open()
        try:
            for rec in executor.map_unordered(self.tasks(folder.data, skip)):
                folder.record(rec)
                if rec["status"] == "ok":
                    result.ok += 1
                elif rec["status"] == "retry":
                    result.retry += 1
                else:
                    result.failed += 1
                result.wall_time_s = time.perf_counter() - started
                if on_result is not None:
                    on_result(rec, result)
        finally:
            folder.close()

    def missing(self, out: str | Path) -> list[str]:
        """Run ids with neither a data file nor a failure on record."""
        folder = SweepDir(out)
        finished = folder.finished()
        return [t.run_id for t in self.tasks(folder.data) if t.run_id not in finished]


def data_file(out: str | Path, preset: str, run_id: str) -> Path:
    return run_path(SweepDir(out).data, preset, run_id)


def remove_new_sweep(folder: SweepDir) -> None:
    """Undo a new sweep folder that recorded no run (so that a rerun is not refused)."""
    for path in (folder.meta, folder.design, folder.manifest, folder.manifest_table):
        path.unlink(missing_ok=True)
    for path in (*folder.data.glob("preset=*"), folder.data, folder.root):
        with contextlib.suppress(OSError):  # not empty: something else is in it, keep it
            path.rmdir()


def design_table(points: pd.DataFrame) -> Any:
    """The design as Arrow stores it (design.parquet): values it cannot store are a SpecError
    before anything is written, not an ArrowInvalid after."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(points.reset_index(), preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError) as err:
        raise SpecError([f"parameters: got values that cannot be stored together "
                         f"({str(err)[:160]}), expected one kind of value per parameter"]
                        ) from None
