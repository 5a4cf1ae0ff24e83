"""Operators' choices (sim.decisions.decide) respond the right way to each cost term and to
policy, never buy what cannot be paid for, and reduce to Bass diffusion when costs are neutral.

Most tests take one month's real review set from a small Mexico City run and call `decide`
again on it with one thing changed (a price, a subsidy...), comparing the logit probabilities
`choice_probabilities(extra["utility"], extra["feasible"])` row by row. Lenders' yearly quotas are
lifted in that run: a quota makes a few rows choose again at random, which would blur the
comparison.
"""

from __future__ import annotations

import copy
import dataclasses

import mesa
import numpy as np
import pytest

from fleetsim.agents import Lender
from fleetsim.agents.choice import choice_probabilities
from fleetsim.agents.decisions import Reviews, decide
from fleetsim.agents.instruments import Offer
from fleetsim.agents.options import IMPORT, KEEP, LEAVE, NEW, RETROFIT, USED, OptionLayout
from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim.draws import Draws, RowDraws
from tests.helpers import no_quotas, recorded_run

BUY = [RETROFIT, NEW, USED, IMPORT]


@pytest.fixture(scope="module")
def month():
    """The third month's review set (March 2025) and its context."""
    log = recorded_run("mexico_city", months=3, overrides=no_quotas())
    rec = log.decisions[-1]
    assert len(rec.reviews) > 100
    return rec.reviews, rec.context


def row_draws(rv: Reviews, seed: int) -> RowDraws:
    """The rows' keyed draws (a growth row built here has no key: its place)."""
    keys = rv.key if rv.key is not None else np.arange(len(rv))
    return Draws(seed).rows(keys, 0)


def probabilities(rv, ctx, seed: int = 0):
    d = decide(rv, ctx, row_draws(rv, seed))
    u, feasible = d.extra["utility"], d.extra["feasible"]
    assert u.shape == feasible.shape == (len(rv), len(OptionLayout(ctx.tables)))
    return d, choice_probabilities(u, feasible)


def new_column(ctx, tech: str) -> int:
    layout = OptionLayout(ctx.tables)
    code = ctx.tables.tech_code[tech]
    return int(np.flatnonzero((layout.kind == NEW) & (layout.item == code))[0])


def with_year(ctx, field: str, tech: str, factor: float):
    """The context with one technology's yearly number (price, energy...) scaled."""
    table = getattr(ctx.year, field).copy()
    table[ctx.tables.tech_code[tech]] *= factor
    return dataclasses.replace(ctx, year=dataclasses.replace(ctx.year, **{field: table}))


def with_effect(ctx, field: str, change):
    """The context with a policy effect set through a table: `purchase_subsidy_mxn`
    [tech, class], `scrap_bonus_mxn` [class] (for scrapping on any replacement, or none) or
    `lost_revenue_share` [reported technology], turned into the regulator's offers and access
    table. Budgets are unlimited."""
    eff, t = ctx.effects, ctx.tables
    n_c, n_b, n_r = len(t.class_names), len(SIZE_BANDS), eff.access.lost.shape[3]
    every = (np.ones(n_c, bool), np.ones(n_b, bool), np.ones(n_r, bool))
    if field == "lost_revenue_share":
        table = np.zeros(len(t.reported_names))
        change(table)
        lost = np.broadcast_to(table[None, :, None, None], eff.access.lost.shape).copy()
        eff = dataclasses.replace(eff, access=dataclasses.replace(eff.access, lost=lost))
    elif field == "purchase_subsidy_mxn":
        table = np.zeros((len(t.tech_names), n_c))
        change(table)
        offers = []
        for code in np.flatnonzero(table.any(axis=1)):
            for c in np.flatnonzero(table[code] > 0):
                classes = np.arange(n_c) == c
                offers.append(Offer(len(offers), np.arange(len(t.tech_names)) == code,
                                    classes, every[1], every[2], float(table[code, c])))
        eff = dataclasses.replace(eff, purchase=offers)
    elif field == "scrap_bonus_mxn":
        table = np.zeros(n_c)
        change(table)
        offers = [Offer(c, np.ones(len(t.tech_names), bool), np.arange(n_c) == c, every[1],
                        every[2], float(table[c]), kinds=("new", "used", "import", "none"))
                  for c in np.flatnonzero(table > 0)]
        eff = dataclasses.replace(eff, scrappage=offers)
    else:
        raise ValueError(field)
    return dataclasses.replace(ctx, effects=eff,
                               budget_fits=lambda idx, mxn, band: np.ones(len(mxn), bool))


