"""Helpers shared by the tests: editing raw scenario mappings and writing them as YAML."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from fleetsim.scenarios import ScenarioError, load

SMALL_FRACTION = 0.02
SEED = 7
SMALL_YEARS = 10  # the shared small model's run


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


# ---- recorded runs ------------------------------------------------------------------------------

@dataclass
class DecisionRecord:
    """One month's decide() call: who decided, what they chose, and the firms' money and credit
    history just before (decide sees them at that moment; the month's purchases change them)."""

    month: int
    reviews: Any  # sim.decisions.Reviews
    context: Any  # sim.decisions.Context (its arrays may have moved on since)
    decision: Any  # sim.decisions.Decision as decide() returned it (a copy)
    applied: Any  # the same Decision after the model carried it out (it may adjust kinds)
    cash: np.ndarray
    loans_repaid: np.ndarray
    loans_defaulted: np.ndarray
    fleet_value: np.ndarray
    quota_left: list[float]


@dataclass
class Snapshot:
    """Registry rows after a step (gone rows included until January's compaction)."""

    month: int
    vid: np.ndarray
    state: np.ndarray
    owner: np.ndarray
    vclass: np.ndarray
    tech: np.ndarray
    origin: np.ndarray
    birth_month: np.ndarray
    listed_month: np.ndarray
    next_vid: int
    cash: np.ndarray  # firms' cash after the step
    lender_repaid: list[np.ndarray] = field(default_factory=list)
    lender_defaulted: list[np.ndarray] = field(default_factory=list)
    perceived_zev: list[float] = field(default_factory=list)


@dataclass
class RunLog:
    model: Any
    start: Snapshot
    snapshots: list[Snapshot]
    decisions: list[DecisionRecord]

    def results(self):
        return self.model.results()


def snapshot(model) -> Snapshot:
    reg = model.registry
    n = reg.n
    return Snapshot(
        month=model.month, vid=reg.cols["vid"][:n].copy(), state=reg.cols["state"][:n].copy(),
        owner=reg.cols["owner"][:n].copy(), vclass=reg.cols["vclass"][:n].copy(),
        tech=reg.cols["tech"][:n].copy(), origin=reg.cols["origin"][:n].copy(),
        birth_month=reg.cols["birth_month"][:n].copy(),
        listed_month=reg.cols["listed_month"][:n].copy(), next_vid=int(reg.next_vid),
        cash=model.operator_arrays.cash.copy(),
        lender_repaid=[x.repaid.copy() for x in model.lenders],
        lender_defaulted=[x.defaulted.copy() for x in model.lenders],
        perceived_zev=[float(x.perceived_default()[1]) for x in model.lenders])


def recorded_run(scenario: str, months: int, seed: int = SEED, fraction: float = SMALL_FRACTION,
                 overrides: dict | None = None,
                 before_step: Callable[[Any, int], None] | None = None) -> RunLog:
    """Run a model month by month, keeping every decide() call and a registry snapshot after
    each step. `before_step(model, k)` runs before the k-th step (0-based), e.g. a shock."""
    from fleetsim.sim import FleetModel

    model = FleetModel(scenario, rng=seed, sample_fraction=fraction, overrides=overrides)
    decisions: list[DecisionRecord] = []
    real = model.operator_arrays.step  # the operators' step: decide for every review row

    def recording(rv, ctx, rng):
        ops = ctx.ops
        record = DecisionRecord(
            month=model.month, reviews=rv, context=ctx, decision=None, applied=None,
            cash=ops.cash.copy(),
            loans_repaid=ops.loans_repaid.copy(), loans_defaulted=ops.loans_defaulted.copy(),
            fleet_value=ops.fleet_value.copy(),
            quota_left=[float(x.quota_left()) for x in ctx.lenders])
        record.applied = real(rv, ctx, rng)
        record.decision = copy.deepcopy(record.applied)
        decisions.append(record)
        return record.applied

    start = snapshot(model)
    snaps = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model.operator_arrays, "step", recording)
        for k in range(months):
            if before_step is not None:
                before_step(model, k)
            model.step()
            snaps.append(snapshot(model))
    return RunLog(model, start, snaps, decisions)


def money_moves(rec: DecisionRecord) -> tuple[np.ndarray, np.ndarray]:
    """(proceeds, payments) of each review row in a month, as the model carries decisions out:
    a vehicle that goes is scrapped for its scrap value and any bonus (at the end of its life,
    under a partnership, or when scrapping pays at least what a dealer pays), else sold at its
    used-market value less the dealer's margin; a buyer pays the price less what a lender
    lends."""
    from fleetsim.agents.options import IMPORT, KEEP, NEW, RETROFIT, USED

    d, rv, ctx = rec.applied, rec.reviews, rec.context
    has = rv.row >= 0
    c = rv.vclass.astype(np.intp)
    goes = has & (d.kind != KEEP) & (d.kind != RETROFIT)
    value = ctx.valuer.seller_gets(
        ctx.valuer.value(ctx.year, rv.tech.astype(np.intp), c, rv.age_years)
        * ctx.market.used_multiplier[c])
    scrap = np.array([x.economics.scrap_value_mxn for x in ctx.spec.classes.values()])[c] \
        + d.scrap_bonus
    to_scrap = goes & (rv.eol | d.scrap_old | (scrap >= value) | (d.kind == -1))
    proceeds = np.where(to_scrap, scrap, np.where(goes, value, 0.0))
    paid = np.isin(d.kind, [RETROFIT, NEW, USED, IMPORT])
    return proceeds, np.where(paid, d.price - d.principal, 0.0)


def no_quotas(scenario: str = "mexico_city") -> dict:
    """Overrides lifting every lender's yearly quota (quotas make rationed rows re-choose)."""
    lenders = load(scenario).credit.lenders
    return {f"credit.lenders.{name}.yearly_loan_quota": None
            for name, x in lenders.items() if x.yearly_loan_quota is not None}


def problems_of(path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load(path)
    problems = info.value.problems
    assert problems, "a ScenarioError must say what is wrong"
    for line in problems:
        assert "\n" not in line, f"one line per problem, got {line!r}"
        assert "Traceback" not in line
    return problems
