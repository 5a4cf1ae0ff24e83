"""Sweep specs: what a sweep runs, read from YAML and checked like a scenario.

A spec names its presets (scenarios), the parameters it varies (dotted scenario paths, as in
`fleetsim run --set`), the design that picks their values (a grid of listed values, or a Latin
hypercube, Sobol or Morris design over distributions, through SALib), the replications (seeds)
and which outputs to keep. A bad spec raises SpecError (a ScenarioError): one line per problem,
"path: got X, expected Y".
"""

from __future__ import annotations

import math
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fleetsim.scenarios import ScenarioError
from fleetsim.scenarios.loader import apply_override, load_raw, parse_yaml
from fleetsim.scenarios.yaml_input import read_text

METHODS = ("grid", "latin_hypercube", "sobol", "morris")
DISTRIBUTIONS = ("uniform", "loguniform", "triangular", "normal")
MAX_SPEC_BYTES = 1_000_000
MAX_RUNS = 1_000_000
MAX_SEED = 2**32 - 1  # seeds are stored as int64 and handed to numpy: keep them plain
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")  # a partition folder's name

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class SpecError(ScenarioError):
    """A sweep spec that cannot be used; `problems` holds one line per problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(Strict):
    """One varied input. `path` (or several `paths` set to the same value) is a dotted scenario
    path. Give exactly one of: `values` (a grid's levels) or a distribution. With `scale: true`
    the value multiplies what the preset has at the path (a number or a year -> value path)."""

    path: str | None = None
    paths: list[str] | None = None
    values: list[Any] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    triangular: tuple[float, float, float] | None = None  # low, mode, high
    normal: tuple[float, float] | None = None  # mean, standard deviation
    scale: bool = False
    integer: bool = False  # round sampled values to whole numbers (e.g. days)
    as_list: bool = False  # the field holds a list: set it to [value] (e.g. days per year)
    presets: list[str] | None = None  # the presets it applies to (default: all)
    label: str | None = None

    @model_validator(mode="after")
    def _one_source_of_values(self):
        problems = []
        if (self.path is None) == (self.paths is None):
            problems.append("expected exactly one of `path` or `paths`")
        elif self.paths is not None and not self.paths:
            problems.append("paths: got an empty list, expected at least one path")
        given = [k for k in ("values", *DISTRIBUTIONS) if getattr(self, k) is not None]
        if len(given) != 1:
            problems.append(f"got {', '.join(given) or 'none'}, expected exactly one of values, "
                            f"{', '.join(DISTRIBUTIONS)}")
        if self.values is not None and not self.values:
            problems.append("values: got an empty list, expected at least one value")
        problems.extend(value_problems(self.values or []))
        for dist in DISTRIBUTIONS:
            bounds = getattr(self, dist)
            if bounds is not None and not all(math.isfinite(b) for b in bounds):
                problems.append(f"{dist}: got {list(bounds)}, expected finite numbers")
        lo_hi = self.uniform or self.loguniform
        if lo_hi is not None and not lo_hi[0] < lo_hi[1]:
            problems.append(f"got bounds {list(lo_hi)}, expected low < high")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            problems.append(f"loguniform: got {self.loguniform[0]}, expected a positive low bound")
        if self.triangular is not None:
            lo, mode, hi = self.triangular
            if not (lo <= mode <= hi and lo < hi):
                problems.append(f"triangular: got {list(self.triangular)}, expected "
                                "[low, mode, high] with low <= mode <= high and low < high")
        if self.normal is not None and self.normal[1] <= 0:
            problems.append(f"normal: got sd {self.normal[1]}, expected a positive sd")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def targets(self) -> list[str]:
        return [self.path] if self.path is not None else list(self.paths or [])

    @property
    def distribution(self) -> str | None:
        return next((k for k in DISTRIBUTIONS if getattr(self, k) is not None), None)


def value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "list", dict: "mapping"}.get(type(value), "null")


def value_problems(values: list[Any]) -> list[str]:
    """A grid's levels are one column of the design: one kind of value, finite numbers."""
    kinds = list(dict.fromkeys(value_kind(v) for v in values))
    problems = []
    if len(kinds) > 1:
        problems.append(f"values: got a mix of {' and '.join(kinds)} values, expected values "
                        "of one kind (all numbers, all strings, all booleans or all lists)")
    elif kinds == ["null"]:
        problems.append("values: got null values, expected numbers, strings, booleans or lists")
    inner = list(dict.fromkeys(value_kind(x) for v in values if isinstance(v, list) for x in v))
    if len(inner) > 1:
        problems.append(f"values: got lists mixing {' and '.join(inner)} items, expected lists "
                        "of one kind of item")
    bad = [v for v in values if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        problems.append(f"values: got {bad[0]}, expected finite numbers")
    if len(kinds) == 1 and kinds[0] in ("number", "string", "boolean") and \
            len(set(values)) != len(values):
        problems.append("values: got a value more than once, expected distinct values")
    return problems


class Design(Strict):
    method: Literal["grid", "latin_hypercube", "sobol", "morris"] = "grid"
    samples: Annotated[int, Field(ge=1, le=100_000)] | None = None  # N (Sobol: base samples)
    seed: int = 0  # the design sampler's seed
    second_order: bool = False  # Sobol: also second-order indices (N * (2D + 2) runs)
    levels: Annotated[int, Field(ge=2, le=20)] = 4  # Morris grid levels


class SweepSpec(Strict):
    name: Name
    description: str = ""
    presets: Annotated[list[str], Field(min_length=1)]
    baseline: str | None = None  # the preset others are compared with (default: the first)
    years: Annotated[float, Field(gt=0, le=200)] | None = None
    sample_fraction: Annotated[float, Field(gt=0, le=1)] | None = None
    overrides: dict[str, Any] = {}  # fixed for every run
    parameters: dict[Name, Parameter] = {}
    design: Design = Design()
    replications: Annotated[int, Field(ge=1, le=10_000)] = 1
    seed: int = 0  # replication r runs with seed + r
    seeds: list[int] | None = None  # or the seeds themselves
    outputs: Literal["yearly", "monthly"] = "yearly"
    metrics: list[str] | None = None  # columns to keep (default: all)

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        names = [preset_name(p) for p in self.presets]
        problems.extend(f"presets.{i}: got {p!r}, expected a plain name (a built-in scenario, "
                        "or a .yaml file named with letters, digits, _ or -)"
                        for i, p in enumerate(self.presets) if not PLAIN_NAME.match(names[i]))
        problems.extend(self._seed_problems())
        if self.metrics is not None and not self.metrics:
            problems.append("metrics: got an empty list, expected at least one column "
                            "(or no `metrics` for all)")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"presets: got {', '.join(dupes)} more than once, expected each "
                            "preset once")
        if self.baseline is not None and self.baseline not in names:
            problems.append(f"baseline: got '{self.baseline}', expected one of the presets "
                            f"({', '.join(names)})")
        m = self.design.method
        for name, p in self.parameters.items():
            unknown = sorted(set(p.presets or []) - set(names))
            if unknown:
                problems.append(f"parameters.{name}.presets: got {', '.join(unknown)}, "
                                f"expected names among the presets ({', '.join(names)})")
            if m == "grid" and p.values is None:
                problems.append(f"parameters.{name}: got a distribution, expected `values` "
                                "for a grid design")
            if m != "grid" and p.values is not None:
                problems.append(f"parameters.{name}: got `values`, expected a distribution "
                                f"for a {m} design")
            if m == "morris" and p.distribution not in (None, "uniform"):
                problems.append(f"parameters.{name}: got {p.distribution}, expected uniform "
                                "bounds for a morris design")
        if m != "grid":
            if not self.parameters:
                problems.append(f"parameters: got none, expected at least one for a {m} design")
            if self.design.samples is None:
                problems.append(f"design.samples: got nothing, expected a number of samples "
                                f"for a {m} design")
            if m == "sobol" and self.design.samples and \
                    self.design.samples & (self.design.samples - 1):
                problems.append(f"design.samples: got {self.design.samples}, expected a power "
                                "of 2 for a sobol design")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _seed_problems(self) -> list[str]:
        if self.seeds is None:
            last = self.seed + self.replications - 1
            if self.seed < 0 or last > MAX_SEED:
                return [f"seed: got {self.seed}, expected a whole number from 0 to "
                        f"{MAX_SEED - self.replications + 1} (with {self.replications} "
                        "replications)"]
            return []
        if not self.seeds:
            return ["seeds: got an empty list, expected at least one seed"]
        problems = [f"seeds.{k}: got {s}, expected a whole number from 0 to {MAX_SEED}"
                    for k, s in enumerate(self.seeds) if not 0 <= s <= MAX_SEED]
        if len(set(self.seeds)) != len(self.seeds):
            problems.append("seeds: got a seed more than once, expected distinct seeds")
        return problems

    @property
    def seed_list(self) -> list[int]:
        return list(self.seeds) if self.seeds is not None else \
            [self.seed + r for r in range(self.replications)]

    @property
    def preset_names(self) -> list[str]:
        return [preset_name(p) for p in self.presets]

    @property
    def baseline_name(self) -> str:
        return self.baseline or self.preset_names[0]

    def applies(self, parameter: str, preset: str) -> bool:
        p = self.parameters[parameter]
        return p.presets is None or preset_name(preset) in p.presets


def preset_name(preset: str) -> str:
    """A built-in name stays as it is; a path gives its file name without .yaml."""
    return Path(preset).stem if preset.endswith((".yaml", ".yml")) else preset


def builtin_spec_dir() -> Path:
    return Path(str(resources.files("fleetsim.experiments") / "specs"))


def builtin_spec_names() -> list[str]:
    return sorted(p.stem for p in builtin_spec_dir().glob("*.yaml"))


def resolve_spec(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if text in builtin_spec_names():
        return builtin_spec_dir() / f"{text}.yaml"
    path = Path(text)
    if not path.is_file():
        raise SpecError([f"spec: got '{text}', expected a built-in spec "
                         f"({', '.join(builtin_spec_names())}) or the path of a YAML file"])
    return path


def read_spec(name_or_path: str | Path) -> tuple[SweepSpec, Path]:
    """A validated spec from a built-in name or a path, and the folder its presets are
    relative to. Presets and parameter paths are checked against the scenarios."""
    path = resolve_spec(name_or_path)
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise SpecError([f"{path.name}: got {path.stat().st_size} bytes, expected at most "
                         f"{MAX_SPEC_BYTES}"])
    try:  # read as scenarios are: a regular file only, with a byte limit, bounded YAML
        raw = parse_yaml(read_text(path, path.name), path.name)
    except ScenarioError as err:
        raise SpecError([in_form(line, path.name) for line in err.problems]) from None
    spec = parse_spec(raw)
    check_against_scenarios(spec, path.parent)
    return spec, path.parent.resolve()


def in_form(line: str, where: str) -> str:
    """A YAML parser's message in the `path: got VALUE, expected WHAT` form."""
    if ": got " in line and ", expected " in line:
        return line
    detail = line.removeprefix(f"{where}: ")
    return f"{where}: got {detail}, expected a YAML mapping of sweep fields"


def parse_spec(raw: dict) -> SweepSpec:
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(format_errors(err)) from None


def preset_source(preset: str, folder: Path | None) -> str:
    """What to hand the scenario loader: a built-in name, or a path made absolute (so workers
    on another machine or folder find the same file when the folder is shared)."""
    if preset.endswith((".yaml", ".yml")) and folder is not None and \
            not Path(preset).is_absolute() and (folder / preset).exists():
        return str((folder / preset).resolve())
    return preset


def check_against_scenarios(spec: SweepSpec, folder: Path | None) -> None:
    """Every preset loads and every parameter path exists in the presets it applies to."""
    problems: list[str] = []
    for i, preset in enumerate(spec.presets):
        try:
            raw = load_raw(preset_source(preset, folder))
        except ScenarioError as err:
            problems.extend(f"presets.{i}: {line.removeprefix('scenario: ')}"
                            for line in err.problems)
            continue
        for dotted, value in spec.overrides.items():
            problems.extend(_path_problem(raw, dotted, value, f"overrides.{dotted}", preset))
        sim = raw.get("simulation", {})
        if spec.years is not None and isinstance(sim.get("start_year"), int) and \
                isinstance(sim.get("max_end_year"), int):
            most = sim["max_end_year"] - sim["start_year"] + 1
            if spec.years > most:
                problems.append(f"years: got {spec.years:g}, expected at most {most} (preset "
                                f"{preset} runs {sim['start_year']} to {sim['max_end_year']})")
        for name, p in spec.parameters.items():
            if not spec.applies(name, preset):
                continue
            for k, dotted in enumerate(p.targets):
                where = f"parameters.{name}.{'path' if p.path else f'paths.{k}'}"
                found = _path_problem(raw, dotted, 0.0, where, preset)
                problems.extend(found)
                if p.scale and not found:
                    try:
                        base_value(raw, dotted)
                    except SpecError as err:
                        problems.extend(f"{where}: {line}" for line in err.problems)
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))


