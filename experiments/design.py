"""Designs: the parameter points a sweep runs, and the overrides each point gives a preset.

A grid crosses every parameter's listed values. Latin hypercube, Sobol (Saltelli's scheme) and
Morris designs come from SALib with the spec's design seed, so the same spec always gives the
same points in the same order.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from .spec import Parameter, SpecError, SweepSpec, base_value

SALIB_DIST = {"uniform": "unif", "loguniform": "logunif", "triangular": "triang",
              "normal": "norm"}


def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    """The SALib problem dict of a sampled design (names, bounds, distributions)."""
    names, bounds, dists = [], [], []
    for name, p in spec.parameters.items():
        names.append(name)
        dist = p.distribution
        if dist == "triangular":
            lo, mode, hi = p.triangular
            bounds.append([lo, hi, (mode - lo) / (hi - lo)])
        else:
            bounds.append(list(getattr(p, dist)))
        dists.append(SALIB_DIST[dist])
    return {"num_vars": len(names), "names": names, "bounds": bounds, "dists": dists}


def design_points(spec: SweepSpec) -> pd.DataFrame:
    """One row per parameter point (index = point number), one column per parameter.
    With no parameters, a single point with no columns."""
    method = spec.design.method
    names = list(spec.parameters)
    if not names:
        return pd.DataFrame(index=pd.RangeIndex(1, name="point"))
    if method == "grid":
        rows = list(itertools.product(*(spec.parameters[n].values for n in names)))
        frame = pd.DataFrame(rows, columns=names)
    else:
        x = _sample(spec)
        frame = pd.DataFrame(x, columns=names)
        for n in names:
            if spec.parameters[n].integer:
                frame[n] = np.round(frame[n]).astype(np.int64)
    frame.index.name = "point"
    return frame


def design_size(spec: SweepSpec) -> int:
    """How many points the design has (without building it)."""
    p, d = len(spec.parameters), spec.design
    if p == 0:
        return 1
    if d.method == "grid":
        return math.prod(len(x.values) for x in spec.parameters.values())
    if d.method == "sobol":
        return d.samples * (2 * p + 2 if d.second_order else p + 2)
    if d.method == "morris":
        return d.samples * (p + 1)
    return d.samples


def _sample(spec: SweepSpec) -> np.ndarray:
    from SALib.sample import latin, morris, sobol

    problem, d = salib_problem(spec), spec.design
    if d.method == "latin_hypercube":
        return latin.sample(problem, d.samples, seed=d.seed)
    if d.method == "sobol":
        return sobol.sample(problem, d.samples, calc_second_order=d.second_order, seed=d.seed)
    if d.method == "morris":
        morris_problem = {k: v for k, v in problem.items() if k != "dists"}
        return morris.sample(morris_problem, d.samples, num_levels=d.levels, seed=d.seed)
    raise SpecError([f"design.method: got '{d.method}', expected a sampled design"])


def point_overrides(spec: SweepSpec, raw_preset: dict, point: dict[str, Any]) -> dict[str, Any]:
    """The scenario overrides of one point for one preset: the spec's fixed overrides, then
    each parameter's value at its path(s) (multiplied into the preset's value if `scale`)."""
    out = dict(spec.overrides)
    for name, value in point.items():
        p: Parameter = spec.parameters[name]
        for dotted in p.targets:
            v = scaled(base_value(raw_preset, dotted), value) if p.scale else plain(value)
            out[dotted] = [v] if p.as_list else v
    return out


def scaled(base: float | dict, factor: Any) -> float | dict:
    f = float(factor)
    if isinstance(base, dict):
        return {k: float(v) * f for k, v in base.items()}
    return base * f


def plain(value: Any) -> Any:
    """numpy scalars -> Python numbers (overrides are validated by pydantic and stored)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
