"""Pricing every option a review row weighs, one named function per option kind: keep, retrofit,
new, used, import and leave. Each fills its column of the OptionTable on the rows where it is
open (closed options cost nothing): the total cost of ownership over the firm's horizon
(agents.tco), the finance it can get (agents.finance), public money it would claim, what a
partnership adds, and the utility before peer risk.

Costs that do not depend on the row are computed once on a small grid (engine, retrofit, class,
band, age in whole years); a row's cost is then fixed + km_new x per_km + its own lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleetsim.scenarios import SIZE_BANDS

from .finance import Finance
from .instruments import best_offer
from .kernels import book_offer_kernel, offer_terms_kernel, offer_util_kernel
from .options import IMPORT, KEEP, LEAVE, NEW, RETROFIT, USED, band_tastes
from .partnerships import (
    partnership_covers,
    partnership_for,
    partnership_term,
    partnership_terms,
)
from .rationing import BONUS, SUBSIDY, Claims
from .tco import annuity_factor, discount, tco

MAX_GRID_AGE = 80  # years; older vehicles are priced as this old
GRIDS_KEPT = 64  # TCO grids a model keeps; the used market's typical vehicle changes most months


@dataclass
class OptionTable:
    """[option, row] tables of what each option would mean for each row."""

    util: np.ndarray  # utility before peer risk (-inf where closed)
    feasible: np.ndarray
    fin_ok: np.ndarray  # finance is not what stops it
    familiar: np.ndarray  # the firm already runs the option's technology family
    family: np.ndarray
    price: np.ndarray  # MXN paid by the operator (cash + loan), net of incentives
    subsidy: np.ndarray
    cofin: np.ndarray  # MXN paid by a partnering large fleet
    principal: np.ndarray
    rate: np.ndarray
    fin_line: np.ndarray  # the financing line of the total cost
    bonus_gain: np.ndarray  # what a scrappage bonus adds over selling the old vehicle
    scrap_base: np.ndarray  # old vehicle scrapped whatever the bonus (end of life, partnership)
    scrap_old: np.ndarray
    lender: np.ndarray  # index into lenders, -1 for cash
    partnership: np.ndarray  # partnership (index + 1) the action falls under, or 0
    rep_tech: np.ndarray  # technology of the vehicle after the option
    claims: Claims

    @classmethod
    def empty(cls, k: int, n: int) -> OptionTable:
        zeros = {name: np.zeros((k, n)) for name in (
            "price", "subsidy", "cofin", "principal", "rate", "fin_line", "bonus_gain")}
        return cls(util=np.full((k, n), -np.inf), feasible=np.zeros((k, n), bool),
                   fin_ok=np.ones((k, n), bool), familiar=np.ones((k, n), bool),
                   family=np.zeros((k, n), np.int8), scrap_base=np.zeros((k, n), bool),
                   scrap_old=np.zeros((k, n), bool), lender=np.full((k, n), -1, np.int8),
                   partnership=np.zeros((k, n), np.int8), rep_tech=np.zeros((k, n), np.int8),
                   claims=Claims.empty(k, n), **zeros)


@dataclass
class Situation:
    """What pricing needs to know about the review rows (who, what, where, the band's tastes)
    and the cost grid of keeping a vehicle."""

    n: int
    band: np.ndarray
    beta: np.ndarray  # cost sensitivity per million MXN
    c: np.ndarray  # vehicle class
    region: np.ndarray
    bound: np.ndarray  # under a zero-emission fleet rule: only ZEVs may join
    has: np.ndarray  # a vehicle under review (not a growth purchase)
    cur_t: np.ndarray
    cur_r: np.ndarray
    partnership: np.ndarray  # whose terms the owner can take this month (index + 1), or 0
    own_uplift: np.ndarray  # the vehicle's own contract's uplift, while it stays
    scrap_value: np.ndarray
    sale_of_old: np.ndarray  # what the old vehicle fetches if it goes
    cash: np.ndarray  # the firm's cash shared among its rows
    owned: np.ndarray  # [row, family] the firm runs the family
    age_i: np.ndarray  # age in whole years, capped for the grid
    consts: np.ndarray  # [reported technology] constants
    taste: dict[str, np.ndarray]
    annuity_b: np.ndarray  # [band]
    disc_b: np.ndarray
    margin_c: np.ndarray  # [class] margin per km
    charger: np.ndarray  # [class]
    terms: np.ndarray  # [term, partnership + 1] (agents.partnerships.partnership_terms)
    axes: tuple = field(default=())  # open grids: engine, retrofit, class, band, age
    keep_grid: tuple = field(default=())
    grid_key: tuple = field(default=())  # the month's inputs common to every TCO grid


def array_key(x) -> tuple:
    """An exact key of a number or array: its dtype, shape and bytes."""
    a = np.asarray(x)
    return a.dtype.str, a.shape, a.tobytes()


class TcoGrids:
    """The TCO grids a model has priced, by the exact bytes of their inputs: a grid is rebuilt
    only when the year's prices, a fuel surcharge or the option's own inputs change. Tastes,
    classes, usage and the valuer are fixed for a run (update_policy changes policy and
    regulation only), so one store serves one model; the oldest grid goes first."""

    def __init__(self, size: int = GRIDS_KEPT):
        self.size = size
        self.grids: dict[tuple, tuple] = {}

    def get(self, key: tuple) -> tuple | None:
        return self.grids.get(key)

    def put(self, key: tuple, grid: tuple) -> None:
        if len(self.grids) >= self.size:
            self.grids.pop(next(iter(self.grids)))
        for a in grid:
            a.flags.writeable = False  # shared across months: a write would change later months
        self.grids[key] = grid


def month_grid_key(sit: Situation, ctx: Any) -> tuple:
    """What every TCO grid of the month reads beyond its own arguments (see tco_grid)."""
    year, tables = ctx.year, ctx.tables
    return tuple(array_key(a) for a in (
        year.energy_per_km, year.fuel_price_mxn, year.maintenance_mxn_per_km, year.price_mxn,
        tables.fuel_penalty, tables.retrofit_extra_maint, sit.taste["r"], sit.taste["h"],
        sit.annuity_b, sit.disc_b, sit.margin_c))


def situation(rv: Any, ctx: Any) -> Situation:
    """The review rows `rv` (agents.decisions.Reviews) as pricing sees them this month."""
    spec, tables, ops = ctx.spec, ctx.tables, ctx.ops
    band = ops.band[rv.owner].astype(np.intp)
    taste = band_tastes(spec)
    c = rv.vclass.astype(np.intp)
    econ = [cl.economics for cl in spec.classes.values()]
    scrap_value = np.array([e.scrap_value_mxn for e in econ])[c]
    has = ~rv.growth
    cur_t = rv.tech.astype(np.intp)
    # a vehicle already under contract keeps its uplift while it stays and the partnership runs
    own = rv.partnerships()
    running = np.concatenate([[False], ctx.partnership_running])[own]
    # what a dealer pays: the market value less its margin (as sim.carry_out.let_go pays)
    dealer_pays = ctx.valuer.seller_gets(ctx.valuer.value(ctx.year, cur_t, c, rv.age_years)
                                         * ctx.market.used_multiplier[c])
    # an old vehicle fetches the better of the used market and scrap; one at the end of its
    # life only scrap (scrappage bonuses come per option)
    sale_of_old = np.where(has, np.where(rv.eol, scrap_value,
                                         np.maximum(dealer_pays, scrap_value)), 0.0)
    sit = Situation(
        n=len(rv), band=band, beta=taste["beta"][band], c=c,
        region=ops.region[rv.owner].astype(np.intp),
        bound=ctx.effects.fleet_rule.bound[rv.owner, c], has=has, cur_t=cur_t,
        cur_r=rv.retrofit.astype(np.intp),
        partnership=partnership_for(ops, rv.owner, ctx.partnership_running),
        own_uplift=np.where(running, partnership_term(spec, own, "uplift"), 0.0),
        scrap_value=scrap_value, sale_of_old=sale_of_old,
        cash=np.maximum(ops.cash[rv.owner], 0.0) / np.bincount(rv.owner)[rv.owner],
        owned=ctx.uses[rv.owner] > 0,
        age_i=np.minimum(rv.age_years.astype(np.intp), MAX_GRID_AGE),
        consts=np.array([spec.decisions.technology_constants.get(x, 0.0)
                         for x in tables.reported_names]),
        taste=taste, annuity_b=annuity_factor(taste["r"], taste["h"]),
        disc_b=discount(taste["r"], taste["h"]),
        margin_c=np.array([e.contribution_mxn_per_km for e in econ]),
        charger=np.array([e.charger_mxn_per_vehicle for e in econ]),
        terms=partnership_terms(spec))
    n_t, n_r = len(tables.tech_names), len(tables.retrofit_names) + 1
    sit.axes = np.ix_(np.arange(n_t), np.arange(n_r), np.arange(len(econ)),
                      np.arange(len(SIZE_BANDS)), np.arange(MAX_GRID_AGE + 1, dtype=float))
    sit.grid_key = month_grid_key(sit, ctx)
    # keeping (and retrofitting) depends on the vehicle: the grid spans every axis
    sit.keep_grid = tco_grid(sit, ctx, *sit.axes, 0.0, 0.0)
    return sit


def tco_grid(sit: Situation, ctx: Any, *inputs) -> tuple:
    """build_tco_grid's grids, from the model's store (Context.tco_grids) when the same inputs
    were priced before."""
    store = ctx.tco_grids
    if store is None:
        return build_tco_grid(sit, ctx, *inputs)
    key = (sit.grid_key, *map(array_key, inputs))
    grid = store.get(key)
    if grid is None:
        grid = build_tco_grid(sit, ctx, *inputs)
        store.put(key, grid)
    return grid


def build_tco_grid(sit: Situation, ctx: Any, t, retro, cc, bb, age0, price, charger_mxn):
    """TCO of a vehicle of engine t (+ retrofit) aged age0 on purchase, for class cc and band
    bb (arrays broadcast to a small grid): the part that does not depend on the row, the part
    per km of the row's own intensity (km_new), and the margin per km (for access limits and
    a contract uplift)."""
    year, tables, taste = ctx.year, ctx.tables, sit.taste
    hb = taste["h"][bb]
    age_mid = age0 + hb / 2.0
    km = ctx.km_share(age_mid)
    g_maint = ctx.spec.usage.maintenance_growth_per_year_of_age
    common = dict(discount_rate=taste["r"][bb], horizon_years=hb, annuity=sit.annuity_b[bb],
                  discount_end=sit.disc_b[bb], financing=0.0,
                  energy_mxn_per_km=(year.energy_per_km[t, cc] * year.fuel_price_mxn[t]
                                     * (1.0 + tables.fuel_penalty[retro])),
                  maintenance_mxn_per_km=((year.maintenance_mxn_per_km[t, cc]
                                           + tables.retrofit_extra_maint[retro, cc])
                                          * (1.0 + g_maint * age_mid)),
                  margin_mxn_per_km=sit.margin_c[cc])
    fixed = tco(price=price, km_per_year=0.0, charger_mxn=charger_mxn,
                resale_end=ctx.valuer.value(year, t, cc, age0 + hb), **common)["total"]
    per_km = tco(km_per_year=km, **common)["total"]
    extra = km * sit.margin_c[cc] * sit.annuity_b[bb]
    return np.broadcast_arrays(fixed, per_km, extra)


def scrappage_bonus(sit: Situation, ctx: Any, rv: Any, i: np.ndarray, kind_name: str,
                    repl_age=None):
    """The best scrappage bonus for letting rows i's vehicles go this way (a replacement no
    older than the instrument allows)."""
    ok = None if repl_age is None else (lambda o: repl_age <= o.max_replacement_age)
    amount, which = best_offer([o for o in ctx.effects.scrappage if kind_name in o.kinds],
                               sit.c[i], sit.band[i], sit.region[i], rv.age_years[i], ok=ok)
    return np.where(sit.has[i], amount, 0.0), which


def access_loss(sit: Situation, ctx: Any, rv: Any, i, rep, age) -> np.ndarray:
    """Share of the margin access limits (curfews, zones) take from these rows."""
    return ctx.effects.access.lost_share(rv.owner[i], rep, sit.c[i], sit.region[i], age)


def price_leave(j: int, item: int, rv, ctx, sit: Situation, fin: Finance,
                table: OptionTable) -> None:
    """Leave: sell the vehicle (or scrap it, with any bonus) and buy nothing."""
    i = np.arange(sit.n)
    b_mxn, b_which = scrappage_bonus(sit, ctx, rv, i, "none")
    take = (b_mxn > 0) & (sit.scrap_value + b_mxn > sit.sale_of_old)
    table.claims.set(BONUS, j, i, b_which, np.where(take, b_mxn, 0.0))
    table.bonus_gain[j] = np.where(take, sit.scrap_value + b_mxn - sit.sale_of_old, 0.0)
    table.feasible[j] = True
    table.scrap_old[j] = take
    table.util[j] = sit.beta * np.where(take, sit.scrap_value + b_mxn, sit.sale_of_old) / 1e6


def price_keep(j: int, item: int, rv, ctx, sit: Situation, fin: Finance,
               table: OptionTable) -> None:
    """Keep the vehicle as it is (not at the end of its life)."""
    tables = ctx.tables
    i = np.flatnonzero(sit.has & ~rv.eol)
    at = (sit.cur_t[i], sit.cur_r[i], sit.c[i], sit.band[i], sit.age_i[i])
    rep = tables.reported(sit.cur_t[i], sit.cur_r[i])
    lost = access_loss(sit, ctx, rv, i, rep, rv.age_years[i])
    fixed, per_km, rev = sit.keep_grid
    total = fixed[at] + rv.km_new[i] * (per_km[at] + rev[at] * (
        lost - sit.own_uplift[i] * (1.0 - lost)))
    table.feasible[j, i] = True
    table.family[j, i] = tables.family_reported[rep]
    table.util[j, i] = -sit.beta[i] * total / 1e6 + sit.consts[rep] + sit.taste["keep"][sit.band[i]]
    table.rep_tech[j, i] = sit.cur_t[i]


@dataclass
class Offer:
    """An option that brings a vehicle (refitted, new, used or imported) to rows i: its grid,
    gross price, public money, the vehicle after it and what the old one fetches."""

    i: np.ndarray
    grid: tuple  # (fixed, per_km, rev) grids
    at: tuple  # the rows' indices into the grids
    gross: np.ndarray
    subsidy: np.ndarray
    s_which: np.ndarray
    b_mxn: np.ndarray  # scrappage bonus claimed
    b_which: np.ndarray
    age_after: np.ndarray
    t_after: np.ndarray
    retro: Any  # retrofit after (item for a retrofit, 0 otherwise)
    used: bool
    in_partnership: np.ndarray  # [row] the partnership covers this action
    sale: Any = 0.0  # what the old vehicle fetches (with any bonus)
    sale_before: Any = 0.0  # without the bonus
    fallback: tuple | None = None  # (MXN, instrument) of the next subsidy offered


def price_retrofit(j: int, item: int, rv, ctx, sit: Situation, fin: Finance,
                   table: OptionTable) -> None:
    """Fit retrofit `item` (1 + its index) to a vehicle that can take it."""
    spec, tables, year = ctx.spec, ctx.tables, ctx.year
    name = tables.retrofit_names[item - 1]
    rs = spec.retrofits[name]
    ok = (sit.has & ~rv.eol & (sit.cur_r == 0) & (rv.age_years <= rs.max_age_years)
          & np.isin(sit.cur_t, [tables.tech_code[x] for x in rs.applies_to]))
    if rs.needs_ulsd:
        ok &= ctx.ulsd[ctx.ops.region[rv.owner]]
    i = np.flatnonzero(ok)
    if not len(i):
        return
    kit = year.retrofit_price_mxn[item]
    g_t, _, g_c, g_b, g_a = sit.axes
    grid = tco_grid(sit, ctx, g_t[:, 0], item, g_c[:, 0], g_b[:, 0], g_a[:, 0], kit[g_c[:, 0]],
                    0.0)
    subsidy, s_which, alt, alt_which = best_offer(
        ctx.effects.retrofit, sit.c[i], sit.band[i], sit.region[i], rv.age_years[i],
        kit[sit.c[i]], item=item, second=True)
    in_p = np.zeros(sit.n, bool)
    in_p[i] = partnership_covers(spec, sit.partnership[i], rv.age_years[i], retrofit=name)
    offer = Offer(i=i, grid=grid, at=(sit.cur_t[i], sit.c[i], sit.band[i], sit.age_i[i]),
                  gross=kit[sit.c[i]], subsidy=subsidy, s_which=s_which,
                  b_mxn=np.zeros(len(i)), b_which=np.full(len(i), -1),
                  age_after=rv.age_years[i], t_after=sit.cur_t[i], retro=np.full(len(i), item),
                  used=False, in_partnership=in_p, fallback=(alt, alt_which))
    book_offer(j, RETROFIT, offer, rv, ctx, sit, fin, table)


def class_band_axes(sit: Situation) -> tuple:
    """The [class, band] grids of the purchase options."""
    g_c, g_b = sit.axes[2], sit.axes[3]
    return g_c[0, 0, :, :, 0], g_b[0, 0, :, :, 0]


def price_new(j: int, item: int, rv, ctx, sit: Situation, fin: Finance,
              table: OptionTable) -> None:
    """Buy a new vehicle of technology `item` where it is sold and allowed."""
    spec, tables, year, eff = ctx.spec, ctx.tables, ctx.year, ctx.effects
    price_c = year.price_mxn[item]
    ok = ~np.isnan(price_c[sit.c]) & eff.new_allowed[item, sit.c]
    if not tables.zev_reported[item]:
        ok &= ~sit.bound
    i = np.flatnonzero(ok)
    if not len(i):
        return
    # a sales requirement's fee (or rebate) moves the price makers ask
    gross_c = np.maximum(np.nan_to_num(price_c) + eff.price_adjust_mxn[item], 0.0)
    charge = np.where(tables.needs_charger[item], sit.charger, 0.0)
    g_cb = class_band_axes(sit)
    grid = tco_grid(sit, ctx, item, 0, *g_cb, 0.0, gross_c[g_cb[0]], charge[g_cb[0]])
    in_p = np.zeros(sit.n, bool)
    in_p[i] = (sit.partnership[i] > 0) & sit.has[i] & partnership_covers(
        spec, sit.partnership[i], rv.age_years[i], tech=tables.tech_names[item])
    subsidy, s_which, alt, alt_which = best_offer(
        eff.purchase, sit.c[i], sit.band[i], sit.region[i], np.zeros(len(i)), gross_c[sit.c[i]],
        item=item, second=True)
    b_mxn, b_which = scrappage_bonus(sit, ctx, rv, i, "new")
    offer = Offer(i=i, grid=grid, at=(sit.c[i], sit.band[i]), gross=gross_c[sit.c[i]],
                  subsidy=subsidy, s_which=s_which, b_mxn=b_mxn, b_which=b_which,
                  age_after=np.zeros(len(i)), t_after=np.full(len(i), item), retro=0,
                  used=False, in_partnership=in_p, fallback=(alt, alt_which))
    book_offer(j, NEW, with_old_vehicle_sale(offer, sit), rv, ctx, sit, fin, table)


def price_used(j: int, item: int, rv, ctx, sit: Situation, fin: Finance,
               table: OptionTable) -> None:
    """Buy a used vehicle at home: the typical listing of the class, at the market's price."""
    mk = ctx.market
    i = np.flatnonzero(mk.used_count[sit.c] > 0)
    t_c, age_c = mk.used_tech.astype(np.intp), mk.used_age
    gross_c = ctx.valuer.value(ctx.year, t_c, np.arange(len(t_c)), age_c) * mk.used_multiplier
    price_second_hand(j, USED, i, t_c, age_c, gross_c, rv, ctx, sit, fin, table)


