"""A run's files: the monthly table (Parquet or CSV) and a JSON summary, published as one unit.

A run folder is published whole: both files are written into a fresh staging folder next to it
(`.NAME.new-PID-XXXX`), synced, and swapped with the run folder in one atomic rename
(renameat2 RENAME_EXCHANGE on Linux). A reader sees the previous pair or the new pair, never a
mix, whenever the process dies. Where the exchange is not supported, the old folder is renamed
aside first (`.NAME.old-PID-XXXX`) and the new one renamed in; `recover_run` (called by every
write) finishes a publish cut between those two renames, and removes staging folders of dead
processes. This was chosen over a summary-names-its-data scheme because files under fixed names
(timeseries.parquet, summary.json) are what users and the page read directly.

Test hooks (environment variables read only here, set only by tests):
    FLEETSIM_TEST_PAUSE_AT=<stage>   print "FLEETSIM_TEST_PAUSED <stage>" to stderr and sleep
    FLEETSIM_TEST_ENOSPC_AT=<stage>  raise OSError(ENOSPC) at that stage
Stages: staged (staging folder and probe made, before the run), table (table written),
files (both files synced, before the swap), swapped (after the swap, old folder not yet
removed), aside (fallback only: old folder renamed aside, new not yet in), run-<id> (a sweep
run's file, before its rename).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from .metrics import EMISSIONS, yearly
from .model import FleetModel


def fleetsim_version() -> str:
    try:
        return version("fleetsim")
    except PackageNotFoundError:
        return "unknown"


def summary(model: FleetModel, wall_time_s: float | None = None) -> dict[str, Any]:
    """Headline figures of a run: fleet and shares at start and end, emissions in the first and
    last simulated years (tonnes per year; a partial year says how many months it has)."""
    res = model.results()
    if res.empty:
        raise ValueError("summary: got a model with no simulated months, expected a run")
    per_year = yearly(res).set_index("year")
    first, last = per_year.iloc[0], per_year.iloc[-1]
    start_vehicles = float(model.initial_counts.sum() / model.sample_fraction)

    def year_block(y: int, row: pd.Series) -> dict[str, Any]:
        return {"year": int(y), "months": int(row["months"]),
                **{k: float(row[k]) for k in EMISSIONS}}

    return {
        "scenario": model.spec.name,
        "seed": model.seed,
        "version": fleetsim_version(),
        "sample_fraction": model.sample_fraction,
        "start": res["date"].iloc[0],
        "end": res["date"].iloc[-1],
        "months": len(res),
        "wall_time_s": None if wall_time_s is None else round(wall_time_s, 3),
        "headline": {
            "vehicles_start": start_vehicles,
            "vehicles_end": float(res["vehicles"].iloc[-1]),
            "share_soot_free_end": float(res["share_soot_free"].iloc[-1]),
            "share_zev_end": float(res["share_zev"].iloc[-1]),
            "mean_age_years_end": float(res["mean_age_years"].iloc[-1]),
            "emissions_first_year": year_block(per_year.index[0], first),
            "emissions_last_year": year_block(per_year.index[-1], last),
            "emissions_total_t": {k: float(res[k].sum()) for k in EMISSIONS},
        },
        "policy": policy_summary(model, res),
    }


def policy_summary(model: FleetModel, res: pd.DataFrame) -> dict[str, Any]:
    """Public money per instrument over the run, and what is left of each budget."""
    reg = model.regulator
    per = {}
    for i, (kind, x) in enumerate(reg.instruments):
        entry: dict[str, Any] = {"kind": kind, "active_months": int(res[f"active_{x.name}"].sum())}
        if f"spend_{x.name}_mxn" in res:
            budget = getattr(x, "budget_mxn", None)
            left = reg.budget_left(i) / model.sample_fraction
            granted = res.groupby("year")[f"granted_{x.name}"].sum()
            entry.update({
                "spent_mxn": float(res[f"spend_{x.name}_mxn"].sum()),
                "budget_mxn": budget,
                "budget_left_mxn": None if budget is None else float(left),
                "granted": float(granted.sum()),
                "granted_by_year": {int(y): float(v) for y, v in granted.items() if v},
            })
            if getattr(x, "units_per_year", None) is not None:
                # units a year against what was granted: undersubscription shows here
                entry["units_per_year"] = x.units_per_year
        per[x.name] = entry
    return {
        "public_spending_mxn": float(res["public_spending_mxn"].sum()),
        "fuel_tax_revenue_mxn": float(res["fuel_tax_revenue_mxn"].sum()),
        "instruments": per,
        "adaptive_fired": {r: f"{m // 12:04d}-{m % 12 + 1:02d}" for r, m in reg.fired.items()},
    }


RUN_FILES = ("timeseries.parquet", "timeseries.csv", "summary.json")
PAUSE_ENV = "FLEETSIM_TEST_PAUSE_AT"
ENOSPC_ENV = "FLEETSIM_TEST_ENOSPC_AT"
PROBE = ".probe"
AT_FDCWD = -100
RENAME_EXCHANGE = 2
SUMMARY_BYTES = 64 * 1024
COLUMNS_ESTIMATE = 200  # results have ~150 columns (more with many policy instruments)


def test_hook(stage: str) -> None:
    """Tests only: pause (to be killed) or fail with a full disk at a named stage."""
    if os.environ.get(PAUSE_ENV) == stage:
        print(f"FLEETSIM_TEST_PAUSED {stage}", file=sys.stderr, flush=True)
        time.sleep(600)
    if os.environ.get(ENOSPC_ENV) == stage:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), stage)


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def usual_mode(path: Path, base: int) -> None:
    """mkstemp/mkdtemp make owner-only entries; give the usual mode under the umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, base & ~umask)


