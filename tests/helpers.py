"""Helpers shared by the tests: editing raw scenario mappings and writing them as YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SMALL_FRACTION = 0.02
SEED = 7


def set_path(raw: dict, dotted: str, value: Any) -> None:
    """Set a dotted path in a raw scenario mapping (year keys may be ints, list items by index);
    the last key may be new."""
    *parents, last = dotted.split(".")
    node = raw
    for key in parents:
        node = node[_key(node, key)]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[_key(node, last, must_exist=False)] = value


def del_path(raw: dict, dotted: str) -> None:
    *parents, last = dotted.split(".")
    node = raw
    for key in parents:
        node = node[_key(node, key)]
    del node[_key(node, last)]


def _key(node, key: str, must_exist: bool = True):
    if isinstance(node, list):
        return int(key)
    for existing in node:
        if str(existing) == key:
            return existing
    if must_exist:
        raise KeyError(key)
    return key


def dump_scenario(path: Path, raw: dict) -> Path:
    """Write a raw mapping as YAML, keeping key order (age bins must stay in order)."""
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
