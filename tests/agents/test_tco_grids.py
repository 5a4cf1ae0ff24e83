"""The model's store of TCO grids (agents.pricing.TcoGrids): a grid comes back only for the
exact same inputs, read-only, and the store stays bounded."""

import numpy as np
import pytest

from fleetsim.agents.pricing import TcoGrids, array_key


def test_key_tells_dtype_shape_and_bytes_apart():
    a = np.arange(4.0)
    assert array_key(a) == array_key(a.copy())
    assert array_key(a) != array_key(a.astype(np.float32))
    assert array_key(a) != array_key(a.reshape(2, 2))
    b = a.copy()
    b[3] = np.nextafter(b[3], 10.0)
    assert array_key(a) != array_key(b)
    assert array_key(0) != array_key(0.0)


def test_store_is_bounded_and_read_only():
    store = TcoGrids(size=2)
    for k in range(3):
        store.put((k,), (np.full(3, float(k)),))
    assert store.get((0,)) is None
    grid = store.get((2,))
    assert grid is not None and grid[0][0] == 2.0
    with pytest.raises(ValueError):
        grid[0][0] = 1.0
