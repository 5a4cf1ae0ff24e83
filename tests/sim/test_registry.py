"""The columnar vehicle registry: add, change state, due, rows_of, compact and growth keep
columns in step; vehicle ids last."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.sim.registry import (
    ACTIVE,
    COLUMNS,
    GONE,
    LISTED,
    NEVER,
    SET_BY_REGISTRY,
    VehicleRegistry,
)

N_RATES = 3


def rows_of(k: int, start: int = 0) -> dict[str, np.ndarray]:
    """k vehicles whose every given column encodes its id (start..start+k-1)."""
    ids = np.arange(start, start + k)
    return {
        "owner": ids,
        "vclass": ids % 4,
        "tech": ids % 7,
        "retrofit": ids % 2,
        "region": ids % 3,
        "origin": ids % 3,
        "birth_month": 24000 + ids,
        "death_month": 24100 + ids,
        "km_new": ids * 10.0,
        "pm_mult": ids * 0.5,
        "nox_mult": ids * 0.25,
        "tamper_u": ids * 0.001,
        "review_month": ids % 12,
        "partnership": ids % 2,
    }


def check_consistent(reg: VehicleRegistry) -> None:
    """Every row's columns still describe the same vehicle (owner is its id)."""
    ids = reg.cols["owner"][: reg.n]
    np.testing.assert_array_equal(reg.cols["vclass"][: reg.n], ids % 4)
    np.testing.assert_array_equal(reg.cols["tech"][: reg.n], ids % 7)
    np.testing.assert_array_equal(reg.cols["birth_month"][: reg.n], 24000 + ids)
    np.testing.assert_allclose(reg.cols["km_new"][: reg.n], ids * 10.0)
    np.testing.assert_allclose(reg.cols["nox_mult"][: reg.n], ids * 0.25)
    np.testing.assert_array_equal(reg.cols["review_month"][: reg.n], ids % 12)
    np.testing.assert_array_equal(reg.cols["partnership"][: reg.n], ids % 2)
    state = reg.cols["state"][: reg.n]
    active = state == ACTIVE
    np.testing.assert_array_equal(reg.cols["death_month"][: reg.n][state != GONE],
                                  24100 + ids[state != GONE])
    np.testing.assert_allclose(reg.rates[:, : reg.n][:, active],
                               np.vstack([ids[active] * (r + 1) for r in range(N_RATES)]))
    assert np.all(reg.rates[:, : reg.n][:, ~active] == 0), "only active rows have rates"
    # vehicle ids increase with the row order, so rows_of finds them
    vid = reg.cols["vid"][: reg.n]
    assert np.all(np.diff(vid) > 0)
    np.testing.assert_array_equal(reg.rows_of(vid), np.arange(reg.n))


def add_with_rates(reg: VehicleRegistry, k: int, start: int) -> np.ndarray:
    rows = reg.add(**rows_of(k, start))
    ids = np.arange(start, start + k)
    reg.rates[:, rows] = np.vstack([ids * (r + 1) for r in range(N_RATES)])
    return rows


def test_add_returns_new_rows_and_sets_columns():
    reg = VehicleRegistry(N_RATES, capacity=16)
    rows = add_with_rates(reg, 10, 0)
    np.testing.assert_array_equal(rows, np.arange(10))
    assert reg.n == 10
    assert (reg.cols["state"][:10] == ACTIVE).all()
    np.testing.assert_array_equal(reg.in_state(ACTIVE), np.arange(10))
    assert len(reg.in_state(LISTED)) == len(reg.in_state(GONE)) == 0
    np.testing.assert_array_equal(reg.cols["vid"][:10], np.arange(10))
    assert reg.next_vid == 10
    assert set(reg.cols) == set(COLUMNS)
    for name, dtype in COLUMNS.items():
        assert reg.cols[name].dtype == dtype
    check_consistent(reg)


def test_states_are_distinct():
    assert len({GONE, ACTIVE, LISTED}) == 3
    assert GONE == 0, "zeroed rows (fresh capacity) are gone, not active"
    assert COLUMNS["state"] == np.dtype(np.int8)


def test_capacity_grows_and_keeps_rows():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 10, 0)
    rows = add_with_rates(reg, 100, 10)
    np.testing.assert_array_equal(rows, np.arange(10, 110))
    assert reg.n == 110
    assert all(len(arr) >= 110 for arr in reg.cols.values())
    assert reg.rates.shape[1] >= 110
    check_consistent(reg)


