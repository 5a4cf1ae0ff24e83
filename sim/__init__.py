"""The world: FleetModel, the Fleet (vehicle registry and ledger), technologies, turnover,
market, emissions, the output catalogue."""

from .kernels import warm
from .model import FleetModel, ModelRangeError

__all__ = ["FleetModel", "ModelRangeError", "warm"]
