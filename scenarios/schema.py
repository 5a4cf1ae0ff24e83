"""The scenario schema: what a scenario file may say, with units in field names and a source
beside every number (see schema_base for the conventions)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .behaviour import (
    ClassEconomics,
    Credit,
    Decisions,
    Demonstration,
    NamedFleet,
    Network,
    Partnership,
    UsedMarket,
)
from .policy import Policy, policy_problems
from .schema_base import (
    SIZE_BANDS,
    BandValues,
    ClassName,
    Name,
    NonNegative,
    NonNegativePath,
    Positive,
    Row,
    Share,
    Sigma,
    Source,
    SourcedCount,
    SourcedNumber,
    SourcedPath,
    SourcedShare,
    Strict,
    Year,
    check_shares,
)
from .schema_limits import MAX_HORIZON_YEARS, size_problems

__all__ = ["SIZE_BANDS", "Scenario"]


class Simulation(Strict):
    start_year: Year
    max_end_year: Year
    default_years: Annotated[int, Field(ge=1, le=MAX_HORIZON_YEARS)]
    sample_fraction: Annotated[float, Field(gt=0, le=1)]

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.max_end_year <= self.start_year:
            raise ValueError(
                f"got max_end_year {self.max_end_year}, expected a year after start_year "
                f"{self.start_year}"
            )
        if self.max_end_year - self.start_year > MAX_HORIZON_YEARS:
            raise ValueError(
                f"max_end_year: got {self.max_end_year}, expected at most start_year + "
                f"{MAX_HORIZON_YEARS} ({self.start_year + MAX_HORIZON_YEARS})")
        if self.start_year + self.default_years > self.max_end_year:
            raise ValueError(
                f"got start_year + default_years = {self.start_year + self.default_years}, "
                f"expected at most max_end_year ({self.max_end_year})"
            )
        return self


class AgeDistribution(Row):
    """Shares of a stock by age in whole years, keyed "A-B" (both ends included)."""

    shares_by_age_years: dict[str, Share]

    @model_validator(mode="after")
    def _bins(self):
        for key in self.shares_by_age_years:
            match = re.fullmatch(r"(\d+)-(\d+)", key)
            if not match or int(match[2]) < int(match[1]):
                raise ValueError(f'got age bin "{key}", expected bins like "0-4"')
        last = -1
        for lo, hi, _ in self.bins():
            if lo <= last:
                raise ValueError(f'got overlapping age bins at "{lo}-{hi}", expected each age '
                                 "in one bin")
            last = hi
        check_shares(self.shares_by_age_years, "age shares")
        return self

    def bins(self) -> list[tuple[int, int, float]]:
        """(first age, last age, share), youngest first whatever the order in the file."""
        out = []
        for key, share in self.shares_by_age_years.items():
            lo, hi = (int(x) for x in key.split("-"))
            out.append((lo, hi, share))
        return sorted(out)


class Survival(Row):
    """S(age) = exp(-(age / lambda_years) ** k), the form of ICCT's Roadmap."""

    lambda_years: Positive
    k: Positive


class Wear(Row):
    """What tyre, brake and road wear depend on (EMEP/EEA 1.A.3.b.vi-vii): axles, the share of
    payload carried and the average speed."""

    axles: Annotated[int, Field(ge=2, le=12)]
    load_factor: Share
    speed_km_h: Annotated[float, Field(gt=0, le=130)]


class VehicleClass(Strict):
    label: str
    heavy: bool
    wear: Wear
    initial_stock_units: SourcedCount
    initial_age: AgeDistribution
    survival: Survival
    annual_km_new: BandValues
    economics: ClassEconomics


class Fuel(Row):
    unit: Literal["L", "kg", "kWh"]
    price_mxn_per_unit: NonNegativePath
    ttw_co2_kg_per_unit: NonNegative
    wtt_co2_kg_per_unit: NonNegativePath


