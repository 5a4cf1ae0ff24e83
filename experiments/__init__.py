"""fleetsim.experiments: sweeps, Monte Carlo and sensitivity analysis, and the CLI."""

from .spec import SpecError, SweepSpec
from .sweep import Sweep, SweepResult

__all__ = ["SpecError", "Sweep", "SweepResult", "SweepSpec"]
