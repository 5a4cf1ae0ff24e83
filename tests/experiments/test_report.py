"""`fleetsim report`: summary tables, cost-effectiveness against the baseline, Sobol indices with
intervals (Morris mu* and sigma), PNG charts and one self-contained HTML page. And FleetModel
under mesa.batch_run."""

from __future__ import annotations

import base64

import mesa
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fleetsim.experiments import Sweep
from fleetsim.experiments.cli import app
from fleetsim.experiments.report import yearly_frame
from fleetsim.experiments.storage import SweepDir
from fleetsim.sim import FleetModel

SOBOL = {
    "name": "mix_sobol",
    "presets": ["baseline", "clean_fleets_mix"],
    "years": 3,  # the mix's bonuses and partnership start in 2026
    "sample_fraction": 0.01,  # with common random numbers, smaller samples hold too few takers
    "design": {"method": "sobol", "samples": 4, "seed": 5},
    "parameters": {
        "bonus": {"path": "policy.scrappage.0.bonus_mxn", "uniform": [0, 500000],
                  "presets": ["clean_fleets_mix"]},
        "share": {"path": "partnerships.0.large_fleet_share", "uniform": [0.0, 0.6],
                  "presets": ["clean_fleets_mix"]},
    },
}  # 16 points (N (D + 2)) for clean_fleets_mix, one run for the baseline


@pytest.fixture(scope="module")
def sobol_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("sobol") / "sweep"
    result = Sweep.from_dict(SOBOL).run(out, workers=2)
    assert (result.ok, result.failed) == (17, 0)
    cli = CliRunner().invoke(app, ["report", str(out)])
    assert cli.exit_code == 0, cli.output
    return out


def test_report_writes_tables_charts_and_html(sobol_report):
    rep = sobol_report / "report"
    for name in ("summary.csv", "outcomes.csv", "cost_effectiveness.csv", "sensitivity.csv",
                 "fan_pm25_t.png", "fan_co2_wtw_t.png", "cost_effectiveness.png",
                 "sensitivity.png", "report.html"):
        assert (rep / name).stat().st_size > 0, name
    html = (rep / "report.html").read_text()
    pngs = sorted(rep.glob("*.png"))
    assert html.count("data:image/png;base64,") == len(pngs)
    assert "src=\"http" not in html and "<script" not in html  # self-contained
    first = html.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(first).startswith(b"\x89PNG")


def test_summary_has_mean_and_band_per_preset_metric_and_year(sobol_report):
    summary = pd.read_csv(sobol_report / "report" / "summary.csv")
    assert set(summary["preset"]) == {"baseline", "clean_fleets_mix"}
    assert {"pm25_t", "share_zev", "public_spending_mxn"} <= set(summary["metric"])
    assert set(summary["year"]) == {2025, 2026, 2027}
    assert (summary["p5"] <= summary["mean"] + 1e-9).all()
    assert (summary["mean"] <= summary["p95"] + 1e-9).all()
    row = summary[(summary["preset"] == "clean_fleets_mix") & (summary["metric"] == "pm25_t")
                  & (summary["year"] == 2026)].iloc[0]
    data = yearly_frame(SweepDir(sobol_report))
    values = data[(data["preset"] == "clean_fleets_mix") & (data["year"] == 2026)]["pm25_t"]
    assert row["runs"] == 16
    assert row["mean"] == pytest.approx(values.mean())
    assert row["p95"] == pytest.approx(values.quantile(0.95))


def test_sobol_indices_with_intervals_per_parameter(sobol_report):
    sens = pd.read_csv(sobol_report / "report" / "sensitivity.csv")
    mix = sens[sens["preset"] == "clean_fleets_mix"]
    assert set(mix["parameter"]) == {"bonus", "share"}
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(sens.columns)
    varying = mix.dropna(subset=["ST"])
    assert len(varying) >= 2
    assert (varying["ST_conf"] >= 0).all()
    base = sens[sens["preset"] == "baseline"]
    assert list(base["note"]) == ["no parameter applies to this preset"]