# ---- the decision set ---------------------------------------------------------------------------

def test_every_row_has_a_choice_among_its_feasible_options(month):
    rv, ctx = month
    d, prob = probabilities(rv, ctx)
    feasible = d.extra["feasible"]
    layout = OptionLayout(ctx.tables)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0)
    assert (d.option >= 0).all(), "leaving (or buying nothing) is always open"
    assert feasible[np.arange(len(rv)), d.option].all()
    np.testing.assert_array_equal(d.kind, layout.kind[d.option])
    # a vehicle at the end of its life cannot be kept or retrofitted; a growth purchase has
    # nothing to keep
    blocked = rv.eol | rv.growth
    assert not feasible[blocked][:, layout.kind == KEEP].any()
    assert not feasible[blocked][:, layout.kind == RETROFIT].any()
    assert feasible[:, layout.kind == LEAVE].all()
    assert feasible[~blocked][:, layout.kind == KEEP].all()


def test_same_inputs_same_decision(month):
    rv, ctx = month
    a = decide(rv, ctx, row_draws(rv, 5))
    b = decide(rv, ctx, row_draws(rv, 5))
    for f in dataclasses.fields(a):
        if f.name != "extra":
            np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), f.name)


# ---- each cost term -----------------------------------------------------------------------------

MOVES = [("price_mxn", 1.5), ("energy_per_km", 2.0), ("maintenance_mxn_per_km", 3.0)]


@pytest.mark.parametrize("tech", ["battery_electric", "natural_gas"])
@pytest.mark.parametrize(("field", "factor"), MOVES, ids=[m[0] for m in MOVES])
def test_a_dearer_technology_is_chosen_less(month, tech, field, factor):
    """Raising a technology's price, energy use or maintenance lowers the probability that it
    is bought new, on every row where it was open. (Rows already running that technology are
    left out: their own vehicle's value and running costs change too.)"""
    rv, ctx = month
    code = ctx.tables.tech_code[tech]
    mk = ctx.market
    assert mk.import_offer is None or mk.import_offer[1] != code
    j = new_column(ctx, tech)
    d1, p1 = probabilities(rv, ctx)
    d2, p2 = probabilities(rv, with_year(ctx, field, tech, factor))
    # (and rows whose used option is that technology too: it gets dearer as well)
    rows = (d1.extra["feasible"][:, j] & ~(~rv.growth & (rv.tech == code))
            & (mk.used_tech[rv.vclass] != code))
    assert rows.sum() > 50
    assert np.all(p2[rows, j] <= p1[rows, j] * (1 + 1e-9))
    clear = rows & (p1[:, j] > 1e-12)
    assert clear.sum() > 50
    assert np.all(p2[clear, j] < p1[clear, j])
    # the other options share what it loses
    others = np.ones(p1.shape[1], bool)
    others[j] = False
    assert np.all(p2[clear][:, others].sum(axis=1) > p1[clear][:, others].sum(axis=1))