class EngineClassRow(Row):
    """Per vehicle class: price new (absent = no longer sold new), energy and emissions."""

    price_mxn: NonNegativePath | None = None
    energy_units_per_100km: NonNegativePath
    maintenance_mxn_per_km: NonNegativePath
    pm25_g_per_km: NonNegative
    nox_g_per_km: NonNegative


class Technology(Strict):
    label: str
    family: Name  # operators know a family (diesel, gas, electric) once they run one of it
    fuel: Name
    soot_free: bool
    zero_emission: bool
    bc_fraction_of_pm: SourcedShare
    # black carbon share of the PM a worn or high-emitting engine emits above its factor
    excess_bc_fraction_of_pm: SourcedShare
    # a tampered (aftertreatment removed or broken) vehicle emits as this technology; None =
    # nothing to tamper with
    tampered_as: Name | None = None
    scr: bool = False  # NOx aftertreatment (SCR) that works poorly at low urban speeds
    # brake wear relative to friction braking (regenerative braking lowers it)
    brake_wear_share: SourcedShare | None = None
    # extra load factor from the vehicle's own extra weight (batteries), on tyre and brake wear
    added_load_factor: SourcedShare | None = None
    by_class: dict[ClassName, EngineClassRow]


class RetrofitClassRow(Row):
    price_mxn: NonNegativePath
    extra_maintenance_mxn_per_km: NonNegative


class Retrofit(Row):
    """A kit fitted to an engine; `source` covers its eligibility numbers."""

    label: str
    applies_to: list[Name]
    max_age_years: Annotated[int, Field(ge=0)]  # older engines are not worth a filter
    needs_ulsd: bool  # only where ultra-low-sulphur diesel is sold (see regions)
    soot_free: bool
    pm_reduction: SourcedShare
    bc_reduction: SourcedShare
    fuel_penalty: SourcedShare
    by_class: dict[ClassName, RetrofitClassRow]


class Band(Row):
    label: str
    firms: Annotated[int, Field(ge=0)]
    min_units: Annotated[int, Field(ge=1)]
    max_units: Annotated[int, Field(ge=1)] | None = None
    power_unit_share: Share
    fleet_size_sigma: Sigma

    @model_validator(mode="after")
    def _range(self):
        if self.max_units is not None and self.max_units < self.min_units:
            raise ValueError(
                f"expected max_units >= min_units ({self.min_units}), got {self.max_units}"
            )
        return self


class Operators(Strict):
    bands: dict[Literal["micro", "small", "medium", "large"], Band]
    initial_age_sorting_noise_years: SourcedNumber

    @model_validator(mode="after")
    def _bands(self):
        missing = [b for b in SIZE_BANDS if b not in self.bands]
        if missing:
            raise ValueError(f"bands: got {sorted(self.bands)}, expected all four size bands "
                             f"{list(SIZE_BANDS)} (missing {missing})")
        check_shares({b: v.power_unit_share for b, v in self.bands.items()}, "power_unit_share")
        return self


class Region(Row):
    label: str
    stock_share: Share
    urban_km_share: Share  # share of its km driven in cities (exposure, urban NOx)
    ulsd_available_from: date  # ultra-low-sulphur diesel (<= 15 ppm) sold from this date


class Usage(Row):
    km_decline_per_year_of_age: Share
    maintenance_growth_per_year_of_age: NonNegative  # maintenance cost rises as trucks age
    km_min_share_of_new: Share
    km_spread_sigma: Sigma


class Emissions(Row):
    pm_deterioration_per_year_of_age: NonNegative
    nox_deterioration_per_year_of_age: NonNegative
    deterioration_cap_multiplier: Annotated[float, Field(ge=1)]
    pm_high_emitter_sigma: Sigma
    nox_high_emitter_sigma: Sigma
    tampering_share: Share  # of vehicles whose technology has a `tampered_as`
    scr_urban_nox_multiplier: Annotated[float, Field(ge=1)]  # SCR NOx in city driving


