"""Operators' decisions for every vehicle under review this month, in one vectorised pass.

Each review row is a vehicle (its owner's yearly review, or its end of life) or a purchase the
growing market asks of a firm. Options, one column each: keep, fit each retrofit, buy each
technology new, buy used at home, import used, and leave (scrap or sell without replacement;
for a growth purchase: buy nothing). `decide` is the pipeline: price every option
(agents.pricing, with agents.finance), add the peer-dependent risk premium and choose by logit
(agents.choice), then ration budgets and loan quotas first come, first served
(agents.rationing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from fleetsim.scenarios import Scenario

from .choice import declined_by_finance, gumbel_draws, logit_choice, with_peer_risk
from .finance import Finance
from .instruments import PolicyEffects
from .lenders import Lender
from .options import LEAVE, RETROFIT, OptionLayout
from .peers import PeerNetwork
from .pricing import PRICE, OptionTable, Situation, TcoGrids, situation
from .rationing import BONUS, SUBSIDY, over_quota, ration

if TYPE_CHECKING:
    from .operators import OperatorSet

ROUNDS = 8  # rationing rounds; each takes at least one claim or loan away, so few settle it


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
    partnership: np.ndarray | None = None  # the vehicle's partnership (index + 1), 0 none
    key: np.ndarray | None = None  # decision key (sim.draws): the vehicle's, or the purchase's

    def partnerships(self) -> np.ndarray:
        return (np.zeros(len(self.row), np.int64) if self.partnership is None
                else self.partnership)

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


def _every_claim_fits(idx: int, mxn: np.ndarray, band: np.ndarray) -> np.ndarray:
    return np.ones(len(mxn), bool)


@dataclass
class Context:
    """What the deciders are given by the world this month (arrays and tables; agents never
    reach into the model)."""

    spec: Scenario
    tables: Any  # sim.technology.TechTables
    year: Any  # sim.technology.YearTables, with fuel prices as operators pay them
    valuer: Any  # sim.market.Valuer: what a vehicle is worth
    effects: PolicyEffects
    ops: OperatorSet
    lenders: list[Lender]
    peers: PeerNetwork
    uses: np.ndarray  # [operator, family] weights: who runs what (demonstrations weigh more)
    market: Market
    neighbour_share: np.ndarray  # [operator, family] share of neighbours running the family
    partnership_running: np.ndarray  # [partnership] in force this month
    ulsd: np.ndarray  # [region] ultra-low-sulphur diesel sold this month
    km_share: Callable[[np.ndarray], np.ndarray]  # share of new-vehicle km driven at an age
    # (instrument, MXN claims, bands) -> which claims fit what is left of its budget
    budget_fits: Callable[[int, np.ndarray, np.ndarray], np.ndarray] = _every_claim_fits
    tco_grids: TcoGrids | None = None  # the model's TCO grids kept across months (agents.pricing)
    month: int = 0  # the month decided (year * 12 + month - 1): firms' exposure to adoption


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
    partnership: np.ndarray  # partnership index + 1 the action falls under, or 0
    scrap_old: np.ndarray  # the replaced vehicle is scrapped (not sold on the used market)
    declined: np.ndarray  # the preferred option needed a loan that was refused
    rep_tech: np.ndarray  # technology of the vehicle bought (used and import: the typical one)
    extra: dict = field(default_factory=dict)


def decide(rv: Reviews, ctx: Context, draws) -> Decision:
    """Choose an option for every review row; draws (sim.draws.RowDraws) are the rows' keyed
    tastes and arrival times."""
    layout = OptionLayout(ctx.tables)
    sit = situation(rv, ctx)
    fin = Finance(ctx, rv.owner, sit.band, sit.cash, sit.taste)
    table = OptionTable.empty(len(layout), len(rv))
    for j in range(len(layout)):
        PRICE[layout.kind[j]](j, layout.item[j], rv, ctx, sit, fin, table)
    both = table.feasible & table.fin_ok
    d = ctx.spec.decisions
    exposure = ctx.ops.exposure_years(rv.owner, ctx.month)
    u = with_peer_risk(table.util, table.feasible, table.familiar, both, table.family,
                       rv.owner, ctx.neighbour_share, d.outside_p, d.peer_q, exposure,
                       layout.kind == LEAVE)
    gumbel = gumbel_draws(table.feasible, draws)
    choice = logit_choice(u.T, both.T, gumbel=gumbel)
    declined = declined_by_finance(u, table.feasible, table.fin_ok, gumbel)
    afford = partial(affordable, table, layout.kind, sit)
    settle(choice, declined, table, u, both, gumbel, afford, sit, ctx, draws.arrival)
    out = decision_of(choice, declined, layout, table, u, both)
    out.extra["exposure_years"] = exposure
    return out


def affordable(table: OptionTable, kind: np.ndarray, sit: Situation, jj: np.ndarray,
               rr: np.ndarray) -> np.ndarray:
    """The part not lent must come from cash and what the old vehicle fetches."""
    trade = np.where(kind[jj] == RETROFIT, 0.0, sit.sale_of_old[rr])
    return table.price[jj, rr] - table.principal[jj, rr] <= sit.cash[rr] + trade + 1e-6


def settle(choice, declined, table: OptionTable, u, both, gumbel, afford, sit: Situation,
           ctx: Context, arrival: np.ndarray) -> None:
    """A lender's yearly quota and an instrument's budget, first come, first served (in the
    order of the rows' `arrival`): the rest
    choose again without the loan (paying cash where they can) or without the public money;
    whatever still does not fit goes without re-choosing (rare), paying the difference."""
    for _ in range(ROUNDS):
        stripped = ration(choice, table, u, sit.beta, sit.band, ctx.budget_fits, arrival,
                          both, afford)
        over = over_quota(choice, table.lender, ctx.lenders, arrival)
        if len(stripped):
            choice[stripped] = logit_choice(u[:, stripped].T, both[:, stripped].T,
                                            gumbel=gumbel[stripped])
        if not len(over):
            if not len(stripped):
                break
            continue
        declined[over] = True
        lose_lender(table, u, both, afford, sit, choice, over)
        choice[over] = logit_choice(u[:, over].T, both[:, over].T, gumbel=gumbel[over])
    ration(choice, table, u, sit.beta, sit.band, ctx.budget_fits, arrival, both, afford)
    over = over_quota(choice, table.lender, ctx.lenders, arrival)
    declined[over] = True
    table.lender[choice[over], over] = -1
    table.principal[choice[over], over] = 0.0
    table.rate[choice[over], over] = 0.0


def lose_lender(table: OptionTable, u, both, afford, sit: Situation, choice, over) -> None:
    """Rows `over` lose every offer of the lender whose quota ran out: the loan's financing
    line leaves their utility, and they pay cash where they can."""
    jj, ri = np.nonzero(table.lender[:, over] == table.lender[choice[over], over][None, :])
    rr = over[ri]
    u[jj, rr] += sit.beta[rr] * table.fin_line[jj, rr] / 1e6
    table.lender[jj, rr] = -1
    table.principal[jj, rr] = 0.0
    table.rate[jj, rr] = 0.0
    both[jj, rr] &= afford(jj, rr)


def chosen_cells(a: np.ndarray, empty=0, *, cell: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The chosen cells of an [option, row] table (flat indices `cell`), `empty` where no
    option was chosen: a[pick, rows] as one flat take, which numpy does faster."""
    return np.where(chosen, np.take(a, cell), empty)


def decision_of(choice, declined, layout: OptionLayout, table: OptionTable, u,
                both) -> Decision:
    """The chosen option's row of every table."""
    pick = np.maximum(choice, 0)
    chosen = choice >= 0
    # [option, row] cell of each row's choice in a flattened table: one 1-D gather per table
    cell = pick * len(choice) + np.arange(len(choice))
    take = partial(chosen_cells, cell=cell, chosen=chosen)
    claims = table.claims
    return Decision(
        option=choice, kind=np.where(chosen, layout.kind[pick], -1),
        item=np.where(chosen, layout.item[pick], -1), price=take(table.price),
        subsidy=take(table.subsidy), subsidy_claim=take(claims.which[SUBSIDY], -1),
        scrap_bonus=take(claims.mxn[BONUS]), bonus_claim=take(claims.which[BONUS], -1),
        cofinance=take(table.cofin), lender=take(table.lender, -1),
        principal=take(table.principal), rate=take(table.rate),
        partnership=take(table.partnership), scrap_old=take(table.scrap_old, False),
        declined=declined, rep_tech=take(table.rep_tech),
        extra={"utility": u.T, "feasible": both.T})
