"""The decision makers: operators (firms in four size bands) and the regulator."""

from .operators import Operator, OperatorArrays, build_operators
from .regulator import Regulator

__all__ = ["Operator", "OperatorArrays", "Regulator", "build_operators"]
