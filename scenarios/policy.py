"""The policy instruments a scenario can switch on (the `policy:` section).

Every instrument has a unique `name` (it names its spending and budget columns in the results),
start and end dates (it acts in every month they touch), an `enabled` flag (a disabled
instrument waits for an adaptive rule to switch it on) and, where it spends public money, an
optional budget drawn down first come, first served. Eligibility fields left empty mean "all".
Amounts are MXN of the scenario's price year; budgets are for the whole fleet (a sampled run
scales them down with the fleet and its results back up).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .schema_base import (
    BandValues,
    ClassName,
    Name,
    NonNegative,
    Positive,
    Row,
    Share,
    Strict,
    Year,
)

Count = Annotated[int, Field(ge=0)]


class Instrument(Row):
    name: Name
    label: str = ""
    label_es: str = ""  # the label on the page's Spanish side (label if empty)
    start: date
    end: date
    enabled: bool = True  # False: off until an adaptive rule switches it on

    @model_validator(mode="after")
    def _dates(self):
        if self.end < self.start:
            raise ValueError(f"expected end after start {self.start}, got {self.end}")
        return self


class ClassScope(Instrument):
    classes: list[ClassName] = []


class Area(ClassScope):
    regions: list[Name] = []


class Eligibility(Area):
    bands: list[Literal["micro", "small", "medium", "large"]] = []


class PurchaseSubsidy(Eligibility):
    """Off the price of a new vehicle of one of `technologies`."""

    technologies: list[Name]
    amount_mxn: NonNegative
    max_share_of_price: Share = 1.0
    budget_mxn: NonNegative | None = None


class RetrofitSubsidy(Eligibility):
    """Off the price of fitting one of `retrofits` to a vehicle at most max_age_years old."""

    retrofits: list[Name]
    amount_mxn: NonNegative
    max_share_of_price: Share = 1.0
    max_age_years: NonNegative | None = None
    budget_mxn: NonNegative | None = None


class Scrappage(Eligibility):
    """A bonus for scrapping a vehicle at least min_age_years old when it is replaced by one of
    the `replacement` kinds (a used or imported one at most max_replacement_age_years old).
    Units per calendar year, of which bands may have a reserved share (unused reservations
    lapse at the year's end)."""

    min_age_years: NonNegative
    bonus_mxn: NonNegative
    replacement: list[Literal["new", "used", "import", "none"]] = ["new"]
    max_replacement_age_years: NonNegative | None = None
    units_per_year: Count | None = None
    reserved_share_by_band: dict[Literal["micro", "small", "medium", "large"], Share] = {}
    budget_mxn: NonNegative | None = None

    @model_validator(mode="after")
    def _reserved(self):
        total = sum(self.reserved_share_by_band.values())
        if total > 1 + 1e-9:
            raise ValueError(f"got reserved_share_by_band summing to {total:g}, expected at "
                             "most 1")
        return self


class GreenFreight(Eligibility):
    """A voluntary green-freight programme (Mexico City's Autorregulacion). Each January firms
    with a covered vehicle may join: its covered vehicles (of covered_technologies, at most
    max_age_years old) are then exempt from the access limits that name the programme. A member
    whose fleet's PM2.5 did not fall by pm_cut_per_year over the year (and is not all covered)
    leaves it."""

    covered_technologies: list[Name]
    max_age_years: NonNegative
    pm_cut_per_year: Share
    fee_mxn_per_vehicle_per_year: NonNegative
    join_propensity: BandValues  # share of the firms that would gain who do join, per year


class ContingencyCurfew(Area):
    """Trucks may not circulate for hours_per_day on contingency days; days per year are drawn
    each year from the observed series. The lost hours cost non-exempt vehicles that share of
    their yearly margin."""

    days_per_year_observed: list[Count]
    hours_per_day: Annotated[float, Field(gt=0, le=24)]
    operating_hours_per_year: Positive
    exempt_programmes: list[Name] = []
    exempt_technologies: list[Name] = []

    @model_validator(mode="after")
    def _series(self):
        if not self.days_per_year_observed:
            raise ValueError("expected at least one year in days_per_year_observed, got none")
        return self


class LowEmissionZone(Area):
    """Vehicles not of allowed_technologies (reported technologies: engines or retrofits)
    lose revenue_lost_share of their margin: the trips they can no longer make, or a
    circulation limit such as one weekday off."""

    allowed_technologies: list[Name]
    revenue_lost_share: Share
    exempt_programmes: list[Name] = []


class FuelTax(Instrument):
    """A carbon price on the tank-to-wheel CO2 of the fuels named (all, if none)."""

    mxn_per_tonne_co2: NonNegative | dict[Year, NonNegative]
    fuels: list[Name] = []


class ZevSalesRequirement(ClassScope):
    """A share of new vehicles sold in `classes` must be zero-emission. Makers meet it by
    cross-subsidy: a fee on other new vehicles pays a rebate on zero-emission ones; the fee
    moves each month by fee_step_mxn per point of the gap over the last 12 months."""

    share_by_year: dict[Year, Share]
    fee_step_mxn: NonNegative
    max_fee_mxn: NonNegative


class ZevFleetRule(Eligibility):
    """California drayage style, for a share of the firms in scope: from `start` only
    zero-emission vehicles may join their fleet; other vehicles leave at legacy_max_age_years,
    and all by all_zero_emission_from."""

    firm_share: Share
    legacy_max_age_years: NonNegative
    all_zero_emission_from: date | None = None


class AdaptiveRule(Row):
    """The regulator checks `metric` (a results column) in the month after `by`; if it missed
    `target` (below it for at_least, above it for at_most) it switches the `enable` instruments
    on from then."""

    name: Name
    metric: str
    target: float
    by: date
    direction: Literal["at_least", "at_most"] = "at_least"
    enable: list[Name]


class Policy(Strict):
    purchase_subsidies: list[PurchaseSubsidy] = []
    retrofit_subsidies: list[RetrofitSubsidy] = []
    scrappage: list[Scrappage] = []
    green_freight: list[GreenFreight] = []
    contingency_curfews: list[ContingencyCurfew] = []
    low_emission_zones: list[LowEmissionZone] = []
    fuel_taxes: list[FuelTax] = []
    zev_sales_requirements: list[ZevSalesRequirement] = []
    zev_fleet_rules: list[ZevFleetRule] = []
    adaptive: list[AdaptiveRule] = []

    def instruments(self) -> list[tuple[str, Instrument]]:
        """(kind, instrument) for every instrument, in a fixed order."""
        out = []
        for kind in INSTRUMENT_KINDS:
            out.extend((kind, x) for x in getattr(self, kind))
        return out


INSTRUMENT_KINDS = ("purchase_subsidies", "retrofit_subsidies", "scrappage", "green_freight",
                    "contingency_curfews", "low_emission_zones", "fuel_taxes",
                    "zev_sales_requirements", "zev_fleet_rules")
SPENDING_KINDS = ("purchase_subsidies", "retrofit_subsidies", "scrappage")


def policy_problems(s) -> list[str]:
    """Cross references of the policy section against the rest of the scenario `s`."""
    p: Policy = s.policy
    problems: list[str] = []
    techs, retros = set(s.technologies), set(s.retrofits)
    reported = techs | retros
    names = [x.name for _, x in p.instruments()]
    seen: set[str] = set()
    for n in names:
        if n in seen:
            problems.append(f"policy: expected distinct instrument names, got '{n}' twice")
        seen.add(n)
    programmes = {x.name for x in p.green_freight}

    def need(values, known, where, what):
        for v in values:
            if v not in known:
                problems.append(f"{where}: expected a {what} among {sorted(known)}, got '{v}'")

    for kind, x in p.instruments():
        where = f"policy.{kind}.{getattr(p, kind).index(x)}"
        if isinstance(x, ClassScope):
            need(x.classes, set(s.classes), f"{where}.classes", "vehicle class")
        if isinstance(x, Area):
            need(x.regions, set(s.regions), f"{where}.regions", "region")
        if isinstance(x, PurchaseSubsidy):
            need(x.technologies, techs, f"{where}.technologies", "technology")
        if isinstance(x, RetrofitSubsidy):
            need(x.retrofits, retros, f"{where}.retrofits", "retrofit")
        if isinstance(x, GreenFreight):
            need(x.covered_technologies, reported, f"{where}.covered_technologies",
                 "technology or retrofit")
        if isinstance(x, ContingencyCurfew | LowEmissionZone):
            need(x.exempt_programmes, programmes, f"{where}.exempt_programmes",
                 "green_freight programme")
        if isinstance(x, ContingencyCurfew):
            need(x.exempt_technologies, reported, f"{where}.exempt_technologies",
                 "technology or retrofit")
        if isinstance(x, LowEmissionZone):
            need(x.allowed_technologies, reported, f"{where}.allowed_technologies",
                 "technology or retrofit")
        if isinstance(x, FuelTax):
            need(x.fuels, set(s.fuels), f"{where}.fuels", "fuel")
    for i, rule in enumerate(p.adaptive):
        need(rule.enable, set(names), f"policy.adaptive.{i}.enable", "policy instrument")
    return problems
