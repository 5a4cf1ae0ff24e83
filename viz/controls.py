"""The policy controls the page shows: one row of data each, nothing else.

A control is a dotted override path (the same paths `fleetsim run --set` takes), how to draw it
(toggle or slider, unit, range) and its value in the baseline run (`off`; None keeps the
scenario's own value). A `*` in a path stands for every item of a list (each policy instrument
of a kind), labelled with the item's name. A control is shown only for a scenario that has its
path, so one table serves every scenario. Labels and units are message keys in `i18n`.

The baseline run also drops the whole `policy:` section: instruments off, adaptive rules too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from fleetsim.scenarios import builtin_names, load_raw

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
    item: str = ""  # for a `*` path: the name of the list item (instrument) it acts on
    item_es: str = ""  # ...and on the page's Spanish side


CONTROLS: list[Control] = [
    Control("ctl_on_purchase", "policy.purchase_subsidies.*.enabled", "toggle"),
    Control("ctl_purchase_amount", "policy.purchase_subsidies.*.amount_mxn", unit="unit_mxn",
            min=0, max=3_000_000, step=50_000),
    Control("ctl_on_retrofit", "policy.retrofit_subsidies.*.enabled", "toggle"),
    Control("ctl_retrofit_amount", "policy.retrofit_subsidies.*.amount_mxn", unit="unit_mxn",
            min=0, max=300_000, step=10_000),
    Control("ctl_retrofit_budget", "policy.retrofit_subsidies.*.budget_mxn", unit="unit_mxn",
            min=0, max=2e9, step=5e7),
    Control("ctl_on_scrappage", "policy.scrappage.*.enabled", "toggle"),
    Control("ctl_scrappage_bonus", "policy.scrappage.*.bonus_mxn", unit="unit_mxn",
            min=0, max=800_000, step=10_000),
    Control("ctl_scrappage_budget", "policy.scrappage.*.budget_mxn", unit="unit_mxn",
            min=0, max=5e9, step=1e8),
    Control("ctl_scrappage_units", "policy.scrappage.*.units_per_year",
            unit="unit_units_per_year", min=0, max=5000, step=20),
    Control("ctl_scrappage_min_age", "policy.scrappage.*.min_age_years", unit="unit_years",
            min=5, max=30, step=1),
    Control("ctl_on_green_freight", "policy.green_freight.*.enabled", "toggle"),
    Control("ctl_green_freight_fee", "policy.green_freight.*.fee_mxn_per_vehicle_per_year",
            unit="unit_mxn_per_vehicle_year", min=0, max=20_000, step=500),
    Control("ctl_on_curfew", "policy.contingency_curfews.*.enabled", "toggle"),
    Control("ctl_curfew_hours", "policy.contingency_curfews.*.hours_per_day",
            unit="unit_hours", min=1, max=24, step=1),
    Control("ctl_on_lez", "policy.low_emission_zones.*.enabled", "toggle"),
    Control("ctl_lez_loss", "policy.low_emission_zones.*.revenue_lost_share",
            unit="unit_share", min=0, max=0.5, step=0.01, scale=100),
    Control("ctl_on_fuel_tax", "policy.fuel_taxes.*.enabled", "toggle"),
    Control("ctl_fuel_tax", "policy.fuel_taxes.*.mxn_per_tonne_co2", unit="unit_mxn_per_t",
            min=0, max=3000, step=50),
    Control("ctl_on_zev_sales", "policy.zev_sales_requirements.*.enabled", "toggle"),
    Control("ctl_zev_max_fee", "policy.zev_sales_requirements.*.max_fee_mxn", unit="unit_mxn",
            min=0, max=3_000_000, step=50_000),
    Control("ctl_on_zev_fleet", "policy.zev_fleet_rules.*.enabled", "toggle"),
    Control("ctl_zev_fleet_share", "policy.zev_fleet_rules.*.firm_share", unit="unit_share",
            min=0, max=1, step=0.05, scale=100),
    Control("ctl_zev_legacy_age", "policy.zev_fleet_rules.*.legacy_max_age_years",
            unit="unit_years", min=5, max=25, step=1),
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
    "ctl_on_purchase": {"es": "Subsidio a la compra", "en": "Purchase subsidy"},
    "ctl_purchase_amount": {"es": "Subsidio por vehículo", "en": "Subsidy per vehicle"},
    "ctl_on_retrofit": {"es": "Subsidio a filtros", "en": "Retrofit subsidy"},
    "ctl_retrofit_amount": {"es": "Subsidio por filtro", "en": "Subsidy per filter"},
    "ctl_on_scrappage": {"es": "Chatarrización", "en": "Scrappage"},
    "ctl_scrappage_bonus": {"es": "Bono por unidad", "en": "Bonus per unit"},
    "ctl_scrappage_budget": {"es": "Presupuesto", "en": "Budget"},
    "ctl_on_green_freight": {"es": "Programa de autorregulación",
                             "en": "Green-freight programme"},
    "ctl_green_freight_fee": {"es": "Cuota anual por vehículo", "en": "Yearly fee per vehicle"},
    "ctl_retrofit_budget": {"es": "Presupuesto", "en": "Budget"},
    "ctl_scrappage_units": {"es": "Unidades por año", "en": "Units per year"},
    "ctl_scrappage_min_age": {"es": "Antigüedad mínima", "en": "Minimum age"},
    "ctl_zev_max_fee": {"es": "Cargo máximo a vehículos no cero emisiones",
                        "en": "Highest fee on other vehicles"},
    "ctl_zev_legacy_age": {"es": "Edad máxima de unidades existentes",
                           "en": "Oldest legacy vehicle allowed"},
    "ctl_on_curfew": {"es": "Restricción en contingencia", "en": "Contingency-day curfew"},
    "ctl_curfew_hours": {"es": "Horas de restricción por día", "en": "Curfew hours per day"},
    "ctl_on_lez": {"es": "Zona de bajas emisiones", "en": "Low-emission zone"},
    "ctl_lez_loss": {"es": "Ingreso perdido por vehículos no permitidos",
                     "en": "Revenue lost by vehicles not allowed"},
    "ctl_on_fuel_tax": {"es": "Impuesto al carbono", "en": "Carbon tax on fuel"},
    "ctl_fuel_tax": {"es": "Impuesto al carbono", "en": "Carbon tax"},
    "ctl_on_zev_sales": {"es": "Meta de ventas cero emisiones", "en": "ZEV sales requirement"},
    "ctl_on_zev_fleet": {"es": "Regla de flota cero emisiones", "en": "ZEV fleet rule"},
    "ctl_zev_fleet_share": {"es": "Empresas sujetas a la regla", "en": "Firms under the rule"},
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
    gives its value; a year path gives its value in the start year (the slider starts there;
    moving it sets one value for every year)."""
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
        start = raw.get("simulation", {}).get("start_year", min(node))
        node = node[max([y for y in node if y <= start], default=min(node))]
    return node


