"""Calibration: which values of a scenario's estimated ([E]) parameters reproduce what was
observed, by rejection approximate Bayesian computation (ABC) over a sweep.

A targets file (YAML, checked like a sweep spec) names the scenario, the [E] parameters to
calibrate by their scenario path with a prior range (uniform), and the observed series: each
with its results column (optionally divided by another: a share), unit, source, value and band
by year, and the years held out of the fit. `calibrate` then

1. checks every path and both ends of every range against the scenario, and every target column
   against the model's results, before any run;
2. runs a Latin hypercube over the ranges (SALib, the design's seed) through the sweep machinery
   (experiments/sweep.py: local processes or Dask, one file per run, resumable: a killed
   calibration run again with the same --out picks up the sweep's finished runs);
3. measures each design point's distance to the calibration (not held-out) observations:
   the root mean square of (simulated - observed) / (half the band's width), seeds averaged
   first, so a point whose every series sits on its band's edge has distance 1;
4. accepts the points with the smallest distances (the `accept.quantile` share, at least one;
   and only those within `accept.max_distance` if given): rejection ABC with a quantile
   tolerance (Pritchard et al. 1999; Beaumont, Zhang & Balding 2002). The accepted values are
   a sample of the approximate posterior under the uniform prior.

It writes overlay.yaml (a scenario extending the calibrated one with the posterior medians),
accepted.csv (the accepted sets, their distances), posterior.csv, comparison.csv (simulated
against observed with bands, held-out years marked), calibration.png and report.md.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fleetsim.scenarios import ScenarioError, load
from fleetsim.scenarios.loader import apply_override, load_raw, parse_yaml

from .spec import MAX_SPEC_BYTES, SpecError, base_value
from .storage import SweepDir
from .sweep import Sweep

DISTANCE = "rms of (simulated - observed) / half band width over the calibration years"


class TargetsError(SpecError):
    """A targets file that cannot be used; one `path: got VALUE, expected WHAT` per problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prior(Strict):
    """A parameter's uniform prior range; with `scale: true` the value multiplies what the
    scenario has at the path (a number or a year -> value path)."""

    range: tuple[float, float]
    scale: bool = False
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self):
        lo, hi = self.range
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"range: got {list(self.range)}, expected finite [low, high] "
                             "with low < high")
        return self


class Target(Strict):
    """One observed series: a results column (or its ratio to another) by year."""

    column: str
    divide_by: str | None = None  # a share: column / divide_by
    unit: str
    source: str
    observed: dict[int, float]
    band: dict[int, tuple[float, float]]  # year -> [low, high], the band stated beforehand
    held_out: list[int] = []  # years shown in the report but not used in the fit

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        if set(self.band) != set(self.observed):
            problems.append(f"band: got years {sorted(self.band)}, expected the observed "
                            f"years {sorted(self.observed)}")
        for y, (lo, hi) in self.band.items():
            v = self.observed.get(y)
            if not (lo < hi) or (v is not None and not lo <= v <= hi):
                problems.append(f"band.{y}: got [{lo}, {hi}], expected low < high around the "
                                f"observed {v}")
        extra = sorted(set(self.held_out) - set(self.observed))
        if extra:
            problems.append(f"held_out: got {extra}, expected observed years")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def fitted_years(self) -> list[int]:
        return sorted(y for y in self.observed if y not in self.held_out)


class Design(Strict):
    samples: Annotated[int, Field(ge=2, le=10_000)]
    seed: int = 0


class Accept(Strict):
    quantile: Annotated[float, Field(gt=0, le=1)] = 0.2
    max_distance: Annotated[float, Field(gt=0)] | None = None