def atomic_write(path: Path, write: Callable[[Path], None], stage: str | None = None) -> None:
    """Write through a temporary file in the same folder, synced, then rename: a reader never
    sees a partial file under the final name, even if the process dies mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        usual_mode(Path(tmp), 0o666)
        fsync_path(Path(tmp))
        if stage is not None:
            test_hook(stage)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def estimate_bytes(fmt: str, rows: int, columns: int = COLUMNS_ESTIMATE) -> int:
    """A generous size of a results table: Parquet has ~1 KB of metadata per column."""
    per_row = 16 * columns
    return per_row * rows + (1024 * columns if fmt == "parquet" else 0) + SUMMARY_BYTES


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def existing_ancestor(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path("/")


def check_out_folder(out: Path, option: str = "--out") -> None:
    """A user's --out: a folder or a path that can become one (not a file, nor under one)."""
    if out.exists() and not out.is_dir():
        raise OutError(f"{option}: got {out}, which is a file, expected a folder")
    base = existing_ancestor(out.parent if not out.exists() else out)
    if not base.is_dir():
        raise OutError(f"{option}: got {out}, which is inside the file {base}, expected a "
                       "folder")


def check_run_folder(out: Path) -> None:
    """--out is replaced as a whole: it must hold nothing but an earlier run's files."""
    check_out_folder(out)
    if not out.is_dir():
        return
    other = sorted(p.name for p in out.iterdir()
                   if p.name not in RUN_FILES and not p.name.endswith(".tmp"))
    if other:
        shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
        raise OutError(f"--out: got {out}, which holds other files ({shown}), expected a new "
                       "or empty folder or an earlier run's folder")


class OutError(OSError):
    """An output folder that cannot be used; the message is the one line to show."""


