"""FleetModel: determinism, policies' effects, scaling, range, agents, Mesa integration."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import mesa
import numpy as np
import pandas as pd
import pytest

from fleetsim.agents import Operator, Regulator
from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel, ModelRangeError
from tests.helpers import SMALL_FRACTION, SMALL_YEARS, recorded_run

END_YEAR = 2025 + SMALL_YEARS - 1  # the small model's last simulated year


def run_months(seed: int, months: int = 60, fraction: float = SMALL_FRACTION,
               overrides: dict | None = None, scenario: str = "mexico_city") -> pd.DataFrame:
    """Results of a scenario run for `months` months (module level so workers can run it)."""
    model = FleetModel(scenario, rng=seed, sample_fraction=fraction, overrides=overrides)
    for _ in range(months):
        model.step()
    return model.results()


def run_partnership(seed: int) -> pd.DataFrame:
    """Two years of the partnership scenario (its deals and demonstration start in 2026)."""
    return run_months(seed, 24, scenario="mexico_city_partnership")


# ---- determinism --------------------------------------------------------------------------------

def test_same_seed_same_results():
    pd.testing.assert_frame_equal(run_months(11), run_months(11))


def test_different_seeds_differ():
    a, b = run_months(11), run_months(12)
    assert not a.equals(b)
    assert (a["retired"] != b["retired"]).any()


def test_same_seed_same_results_across_processes():
    """Fresh interpreters (spawn: their own hash seeds) give the results of this process."""
    seeds = [21, 22]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        remote = list(pool.map(run_months, seeds))
    for seed, res in zip(seeds, remote, strict=True):
        pd.testing.assert_frame_equal(res, run_months(seed))
    assert not remote[0].equals(remote[1])


def test_partnership_scenario_same_seed_same_results():
    """Agents deciding (credit, peers, partnerships, the used market) stay reproducible."""
    a = run_partnership(31)
    pd.testing.assert_frame_equal(a, run_partnership(31))
    assert a["loans_approved"].sum() > 0 and a["entered_demo"].sum() > 0
    assert a["entered_used"].sum() > 0 and a["reviews"].sum() > 0
    assert not a.equals(run_partnership(32))


def test_partnership_scenario_same_results_across_processes():
    seeds = [33, 34]
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        remote = list(pool.map(run_partnership, seeds))
    for seed, res in zip(seeds, remote, strict=True):
        pd.testing.assert_frame_equal(res, run_partnership(seed))


def test_results_shape_and_columns(small_model, small_results):
    res = small_results
    assert len(res) == 12 * SMALL_YEARS
    assert list(res.columns) == small_model.metric_names()
    assert len(set(res.columns)) == len(res.columns)
    assert res["date"].iloc[0] == "2025-01" and res["date"].iloc[-1] == f"{END_YEAR}-12"
    assert list(res["month"].iloc[:13]) == [*range(1, 13), 1]
    expected = {"vehicles", "entered_new", "entered_import", "entered_used", "entered_demo",
                "retired", "scrapped", "listed", "used_pool", "used_expired", "retrofits",
                "exits", "early_replacements", "growth_unmet", "repossessed", "loans_approved",
                "loans_declined", "loans_repaid", "loans_defaulted", "loans_active",
                "loan_balance_mxn", "partnership_retrofits", "partnership_replacements",
                "partnership_cofinance_mxn", "share_soot_free", "share_zev", "mean_age_years",
                "pm25_t", "bc_t", "nox_t", "co2_ttw_t", "co2_wtw_t"}
    expected |= {f"vehicles_{t}" for t in small_model.tables.reported_names}
    expected |= {f"{kind}_{c}" for c in small_model.class_names
                 for kind in ("vehicles", "entered", "retired")}
    expected |= {f"{kind}_{b}" for b in SIZE_BANDS
                 for kind in ("vehicles", "share_soot_free", "share_zev")}
    expected |= {f"{kind}_{x}" for x in small_model.spec.credit.lenders
                 for kind in ("loans", "perceived_default_zev")}
    assert expected <= set(res.columns)
    assert "import_barred" not in res.columns
    assert small_model.date.isoformat() == f"{END_YEAR}-12-01"


def test_results_before_any_step_are_empty():
    model = FleetModel("mexico_city", rng=1, sample_fraction=SMALL_FRACTION)
    res = model.results()
    assert res.empty and list(res.columns) == model.metric_names()


# ---- the results agree with the registry ---------------------------------------------------------

def test_results_match_the_fleet(small_model, small_results):
    last = small_results.iloc[-1]
    fleet = small_model.fleet()
    f = small_model.sample_fraction
    assert last["vehicles"] == pytest.approx(len(fleet) / f)
    assert last["mean_age_years"] == pytest.approx(fleet["age_years"].mean())
    assert last["pm25_t"] == pytest.approx(fleet["pm25_g_per_year"].sum() / f / 12 / 1e6)
    assert last["co2_ttw_t"] == pytest.approx(fleet["co2_ttw_kg_per_year"].sum() / f / 12 / 1e3)
    by_tech = fleet["reported_technology"].value_counts()
    for tech in small_model.tables.reported_names:
        assert last[f"vehicles_{tech}"] == pytest.approx(by_tech.get(tech, 0) / f), tech
    soot_free = [t for t, sf in zip(small_model.tables.reported_names,
                                    small_model.tables.soot_free_reported, strict=True) if sf]
    share = fleet["reported_technology"].isin(soot_free).mean()
    assert last["share_soot_free"] == pytest.approx(share)


def test_fleet_columns_and_owners(small_model):
    fleet = small_model.fleet()
    assert list(fleet.columns) == [
        "vehicle_id", "owner", "owner_unique_id", "size_band", "vehicle_class", "technology",
        "retrofit", "reported_technology", "model_year", "age_years", "annual_km", "region",
        "origin", "partnership_contract", "retirement_year", "pm25_g_per_year",
        "co2_ttw_kg_per_year"]
    assert fleet["vehicle_id"].is_unique
    assert not fleet["partnership_contract"].any(), "mexico_city has no partnership"
    agents = {a.unique_id: a for a in small_model.agents}
    owners = [agents.get(uid) for uid in fleet["owner_unique_id"].unique()]
    assert all(isinstance(a, Operator) for a in owners)
    # the owner index and the agent agree, and so do the size bands
    sample = fleet.iloc[:: max(1, len(fleet) // 200)]
    for _, row in sample.iterrows():
        agent = agents[row["owner_unique_id"]]
        assert agent.index == row["owner"]
        assert agent.band == row["size_band"]
    assert fleet["age_years"].min() >= 0
    assert (fleet["retirement_year"] >= END_YEAR).all()
    assert set(fleet["origin"].unique()) <= {"initial", "new", "used_import"}
    assert fleet["origin"].value_counts().get("new", 0) > 0
    assert fleet["origin"].value_counts().get("used_import", 0) > 0


def test_agents_are_operators_lenders_and_one_regulator(small_model):
    kinds = pd.Series([type(a).__name__ for a in small_model.agents]).value_counts()
    assert kinds["Regulator"] == 1
    assert kinds["Operator"] == len(small_model.operators)
    assert kinds["Lender"] == len(small_model.spec.credit.lenders) == len(small_model.lenders)
    assert [x.name for x in small_model.lenders] == list(small_model.spec.credit.lenders)
    assert isinstance(small_model.regulator, Regulator)
    assert small_model.fleet_sizes().sum() == len(small_model.fleet())


@pytest.mark.parametrize("fraction", [0.02, 0.05])
def test_operators_in_four_bands_scaled_by_sample(fraction):
    model = FleetModel("mexico_city", rng=3, sample_fraction=fraction)
    bands = pd.Series([op.band for op in model.operators]).value_counts()
    assert set(bands.index) == set(SIZE_BANDS)
    for band in SIZE_BANDS:
        firms = model.spec.operators.bands[band].firms
        assert bands[band] == pytest.approx(firms * fraction, abs=1), band
    sizes = model.operator_arrays.initial_size
    assert sizes.sum() == model.initial_counts.sum()
    assert model.fleet_sizes().sum() == model.initial_counts.sum()


# ---- policies -----------------------------------------------------------------------------------

def share_in(res: pd.DataFrame, column: str, date: str) -> float:
    return float(res.loc[res["date"] == date, column].iloc[0])


def heavy_new_technologies(fleet: pd.DataFrame, spec) -> set[str]:
    heavy = [name for name, cls in spec.classes.items() if cls.heavy]
    new = fleet[(fleet["origin"] == "new") & (fleet["model_year"] >= 2025)
                & fleet["vehicle_class"].isin(heavy)]
    return set(new["technology"].astype(str))


def test_nom044_new_heavy_vehicles_are_of_allowed_technologies(small_model):
    std = small_model.spec.regulation.new_vehicle_standards[0]
    assert str(std.effective) == "2025-01-01"
    bought = heavy_new_technologies(small_model.fleet(), small_model.spec)
    assert bought, "the test needs new heavy vehicles"
    assert bought <= set(std.allowed_technologies)


def test_nom044_every_new_heavy_vehicle_bought_is_allowed(city_log):
    """Every new heavy vehicle that joined a fleet over the run (also those sold or scrapped
    since) is of a technology NOM-044 allows."""
    model = city_log.model
    std = model.spec.regulation.new_vehicle_standards[0]
    allowed = [model.tables.tech_code[t] for t in std.allowed_technologies]
    heavy = [model.tables.class_code[c] for c in std.classes]
    first = city_log.start.next_vid
    seen = 0
    for snap in city_log.snapshots:
        new = (snap.vid >= first) & (snap.origin == 1) & np.isin(snap.vclass, heavy)
        assert np.isin(snap.tech[new], allowed).all(), snap.month
        seen += new.sum()
    assert seen > 0


def test_nom044_raises_the_soot_free_share():
    """With the soot-free standard pushed to 2040, operators may still buy older diesel
    standards new, and 2030's fleet is less soot-free."""
    months = 6 * 12
    on_time = FleetModel("mexico_city", rng=5, sample_fraction=SMALL_FRACTION).run(years=6)
    late = FleetModel("mexico_city", rng=5, sample_fraction=SMALL_FRACTION, overrides={
        "regulation.new_vehicle_standards.0.effective": "2040-01-01"}).run(years=6)
    a, b = on_time.results(), late.results()
    assert len(a) == len(b) == months
    assert share_in(b, "share_soot_free", "2030-12") < share_in(
        a, "share_soot_free", "2030-12") - 0.02
    allowed = set(on_time.spec.regulation.new_vehicle_standards[0].allowed_technologies)
    assert heavy_new_technologies(late.fleet(), late.spec) - allowed, \
        "without the standard some firms buy barred technologies new"
    # the starting fleet is the same; the gap opens with purchases
    assert share_in(b, "share_soot_free", "2025-01") == pytest.approx(
        share_in(a, "share_soot_free", "2025-01"), abs=0.01)


