"""Policy instruments at run time: the terms each one offers this month, its budget, and the
access limits that cost a vehicle part of its revenue.

A spending instrument (purchase subsidy, retrofit subsidy, scrappage bonus) becomes an `Offer`:
masks of who and what is eligible, and an amount. Decisions price every eligible option with the
best offer of its kind; the `Budget` then lets claims through first come, first served, so no
budget is ever exceeded; what was claimed but not taken up (a used buyer who found no truck) is
never spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fleetsim.scenarios import SIZE_BANDS

NO_LIMIT = np.inf


class Budget:
    """What is left to a spending instrument, at the sample's scale: MXN for the whole run and
    units per calendar year. Units reserved for a band serve that band first; the rest is a
    pool any band may use."""

    def __init__(self, mxn: float | None, units_per_year: int | None,
                 reserved: dict[str, float], fraction: float):
        self.mxn_left = NO_LIMIT if mxn is None else mxn * fraction
        self.units = None if units_per_year is None else units_per_year * fraction
        self.reserved_share = np.array([reserved.get(b, 0.0) for b in SIZE_BANDS])
        self.units_left = np.zeros(len(SIZE_BANDS) + 1)  # per band's reserve, then the pool
        self.new_year()

    def reconfigure(self, mxn: float | None, units_per_year: int | None,
                    reserved: dict[str, float], fraction: float, spent: float) -> None:
        """New terms mid-run: money left is the new budget less what was spent; this year's
        units left move by the change in the yearly quota."""
        self.mxn_left = NO_LIMIT if mxn is None else mxn * fraction - spent
        old_units, old_share = self.units, self.reserved_share
        self.units = None if units_per_year is None else units_per_year * fraction
        self.reserved_share = np.array([reserved.get(b, 0.0) for b in SIZE_BANDS])
        if self.units is None or old_units is None:
            self.new_year()
            return
        used = np.concatenate([old_share, [1.0 - old_share.sum()]]) * old_units - self.units_left
        full = np.concatenate([self.reserved_share, [1.0 - self.reserved_share.sum()]])
        self.units_left = np.maximum(full * self.units - used, 0.0)

    def available(self, amount: np.ndarray, band: np.ndarray) -> np.ndarray:
        """Whether one more claim of `amount` by a firm of `band` could be paid now."""
        units = (self.units_left[band] >= 1.0 - 1e-9) | (self.units_left[-1] >= 1.0 - 1e-9)
        return units & (amount <= self.mxn_left + 1e-6)

    def new_year(self) -> None:
        """Unit quotas start afresh each year; unused reservations lapse."""
        if self.units is None:
            self.units_left[:] = NO_LIMIT
        else:
            self.units_left[:-1] = self.reserved_share * self.units
            self.units_left[-1] = self.units * (1.0 - self.reserved_share.sum())

    def fits(self, amounts: np.ndarray, bands: np.ndarray) -> np.ndarray:
        """Which claims, taken in the order given, fit in what is left."""
        ok = np.zeros(len(amounts), bool)
        mxn, units = self.mxn_left, self.units_left.copy()
        for i, (a, b) in enumerate(zip(amounts, bands, strict=True)):
            slot = b if units[b] >= 1.0 - 1e-9 else len(SIZE_BANDS)
            if a <= mxn + 1e-6 and units[slot] >= 1.0 - 1e-9:
                ok[i] = True
                mxn -= a
                units[slot] -= 1.0
        return ok

    def spend(self, amounts: np.ndarray, bands: np.ndarray) -> float:
        """Draw down what was actually paid; returns the total."""
        for a, b in zip(amounts, bands, strict=True):
            slot = b if self.units_left[b] >= 1.0 - 1e-9 else len(SIZE_BANDS)
            self.units_left[slot] -= 1.0
            self.mxn_left -= a
        return float(np.sum(amounts))

    @property
    def open(self) -> bool:
        return self.mxn_left > 1e-6 and self.units_left.max() >= 1.0 - 1e-9


@dataclass
class Offer:
    """One active spending instrument's terms this month."""

    index: int  # position among the regulator's instruments (names its spending)
    items: np.ndarray  # bool [technology] (purchase) or [retrofit code] (retrofit)
    classes: np.ndarray  # bool [class]
    bands: np.ndarray  # bool [band]
    regions: np.ndarray  # bool [region]
    amount_mxn: float
    max_share: float = 1.0
    min_age: float = 0.0
    max_age: float = np.inf
    kinds: tuple[str, ...] = ()  # scrappage: the replacements that earn the bonus
    max_replacement_age: float = np.inf
    budget: Budget | None = None  # what is left: an offer is made only if it can be paid

    def eligible(self, vclass, band, region, age) -> np.ndarray:
        return (self.classes[vclass] & self.bands[band] & self.regions[region]
                & (age >= self.min_age) & (age <= self.max_age))


