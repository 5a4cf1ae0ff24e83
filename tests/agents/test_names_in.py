"""agents.regulator.names_in gives what np.isin gave for lists of names."""

import numpy as np
import pytest

from fleetsim.agents.regulator import names_in, scope_mask


@pytest.mark.parametrize("names,chosen", [
    (["a", "b", "c"], ["b", "x"]), (["a", "b"], []), (["a", "b"], None), ([], ["a"]),
    (["", "r1", "r2"], ["r1"]), (["diesel", "diesel_ulsd"], ("diesel",)),
])
def test_names_in_is_isin(names, chosen):
    got, want = names_in(names, chosen), np.isin(names, chosen)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_empty_scope_means_all():
    np.testing.assert_array_equal(scope_mask(["a", "b"], []), [True, True])
    np.testing.assert_array_equal(scope_mask(["a", "b"], ["b"]), [False, True])
