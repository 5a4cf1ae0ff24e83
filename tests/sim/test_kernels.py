"""The month's compiled tallies give np.add.at's counts, and sim.warm() loads every kernel."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.sim import warm
from fleetsim.sim.kernels import count_kernel, tally_kernel


@pytest.mark.parametrize("sign", [1, -1])
def test_count_kernel_equals_add_at(sign):
    rng = np.random.default_rng(7)
    m, n_cls, n_rep, n_own, n_fam = 3000, 5, 12, 400, 4
    vclass, rep = rng.integers(0, n_cls, m), rng.integers(0, n_rep, m)
    owner = rng.integers(0, n_own, m)
    owner_band, family_rep = rng.integers(0, 4, n_own), rng.integers(0, n_fam, n_rep)
    start = (rng.integers(0, 50, (n_cls, n_rep)), rng.integers(0, 50, (4, n_rep)),
             rng.integers(0, 50, (n_own, n_fam)).astype(np.int32),
             rng.integers(0, 50, (n_own, n_cls)).astype(np.int32))
    got = tuple(x.copy() for x in start)
    count_kernel(vclass, rep, owner, owner_band, family_rep, sign, *got)
    want = tuple(x.copy() for x in start)
    np.add.at(want[0], (vclass, rep), sign)
    np.add.at(want[1], (owner_band[owner], rep), sign)
    np.add.at(want[2], (owner, family_rep[rep]), sign)
    np.add.at(want[3], (owner, vclass), sign)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype


def test_tally_kernel_equals_add_at():
    index = np.random.default_rng(8).integers(0, 6, 500)
    got, want = np.zeros(6, np.int64), np.zeros(6, np.int64)
    tally_kernel(got, index)
    np.add.at(want, index, 1)
    np.testing.assert_array_equal(got, want)


def test_warm_loads_every_kernel():
    assert warm() >= 0.0
