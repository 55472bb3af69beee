"""Benchmark: BG/NBD and Pareto/NBD fits on a degenerate log, where the models sit at a
boundary (issue 12, item 3).

The log: 10M orders whose customer (uniform over 874,000 ids) and day (uniform over one
year) are drawn independently, so every customer buys at the same Poisson rate and nobody
drops out.  Both models are then at a boundary (no dropout; no rate heterogeneity): the
fit must stop early with a RuntimeWarning naming the parameters, not run for a minute.

Run:  python benchmarks/bench_fit_degenerate.py [--orders 10000000] [--customers 874000]

Times the whole user call (Transactions construction and summary are timed separately and
printed; the fit is timed from the summary, as a user refits it), one run each (the fits
are deterministic), with the machine's load average.  Exits non-zero when a fit does not
warn or returns non-finite predictions.  siyu collapses identical (x, t_x, T) rows before
fitting: the number of distinct rows is printed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import siyu  # noqa: E402
from siyu.models import BetaGeo, ParetoNBD  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=874_000)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}")
    rng = np.random.default_rng(args.seed)
    cust = rng.integers(0, args.customers, args.orders)
    day = np.datetime64("2023-01-01") + rng.integers(0, 365, args.orders).astype("timedelta64[D]")
    df = pd.DataFrame({"customer": cust, "date": day.astype("datetime64[ns]"),
                       "amount": np.round(rng.gamma(2.0, 50.0, args.orders), 2)})
    t0 = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer", time="date", amount="amount")
    t_tx = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = tx.summary()
    t_s = time.perf_counter() - t0
    del df, tx
    distinct = len(s[["frequency", "recency", "T"]].drop_duplicates())
    print(f"{args.orders:,} orders, {len(s):,} customers, {distinct:,} distinct (x, t_x, T) rows "
          f"(daily units); Transactions() {t_tx:.2f} s, summary() {t_s:.2f} s")
    ok = True
    for cls, target in ((BetaGeo, 1.0), (ParetoNBD, 5.0)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            m = cls().fit(s)
            dt = time.perf_counter() - t0
        boundary = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        pred = m.conditional_expected_purchases(30.0, s)
        finite = bool(np.all(np.isfinite(pred)))
        print(f"{cls.__name__:<10s} fit {dt:7.2f} s (target <= {target:.0f} s)  iterations "
              f"{m.n_iter_:4d}  unique rows {m.n_unique_:,}  boundary warning: "
              f"{'yes' if boundary else 'NO'}  at_boundary={m.at_boundary_}")
        if boundary:
            print("   ", str(boundary[0].message)[:400])
        print(f"    predictions finite: {finite}; mean E[X(30 days)] = {float(pred.mean()):.4f}, "
              f"actual mean orders/30 days = {float((s.frequency / s['T'].clip(lower=1)).mean() * 30):.4f}")
        ok = ok and bool(boundary) and finite
    print(f"load average after: {os.getloadavg()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
