"""The regulator: holds the regulation timeline, says which rules are in force on a date, and
turns them into the terms operators face (PolicyEffects)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import mesa
import numpy as np

from fleetsim.scenarios import Scenario
from fleetsim.scenarios.schema import ImportRule, NewVehicleStandard


@dataclass
class PolicyEffects:
    """What policy adds to or takes from the options operators weigh this month. Each array is
    indexed like the model's technology tables; instruments write into them."""

    new_allowed: np.ndarray  # [tech, class]: may be bought new
    purchase_subsidy_mxn: np.ndarray  # [tech, class]: off the price of a new vehicle
    retrofit_subsidy_mxn: np.ndarray  # [retrofit code, class]; row 0 = no retrofit
    scrap_bonus_mxn: np.ndarray  # [class]: paid for scrapping a vehicle
    lost_revenue_share: np.ndarray  # [reported technology]: margin lost to access limits

    @classmethod
    def neutral(cls, n_tech: int, n_class: int, n_retrofit: int) -> PolicyEffects:
        return cls(
            new_allowed=np.ones((n_tech, n_class), bool),
            purchase_subsidy_mxn=np.zeros((n_tech, n_class)),
            retrofit_subsidy_mxn=np.zeros((n_retrofit + 1, n_class)),
            scrap_bonus_mxn=np.zeros(n_class),
            lost_revenue_share=np.zeros(n_tech + n_retrofit),
        )


class Regulator(mesa.Agent):
    """Updates the rules in force at the start of each month (step 1 of the monthly flow)."""

    def __init__(self, model: mesa.Model, spec: Scenario):
        super().__init__(model)
        self.standards = list(spec.regulation.new_vehicle_standards)
        self.import_rules = list(spec.regulation.used_import_rules)
        self.tech_names = list(spec.technologies)
        self.class_names = list(spec.classes)
        self.n_retrofit = len(spec.retrofits)
        self.standards_in_force: list[NewVehicleStandard] = []
        self.import_rule: ImportRule | None = None
        self.effects = PolicyEffects.neutral(len(self.tech_names), len(self.class_names),
                                             self.n_retrofit)

    def update(self, today: date) -> None:
        """Rules whose effective date has come. A rule is in force on its effective date if the
        month's step covers it: a rule effective on the 4th applies from that month."""
        month_end = date(today.year, today.month,
                         calendar.monthrange(today.year, today.month)[1])
        self.standards_in_force = [s for s in self.standards if s.effective <= month_end]
        rules = [r for r in self.import_rules if r.effective <= month_end]
        self.import_rule = rules[-1] if rules else None
        effects = PolicyEffects.neutral(len(self.tech_names), len(self.class_names),
                                        self.n_retrofit)
        for c, cname in enumerate(self.class_names):
            std = self.standard_for(cname)
            if std is not None:
                effects.new_allowed[:, c] = np.isin(self.tech_names, std.allowed_technologies)
        self.effects = effects

    def standard_for(self, vehicle_class: str) -> NewVehicleStandard | None:
        """The latest new-vehicle standard in force that covers this class."""
        covering = [s for s in self.standards_in_force if vehicle_class in s.classes]
        return covering[-1] if covering else None
