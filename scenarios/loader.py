"""Reading scenario files: safe YAML, `extends:` layering, dotted overrides, readable errors."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .errors import ScenarioError
from .schema import Scenario
from .yaml_input import MAX_FILE_BYTES, load_yaml, parse_value, parse_yaml, read_text

__all__ = ["MAX_FILE_BYTES", "MAX_EXTENDS", "OVERRIDE_SOURCE", "ScenarioError", "load",
           "load_raw", "load_text", "parse_assignment", "parse_yaml", "raw_from_text"]

OVERRIDE_SOURCE = "[E] set by the user as an override"
MAX_EXTENDS = 10  # files in one extends chain


def builtin_dir() -> Path:
    return Path(str(resources.files("fleetsim.scenarios") / "builtin"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def describe_builtins() -> dict[str, str]:
    """Name -> one-line description of every built-in scenario."""
    return {name: _read_yaml(builtin_dir() / f"{name}.yaml").get("description", "")
            for name in builtin_names()}


def resolve(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    """A built-in name or a file path -> an existing file, or a ScenarioError. A relative path
    in an `extends:` is read from the extending file's folder (`relative_to`) only."""
    text = str(name_or_path)
    if text in builtin_names():
        return builtin_dir() / f"{text}.yaml"
    path = Path(text)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if not _exists(path):
        raise ScenarioError([
            f"scenario: got {_show(text)}, expected a built-in name ({', '.join(builtin_names())}) "
            "or the path of a YAML file"
        ])
    return path


def _exists(path: Path) -> bool:
    try:
        os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return False
    return True


def load(
    name_or_path: str | Path | Scenario,
    overrides: dict[str, Any] | None = None,
) -> Scenario:
    """A validated Scenario from a built-in name, a path or a Scenario, with dotted overrides
    such as {"market.growth_per_year": 0.02} applied before validation."""
    if isinstance(name_or_path, Scenario):
        if not overrides:
            return name_or_path
        raw = name_or_path.model_dump(mode="json", exclude_none=True)
    else:
        raw = load_raw(name_or_path)
    for dotted, value in (overrides or {}).items():
        apply_override(raw, dotted, value)
    return validate(raw)


