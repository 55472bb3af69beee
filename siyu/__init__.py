"""siyu (私域) -- customer-value analytics for private-domain shops.

Cohorts, retention, repurchase, per-customer summaries, probabilistic CLV models and
unit economics, with the hot paths in C.
"""
from siyu._core import ConvergenceError, get_num_threads, set_num_threads
from siyu import datasets
from siyu.cohorts import CohortTable
from siyu.economics import compare_channels, unit_economics
from siyu.transactions import Transactions, read_csv

__version__ = "0.1.0"

__all__ = ["CohortTable", "ConvergenceError", "Transactions", "compare_channels", "datasets",
           "get_num_threads", "read_csv", "set_num_threads", "unit_economics", "__version__"]