class Health(Row):
    """Premature deaths from primary PM2.5 and what they and CO2 are worth: intake fraction
    (grams inhaled per tonne emitted, ppm), a log-linear concentration-response function and a
    value of a statistical life."""

    intake_fraction_urban_ppm: NonNegative
    intake_fraction_rural_ppm: NonNegative
    relative_risk_per_10_ug_m3: Annotated[float, Field(ge=1, le=2)]
    baseline_mortality_per_100k: NonNegative
    breathing_rate_m3_per_day: Positive
    vsl_usd: NonNegative
    mxn_per_usd: Positive
    social_cost_of_carbon_usd_per_t: NonNegative
    discount_rate_per_year: Annotated[float, Field(ge=0, le=0.5)]


class UsedImports(Strict):
    age: AgeDistribution
    technology_by_model_year: dict[Year, Name]
    technology_by_model_year_source: Source


class Market(Strict):
    growth_per_year: SourcedPath
    used_imports: UsedImports
    resale_value_retained_per_year: SourcedShare
    # the share of the new price a working truck keeps however old (used values level off)
    resale_value_plateau_share: SourcedShare
    # a dealer's cut: a seller gets the market value less this share of it
    dealer_margin_share: SourcedShare
    used_price_reference_technology: Name


class LagYears(Strict):
    """Mean years a scrapped truck stays registered (0: struck off at once)."""

    value: Annotated[float, Field(ge=0, le=100)]
    source: Source


class Registration(Strict):
    """The federal register: a truck that leaves service stays on it for a while."""

    deregistration_lag_years: LagYears


class NewVehicleStandard(Strict):
    name: str
    effective: date
    classes: list[ClassName]
    allowed_technologies: list[Name]
    source: Source


class ImportRule(Strict):
    name: str
    effective: date
    max_age_years: Annotated[int, Field(ge=0)] | None = None
    allowed_technologies: list[Name] | None = None
    source: Source


class PlacedUnits(Row):
    """Vehicles of a technology placed in the initial stock in place of others of their class
    (e.g. the electric trucks already running), drawn among vehicles at most max_age_years old."""

    vehicle_class: ClassName
    technology: Name
    units: Annotated[int, Field(ge=0)]
    max_age_years: Annotated[int, Field(ge=0)]
    region: Name | None = None


class PlacedRetrofits(Row):
    """Retrofits already fitted at the start, on vehicles whose engine the retrofit applies to."""

    vehicle_class: ClassName
    retrofit: Name
    units: Annotated[int, Field(ge=0)]
    region: Name | None = None


class InitialStock(Strict):
    technology_by_model_year: dict[Year, dict[Name, Share]]
    technology_by_model_year_source: Source
    placed: list[PlacedUnits] = []
    retrofitted: list[PlacedRetrofits] = []

    @model_validator(mode="after")
    def _sum_to_one(self):
        for year, shares in self.technology_by_model_year.items():
            check_shares(shares, f"model year {year} technology shares")
        return self


class Regulation(Strict):
    new_vehicle_standards: list[NewVehicleStandard] = []
    used_import_rules: list[ImportRule] = []

    @model_validator(mode="after")
    def _ordered(self):
        for field in ("new_vehicle_standards", "used_import_rules"):
            dates = [r.effective for r in getattr(self, field)]
            for i in range(1, len(dates)):
                if dates[i] < dates[i - 1]:
                    raise ValueError(
                        f"{field}.{i}.effective: got {dates[i]}, expected rules in date order "
                        f"(on or after {dates[i - 1]})")
        return self


