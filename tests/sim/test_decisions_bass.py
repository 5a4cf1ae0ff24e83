"""The full model reduces to Bass diffusion when costs are neutral: a firm adopts an unfamiliar
technology with probability h = 1 - exp(-(p + qF) x its exposure), each of its n rows that can buy
it with 1 - (1 - h)^(1/n) (agents.choice). The diffusion itself over 20 years is checked against
Bass's closed form in tests/sim/test_bass_diffusion.py."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.choice import bass_probability, choice_probabilities
from fleetsim.agents.options import IMPORT, KEEP, LEAVE, NEW, RETROFIT, USED, OptionLayout
from fleetsim.scenarios import SIZE_BANDS
from tests.helpers import no_quotas, recorded_run


def new_column(ctx, tech: str) -> int:
    layout = OptionLayout(ctx.tables)
    code = ctx.tables.tech_code[tech]
    return int(np.flatnonzero((layout.kind == NEW) & (layout.item == code))[0])


# ---- Bass diffusion in the full model -----------------------------------------------------------

def neutral_costs() -> dict:
    """Costs irrelevant (no cost sensitivity, no keep constant, no technology constants), a
    complete peer graph, and battery-electric the only family an operator can find new: natural
    gas counted as diesel, filter retrofits closed (no ultra-low-sulphur diesel until 2100).
    Bass's p is raised to 1 a year so that eight months of a 2% sample see a few dozen adoptions."""
    out = {f"decisions.bands.{b}.cost_sensitivity_per_million_mxn": 0 for b in SIZE_BANDS}
    out |= {f"decisions.bands.{b}.keep_constant": 0 for b in SIZE_BANDS}
    out |= {"decisions.technology_constants": {}, "network.generator": "complete",
            "decisions.outside_p": 1.0,
            "technologies.natural_gas.family": "diesel",
            "regions.zmvm.ulsd_available_from": "2100-01-01", **no_quotas()}
    return out


@pytest.fixture(scope="module")
def bass_log():
    log = recorded_run("mexico_city", months=8, seed=11, overrides=neutral_costs())
    assert len(log.model.operators) <= 5000
    return log


def bass_rows(rec):
    """Rows where a new battery-electric vehicle is open, its family unknown to the owner, and
    it is the only such option; with pi = 1 - exp(-(p + q F) e / n), F the owner's share of
    other firms (all are peers) that have adopted it, e the years since the owner last decided
    and n its rows this month that could buy battery-electric."""
    ctx, rv, d = rec.context, rec.reviews, rec.decision
    t = ctx.tables
    layout = OptionLayout(t)
    electric = t.family_reported[t.tech_code["battery_electric"]]
    j = new_column(ctx, "battery_electric")
    uses = ctx.uses
    n_ops = len(uses)
    share = np.minimum((uses[:, electric].sum() - uses[:, electric]) / (n_ops - 1), 1.0)
    feasible = d.extra["feasible"]
    # family of each column for each row (keep: the vehicle's own; leave: none)
    fam = np.full(feasible.shape, -1)
    c = rv.vclass.astype(np.intp)
    for col, (kind, item) in enumerate(zip(layout.kind, layout.item, strict=True)):
        if kind == KEEP:
            fam[:, col] = t.family_reported[t.reported(rv.tech, rv.retrofit)]
        elif kind == RETROFIT:
            fam[:, col] = t.family_reported[len(t.tech_names) + item - 1]
        elif kind == NEW:
            fam[:, col] = t.family_reported[item]
        elif kind == USED:
            fam[:, col] = t.family_reported[ctx.market.used_tech[c]]
        elif kind == IMPORT and ctx.market.import_offer is not None:
            fam[:, col] = t.family_reported[ctx.market.import_offer[1]]
    known = np.where(fam >= 0, uses[rv.owner[:, None], np.maximum(fam, 0)] > 0, True)
    strange = feasible & ~known
    rows = feasible[:, j] & strange[:, j] & (strange.sum(axis=1) == 1)
    electric_rows = (strange & (fam == electric)).any(axis=1)
    n_rows = np.bincount(rv.owner[electric_rows], minlength=n_ops)[rv.owner]
    dec = ctx.spec.decisions
    exposure = d.extra["exposure_years"]
    hazard = 1 - np.exp(-(dec.outside_p + dec.peer_q * share[rv.owner]) * exposure)
    pi = 1 - (1 - hazard) ** (1 / np.maximum(n_rows, 1))
    np.testing.assert_allclose(pi, bass_probability(dec.outside_p, dec.peer_q, share[rv.owner],
                                                    exposure, n_rows), rtol=1e-9)
    return rows, np.clip(pi, 1e-6, 1 - 1e-6), j


def test_neutral_costs_make_every_familiar_option_equal(bass_log):
    for rec in bass_log.decisions:
        rows, _, j = bass_rows(rec)
        u, feasible = rec.decision.extra["utility"], rec.decision.extra["feasible"]
        others = feasible.copy()
        others[:, j] = False
        np.testing.assert_allclose(u[rows][others[rows]], 0.0, atol=1e-12)


def test_unfamiliar_electric_is_chosen_with_the_firms_bass_probability(bass_log):
    """Exact: among the options that keep or bring a vehicle (leaving is not an adoption
    option), the model's logit probability of the new battery-electric option is pi."""
    checked = 0
    layout = OptionLayout(bass_log.decisions[0].context.tables)
    leave = np.flatnonzero(layout.kind == LEAVE)[0]
    for rec in bass_log.decisions:
        rows, pi, j = bass_rows(rec)
        prob = choice_probabilities(rec.decision.extra["utility"], rec.decision.extra["feasible"])
        np.testing.assert_allclose(prob[rows, j] / (1 - prob[rows, leave]), pi[rows], rtol=1e-9)
        checked += rows.sum()
    assert checked > 100


def test_electric_adoption_matches_the_bass_hazard(bass_log):
    """Statistical: over eight months the number of these rows that buy battery-electric is a
    sum of independent Bernoulli(pi (1 - P(leave))): within 4.5 standard deviations of its
    mean."""
    chosen = mean = var = 0.0
    layout = OptionLayout(bass_log.decisions[0].context.tables)
    leave = np.flatnonzero(layout.kind == LEAVE)[0]
    for rec in bass_log.decisions:
        rows, pi_firm, j = bass_rows(rec)
        prob = choice_probabilities(rec.decision.extra["utility"], rec.decision.extra["feasible"])
        pi = pi_firm * (1 - prob[:, leave])
        chosen += (rec.decision.option[rows] == j).sum()
        mean += pi[rows].sum()
        var += (pi[rows] * (1 - pi[rows])).sum()
    assert var > 20
    assert abs(chosen - mean) <= 4.5 * np.sqrt(var), (chosen, mean, var)
    # firms that adopted stay adopters (familiar), so the peers' pull only rises
    t = bass_log.decisions[0].context.tables
    electric = t.family_reported[t.tech_code["battery_electric"]]
    adopted = np.array([rec.context.uses[:, electric] > 0 for rec in bass_log.decisions])
    assert not (adopted[:-1] & ~adopted[1:]).any(), "an adopter forgot"
    assert adopted[-1].sum() > adopted[0].sum()
