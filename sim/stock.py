"""The starting fleet: ages by class, owners (larger fleets hold younger trucks), engine
standards by model year, and the vehicles the scenario places (electric trucks, retrofits)."""

from __future__ import annotations

import numpy as np
from scipy import special

from fleetsim.agents import OperatorSet
from fleetsim.scenarios import SIZE_BANDS, Scenario

from .draws import Draws, Purpose
from .emissions import high_emitter_multipliers
from .technology import TechTables
from .turnover import death_months, draw_ages_months


def class_counts(spec: Scenario, sample_fraction: float) -> np.ndarray:
    return np.array([int(round(c.initial_stock_units.value * sample_fraction))
                     for c in spec.classes.values()], np.int64)


def initial_columns(spec: Scenario, tables: TechTables, ops: OperatorSet,
                    counts: np.ndarray, start_month: int, sample_fraction: float,
                    draws: Draws) -> dict[str, np.ndarray]:
    """Registry columns of the starting fleet (owners given by `ops`, sizes summing to
    counts.sum()); drawn from the seed alone (the same in a preset and its baseline), each
    vehicle's key its place in the starting fleet."""
    rng = draws.generator(Purpose.STOCK)
    classes = list(spec.classes.values())
    vclass = np.repeat(np.arange(len(classes), dtype=np.int8), counts)
    age = np.concatenate([draw_ages_months(c.initial_age.bins(), int(n), rng)
                          for c, n in zip(classes, counts, strict=True)]).astype(np.int32)

    # larger fleets first in the owner slots, youngest vehicles first in the sort
    order_bands = np.argsort(-ops.band, kind="stable")
    slots = np.repeat(order_bands, ops.initial_size[order_bands])
    slot_band = ops.band[slots]
    for b in range(len(SIZE_BANDS)):
        seg = np.flatnonzero(slot_band == b)
        slots[seg] = slots[seg][rng.permutation(len(seg))]
    noise = spec.operators.initial_age_sorting_noise_years.value
    key = age / 12.0 + noise * rng.standard_normal(len(age))
    owner = np.empty(len(age), np.int32)
    owner[np.argsort(key, kind="stable")] = slots

    birth = (start_month - age).astype(np.int32)
    tech = _technology_by_model_year(spec, tables, birth // 12, rng)
    region = ops.region[owner]
    retrofit = np.zeros(len(age), np.int8)
    _place(spec, tables, tech, retrofit, vclass, region, age, sample_fraction, rng)

    death = np.empty(len(age), np.int32)
    for c, cls in enumerate(classes):
        rows = np.flatnonzero(vclass == c)
        # the month before the start is "now": the first month may already see retirements
        death[rows] = death_months(birth[rows], start_month - 1, cls.survival.lambda_years,
                                   cls.survival.k, rng.random(len(rows)))
    return {
        "key": np.arange(len(age), dtype=np.int64),
        "owner": owner,
        "vclass": vclass,
        "tech": tech,
        "retrofit": retrofit,
        "region": region,
        "origin": np.zeros(len(age), np.int8),
        "birth_month": birth,
        "death_month": death,
        "review_month": rng.integers(0, 12, size=len(age)).astype(np.int8),
        "partnership": np.zeros(len(age), np.int8),
        **usage_columns(spec, vclass, ops.band[owner], rng.standard_normal((3, len(age)))),
    }


def usage_columns(spec: Scenario, vclass: np.ndarray, band: np.ndarray,
                  z: np.ndarray) -> dict[str, np.ndarray]:
    """Per-vehicle km at age 0 (by class and owner band, with spread), emitter multipliers
    and the draw that decides tampering, from three standard normals per vehicle (z[0] km,
    z[1] emitter, z[2] tampering, turned into a uniform by the normal CDF)."""
    km_table = np.array([[getattr(c.annual_km_new, b) for b in SIZE_BANDS]
                         for c in spec.classes.values()])
    sigma = spec.usage.km_spread_sigma
    n = len(vclass)
    km = km_table[vclass, band] * np.exp(sigma * z[0, :n] - 0.5 * sigma**2)
    e = spec.emissions
    return {
        "km_new": km.astype(np.float32),
        "pm_mult": high_emitter_multipliers(z[1, :n], e.pm_high_emitter_sigma),
        "nox_mult": high_emitter_multipliers(z[1, :n], e.nox_high_emitter_sigma),
        "tamper_u": special.ndtr(z[2, :n]).astype(np.float32),
    }


def _technology_by_model_year(spec: Scenario, tables: TechTables, model_year: np.ndarray,
                              rng: np.random.Generator) -> np.ndarray:
    table = spec.initial_stock.technology_by_model_year
    starts = np.array(sorted(table))
    period = np.clip(np.searchsorted(starts, model_year, side="right") - 1, 0, None)
    tech = np.zeros(len(model_year), np.int8)
    u = rng.random(len(model_year))
    for p, y in enumerate(starts):
        rows = np.flatnonzero(period == p)
        shares = np.array([table[y].get(t, 0.0) for t in tables.tech_names])
        cum = np.cumsum(shares / shares.sum())
        cum[-1] = 1.0
        tech[rows] = np.searchsorted(cum, u[rows], side="right")
    return tech


def _place(spec, tables, tech, retrofit, vclass, region, age, sample_fraction, rng) -> None:
    """Put the scenario's placed vehicles and retrofits on randomly chosen eligible rows."""
    regions = list(spec.regions)
    for p in spec.initial_stock.placed:
        ok = (vclass == tables.class_code[p.vehicle_class]) & (age < (p.max_age_years + 1) * 12)
        ok &= tech != tables.tech_code[p.technology]
        if p.region:
            ok &= region == regions.index(p.region)
        rows = _pick(ok, p.units * sample_fraction, rng)
        tech[rows] = tables.tech_code[p.technology]
        retrofit[rows] = 0
    for p in spec.initial_stock.retrofitted:
        base = [tables.tech_code[t] for t in spec.retrofits[p.retrofit].applies_to]
        ok = (vclass == tables.class_code[p.vehicle_class]) & np.isin(tech, base)
        ok &= retrofit == 0
        if p.region:
            ok &= region == regions.index(p.region)
        rows = _pick(ok, p.units * sample_fraction, rng)
        retrofit[rows] = tables.retrofit_code[p.retrofit]


def _pick(eligible: np.ndarray, units: float, rng: np.random.Generator) -> np.ndarray:
    """Up to round(units) eligible rows, at random (fewer if fewer are eligible)."""
    pool = np.flatnonzero(eligible)
    k = min(int(round(units)), len(pool))
    return rng.choice(pool, size=k, replace=False) if k else pool[:0]
