"""Scenario sections for the agents' behaviour: tastes and peer diffusion, the peer network,
credit (scoring and lenders), the used-truck market, named fleets, demonstrations and
partnership finance. Utility is in "utils": the logit's unit, cost sensitivity converts MXN."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .schema_base import (
    BandValues,
    ClassName,
    Name,
    NonNegative,
    Row,
    Share,
    Source,
    Strict,
)

Band = Literal["micro", "small", "medium", "large"]


class BandTastes(Row):
    """How firms of one size band weigh their options."""

    discount_rate: Annotated[float, Field(ge=0, le=2)]
    horizon_years: Annotated[int, Field(ge=1, le=40)]
    cost_sensitivity_per_million_mxn: NonNegative
    keep_constant: float  # utils: inertia of keeping what runs
    cash_start_months: NonNegative  # starting cash, in months of the fleet's operating margin
    payout_share: Share  # share of a month's positive cash flow paid out to the owners


class Decisions(Strict):
    bands: dict[Band, BandTastes]
    technology_constants: dict[Name, float]  # utils, for what costs leave out (range, payload)
    technology_constants_source: Source
    outside_p: Share  # Bass p: pull towards an unfamiliar technology from outside the network
    peer_q: NonNegative  # Bass q: pull per unit share of neighbours using it
    demonstration_weight: NonNegative  # a demonstration fleet counts as this many neighbours
    diffusion_source: Source

    @model_validator(mode="after")
    def _all_bands(self):
        missing = [b for b in ("micro", "small", "medium", "large") if b not in self.bands]
        if missing:
            raise ValueError(f"bands: got tastes for {sorted(self.bands)}, expected all four "
                             f"size bands (missing {missing})")
        return self


class Network(Row):
    generator: Literal["small_world", "scale_free", "random", "complete"]
    mean_degree: Annotated[int, Field(ge=0)]
    rewire_probability: Share  # small world only
    hauliers_per_large_fleet: Annotated[int, Field(ge=0)]  # micro firms hauling for each large


class Lender(Row):
    label: str
    base_rate: Annotated[float, Field(ge=0, le=1)]
    band_premium: BandValues  # added to the base rate, by borrower size band
    max_rate: Annotated[float, Field(ge=0, le=1)] | None = None  # a cap (development banks)
    down_payment_share: Share
    used_down_payment_share: Share
    term_months: Annotated[int, Field(ge=1, le=240)]
    min_score: float
    bands_served: list[Band]
    technologies_served: list[Name] | None = None  # None: all (retrofits by their name)
    serves_used: bool
    yearly_loan_quota: Annotated[int, Field(ge=0)] | None = None
    max_principal_mxn: NonNegative | None = None  # largest loan it makes
    risk_loading: NonNegative  # rate added per unit of perceived default probability
    prior_default_probability: Share
    prior_default_probability_zev: Share  # unproven technologies start riskier
    prior_weight_loans: Annotated[float, Field(gt=0)]


class Credit(Strict):
    band_score: BandValues
    repaid_loan_bonus: float
    default_penalty: float
    collateral_weight: float  # score per unit of fleet value over the loan, up to 2
    guarantee_weight: float  # score per unit share of the loan guaranteed
    default_after_negative_months: Annotated[int, Field(ge=1)]
    scoring_source: Source
    lenders: dict[Name, Lender]


class UsedMarket(Row):
    listing_max_months: Annotated[int, Field(ge=1)]
    price_adjustment: NonNegative  # multiplier change per unit of excess demand over supply
    price_multiplier_min: Annotated[float, Field(gt=0)]
    price_multiplier_max: Annotated[float, Field(gt=0)]
    import_cost_share: NonNegative  # freight, duties and paperwork over the used value
    technology_value_factor: dict[Name, NonNegative]  # resale value by engine standard


class NamedFleet(Row):
    """A real firm the scenario names; the model gives the name to the largest firm of its band
    (and region) not yet named."""

    name: str
    band: Band
    region: Name | None = None


class Demonstration(Row):
    fleet: str
    technology: Name
    vehicle_class: ClassName
    units: Annotated[int, Field(ge=1)]
    start: date


class Partnership(Row):
    """Large fleets guarantee and co-finance filter retrofits and replacements of the oldest
    trucks (which are scrapped) for the micro and small firms that haul for them."""

    name: str
    start: date
    end: date
    large_fleet_share: Share
    guarantee_share: Share
    cofinance_share: Share
    retrofit_technologies: list[Name]
    retrofit_max_age_years: Annotated[int, Field(ge=0)]
    replace_min_age_years: Annotated[int, Field(ge=0)]
    replacement_technologies: list[Name]
    contract_uplift_share: NonNegative  # more margin per km on contracts with the large fleet

    @model_validator(mode="after")
    def _dates(self):
        if self.end < self.start:
            raise ValueError(f"expected end after start {self.start}, got {self.end}")
        return self


class ClassEconomics(Row):
    contribution_mxn_per_km: NonNegative  # revenue less driver, tolls and overheads
    scrap_value_mxn: NonNegative
    charger_mxn_per_vehicle: NonNegative  # depot charging for a battery-electric vehicle