def test_a_purchase_subsidy_raises_the_choice(month):
    rv, ctx = month
    tech = "battery_electric"
    code = ctx.tables.tech_code[tech]
    j = new_column(ctx, tech)
    subsidy = 600_000.0

    def grant(table):
        table[code, :] = subsidy

    d1, p1 = probabilities(rv, ctx)
    d2, p2 = probabilities(rv, with_effect(ctx, "purchase_subsidy_mxn", grant))
    open1, open2 = d1.extra["feasible"][:, j], d2.extra["feasible"][:, j]
    assert not (open1 & ~open2).any(), "cheaper never closes an option"
    rows = open1 & ~(~rv.growth & (rv.tech == code))
    assert rows.sum() > 50
    assert np.all(p2[rows, j] > p1[rows, j])
    assert np.all(p2[open2 & ~open1, j] > 0)
    # the subsidy is recorded on the rows that take it, the price is net of it
    took = d2.option == j
    if took.any():
        np.testing.assert_allclose(d2.subsidy[took], subsidy)


def test_a_scrap_bonus_makes_keeping_old_vehicles_less_likely(month):
    """A bonus for scrapping is money an operator gets only if its truck goes: for vehicles
    worth less on the used market than scrap plus bonus, every way of letting it go gains
    and keeping loses."""
    rv, ctx = month
    bonus = 400_000.0
    valuer = ctx.valuer
    c = rv.vclass.astype(np.intp)
    market = valuer.value(ctx.year, rv.tech.astype(np.intp), c, rv.age_years) * \
        ctx.market.used_multiplier[c]
    scrap = np.array([x.economics.scrap_value_mxn for x in ctx.spec.classes.values()])[c]

    def pay(table):
        table[:] = bonus

    d1, p1 = probabilities(rv, ctx)
    d2, p2 = probabilities(rv, with_effect(ctx, "scrap_bonus_mxn", pay))
    rows = ~rv.growth & ~rv.eol & (market < scrap + bonus)
    assert rows.sum() > 50
    keep = np.flatnonzero(OptionLayout(ctx.tables).kind == KEEP)[0]
    assert np.all(p2[rows, keep] < p1[rows, keep])
    leave = np.flatnonzero(OptionLayout(ctx.tables).kind == LEAVE)[0]
    assert np.all(p2[rows, leave] > p1[rows, leave])
    # a young vehicle worth more than scrap and bonus: the bonus does not concern it
    young = ~rv.growth & ~rv.eol & (market > 2 * (scrap + bonus))
    if young.any():
        np.testing.assert_allclose(p2[young], p1[young], rtol=1e-9, atol=1e-12)


def test_lost_revenue_moves_choices_to_soot_free_options(month):
    """An access limit (a low-emission zone) that takes half the margin of vehicles that are
    not soot-free: operators keep them less and move to soot-free options or out."""
    rv, ctx = month
    t = ctx.tables
    layout = OptionLayout(t)
    dirty = ~t.soot_free_reported

    def limit(table):
        table[dirty] = 0.5

    d1, p1 = probabilities(rv, ctx)
    d2, p2 = probabilities(rv, with_effect(ctx, "lost_revenue_share", limit))
    # reported technology of each option column for each row
    c = rv.vclass.astype(np.intp)
    rep = np.zeros(p1.shape, np.intp)
    for j, (kind, item) in enumerate(zip(layout.kind, layout.item, strict=True)):
        if kind == KEEP:
            rep[:, j] = t.reported(rv.tech, rv.retrofit)
        elif kind == RETROFIT:
            rep[:, j] = len(t.tech_names) + item - 1
        elif kind == NEW:
            rep[:, j] = item
        elif kind == USED:
            rep[:, j] = ctx.market.used_tech[c]
        elif kind == IMPORT and ctx.market.import_offer is not None:
            rep[:, j] = ctx.market.import_offer[1]
    # options whose utility the limit leaves alone: soot-free ones, and leaving
    clean = t.soot_free_reported[rep] | (layout.kind == LEAVE)[None, :]
    share1, share2 = (p1 * clean).sum(axis=1), (p2 * clean).sum(axis=1)
    assert np.all(share2 >= share1 - 1e-12)
    old = ~rv.growth & ~rv.eol & dirty[t.reported(rv.tech, rv.retrofit)]
    assert old.sum() > 50
    assert np.all(share2[old] > share1[old])
    keep = int(np.flatnonzero(layout.kind == KEEP)[0])
    assert (p2[old, keep] < p1[old, keep]).mean() > 0.9, "mostly, keeping a dirty truck loses"


