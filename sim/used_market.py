"""The domestic used-truck market: vehicles that fleets sell while still fit wait here for a
buyer, at a price set by age, engine standard and, per class, by supply and demand."""

from __future__ import annotations

import numpy as np

from fleetsim.scenarios import Scenario

from .registry import LISTED, VehicleRegistry


class UsedMarket:
    def __init__(self, spec: Scenario, n_class: int, n_tech: int):
        self.p = spec.used_market
        self.n_class, self.n_tech = n_class, n_tech
        self.multiplier = np.ones(n_class)

    def listings(self, reg: VehicleRegistry) -> np.ndarray:
        return reg.in_state(LISTED)

    def stats(self, reg: VehicleRegistry, month: int):
        """Per class: number listed, most common engine, mean age in years."""
        rows = self.listings(reg)
        cls = reg.cols["vclass"][rows].astype(np.intp)
        count = np.bincount(cls, minlength=self.n_class)
        by_tech = np.bincount(cls * self.n_tech + reg.cols["tech"][rows],
                              minlength=self.n_class * self.n_tech).reshape(self.n_class, -1)
        age = np.bincount(cls, weights=(month - reg.cols["birth_month"][rows]) / 12.0,
                          minlength=self.n_class)
        mean_age = np.divide(age, count, out=np.zeros(self.n_class), where=count > 0)
        return count, by_tech.argmax(axis=1), mean_age

    def expiring(self, reg: VehicleRegistry, month: int) -> np.ndarray:
        """Listings unsold too long, or past their end of life: they go to scrap."""
        rows = self.listings(reg)
        old = (month - reg.cols["listed_month"][rows]) >= self.p.listing_max_months
        dead = reg.cols["death_month"][rows] <= month
        return rows[old | dead]

    def match(self, reg: VehicleRegistry, buyer_class: np.ndarray, buyer: np.ndarray,
              buyer_u: np.ndarray, listing_u: np.ndarray,
              listing_class: np.ndarray | None = None) -> np.ndarray:
        """A listed row for each buyer of that class, at random, never one the buyer itself
        put up for sale (or lost to its lender); -1 where none is left. Buyers come in the
        order of their uniforms `buyer_u` and take the listings in the order of `listing_u`
        (one per listed row, in `listings` order; sim.draws keys both, by buyer and by
        vehicle, so a preset and its baseline pair the same buyers and vehicles).
        `listing_class` (default: the vehicle class) lets a caller match finer groups."""
        rows = self.listings(reg)
        cls = reg.cols["vclass"][rows] if listing_class is None else listing_class
        seller = reg.cols["owner"][rows]
        got = np.full(len(buyer_class), -1, np.int64)
        for c in np.unique(buyer_class):
            buyers = np.flatnonzero(buyer_class == c)
            buyers = buyers[np.argsort(buyer_u[buyers], kind="stable")]
            pool = np.flatnonzero(cls == c)
            pool = pool[np.argsort(listing_u[pool], kind="stable")]
            k = min(len(buyers), len(pool))
            take, give = buyers[:k], pool[:k]
            # a buyer drawn its own listing swaps with the next buyer (rare; a short loop)
            for a in np.flatnonzero(seller[give] == buyer[take]):
                for b in range(k):
                    if seller[give[b]] != buyer[take[a]] and seller[give[a]] != buyer[take[b]]:
                        give[a], give[b] = give[b], give[a]
                        break
            ok = seller[give] != buyer[take]
            got[take[ok]] = rows[give[ok]]
        return got

    def update_prices(self, demand: np.ndarray, supply: np.ndarray) -> None:
        """Prices rise when more buyers want a class than there are listings, and fall when
        listings pile up."""
        excess = (demand - supply) / np.maximum(supply, 1.0)
        self.multiplier = np.clip(self.multiplier * (1.0 + self.p.price_adjustment
                                                     * np.clip(excess, -1.0, 1.0)),
                                  self.p.price_multiplier_min, self.p.price_multiplier_max)
