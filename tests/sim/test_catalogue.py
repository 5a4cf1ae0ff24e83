"""The output catalogue: every column belongs to one declared family, which gives its kind; one
`yearly` sums flows and takes stocks at the year's end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fleetsim.sim import FleetModel
from fleetsim.sim.metrics import FAMILIES, FLOW, STOCK, catalogue, kind_of, yearly


@pytest.mark.parametrize("scenario", ["mexico_city", "clean_fleets_mix", "contingency_curfew"])
def test_every_column_has_a_declared_family_and_kind(scenario):
    model = FleetModel(scenario, rng=1, sample_fraction=0.01)
    cols = catalogue(model)
    names = [c.name for c in cols]
    assert len(set(names)) == len(names), "each column once"
    assert names == model.metric_names()
    for c in cols:
        assert c.family in FAMILIES, c.name
        assert kind_of(c.name) == FAMILIES[c.family][0], c.name


def test_yearly_sums_flows_and_takes_stocks_at_the_year_end():
    df = pd.DataFrame({"date": [f"2025-{m:02d}" for m in (11, 12)] + ["2026-01"],
                       "year": [2025, 2025, 2026], "month": [11, 12, 1],
                       "pm25_t": [1.0, 2.0, 4.0], "vehicles": [10.0, 11.0, 12.0],
                       "entered_C2": [1.0, 1.0, 3.0]})
    assert kind_of("entered_C2") == FLOW and kind_of("vehicles") == STOCK
    out = yearly(df)
    assert list(out.columns) == ["year", "months", "pm25_t", "vehicles", "entered_C2"]
    np.testing.assert_array_equal(out["months"], [2, 1])
    np.testing.assert_array_equal(out["pm25_t"], [3.0, 4.0])
    np.testing.assert_array_equal(out["vehicles"], [11.0, 12.0])
    np.testing.assert_array_equal(yearly(df, annualise=("pm25_t",))["pm25_t"], [18.0, 48.0])