# ---- money --------------------------------------------------------------------------------------

def growth_rows(ctx, owner: int, per_class: int = 3) -> Reviews:
    """Purchases a growing market asks of one firm: per_class of each class, nothing to sell."""
    n_c = len(ctx.tables.class_names)
    n = n_c * per_class
    return Reviews(row=np.full(n, -1), owner=np.full(n, owner, np.int64),
                   vclass=np.repeat(np.arange(n_c), per_class).astype(np.intp),
                   tech=np.zeros(n, np.int8), retrofit=np.zeros(n, np.int8),
                   age_years=np.zeros(n), km_new=np.full(n, 60_000.0),
                   eol=np.zeros(n, bool), growth=np.ones(n, bool))


def broke(ctx, owner: int, defaulted: int = 1):
    """The context with one firm's cash at 0 and its credit history as given."""
    ops = copy.copy(ctx.ops)
    ops.cash = ctx.ops.cash.copy()
    ops.loans_defaulted = ctx.ops.loans_defaulted.copy()
    ops.loans_repaid = ctx.ops.loans_repaid.copy()
    ops.cash[owner] = 0.0
    ops.loans_defaulted[owner] = defaulted
    ops.loans_repaid[owner] = 0
    return dataclasses.replace(ctx, ops=ops)


def easy_lender(ctx, min_score: float):
    """The first lender replaced by one asking no down payment, serving everyone and
    everything, with the given bar."""
    first = ctx.lenders[0]
    spec = first.spec.model_copy(update={
        "down_payment_share": 0.0, "used_down_payment_share": 0.0, "min_score": min_score,
        "bands_served": list(SIZE_BANDS), "technologies_served": None, "serves_used": True,
        "yearly_loan_quota": None, "max_principal_mxn": None})
    easy = Lender(mesa.Model(rng=0), first.name, spec, first.index, 1.0)
    return dataclasses.replace(ctx, lenders=[easy, *ctx.lenders[1:]])


def micro_firm(ctx) -> int:
    ops = ctx.ops
    return int(np.flatnonzero(ops.band == SIZE_BANDS.index("micro"))[0])


@pytest.mark.parametrize("defaulted", [1, 0])
def test_a_firm_without_cash_buys_nothing_no_lender_finances(month, defaulted):
    """With no cash and nothing to sell, a firm cannot pay a down payment: whatever its
    history, no purchase is open to it with the scenario's lenders."""
    _, ctx = month
    owner = micro_firm(ctx)
    ctx0 = broke(ctx, owner, defaulted)
    rv = growth_rows(ctx0, owner)
    d, _ = probabilities(rv, ctx0)
    layout = OptionLayout(ctx.tables)
    buy = np.isin(layout.kind, BUY)
    assert not d.extra["feasible"][:, buy].any()
    np.testing.assert_array_equal(d.kind, LEAVE)  # for a growth purchase: buy nothing


def test_a_firm_without_cash_buys_when_a_lender_approves(month):
    _, ctx = month
    owner = micro_firm(ctx)
    ctx0 = broke(ctx, owner)
    rv = growth_rows(ctx0, owner)
    layout = OptionLayout(ctx.tables)
    new = layout.kind == NEW
    # a lender asking no down payment, with a bar every firm clears: new vehicles open up
    d, _ = probabilities(rv, easy_lender(ctx0, min_score=-100.0))
    assert d.extra["feasible"][:, new].any(axis=1).all()
    bought = np.isin(d.kind, BUY)
    assert bought.any()
    assert (d.lender[bought] == ctx.lenders[0].index).all(), "only the loan pays"
    np.testing.assert_allclose(d.principal[bought], d.price[bought])
    # the same lender with a bar this firm's score cannot clear: nothing again
    d, _ = probabilities(rv, easy_lender(ctx0, min_score=100.0))
    assert not d.extra["feasible"][:, np.isin(layout.kind, BUY)].any()


