"""Helpers for the policy-instrument tests: scenarios with a `policy:` section written in the
test, and instrument terms that are easy to reason about."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import numpy as np

from fleetsim.agents.options import IMPORT, LEAVE, NEW, USED
from fleetsim.scenarios import Scenario, load_raw
from fleetsim.scenarios.loader import validate

START, END = "2025-01-01", "2040-12-31"  # in force for the whole of a short run
SOOT_FREE = ["diesel_dpf_retrofit", "diesel_epa2010", "natural_gas", "battery_electric"]
REPLACEMENT_KIND = {"new": NEW, "used": USED, "import": IMPORT, "none": LEAVE}


@cache
def _raw(base: str) -> dict:
    return load_raw(base)


def with_policy(policy: dict[str, list[dict]], base: str = "mexico_city",
                name: str = "policy_test", **sections: Any) -> Scenario:
    """`base` with its policy section replaced by `policy` (kind -> list of instruments; each
    instrument gets a source unless it has one), plus any top-level `sections` replaced."""
    raw = copy.deepcopy(_raw(base))
    raw.pop("extends", None)
    raw["name"] = name
    policy = copy.deepcopy(policy)
    for items in policy.values():
        for x in items:
            x.setdefault("source", "[E] test")
            if isinstance(x.get("join_propensity"), dict):
                x["join_propensity"].setdefault("source", "[E] test")
    raw["policy"] = policy
    raw.update(copy.deepcopy(sections))
    return validate(raw)


def instrument(kind: str, name: str = "x", **terms: Any) -> dict[str, list[dict]]:
    """A policy section with one instrument in force for the whole run."""
    return {kind: [{"name": name, "start": START, "end": END, **terms}]}


def merge(*sections: dict[str, list[dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for s in sections:
        for kind, items in s.items():
            out.setdefault(kind, []).extend(items)
    return out


def month_index(text: str) -> int:
    """'2026-03' or '2026-03-15' -> year * 12 + month - 1."""
    y, m = text.split("-")[:2]
    return int(y) * 12 + int(m) - 1


def total(res, column: str) -> float:
    return float(np.nansum(res[column].to_numpy(float)))
