"""The decision makers: operators (firms in four size bands), lenders and the regulator, and how
they decide: total cost of ownership, the logit choice with peer-dependent risk, credit."""

from .instruments import PolicyEffects
from .lenders import Lender, LoanBook, credit_score
from .operators import Operator, OperatorSet, build_operators
from .peers import PeerNetwork, build_network
from .regulator import Regulator

__all__ = [
    "Lender",
    "LoanBook",
    "Operator",
    "OperatorSet",
    "PeerNetwork",
    "PolicyEffects",
    "Regulator",
    "build_network",
    "build_operators",
    "credit_score",
]