def test_cash_pays_when_there_is_enough(month):
    _, ctx = month
    owner = micro_firm(ctx)
    rich = broke(ctx, owner)
    rich.ops.cash[owner] = 1e9
    rv = growth_rows(rich, owner)
    d, _ = probabilities(rv, rich)
    layout = OptionLayout(ctx.tables)
    assert d.extra["feasible"][:, layout.kind == NEW].any(axis=1).all()
    bought = np.isin(d.kind, BUY)
    # no lender serves this firm (a default on record): it pays cash
    assert bought.any() and (d.lender[bought] == -1).all()
    np.testing.assert_array_equal(d.principal[bought], 0.0)


# ---- the utility is the TCO -------------------------------------------------------------------

def test_utility_of_a_new_vehicle_is_its_tco_less_the_risk_premium(month):
    """For a firm paying cash, a new vehicle's utility is - beta x TCO (million MXN) + the
    technology's constant, with agents.tco.tco over the band's horizon at the band's discount
    rate, km and maintenance taken at the horizon's middle age; unfamiliar families also carry
    the premium ln((1 - pi) / (K pi)), K the familiar options open to the row."""
    from fleetsim.agents.choice import bass_probability, risk_premium
    from fleetsim.agents.options import band_tastes
    from fleetsim.agents.tco import tco
    from fleetsim.sim.emissions import km_factor

    _, ctx = month
    owner = micro_firm(ctx)
    rich = broke(ctx, owner)
    rich.ops.cash[owner] = 1e10
    rv = growth_rows(rich, owner, per_class=1)
    d = decide(rv, rich, row_draws(rv, 0))
    u, feasible = d.extra["utility"], d.extra["feasible"]
    spec, t, year = rich.spec, rich.tables, rich.year
    taste = band_tastes(spec)
    b = rich.ops.band[owner]
    h, r, beta = taste["h"][b], taste["r"][b], taste["beta"][b]
    layout = OptionLayout(t)
    g = spec.usage.maintenance_growth_per_year_of_age
    dec = spec.decisions
    checked = {True: 0, False: 0}
    # family of each (row, option) of these growth rows: new, used and imported vehicles
    mk = rich.market
    fam = np.full(feasible.shape, -1)
    for j, (kind, item) in enumerate(zip(layout.kind, layout.item, strict=True)):
        if kind == NEW:
            fam[:, j] = t.family_reported[item]
        elif kind == USED:
            fam[:, j] = t.family_reported[mk.used_tech[rv.vclass]]
        elif kind == IMPORT and mk.import_offer is not None:
            fam[:, j] = t.family_reported[mk.import_offer[1]]
    adopted = np.where(fam >= 0, rich.uses[owner, np.maximum(fam, 0)] > 0, True)
    for row in range(len(rv)):
        c = int(rv.vclass[row])
        econ = spec.classes[t.class_names[c]].economics
        # K: open options of adopted families that bring a vehicle (leave excluded)
        familiar_open = feasible[row] & adopted[row] & (layout.kind != LEAVE)
        for j in np.flatnonzero((layout.kind == NEW) & feasible[row]):
            tech = int(layout.item[j])
            lines = tco(
                price=year.price_mxn[tech, c], discount_rate=r, horizon_years=h,
                km_per_year=rv.km_new[row] * km_factor(h / 2, spec),
                energy_mxn_per_km=year.energy_per_km[tech, c] * year.fuel_price_mxn[tech],
                maintenance_mxn_per_km=year.maintenance_mxn_per_km[tech, c] * (1 + g * h / 2),
                resale_end=rich.valuer.value(year, np.array([tech]), np.array([c]),
                                             np.array([h]))[0],
                margin_mxn_per_km=econ.contribution_mxn_per_km,
                charger_mxn=econ.charger_mxn_per_vehicle if t.needs_charger[tech] else 0.0)
            expected = -beta * lines["total"] / 1e6 + dec.technology_constants.get(
                t.tech_names[tech], 0.0)
            family = t.family_reported[tech]
            known = rich.uses[owner, family] > 0
            if not known:
                # the firm's rows that can take the family share its one adoption
                n_rows = (feasible & (fam == family)).any(axis=1).sum()
                m = (feasible[row] & (fam[row] == family)).sum()
                pi = bass_probability(dec.outside_p, dec.peer_q,
                                      rich.neighbour_share[owner, family],
                                      d.extra["exposure_years"][row], n_rows)
                expected -= risk_premium(pi, familiar_open.sum(), m)
            assert u[row, j] == pytest.approx(expected, rel=1e-9, abs=1e-9), (
                t.class_names[c], t.tech_names[tech])
            checked[bool(known)] += 1
    assert checked[True] > 3 and checked[False] > 3


