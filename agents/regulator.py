"""The regulator: holds the regulation timeline and says which rules are in force on a date."""

from __future__ import annotations

from datetime import date

import mesa

from fleetsim.scenarios import Scenario
from fleetsim.scenarios.schema import ImportRule, NewVehicleStandard


class Regulator(mesa.Agent):
    """Updates the rules in force at the start of each month (step 1 of the monthly flow)."""

    def __init__(self, model: mesa.Model, spec: Scenario):
        super().__init__(model)
        self.standards = list(spec.regulation.new_vehicle_standards)
        self.import_rules = list(spec.regulation.used_import_rules)
        self.standards_in_force: list[NewVehicleStandard] = []
        self.import_rule: ImportRule | None = None

    def update(self, today: date) -> None:
        """Rules whose effective date has come. A rule is in force on its effective date if the
        month's step covers it: a rule effective on the 4th applies from that month."""
        month_end = _month_end(today)
        self.standards_in_force = [s for s in self.standards if s.effective <= month_end]
        rules = [r for r in self.import_rules if r.effective <= month_end]
        self.import_rule = rules[-1] if rules else None

    def standard_for(self, vehicle_class: str) -> NewVehicleStandard | None:
        """The latest new-vehicle standard in force that covers this class."""
        covering = [s for s in self.standards_in_force if vehicle_class in s.classes]
        return covering[-1] if covering else None


def _month_end(d: date) -> date:
    if d.month == 12:
        return date(d.year, 12, 31)
    return date(d.year, d.month + 1, 1).fromordinal(date(d.year, d.month + 1, 1).toordinal() - 1)