class Scenario(Strict):
    name: Name
    description: str  # in English; the page shows description_es on its Spanish side
    description_es: str | None = None
    extends: str | None = None
    based_on: str | None = None  # set by the loader: the scenarios this one was merged onto
    simulation: Simulation
    classes: dict[ClassName, VehicleClass]
    regions: dict[Name, Region]
    operators: Operators
    fuels: dict[Name, Fuel]
    technologies: dict[Name, Technology]
    retrofits: dict[Name, Retrofit] = {}
    initial_stock: InitialStock
    usage: Usage
    emissions: Emissions
    health: Health
    market: Market
    regulation: Regulation = Regulation()
    decisions: Decisions
    network: Network
    credit: Credit
    used_market: UsedMarket
    registration: Registration
    named_fleets: list[NamedFleet] = []
    demonstrations: list[Demonstration] = []
    partnerships: list[Partnership] = []
    policy: Policy = Policy()

    @model_validator(mode="after")
    def _cross_references(self):
        problems = _cross_reference_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def technology_names(self) -> list[str]:
        """Engine technologies, then retrofits: the order of `vehicles_<technology>` columns."""
        return [*self.technologies, *self.retrofits]


class _Problems:
    """Problem lines found by the cross-reference checks, with their two usual forms."""

    def __init__(self):
        self.lines: list[str] = []

    def need(self, names, known, where: str, what: str) -> None:
        for name in names:
            if name not in known:
                self.lines.append(f"{where}: expected a {what} among {sorted(known)}, "
                                  f"got '{name}'")

    def missing(self, names, where: str, what: str) -> None:
        for name in sorted(names):
            self.lines.append(f"{where}: expected {what} for class '{name}', got none")


def _cross_reference_problems(s: Scenario) -> list[str]:
    """Names used in one part of a scenario must be defined in another."""
    out = _Problems()
    _check_shares_safe(out.lines, {k: r.stock_share for k, r in s.regions.items()}, "regions")
    _technology_references(s, out)
    _initial_stock_references(s, out)
    _band_sizes(s, out)
    _market_and_credit_references(s, out)
    _programme_references(s, out)
    _regulation_references(s, out)
    out.lines.extend(policy_problems(s))
    if not out.lines:  # sizes are only meaningful for an otherwise consistent scenario
        out.lines.extend(size_problems(s, s.simulation.sample_fraction))
    return out.lines


def _technology_references(s: Scenario, out: _Problems) -> None:
    techs, classes = set(s.technologies), set(s.classes)
    for t, tech in s.technologies.items():
        out.need([tech.fuel], set(s.fuels), f"technologies.{t}.fuel", "fuel")
        out.need(tech.by_class, classes, f"technologies.{t}.by_class", "vehicle class")
        if tech.tampered_as is not None:
            out.need([tech.tampered_as], techs, f"technologies.{t}.tampered_as", "technology")
    for r, retro in s.retrofits.items():
        out.need(retro.applies_to, techs, f"retrofits.{r}.applies_to", "technology")
        out.need(retro.by_class, classes, f"retrofits.{r}.by_class", "vehicle class")
    for t in s.market.used_imports.technology_by_model_year.values():
        out.need([t], techs, "market.used_imports.technology_by_model_year", "technology")
    ref = s.market.used_price_reference_technology
    out.need([ref], techs, "market.used_price_reference_technology", "technology")
    if ref in techs:
        out.missing(classes - set(s.technologies[ref].by_class),
                    f"technologies.{ref}.by_class", "a row (it prices used vehicles)")
    for t in set(s.market.used_imports.technology_by_model_year.values()) & techs:
        out.missing(classes - set(s.technologies[t].by_class),
                    f"technologies.{t}.by_class", "a row (used imports can be of it)")


