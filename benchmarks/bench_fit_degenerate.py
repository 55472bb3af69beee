"""Benchmark: BG/NBD and Pareto/NBD fits on a degenerate log, where the models sit at a
boundary (issue 12, item 3).

The log: 10M orders whose customer (uniform over 874,000 ids) and day (uniform over one
year) are drawn independently, so every customer buys at the same Poisson rate and nobody
drops out.  Both models are then at a boundary (no dropout; no rate heterogeneity): the
fit must stop early with a RuntimeWarning naming the parameters, not run for a minute.

Run:  python benchmarks/bench_fit_degenerate.py [--orders 10000000] [--customers 874000]

Times the whole user call (Transactions construction and summary are timed separately and
printed; the fit is timed from the summary, as a user refits it), one run each for every
contender (the fits are deterministic), with the machine's load average and peak memory.
The contender: the NumPy likelihood of bench_models.py minimised by SciPy (L-BFGS-B from
the same zero start) on the same summary rows collapsed to distinct (x, t_x, T) with
weights -- the collapse siyu does internally, given to SciPy for free (it favours SciPy).
At a boundary the parameters are not identified (the likelihood is flat along the
boundary direction), so what is compared is the maximum: siyu's log-likelihood must be at
least SciPy's minus 1e-6 relative.  Exits non-zero when that fails, when a fit does not
warn, or when predictions are non-finite.  The number of distinct rows is printed.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import siyu  # noqa: E402
from siyu.models import BetaGeo, ParetoNBD  # noqa: E402

from _bench_util import load_average, peak_rss, rss  # noqa: E402
from bench_models import np_bgnbd_nll, np_pnbd_nll, scipy_fit  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=874_000)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--no-scipy", action="store_true", help="skip the SciPy contender")
    args = ap.parse_args()
    print(f"load average before: {load_average()}")
    rng = np.random.default_rng(args.seed)
    cust = rng.integers(0, args.customers, args.orders)
    day = np.datetime64("2023-01-01") + rng.integers(0, 365, args.orders).astype("timedelta64[D]")
    df = pd.DataFrame({"customer": cust, "date": day.astype("datetime64[ns]"),
                       "amount": np.round(rng.gamma(2.0, 50.0, args.orders), 2)})
    base = rss()
    t0 = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer", time="date", amount="amount")
    t_tx = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = tx.summary()
    t_s = time.perf_counter() - t0
    del df, tx
    peak_build = max(peak_rss() - base, 0) / 2**20
    distinct = len(s[["frequency", "recency", "T"]].drop_duplicates())
    x, tx_, T = (s[k].to_numpy(float) for k in ("frequency", "recency", "T"))
    u, counts = np.unique(np.column_stack([x, tx_, T]), axis=0, return_counts=True)
    cx, ctx, cT, cw = u[:, 0], u[:, 1], u[:, 2], counts.astype(float)
    print(f"{args.orders:,} orders, {len(s):,} customers, {distinct:,} distinct (x, t_x, T) rows "
          f"(daily units); Transactions() {t_tx:.2f} s, summary() {t_s:.2f} s, peak "
          f"{peak_build:,.0f} MiB above the input")
    ok = True
    for cls, target, nll in ((BetaGeo, 1.0, np_bgnbd_nll), (ParetoNBD, 5.0, np_pnbd_nll)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            base = rss()
            t0 = time.perf_counter()
            m = cls().fit(s)
            dt = time.perf_counter() - t0
            peak = max(peak_rss() - base, 0) / 2**20
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
        print(f"    siyu peak memory of the fit {peak:,.0f} MiB above its input")
        ok = ok and bool(boundary) and finite
        if not args.no_scipy:
            base = rss()
            t0 = time.perf_counter()
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = scipy_fit(nll, 4, (cx, ctx, cT, cw), "L-BFGS-B")
            dr = time.perf_counter() - t0
            peak_r = max(peak_rss() - base, 0) / 2**20
            ll_ref = -res.fun * cw.sum()
            good = m.log_likelihood_ >= ll_ref - 1e-6 * abs(ll_ref)
            print(f"    numpy+scipy L-BFGS-B (collapsed rows) {dr:7.2f} s, peak {peak_r:,.0f} MiB "
                  f"-> siyu {dr / dt:.1f}x; LL siyu {m.log_likelihood_:.4f} vs scipy {ll_ref:.4f}"
                  f"{'' if good else '  MISMATCH (scipy found a higher maximum)'}; scipy params "
                  f"{np.round(np.exp(res.x), 4)}")
            ok = ok and good
    print(f"load average after: {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