def entry_months(log) -> tuple[np.ndarray, np.ndarray]:
    """(first vehicle id added in each step, that step's month): ids grow with time."""
    first = np.array([log.start.next_vid] + [s.next_vid for s in log.snapshots[:-1]])
    return first, np.array([s.month for s in log.snapshots])


def imports_by_entry(log) -> pd.DataFrame:
    """Every used import that joined a fleet in the run: entry month, age on entry, engine."""
    first, months = entry_months(log)
    frames = []
    for snap in log.snapshots:
        rows = (snap.vid >= log.start.next_vid) & (snap.origin == 2)
        frames.append(pd.DataFrame({"vid": snap.vid[rows], "birth": snap.birth_month[rows],
                                    "tech": snap.tech[rows]}))
    imports = pd.concat(frames).drop_duplicates("vid")
    entry = months[np.searchsorted(first, imports["vid"].to_numpy(), side="right") - 1]
    return imports.assign(entry=entry, age_months=entry - imports["birth"].to_numpy())


def test_import_rule_admits_only_young_clean_imports_from_november_2025(city_log):
    model = city_log.model
    rule = model.spec.regulation.used_import_rules[0]
    assert str(rule.effective) == "2025-11-04"
    imports = imports_by_entry(city_log)
    allowed = [model.tables.tech_code[t] for t in rule.allowed_technologies]
    after = imports[imports["entry"] >= 2025 * 12 + 10]
    before = imports[imports["entry"] < 2025 * 12 + 10]
    assert len(after) > 0 and len(before) > 0
    assert (after["age_months"] < (rule.max_age_years + 1) * 12).all(), "at most 10 years old"
    assert np.isin(after["tech"], allowed).all()
    # before the rule, old and dirty imports came in: the rule is what keeps them out
    assert ((before["age_months"] >= 11 * 12) | ~np.isin(before["tech"], allowed)).any()


