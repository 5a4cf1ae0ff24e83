"""Carrying out a month's decisions: retrofits, sales and scrapping of the vehicles that go,
purchases, public money for what was actually done, payments and loans."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fleetsim.agents.decisions import Reviews
from fleetsim.agents.options import IMPORT, KEEP, LEAVE, NEW, RETROFIT, USED

from . import cashflow
from .draws import Purpose

if TYPE_CHECKING:
    from .model import FleetModel


def carry_out(model: FleetModel, rv: Reviews, d, used_supply: np.ndarray, m: int) -> None:
    """Carry out the choices: retrofits, sales and scrapping of old vehicles, purchases,
    public money for what was done, payments and loans."""
    fl, band = model.flows, model.operator_arrays.band[rv.owner]
    fl.declined += int(d.declined.sum())
    fl.reviews += int((rv.row >= 0).sum())
    fit = refit(model, rv, d)
    used_buyers, matched, imports = find_second_hand(model, rv, d, m)
    let_go(model, rv, d, m, band)
    got_row, new = buy(model, rv, d, used_buyers, matched, imports)
    took = got_row >= 0
    took[fit] = True
    _pay_public(model, d.subsidy_claim, d.subsidy, took, band, "subsidy_mxn")
    zev = model.tables.zev_reported[d.item[new]] if len(new) else np.zeros(0, bool)
    model.regulator.observe_new_sales(rv.vclass[new], zev)
    fl.partnership_cofinance_mxn += float(d.cofinance[got_row >= 0].sum()
                                          + d.cofinance[fit].sum())
    # payments: cash down, the rest lent
    paid = np.concatenate([fit, np.flatnonzero(got_row >= 0)])
    cashflow.pay(model, rv, d, paid, np.where(got_row >= 0, got_row,
                                             np.where(rv.row >= 0, rv.row, -1)))
    demand = np.bincount(rv.vclass[used_buyers], minlength=len(model.class_names))  # incl. unmet
    model.used_market.update_prices(demand.astype(float), used_supply.astype(float))


def refit(model: FleetModel, rv: Reviews, d) -> np.ndarray:
    """Retrofits: the vehicle stays, its engine now behind a filter. Returns the rows fitted."""
    fit = np.flatnonzero(d.kind == RETROFIT)
    if len(fit):
        model.vehicles.refit(rv.row[fit], d.item[fit], d.partnership[fit])
        model.flows.retrofits += len(fit)
        model.flows.partnership_retrofits += int((d.partnership[fit] > 0).sum())
    return fit


def find_second_hand(model: FleetModel, rv: Reviews, d, m: int):
    """Buyers of used vehicles take a listing of their class, importers a vehicle the import
    rule admits; one who finds none this month keeps what it has (at the end of life, or for a
    growth purchase: goes without). Returns (used buyers, the listing each got or -1,
    (import buyers served, their vehicles' ages in months and engines))."""
    reg, has, draws = model.registry, rv.row >= 0, model.draws
    used_buyers = np.flatnonzero(d.kind == USED)
    listed = model.used_market.listings(reg)
    # a buyer takes a listing of its class and of the engine family it chose (the market's
    # typical engine): a firm adopts a family only by choosing it
    fam, n_fam = model.tables.family_reported, len(model.tables.family_names)
    matched = model.used_market.match(
        reg, rv.vclass[used_buyers] * n_fam + fam[d.rep_tech[used_buyers]],
        rv.owner[used_buyers], draws.uniform(Purpose.ARRIVAL, rv.key[used_buyers], m),
        draws.uniform(Purpose.LISTING, reg.cols["key"][listed], m),
        reg.cols["vclass"][listed].astype(np.int64) * n_fam
        + fam[model.tables.reported(reg.cols["tech"][listed], reg.cols["retrofit"][listed])])
    imp_all = np.flatnonzero(d.kind == IMPORT)
    imp_u = np.stack([draws.uniform(Purpose.IMPORT, rv.key[imp_all], m, s) for s in (0, 1)])
    imp_age, imp_tech = (model.imports.draw(len(imp_all), m, model.regulator.import_rule, imp_u)
                         if len(imp_all) else (np.zeros(0, np.int32), np.zeros(0, np.int8)))
    # a buyer counting on a scrappage bonus takes only a replacement young enough for it
    age_used = np.where(matched >= 0, (m - reg.cols["birth_month"][np.maximum(matched, 0)])
                        / 12.0, 0.0)
    matched[_too_old(model, d, used_buyers, age_used)] = -1
    matched[_barred_by_fleet_rule(model, rv, used_buyers, matched)] = -1
    refused = _too_old(model, d, imp_all, imp_age / 12.0)
    unmet = np.concatenate([used_buyers[matched < 0], imp_all[refused]])
    d.kind[unmet] = np.where(has[unmet] & ~rv.eol[unmet], KEEP, LEAVE)
    model.flows.used_unmet += len(unmet)
    d.scrap_bonus[unmet] = 0.0  # a bonus for replacing needs the replacement
    d.bonus_claim[unmet] = -1
    d.scrap_old[unmet] &= rv.eol[unmet] | (d.partnership[unmet] > 0)
    return used_buyers, matched, (imp_all[~refused], imp_age[~refused], imp_tech[~refused])


def let_go(model: FleetModel, rv: Reviews, d, m: int, band: np.ndarray) -> None:
    """The vehicles that go (replaced, left, or at the end of life with nothing chosen) are
    scrapped at the end of their life, under a partnership, or when scrapping (with any bonus)
    pays at least what a dealer would (the market value less the dealer's margin); else they
    are sold to a dealer and listed: an old truck a larger fleet replaces passes down to a
    firm that buys used, or goes to scrap when no buyer takes it (UsedMarket.expiring)."""
    ops, fl, cls, has = model.operator_arrays, model.flows, rv.vclass, rv.row >= 0
    econ_scrap = np.array([c.economics.scrap_value_mxn for c in model.spec.classes.values()])
    goes = has & (d.kind != KEEP) & (d.kind != RETROFIT)
    old_value = model.valuer.seller_gets(
        model.valuer.value(model.year_tables(m), rv.tech.astype(np.intp), cls, rv.age_years)
        * model.used_market.multiplier[cls])
    scrap_pay = econ_scrap[cls] + d.scrap_bonus
    to_scrap = goes & (rv.eol | d.scrap_old | (scrap_pay >= old_value) | (d.kind == -1))
    to_list = goes & ~to_scrap
    model.vehicles.retire(rv.row[to_scrap])
    model.vehicles.list_for_sale(rv.row[to_list], model.month)
    ops.cash += np.bincount(rv.owner[to_scrap], weights=scrap_pay[to_scrap],
                            minlength=len(ops))
    ops.cash += np.bincount(rv.owner[to_list], weights=old_value[to_list],
                            minlength=len(ops))
    fl.scrapped += int(to_scrap.sum())
    fl.listed += int(to_list.sum())
    fl.exits += int((has & ((d.kind == LEAVE) | (d.kind == -1))).sum())
    fl.early_replacements += int((has & ~rv.eol & buys(d.kind))
                                 .sum())
    _pay_public(model, d.bonus_claim, d.scrap_bonus, to_scrap, band, "scrap_bonus_mxn")
    fl.growth_unmet += int((rv.growth & (d.kind != NEW) & (d.kind != USED)
                            & (d.kind != IMPORT)).sum())


def buy(model: FleetModel, rv: Reviews, d, used_buyers, matched, imports):
    """Purchases: used listings change owner, imports and new vehicles join the fleet.
    Returns (the row each review row now drives, -1 none; the rows that bought new)."""
    fl, cls, reg = model.flows, rv.vclass, model.registry
    imp, imp_age, imp_tech = imports
    got_row = np.full(len(rv), -1, np.int64)
    ok_used = used_buyers[matched >= 0]
    if len(ok_used):
        rows = matched[matched >= 0]
        # the buyer drives it as much as the vehicle it replaces (what its choice assumed)
        buyer = rv.owner[ok_used].astype(np.int32)
        model.vehicles.change_owner(rows, buyer, model.operator_arrays.region[buyer],
                                    model.draws.integers(Purpose.REVIEW, reg.cols["key"][rows],
                                                         12, model.month),
                                    rv.km_new[ok_used])
        got_row[ok_used] = rows
        fl.entered_used += len(rows)
        fl.used_sales_mxn += float(d.price[ok_used].sum())
    if len(imp):
        got_row[imp] = model.add_vehicles(rv.owner[imp].astype(np.int32),
                                          cls[imp].astype(np.int8), imp_tech, imp_age,
                                          origin=2, keys=model.draws.children(rv.key[imp],
                                                                              model.month),
                                          km_new=rv.km_new[imp])
        fl.entered_import += len(imp)
        fl.purchase_import_mxn += float(d.price[imp].sum())
    buyers = np.flatnonzero(buys(d.kind))
    new = buyers[d.kind[buyers] == NEW]
    if len(new):
        got_row[new] = model.add_vehicles(rv.owner[new].astype(np.int32),
                                          cls[new].astype(np.int8),
                                          d.item[new].astype(np.int8),
                                          np.zeros(len(new), np.int32), origin=1,
                                          keys=model.draws.children(rv.key[new], model.month),
                                          km_new=rv.km_new[new], partnership=d.partnership[new])
        fl.entered_new += len(new)
        fl.purchase_new_mxn += float((d.price[new] + d.subsidy[new] + d.cofinance[new])
                                     .sum())
        fl.partnership_replacements += int((d.partnership[new] > 0).sum())
    return got_row, new


def _pay_public(model: FleetModel, claim, amount, paid, band, flow: str) -> None:
    """Public money goes out only for what was carried out, from the instrument claimed."""
    for idx in np.unique(claim[paid & (claim >= 0)]):
        sel = paid & (claim == idx) & (amount > 0)
        total = model.regulator.spend(int(idx), amount[sel], band[sel])
        setattr(model.flows, flow, getattr(model.flows, flow) + total)


def _too_old(model: FleetModel, d, rows: np.ndarray, age_years: np.ndarray) -> np.ndarray:
    """Which of these replacements (bought by `rows`) are older than the scrappage bonus their
    buyer claims allows (options were priced on the market's mean age)."""
    limit = np.array([getattr(x, "max_replacement_age_years", None) or np.inf
                      for _, x in model.regulator.instruments] + [np.inf])
    claim = d.bonus_claim[rows]
    return (claim >= 0) & (age_years > limit[claim])


def _barred_by_fleet_rule(model: FleetModel, rv: Reviews, buyers: np.ndarray,
                          matched: np.ndarray) -> np.ndarray:
    """Which used listings matched to these buyers a zero-emission fleet rule bars them from
    (a bound firm chose the used option on the market's typical engine; the listing it drew
    may be another)."""
    bound = model.regulator.effects.fleet_rule.bound
    if not bound.any() or not len(buyers):
        return np.zeros(len(buyers), bool)
    tech = model.registry.cols["tech"][np.maximum(matched, 0)]
    return ((matched >= 0) & bound[rv.owner[buyers], rv.vclass[buyers]]
            & ~model.tables.zev_reported[tech])


def buys(kind: np.ndarray) -> np.ndarray:
    """Rows whose option brings a vehicle (new, used, import): three comparisons cost less than
    np.isin's set-up, twice a month."""
    return (kind == NEW) | (kind == USED) | (kind == IMPORT)
