"""Probabilistic customer-value models fitted by maximum likelihood in C.

BetaGeo (BG/NBD), ModifiedBetaGeo (MBG/NBD), ParetoNBD, BetaGeoBetaBinom (BG/BB),
GammaGamma (spend) and ShiftedBetaGeometric (sBG), plus :func:`clv`.
"""
from siyu.models._base import ConvergenceError
from siyu.models._intervals import bootstrap_means
from siyu.models.betageo import BetaGeo, ModifiedBetaGeo
from siyu.models.bgbb import BetaGeoBetaBinom, simulate_bgbb
from siyu.models.clv import clv
from siyu.models.diagnostics import (calibration_vs_holdout, compare_models,
                                     expected_cumulative_transactions, fit_by,
                                     frequency_recency_matrix, holdout_errors,
                                     period_transactions, probability_alive_history,
                                     probability_alive_matrix)
from siyu.models.gammagamma import GammaGamma
from siyu.models.paretonbd import ParetoNBD
from siyu.models.sbg import ShiftedBetaGeometric, sbg_from_cohorts

__all__ = ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "BetaGeoBetaBinom", "GammaGamma",
           "ShiftedBetaGeometric", "clv", "ConvergenceError", "bootstrap_means",
           "simulate_bgbb", "calibration_vs_holdout", "compare_models",
           "expected_cumulative_transactions", "fit_by", "frequency_recency_matrix",
           "holdout_errors", "period_transactions", "probability_alive_history",
           "probability_alive_matrix", "sbg_from_cohorts"]
