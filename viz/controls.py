"""The policy controls the page shows: one row of data each, nothing else.

A control is a dotted override path (the same paths `fleetsim run --set` takes), how to draw it
(toggle or slider, unit, range) and its value in the baseline run (`off`; None keeps the
scenario's own value). A control is shown only for a scenario that has its path, so one table
serves every scenario. Labels and units are message keys in `i18n`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import i18n


@dataclass(frozen=True)
class Control:
    key: str  # message key of the label
    path: str  # dotted override path into the scenario
    kind: str = "slider"  # "slider" or "toggle"
    unit: str = ""  # message key of the unit
    min: float = 0.0
    max: float = 1.0
    step: float = 0.01
    off: Any = None  # the value in the baseline run; None: the scenario's own
    scale: float = 1.0  # shown value = stored value * scale (shares shown as %)


CONTROLS: list[Control] = [
    Control("ctl_partnership_share", "partnerships.0.large_fleet_share", unit="unit_share",
            min=0, max=1, step=0.05, off=0.0, scale=100),
    Control("ctl_partnership_cofinance", "partnerships.0.cofinance_share", unit="unit_share",
            min=0, max=0.5, step=0.05, scale=100),
    Control("ctl_partnership_guarantee", "partnerships.0.guarantee_share", unit="unit_share",
            min=0, max=1, step=0.05, scale=100),
    Control("ctl_diesel_price", "fuels.diesel.price_mxn_per_unit", unit="unit_mxn_per_l",
            min=15, max=45, step=0.5),
    Control("ctl_electricity_price", "fuels.electricity.price_mxn_per_unit",
            unit="unit_mxn_per_kwh", min=0.5, max=5, step=0.1),
    Control("ctl_green_fund_quota", "credit.lenders.green_fund.yearly_loan_quota",
            unit="unit_loans_per_year", min=0, max=2000, step=10),
    Control("ctl_nafin_quota", "credit.lenders.development_bank.yearly_loan_quota",
            unit="unit_loans_per_year", min=0, max=2000, step=10),
    Control("ctl_nafin_max_rate", "credit.lenders.development_bank.max_rate",
            unit="unit_share", min=0.04, max=0.25, step=0.005, scale=100),
]

i18n.MESSAGES.update({
    "ctl_partnership_share": {"es": "Alianza: grandes flotas que participan",
                              "en": "Partnership: large fleets taking part"},
    "ctl_partnership_cofinance": {"es": "Alianza: cofinanciamiento",
                                  "en": "Partnership: co-financing"},
    "ctl_partnership_guarantee": {"es": "Alianza: garantía del crédito",
                                  "en": "Partnership: loan guarantee"},
    "ctl_diesel_price": {"es": "Precio del diésel (con impuestos)",
                         "en": "Diesel price (taxes included)"},
    "ctl_electricity_price": {"es": "Precio de la electricidad", "en": "Electricity price"},
    "ctl_green_fund_quota": {"es": "Fondo verde: créditos por año",
                             "en": "Green fund: loans per year"},
    "ctl_nafin_quota": {"es": "Banca de desarrollo: créditos por año",
                        "en": "Development bank: loans per year"},
    "ctl_nafin_max_rate": {"es": "Banca de desarrollo: tasa máxima",
                           "en": "Development bank: rate cap"},
})


def value_at(raw: dict, path: str) -> Any:
    """The value at a dotted path of a raw scenario mapping, or KeyError. A sourced number
    gives its value; a year path gives its first year's value (the slider starts there)."""
    node: Any = raw
    for key in path.split("."):
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise KeyError(path)
            node = node[int(key)]
        elif isinstance(node, dict):
            match = [k for k in node if str(k) == key]
            if not match:
                raise KeyError(path)
            node = node[match[0]]
        else:
            raise KeyError(path)
    if isinstance(node, dict) and "value" in node:
        node = node["value"]
    if isinstance(node, dict) and node and all(isinstance(k, int) for k in node):
        node = node[min(node)]
    return node


def available(raw: dict, table: list[Control] | None = None) -> list[tuple[Control, Any]]:
    """The controls whose path this scenario has, each with the scenario's own value."""
    out = []
    for c in CONTROLS if table is None else table:
        try:
            out.append((c, value_at(raw, c.path)))
        except KeyError:
            continue
    return out


def baseline_overrides(raw: dict, table: list[Control] | None = None) -> dict[str, Any]:
    """The overrides that turn the scenario's instruments off for the baseline run."""
    return {c.path: c.off for c, _ in available(raw, table) if c.off is not None}