def expand(raw: dict, c: Control) -> list[Control]:
    """A control with `*` -> one control per item of that list (its name kept in `item`)."""
    if "*" not in c.path:
        return [c]
    head, tail = c.path.split(".*", 1)
    try:
        items = value_at(raw, head)
    except KeyError:
        return []
    if not isinstance(items, list):
        return []
    return [replace(c, path=f"{head}.{i}{tail}", item=en, item_es=es)
            for i, (en, es) in enumerate(zip(item_names(items), item_names(items, "es"),
                                             strict=True))]


def text_in(lang: str, text: str, text_es: str | None) -> str:
    """A scenario's text in the page's language: its Spanish version where it has one."""
    return text_es if lang == "es" and text_es else text


@lru_cache(maxsize=1)
def builtin_texts() -> dict[str, str]:
    """Spanish description -> English description, as each built-in file pairs them."""
    out = {}
    for name in builtin_names():
        raw = load_raw(name)
        if raw.get("description_es"):
            out[raw["description_es"]] = raw.get("description", "")
    return out


def description(lang: str, spec) -> str:
    """A scenario's description in the page's language. A file that rewrites `description`
    but not `description_es` inherits the Spanish text of the scenario it extends, which
    describes that one: its own English text is shown instead."""
    es = spec.description_es
    inherited = es in builtin_texts() and builtin_texts()[es] != spec.description
    return text_in(lang, spec.description, None if inherited else es)


def item_names(items: list, lang: str = "en") -> list[str]:
    """What a visitor reads for each instrument: its `label:` (`label_es:` on the Spanish
    side), with its id only where two labels are the same (ids such as
    dpf_retrofit_subsidy mean nothing to a room)."""
    ids = [str(x.get("name", i)) if isinstance(x, dict) else str(i) for i, x in enumerate(items)]
    labels = [str(text_in(lang, x.get("label") or "", x.get("label_es")) or n)
              if isinstance(x, dict) else n for x, n in zip(items, ids, strict=True)]
    return [f"{lab} · {n}" if labels.count(lab) > 1 and lab != n else lab
            for lab, n in zip(labels, ids, strict=True)]