def load_raw(name_or_path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The merged (not yet validated) mapping of a scenario file and the files it extends.
    A file reached through `extends:` must be scenario-shaped, and its text is never shown in
    an error (it may be any file the user can read)."""
    if len(_seen) >= MAX_EXTENDS:
        raise ScenarioError([f"extends: got a chain of more than {MAX_EXTENDS} files, expected "
                             f"at most {MAX_EXTENDS}"])
    path = resolve(name_or_path, relative_to=_seen[-1].parent if _seen else None).resolve()
    if path in _seen:
        chain = " -> ".join(p.name for p in (*_seen, path))
        raise ScenarioError([f"extends: got a cycle {chain}, expected a chain that ends"])
    data = _read_scenario_file(path, private=bool(_seen) and path.parent != builtin_dir())
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError([f"extends: got {_brief(parent)}, expected a scenario name or path"])
    try:
        base = load_raw(parent, (*_seen, path))
    except ScenarioError as err:
        if err.problems[0].startswith("scenario: "):
            raise ScenarioError(["extends: " + err.problems[0].removeprefix("scenario: ")]) \
                from None
        raise
    return merge_parent(base, data, parent)


def _read_scenario_file(path: Path, private: bool) -> dict:
    """A file's mapping; a `private` one (reached through extends) must look like a scenario,
    so that no other kind of file's keys or values reach an error message."""
    if path.parent == builtin_dir():  # parsing YAML is most of a small model's build time
        stat = path.stat()
        return copy.deepcopy(parsed_builtin(path, stat.st_mtime_ns, stat.st_size))
    text = read_text(path, path.name)
    if not private:
        return parse_yaml(text, path.name)
    data = load_yaml(text, path.name, private=True)
    if not _scenario_shaped(data):
        raise ScenarioError([f"extends: got {_show(path.name)}, which is not a scenario file, "
                             "expected a mapping of scenario fields with a name"])
    return data


@functools.lru_cache(maxsize=32)
def parsed_builtin(path: Path, mtime_ns: int, size: int) -> dict:
    """A built-in scenario file's mapping, parsed once per version of the file (callers copy)."""
    return parse_yaml(read_text(path, path.name), path.name)


def _scenario_shaped(data) -> bool:
    return (isinstance(data, dict) and "name" in data
            and all(isinstance(k, str) and k in Scenario.model_fields for k in data))


def load_text(
    text: str,
    label: str = "upload",
    overrides: dict[str, Any] | None = None,
    *,
    uploads: Mapping[str, str] | None = None,
) -> Scenario:
    """A validated Scenario from text a visitor sent (the page's upload). Its `extends:` may
    name a built-in scenario or another file the same visitor uploaded (`uploads`: name ->
    text); no other file of the server is ever opened."""
    raw = raw_from_text(text, label, uploads or {})
    for dotted, value in (overrides or {}).items():
        apply_override(raw, dotted, value)
    return validate(raw)


def raw_from_text(text: str, label: str, uploads: Mapping[str, str],
                  _seen: tuple[str, ...] = ()) -> dict:
    """The merged mapping of uploaded text and what it extends (built-ins or other uploads)."""
    if len(_seen) >= MAX_EXTENDS:
        raise ScenarioError([f"extends: got a chain of more than {MAX_EXTENDS} files, expected "
                             f"at most {MAX_EXTENDS}"])
    data = parse_yaml(text, label)
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError([f"extends: got {_show(parent)}, expected a scenario name"])
    if parent in builtin_names():
        base = load_raw(parent)
    elif parent in uploads and parent not in (*_seen, label):
        base = raw_from_text(uploads[parent], parent, uploads, (*_seen, label))
    else:
        raise ScenarioError([f"extends: got {_show(parent)}, expected a built-in scenario "
                             f"({', '.join(builtin_names())}) or a file you uploaded"])
    return merge_parent(base, data, parent)


def merge_parent(base: dict, data: dict, parent: str) -> dict:
    """`data` layered on the scenario it extends; based_on keeps the chain for the record."""
    merged = deep_merge(base, data)
    merged["based_on"] = " <- ".join(x for x in (parent, base.get("based_on")) if x)
    merged["extends"] = None
    return merged


def _read_yaml(path: Path) -> dict:
    return parse_yaml(read_text(path, path.name), path.name)


def deep_merge(base: dict, top: dict) -> dict:
    """JSON Merge Patch (RFC 7386) semantics: mappings merge key by key, null removes a key,
    anything else in `top` replaces what `base` had."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if value is None:
            out.pop(key, None)
        elif (isinstance(value, dict) and isinstance(out.get(key), dict)
              and not _is_year_path(value)):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(_drop_nulls(value))
    return out


def _is_year_path(value: dict) -> bool:
    """A year -> value path is one value: a child's path replaces its parent's whole."""
    return bool(value) and all(isinstance(k, int) for k in value)


def _drop_nulls(value):
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def parse_assignment(text: str) -> tuple[str, Any]:
    """'a.b=0.5' from the command line -> ('a.b', 0.5); the value is read as YAML."""
    key, _, value = text.partition("=")
    if "=" not in text or not key.strip():
        raise ScenarioError([f"--set: got '{text}', expected dotted.path=value"])
    return key.strip(), parse_value(value, key.strip())


def apply_override(raw: dict, dotted: str, value: Any) -> None:
    """Set `dotted` in the raw mapping. The path must exist; setting a sourced number
    (a mapping with value and source) sets its value and marks the source as an override."""
    keys = dotted.split(".")
    node: Any = raw
    trail: list[tuple[Any, Any]] = []
    for depth, key in enumerate(keys):
        here = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError([f"{here}: got an unknown path, expected an index below "
                                     f"{len(node)}"])
            key = int(key)
        elif isinstance(node, dict):
            key = _match_key(node, key)
            if key is None:
                known = ", ".join(str(k) for k in node) or "nothing"
                raise ScenarioError([f"{here}: got an unknown path, expected one of: {known}"])
        else:
            raise ScenarioError([f"{here}: got an unknown path, "
                                 f"expected {'.'.join(keys[:depth])} to have fields"])
        if depth == len(keys) - 1:
            target = node[key]
            if isinstance(target, dict) and "value" in target and "source" in target:
                target["value"] = value
                target["source"] = OVERRIDE_SOURCE
            else:
                node[key] = value
                for parent, k in trail:  # a number inside a sourced number: mark that source
                    if k == "value" and "source" in parent:
                        parent["source"] = OVERRIDE_SOURCE
        else:
            trail.append((node, key))
            node = node[key]


def _match_key(node: dict, key: str):
    """Find `key` in a mapping whose keys may be ints (years) rather than strings."""
    for existing in node:
        if str(existing) == key:
            return existing
    return None


def validate(raw: dict) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err)) from None


def format_validation_error(err: ValidationError) -> list[str]:
    """pydantic errors -> 'path.to.field: got VALUE, expected WHAT', one line each."""
    found: dict[str, list[str]] = {}
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"] if not _is_union_tag(p)) or "scenario"
        kind, got = e["type"], e.get("input")
        if kind == "extra_forbidden":
            known = _fields_at([p for p in e["loc"][:-1] if not _is_union_tag(p)])
            lines = [f"{path}: got an unknown key, expected one of: {', '.join(known)}"
                     if known else f"{path}: got an unknown key, expected none here"]
        elif kind == "missing":
            lines = [f"{path}: got nothing, expected this required field"]
        elif kind == "value_error":
            # our validators say "expected ..." about this place, or "full.path: ..." elsewhere
            msg = e["msg"].removeprefix("Value error, ")
            lines = [_place(path, got, part) for part in msg.split("; ")]
        else:
            msg = e["msg"]
            msg = msg.replace("Input should be ", "", 1) if msg.startswith("Input should") else msg
            if kind == "string_pattern_mismatch":
                msg = "a lower-case name (letters, digits, underscores)"
            lines = [f"{path}: got {_show(got)}, expected {msg[0].lower()}{msg[1:]}"]
        found.setdefault(path, []).extend(lines)
    out = []
    for path, lines in found.items():
        # a value failing `number | {year: number}` fails both branches; keep the branch that
        # matches what was given (a mapping or a number)
        deeper = any(p.startswith(path + ".") for p in found)
        useful = [ln for ln in lines if not _other_branch(ln, deeper)]
        if not useful and not deeper:
            useful = lines
        out.extend(dict.fromkeys(useful))
    return out


def _place(path: str, got, part: str) -> str:
    """Put a validator's message at its place: "got/expected ..." is about `path` itself;
    "field: ..." names a field below `path` (or, at the top, a full path)."""
    if part.startswith("expected"):
        shown = "" if isinstance(got, dict | list) else f"got {_show(got)}, "
        return f"{path}: {shown}{part}"
    if part.startswith("got "):
        return f"{path}: {part}"
    return part if path == "scenario" else f"{path}.{part}"


def _other_branch(line: str, has_deeper_errors: bool) -> bool:
    if "got a dict, expected a valid number" in line:
        return has_deeper_errors
    return "expected a valid dictionary" in line and "got a dict" not in line


def _fields_at(loc: list) -> list[str]:
    """Names the schema allows at this place, found by walking the model types along loc."""
    tp: object = Scenario
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return []
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _unwrap(tp):
    """Optional[X] / X | None / Annotated[X, ...] -> X (the first model or mapping type)."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            options = [a for a in get_args(tp) if a is not type(None)]
            models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = (models or options)[0]
        else:
            return tp


def _is_union_tag(part) -> bool:
    text = str(part)
    return "[" in text or text in {"float", "int", "str", "bool", "dict", "list", "none",
                                   "constrained-float", "constrained-int"}


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _show(value) -> str:
    if isinstance(value, dict | list):
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