def best_offer(offers: list[Offer], vclass, band, region, age, price=np.inf, item=None,
               ok=None, second: bool = False):
    """For each row, the most generous eligible offer (on `item`, if given) that its budget
    can still pay: its amount in MXN (capped by max_share of `price`) and its instrument
    index, -1 where none applies. `ok` narrows the rows further (e.g. a scrappage bonus's
    replacement age). With `second`, also the next most generous offer of another instrument
    (amount, index): where a buyer goes if the first runs out this month."""
    n = len(vclass)
    amount, which = np.zeros(n), np.full(n, -1, np.int64)
    amount2, which2 = np.zeros(n), np.full(n, -1, np.int64)
    for o in offers:
        if item is not None and not o.items[item]:
            continue
        good = o.eligible(vclass, band, region, age)
        if ok is not None:
            good &= ok(o)
        a = np.where(good, np.minimum(o.amount_mxn, o.max_share * price), 0.0)
        if o.budget is not None:
            a = np.where(o.budget.available(a, band), a, 0.0)
        better = a > amount
        runner = ~better & (a > amount2)
        amount2[better], which2[better] = amount[better], which[better]
        amount2[runner], which2[runner] = a[runner], o.index
        amount[better], which[better] = a[better], o.index
    if second:
        return amount, which, amount2, which2
    return amount, which


@dataclass
class Access:
    """Revenue lost to access limits (curfews, low-emission zones, circulation limits), as a
    table [cover, reported technology, class, region]; cover 0 = not covered by a green-freight
    programme, p + 1 = covered by programme p (member firm, covered technology, young enough)."""

    lost: np.ndarray
    member_of: np.ndarray  # [operator] programme index, -1 none
    covered: np.ndarray  # bool [programme, reported technology]
    cover_max_age: np.ndarray  # [programme] years
    cover_class: np.ndarray  # bool [programme, class]
    cover_region: np.ndarray  # bool [programme, region]

    def cover(self, owner, rep, vclass, region, age) -> np.ndarray:
        """0, or the programme (+1) that covers each vehicle."""
        p = self.member_of[owner].astype(np.intp)
        if not len(self.cover_max_age):
            return np.zeros(len(p), np.intp)
        q = np.maximum(p, 0)
        ok = ((p >= 0) & self.covered[q, rep] & (age <= self.cover_max_age[q])
              & self.cover_class[q, vclass] & self.cover_region[q, region])
        return np.where(ok, p + 1, 0)

    def lost_share(self, owner, rep, vclass, region, age) -> np.ndarray:
        return self.lost[self.cover(owner, rep, vclass, region, age), rep, vclass, region]


@dataclass
class FleetRule:
    """Zero-emission fleet rules in force: which firms and classes are bound, and the age at
    which their other vehicles must go."""

    bound: np.ndarray  # bool [operator, class]
    legacy_age: np.ndarray  # [operator, class] years (inf where not bound)

    def forced_out(self, owner, vclass, age, zev) -> np.ndarray:
        return self.bound[owner, vclass] & ~zev & (age >= self.legacy_age[owner, vclass])


@dataclass
class PolicyEffects:
    """What policy adds to or takes from the options operators weigh this month. Arrays are
    indexed like the model's technology tables; the regulator's instruments fill them."""

    new_allowed: np.ndarray  # [tech, class]: may be bought new (standards)
    price_adjust_mxn: np.ndarray  # [tech, class]: added to a new vehicle's price (feebates)
    fuel_surcharge_mxn: np.ndarray  # [tech]: per fuel unit (carbon price)
    access: Access
    fleet_rule: FleetRule
    purchase: list[Offer] = field(default_factory=list)
    retrofit: list[Offer] = field(default_factory=list)
    scrappage: list[Offer] = field(default_factory=list)

    @classmethod
    def neutral(cls, n_tech: int, n_class: int, n_retrofit: int, n_region: int,
                n_operator: int) -> PolicyEffects:
        n_rep = n_tech + n_retrofit
        return cls(
            new_allowed=np.ones((n_tech, n_class), bool),
            price_adjust_mxn=np.zeros((n_tech, n_class)),
            fuel_surcharge_mxn=np.zeros(n_tech),
            access=Access(np.zeros((1, n_rep, n_class, n_region)),
                          np.full(n_operator, -1, np.int8), np.zeros((0, n_rep), bool),
                          np.zeros(0), np.zeros((0, n_class), bool),
                          np.zeros((0, n_region), bool)),
            fleet_rule=FleetRule(np.zeros((n_operator, n_class), bool),
                                 np.full((n_operator, n_class), np.inf)),
        )
