"""Every output column, every month, against the results saved from the code before the core was
reshaped (issue 11; tests/golden/make_golden.py wrote them). Same scenario and seed, same
numbers: the comparison is exact unless a column is listed in TOLERANCE with its reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.golden.make_golden import CASES, run

HERE = Path(__file__).parent

# column -> relative tolerance, each with the reason it is not exact (empty: all exact)
TOLERANCE: dict[str, float] = {}


@pytest.mark.parametrize("name", list(CASES))
def test_results_equal_the_golden_ones(name):
    want = pd.read_parquet(HERE / f"{name}.parquet")
    got = run(name)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        if col in TOLERANCE:
            pd.testing.assert_series_equal(got[col], want[col], check_exact=False,
                                           rtol=TOLERANCE[col], check_dtype=False)
        else:
            pd.testing.assert_series_equal(got[col], want[col], check_exact=True,
                                           obj=f"{name}.{col}")