def test_without_an_import_rule_old_imports_keep_coming():
    log = recorded_run("mexico_city", months=24, seed=5,
                       overrides={"regulation.used_import_rules": []})
    imports = imports_by_entry(log)
    after = imports[imports["entry"] >= 2025 * 12 + 10]
    assert len(after) > 0
    assert (after["age_months"] >= 11 * 12).any()
    assert log.results()["entered_import"].sum() > 0


# ---- scaling and range --------------------------------------------------------------------------

def test_sample_fraction_scales_results():
    small = FleetModel("mexico_city", rng=1, sample_fraction=0.02)
    large = FleetModel("mexico_city", rng=1, sample_fraction=0.05)
    units = sum(c.initial_stock_units.value for c in small.spec.classes.values())
    assert small.initial_counts.sum() == pytest.approx(units * 0.02, abs=4)
    assert large.initial_counts.sum() == pytest.approx(units * 0.05, abs=4)
    small.step()
    large.step()
    a, b = small.results()["vehicles"].iloc[0], large.results()["vehicles"].iloc[0]
    assert a == pytest.approx(units, rel=0.01)
    assert a == pytest.approx(b, rel=0.02)
    assert small.results()["pm25_t"].iloc[0] == pytest.approx(
        large.results()["pm25_t"].iloc[0], rel=0.15)