def _initial_stock_references(s: Scenario, out: _Problems) -> None:
    techs, classes, regions = set(s.technologies), set(s.classes), set(s.regions)
    for year, shares in s.initial_stock.technology_by_model_year.items():
        out.need(shares, techs, f"initial_stock.technology_by_model_year.{year}", "technology")
    for i, p in enumerate(s.initial_stock.placed):
        where = f"initial_stock.placed.{i}"
        out.need([p.vehicle_class], classes, f"{where}.vehicle_class", "vehicle class")
        out.need([p.technology], techs, f"{where}.technology", "technology")
        out.need([p.region] if p.region else [], regions, f"{where}.region", "region")
    for i, p in enumerate(s.initial_stock.retrofitted):
        where = f"initial_stock.retrofitted.{i}"
        out.need([p.vehicle_class], classes, f"{where}.vehicle_class", "vehicle class")
        out.need([p.retrofit], set(s.retrofits), f"{where}.retrofit", "retrofit")
        out.need([p.region] if p.region else [], regions, f"{where}.region", "region")


def _band_sizes(s: Scenario, out: _Problems) -> None:
    total = sum(c.initial_stock_units.value for c in s.classes.values())
    for b, band in s.operators.bands.items():
        units = total * band.power_unit_share
        lo = band.firms * band.min_units
        hi = band.firms * band.max_units if band.max_units else float("inf")
        if band.firms and not lo <= units <= hi:
            out.lines.append(
                f"operators.bands.{b}: got {band.firms} firms for {units:.0f} units, expected "
                f"between min_units and max_units units per firm")
        if units > 0 and band.firms == 0:
            out.lines.append(f"operators.bands.{b}.firms: got 0, expected firms to own "
                             f"{units:.0f} units")


def _market_and_credit_references(s: Scenario, out: _Problems) -> None:
    techs = set(s.technologies)
    reported = techs | set(s.retrofits)
    out.need(s.decisions.technology_constants, reported, "decisions.technology_constants",
             "technology or retrofit")
    for t in sorted(techs - set(s.used_market.technology_value_factor)):
        out.lines.append(f"used_market.technology_value_factor: expected a factor for '{t}', "
                         "got none")
    for name, lender in s.credit.lenders.items():
        out.need(lender.technologies_served or [], reported,
                 f"credit.lenders.{name}.technologies_served", "technology or retrofit")


def _programme_references(s: Scenario, out: _Problems) -> None:
    techs, classes = set(s.technologies), set(s.classes)
    fleets = [f.name for f in s.named_fleets]
    if len(set(fleets)) != len(fleets):
        out.lines.append(f"named_fleets: expected distinct names, got {fleets}")
    for i, f in enumerate(s.named_fleets):
        out.need([f.region] if f.region else [], set(s.regions), f"named_fleets.{i}.region",
                 "region")
    out.need(s.used_market.technology_value_factor, techs,
             "used_market.technology_value_factor", "technology")
    for i, d in enumerate(s.demonstrations):
        where = f"demonstrations.{i}"
        out.need([d.fleet], set(fleets), f"{where}.fleet", "named fleet")
        out.need([d.technology], techs, f"{where}.technology", "technology")
        out.need([d.vehicle_class], classes, f"{where}.vehicle_class", "vehicle class")
    for i, p in enumerate(s.partnerships):
        where = f"partnerships.{i}"
        out.need(p.retrofit_technologies, set(s.retrofits), f"{where}.retrofit_technologies",
                 "retrofit")
        out.need(p.replacement_technologies, techs, f"{where}.replacement_technologies",
                 "technology")


def _regulation_references(s: Scenario, out: _Problems) -> None:
    techs, classes = set(s.technologies), set(s.classes)
    for i, std in enumerate(s.regulation.new_vehicle_standards):
        where = f"regulation.new_vehicle_standards.{i}"
        out.need(std.classes, classes, f"{where}.classes", "vehicle class")
        out.need(std.allowed_technologies, techs, f"{where}.allowed_technologies", "technology")
    for i, rule in enumerate(s.regulation.used_import_rules):
        out.need(rule.allowed_technologies or [], techs,
                 f"regulation.used_import_rules.{i}.allowed_technologies", "technology")


def _check_shares_safe(problems: list[str], shares: dict, where: str) -> None:
    try:
        check_shares(shares, f"{where} stock_share")
    except ValueError as err:
        problems.append(f"{where}: {err}")
