"""The federal register as the statistics count it: working trucks, trucks for sale, and trucks
that left service but are still on the register.

De-registration in Mexico is not automatic (docs/sources.md B1, B3: DGAF needed a procedure of
its own for leased units; net register growth about equals new plating, so de-registrations are
near zero; 1960 model-year trucks were still registered in 2018). A scrapped truck therefore
stays registered for a while: here for an exponentially distributed time with the scenario's
mean (`registration.deregistration_lag_years`, [E]), kept as an expected count, so no random draw
is needed: each month a share exp(-1 / (12 * lag)) of the dormant trucks stays on the register.
Memoryless, so two sums carry it: the dormant trucks and their birth months.

The starting fleet is the register's count taken as working (the scenario's initial stock);
the layer starts with no dormant backlog and builds one from the trucks the run scraps.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import LISTED, VehicleRegistry


class Register:
    def __init__(self, lag_years: float):
        self.stay = math.exp(-1.0 / (12.0 * lag_years)) if lag_years > 0 else 0.0
        self.dormant = 0.0  # expected scrapped trucks still registered (simulated rows)
        self.dormant_birth = 0.0  # their birth months, summed with the same weights

    def month_end(self, scrapped: int, scrapped_birth_sum: int) -> None:
        """This month's scrapped trucks join the dormant ones; a month's share of them is
        struck off (all of them with no lag)."""
        self.dormant = (self.dormant + scrapped) * self.stay
        self.dormant_birth = (self.dormant_birth + scrapped_birth_sum) * self.stay

    def counts(self, registry: VehicleRegistry, active: int, active_birth_sum: int
               ) -> tuple[float, float]:
        """(registered trucks, the sum of their birth months): working, listed, dormant."""
        listed = registry.in_state(LISTED)
        listed_birth = float(registry.cols["birth_month"][listed].astype(np.int64).sum())
        n = active + len(listed) + self.dormant
        return n, float(active_birth_sum) + listed_birth + self.dormant_birth

    def mean_age_years(self, registry: VehicleRegistry, active: int, active_birth_sum: int,
                       month: int) -> float:
        n, births = self.counts(registry, active, active_birth_sum)
        return (month - births / n) / 12.0 if n else 0.0
