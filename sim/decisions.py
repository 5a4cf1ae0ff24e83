"""Operators' decisions for every vehicle under review this month, in one vectorised pass.

Each review row is a vehicle (its owner's yearly review, or its end of life) or a purchase the
growing market asks of a firm. Options, one column each: keep, fit each retrofit, buy each
technology new, buy used at home, import used, and leave (scrap or sell without replacement;
for a growth purchase: buy nothing). For every row and option we build the total cost of
ownership (agents.tco), the finance the operator can actually get (agents.lenders), the
peer-dependent risk premium and the logit choice (agents.choice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fleetsim.agents import Lender, OperatorArrays, PeerNetwork, PolicyEffects, credit_score
from fleetsim.agents.choice import bass_probability, logit_choice, risk_premium
from fleetsim.agents.tco import financing_cost, tco
from fleetsim.scenarios import SIZE_BANDS, Scenario

from .emissions import km_factor
from .market import Valuer
from .technology import TechTables, YearTables

KEEP, RETROFIT, NEW, USED, IMPORT, LEAVE = range(6)
KIND_NAMES = ("keep", "retrofit", "new", "used", "import", "leave")


class OptionLayout:
    """Which option each column is: a kind and, for retrofits and new vehicles, which one."""

    def __init__(self, tables: TechTables):
        r, t = len(tables.retrofit_names), len(tables.tech_names)
        self.kind = np.array([KEEP] + [RETROFIT] * r + [NEW] * t + [USED, IMPORT, LEAVE])
        self.item = np.array([0, *range(1, r + 1), *range(t), -1, -1, -1])

    def __len__(self) -> int:
        return len(self.kind)


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
    deal_active: np.ndarray  # [partnership] in force this month
    ulsd: np.ndarray  # [region] ultra-low-sulphur diesel sold this month


@dataclass
class Decision:
    option: np.ndarray  # chosen column, -1 if nothing was feasible
    kind: np.ndarray
    item: np.ndarray
    price: np.ndarray  # MXN paid by the operator (cash + loan), net of incentives
    subsidy: np.ndarray  # MXN of public money in the price (incentives)
    cofinance: np.ndarray  # MXN paid by a partnering large fleet
    lender: np.ndarray  # index into lenders, -1 for cash
    principal: np.ndarray
    rate: np.ndarray
    deal: np.ndarray  # partnership index + 1 the action falls under, or 0
    scrap_old: np.ndarray  # the replaced vehicle is scrapped (not sold on the used market)
    declined: np.ndarray  # the preferred option needed a loan that was refused
    rep_tech: np.ndarray  # technology of the vehicle bought (used and import: the typical one)
    extra: dict = field(default_factory=dict)


def band_tastes(spec: Scenario) -> dict[str, np.ndarray]:
    b = [spec.decisions.bands[x] for x in SIZE_BANDS]
    return {
        "r": np.array([t.discount_rate for t in b]),
        "h": np.array([t.horizon_years for t in b], float),
        "beta": np.array([t.cost_sensitivity_per_million_mxn for t in b]),
        "keep": np.array([t.keep_constant for t in b]),
    }


def decide(rv: Reviews, ctx: Context, rng: np.random.Generator) -> Decision:
    spec, tables, year, ops = ctx.spec, ctx.tables, ctx.year, ctx.ops
    layout = OptionLayout(tables)
    n, k = len(rv), len(layout)
    band = ops.band[rv.owner].astype(np.intp)
    taste = band_tastes(spec)
    r, h, beta = taste["r"][band], taste["h"][band], taste["beta"][band]
    c = rv.vclass.astype(np.intp)
    econ = [cl.economics for cl in spec.classes.values()]
    margin = np.array([e.contribution_mxn_per_km for e in econ])[c]
    scrap_value = np.array([e.scrap_value_mxn for e in econ])[c] + ctx.effects.scrap_bonus_mxn[c]
    charger = np.array([e.charger_mxn_per_vehicle for e in econ])
    g_maint = spec.usage.maintenance_growth_per_year_of_age
    fuel_price = year.fuel_price_mxn
    consts = np.array([spec.decisions.technology_constants.get(x, 0.0)
                       for x in tables.reported_names])
    has = ~rv.growth
    cur_t = rv.tech.astype(np.intp)
    cur_r = rv.retrofit.astype(np.intp)

    # partnership terms open to this row's owner
    deal = np.zeros(n, np.int64)
    partner = ops.partnership[rv.owner]
    ok_deal = partner >= 0
    ok_deal[ok_deal] = ctx.deal_active[partner[ok_deal]]
    deal[ok_deal] = partner[ok_deal] + 1

    market_value = ctx.valuer.value(year, cur_t, c, rv.age_years) * ctx.market.used_multiplier[c]
    sale_of_old = np.where(rv.eol, scrap_value, market_value)
    sale_of_old = np.where(has, sale_of_old, 0.0)

    util = np.full((n, k), -np.inf)
    feasible = np.zeros((n, k), bool)
    fin_ok = np.ones((n, k), bool)  # finance is not what stops it
    familiar = np.zeros((n, k), bool)
    family = np.zeros((n, k), np.intp)
    cols = {name: np.zeros((n, k)) for name in ("price", "subsidy", "cofin", "principal",
                                                  "rate")}
    lender_of = np.full((n, k), -1)
    scrap_old = np.zeros((n, k), bool)
    deal_of = np.zeros((n, k), np.int64)
    rep_tech = np.zeros((n, k), np.intp)
    owned = ctx.uses[rv.owner] > 0  # [row, family]
    cash = np.maximum(ops.cash[rv.owner], 0.0) / np.bincount(rv.owner)[rv.owner]
    score_base = dict(band=band, repaid=ops.loans_repaid[rv.owner],
                      defaulted=ops.loans_defaulted[rv.owner],
                      collateral_mxn=ops.fleet_value[rv.owner])

    def vehicle_lines(t, retro, age0, price, sale, uplift, charger_mxn, principal, rate, term):
        age_mid = age0 + h / 2.0
        km = rv.km_new * km_factor(age_mid, spec)
        energy = year.energy_per_km[t, c] * fuel_price[t] * (1.0 + tables.fuel_penalty[retro])
        maint = ((year.maintenance_mxn_per_km[t, c] + tables.retrofit_extra_maint[retro, c])
                 * (1.0 + g_maint * age_mid))
        rep = tables.reported(t, retro)
        return tco(price=price, discount_rate=r, horizon_years=h, km_per_year=km,
                   energy_mxn_per_km=energy, maintenance_mxn_per_km=maint,
                   resale_end=ctx.valuer.value(year, t, c, age0 + h), sale_of_old=sale,
                   margin_mxn_per_km=margin * (1.0 + uplift),
                   lost_revenue_share=ctx.effects.lost_revenue_share[rep],
                   charger_mxn=charger_mxn, loan_principal=principal, loan_rate=rate,
                   loan_term_months=term)

    def finance(j, price, t, zev, used, guarantee):
        """Best way to pay `price` in column j: cash, or the cheapest loan approved."""
        best_rate = np.full(n, np.inf)
        best_lender = np.full(n, -1)
        best_down = np.zeros(n)
        for lender in ctx.lenders:
            s = lender.spec
            serves = lender.serves_band[band].copy()
            if s.technologies_served is not None:
                serves &= np.isin(t, s.technologies_served)
            if used and not s.serves_used:
                serves &= False
            down_share = s.used_down_payment_share if used else s.down_payment_share
            down = price * down_share
            rate = lender.rate(band, zev)
            score = credit_score(spec, loan_mxn=price - down, guarantee_share=guarantee,
                                 **score_base)
            ok = (serves & (score >= s.min_score) & (cash >= down) & (price > 0)
                  & (lender.quota_left() >= 1))
            better = ok & (rate < best_rate)
            best_rate = np.where(better, rate, best_rate)
            best_lender = np.where(better, lender.index, best_lender)
            best_down = np.where(better, down, best_down)
        loan_ok = best_lender >= 0
        cash_ok = cash >= price
        principal = np.where(loan_ok, price - best_down, 0.0)
        rate = np.where(loan_ok, best_rate, 0.0)
        # (index -1, no lender, picks the trailing placeholder term)
        term = np.array([x.spec.term_months for x in ctx.lenders] + [60])[best_lender]
        gain = financing_cost(principal, rate, term, r, h)
        # an operator paying cash when it could borrow more cheaply than it discounts, borrows
        use_loan = loan_ok & (~cash_ok | (gain < 0))
        cols["principal"][:, j] = np.where(use_loan, principal, 0.0)
        cols["rate"][:, j] = np.where(use_loan, rate, 0.0)
        lender_of[:, j] = np.where(use_loan, best_lender, -1)
        fin_ok[:, j] = loan_ok | cash_ok
        term_used = np.where(use_loan, term, 60)
        return cols["principal"][:, j], cols["rate"][:, j], term_used

    rows_all = np.arange(n)
    fin_line = np.zeros((n, k))
    for j in range(k):
        kind, item = layout.kind[j], layout.item[j]
        if kind == KEEP:
            ok = has & ~rv.eol
            lines = vehicle_lines(cur_t, cur_r, rv.age_years, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 60)
            rep = tables.reported(cur_t, cur_r)
            feasible[:, j] = ok
            family[:, j] = tables.family_reported[rep]
            familiar[:, j] = True
            util[:, j] = (-beta * lines["total"] / 1e6 + consts[rep]
                          + taste["keep"][band])
            rep_tech[:, j] = cur_t
            continue
        if kind == LEAVE:
            feasible[:, j] = True
            familiar[:, j] = True
            util[:, j] = -beta * (-sale_of_old) / 1e6
            continue
        if kind == RETROFIT:
            retro = np.full(n, item)
            spec_r = spec.retrofits[tables.retrofit_names[item - 1]]
            ok = (has & ~rv.eol & (cur_r == 0)
                  & np.isin(cur_t, [tables.tech_code[x] for x in spec_r.applies_to])
                  & (rv.age_years <= spec_r.max_age_years))
            if spec_r.needs_ulsd:
                ok &= ctx.ulsd[ops.region[rv.owner]]
            gross = year.retrofit_price_mxn[item, c]
            subsidy = np.minimum(ctx.effects.retrofit_subsidy_mxn[item, c], gross)
            in_deal = (deal > 0) & _deal_retrofit(spec, deal, tables.retrofit_names[item - 1],
                                                  rv.age_years)
            cofin = np.where(in_deal, (gross - subsidy) * _deal_field(spec, deal, "cofinance"),
                             0.0)
            price = gross - subsidy - cofin
            t_after, age0, sale, charge = cur_t, rv.age_years, 0.0, 0.0
            name = tables.retrofit_names[item - 1]
            zev = np.zeros(n, bool)
            used = False
            rep = tables.reported(cur_t, retro)
            t_code_for_lender = np.full(n, name, dtype=object)
        else:
            retro = np.zeros(n, np.intp)
            if kind == NEW:
                t_after = np.full(n, item)
                gross = year.price_mxn[item, c]
                ok = ~np.isnan(gross) & ctx.effects.new_allowed[item, c]
                gross = np.nan_to_num(gross)
                subsidy = np.minimum(ctx.effects.purchase_subsidy_mxn[item, c], gross)
                in_deal = (deal > 0) & has & _deal_replace(spec, deal, tables.tech_names[item],
                                                          rv.age_years)
                cofin = np.where(in_deal,
                                 (gross - subsidy) * _deal_field(spec, deal, "cofinance"), 0.0)
                age0 = np.zeros(n)
                charge = np.where(tables.needs_charger[item], charger[c], 0.0)
                used = False
            else:
                subsidy = np.zeros(n)
                cofin = np.zeros(n)
                in_deal = np.zeros(n, bool)
                charge = 0.0
                used = True
                if kind == USED:
                    m = ctx.market
                    ok = m.used_count[c] > 0
                    t_after = m.used_tech[c].astype(np.intp)
                    age0 = m.used_age[c]
                    gross = (ctx.valuer.value(year, t_after, c, age0)
                             * m.used_multiplier[c])
                else:
                    offer = ctx.market.import_offer
                    if offer is None:
                        continue
                    age0 = np.full(n, offer[0])
                    t_after = np.full(n, offer[1])
                    gross = (ctx.valuer.value(year, t_after, c, age0)
                             * (1.0 + ctx.market.import_cost_share))
                    ok = np.ones(n, bool)
            price = gross - subsidy - cofin
            sale = np.where(in_deal, scrap_value, sale_of_old)
            sale = np.where(has, sale, 0.0)
            zev = tables.zev_reported[t_after]
            rep = t_after
            t_code_for_lender = np.asarray(tables.tech_names, dtype=object)[t_after]
        guarantee = np.where(in_deal, _deal_field(spec, deal, "guarantee"), 0.0)
        uplift = np.where(in_deal, _deal_field(spec, deal, "uplift"), 0.0)
        principal, rate, term = finance(j, price, t_code_for_lender, zev, used,
                                                  guarantee)
        lines = vehicle_lines(t_after, retro, age0, price, sale, uplift, charge, principal,
                              rate, term)
        feasible[:, j] = ok
        family[:, j] = tables.family_reported[rep]
        familiar[:, j] = owned[rows_all, family[:, j]]
        util[:, j] = -beta * lines["total"] / 1e6 + consts[rep]
        fin_line[:, j] = lines["financing"]
        cols["price"][:, j] = price
        cols["subsidy"][:, j] = subsidy
        cols["cofin"][:, j] = cofin
        scrap_old[:, j] = in_deal | rv.eol
        deal_of[:, j] = np.where(in_deal, deal, 0)
        rep_tech[:, j] = t_after

    # perceived risk of unfamiliar families, from peers (Bass p + q F)
    d = spec.decisions
    share = ctx.peers.neighbour_share(ctx.uses, rv.owner)  # [row, family]
    pi = bass_probability(d.outside_p, d.peer_q, share[rows_all[:, None], family])
    both = feasible & fin_ok
    n_fam = (both & familiar).sum(axis=1, keepdims=True)
    premium = np.where(familiar, 0.0, risk_premium(pi, n_fam))
    u = util - premium

    gumbel = rng.gumbel(size=(n, k))
    wanted = logit_choice(u, feasible, rng, gumbel)
    choice = logit_choice(u, both, rng, gumbel)
    declined = (wanted >= 0) & ~fin_ok[rows_all, np.maximum(wanted, 0)]
    # a lender's yearly quota: first come, first served; the rest choose again, paying cash
    # where they can (the loan's financing line leaves their utility)
    for _ in range(3):
        over = _over_quota(choice, lender_of, ctx.lenders, rng)
        if not len(over):
            break
        declined[over] = True
        # they lose every offer of the lender whose quota ran out
        rr, jj = np.nonzero(lender_of[over] == lender_of[over, choice[over]][:, None])
        rr = over[rr]
        both[rr, jj] &= cols["price"][rr, jj] <= cash[rr]
        u[rr, jj] += beta[rr] * fin_line[rr, jj] / 1e6
        lender_of[rr, jj] = -1
        cols["principal"][rr, jj] = 0.0
        cols["rate"][rr, jj] = 0.0
        choice[over] = logit_choice(u[over], both[over], rng, gumbel[over])

    pick = np.maximum(choice, 0)
    take = lambda a: np.where(choice >= 0, a[rows_all, pick], 0)  # noqa: E731
    return Decision(
        option=choice,
        kind=np.where(choice >= 0, layout.kind[pick], -1),
        item=np.where(choice >= 0, layout.item[pick], -1),
        price=take(cols["price"]),
        subsidy=take(cols["subsidy"]),
        cofinance=take(cols["cofin"]),
        lender=np.where(choice >= 0, lender_of[rows_all, pick], -1),
        principal=take(cols["principal"]),
        rate=take(cols["rate"]),
        deal=take(deal_of),
        scrap_old=np.where(choice >= 0, scrap_old[rows_all, pick], False),
        declined=declined,
        rep_tech=take(rep_tech),
        extra={"utility": u, "feasible": both},
    )


def _over_quota(choice, lender_of, lenders, rng) -> np.ndarray:
    """Rows whose chosen loan is past its lender's yearly quota (in a random order)."""
    rows = np.flatnonzero(choice >= 0)
    lend = lender_of[rows, choice[rows]]
    over = []
    for lender in lenders:
        mine = rows[lend == lender.index]
        room = int(np.floor(max(lender.quota_left(), 0.0)))
        if len(mine) > room:
            over.append(rng.permutation(mine)[room:])
    return np.concatenate(over) if over else np.zeros(0, np.int64)


def _deal_field(spec: Scenario, deal: np.ndarray, what: str) -> np.ndarray:
    """A partnership's term for each row's deal (deal = partnership index + 1, 0 = none)."""
    values = {"cofinance": [p.cofinance_share for p in spec.partnerships],
              "guarantee": [p.guarantee_share for p in spec.partnerships],
              "uplift": [p.contract_uplift_share for p in spec.partnerships]}[what]
    table = np.array([0.0, *values])
    return table[deal]


def _deal_retrofit(spec, deal, retrofit_name, age) -> np.ndarray:
    ok = np.zeros(len(deal), bool)
    for i, p in enumerate(spec.partnerships, start=1):
        if retrofit_name in p.retrofit_technologies:
            ok |= (deal == i) & (age <= p.retrofit_max_age_years)
    return ok


def _deal_replace(spec, deal, tech_name, age) -> np.ndarray:
    ok = np.zeros(len(deal), bool)
    for i, p in enumerate(spec.partnerships, start=1):
        if tech_name in p.replacement_technologies:
            ok |= (deal == i) & (age >= p.replace_min_age_years)
    return ok
