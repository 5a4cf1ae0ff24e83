"""Carrying out a month's decisions: retrofits, sales and scrapping of the vehicles that go,
purchases, public money for what was actually done, payments and loans."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import cashflow
from .decisions import Reviews
from .options import IMPORT, KEEP, LEAVE, NEW, RETROFIT, USED

if TYPE_CHECKING:
    from .model import FleetModel


def carry_out(model: FleetModel, rv: Reviews, d, used_supply: np.ndarray, m: int) -> None:
    """Carry out the choices: retrofits, sales and scrapping of old vehicles, purchases,
    payments and loans."""
    reg, ops, fl = model.registry, model.operator_arrays, model.flows
    has = rv.row >= 0
    year = model.year_tables(m)
    econ_scrap = np.array([c.economics.scrap_value_mxn for c in model.spec.classes.values()])
    band = ops.band[rv.owner]
    fl.declined += int(d.declined.sum())
    fl.reviews += int(has.sum())

    # retrofits: the vehicle stays, its engine now behind a filter
    fit = np.flatnonzero(d.kind == RETROFIT)
    if len(fit):
        model.vehicles.refit(rv.row[fit], d.item[fit], d.deal[fit])
        fl.retrofits += len(fit)
        fl.partnership_retrofits += int((d.deal[fit] > 0).sum())

    # buyers of used vehicles take a listing of their class; one who finds none this month
    # keeps what it has (at the end of life, or for a growth purchase: goes without)
    cls = rv.vclass
    used_buyers = np.flatnonzero(d.kind == USED)
    matched = model.used_market.match(reg, cls[used_buyers], rv.owner[used_buyers], model.rng)
    imp_all = np.flatnonzero(d.kind == IMPORT)
    imp_age, imp_tech = (model.imports.draw(len(imp_all), m, model.regulator.import_rule,
                                            model.rng)
                         if len(imp_all) else (np.zeros(0, np.int32), np.zeros(0, np.int8)))
    # a buyer counting on a scrappage bonus takes only a replacement young enough for it
    age_used = np.where(matched >= 0, (m - reg.cols["birth_month"][np.maximum(matched, 0)])
                        / 12.0, 0.0)
    matched[_too_old(model, d, used_buyers, age_used)] = -1
    refused = _too_old(model, d, imp_all, imp_age / 12.0)
    imp, imp_age, imp_tech = imp_all[~refused], imp_age[~refused], imp_tech[~refused]
    unmet = np.concatenate([used_buyers[matched < 0], imp_all[refused]])
    d.kind[unmet] = np.where(has[unmet] & ~rv.eol[unmet], KEEP, LEAVE)
    fl.used_unmet += len(unmet)
    d.scrap_bonus[unmet] = 0.0  # a bonus for replacing needs the replacement
    d.bonus_claim[unmet] = -1
    d.scrap_old[unmet] &= rv.eol[unmet] | (d.deal[unmet] > 0)

    # the vehicles that go: replaced, left, or at the end of life with nothing chosen
    goes = has & (d.kind != KEEP) & (d.kind != RETROFIT)
    old_value = model.valuer.value(year, rv.tech.astype(np.intp), cls, rv.age_years) * \
        model.used_market.multiplier[cls]
    scrap_pay = econ_scrap[cls] + d.scrap_bonus
    # a vehicle that goes is scrapped at the end of its life, under a partnership, or when
    # scrapping (with any bonus) pays at least what the used market would; else it is sold
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
    fl.early_replacements += int((has & ~rv.eol & np.isin(d.kind, [NEW, USED, IMPORT]))
                                 .sum())
    _pay_public(model, d.bonus_claim, d.scrap_bonus, to_scrap, band, "scrap_bonus_mxn")
    fl.growth_unmet += int((rv.growth & (d.kind != NEW) & (d.kind != USED)
                            & (d.kind != IMPORT)).sum())

    # purchases
    buy = np.flatnonzero(np.isin(d.kind, [NEW, USED, IMPORT]))
    got_row = np.full(len(rv), -1, np.int64)
    ok_used = used_buyers[matched >= 0]
    if len(ok_used):
        rows = matched[matched >= 0]
        # the buyer drives it as much as the vehicle it replaces (what its choice assumed)
        buyer = rv.owner[ok_used].astype(np.int32)
        model.vehicles.change_owner(rows, buyer, ops.region[buyer],
                                    model.rng.integers(0, 12, size=len(rows)),
                                    rv.km_new[ok_used])
        got_row[ok_used] = rows
        fl.entered_used += len(rows)
        fl.used_sales_mxn += float(d.price[ok_used].sum())
    if len(imp):
        got_row[imp] = model.add_vehicles(rv.owner[imp].astype(np.int32),
                                          cls[imp].astype(np.int8), imp_tech, imp_age,
                                          origin=2, km_new=rv.km_new[imp])
        fl.entered_import += len(imp)
        fl.purchase_import_mxn += float(d.price[imp].sum())
    new = buy[d.kind[buy] == NEW]
    if len(new):
        got_row[new] = model.add_vehicles(rv.owner[new].astype(np.int32),
                                          cls[new].astype(np.int8),
                                          d.item[new].astype(np.int8),
                                          np.zeros(len(new), np.int32), origin=1,
                                          km_new=rv.km_new[new], deal=d.deal[new])
        fl.entered_new += len(new)
        fl.purchase_new_mxn += float((d.price[new] + d.subsidy[new] + d.cofinance[new])
                                     .sum())
        fl.partnership_replacements += int((d.deal[new] > 0).sum())
    took = got_row >= 0
    took[fit] = True
    _pay_public(model, d.subsidy_claim, d.subsidy, took, band, "subsidy_mxn")
    zev = model.tables.zev_reported[d.item[new]] if len(new) else np.zeros(0, bool)
    model.regulator.observe_new_sales(cls[new], zev)
    fl.partnership_cofinance_mxn += float(d.cofinance[got_row >= 0].sum()
                                          + d.cofinance[fit].sum())

    # payments: cash down, the rest lent
    paid = np.concatenate([fit, np.flatnonzero(got_row >= 0)])
    cashflow.pay(model, rv, d, paid, np.where(got_row >= 0, got_row,
                                             np.where(rv.row >= 0, rv.row, -1)))
    demand = np.bincount(cls[used_buyers], minlength=len(model.class_names))  # incl. unmet
    model.used_market.update_prices(demand.astype(float), used_supply.astype(float))


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