def test_cost_effectiveness_pairs_each_run_with_the_baseline_seed(sobol_report):
    ce = pd.read_csv(sobol_report / "report" / "cost_effectiveness.csv").set_index("preset")
    out = pd.read_csv(sobol_report / "report" / "outcomes.csv")
    mix, base = out[out["preset"] == "clean_fleets_mix"], out[out["preset"] == "baseline"]
    assert ce.loc["clean_fleets_mix", "pairs"] == 16
    avoided = base["total_pm25_t"].iloc[0] - mix["total_pm25_t"]
    assert ce.loc["clean_fleets_mix", "pm25_t_avoided_mean"] == pytest.approx(avoided.mean())
    extra = mix["total_public_spending_mxn"] - base["total_public_spending_mxn"].iloc[0]
    assert ce.loc["clean_fleets_mix", "extra_spending_mxn_mean"] == pytest.approx(extra.mean())
    assert extra.mean() > 0  # the mix pays bonuses and subsidies; the baseline pays nothing


def test_presets_with_other_instruments_keep_their_columns(sobol_report):
    """The baseline has no scrappage programme, so its files lack the programme's spending
    column: reading the folder unifies the columns (DuckDB: union_by_name)."""
    data = SweepDir(sobol_report).read_data()
    spend = data.groupby("preset")["spend_scrappage_hombre_camion_mxn"]
    assert spend.count()["baseline"] == 0
    assert spend.count()["clean_fleets_mix"] == 48  # 16 runs x 3 years
    import duckdb

    rows = duckdb.sql(
        f"SELECT preset, count(spend_scrappage_hombre_camion_mxn) AS n FROM read_parquet("
        f"'{sobol_report}/data/*/*.parquet', hive_partitioning = true, union_by_name = true) "
        f"GROUP BY preset ORDER BY preset").fetchall()
    assert rows == [("baseline", 0), ("clean_fleets_mix", 48)]


def test_morris_gives_mu_star_and_sigma(tmp_path):
    spec = {"name": "m", "presets": ["mexico_city"], "years": 1, "sample_fraction": 0.005,
            "design": {"method": "morris", "samples": 2, "seed": 1},
            "parameters": {"q": {"path": "decisions.peer_q", "uniform": [0.2, 0.6]},
                           "g": {"path": "market.growth_per_year", "uniform": [0.0, 0.1]}}}
    out = tmp_path / "m"
    Sweep.from_dict(spec).run(out, workers=2)
    CliRunner().invoke(app, ["report", str(out)])
    sens = pd.read_csv(out / "report" / "sensitivity.csv")
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(sens.columns)
    row = sens[(sens["outcome"] == "end_share_soot_free") & (sens["parameter"] == "g")]
    assert len(row) == 1 and np.isfinite(row["mu_star"].iloc[0])


def test_monthly_outputs_report_the_same_years_as_yearly_summaries(tmp_path):
    spec = {"name": "mo", "presets": ["mexico_city"], "years": 2, "sample_fraction": 0.005,
            "replications": 2}
    Sweep.from_dict(spec).run(tmp_path / "y", workers=1)
    Sweep.from_dict({**spec, "outputs": "monthly"}).run(tmp_path / "m", workers=1)
    yearly, monthly = yearly_frame(SweepDir(tmp_path / "y")), yearly_frame(SweepDir(tmp_path / "m"))
    cols = ["run_id", "year", "months", "pm25_t", "vehicles", "share_zev", "loans_active",
            "public_spending_mxn", "entered"]
    pd.testing.assert_frame_equal(monthly[cols], yearly[cols], check_dtype=False)


def test_fleet_model_runs_under_mesa_batch_run():
    rows = mesa.batch_run(
        FleetModel,
        parameters={"scenario": "mexico_city", "sample_fraction": 0.005,
                    "overrides": [{"market.growth_per_year": 0.0},
                                  {"market.growth_per_year": 0.08}]},
        rng=[3, 4], max_steps=12, number_processes=1, data_collection_period=-1,
        display_progress=False)
    frame = pd.DataFrame(rows)
    assert len(frame) == 4  # 2 override sets x 2 seeds, the last step of each
    assert set(frame["date"]) == {"2025-12"}
    alone = FleetModel("mexico_city", rng=4, sample_fraction=0.005,
                       overrides={"market.growth_per_year": 0.08}).run(years=1).results()
    match = frame[(frame["rng"] == 4) & (frame["overrides"].map(
        lambda o: o["market.growth_per_year"]) == 0.08)]
    assert match["pm25_t"].iloc[0] == pytest.approx(alone["pm25_t"].iloc[-1])
    grew = frame.groupby(frame["overrides"].map(lambda o: o["market.growth_per_year"]))
    assert grew["vehicles"].mean()[0.08] > grew["vehicles"].mean()[0.0]
