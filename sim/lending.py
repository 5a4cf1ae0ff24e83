"""Lenders' terms as a decision pass sees them: lookup tables of whom each serves and what it
charges, and the yearly quotas that ration loans first come, first served."""

from __future__ import annotations

import numpy as np

from fleetsim.agents import Lender
from fleetsim.scenarios import SIZE_BANDS, Scenario

from .technology import TechTables


class LenderTerms:
    """A lender's terms this month as lookup tables: whom it serves, what it charges."""

    def __init__(self, lender: Lender, tables: TechTables, spec: Scenario):
        self.lender, self.spec = lender, lender.spec
        self.serves_band = lender.serves_band
        served = lender.spec.technologies_served
        self.serves_rep = (np.ones(len(tables.reported_names), bool) if served is None
                           else np.isin(tables.reported_names, served))
        bands = np.arange(len(SIZE_BANDS))
        self.rate = np.stack([lender.rate(bands, np.zeros(len(bands), bool)),
                              lender.rate(bands, np.ones(len(bands), bool))], axis=1)


def over_quota(choice, lender_of, lenders, rng) -> np.ndarray:
    """Rows whose chosen loan is past its lender's yearly quota (in a random order);
    lender_of is [option, row]."""
    rows = np.flatnonzero(choice >= 0)
    lend = lender_of[choice[rows], rows]
    over = []
    for lender in lenders:
        if lender.yearly_quota is None:
            continue
        mine = rows[lend == lender.index]
        room = int(np.floor(max(lender.quota_left(), 0.0)))
        if len(mine) > room:
            over.append(rng.permutation(mine)[room:])
    return np.concatenate(over) if over else np.zeros(0, np.int64)
