"""Sweeps on a real Dask distributed cluster (LocalCluster with worker processes): the same
dataset as on the local pool, also when a worker process is killed mid-sweep."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest

from fleetsim.experiments import Sweep
from tests.experiments.conftest import dataset

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def test_a_cluster_gives_the_same_dataset_as_local_processes(cluster, tiny_spec,
                                                             tiny_reference, tmp_path):
    out = tmp_path / "dask"
    result = Sweep.from_file(tiny_spec).run(out, scheduler=cluster.scheduler_address)
    assert (result.ok, result.failed) == (16, 8)
    pd.testing.assert_frame_equal(dataset(out), dataset(tiny_reference))


def test_a_killed_cluster_worker_loses_nothing(cluster, tiny_spec, tiny_reference, tmp_path):
    killed = []
    with distributed.Client(cluster.scheduler_address) as client:
        pids = list(client.run(os.getpid).values())

        def kill_a_worker(rec, progress):
            if not killed and progress.done >= 3:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        out = tmp_path / "dask_killed"
        result = Sweep.from_file(tiny_spec).run(out, scheduler=client, on_result=kill_a_worker)
    assert killed
    assert (result.ok, result.failed) == (16, 8)
    pd.testing.assert_frame_equal(dataset(out), dataset(tiny_reference))
