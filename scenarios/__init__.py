"""Scenario files: the schema, the loader and the built-in Mexico scenarios (data only)."""

from .loader import (
    ScenarioError,
    builtin_names,
    describe_builtins,
    load,
    load_raw,
    load_text,
    parse_assignment,
)
from .schema import SIZE_BANDS, Scenario

__all__ = [
    "SIZE_BANDS",
    "Scenario",
    "ScenarioError",
    "builtin_names",
    "describe_builtins",
    "load",
    "load_raw",
    "load_text",
    "parse_assignment",
]