def staging_folder(out: Path, kind: str = "new") -> Path:
    """A fresh folder next to `out` (same file system, so renames are atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{kind}-{os.getpid()}-", dir=out.parent))
    usual_mode(tmp, 0o777)
    return tmp


def writable_staging(out: Path) -> Path:
    """staging_folder for a user's --out: a folder that cannot be made is the user's to fix."""
    try:
        return staging_folder(out)
    except OSError as err:
        raise OutError(f"--out: got {out}, expected a writable folder "
                       f"({err.strerror or err})") from None


def probe(folder: Path, need: int, option: str = "--out") -> None:
    """Write a probe file and check the free space before any work: a full or read-only disk
    is reported at once, not after hours of simulation."""
    path = folder / PROBE
    path.write_bytes(b"fleetsim probe\n")
    fsync_path(path)
    path.unlink()
    free = free_bytes(folder)
    if free < need:
        raise OutError(f"{option}: got {folder.parent} with {mb(free)} free, expected at least "
                       f"{mb(need)} for the results")
    test_hook("staged")


def prepare_run(out_dir: str | Path, fmt: str = "parquet", months: int = 360) -> Path:
    """Before a run: check --out, make the staging folder, probe it; returns the staging folder
    to hand to write_run. Raises OutError (or OSError) with the path in the message."""
    out = Path(out_dir).resolve()
    check_out_folder(out)
    recover_run(out)
    check_run_folder(out)
    tmp = writable_staging(out)
    try:
        probe(tmp, estimate_bytes(fmt, months))
    except OutError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutError(f"--out: got {out}, expected a writable folder with room for the "
                       f"results ({err.strerror or err})") from None
    return tmp


def discard_staging(staging: Path | None) -> None:
    """A run that did not reach write_run: remove its staging folder."""
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)


def write_run(model: FleetModel, out_dir: str | Path, fmt: str = "parquet",
              wall_time_s: float | None = None,
              extra: dict[str, Any] | None = None, staging: Path | None = None) -> list[Path]:
    """DIR/timeseries.parquet (or .csv) and DIR/summary.json (with `extra` entries, e.g. a
    comparison), published together (see the module's notes); returns the paths written.
    `staging`: the folder prepare_run made before the run (made here if not given)."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format: got '{fmt}', expected parquet or csv")
    out = Path(out_dir)
    tmp = staging or prepare_run(out, fmt, len(model.results()))
    try:
        res = model.results()
        table = tmp / f"timeseries.{fmt}"
        if fmt == "parquet":
            res.to_parquet(table, index=False)
        else:
            res.to_csv(table, index=False)
        test_hook("table")
        info = {**summary(model, wall_time_s), **(extra or {})}
        (tmp / "summary.json").write_text(json.dumps(info, indent=2) + "\n")
        for name in (table.name, "summary.json"):
            usual_mode(tmp / name, 0o666)
            fsync_path(tmp / name)
        fsync_path(tmp)
        test_hook("files")
        publish_folder(tmp, out.resolve())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / f"timeseries.{fmt}", out / "summary.json"]


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    if fn is None or os.environ.get("FLEETSIM_TEST_NO_EXCHANGE"):
        return False
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish_folder(new: Path, target: Path) -> None:
    """Put the complete folder `new` in place of `target` in one step; the old one is removed.
    FLEETSIM_TEST_NO_EXCHANGE=1 (tests) forces the two-rename fallback."""
    if not target.exists():
        os.rename(new, target)
    elif exchange(new, target):
        test_hook("swapped")
        shutil.rmtree(new)  # now the old folder
    else:
        aside = staging_folder(target, "old")
        os.rename(target, aside / "run")
        test_hook("aside")
        os.rename(new, target)
        shutil.rmtree(aside)
    fsync_path(target.parent)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_run(out: Path) -> None:
    """Finish or undo what a killed publish left next to `out`: a run folder cut between the
    two renames of the fallback is put back (the new one if whole, else the old one); staging
    folders of processes that are gone are removed."""
    out = Path(out)
    if not out.parent.is_dir():
        return
    leftovers = sorted(out.parent.glob(f".{out.name}.*-*-*"))
    for path in leftovers:
        pid = path.name.removeprefix(f".{out.name}.").split("-")[1]
        if not path.is_dir() or not pid.isdigit() or pid_alive(int(pid)):
            continue
        kind = path.name.removeprefix(f".{out.name}.").split("-")[0]
        if not out.exists():
            whole = kind == "new" and (path / "summary.json").exists()
            if whole or (kind == "old" and (path / "run").is_dir()):
                os.rename(path if whole else path / "run", out)
        shutil.rmtree(path, ignore_errors=True)
    for stale in out.glob(".*.tmp") if out.is_dir() else ():
        stale.unlink(missing_ok=True)  # temporary files of the old per-file writer