def available(raw: dict, table: list[Control] | None = None) -> list[tuple[Control, Any]]:
    """The controls whose path this scenario has, each with the scenario's own value. A
    toggle whose field the scenario leaves to its default (enabled: true) counts as present
    once its instrument is."""
    out = []
    for entry in CONTROLS if table is None else table:
        for c in expand(raw, entry):
            try:
                out.append((c, value_at(raw, c.path)))
            except KeyError:
                if c.kind == "toggle" and c.path.endswith(".enabled"):
                    try:
                        value_at(raw, c.path.removesuffix(".enabled"))
                        out.append((c, True))
                    except KeyError:
                        pass
    return _grouped(out)


def _grouped(found: list[tuple[Control, Any]]) -> list[tuple[Control, Any]]:
    """Each instrument's controls together (its switch, then its numbers), instruments in the
    order the table first names them."""
    group = [c.path.rsplit(".", 1)[0] if c.item else c.path for c, _ in found]
    first = {g: i for i, g in reversed(list(enumerate(group)))}
    order = sorted(range(len(found)), key=lambda i: (first[group[i]], i))
    return [found[i] for i in order]


def baseline_overrides(raw: dict, table: list[Control] | None = None) -> dict[str, Any]:
    """The overrides that turn the scenario's instruments off for the baseline run."""
    off = {c.path: c.off for c, _ in available(raw, table) if c.off is not None}
    if raw.get("policy"):
        off["policy"] = {}
    return off


def label(lang: str, c: Control) -> str:
    text = i18n.t(lang, c.key)
    item = text_in(lang, c.item, c.item_es)
    return f"{text} ({item})" if item else text


def instrument_labels(raw: dict, lang: str = "en") -> dict[str, str]:
    """Instrument id -> what a visitor reads (item_names), for chart legends."""
    out: dict[str, str] = {}
    for items in (raw.get("policy") or {}).values():
        if isinstance(items, list):
            ids = [str(x.get("name", i)) if isinstance(x, dict) else str(i)
                   for i, x in enumerate(items)]
            out.update(zip(ids, item_names(items, lang), strict=True))
    return out


CAPPED_KINDS = {"purchase_subsidies": ("technologies", "technologies"),
                "retrofit_subsidies": ("retrofits", "retrofits")}


def source_note(raw: dict, path: str) -> str:
    """The source a scenario gives for the number at `path` ("[S] ..." or "[E] ..."): the
    field's own `sources:` entry, a sourced number's `source`, or its row's `source`."""
    keys = path.split(".")
    found = ""
    for depth in range(len(keys), 0, -1):
        try:
            node = _node(raw, keys[:depth])
        except KeyError:
            continue
        if not isinstance(node, dict):
            continue
        field = keys[depth] if depth < len(keys) else ""
        per_field = node.get("sources") if isinstance(node.get("sources"), dict) else {}
        found = per_field.get(field) or node.get("source") or ""
        if found:
            break
    return str(found)


def _node(raw: dict, keys: list[str]):
    node: Any = raw
    for key in keys:
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise KeyError(key)
    return node


def payment_cap(raw: dict, c: Control) -> tuple[float, float] | None:
    """For a subsidy's amount: (max_share_of_price, the largest payment that share allows on
    the prices it applies to, MXN), since an amount above it pays no more; else None."""
    keys = c.path.split(".")
    if len(keys) != 4 or keys[1] not in CAPPED_KINDS or keys[3] != "amount_mxn":
        return None
    item = _node(raw, keys[:3])
    share = float(item.get("max_share_of_price", 1.0))
    field, table = CAPPED_KINDS[keys[1]]
    prices = []
    for name in item.get(field, []):
        rows = (raw.get(table) or {}).get(name, {}).get("by_class", {})
        for cls, row in rows.items():
            if (not item.get("classes") or cls in item["classes"]) and "price_mxn" in row:
                prices.append(float(value_at({"simulation": raw.get("simulation", {}),
                                              "p": row}, "p.price_mxn")))
    if share >= 1.0 or not prices:
        return None
    return share, share * max(prices)
