"""The same analyses on a Dask cluster (optional extra: ``pip install "siyu[dask]"``).

:class:`siyu.dask.Transactions` takes a Dask DataFrame or a folder / glob of Parquet or
CSV files, hash-partitions the rows by customer once (one shuffle, persisted), and
builds one C :class:`siyu.Transactions` per partition on the workers.  Every method
then runs the single-machine code on each partition and moves only small exact
pieces to the caller (count and sum matrices, Kaplan–Meier counts, value counts,
transition counts, collapsed model rows), from which the single-machine result
objects are built by the same code.  Per-customer results stay on the cluster as
Dask DataFrames indexed by customer id.

Importing :mod:`siyu` never imports Dask; importing :mod:`siyu.dask` does.

Examples
--------
>>> import dask.dataframe as dd, siyu, siyu.dask
>>> df = siyu.datasets.load_cdnow()
>>> dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=3), customer="customer_id",
...                              time="date", amount="amount")
>>> dtx.n_customers == siyu.Transactions(df, customer="customer_id", time="date",
...                                      amount="amount").n_customers
True
>>> s = dtx.summary(end="1997-09-30", unit="W").compute().sort_index()
>>> round(float(s["T"].max()), 2)
38.86
"""
from __future__ import annotations

from siyu.dask._transactions import Transactions, stage_summary

__all__ = ["Transactions", "stage_summary"]
