"""The columnar vehicle registry: add, retire, due, compact and growth keep columns in step."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.sim.registry import COLUMNS, NEVER, VehicleRegistry

N_RATES = 3


def rows_of(k: int, start: int = 0) -> dict[str, np.ndarray]:
    """k vehicles whose every column encodes its id (start..start+k-1)."""
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
    }


def check_consistent(reg: VehicleRegistry) -> None:
    """Every row's columns still describe the same vehicle (owner is its id)."""
    ids = reg.cols["owner"][: reg.n]
    np.testing.assert_array_equal(reg.cols["vclass"][: reg.n], ids % 4)
    np.testing.assert_array_equal(reg.cols["tech"][: reg.n], ids % 7)
    np.testing.assert_array_equal(reg.cols["birth_month"][: reg.n], 24000 + ids)
    np.testing.assert_allclose(reg.cols["km_new"][: reg.n], ids * 10.0)
    np.testing.assert_allclose(reg.cols["nox_mult"][: reg.n], ids * 0.25)
    alive = reg.cols["alive"][: reg.n]
    np.testing.assert_array_equal(reg.cols["death_month"][: reg.n][alive], 24100 + ids[alive])
    np.testing.assert_allclose(reg.rates[:, : reg.n][:, alive],
                               np.vstack([ids[alive] * (r + 1) for r in range(N_RATES)]))
    assert np.all(reg.rates[:, : reg.n][:, ~alive] == 0)
    assert reg.n_alive == alive.sum()


def add_with_rates(reg: VehicleRegistry, k: int, start: int) -> np.ndarray:
    rows = reg.add(**rows_of(k, start))
    ids = np.arange(start, start + k)
    reg.rates[:, rows] = np.vstack([ids * (r + 1) for r in range(N_RATES)])
    return rows


def test_add_returns_new_rows_and_sets_columns():
    reg = VehicleRegistry(N_RATES, capacity=16)
    rows = add_with_rates(reg, 10, 0)
    np.testing.assert_array_equal(rows, np.arange(10))
    assert reg.n == reg.n_alive == 10
    assert reg.cols["alive"][:10].all()
    assert set(reg.cols) == set(COLUMNS)
    for name, dtype in COLUMNS.items():
        assert reg.cols[name].dtype == dtype
    check_consistent(reg)


def test_capacity_grows_and_keeps_rows():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 10, 0)
    rows = add_with_rates(reg, 100, 10)
    np.testing.assert_array_equal(rows, np.arange(10, 110))
    assert reg.n == 110
    assert all(len(arr) >= 110 for arr in reg.cols.values())
    assert reg.rates.shape[1] >= 110
    check_consistent(reg)


def test_retire_and_due():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 20, 0)
    due = reg.due(24104)  # death months 24100..24104
    np.testing.assert_array_equal(due, np.arange(5))
    reg.retire(np.array([1, 3, 12]))
    assert reg.n_alive == 17
    assert not reg.cols["alive"][[1, 3, 12]].any()
    assert np.all(reg.cols["death_month"][[1, 3, 12]] == NEVER)
    np.testing.assert_array_equal(reg.due(24104), [0, 2, 4])
    assert 12 not in reg.due(NEVER - 1), "a retired row is never due again"
    check_consistent(reg)


def test_compact_drops_retired_rows_in_order():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 30, 0)
    gone = np.array([0, 5, 6, 29])
    reg.retire(gone)
    reg.compact()
    assert reg.n == reg.n_alive == 26
    np.testing.assert_array_equal(reg.cols["owner"][: reg.n], np.setdiff1d(np.arange(30), gone))
    assert reg.cols["alive"][: reg.n].all()
    check_consistent(reg)
    # adding after compacting continues at the new end
    rows = add_with_rates(reg, 5, 100)
    np.testing.assert_array_equal(rows, np.arange(26, 31))
    check_consistent(reg)


def test_compact_without_rates_keeps_the_columns():
    reg = VehicleRegistry(N_RATES, capacity=16)
    add_with_rates(reg, 12, 0)
    reg.retire(np.array([2, 4]))
    reg.compact(keep_rates=False)
    assert reg.n == 10
    np.testing.assert_array_equal(reg.owner, [0, 1, 3, 5, 6, 7, 8, 9, 10, 11])
    np.testing.assert_array_equal(reg.birth_month, 24000 + reg.owner)


def test_frame_lists_alive_rows():
    reg = VehicleRegistry(N_RATES)
    add_with_rates(reg, 8, 0)
    reg.retire(np.array([0, 7]))
    frame = reg.frame()
    assert list(frame["owner"]) == [1, 2, 3, 4, 5, 6]
    assert "alive" not in frame.columns
    assert set(frame.columns) == set(COLUMNS) - {"alive"}


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
    assert reg.n == 5