def price_import(j: int, item: int, rv, ctx, sit: Situation, fin: Finance,
                 table: OptionTable) -> None:
    """Import a used vehicle: the typical one the import rule admits, with its costs."""
    mk = ctx.market
    if mk.import_offer is None:
        return
    n_c = len(mk.used_count)
    t_c = np.full(n_c, mk.import_offer[1])
    age_c = np.full(n_c, mk.import_offer[0])
    gross_c = ctx.valuer.value(ctx.year, t_c, np.arange(n_c), age_c) * (1.0 + mk.import_cost_share)
    price_second_hand(j, IMPORT, np.arange(sit.n), t_c, age_c, gross_c, rv, ctx, sit, fin,
                      table)


def price_second_hand(j, kind, i, t_c, age_c, gross_c, rv, ctx, sit: Situation, fin: Finance,
                      table: OptionTable) -> None:
    """A used or imported vehicle of engine t_c and age age_c by class, at gross_c."""
    i = i[~sit.bound[i] | ctx.tables.zev_reported[t_c[sit.c[i]]]]
    if not len(i):
        return
    g_cb = class_band_axes(sit)
    grid = tco_grid(sit, ctx, t_c[g_cb[0]], 0, *g_cb, age_c[g_cb[0]], gross_c[g_cb[0]], 0.0)
    age_after = age_c[sit.c[i]]
    b_mxn, b_which = scrappage_bonus(sit, ctx, rv, i, "used" if kind == USED else "import",
                                     age_after)
    offer = Offer(i=i, grid=grid, at=(sit.c[i], sit.band[i]), gross=gross_c[sit.c[i]],
                  subsidy=np.zeros(len(i)), s_which=np.full(len(i), -1), b_mxn=b_mxn,
                  b_which=b_which, age_after=age_after, t_after=t_c[sit.c[i]], retro=0,
                  used=True, in_partnership=np.zeros(sit.n, bool))
    book_offer(j, kind, with_old_vehicle_sale(offer, sit), rv, ctx, sit, fin, table)