def test_bad_sample_fraction():
    with pytest.raises(ValueError, match="sample_fraction"):
        FleetModel("mexico_city", sample_fraction=0)
    with pytest.raises(ValueError, match="sample_fraction"):
        FleetModel("mexico_city", sample_fraction=1.5)


def test_run_past_max_end_year_raises():
    model = FleetModel("mexico_city", rng=1, sample_fraction=0.01)
    assert model.months_left() == 36 * 12
    with pytest.raises(ModelRangeError, match="years: got 37"):
        model.run(years=37)
    with pytest.raises(ModelRangeError):
        model.run(years=0)
    assert model.results().empty, "a refused run does not step"
    model.run(years=36)
    assert model.results()["date"].iloc[-1] == "2060-12"
    assert not model.running
    with pytest.raises(ModelRangeError, match="max_end_year"):
        model.step()


def test_default_run_length():
    model = FleetModel("mexico_city", rng=1, sample_fraction=0.01).run()
    assert len(model.results()) == model.spec.simulation.default_years * 12


def test_progress_callback_counts_months():
    ticks = []
    FleetModel("mexico_city", rng=1, sample_fraction=0.01).run(years=1, progress=ticks.append)
    assert ticks == [1] * 12


@pytest.mark.parametrize("fraction", [0.0005, 0.0002])
def test_tiny_sample_fraction_builds_a_model(fraction):
    model = FleetModel("mexico_city", rng=1, sample_fraction=fraction)
    assert model.initial_counts.sum() > 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_newest_starting_vehicles_do_not_all_retire_at_once():
    model = FleetModel("mexico_city", rng=1, sample_fraction=0.05,
                       overrides={"classes.C2.survival.k": 2.5})
    reg = model.registry
    newest = (reg.birth_month == model.start_month) & (reg.vclass == model.class_names.index("C2"))
    assert newest.sum() > 0
    # a new truck retires within its first month with probability (1/12/33)^2.5, about 3e-7
    assert (reg.death_month[newest] == model.start_month).mean() < 0.5