# ---- access limits on partnership contracts ---------------------------------------------------

@pytest.fixture(scope="module")
def deal_month():
    """March 2026 in the partnership scenario (5%, every large fleet in): its deals are on."""
    overrides = {"partnerships.0.large_fleet_share": 1.0,
                 **no_quotas("mexico_city_partnership")}
    log = recorded_run("mexico_city_partnership", months=15, fraction=0.05, overrides=overrides)
    rec = log.decisions[-1]
    assert rec.context.partnership_running.all()
    return rec.reviews, rec.context


def lost_margin_change(rv, ctx, tech: str, share: float):
    """Utility change of buying `tech` new when access limits take `share` of its margin, and
    the change expected from the margin lost: beta x km x margin x share x annuity / 1e6."""
    from fleetsim.agents.options import band_tastes
    from fleetsim.agents.tco import annuity_factor
    from fleetsim.sim.emissions import km_factor

    code = ctx.tables.tech_code[tech]

    def limit(table):
        table[code] = share

    d1, _ = probabilities(rv, ctx)
    d2, _ = probabilities(rv, with_effect(ctx, "lost_revenue_share", limit))
    j = new_column(ctx, tech)
    open_ = d1.extra["feasible"][:, j] & d2.extra["feasible"][:, j]
    change = d1.extra["utility"][:, j] - d2.extra["utility"][:, j]
    spec = ctx.spec
    taste = band_tastes(spec)
    b = ctx.ops.band[rv.owner]
    h = taste["h"][b]
    margin = np.array([x.economics.contribution_mxn_per_km
                       for x in spec.classes.values()])[rv.vclass.astype(np.intp)]
    lost = (taste["beta"][b] * rv.km_new * km_factor(h / 2, spec) * margin * share
            * annuity_factor(taste["r"][b], h) / 1e6)
    p = spec.partnerships[0]
    in_deal = ((ctx.ops.partnership[rv.owner] >= 0) & ~rv.growth
               & (rv.age_years >= p.replace_min_age_years) & (tech in p.replacement_technologies))
    return open_, change, lost, in_deal, p.contract_uplift_share


def test_access_limits_cost_the_margin_they_take(deal_month):
    rv, ctx = deal_month
    open_, change, lost, in_deal, _ = lost_margin_change(rv, ctx, "diesel_epa2010", 0.3)
    rows = open_ & ~in_deal
    assert rows.sum() > 50
    np.testing.assert_allclose(change[rows], lost[rows], rtol=1e-9)


def test_access_limits_take_their_share_of_a_contract_s_extra_margin(deal_month):
    rv, ctx = deal_month
    open_, change, lost, in_deal, uplift = lost_margin_change(rv, ctx, "diesel_epa2010", 0.3)
    rows = open_ & in_deal
    assert rows.sum() > 5
    np.testing.assert_allclose(change[rows], lost[rows] * (1 + uplift), rtol=1e-9)