def with_old_vehicle_sale(offer: Offer, sit: Situation) -> Offer:
    """What the replaced vehicle fetches: scrap under a partnership, else the better of the
    market and scrap; a bonus is claimed where scrapping with it beats that."""
    i = offer.i
    sale = np.where(offer.in_partnership[i] & sit.has[i], sit.scrap_value[i], sit.sale_of_old[i])
    offer.sale_before = sale
    offer.b_mxn = np.where(sit.scrap_value[i] + offer.b_mxn > sale, offer.b_mxn, 0.0)
    offer.sale = np.where(offer.b_mxn > 0, sit.scrap_value[i] + offer.b_mxn, sale)
    return offer


def book_offer(j: int, kind: int, o: Offer, rv, ctx, sit: Situation, fin: Finance,
               table: OptionTable) -> None:
    """Price an offer on its rows, with its finance, partnership terms and public money, and
    write its column of the table."""
    tables, i = ctx.tables, o.i
    d_i = o.in_partnership[i]
    p = sit.partnership[i]
    m = len(i)
    # a refitted vehicle stays, with any contract it has
    cofin, price, guarantee, uplift = offer_terms_kernel(
        rows_of(o.gross, m), rows_of(o.subsidy, m), np.ascontiguousarray(d_i),
        rows_of(p, m, np.int64), sit.terms, sit.own_uplift[i], kind == RETROFIT)
    rep = tables.reported(o.t_after, o.retro)
    loan = fin.pay(i, price, rep, o.used, guarantee, cofin, o.sale if kind != RETROFIT else 0.0)
    # the row's own lines: its financing, what its old vehicle fetches, the co-finance taken
    # off the price and a partner contract's extra margin
    lost = access_loss(sit, ctx, rv, i, rep, o.age_after)
    fixed, per_km, rev = o.grid
    util = offer_util_kernel(
        fixed[o.at], per_km[o.at], rev[o.at], rows_of(o.subsidy, m), rows_of(rv.km_new[i], m),
        rows_of(lost, m), rows_of(uplift, m), loan.financing, rows_of(o.sale, m),
        rows_of(cofin, m), sit.beta[i], sit.consts[rep])
    write_offer(j, o, util, loan, price, cofin, p, tables.family_reported[rep], rv, sit, table)


