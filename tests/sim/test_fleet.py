"""The Fleet's public API keeps its aggregates equal to a recount from the registry, whatever the
sequence of additions, retirements, sales, owner changes, refits, rate recomputations and new
years."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetsim.scenarios import SIZE_BANDS, load
from fleetsim.sim.fleet import Fleet
from fleetsim.sim.registry import ACTIVE, GONE, LISTED
from fleetsim.sim.technology import TechTables

N_OPS, N_RATES = 12, 3
TABLES = TechTables(load("mexico_city"))
BAND = np.arange(N_OPS, dtype=np.int8) % len(SIZE_BANDS)


def new_fleet() -> Fleet:
    holder: list[Fleet] = []

    def rates(rows):
        # a vehicle's rates depend on its columns, so refits and owner changes move them
        cols = holder[0].registry.cols
        key = (cols["tech"][rows] * 3.0 + cols["retrofit"][rows] + cols["owner"][rows] * 0.1
               + cols["km_new"][rows] * 1e-4)
        return np.vstack([key * (r + 1) for r in range(N_RATES)])

    fleet = Fleet(TABLES, BAND, len(TABLES.family_names), N_RATES, 8, rates)
    holder.append(fleet)
    return fleet


def columns(rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    owner = rng.integers(0, N_OPS, k).astype(np.int32)
    return {
        "owner": owner, "vclass": rng.integers(0, len(TABLES.class_names), k).astype(np.int8),
        "tech": rng.integers(0, len(TABLES.tech_names), k).astype(np.int8),
        "retrofit": np.zeros(k, np.int8), "region": np.zeros(k, np.int8),
        "origin": np.ones(k, np.int8), "birth_month": rng.integers(23900, 24300, k),
        "death_month": rng.integers(24300, 24600, k), "km_new": rng.uniform(1e4, 1e5, k),
        "pm_mult": np.ones(k), "nox_mult": np.ones(k), "tamper_u": np.ones(k),
        "review_month": rng.integers(0, 12, k), "partnership": np.zeros(k, np.int8),
    }


def check_recount(fleet: Fleet) -> None:
    reg, t = fleet.registry, TABLES
    rows = reg.in_state(ACTIVE)
    cols = {k: v[rows] for k, v in reg.cols.items()}
    rep = t.reported(cols["tech"], cols["retrofit"])
    counts = np.zeros_like(fleet.counts)
    np.add.at(counts, (cols["vclass"], rep), 1)
    np.testing.assert_array_equal(fleet.counts, counts)
    bands = np.zeros_like(fleet.band_counts)
    np.add.at(bands, (BAND[cols["owner"]], rep), 1)
    np.testing.assert_array_equal(fleet.band_counts, bands)
    families = np.zeros_like(fleet.family_counts)
    np.add.at(families, (cols["owner"], t.family_reported[rep]), 1)
    np.testing.assert_array_equal(fleet.family_counts, families)
    classes = np.zeros_like(fleet.class_counts)
    np.add.at(classes, (cols["owner"], cols["vclass"]), 1)
    np.testing.assert_array_equal(fleet.class_counts, classes)
    assert fleet.birth_sum == int(cols["birth_month"].astype(np.int64).sum())
    np.testing.assert_allclose(fleet.totals, reg.rates[:, rows].sum(axis=1), rtol=1e-9,
                               atol=1e-6)
    np.testing.assert_allclose(fleet.totals, fleet.rates_of(rows).sum(axis=1), rtol=1e-9,
                               atol=1e-6)
    assert not reg.rates[:, : reg.n][:, reg.cols["state"][: reg.n] != ACTIVE].any()
    np.testing.assert_array_equal(fleet.sizes(), np.bincount(cols["owner"], minlength=N_OPS))
    assert len(fleet) == len(rows)


OPS = st.sampled_from(["add", "retire", "sell", "scrap_listed", "buy_used", "refit",
                       "recompute", "new_year", "new_month"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(OPS, st.integers(1, 6)), min_size=1, max_size=30),
       st.integers(0, 2**31))
def test_aggregates_equal_a_recount(steps, seed):
    rng = np.random.default_rng(seed)
    fleet = new_fleet()
    entered = np.zeros(len(TABLES.class_names), np.int64)
    left = np.zeros_like(entered)
    for op, k in steps:
        active, listed = fleet.active_rows(), fleet.listed_rows()
        cls = fleet.registry.cols["vclass"]  # the registry's arrays are replaced as it grows
        if op == "add":
            rows = fleet.add(columns(rng, k))
            np.add.at(entered, fleet.registry.cols["vclass"][rows], 1)
        elif op in ("retire", "sell", "refit") and len(active):
            rows = rng.choice(active, size=min(k, len(active)), replace=False)
            if op == "retire":
                np.add.at(left, cls[rows], 1)
                fleet.retire(rows)
            elif op == "sell":
                np.add.at(left, cls[rows], 1)
                fleet.list_for_sale(rows, 24400)
                assert (fleet.registry.cols["listed_month"][rows] == 24400).all()
            else:
                fleet.refit(rows, rng.integers(0, 2, len(rows)), rng.integers(0, 2, len(rows)))
        elif op in ("scrap_listed", "buy_used") and len(listed):
            rows = rng.choice(listed, size=min(k, len(listed)), replace=False)
            if op == "scrap_listed":
                fleet.scrap_listings(rows)
            else:
                owner = rng.integers(0, N_OPS, len(rows)).astype(np.int32)
                fleet.change_owner(rows, owner, np.zeros(len(rows), np.int8),
                                   rng.integers(0, 12, len(rows)), rng.uniform(1e4, 1e5, len(rows)))
                np.add.at(entered, cls[rows], 1)
                assert (fleet.registry.cols["owner"][rows] == owner).all()
        elif op == "recompute":
            fleet.recompute_rates()
        elif op == "new_year":
            fleet.new_year()
            assert not (fleet.registry.cols["state"][: fleet.registry.n] == GONE).any()
        elif op == "new_month":
            fleet.new_month()
            entered[:], left[:] = 0, 0
        check_recount(fleet)
        np.testing.assert_array_equal(fleet.entered, entered)
        np.testing.assert_array_equal(fleet.left, left)


def test_the_starting_fleet_is_not_an_entry():
    fleet = new_fleet()
    fleet.add(columns(np.random.default_rng(0), 20), count=False)
    assert fleet.entered.sum() == 0
    assert len(fleet) == 20
    check_recount(fleet)


def test_mean_age_from_the_birth_months():
    fleet = new_fleet()
    assert fleet.mean_age_years(24000) == 0.0
    cols = columns(np.random.default_rng(1), 10)
    fleet.add(cols)
    assert fleet.mean_age_years(24400) == pytest.approx((24400 - cols["birth_month"].mean()) / 12)


def test_listed_rows_stop_counting_and_emitting():
    fleet = new_fleet()
    rows = fleet.add(columns(np.random.default_rng(2), 5))
    fleet.list_for_sale(rows[:2], 24100)
    assert (fleet.registry.cols["state"][rows[:2]] == LISTED).all()
    assert len(fleet) == 3
    check_recount(fleet)
