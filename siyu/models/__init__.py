"""Probabilistic customer-value models fitted by maximum likelihood in C.

BetaGeo (BG/NBD), ModifiedBetaGeo (MBG/NBD), ParetoNBD, BetaGeoBetaBinom (BG/BB),
GammaGamma (spend) and ShiftedBetaGeometric (sBG), plus :func:`clv`.
"""
from siyu.models._base import ConvergenceError
from siyu.models.betageo import BetaGeo, ModifiedBetaGeo
from siyu.models.bgbb import BetaGeoBetaBinom
from siyu.models.clv import clv
from siyu.models.gammagamma import GammaGamma
from siyu.models.paretonbd import ParetoNBD
from siyu.models.sbg import ShiftedBetaGeometric

__all__ = ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "BetaGeoBetaBinom", "GammaGamma",
           "ShiftedBetaGeometric", "clv", "ConvergenceError"]