def write_offer(j: int, o: Offer, util, loan, price, cofin, p, family, rv, sit: Situation,
                table: OptionTable) -> None:
    """Option j's column on the offer's rows: utility, loan, money, claims on public money,
    what happens to the old vehicle, partnership and the vehicle after
    (agents.kernels.book_offer_kernel)."""
    i, m, c = o.i, len(o.i), table.claims
    alt, alt_which = o.fallback if o.fallback is not None else (np.zeros(m), np.full(m, -1))
    book_offer_kernel(
        np.ascontiguousarray(i, np.intp), util,
        (loan.principal, loan.rate, loan.lender, loan.ok, loan.financing),
        (rows_of(price, m), rows_of(o.subsidy, m), rows_of(cofin, m), rows_of(o.b_mxn, m),
         rows_of(o.sale_before, m), rows_of(alt, m)),
        (rows_of(o.s_which, m, np.int64), rows_of(o.b_which, m, np.int64),
         rows_of(alt_which, m, np.int64)),
        np.ascontiguousarray(o.in_partnership[i]), np.ascontiguousarray(rv.eol[i]),
        sit.scrap_value[i], rows_of(p, m, np.int64), rows_of(o.t_after, m, np.int64),
        rows_of(family, m, np.int64),
        np.ascontiguousarray(sit.owned), o.fallback is not None,
        (table.util[j], table.fin_line[j], table.price[j], table.subsidy[j], table.cofin[j],
         table.principal[j], table.rate[j], table.bonus_gain[j], c.mxn[SUBSIDY, j],
         c.mxn[BONUS, j], c.alt_mxn[j]),
        (table.feasible[j], table.fin_ok[j], table.familiar[j], table.scrap_old[j],
         table.scrap_base[j]),
        (table.lender[j], table.partnership[j], table.rep_tech[j], table.family[j]),
        (c.which[SUBSIDY, j], c.which[BONUS, j], c.alt_which[j]))


def rows_of(x, m: int, dtype=np.float64) -> np.ndarray:
    """x (a number or m values) as m contiguous, writable values of dtype: one array type per
    argument, so the compiled loops are compiled once (in warm())."""
    if (isinstance(x, np.ndarray) and x.dtype == dtype and x.flags.c_contiguous
            and x.flags.writeable):
        return x  # the common case, checked directly: np.require costs microseconds a call
    x = np.asarray(x, dtype)
    return np.full(m, x) if x.ndim == 0 else np.require(x, dtype, ["C", "W"])


# option kind -> the function that prices its column
PRICE = {KEEP: price_keep, RETROFIT: price_retrofit, NEW: price_new, USED: price_used,
         IMPORT: price_import, LEAVE: price_leave}