def _path_problem(raw: dict, dotted: str, value: Any, where: str, preset: str) -> list[str]:
    import copy

    try:
        apply_override(copy.deepcopy(raw), dotted, value)
    except ScenarioError as err:
        return [f"{where}: {line} (in preset {preset})" for line in err.problems]
    return []


def base_value(raw: dict, dotted: str) -> float | dict:
    """The number (or year -> number path) a scenario has at a dotted path."""
    node: Any = raw
    for key in dotted.split("."):
        if isinstance(node, list):
            node = node[int(key)]
        else:
            node = next(v for k, v in node.items() if str(k) == key)
    if isinstance(node, dict) and "value" in node and "source" in node:
        node = node["value"]
    if isinstance(node, int | float) and not isinstance(node, bool):
        return float(node)
    if isinstance(node, dict) and node and all(isinstance(v, int | float) for v in node.values()):
        return dict(node)
    raise SpecError([f"got {type(node).__name__} at {dotted}, expected a number or a "
                     "year -> number path to scale"])


def format_errors(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"] if not _is_tag(p)) or "spec"
        kind, got = e["type"], e.get("input")
        if kind == "extra_forbidden":
            out.append(f"{path}: got an unknown key, expected one of: "
                       f"{', '.join(_fields_at(e['loc'][:-1]))}")
        elif kind == "missing":
            out.append(f"{path}: got nothing, expected this required field")
        elif kind == "value_error":
            for part in e["msg"].removeprefix("Value error, ").split("; "):
                if part.startswith(("expected", "got ")):
                    out.append(f"{path}: {part}")
                else:
                    out.append(part if path == "spec" else f"{path}.{part}")
        else:
            msg = e["msg"].replace("Input should be ", "", 1)
            if kind == "string_pattern_mismatch":
                msg = "a lower-case name (letters, digits, underscores)"
            out.append(f"{path}: got {_show(got)}, expected {msg[0].lower()}{msg[1:]}")
    return list(dict.fromkeys(out))


def _fields_at(loc: tuple) -> list[str]:
    model: Any = SweepSpec
    for part in loc:
        if model is SweepSpec and part == "parameters":
            model = dict
        elif model is dict:
            model = Parameter
        elif isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            ann = field.annotation if field else None
            model = Design if ann is Design else dict if part == "parameters" else None
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _is_tag(part) -> bool:
    text = str(part)
    return "[" in text or text in {"float", "int", "str", "bool", "list", "dict", "none",
                                   "constrained-float", "constrained-int", "function-after"}


def _show(value) -> str:
    if isinstance(value, dict | list):
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

