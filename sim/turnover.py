"""Stock turnover: Weibull survival S(age) = exp(-(age/lambda)^k), as ICCT's Roadmap uses.

Each vehicle draws its end of life once, when it enters, from the survival curve conditional on
the age it has then. Retiring every vehicle whose drawn month has come is then exactly the
monthly retirement the curve implies, at the cost of one comparison per vehicle per month.
"""

from __future__ import annotations

import numpy as np


def survival(age_years: np.ndarray | float, lambda_years: float, k: float) -> np.ndarray:
    return np.exp(-((np.asarray(age_years, float) / lambda_years) ** k))


def monthly_retirement_probability(age_years, lambda_years: float, k: float) -> np.ndarray:
    """Chance that a vehicle alive at this age retires within the next month."""
    s0 = survival(age_years, lambda_years, k)
    s1 = survival(np.asarray(age_years, float) + 1 / 12, lambda_years, k)
    return 1.0 - s1 / s0


def draw_lifetimes(
    age_years: np.ndarray, lambda_years: float, k: float, u: np.ndarray
) -> np.ndarray:
    """Total lifetime in years, drawn from S conditional on surviving to `age_years` with the
    uniforms u (one per vehicle):
    S(L) / S(a) = U  =>  L = lambda * ((a / lambda)^k - ln U)^(1/k)."""
    u = np.maximum(u, np.finfo(float).tiny)
    return lambda_years * ((age_years / lambda_years) ** k - np.log(u)) ** (1.0 / k)


def death_months(
    birth_month: np.ndarray, now_month: int, lambda_years: float, k: float, u: np.ndarray,
) -> np.ndarray:
    """Month (counted from year 0) in which each vehicle retires; always after `now_month`;
    u: one uniform per vehicle (sim.draws, purpose LIFETIME)."""
    # a vehicle born this month is "now" aged 0, never less
    age = np.maximum(now_month - birth_month, 0) / 12.0
    life = draw_lifetimes(age, lambda_years, k, u)
    month = birth_month + np.ceil(life * 12.0).astype(np.int64)
    return np.maximum(month, now_month + 1).astype(np.int32)


def draw_ages_months(bins: list[tuple[int, int, float]], n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Ages in months from shares over whole-year bins (A-B: ages A to B years, both included),
    uniform within a bin."""
    lo = np.array([b[0] for b in bins], float)
    hi = np.array([b[1] + 1 for b in bins], float)
    shares = np.array([b[2] for b in bins])
    which = rng.choice(len(bins), size=n, p=shares / shares.sum())
    years = lo[which] + rng.random(n) * (hi[which] - lo[which])
    return np.floor(years * 12.0).astype(np.int32)
