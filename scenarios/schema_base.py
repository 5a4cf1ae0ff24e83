"""Building blocks of the scenario schema: sourced numbers, table rows, shares, names.

Sources start with "[S]" (read in a published source) or "[E]" (an estimate), as in DATA.md.
A table row carries `source` for all its numbers and may name a different one per field in
`sources`. Paths over time are either one number or a mapping year -> value, interpolated
linearly between years and held flat outside them.
"""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

SIZE_BANDS = ("micro", "small", "medium", "large")
SHARE_TOLERANCE = 1e-6
MAX_WHOLE_NUMBER = 1_000_000_000  # any count, age or term: larger overflows the model's arrays


def _check_source(text: str) -> str:
    if not re.match(r"^\[(S|E)(, [^\]]+)?\]\s*\S", text):
        raise ValueError('expected a source starting with "[S] " (published) or "[E] " (estimate)')
    return text


Source = Annotated[str, AfterValidator(_check_source)]
Share = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Sigma = Annotated[float, Field(ge=0, le=5)]  # a lognormal's spread: exp(5 sigma) is finite
Year = Annotated[int, Field(ge=1900, le=2200)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
ClassName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
NonNegativePath = NonNegative | dict[Year, NonNegative]


def check_shares(shares: dict, what: str) -> None:
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"got {what} summing to {total:.6g}, expected them to sum to 1")


class Strict(BaseModel):
    # no NaN or infinity anywhere: "1e400" in a file reads as infinity
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _whole_numbers_bounded(cls, value):
        """Whole numbers (alone, or in a list or a mapping's values) of at most 1e9 in size."""
        values = (value.values() if isinstance(value, dict)
                  else value if isinstance(value, list) else [value])
        for v in values:
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_WHOLE_NUMBER:
                digits = str(abs(v))  # at most 4,300 digits: YAML refuses longer
                shown = v if len(digits) <= 20 else f"a number of {len(digits)} digits"
                raise ValueError(f"got {shown}, expected a whole number of at most "
                                 f"{MAX_WHOLE_NUMBER:,} in size")
        return value


class Row(Strict):
    """A table row: `source` covers its numbers, `sources` may override it per field."""

    source: Source
    sources: dict[str, Source] = {}

    @model_validator(mode="after")
    def _sources_name_fields(self):
        numeric = set(type(self).model_fields) - {"source", "sources"}
        unknown = sorted(set(self.sources) - numeric)
        if unknown:
            raise ValueError(f"expected `sources` keys among {sorted(numeric)}, got {unknown}")
        return self


class SourcedNumber(Strict):
    value: float
    source: Source


class SourcedShare(Strict):
    value: Share
    source: Source


class SourcedCount(Strict):
    value: Annotated[int, Field(ge=0)]
    source: Source


class SourcedPath(Strict):
    """A number that may change over time: one value or year -> value."""

    value: float | dict[Year, float]
    source: Source


class BandValues(Row):
    micro: NonNegative
    small: NonNegative
    medium: NonNegative
    large: NonNegative


def at_year(path: float | dict[int, float] | None, year: float, default: float = np.nan) -> float:
    """A number, or a year -> value mapping interpolated linearly and held flat outside."""
    if path is None:
        return default
    if not isinstance(path, dict):
        return float(path)
    years = sorted(path)
    return float(np.interp(year, years, [path[y] for y in years]))
