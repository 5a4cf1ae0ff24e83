"""The world: FleetModel, the vehicle registry, technologies, turnover, market, emissions."""

from .model import FleetModel, ModelRangeError

__all__ = ["FleetModel", "ModelRangeError"]
