"""Operators' decisions for every vehicle under review this month, in one vectorised pass.

Each review row is a vehicle (its owner's yearly review, or its end of life) or a purchase the
growing market asks of a firm. Options, one column each: keep, fit each retrofit, buy each
technology new, buy used at home, import used, and leave (scrap or sell without replacement;
for a growth purchase: buy nothing). For every row and option we build the total cost of
ownership (agents.tco), the finance the operator can actually get (agents.lenders), the
peer-dependent risk premium and the logit choice (agents.choice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fleetsim.agents import Lender, OperatorArrays, PeerNetwork, PolicyEffects, credit_score
from fleetsim.agents.choice import bass_probability, logit_choice, risk_premium
from fleetsim.agents.instruments import best_offer
from fleetsim.agents.tco import annuity_factor, discount, financing_cost, tco
from fleetsim.scenarios import SIZE_BANDS, Scenario

from .claims import BONUS, SUBSIDY, Claims, ration
from .deals import deal_covers, deal_term, deals_for
from .emissions import km_factor
from .lending import LenderTerms, over_quota
from .market import Valuer
from .options import KEEP, LEAVE, NEW, RETROFIT, USED, OptionLayout, band_tastes
from .technology import TechTables, YearTables

MAX_GRID_AGE = 80  # years; older vehicles are priced as this old


@dataclass
class Reviews:
    """Who decides this month: one row per vehicle under review or purchase asked for."""

    row: np.ndarray  # registry row, -1 for a growth purchase
    owner: np.ndarray
    vclass: np.ndarray
    tech: np.ndarray  # current engine (0 for a growth purchase; unused)
    retrofit: np.ndarray
    age_years: np.ndarray
    km_new: np.ndarray
    eol: np.ndarray  # at the end of its life: it must go
    growth: np.ndarray
    contract: np.ndarray | None = None  # the vehicle's partnership contract (deal), 0 none

    def contracts(self) -> np.ndarray:
        return np.zeros(len(self.row), np.int64) if self.contract is None else self.contract

    def __len__(self) -> int:
        return len(self.row)


@dataclass
class Market:
    """Prices and offers this month."""

    used_count: np.ndarray  # [class] listings on the used market
    used_tech: np.ndarray  # [class] the most common engine among them
    used_age: np.ndarray  # [class] their mean age, years
    used_multiplier: np.ndarray  # [class] price level from supply and demand
    import_offer: tuple[float, int] | None  # (mean age, technology) of admitted imports
    import_cost_share: float


@dataclass
class Context:
    spec: Scenario
    tables: TechTables
    year: YearTables
    valuer: Valuer
    effects: PolicyEffects
    ops: OperatorArrays
    lenders: list[Lender]
    peers: PeerNetwork
    uses: np.ndarray  # [operator, family] weights: who runs what (demonstrations weigh more)
    market: Market
    neighbour_share: np.ndarray  # [operator, family] share of neighbours running the family
    deal_active: np.ndarray  # [partnership] in force this month
    ulsd: np.ndarray  # [region] ultra-low-sulphur diesel sold this month
    # (instrument, MXN claims, bands) -> which claims fit what is left of its budget
    budget_fits: Callable[[int, np.ndarray, np.ndarray], np.ndarray] = \
        lambda idx, mxn, band: np.ones(len(mxn), bool)


@dataclass
class Decision:
    option: np.ndarray  # chosen column, -1 if nothing was feasible
    kind: np.ndarray
    item: np.ndarray
    price: np.ndarray  # MXN paid by the operator (cash + loan), net of incentives
    subsidy: np.ndarray  # MXN of public money in the price (incentives)
    subsidy_claim: np.ndarray  # instrument index paying it, -1 none
    scrap_bonus: np.ndarray  # MXN of scrappage bonus for the vehicle that goes
    bonus_claim: np.ndarray  # instrument index paying it, -1 none
    cofinance: np.ndarray  # MXN paid by a partnering large fleet
    lender: np.ndarray  # index into lenders, -1 for cash
    principal: np.ndarray
    rate: np.ndarray
    deal: np.ndarray  # partnership index + 1 the action falls under, or 0
    scrap_old: np.ndarray  # the replaced vehicle is scrapped (not sold on the used market)
    declined: np.ndarray  # the preferred option needed a loan that was refused
    rep_tech: np.ndarray  # technology of the vehicle bought (used and import: the typical one)
    extra: dict = field(default_factory=dict)


def decide(rv: Reviews, ctx: Context, rng: np.random.Generator) -> Decision:
    """Choose an option for every review row. Each option column is priced only on the rows
    where it is open, so closed options (a technology not sold, a retrofit an engine cannot
    take) cost nothing."""
    spec, tables, year, ops = ctx.spec, ctx.tables, ctx.year, ctx.ops
    layout = OptionLayout(tables)
    n, k = len(rv), len(layout)
    band = ops.band[rv.owner].astype(np.intp)
    taste = band_tastes(spec)
    beta = taste["beta"][band]
    c = rv.vclass.astype(np.intp)
    econ = [cl.economics for cl in spec.classes.values()]
    scrap_value = np.array([e.scrap_value_mxn for e in econ])[c]
    eff = ctx.effects
    region = ops.region[rv.owner].astype(np.intp)
    bound = eff.fleet_rule.bound[rv.owner, c]  # zero-emission fleet rule: only ZEVs may join
    charger = np.array([e.charger_mxn_per_vehicle for e in econ])
    g_maint = spec.usage.maintenance_growth_per_year_of_age
    consts = np.array([spec.decisions.technology_constants.get(x, 0.0)
                       for x in tables.reported_names])
    has = ~rv.growth
    cur_t = rv.tech.astype(np.intp)
    cur_r = rv.retrofit.astype(np.intp)
    deal = deals_for(ops, rv.owner, ctx.deal_active)
    # a vehicle already under contract keeps its uplift while it stays and the partnership runs
    contract = rv.contracts()
    running = np.concatenate([[False], ctx.deal_active])[contract]
    own_uplift = np.where(running, deal_term(spec, contract, "uplift"), 0.0)

    market_value = ctx.valuer.value(year, cur_t, c, rv.age_years) * ctx.market.used_multiplier[c]
    # an old vehicle fetches the better of the used market and scrap; one at the end of its
    # life only scrap (scrappage bonuses come per option, below)
    sale_of_old = np.where(has, np.where(rv.eol, scrap_value,
                                         np.maximum(market_value, scrap_value)), 0.0)

    util = np.full((k, n), -np.inf)
    feasible = np.zeros((k, n), bool)
    fin_ok = np.ones((k, n), bool)  # finance is not what stops it
    familiar = np.ones((k, n), bool)
    family = np.zeros((k, n), np.int8)
    cols = {name: np.zeros((k, n)) for name in ("price", "subsidy", "cofin", "principal",
                                                  "rate", "fin_line", "bonus_gain")}
    scrap_base = np.zeros((k, n), bool)  # scrapped whatever the bonus (end of life, deal)
    lender_of = np.full((k, n), -1, np.int8)
    scrap_old = np.zeros((k, n), bool)
    claims = Claims.empty(k, n)
    deal_of = np.zeros((k, n), np.int8)
    rep_tech = np.zeros((k, n), np.int8)
    owned = ctx.uses[rv.owner] > 0  # [row, family]
    cash = np.maximum(ops.cash[rv.owner], 0.0) / np.bincount(rv.owner)[rv.owner]
    lenders = [LenderTerms(x, tables, spec) for x in ctx.lenders]
    history = credit_score(spec, band, ops.loans_repaid[rv.owner], ops.loans_defaulted[rv.owner],
                           0.0, 1.0, 0.0)  # the score without collateral and guarantee
    collateral = ops.fleet_value[rv.owner]
    cw, gw = spec.credit.collateral_weight, spec.credit.guarantee_weight
    # present-value factors by band, and financing cost per MXN borrowed by [lender, zev, band]
    # (row -1: no loan): few distinct values, so the powers are computed once
    annuity_b = annuity_factor(taste["r"], taste["h"])
    disc_b = discount(taste["r"], taste["h"])
    per_mxn = np.zeros((len(lenders) + 1, 2, len(SIZE_BANDS)))
    for lt in lenders:
        for z in (0, 1):
            per_mxn[lt.lender.index, z] = financing_cost(1.0, lt.rate[:, z], lt.spec.term_months,
                                                         taste["r"], taste["h"])

    margin_c = np.array([e.contribution_mxn_per_km for e in econ])
    bands = np.arange(len(SIZE_BANDS))

    def grid(t, retro, cc, bb, age0, price, charger_mxn):
        """TCO of a vehicle of engine t (+ retrofit) aged age0 on purchase, for class cc and band
        bb (arrays broadcast to a small grid): the part that does not depend on the row, the
        part per km of the row's own intensity (km_new), and the margin per km (for a
        contract uplift). A row's cost is then fixed + km_new x per_km + its own lines."""
        hb = taste["h"][bb]
        age_mid = age0 + hb / 2.0
        km = km_factor(age_mid, spec)
        common = dict(discount_rate=taste["r"][bb], horizon_years=hb, annuity=annuity_b[bb],
                      discount_end=disc_b[bb], financing=0.0,
                      energy_mxn_per_km=(year.energy_per_km[t, cc] * year.fuel_price_mxn[t]
                                         * (1.0 + tables.fuel_penalty[retro])),
                      maintenance_mxn_per_km=((year.maintenance_mxn_per_km[t, cc]
                                               + tables.retrofit_extra_maint[retro, cc])
                                              * (1.0 + g_maint * age_mid)),
                      margin_mxn_per_km=margin_c[cc])
        fixed = tco(price=price, km_per_year=0.0, charger_mxn=charger_mxn,
                    resale_end=ctx.valuer.value(year, t, cc, age0 + hb), **common)["total"]
        per_km = tco(km_per_year=km, **common)["total"]
        # the margin per km of the row's intensity: access limits take a share of it per row,
        # a contract uplift adds one
        extra = km * margin_c[cc] * annuity_b[bb]
        return np.broadcast_arrays(fixed, per_km, extra)

    def bonus(i, kind_name, repl_age=None):
        """The best scrappage bonus for letting rows i's vehicles go this way."""
        ok = None if repl_age is None else (lambda o: repl_age <= o.max_replacement_age)
        amount, which = best_offer([o for o in eff.scrappage if kind_name in o.kinds], c[i],
                                   band[i], region[i], rv.age_years[i], ok=ok)
        return np.where(has[i], amount, 0.0), which

    def lost(i, rep, age):
        return eff.access.lost_share(rv.owner[i], rep, c[i], region[i], age)

    # keeping (and retrofitting) depends on the vehicle: grid over engine, retrofit, class,
    # band and whole years of age
    n_t, n_r, n_c = len(tables.tech_names), len(tables.retrofit_names) + 1, len(econ)
    ages = np.arange(MAX_GRID_AGE + 1, dtype=float)
    g_t, g_r, g_c, g_b, g_a = np.ix_(np.arange(n_t), np.arange(n_r), np.arange(n_c), bands, ages)
    keep_fixed, keep_per_km, keep_rev = grid(g_t, g_r, g_c, g_b, g_a, 0.0, 0.0)
    age_i = np.minimum(rv.age_years.astype(np.intp), MAX_GRID_AGE)

    def finance(i, j, price, rep, used, guarantee, cofin, trade_in):
        """Cheapest way to pay `price` on rows i of column j: cash, or the cheapest loan an
        approving lender offers. Returns (principal, rate, term) of what is used."""
        m = len(i)
        best_rate, best_lender, best_down = np.full(m, np.inf), np.full(m, -1), np.zeros(m)
        funds = cash[i] + trade_in  # what the old vehicle fetches pays towards the new one
        zev = tables.zev_reported[rep]
        for lt in lenders:
            if used and not lt.spec.serves_used:
                continue
            if lt.lender.quota_left() < 1:
                continue
            # only the rows this lender serves (band, technology) and that could reach its
            # score with full collateral
            reach = history[i] + 2.0 * cw + gw * guarantee >= lt.spec.min_score
            w = np.flatnonzero(lt.serves_band[band[i]] & lt.serves_rep[rep] & reach)
            if not len(w):
                continue
            iw, pw, cw_ = i[w], price[w], cofin[w]
            # a partner's co-finance counts towards the down payment the lender asks
            down = np.maximum((pw + cw_) * (lt.spec.used_down_payment_share if used
                                            else lt.spec.down_payment_share) - cw_, 0.0)
            rate = lt.rate[band[iw], zev[w].astype(np.intp)]
            loan = np.maximum(pw - down, 1.0)
            score = (history[iw] + cw * np.minimum(collateral[iw] / loan, 2.0)
                     + gw * guarantee[w])
            ok = (score >= lt.spec.min_score) & (funds[w] >= down) & (pw > 0)
            if lt.spec.max_principal_mxn is not None:
                ok &= pw - down <= lt.spec.max_principal_mxn
            better = w[ok & (rate < best_rate[w])]
            sel = ok & (rate < best_rate[w])
            best_rate[better] = rate[sel]
            best_lender[better] = lt.lender.index
            best_down[better] = down[sel]
        loan_ok = best_lender >= 0
        cash_ok = funds >= price
        principal = np.where(loan_ok, price - best_down, 0.0)
        rate = np.where(loan_ok, best_rate, 0.0)
        financing = principal * per_mxn[best_lender, tables.zev_reported[rep].astype(np.intp),
                                        band[i]]
        # borrow when short of cash, or when the loan is cheaper than the firm's own discounting
        use_loan = loan_ok & (~cash_ok | (financing < 0))
        cols["principal"][j, i] = np.where(use_loan, principal, 0.0)
        cols["rate"][j, i] = np.where(use_loan, rate, 0.0)
        lender_of[j, i] = np.where(use_loan, best_lender, -1)
        fin_ok[j, i] = loan_ok | cash_ok
        return np.where(use_loan, financing, 0.0)

    for j in range(k):
        kind, item = layout.kind[j], layout.item[j]
        if kind == LEAVE:
            i = np.arange(n)
            b_mxn, b_which = bonus(i, "none")
            take = (b_mxn > 0) & (scrap_value + b_mxn > sale_of_old)
            claims.set(BONUS, j, i, b_which, np.where(take, b_mxn, 0.0))
            cols["bonus_gain"][j] = np.where(take, scrap_value + b_mxn - sale_of_old, 0.0)
            feasible[j] = True
            scrap_old[j] = take
            util[j] = beta * np.where(take, scrap_value + b_mxn, sale_of_old) / 1e6
            continue
        if kind == KEEP:
            i = np.flatnonzero(has & ~rv.eol)
            at = (cur_t[i], cur_r[i], c[i], band[i], age_i[i])
            rep = tables.reported(cur_t[i], cur_r[i])
            lost_i = lost(i, rep, rv.age_years[i])
            total = keep_fixed[at] + rv.km_new[i] * (keep_per_km[at] + keep_rev[at] * (
                lost_i - own_uplift[i] * (1.0 - lost_i)))
            feasible[j, i] = True
            family[j, i] = tables.family_reported[rep]
            util[j, i] = -beta[i] * total / 1e6 + consts[rep] + taste["keep"][band[i]]
            rep_tech[j, i] = cur_t[i]
            continue
        in_deal = np.zeros(n, bool)
        if kind == RETROFIT:
            name = tables.retrofit_names[item - 1]
            rs = spec.retrofits[name]
            ok = (has & ~rv.eol & (cur_r == 0) & (rv.age_years <= rs.max_age_years)
                  & np.isin(cur_t, [tables.tech_code[x] for x in rs.applies_to]))
            if rs.needs_ulsd:
                ok &= ctx.ulsd[ops.region[rv.owner]]
            i = np.flatnonzero(ok)
            if not len(i):
                continue
            kit = year.retrofit_price_mxn[item]
            fixed, per_km, rev = grid(g_t[:, 0], item, g_c[:, 0], g_b[:, 0], g_a[:, 0],
                                      kit[g_c[:, 0]], 0.0)
            at = (cur_t[i], c[i], band[i], age_i[i])
            gross = kit[c[i]]
            subsidy, s_which, alt, alt_which = best_offer(
                eff.retrofit, c[i], band[i], region[i], rv.age_years[i], gross, item=item,
                second=True)
            b_mxn, b_which = np.zeros(len(i)), np.full(len(i), -1)
            age_after = rv.age_years[i]
            in_deal[i] = deal_covers(spec, deal[i], rv.age_years[i], retrofit=name)
            t_after, retro, used = cur_t[i], np.full(len(i), item), False
            sale = sale_before = 0.0
        else:
            g_cb = (g_c[0, 0, :, :, 0], g_b[0, 0, :, :, 0])  # [class, band]
            retro = 0
            if kind == NEW:
                price_c = year.price_mxn[item]
                ok = ~np.isnan(price_c[c]) & eff.new_allowed[item, c]
                if not tables.zev_reported[item]:
                    ok &= ~bound
                i = np.flatnonzero(ok)
                if not len(i):
                    continue
                # a sales requirement's fee (or rebate) moves the price makers ask
                gross_c = np.maximum(np.nan_to_num(price_c) + eff.price_adjust_mxn[item], 0.0)
                charge = np.where(tables.needs_charger[item], charger, 0.0)
                fixed, per_km, rev = grid(item, 0, *g_cb, 0.0, gross_c[g_cb[0]], charge[g_cb[0]])
                in_deal[i] = (deal[i] > 0) & has[i] & deal_covers(
                    spec, deal[i], rv.age_years[i], tech=tables.tech_names[item])
                t_after, used = np.full(len(i), item), False
                subsidy, s_which, alt, alt_which = best_offer(
                    eff.purchase, c[i], band[i], region[i], np.zeros(len(i)), gross_c[c[i]],
                    item=item, second=True)
                b_mxn, b_which = bonus(i, "new")
                age_after = np.zeros(len(i))
            else:
                mk = ctx.market
                if kind == USED:
                    i = np.flatnonzero(mk.used_count[c] > 0)
                    t_c, age_c = mk.used_tech.astype(np.intp), mk.used_age
                    gross_c = ctx.valuer.value(year, t_c, np.arange(n_c), age_c) \
                        * mk.used_multiplier
                elif mk.import_offer is not None:
                    i = np.arange(n)
                    t_c = np.full(n_c, mk.import_offer[1])
                    age_c = np.full(n_c, mk.import_offer[0])
                    gross_c = ctx.valuer.value(year, t_c, np.arange(n_c), age_c) \
                        * (1.0 + mk.import_cost_share)
                else:
                    continue
                i = i[~bound[i] | tables.zev_reported[t_c[c[i]]]]
                if not len(i):
                    continue
                fixed, per_km, rev = grid(t_c[g_cb[0]], 0, *g_cb, age_c[g_cb[0]],
                                          gross_c[g_cb[0]], 0.0)
                t_after, used = t_c[c[i]], True
                subsidy, s_which = np.zeros(len(i)), np.full(len(i), -1)
                age_after = age_c[c[i]]
                b_mxn, b_which = bonus(i, "used" if kind == USED else "import", age_after)
            at = (c[i], band[i])
            gross = gross_c[c[i]]
            sale = np.where(in_deal[i] & has[i], scrap_value[i], sale_of_old[i])
            # a bonus is claimed where scrapping with it beats what the old vehicle fetches
            sale_before = sale
            b_mxn = np.where(scrap_value[i] + b_mxn > sale, b_mxn, 0.0)
            sale = np.where(b_mxn > 0, scrap_value[i] + b_mxn, sale)
        d_i = in_deal[i]
        cofin = np.where(d_i, (gross - subsidy) * deal_term(spec, deal[i], "cofinance"), 0.0)
        price = gross - subsidy - cofin
        rep = tables.reported(t_after, retro)
        guarantee = np.where(d_i, deal_term(spec, deal[i], "guarantee"), 0.0) + np.zeros(len(i))
        uplift = np.where(d_i, deal_term(spec, deal[i], "uplift"), 0.0)
        if kind == RETROFIT:  # the vehicle stays, with any contract it has
            uplift = np.maximum(uplift, own_uplift[i])
        financing = finance(i, j, price, rep, used, guarantee, cofin,
                            sale if kind != RETROFIT else 0.0)
        # the row's own lines: its financing, what its old vehicle fetches, the co-finance
        # taken off the price and a partner contract's extra margin
        lost_i = lost(i, rep, age_after)
        total = (fixed[at] - subsidy + rv.km_new[i] * (per_km[at] + rev[at] * (
            lost_i - uplift * (1.0 - lost_i))) + financing - sale - cofin)
        feasible[j, i] = True
        family[j, i] = tables.family_reported[rep]
        familiar[j, i] = owned[i, family[j, i]]
        util[j, i] = -beta[i] * total / 1e6 + consts[rep]
        cols["fin_line"][j, i] = financing
        cols["price"][j, i], cols["subsidy"][j, i], cols["cofin"][j, i] = price, subsidy, cofin
        scrap_old[j, i] = d_i | rv.eol[i] | (b_mxn > 0)
        scrap_base[j, i] = d_i | rv.eol[i]
        claims.set(SUBSIDY, j, i, s_which, subsidy)
        claims.set(BONUS, j, i, b_which, b_mxn)
        cols["bonus_gain"][j, i] = np.where(b_mxn > 0, scrap_value[i] + b_mxn - sale_before, 0.0)
        if kind in (NEW, RETROFIT):
            claims.set_fallback(j, i, alt_which, alt)
        deal_of[j, i] = np.where(d_i, deal[i], 0)
        rep_tech[j, i] = t_after

    # perceived risk of unfamiliar families, from peers (Bass p + q F)
    d = spec.decisions
    rows_all = np.arange(n)
    both = feasible & fin_ok
    u = util.copy()
    strange = feasible & ~familiar
    if strange.any():
        share = ctx.neighbour_share  # [operator, family]
        n_fam = (both & familiar).sum(axis=0)
        jj, rr = np.nonzero(strange)
        pi = bass_probability(d.outside_p, d.peer_q, share[rv.owner[rr], family[jj, rr]])
        u[jj, rr] -= risk_premium(pi, n_fam[rr])

    # choices are made on (row, option) views of the (option, row) tables, among the columns
    # open to anyone this month
    open_cols = np.flatnonzero(feasible.any(axis=1))
    gumbel = np.zeros((n, k), np.float32)
    gumbel[:, open_cols] = -np.log(-np.log(rng.random((n, len(open_cols)), np.float32)
                                           .clip(1e-7, 1 - 1e-7)))
    choice = logit_choice(u.T, both.T, rng, gumbel)
    # the choice had finance not mattered: it differs only where finance closed an option
    short = np.flatnonzero((feasible & ~fin_ok).any(axis=0))
    wanted = open_cols[logit_choice(u[np.ix_(open_cols, short)].T,
                                    feasible[np.ix_(open_cols, short)].T, rng,
                                    gumbel[np.ix_(short, open_cols)])]
    declined = np.zeros(n, bool)
    declined[short] = ~fin_ok[wanted, short]
    # a lender's yearly quota and an instrument's budget: first come, first served; the rest
    # choose again without the loan (paying cash where they can: the loan's financing line
    # leaves their utility) or without the public money
    def affordable(jj, rr):
        """The part not lent must come from cash and what the old vehicle fetches."""
        trade = np.where(layout.kind[jj] == RETROFIT, 0.0, sale_of_old[rr])
        return cols["price"][jj, rr] - cols["principal"][jj, rr] <= cash[rr] + trade + 1e-6

    def settle():
        return ration(choice, claims, cols, u, beta, band, ctx.budget_fits, rng, both,
                      affordable, scrap_old, scrap_base)

    # each round takes at least one claim or loan away, so few rounds settle it
    for _ in range(8):
        stripped = settle()
        over = over_quota(choice, lender_of, ctx.lenders, rng)
        if len(stripped):
            choice[stripped] = logit_choice(u[:, stripped].T, both[:, stripped].T, rng,
                                            gumbel[stripped])
        if not len(over):
            if not len(stripped):
                break
            continue
        declined[over] = True
        # they lose every offer of the lender whose quota ran out
        jj, ri = np.nonzero(lender_of[:, over] == lender_of[choice[over], over][None, :])
        rr = over[ri]
        u[jj, rr] += beta[rr] * cols["fin_line"][jj, rr] / 1e6
        lender_of[jj, rr] = -1
        cols["principal"][jj, rr] = 0.0
        cols["rate"][jj, rr] = 0.0
        both[jj, rr] &= affordable(jj, rr)
        choice[over] = logit_choice(u[:, over].T, both[:, over].T, rng, gumbel[over])

    # whatever still does not fit goes without re-choosing (rare): the loan or the public
    # money is withdrawn and the firm pays the difference from its cash
    settle()
    over = over_quota(choice, lender_of, ctx.lenders, rng)
    declined[over] = True
    lender_of[choice[over], over] = -1
    cols["principal"][choice[over], over] = 0.0
    cols["rate"][choice[over], over] = 0.0
    pick = np.maximum(choice, 0)
    chosen = choice >= 0

    def take(a, empty=0):
        return np.where(chosen, a[pick, rows_all], empty)

    return Decision(
        option=choice,
        kind=np.where(chosen, layout.kind[pick], -1),
        item=np.where(chosen, layout.item[pick], -1),
        price=take(cols["price"]),
        subsidy=take(cols["subsidy"]),
        subsidy_claim=take(claims.which[SUBSIDY], -1),
        scrap_bonus=take(claims.mxn[BONUS]),
        bonus_claim=take(claims.which[BONUS], -1),
        cofinance=take(cols["cofin"]),
        lender=take(lender_of, -1),
        principal=take(cols["principal"]),
        rate=take(cols["rate"]),
        deal=take(deal_of),
        scrap_old=take(scrap_old, False),
        declined=declined,
        rep_tech=take(rep_tech),
        extra={"utility": u.T, "feasible": both.T},
    )
