"""The options a decision weighs, one column each (keep, each retrofit, each technology new,
used at home, imported, leave), and the size bands' tastes that price them."""

from __future__ import annotations

from typing import Any

import numpy as np

from fleetsim.scenarios import SIZE_BANDS, Scenario

KEEP, RETROFIT, NEW, USED, IMPORT, LEAVE = range(6)
KIND_NAMES = ("keep", "retrofit", "new", "used", "import", "leave")


class OptionLayout:
    """Which option each column is: a kind and, for retrofits and new vehicles, which one."""

    def __init__(self, tables: Any):
        """`tables`: the technology tables (sim.technology.TechTables)."""
        r, t = len(tables.retrofit_names), len(tables.tech_names)
        self.kind = np.array([KEEP] + [RETROFIT] * r + [NEW] * t + [USED, IMPORT, LEAVE])
        self.item = np.array([0, *range(1, r + 1), *range(t), -1, -1, -1])

    def __len__(self) -> int:
        return len(self.kind)


def band_tastes(spec: Scenario) -> dict[str, np.ndarray]:
    b = [spec.decisions.bands[x] for x in SIZE_BANDS]
    return {
        "r": np.array([t.discount_rate for t in b]),
        "h": np.array([t.horizon_years for t in b], float),
        "beta": np.array([t.cost_sensitivity_per_million_mxn for t in b]),
        "keep": np.array([t.keep_constant for t in b]),
    }