class Targets(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str = ""
    scenario: str
    years: Annotated[float, Field(gt=0, le=200)]
    sample_fraction: Annotated[float, Field(gt=0, le=1)]
    seeds: Annotated[list[Annotated[int, Field(ge=0, le=2**32 - 1)]], Field(min_length=1)]
    design: Design
    accept: Accept = Accept()
    parameters: Annotated[dict[str, Prior], Field(min_length=1)]
    targets: Annotated[dict[str, Target], Field(min_length=1)]

    @model_validator(mode="after")
    def _something_to_fit(self):
        if not any(t.fitted_years() for t in self.targets.values()):
            raise ValueError("targets: got every year held out, expected at least one year "
                             "to fit")
        return self


# ---- reading and checking ----------------------------------------------------------------------
def read_targets(path: str | Path) -> tuple[Targets, Path]:
    """The validated targets file and the folder a relative scenario path is read from."""
    path = Path(path)
    if not path.is_file():
        raise TargetsError([f"targets: got '{path}', expected the path of a YAML file"])
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise TargetsError([f"{path.name}: got {path.stat().st_size} bytes, expected at most "
                            f"{MAX_SPEC_BYTES}"])
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"), path.name)
    except (ScenarioError, UnicodeDecodeError) as err:
        detail = "; ".join(err.problems) if isinstance(err, ScenarioError) else str(err)
        raise TargetsError([f"{path.name}: got {detail}, expected a YAML mapping of "
                            "calibration fields"]) from None
    try:
        return Targets.model_validate(raw), path.parent.resolve()
    except ValidationError as err:
        raise TargetsError(validation_lines(err)) from None


def validation_lines(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "targets"
        if e["type"] == "extra_forbidden":
            out.append(f"{where}: got an unknown key, expected a field of the targets file")
        elif e["type"] == "missing":
            out.append(f"{where}: got nothing, expected this required field")
        elif e["type"] == "value_error":
            for part in e["msg"].removeprefix("Value error, ").split("; "):
                out.append(f"{where}.{part}" if not part.startswith("got") else
                           f"{where}: {part}")
        else:
            got = e.get("input")
            got = f"a {type(got).__name__}" if isinstance(got, dict | list) else repr(got)
            out.append(f"{where}: got {got}, expected {e['msg'].replace('Input should be ', '')}")
    return out


def scenario_source(targets: Targets, folder: Path) -> str:
    """A built-in name, or the scenario's path made absolute (workers read it)."""
    given = Path(targets.scenario)
    if targets.scenario.endswith((".yaml", ".yml")) and not given.is_absolute():
        return str((folder / given).resolve())
    return targets.scenario


def check_parameters(targets: Targets, source: str) -> dict:
    """Every path exists in the scenario and both ends of its range give a valid scenario.
    Returns the scenario's raw mapping (for scaled paths and the overlay)."""
    try:
        raw = load_raw(source)
    except ScenarioError as err:
        raise TargetsError([f"scenario: {line.removeprefix('scenario: ')}"
                            for line in err.problems]) from None
    problems: list[str] = []
    for path, prior in targets.parameters.items():
        try:
            apply_override(copy.deepcopy(raw), path, 0.0)
            ends = [override_value(raw, path, prior, x) for x in prior.range]
        except (ScenarioError, SpecError) as err:
            problems.extend(f"parameters.{line}" if line.startswith(f"{path}:") else
                            f"parameters.{path}: {line}" for line in err.problems)
            continue
        for x, value in zip(prior.range, ends, strict=True):
            try:
                load(source, {path: value})
            except ScenarioError as err:
                problems.extend(f"parameters.{path}.range: got {x}, which the scenario refuses "
                                f"({line})" for line in err.problems[:1])
    if problems:
        raise TargetsError(problems)
    return raw


def override_value(raw: dict, path: str, prior: Prior, x: float) -> Any:
    """What a sampled x sets at the path: x itself, or x times the scenario's value."""
    if not prior.scale:
        return float(x)
    base = base_value(raw, path)
    if isinstance(base, dict):
        return {k: float(v) * float(x) for k, v in base.items()}
    return float(base) * float(x)


def check_columns(targets: Targets, source: str) -> None:
    """Every target column is a results column of the scenario at this sample."""
    from fleetsim.sim import FleetModel

    names = set(FleetModel(source, rng=targets.seeds[0],
                           sample_fraction=targets.sample_fraction).metric_names())
    problems = [f"targets.{k}.{field}: got '{col}', expected a results column such as "
                "vehicles, entered_new or mean_age_years"
                for k, t in targets.targets.items()
                for field, col in (("column", t.column), ("divide_by", t.divide_by))
                if col is not None and col not in names]
    if problems:
        raise TargetsError(problems)


# ---- running -------------------------------------------------------------------------------------
def parameter_names(targets: Targets) -> dict[str, str]:
    """Scenario path -> the sweep's parameter name (p0_market_growth_per_year, ...)."""
    return {path: f"p{i}_" + re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")[:60]
            for i, path in enumerate(targets.parameters)}


def sweep_spec(targets: Targets, source: str) -> dict[str, Any]:
    """The sweep that runs the design: one preset, a Latin hypercube over the ranges."""
    names = parameter_names(targets)
    columns = sorted({c for t in targets.targets.values() for c in (t.column, t.divide_by)
                      if c is not None})
    return {
        "name": targets.name, "description": f"calibration design of {targets.name}",
        "presets": [source], "years": targets.years,
        "sample_fraction": targets.sample_fraction,
        "parameters": {names[p]: {"path": p, "uniform": list(prior.range),
                                  "scale": prior.scale} for p, prior in
                       targets.parameters.items()},
        "design": {"method": "latin_hypercube", "samples": targets.design.samples,
                   "seed": targets.design.seed},
        "seeds": list(targets.seeds), "outputs": "yearly", "metrics": columns,
    }


def run_design(targets: Targets, source: str, out: Path, workers: int | None = None,
               scheduler: Any = None, on_result=None):
    """Run (or resume) the design's sweep in out/runs."""
    runs = out / "runs"
    job = Sweep.from_dict(sweep_spec(targets, source))
    return job.run(runs, workers=workers, scheduler=scheduler,
                   resume=SweepDir(runs).exists(), on_result=on_result)


# ---- fitting -------------------------------------------------------------------------------------
def simulated(targets: Targets, data: pd.DataFrame) -> pd.DataFrame:
    """One row per (point, target, year): the simulated value, seeds averaged."""
    rows = []
    for key, t in targets.targets.items():
        v = data[t.column].astype(float)
        if t.divide_by is not None:
            v = v / data[t.divide_by].replace(0, np.nan).astype(float)
        part = pd.DataFrame({"point": data["point"], "year": data["year"], "value": v})
        part = part[part["year"].isin(list(t.observed))]
        g = part.groupby(["point", "year"], as_index=False)["value"].mean()
        g.insert(1, "target", key)
        rows.append(g)
    return pd.concat(rows, ignore_index=True)


def observations(targets: Targets) -> pd.DataFrame:
    rows = [{"target": k, "year": y, "observed": v, "low": t.band[y][0], "high": t.band[y][1],
             "held_out": y in t.held_out, "unit": t.unit, "source": t.source}
            for k, t in targets.targets.items() for y, v in sorted(t.observed.items())]
    return pd.DataFrame(rows)


def distances(sim: pd.DataFrame, obs: pd.DataFrame) -> pd.Series:
    """Per point: the root mean square of (simulated - observed) / half band width over the
    calibration (not held-out) observations; a point missing one of them is at infinity."""
    fit = obs[~obs["held_out"]]
    m = sim.merge(fit, on=["target", "year"])
    m["z"] = (m["value"] - m["observed"]) / ((m["high"] - m["low"]) / 2.0)
    d = m.groupby("point")["z"].agg(lambda z: float(np.sqrt(np.mean(z ** 2))))
    counts = m.groupby("point")["z"].count()
    return d.where(counts == len(fit), np.inf).rename("distance")


def accept(dist: pd.Series, rule: Accept) -> pd.Index:
    """The points kept: the smallest `quantile` share of distances (at least one), within
    `max_distance` if given."""
    finite = dist[np.isfinite(dist)].sort_values(kind="stable")
    if finite.empty:
        raise TargetsError(["runs: got no run with every calibration year, expected at least "
                            "one finished run (see runs/manifest.jsonl)"])
    kept = finite.iloc[: max(1, math.ceil(rule.quantile * len(finite)))]
    if rule.max_distance is not None:
        kept = kept[kept <= rule.max_distance]
    return kept.index


def posterior(targets: Targets, design: pd.DataFrame, kept: pd.Index) -> pd.DataFrame:
    names = parameter_names(targets)
    rows = []
    for path, prior in targets.parameters.items():
        x = design.loc[kept, names[path]].astype(float)
        rows.append({"parameter": path, "scale": prior.scale, "prior_low": prior.range[0],
                     "prior_high": prior.range[1], "accepted": len(x), "median": x.median(),
                     "p5": x.quantile(0.05), "p95": x.quantile(0.95), "min": x.min(),
                     "max": x.max()})
    return pd.DataFrame(rows)


def comparison(sim: pd.DataFrame, obs: pd.DataFrame, kept: pd.Index) -> pd.DataFrame:
    """Observed with bands against the accepted runs (median, 5-95%) and all runs (median)."""
    acc = sim[sim["point"].isin(kept)].groupby(["target", "year"])["value"]
    every = sim.groupby(["target", "year"])["value"].median().rename("prior_median")
    table = obs.set_index(["target", "year"]).join(
        pd.DataFrame({"sim_median": acc.median(), "sim_p5": acc.quantile(0.05),
                      "sim_p95": acc.quantile(0.95)})).join(every).reset_index()
    table["within_band"] = table["sim_median"].between(table["low"], table["high"])
    return table


# ---- writing -------------------------------------------------------------------------------------
def overlay(targets: Targets, raw: dict, post: pd.DataFrame, dist: pd.Series,
            kept: pd.Index, design: pd.DataFrame) -> str:
    """A scenario extending the calibrated one, with each parameter at its posterior median;
    the accepted sets are listed as comments (they are in accepted.csv too)."""
    tree: dict = {"name": f"{targets.name}_calibrated",
                  "description": f"{targets.scenario} with the posterior medians of "
                                 f"calibration {targets.name} (fleetsim calibrate)",
                  "extends": targets.scenario}
    for row in post.itertuples():
        prior = targets.parameters[row.parameter]
        value = override_value(raw, row.parameter, prior, row.median)
        _set(tree, row.parameter, value)
        if row.parameter.endswith(".value"):  # a sourced number: say where it now comes from
            _set(tree, row.parameter.removesuffix(".value") + ".source",
                 f"[E] calibrated: posterior median of {targets.name} (fleetsim calibrate; "
                 f"prior {list(prior.range)}{', x the scenario value' if prior.scale else ''}"
                 f", 5-95% {row.p5:.4g} to {row.p95:.4g})")
    names = parameter_names(targets)
    lines = [f"# Calibrated by `fleetsim calibrate` ({targets.name}): rejection ABC, distance "
             f"= {DISTANCE};", f"# {len(kept)} of {len(dist)} design points accepted. "
             "Values are posterior medians ([E] calibrated).", "# Accepted sets (distance: "
             + ", ".join(targets.parameters) + "):"]
    for p in kept:
        vals = ", ".join(f"{design.loc[p, names[k]]:.4g}" for k in targets.parameters)
        lines.append(f"#   point {p}: {dist[p]:.3f}: {vals}")
    return "\n".join(lines) + "\n" + yaml.safe_dump(tree, sort_keys=False)


def _set(tree: dict, path: str, value: Any) -> None:
    node = tree
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value


def write_outputs(out: Path, targets: Targets, tables: dict[str, pd.DataFrame],
                  overlay_text: str, summary: dict) -> list[Path]:
    from . import charts

    written = []
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
        written.append(out / f"{name}.csv")
    (out / "overlay.yaml").write_text(overlay_text, encoding="utf-8")
    written.append(out / "overlay.yaml")
    png = charts.calibration(tables["comparison"], out / "calibration.png")
    written.append(png)
    (out / "report.md").write_text(report_markdown(targets, tables, summary),
                                   encoding="utf-8")
    written.append(out / "report.md")
    return written


def report_markdown(targets: Targets, tables: dict[str, pd.DataFrame], summary: dict) -> str:
    cmp, post = tables["comparison"], tables["posterior"]
    lines = [f"# Calibration {targets.name}", "", targets.description.strip(), "",
             f"Scenario {targets.scenario}, sample {targets.sample_fraction:g}, "
             f"{targets.years:g} years, seeds {targets.seeds}; Latin hypercube of "
             f"{targets.design.samples} points (seed {targets.design.seed}); "
             f"{summary['runs_ok']} runs ok, {summary['runs_failed']} failed.", "",
             f"Method: rejection ABC; distance = {DISTANCE}; accepted the "
             f"{targets.accept.quantile:g} quantile"
             + (f" within distance {targets.accept.max_distance:g}"
                if targets.accept.max_distance else "")
             + f": {summary['accepted']} points, distances {summary['d_min']:.2f} to "
               f"{summary['d_max']:.2f} (all points: median {summary['d_median']:.2f}).", "",
             "## Posterior (prior: uniform over the range)", "",
             "| parameter | prior | median | 5-95% | accepted |", "|---|---|---|---|---|"]
    for r in post.itertuples():
        kind = " (x scenario value)" if r.scale else ""
        lines.append(f"| {r.parameter}{kind} | {r.prior_low:g} to {r.prior_high:g} | "
                     f"{r.median:.4g} | {r.p5:.4g} to {r.p95:.4g} | {r.accepted} |")
    lines += ["", "## Simulated (accepted runs) against observed", "",
              "| target | year | observed | band | simulated median | 5-95% | all runs' median "
              "| in band | use |", "|---|---|---|---|---|---|---|---|---|"]
    for r in cmp.itertuples():
        lines.append(f"| {r.target} ({r.unit}) | {r.year} | {num(r.observed)} | "
                     f"{num(r.low)} to {num(r.high)} | {num(r.sim_median)} | "
                     f"{num(r.sim_p5)} to {num(r.sim_p95)} | {num(r.prior_median)} | "
                     f"{'yes' if r.within_band else 'NO'} | "
                     f"{'held out' if r.held_out else 'fitted'} |")
    lines += ["", "Sources:", ""]
    lines += [f"- {k}: {t.source}" for k, t in targets.targets.items()]
    return "\n".join(lines) + "\n"


def num(x: float) -> str:
    """A number as a table shows it: whole thousands with commas, else 3 significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def calibrate(path: str | Path, out: str | Path, workers: int | None = None,
              scheduler: Any = None, on_result=None) -> list[Path]:
    """Check the targets file, run (or resume) its design, accept by rejection ABC and write
    the overlay and the report into `out`. Returns the files written (report.md last)."""
    targets, folder = read_targets(path)
    source = scenario_source(targets, folder)
    raw = check_parameters(targets, source)
    check_columns(targets, source)
    out = Path(out)
    run_design(targets, source, out, workers, scheduler, on_result)
    sd = SweepDir(out / "runs")
    data, design = sd.read_data(), sd.read_design()
    if data.empty:
        raise TargetsError([f"runs: got no finished run in {sd.root}, expected at least one "
                            "(see its manifest.jsonl)"])
    obs = observations(targets)
    sim = simulated(targets, data)
    dist = distances(sim, obs).reindex(design.index, fill_value=np.inf)
    kept = accept(dist, targets.accept)
    post = posterior(targets, design, kept)
    names = {v: k for k, v in parameter_names(targets).items()}
    acc = design.loc[kept].rename(columns=names).assign(distance=dist[kept])
    tables = {"comparison": comparison(sim, obs, kept), "posterior": post,
              "accepted": acc.reset_index(),
              "distances": design.rename(columns=names).assign(distance=dist).reset_index()}
    finite = dist[np.isfinite(dist)]
    status = sd.read_manifest()["status"]
    summary = {"runs_ok": int((status == "ok").sum()), "runs_failed": int((status != "ok").sum()),
               "accepted": len(kept), "d_min": float(dist[kept].min()),
               "d_max": float(dist[kept].max()), "d_median": float(finite.median())}
    text = overlay(targets, raw, post, dist, kept, design)
    return write_outputs(out, targets, tables, text, summary)
