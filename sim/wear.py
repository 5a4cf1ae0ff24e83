"""Non-exhaust particles: tyre, brake and road-surface wear per km, by vehicle class and
technology, after the EMEP/EEA Guidebook 1.A.3.b.vi-vii Tier 2 (Ntziachristos & Boulter).

Wear depends on weight (axles, load) and speed, not on the engine, so electric trucks emit it
too: their batteries add load, their regenerative braking spares the friction brakes. Factors
are g per vehicle-km; each source's TSP splits into PM10, PM2.5 and black carbon by fixed
shares. Numbers as read in docs/sources.md A3 (VEIN `ef_wear.R`, its two slips corrected, and
Germany's IIR cross-check) unless marked."""

from __future__ import annotations

import numpy as np

# TSP g/km of a passenger car [S]; a light commercial vehicle's tyre and brake factors are
# 1.58 and 1.56 times a car's [E: EMEP/EEA 2019 table 3-1 values 0.0169 and 0.0117, recalled]
CAR_TYRE_TSP, CAR_BRAKE_TSP, CAR_ROAD_TSP = 0.0107, 0.0075, 0.0150
LCV_TYRE_TSP, LCV_BRAKE_TSP = 0.0169, 0.0117
HDV_ROAD_TSP = 0.0760  # [S] heavy-duty road-surface wear, no speed correction
# share of each source's TSP that is PM10, PM2.5 and black carbon: tyre, brake, road [S]
PM10_SHARE = np.array([0.60, 0.98, 0.50])
PM25_SHARE = np.array([0.42, 0.39, 0.27])
BC_SHARE = np.array([0.10, 0.10, 0.0])  # [S] IIR: tyre BC 4.50 of 45.0, brake 3.27 of 32.7 mg


def tyre_speed_factor(v: float) -> float:
    """Tyre wear rises at low speed [S]: 1.39 below 40 km/h, falling linearly to 0.902 at 90."""
    return 1.39 if v < 40 else (-0.00974 * v + 1.78 if v <= 90 else 0.902)


def brake_speed_factor(v: float) -> float:
    """Brakes work hardest in stop-start driving [S]: 1.67 below 40 km/h, 0.185 above 95."""
    return 1.67 if v < 40 else (-0.0270 * v + 2.75 if v <= 95 else 0.185)


def wear_tsp_g_per_km(heavy: bool, axles: int, load_factor: float, speed_km_h: float,
                      brake_share: float = 1.0) -> np.ndarray:
    """TSP from tyre, brake and road wear (g/km), in that order. `load_factor` includes any
    load the vehicle's own extra weight adds; `brake_share` is the friction braking left."""
    if heavy:
        tyre = axles / 2 * (1.41 + 1.38 * load_factor) * CAR_TYRE_TSP
        brake = 3.13 * (1 + 0.79 * load_factor) * CAR_BRAKE_TSP
        road = HDV_ROAD_TSP
    else:
        tyre, brake, road = LCV_TYRE_TSP, LCV_BRAKE_TSP, CAR_ROAD_TSP
    return np.array([tyre * tyre_speed_factor(speed_km_h),
                     brake * brake_speed_factor(speed_km_h) * brake_share, road])


def wear_g_per_km(heavy: bool, axles: int, load_factor: float, speed_km_h: float,
                  brake_share: float = 1.0) -> tuple[float, float, float]:
    """Non-exhaust PM2.5, PM10 and black carbon, g/km, all sources together."""
    tsp = wear_tsp_g_per_km(heavy, axles, min(load_factor, 1.0), speed_km_h, brake_share)
    return float(tsp @ PM25_SHARE), float(tsp @ PM10_SHARE), float(tsp @ BC_SHARE)
