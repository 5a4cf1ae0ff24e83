"""Files in and out of the page: the current settings as a scenario YAML that `fleetsim run`
accepts, the results as CSV, and an uploaded scenario checked exactly as `fleetsim validate`
checks a file (same size limit, same messages)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import yaml

from fleetsim.scenarios import Scenario, ScenarioError, load
from fleetsim.scenarios.loader import MAX_FILE_BYTES

from .runner import LiveRun


def export_yaml(run: LiveRun) -> str:
    """The scenario with every control's current value written in, standing alone (no
    `extends:`), with the page's sample fraction so that `fleetsim run FILE --seed N` gives
    the numbers the page showed (changes made mid-run are written as if made at the start)."""
    overrides = {**run.settings, **run.pending,
                 "simulation.sample_fraction": run.sample_fraction}
    spec = load(run.spec, overrides)
    raw = spec.model_dump(mode="python", exclude_none=True)
    raw["name"] = f"{spec.name}_workshop" if not spec.name.endswith("_workshop") else spec.name
    raw.pop("extends", None)
    head = [f"# Exported from the fleetsim page: {spec.name} with the settings below.",
            f"# Reproduce: fleetsim run this_file.yaml --seed {run.seed}",
            "# For the whole fleet, set simulation.sample_fraction back to 1.0.",
            *(f"#   {path} = {value}" for path, value in overrides.items())]
    for ch in run.changes:
        head.append(f"#   changed in month {ch.month} of the run: {ch.path} = {ch.value}")
    body = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head) + "\n" + body


def export_csv(run: LiveRun) -> str:
    """Monthly results of the policy run and its baseline, one row per run and month."""
    pol, base = run.monthly()
    frame = pd.concat([pol.assign(run="policy"), base.assign(run="baseline")],
                      ignore_index=True)
    return frame[["run", *pol.columns]].to_csv(index=False)


def read_upload(name: str, data: bytes) -> Scenario:
    """A validated Scenario from an uploaded file, or ScenarioError with the lines
    `fleetsim validate` prints for the same file."""
    label = Path(name or "scenario.yaml").name
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError([f"{label}: got {len(data)} bytes, expected at most "
                             f"{MAX_FILE_BYTES}"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / label
        path.write_bytes(data)
        return load(path)