def test_national_scenario_runs():
    model = FleetModel("mexico_national", rng=1, sample_fraction=0.01).run(years=2)
    res = model.results()
    assert len(res) == 24
    assert res["vehicles"].iloc[0] == pytest.approx(721_622, rel=0.01)
    assert res["vehicles"].iloc[-1] > res["vehicles"].iloc[0], "the national fleet grows"
    assert len(model.operator_arrays.region_names) == 5
    assert model.fleet()["region"].nunique() == 5


# ---- Mesa ---------------------------------------------------------------------------------------

def test_mesa_batch_run():
    rows = mesa.batch_run(FleetModel, parameters={"scenario": ["mexico_city"],
                                                  "sample_fraction": [0.02]},
                          rng=[1, 2], max_steps=24, number_processes=1,
                          data_collection_period=-1, display_progress=False)
    assert len(rows) == 2
    assert {r["rng"] for r in rows} == {1, 2}
    for r in rows:
        assert r["Step"] == 24
        assert r["date"] == "2026-12"
        assert r["vehicles"] > 100_000
    assert rows[0]["vehicles"] != rows[1]["vehicles"] or rows[0]["pm25_t"] != rows[1]["pm25_t"]
    direct = run_months(1, 24, 0.02)
    assert rows[[r["rng"] for r in rows].index(1)]["vehicles"] == direct["vehicles"].iloc[-1]


def test_scenario_object_and_path_are_accepted(city_spec, tmp_path):
    from fleetsim.scenarios.loader import builtin_dir

    a = FleetModel(city_spec, rng=4, sample_fraction=0.01)
    b = FleetModel(builtin_dir() / "mexico_city.yaml", rng=4, sample_fraction=0.01)
    assert a.spec == b.spec
    np.testing.assert_array_equal(a.initial_counts, b.initial_counts)
    assert a.seed == 4


def fleet_totals(model) -> dict[str, float]:
    fleet = model.fleet()
    f = model.sample_fraction
    t = model.tables
    soot_free = [n for n, sf in zip(t.reported_names, t.soot_free_reported, strict=True) if sf]
    out = {"vehicles": len(fleet) / f,
           "mean_age_years": fleet["age_years"].mean(),
           "pm25_t": fleet["pm25_g_per_year"].sum() / f / 12 / 1e6,
           "co2_ttw_t": fleet["co2_ttw_kg_per_year"].sum() / f / 12 / 1e3}
    for band in SIZE_BANDS:
        mine = fleet[fleet["size_band"] == band]
        out[f"vehicles_{band}"] = len(mine) / f
        out[f"share_soot_free_{band}"] = (mine["reported_technology"].isin(soot_free).mean()
                                          if len(mine) else 0.0)
        for tech in t.reported_names:
            out[f"vehicles_{band}_{tech}"] = (mine["reported_technology"] == tech).sum() / f
    return out


def test_results_match_the_fleet_every_month():
    """The running totals behind the results (counts by class, band and technology, the
    emitting fleet's rates, the sum of birth months) stay equal to a recount of the fleet
    through sales, purchases, retrofits, deals, demonstrations and January recomputations."""
    model = FleetModel("mexico_city_partnership", rng=6, sample_fraction=0.05,
                       overrides={"partnerships.0.large_fleet_share": 1.0})
    for _ in range(15):
        model.step()
        row = model.results().iloc[-1]
        for name, value in fleet_totals(model).items():
            assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-9), (row["date"], name)
    res = model.results()
    assert res["retrofits"].sum() + res["entered_used"].sum() + res["entered_demo"].sum() > 0