def test_set_state_and_due():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 20, 0)
    due = reg.due(24104)  # death months 24100..24104
    np.testing.assert_array_equal(due, np.arange(5))
    reg.set_state(np.array([1, 3, 12]), GONE, month=24050)
    reg.set_state(np.array([5, 6]), LISTED, month=24060)
    np.testing.assert_array_equal(reg.in_state(GONE), [1, 3, 12])
    np.testing.assert_array_equal(reg.in_state(LISTED), [5, 6])
    assert len(reg.in_state(ACTIVE)) == 15
    assert np.all(reg.cols["death_month"][[1, 3, 12]] == NEVER)
    np.testing.assert_array_equal(reg.cols["listed_month"][[5, 6]], 24060)
    # a listed vehicle keeps its end of life: it can still die on the used market
    np.testing.assert_array_equal(reg.cols["death_month"][[5, 6]], [24105, 24106])
    np.testing.assert_array_equal(reg.due(24104), [0, 2, 4])
    assert 12 not in reg.due(NEVER - 1), "a gone row is never due again"
    check_consistent(reg)


def test_listed_row_bought_back_into_the_fleet_keeps_its_id():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 6, 0)
    vid = reg.cols["vid"][2]
    reg.set_state(np.array([2]), LISTED, month=24001)
    reg.set_state(np.array([2]), ACTIVE)
    assert reg.cols["state"][2] == ACTIVE and reg.cols["vid"][2] == vid
    assert reg.cols["death_month"][2] == 24102


def test_compact_drops_gone_rows_in_order():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 30, 0)
    gone = np.array([0, 5, 6, 29])
    reg.set_state(gone, GONE)
    reg.set_state(np.array([7, 8]), LISTED, month=24010)
    vids_kept = np.setdiff1d(reg.cols["vid"][:30], reg.cols["vid"][gone])
    reg.compact()
    assert reg.n == 26
    np.testing.assert_array_equal(reg.cols["owner"][: reg.n], np.setdiff1d(np.arange(30), gone))
    np.testing.assert_array_equal(reg.cols["vid"][: reg.n], vids_kept)
    assert len(reg.in_state(GONE)) == 0
    # listed rows are kept, still listed
    np.testing.assert_array_equal(reg.cols["owner"][reg.in_state(LISTED)], [7, 8])
    check_consistent(reg)
    # adding after compacting continues at the new end, with new ids
    rows = add_with_rates(reg, 5, 100)
    np.testing.assert_array_equal(rows, np.arange(26, 31))
    np.testing.assert_array_equal(reg.cols["vid"][rows], np.arange(30, 35))
    check_consistent(reg)


def test_rows_of_finds_vehicles_after_compaction():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 40, 0)
    reg.set_state(np.arange(0, 40, 3), GONE)
    reg.compact()
    vids = reg.cols["vid"][: reg.n]
    pick = vids[[0, 5, 10, len(vids) - 1]]
    rows = reg.rows_of(pick)
    np.testing.assert_array_equal(reg.cols["vid"][rows], pick)


def test_compact_without_rates_keeps_the_columns():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 12, 0)
    reg.set_state(np.array([2, 4]), GONE)
    reg.compact(keep_rates=False)
    assert reg.n == 10
    np.testing.assert_array_equal(reg.owner, [0, 1, 3, 5, 6, 7, 8, 9, 10, 11])
    np.testing.assert_array_equal(reg.birth_month, 24000 + reg.owner)


def test_frame_lists_active_rows():
    reg = VehicleRegistry(N_RATES)
    add_with_rates(reg, 8, 0)
    reg.set_state(np.array([0]), GONE)
    reg.set_state(np.array([7]), LISTED, month=24000)
    frame = reg.frame()
    assert list(frame["owner"]) == [1, 2, 3, 4, 5, 6]
    assert set(frame.columns) == set(COLUMNS)
    assert list(reg.frame(np.array([7]))["owner"]) == [7]


def test_column_views_and_errors():
    reg = VehicleRegistry(N_RATES)
    add_with_rates(reg, 5, 0)
    assert len(reg.vclass) == 5
    with pytest.raises(AttributeError):
        _ = reg.no_such_column
    missing = rows_of(2)
    del missing["km_new"]
    with pytest.raises(ValueError, match="missing columns \\['km_new'\\]"):
        reg.add(**missing)
    for name in ("review_month", "partnership"):
        missing = rows_of(2)
        del missing[name]
        with pytest.raises(ValueError, match=name):
            reg.add(**missing)
    assert reg.n == 5


def test_registry_sets_its_own_columns():
    assert {"vid", "state", "listed_month"} == SET_BY_REGISTRY
    reg = VehicleRegistry(N_RATES)
    add_with_rates(reg, 3, 0)
    add_with_rates(reg, 2, 3)
    np.testing.assert_array_equal(reg.cols["vid"][:5], np.arange(5))
