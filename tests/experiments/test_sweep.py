"""Sweeps on local worker processes: one Parquet file per run, a manifest of every run, failed
runs recorded and skipped over, resume, identical data whatever the number of workers, and a
dataset DuckDB and pandas read straight from the folder."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from fleetsim.experiments import SpecError, Sweep
from fleetsim.experiments.storage import SweepDir
from fleetsim.sim import FleetModel
from tests.experiments.conftest import TINY, dataset, write_spec


def test_every_run_has_a_file_or_a_recorded_failure(tiny_reference):
    sd = SweepDir(tiny_reference)
    man = sd.read_manifest()
    assert len(man) == 24
    assert man["run_id"].is_unique
    ok, failed = man[man["status"] == "ok"], man[man["status"] == "failed"]
    assert len(ok) == 16 and len(failed) == 8
    assert (failed["param_peer_q"] == -1.0).all()
    assert failed["error"].str.contains("decisions.peer_q: got -1.0").all()
    for rec in ok.itertuples():
        assert (sd.data / f"preset={rec.preset}" / f"run-{rec.run_id}.parquet").exists()
    assert {"seed", "wall_time_s", "version", "param_growth"} <= set(man.columns)
    assert man["version"].eq(man["version"].iloc[0]).all()
    assert not list(sd.data.rglob("*.tmp"))


def test_the_manifest_is_json_lines_written_as_runs_finish(tiny_reference):
    lines = (tiny_reference / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 24
    rec = json.loads(lines[0])
    assert {"run_id", "preset", "point", "seed", "params", "status", "error", "wall_time_s",
            "version"} <= set(rec)


def test_a_run_file_matches_the_model_run_alone(tiny_reference):
    """The sweep's numbers are the model's: same scenario, overrides and seed."""
    data = dataset(tiny_reference)
    row = data[(data["preset"] == "mexico_city") & (data["param_growth"] == 0.04)
               & (data["param_peer_q"] == 0.6) & (data["seed"] == 12)]
    model = FleetModel("mexico_city", rng=12, overrides={
        "market.growth_per_year": 0.04, "decisions.peer_q": 0.6,
        "simulation.sample_fraction": 0.005}).run(years=2)
    res = model.results()
    assert list(row["year"]) == [2025, 2026]
    np.testing.assert_allclose(row["pm25_t"], res.groupby("year")["pm25_t"].sum())
    np.testing.assert_allclose(row["vehicles"], res.groupby("year")["vehicles"].last())


@pytest.mark.slow
def test_one_worker_gives_the_same_data_as_two(tiny_spec, tiny_reference, tmp_path):
    out = tmp_path / "one"
    result = Sweep.from_file(tiny_spec).run(out, workers=1)
    assert (result.ok, result.failed) == (16, 8)
    pd.testing.assert_frame_equal(dataset(out), dataset(tiny_reference))
    for f in (tiny_reference / "data").rglob("*.parquet"):
        assert f.read_bytes() == (out / f.relative_to(tiny_reference)).read_bytes(), f


@pytest.mark.slow
def test_resume_runs_only_what_is_missing(tiny_spec, tiny_reference, tmp_path):
    out = tmp_path / "partial"
    sweep = Sweep.from_file(tiny_spec)
    sweep.run(out, workers=2)
    # lose two finished runs: one file deleted, one manifest line dropped (and a torn line)
    victim = next((out / "data" / "preset=mexico_city").glob("run-*.parquet"))
    victim.unlink()
    lines = (out / "manifest.jsonl").read_text().splitlines()
    dropped = [ln for ln in lines if json.loads(ln)["status"] == "ok"
               and json.loads(ln)["run_id"] != victim.stem.removeprefix("run-")][0]
    kept = [ln for ln in lines if ln != dropped]
    (out / "manifest.jsonl").write_text("\n".join(kept) + '\n{"run_id": "00')
    lost = sorted([victim.stem.removeprefix("run-"), json.loads(dropped)["run_id"]])
    assert sorted(sweep.missing(out)) == lost
    ran = []
    result = sweep.run(out, workers=2, resume=True, on_result=lambda rec, _: ran.append(rec))
    assert sorted(r["run_id"] for r in ran) == lost
    assert (result.skipped, result.ok, result.failed) == (22, 2, 0)
    pd.testing.assert_frame_equal(dataset(out), dataset(tiny_reference))
    assert sweep.missing(out) == []
    again = sweep.run(out, workers=2, resume=True)
    assert (again.skipped, again.ok, again.failed) == (24, 0, 0)
    retried = sweep.run(out, workers=2, resume=True, retry_failed=True)
    assert (retried.skipped, retried.ok, retried.failed) == (16, 0, 8)
    pd.testing.assert_frame_equal(dataset(out), dataset(tiny_reference))


def test_a_folder_holding_a_sweep_needs_resume(tiny_spec, tiny_reference):
    with pytest.raises(SpecError, match="already holds a sweep"):
        Sweep.from_file(tiny_spec).run(tiny_reference, workers=1)


def test_resume_refuses_a_different_spec(tiny_reference, tmp_path):
    other = write_spec(tmp_path, {**TINY, "seed": 99})
    with pytest.raises(SpecError, match="differs"):
        Sweep.from_file(other).run(tiny_reference, workers=1, resume=True)


def test_duckdb_and_pandas_read_the_folder(tiny_reference):
    data_dir = tiny_reference / "data"
    con = duckdb.connect()
    per_preset = con.execute(
        f"SELECT preset, count(DISTINCT run_id) AS runs, avg(pm25_t) AS pm25 "
        f"FROM read_parquet('{data_dir}/*/*.parquet', hive_partitioning = true) "
        f"GROUP BY preset ORDER BY preset").df()
    assert list(per_preset["preset"]) == ["mexico_city", "mexico_city_partnership"]
    assert list(per_preset["runs"]) == [8, 8]
    frame = pd.read_parquet(data_dir)
    assert len(frame) == 16 * 2  # two yearly rows per run
    assert set(frame["preset"].astype(str)) == {"mexico_city", "mexico_city_partnership"}
    manifest = con.execute(f"SELECT count(*) FROM '{tiny_reference}/manifest.parquet' "
                           "WHERE status = 'failed'").fetchone()[0]
    assert manifest == 8


def test_monthly_outputs_and_chosen_metrics(tmp_path):
    spec = {"name": "monthly", "presets": ["mexico_city"], "years": 1, "sample_fraction": 0.005,
            "outputs": "monthly", "metrics": ["pm25_t", "share_zev"], "replications": 2}
    out = tmp_path / "m"
    result = Sweep.from_dict(spec).run(out, workers=1)
    assert result.ok == 2
    data = dataset(out)
    assert list(data.columns) == ["run_id", "point", "seed", "date", "year", "month", "pm25_t",
                                  "share_zev", "preset"]
    assert len(data) == 24


def test_an_unknown_metric_fails_the_runs_with_its_name(tmp_path):
    spec = {"name": "badmetric", "presets": ["mexico_city"], "years": 1,
            "sample_fraction": 0.005, "metrics": ["pm25_t", "no_such_column"]}
    out = tmp_path / "b"
    result = Sweep.from_dict(spec).run(out, workers=1)
    assert result.failed == 1
    assert "metrics: got no_such_column" in SweepDir(out).read_manifest()["error"].iloc[0]


def test_scale_parameters_multiply_the_presets_value(tmp_path):
    """`scale: true` multiplies every year of a path; two presets keep their own bases."""
    from fleetsim.experiments.design import point_overrides
    from fleetsim.scenarios import load_raw

    spec = Sweep.from_dict({
        "name": "scaled", "presets": ["mexico_city", "mexico_national"],
        "parameters": {"growth": {"path": "market.growth_per_year", "scale": True,
                                  "values": [2.0]},
                       "bev": {"paths": ["technologies.battery_electric.by_class.T3.price_mxn",
                                         "technologies.battery_electric.by_class.C2.price_mxn"],
                               "scale": True, "values": [0.5]}}}).spec
    city = point_overrides(spec, load_raw("mexico_city"), {"growth": 2.0, "bev": 0.5})
    assert city["market.growth_per_year"] == {2025: 0.04, 2040: 0.03, 2060: 0.02}
    assert city["technologies.battery_electric.by_class.T3.price_mxn"] == \
        {2025: 4_000_000, 2030: 3_000_000, 2040: 2_700_000}
    national = point_overrides(spec, load_raw("mexico_national"), {"growth": 2.0, "bev": 0.5})
    assert national["market.growth_per_year"][2030] == pytest.approx(0.06)
