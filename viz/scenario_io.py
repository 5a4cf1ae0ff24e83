"""Files in and out of the page: the current settings as a scenario YAML that `fleetsim run`
accepts, the results as CSV, and an uploaded scenario checked as `fleetsim validate` checks a
file (same size limit, same messages), except that its `extends:` may name only a built-in
scenario or another file the same visitor uploaded, and that the check runs in a limited child
process (upload_check)."""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import PurePosixPath, PureWindowsPath

import pandas as pd
import yaml

from fleetsim.scenarios import Scenario, ScenarioError, load
from fleetsim.scenarios.loader import MAX_FILE_BYTES

from . import upload_check
from .runner import LiveRun

MAX_KEPT_UPLOADS = 8  # a visitor's earlier uploads that a new one may extend
MAX_KEPT_BYTES = 8_000_000  # ...and their text in all (each check sends them to its child)
MAX_LABEL_CHARS = 80


class UploadRefused(ScenarioError):
    """An upload refused for a reason the page words in its own language (`key`, `kw`)."""

    def __init__(self, key: str, **kw):
        self.key, self.kw = key, kw
        super().__init__([])


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
    """Monthly results of the policy run and its baseline, one row per run and month, with
    whole-number years and months, and what made them in the last columns (scenario, seed,
    sample, settings): columns rather than `#` lines, since Excel shows comment lines as data
    and pandas needs `comment="#"` to skip them, while repeated columns read cleanly in both."""
    pol, base = run.monthly()
    frame = pd.concat([pol.assign(run="policy"), base.assign(run="baseline")],
                      ignore_index=True)
    frame = frame[["run", *pol.columns]].astype({"year": int, "month": int})
    return frame.assign(scenario=run.spec.name, seed=run.seed, sample=run.sample_fraction,
                        settings=settings_text(run)).to_csv(index=False)


def settings_text(run: LiveRun) -> str:
    """The controls moved from the scenario's values, and the changes made mid-run."""
    moved = [f"{path}={value}" for path, value in {**run.settings, **run.pending}.items()]
    moved += [f"month {ch.month}: {ch.path}={ch.value}" for ch in run.changes]
    return "; ".join(moved) or "scenario as written"


def upload_label(name) -> str:
    """The file name a visitor's browser sent, as a short label: base name only, printable."""
    text = str(name or "")
    base = PureWindowsPath(PurePosixPath(text).name).name
    base = re.sub(r"[^\w.\- ]", "_", base)[:MAX_LABEL_CHARS].strip(" .")
    return base or "scenario.yaml"


def check_size(size) -> None:
    """Refuse an upload by the size its browser announced, before any byte is read."""
    if not isinstance(size, int) or size < 0:
        raise UploadRefused("upload_unreadable")
    if size > MAX_FILE_BYTES:
        raise UploadRefused("upload_too_big", size=size, limit=MAX_FILE_BYTES)


def read_upload(name: str, data: bytes, uploads: OrderedDict[str, str] | None = None
                ) -> Scenario:
    """A validated Scenario from an uploaded file, or ScenarioError with the lines
    `fleetsim validate` prints for the same file (UploadRefused: a reason the page words).
    `uploads` (name -> text) holds the visitor's earlier uploads, which this one may extend;
    every upload checked to the end joins it, under its file name and its stem."""
    label = upload_label(name)
    check_size(len(data))
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused("upload_not_text") from None
    if "\x00" in text:
        raise UploadRefused("upload_not_text")
    found = upload_check.check(text, label, dict(uploads or {}))
    if found.key:
        raise UploadRefused(found.key)
    if uploads is not None:  # even if invalid alone: a part meant to be extended
        remember(uploads, label, text)
    if found.scenario is None:
        raise ScenarioError(found.problems or [f"{label}: not a valid scenario"])
    return found.scenario


def remember(uploads: OrderedDict[str, str], label: str, text: str) -> None:
    """Keep a valid upload for later ones to extend; the oldest go beyond MAX_KEPT_UPLOADS."""
    stem = label.rsplit(".", 1)[0] if label.endswith((".yaml", ".yml")) else label
    for key in {label, stem}:
        uploads.pop(key, None)
        uploads[key] = text
    while len(uploads) > 2 * MAX_KEPT_UPLOADS or (
            sum(map(len, uploads.values())) > MAX_KEPT_BYTES and len(uploads) > 2):
        uploads.popitem(last=False)
