"""siyu (私域) -- customer-value analytics for private-domain shops.

Per-customer summaries, acquisition cohorts and retention, survival and repurchase,
probabilistic CLV models, unit economics and customer segments, with the hot paths in C.

Start with :class:`siyu.Transactions`; see ``siyu.datasets`` for bundled data.
"""
from siyu._core import ConvergenceError, get_num_threads, set_num_threads
from siyu._periods import ExistingCustomersWarning
from siyu import datasets, metrics, plotting, segments
from siyu.cohorts import CohortTable
from siyu.retention import InterpurchaseTimes, RepurchaseTable, RetentionTable
from siyu.survival import SurvivalCurve
from siyu.economics import compare_channels, unit_economics
from siyu.models import (BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo, ParetoNBD,
                         ShiftedBetaGeometric, clv)
from siyu.models import (bootstrap_means, calibration_vs_holdout, compare_models,
                         expected_cumulative_transactions, fit_by, frequency_recency_matrix,
                         holdout_errors, period_transactions, probability_alive_history,
                         probability_alive_matrix, sbg_from_cohorts, simulate_bgbb)
from siyu.segments import Migration, markov_clv, stage_summary
from siyu.transactions import Transactions
from siyu.io import read_csv, read_orders

__version__ = "0.1.0"

__all__ = [
    "BetaGeo", "BetaGeoBetaBinom", "CohortTable", "ConvergenceError", "ExistingCustomersWarning",
    "GammaGamma",
    "InterpurchaseTimes", "Migration", "ModifiedBetaGeo", "ParetoNBD", "RepurchaseTable",
    "RetentionTable", "ShiftedBetaGeometric", "SurvivalCurve", "Transactions", "clv",
    "compare_channels", "datasets", "get_num_threads", "markov_clv", "metrics", "read_csv",
    "read_orders", "segments",
    "plotting", "set_num_threads", "stage_summary", "unit_economics", "__version__",
    # model diagnostics, intervals and extras
    "bootstrap_means", "calibration_vs_holdout", "compare_models",
    "expected_cumulative_transactions", "fit_by", "frequency_recency_matrix", "holdout_errors",
    "period_transactions", "probability_alive_history", "probability_alive_matrix",
    "sbg_from_cohorts", "simulate_bgbb",
]
