"""The used cascade: an old truck a large fleet replaces is sold (its value levels off above
scrap) and passes down to a smaller firm that buys used, instead of going to scrap; with the
old pure declining-balance value (no plateau, no dealer) the same truck was scrapped."""

from __future__ import annotations

import numpy as np
import pytest

from fleetsim.agents.decisions import Decision, Reviews
from fleetsim.agents.options import NEW, USED
from fleetsim.scenarios import SIZE_BANDS
from fleetsim.sim import FleetModel
from fleetsim.sim.carry_out import buy, find_second_hand, let_go
from fleetsim.sim.registry import ACTIVE, GONE, LISTED

OLD_RULE = {"market.resale_value_plateau_share.value": 0.0,
            "market.dealer_margin_share.value": 0.0}
AGE = 20.0  # years: 0.82 ** 20 x a 2004-standard tractor's value is under its scrap value


def decision(kind: np.ndarray) -> Decision:
    n = len(kind)
    z, minus = np.zeros(n), np.full(n, -1, np.int64)
    return Decision(option=np.zeros(n, np.int64), kind=kind.astype(np.int64),
                    item=np.zeros(n, np.int64), price=np.full(n, 3e5), subsidy=z.copy(),
                    subsidy_claim=minus.copy(), scrap_bonus=z.copy(), bonus_claim=minus.copy(),
                    cofinance=z.copy(), lender=minus.copy(), principal=z.copy(), rate=z.copy(),
                    partnership=np.zeros(n, np.int64), scrap_old=np.zeros(n, bool),
                    declined=np.zeros(n, bool), rep_tech=np.zeros(n, np.int64))


def reviews(model: FleetModel, rows: np.ndarray, owners: np.ndarray, vclass: int,
            ages: np.ndarray) -> Reviews:
    reg, n = model.registry, len(owners)
    has = rows >= 0
    safe = np.maximum(rows, 0)
    return Reviews(row=rows, owner=owners.astype(np.int64), vclass=np.full(n, vclass, np.intp),
                   tech=np.where(has, reg.cols["tech"][safe], 0).astype(np.int8),
                   retrofit=np.zeros(n, np.int8), age_years=ages,
                   km_new=np.full(n, 8e4), eol=np.zeros(n, bool), growth=~has,
                   partnership=np.zeros(n, np.int64),
                   key=np.arange(n, dtype=np.int64) + 2 * 10**12)


def old_large_truck(model: FleetModel) -> tuple[int, int, int]:
    """(row, owner, class) of a AGE-year-old T3 with its model year's engine, joining a large
    fleet."""
    ops = model.operator_arrays
    t3 = model.tables.class_code["T3"]
    owner = int(np.flatnonzero(ops.band == SIZE_BANDS.index("large"))[0])
    row = model.add_vehicles(np.array([owner], np.int32), np.array([t3], np.int8),
                             np.array([model.tables.tech_code["diesel_epa2004"]], np.int8),
                             np.array([int(AGE * 12)], np.int32), origin=1,
                             keys=np.array([10**12], np.int64))
    return int(row[0]), owner, t3


def replace_old_truck(overrides: dict) -> tuple[FleetModel, int, int]:
    model = FleetModel("mexico_national", rng=5, sample_fraction=0.002, overrides=overrides)
    model.step()
    row, owner, t3 = old_large_truck(model)
    rv = reviews(model, np.array([row]), np.array([owner]), t3, np.array([AGE]))
    model.flows = type(model.flows)()  # count only what this replacement does
    let_go(model, rv, decision(np.array([NEW])), model.month,
           model.operator_arrays.band[rv.owner])
    return model, row, t3


def test_an_old_truck_is_sold_not_scrapped_when_its_value_levels_off():
    model, row, _ = replace_old_truck({})
    assert model.registry.cols["state"][row] == LISTED
    assert model.flows.listed == 1 and model.flows.scrapped == 0
    old, old_row, _ = replace_old_truck(OLD_RULE)
    assert old.registry.cols["state"][old_row] == GONE  # the old rule scrapped it
    assert old.flows.scrapped == 1


def test_the_listed_truck_goes_down_a_size_band_when_a_buyer_exists():
    model, row, t3 = replace_old_truck({})
    vid = model.registry.cols["vid"][row]
    ops = model.operator_arrays
    micro = np.flatnonzero(ops.band == SIZE_BANDS.index("micro"))
    buyer = micro[:1]
    m = model.month
    # every other T3 listing is taken off so that the buyer can only find ours
    listed = model.used_market.listings(model.registry)
    others = listed[(model.registry.cols["vclass"][listed] == t3) & (listed != row)]
    model.vehicles.scrap_listings(others)
    rv = reviews(model, np.array([-1]), buyer, t3, np.array([0.0]))
    d = decision(np.array([USED]))
    model.flows = type(model.flows)()
    used_buyers, matched, imports = find_second_hand(model, rv, d, m)
    assert matched.tolist() == [row]
    got_row, _ = buy(model, rv, d, used_buyers, matched, imports)
    r = model.registry.rows_of(np.array([vid]))[0]
    assert got_row.tolist() == [r]
    assert model.registry.cols["state"][r] == ACTIVE
    new_owner = model.registry.cols["owner"][r]
    assert ops.band[new_owner] == SIZE_BANDS.index("micro")  # from a large fleet, down
    assert model.flows.entered_used == 1


@pytest.mark.parametrize("age", [2.0, 8.0, 18.0, 30.0])
def test_a_seller_gets_the_value_less_the_dealer_margin(age):
    model = FleetModel("mexico_national", rng=5, sample_fraction=0.002)
    v = model.valuer
    year = model.year_tables(model.start_month)
    t3 = model.tables.class_code["T3"]
    tech = model.tables.tech_code["diesel_epa2010"]
    value = v.value(year, np.array([tech]), np.array([t3]), np.array([age]))
    assert v.seller_gets(value) == pytest.approx(value * (1 - v.dealer_margin))


def test_with_no_buyer_the_listed_truck_goes_to_scrap_when_its_listing_expires():
    model, row, _ = replace_old_truck({})
    months = model.spec.used_market.listing_max_months
    reg, market = model.registry, model.used_market
    assert row not in market.expiring(reg, model.month + months - 1)
    assert row in market.expiring(reg, model.month + months)  # unsold a listing's life
