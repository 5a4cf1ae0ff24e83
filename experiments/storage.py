"""A sweep's folder on disk.

    DIR/sweep.json            the spec as run, the design's SALib problem, the run count
    DIR/design.parquet        the parameter points (one row per point)
    DIR/data/preset=<name>/run-<id>.parquet   one file per run, each written atomically
    DIR/manifest.jsonl        one JSON line per finished run, appended and flushed to disk as
                              each run finishes (parameters, seed, status, error, wall time,
                              fleetsim version): it survives a SIGKILL of the driver. Status
                              ok (its file is there), failed (the model refused: the same on
                              every try) or retry (the disk or the machine failed: run again)
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
from .spec import SpecError

META_TYPES = {"spec": dict, "method": str, "presets": list, "baseline": str, "runs": int}


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
        """sweep.json, checked: a damaged file is a SpecError naming it, not a traceback."""
        try:
            meta = json.loads(self.meta.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SpecError([f"{self.meta}: got a corrupt file ({err}), expected the "
                             "sweep.json that `fleetsim sweep` writes"]) from None
        missing = [k for k, kind in META_TYPES.items()
                   if not isinstance(meta, dict) or not isinstance(meta.get(k), kind)]
        if missing:
            raise SpecError([f"{self.meta}: got a file without a valid {', '.join(missing)}, "
                             "expected the sweep.json that `fleetsim sweep` writes"])
        return meta

    def read_design(self) -> pd.DataFrame:
        try:
            return pd.read_parquet(self.design).set_index("point")
        except (OSError, ValueError, KeyError) as err:  # pyarrow's ArrowInvalid is a ValueError
            raise SpecError([f"{self.design}: got a corrupt or missing file ({err}), expected "
                             "the design that `fleetsim sweep` writes"]) from None

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
        """The last record of each run (a resumed sweep may append a run again). A torn last
        line (a driver killed mid-write) is skipped; a damaged line elsewhere is a SpecError."""
        out: dict[str, dict[str, Any]] = {}
        if not self.manifest.exists():
            return out
        try:
            lines = self.manifest.read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError as err:
            raise SpecError([f"{self.manifest}: got bytes that are not text ({err}), expected "
                             "one JSON record per line"]) from None
        for n, line in enumerate(lines, 1):
            rec = parse_record(line)
            if rec is None and line.strip() and n < len(lines):
                raise SpecError([f"{self.manifest}: got a corrupt line {n}, expected one JSON "
                                 "record per line (run_id, preset, status)"])
            if rec is not None:
                out[rec["run_id"]] = rec
        return out

    def finished(self) -> dict[str, str]:
        """run_id -> status of the runs a resume need not run again: failed runs (they fail
        the same way each time) and ok runs whose data file is there, whole, with the rows on
        record. Runs to retry (a full disk) and ok runs without their file run again."""
        out = {}
        for run_id, rec in self.records().items():
            if rec["status"] == "failed" or (rec["status"] == "ok" and self.file_ok(rec)):
                out[run_id] = rec["status"]
        return out

    def file_ok(self, rec: dict[str, Any]) -> bool:
        """The run's file is there and its Parquet footer has the rows the record says."""
        import pyarrow.parquet as pq

        try:
            return pq.read_metadata(run_path(self.data, rec["preset"], rec["run_id"])
                                    ).num_rows == rec.get("rows")
        except (OSError, ValueError):  # missing, truncated or not Parquet
            return False

    def compact(self, order: Iterable[str] | None = None) -> pd.DataFrame:
        """manifest.parquet: one row per run, parameters as columns, in run order."""
        frame = self.manifest_frame(order)
        atomic_write(self.manifest_table, lambda p: frame.to_parquet(p, index=False))
        return frame

    def manifest_frame(self, order: Iterable[str] | None = None) -> pd.DataFrame:
        """The compacted manifest, built in memory (nothing written)."""
        recs = self.records()
        ids = [r for r in order if r in recs] if order is not None else sorted(recs)
        rows = []
        for run_id in ids:
            rec = dict(recs[run_id])
            params = rec.pop("params", {}) or {}
            rec.update({f"param_{k}": v for k, v in params.items()})
            rows.append(rec)
        return pd.DataFrame(rows)

    def read_manifest(self) -> pd.DataFrame:
        """manifest.parquet if it is newer than the JSON lines and readable, else the lines
        (a reader never writes into the sweep's folder)."""
        if self.manifest_table.exists() and (
                not self.manifest.exists()
                or self.manifest_table.stat().st_mtime >= self.manifest.stat().st_mtime):
            try:
                return pd.read_parquet(self.manifest_table)
            except (OSError, ValueError):
                pass  # damaged: the JSON lines hold the same records
        return self.manifest_frame()

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
        try:
            for f in files:
                schemas.setdefault(f.parent.name, pq.read_schema(f))
        except (OSError, ValueError):
            raise SpecError(corrupt_files(files)) from None
        schema = pa.unify_schemas([s.remove_metadata() for s in schemas.values()]
                                  + [pa.schema([("preset", pa.string())])])
        dataset = ds.dataset([str(f) for f in files], format="parquet", schema=schema,
                             partitioning=ds.partitioning(pa.schema([("preset", pa.string())]),
                                                          flavor="hive"),
                             partition_base_dir=str(self.data))
        try:
            table = dataset.to_table(columns=columns)
        except (OSError, ValueError):
            raise SpecError(corrupt_files(files)) from None
        frame = table.to_pandas()
        if "preset" in frame:
            frame["preset"] = frame["preset"].astype(str)
        if "run_id" in frame:  # files come in run order; keep each run's rows in theirs
            frame = frame.sort_values("run_id", kind="stable")
        return frame.reset_index(drop=True)


def parse_record(line: str) -> dict[str, Any] | None:
    """One manifest line as a record, or None if it is not one."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    ok = isinstance(rec, dict) and all(isinstance(rec.get(k), str)
                                       for k in ("run_id", "preset", "status")) \
        and isinstance(rec.get("params") or {}, dict)
    return rec if ok else None


def corrupt_files(files: Iterable[Path]) -> list[str]:
    """One line per run file that is not readable Parquet (truncated, overwritten)."""
    import pyarrow.parquet as pq

    bad = []
    for f in files:
        try:
            pq.read_metadata(f)
        except (OSError, ValueError) as err:
            bad.append(f"{f}: got a corrupt Parquet file ({str(err)[:120]}), expected a "
                       "finished run's file; delete it and run `fleetsim sweep --resume`")
    return bad or ["data: got run files that cannot be read together, expected one dataset"]
