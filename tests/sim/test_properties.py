"""Properties that hold for any seed and sample fraction (hypothesis, derandomized so CI is
stable): stock conservation, consistent totals, non-negative emissions, and survival of the
starting cohort along its Weibull curve."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel
from fleetsim.sim.registry import ACTIVE, GONE
from fleetsim.sim.turnover import survival

FAST = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(min_value=0, max_value=2**32 - 1)
fractions = st.sampled_from([0.01, 0.015, 0.02, 0.03])

EMISSIONS = ["pm25_t", "bc_t", "nox_t", "co2_ttw_t", "co2_wtw_t", "vehicle_km",
             "energy_cost_mxn", "maintenance_mxn", "purchase_new_mxn", "purchase_import_mxn"]


def unscaled(series, fraction) -> np.ndarray:
    """Scaled counts back to simulated vehicles, checked to be whole numbers."""
    x = np.asarray(series, float) * fraction
    whole = np.round(x)
    np.testing.assert_allclose(x, whole, atol=1e-6)
    return whole.astype(np.int64)


@FAST
@given(seed=seeds, fraction=fractions)
def test_stock_is_conserved_every_month_and_class(seed, fraction):
    """stock[t] - stock[t-1] == entered[t] - retired[t] for every class and month, with the
    starting stock as stock[-1]; compared in simulated vehicles, exactly."""
    model = FleetModel("mexico_city", rng=seed, sample_fraction=fraction).run(years=3)
    res = model.results()
    assert len(res) == 36
    for c, name in enumerate(model.class_names):
        stock = unscaled(res[f"vehicles_{name}"], fraction)
        before = np.concatenate([[model.initial_counts[c].sum()], stock[:-1]])
        entered = unscaled(res[f"entered_{name}"], fraction)
        retired = unscaled(res[f"retired_{name}"], fraction)
        np.testing.assert_array_equal(stock - before, entered - retired, err_msg=name)
        assert np.all(entered >= 0) and np.all(retired >= 0)
    # the fleet's alive rows agree with the last month's counts
    assert len(model.fleet()) == unscaled(res["vehicles"], fraction)[-1]


@FAST
@given(seed=seeds, fraction=fractions)
def test_totals_add_up_and_emissions_are_never_negative(seed, fraction):
    model = FleetModel("mexico_city", rng=seed, sample_fraction=fraction).run(years=3)
    res = model.results()
    tech_cols = [f"vehicles_{t}" for t in model.tables.reported_names]
    class_cols = [f"vehicles_{c}" for c in model.class_names]
    band_cols = [f"vehicles_{b}" for b in SIZE_BANDS]
    for cols in (tech_cols, class_cols, band_cols):
        np.testing.assert_allclose(res[cols].sum(axis=1), res["vehicles"], rtol=1e-9)
    # every vehicle joining is new, imported, bought used at home or a demonstration; every
    # vehicle leaving is scrapped, put up for sale by its owner, or repossessed (and listed)
    entered = res[[f"entered_{c}" for c in model.class_names]].sum(axis=1)
    np.testing.assert_allclose(entered, res["entered"], rtol=1e-9)
    np.testing.assert_allclose(
        entered, res["entered_new"] + res["entered_import"] + res["entered_used"]
        + res["entered_demo"], rtol=1e-9)
    retired = res[[f"retired_{c}" for c in model.class_names]].sum(axis=1)
    np.testing.assert_allclose(retired, res["retired"], rtol=1e-9)
    np.testing.assert_allclose(retired, res["scrapped"] + res["listed"] + res["repossessed"],
                               rtol=1e-9)
    fuels = [c for c in res.columns if c.endswith(("_l", "_kg", "_kwh"))]
    assert len(fuels) == 3
    counts = [c for c in res.columns if c.startswith(("vehicles", "entered", "retired"))]
    flows = ["scrapped", "listed", "used_pool", "used_expired", "retrofits", "exits",
             "early_replacements", "growth_unmet", "loans_approved", "loans_repaid",
             "loans_defaulted", "loans_active", "loan_balance_mxn", "loans_principal_mxn"]
    for col in [*EMISSIONS, *fuels, *counts, *flows]:
        assert (res[col] >= 0).all(), col
    assert (res["pm25_t"] > 0).all() and (res["co2_wtw_t"] >= res["co2_ttw_t"]).all()
    assert (res["bc_t"] <= res["pm25_t"]).all()
    shares = [c for c in res.columns if c.startswith("share_")]
    assert len(shares) == 2 + 2 * len(SIZE_BANDS)
    for col in shares:
        assert res[col].between(0, 1).all(), col
    assert (res["share_zev"] <= res["share_soot_free"]).all()


@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(seed=seeds)
def test_starting_cohort_follows_its_survival_curve(seed):
    """The starting vehicles (origin "initial") reach their end of life along their class's
    survival curve, whatever operators decide; none outlives its drawn end of life.

    Why this is the right expectation: each vehicle draws its end of life once, when it enters,
    from S conditional on its age then; the starting stock draws at "now" = the month before the
    start, age a0 = (start - 1 - birth) / 12. A starting vehicle's end of life is after N years
    (model month M = start - 1 + 12 N) iff its lifetime L exceeds (M - birth) / 12 = a0 + N,
    which has probability S(a0 + N) / S(a0). Given the drawn births, these survivors are a sum of
    independent Bernoulli variables with these probabilities: their mean is sum p and variance
    sum p (1 - p). We compare the count per class and in total with a 4.5-sigma band.

    Operators now also sell, scrap and replace vehicles before their end of life: whether a
    vehicle is still in a fleet is a choice, its lifetime is not. So the vehicles still in the
    registry after N years (in a fleet or for sale; ids last through a sale) must be among those
    survivors, with the end of life they drew at the start.
    """
    years = 10
    model = FleetModel("mexico_city", rng=seed, sample_fraction=0.05)
    reg = model.registry
    n0 = reg.n
    np.testing.assert_array_equal(reg.vid, np.arange(n0))
    birth = reg.birth_month.astype(float).copy()
    vclass = reg.vclass.copy()
    death = reg.death_month.copy()
    now = model.start_month - 1
    model.run(years=years)
    end = model.month
    survivors = death > end
    total_mean = total_var = 0.0
    for c, (name, cls) in enumerate(model.spec.classes.items()):
        a0 = (now - birth[vclass == c]) / 12.0
        lam, k = cls.survival.lambda_years, cls.survival.k
        p = survival(a0 + years, lam, k) / survival(a0, lam, k)
        mean, var = p.sum(), (p * (1 - p)).sum()
        observed = int(survivors[vclass == c].sum())
        assert abs(observed - mean) <= 4.5 * np.sqrt(var) + 1, (name, observed, mean)
        total_mean += mean
        total_var += var
    assert abs(survivors.sum() - total_mean) <= 4.5 * np.sqrt(total_var) + 1
    # the expectation is far from "no retirements" and from "everyone retired"
    assert 0.3 * n0 < total_mean < 0.9 * n0

    present = (reg.vid < n0) & (reg.state != GONE)
    vids = reg.vid[present]
    np.testing.assert_array_equal(reg.death_month[present], death[vids])
    assert survivors[vids].all(), "no starting vehicle outlives its end of life"
    np.testing.assert_array_equal(reg.origin[present], 0)
    fleet = model.fleet()
    assert (fleet["origin"] == "initial").sum() == (present & (reg.state == ACTIVE)).sum()
    # most survivors are still running somewhere: early scrapping is the exception
    assert len(vids) > 0.5 * survivors.sum()
