"""A sweep's folder on disk.

    DIR/sweep.json            the spec as run, the design's SALib problem, the run count
    DIR/design.parquet        the parameter points (one row per point)
    DIR/data/preset=<name>/run-<id>.parquet   one file per run, each written atomically
    DIR/manifest.jsonl        one JSON line per finished run, appended and flushed to disk as
                              each run finishes (parameters, seed, status, error, wall time,
                              fleetsim version): it survives a SIGKILL of the driver
    DIR/manifest.parquet      the manifest compacted (last record per run), written at the end

The data folder is a Hive-partitioned Parquet dataset: DuckDB's
`read_parquet('DIR/data/*/*.parquet', hive_partitioning = true, union_by_name = true)`,
`SweepDir(DIR).read_data()`, or `pandas.read_parquet("DIR/data")` when every preset has the same
columns (presets with different policy instruments record different spending columns).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from fleetsim.sim.output import atomic_write

from .runner import run_path


class SweepDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.data = self.root / "data"
        self.manifest = self.root / "manifest.jsonl"
        self.meta = self.root / "sweep.json"
        self.design = self.root / "design.parquet"
        self.manifest_table = self.root / "manifest.parquet"
        self._fh = None

    def exists(self) -> bool:
        return self.meta.exists()

    # ---- the sweep's description -------------------------------------------------------------
    def write_meta(self, meta: dict[str, Any], design: pd.DataFrame) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(exist_ok=True)
        atomic_write(self.design, lambda p: design.reset_index().to_parquet(p, index=False))
        text = json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
        atomic_write(self.meta, lambda p: p.write_text(text))

    def read_meta(self) -> dict[str, Any]:
        return json.loads(self.meta.read_text())

    def read_design(self) -> pd.DataFrame:
        return pd.read_parquet(self.design).set_index("point")

    # ---- the manifest -------------------------------------------------------------------------
    def open(self) -> SweepDir:
        self.root.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        for stale in self.data.glob("preset=*/.run-*.tmp"):  # runs killed while writing
            stale.unlink(missing_ok=True)
        self._fh = open(self.manifest, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        return self

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def record(self, rec: dict[str, Any]) -> None:
        """Append one run's record and push it to disk before going on."""
        self._fh.write(json.dumps(rec, sort_keys=True, default=str) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _repair_tail(self) -> None:
        """A driver killed mid-write leaves a partial last line: cut it off."""
        if not self.manifest.exists():
            return
        data = self.manifest.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            with open(self.manifest, "r+b") as fh:
                fh.truncate(len(keep))

    def records(self) -> dict[str, dict[str, Any]]:
        """The last record of each run (a resumed sweep may append a run again)."""
        out: dict[str, dict[str, Any]] = {}
        if not self.manifest.exists():
            return out
        with open(self.manifest, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line
                out[rec["run_id"]] = rec
        return out

    def finished(self) -> dict[str, str]:
        """run_id -> status of the runs a resume need not run again: failed runs (they fail
        the same way each time) and ok runs whose data file is there."""
        out = {}
        for run_id, rec in self.records().items():
            if rec["status"] == "failed" or run_path(self.data, rec["preset"], run_id).exists():
                out[run_id] = rec["status"]
        return out

    def compact(self, order: Iterable[str] | None = None) -> pd.DataFrame:
        """manifest.parquet: one row per run, parameters as columns, in run order."""
        recs = self.records()
        ids = [r for r in order if r in recs] if order is not None else sorted(recs)
        rows = []
        for run_id in ids:
            rec = dict(recs[run_id])
            params = rec.pop("params", {}) or {}
            rec.update({f"param_{k}": v for k, v in params.items()})
            rows.append(rec)
        frame = pd.DataFrame(rows)
        atomic_write(self.manifest_table, lambda p: frame.to_parquet(p, index=False))
        return frame

    def read_manifest(self) -> pd.DataFrame:
        if self.manifest_table.exists() and (
                not self.manifest.exists()
                or self.manifest_table.stat().st_mtime >= self.manifest.stat().st_mtime):
            return pd.read_parquet(self.manifest_table)
        return self.compact()

    def read_data(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The whole dataset (or some columns), with `preset` from the partition folders."""
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        files = sorted(self.data.glob("preset=*/run-*.parquet"))
        if not files:
            return pd.DataFrame()
        # presets with different policy instruments have different columns: take them all
        schemas = {}
        for f in files:
            schemas.setdefault(f.parent.name, pq.read_schema(f))
        schema = pa.unify_schemas([s.remove_metadata() for s in schemas.values()]
                                  + [pa.schema([("preset", pa.string())])])
        dataset = ds.dataset([str(f) for f in files], format="parquet", schema=schema,
                             partitioning=ds.partitioning(pa.schema([("preset", pa.string())]),
                                                          flavor="hive"),
                             partition_base_dir=str(self.data))
        table = dataset.to_table(columns=columns)
        frame = table.to_pandas()
        if "preset" in frame:
            frame["preset"] = frame["preset"].astype(str)
        if "run_id" in frame:  # files come in run order; keep each run's rows in theirs
            frame = frame.sort_values("run_id", kind="stable")
        return frame.reset_index(drop=True)
