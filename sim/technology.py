"""Technologies as lookup tables: the scenario's per-technology, per-class numbers as arrays
indexed [technology, class], evaluated for a given year so the monthly step can gather them for
many vehicles at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleetsim.scenarios import Scenario
from fleetsim.scenarios.schema_base import at_year

from .wear import wear_g_per_km


@dataclass(frozen=True)
class YearTables:
    """Numbers that change over time, for one year."""

    year: int
    energy_per_km: np.ndarray  # [tech, class], fuel units per km
    price_mxn: np.ndarray  # [tech, class], NaN where not sold new
    maintenance_mxn_per_km: np.ndarray  # [tech, class]
    fuel_price_mxn: np.ndarray  # [tech], per fuel unit
    wtt_co2_kg: np.ndarray  # [tech], per fuel unit
    retrofit_price_mxn: np.ndarray  # [retrofit code, class]; code 0 = none


class TechTables:
    """Fixed numbers of the scenario's technologies, plus `for_year` for the ones on a path.

    Engine technologies have codes 0..T-1. Retrofits have codes 1..R (0 = none); a retrofitted
    vehicle is reported under the retrofit's name, code T + retrofit - 1 in `reported` terms.
    """

    def __init__(self, spec: Scenario):
        self.spec = spec
        self.tech_names = list(spec.technologies)
        self.class_names = list(spec.classes)
        self.retrofit_names = list(spec.retrofits)
        self.fuel_names = list(spec.fuels)
        self.reported_names = self.tech_names + self.retrofit_names
        nt, nc, nr = len(self.tech_names), len(self.class_names), len(self.retrofit_names)
        self.tech_code = {n: i for i, n in enumerate(self.tech_names)}
        self.class_code = {n: i for i, n in enumerate(self.class_names)}
        self.retrofit_code = {n: i + 1 for i, n in enumerate(self.retrofit_names)}

        techs = list(spec.technologies.values())
        self.fuel_of_tech = np.array([self.fuel_names.index(t.fuel) for t in techs], np.int8)
        self.ttw_co2_kg = np.array([spec.fuels[t.fuel].ttw_co2_kg_per_unit for t in techs])
        self.bc_fraction = np.array([t.bc_fraction_of_pm.value for t in techs])
        self.excess_bc_fraction = np.array([t.excess_bc_fraction_of_pm.value for t in techs])
        # technology a tampered vehicle emits as (its own code where there is nothing to tamper)
        self.emits_as_tampered = np.array(
            [self.tech_code[t.tampered_as] if t.tampered_as else i for i, t in enumerate(techs)],
            np.intp)
        self.can_tamper = np.array([t.tampered_as is not None for t in techs])
        self.scr = np.array([t.scr for t in techs])
        self.urban_km_share = np.array([r.urban_km_share for r in spec.regions.values()])
        retros = list(spec.retrofits.values())
        self.soot_free_reported = np.array(
            [t.soot_free for t in techs] + [r.soot_free for r in retros], bool)
        self.zev_reported = np.array([t.zero_emission for t in techs] + [False] * nr, bool)
        # families operators get to know: an engine's family, or the retrofit itself
        fam = [t.family for t in techs] + self.retrofit_names
        self.family_names = list(dict.fromkeys(fam))
        self.family_reported = np.array([self.family_names.index(f) for f in fam], np.int8)
        self.needs_charger = np.array([spec.fuels[t.fuel].unit == "kWh" for t in techs])
        self.has_class = np.zeros((nt, nc), bool)
        self.pm_g_per_km = np.zeros((nt, nc))
        self.nox_g_per_km = np.zeros((nt, nc))
        for i, t in enumerate(techs):
            for cname, row in t.by_class.items():
                c = self.class_code[cname]
                self.has_class[i, c] = True
                self.pm_g_per_km[i, c] = row.pm25_g_per_km
                self.nox_g_per_km[i, c] = row.nox_g_per_km
        self.wear_pm25, self.wear_pm10, self.wear_bc = self._wear(techs)
        # index 0 is "no retrofit", so every retrofit array has R + 1 rows
        self.pm_reduction = np.array([0.0] + [r.pm_reduction.value for r in retros])
        self.bc_reduction = np.array([0.0] + [r.bc_reduction.value for r in retros])
        self.fuel_penalty = np.array([0.0] + [r.fuel_penalty.value for r in retros])
        self.retrofit_extra_maint = np.zeros((nr + 1, nc))
        for j, r in enumerate(retros, start=1):
            for cname, row in r.by_class.items():
                self.retrofit_extra_maint[j, self.class_code[cname]] = (
                    row.extra_maintenance_mxn_per_km)
        self._cache: dict[int, YearTables] = {}

    def _wear(self, techs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Non-exhaust PM2.5, PM10 and BC g/km [tech, class] (sim.wear)."""
        out = np.zeros((3, len(techs), len(self.class_names)))
        for i, t in enumerate(techs):
            brake = t.brake_wear_share.value if t.brake_wear_share else 1.0
            added = t.added_load_factor.value if t.added_load_factor else 0.0
            for c, cls in enumerate(self.spec.classes.values()):
                w = cls.wear
                out[:, i, c] = wear_g_per_km(cls.heavy, w.axles, w.load_factor + added,
                                             w.speed_km_h, brake)
        return out[0], out[1], out[2]

    def for_year(self, year: int) -> YearTables:
        if year not in self._cache:
            self._cache[year] = self._build_year(year)
        return self._cache[year]

    def _build_year(self, year: int) -> YearTables:
        spec = self.spec
        nt, nc = len(self.tech_names), len(self.class_names)
        energy = np.zeros((nt, nc))
        price = np.full((nt, nc), np.nan)
        maint = np.zeros((nt, nc))
        for i, t in enumerate(spec.technologies.values()):
            for cname, row in t.by_class.items():
                c = self.class_code[cname]
                energy[i, c] = at_year(row.energy_units_per_100km, year) / 100.0
                price[i, c] = at_year(row.price_mxn, year)
                maint[i, c] = at_year(row.maintenance_mxn_per_km, year)
        fuels = [spec.fuels[t.fuel] for t in spec.technologies.values()]
        retro_price = np.zeros((len(self.retrofit_names) + 1, nc))
        for j, r in enumerate(spec.retrofits.values(), start=1):
            for cname, row in r.by_class.items():
                retro_price[j, self.class_code[cname]] = at_year(row.price_mxn, year)
        return YearTables(
            year=year,
            energy_per_km=energy,
            price_mxn=price,
            maintenance_mxn_per_km=maint,
            fuel_price_mxn=np.array([at_year(f.price_mxn_per_unit, year) for f in fuels]),
            wtt_co2_kg=np.array([at_year(f.wtt_co2_kg_per_unit, year) for f in fuels]),
            retrofit_price_mxn=retro_price,
        )

    def reported(self, tech: np.ndarray, retrofit: np.ndarray) -> np.ndarray:
        """Codes into `reported_names`: the engine, or the retrofit where one is fitted."""
        retrofit = np.asarray(retrofit, np.int16)
        return np.where(retrofit > 0, len(self.tech_names) + retrofit - 1,
                        np.asarray(tech, np.int16))
