"""Benchmark: Transactions(...) + summary() against what an analyst would otherwise run.

A synthetic log (default 2M customers, 10M rows, int64 ids, datetime64[ns] times over
three years, shuffled) is written once to .npy files; each contender then runs in its
own Python process that loads the arrays, so wall time and peak memory (ru_maxrss above
the loaded baseline) are measured on equal terms.  One run each, as a user would.

    python benchmarks/bench_summary.py [--rows 10000000] [--customers 2000000]

Contenders: siyu; the pandas idiom (group by customer-day, then by customer); polars
(if installed); lifetimes.utils.summary_data_from_transaction_data (if installed; on a
--lifetimes-rows subsample because it takes minutes).  All compute frequency, recency,
T, monetary_value (mean of repeat purchase days) per customer with freq="D".
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

END = np.datetime64("2024-12-31")


def make_log(path: str, rows: int, customers: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ids = 100_000_000 + rng.permutation(customers * 2)[:customers].astype(np.int64)
    # a heavy-tailed number of orders per customer, every customer at least one
    cust = np.concatenate([np.arange(customers), rng.integers(0, customers, rows - customers)])
    first = rng.integers(0, 3 * 365 - 1, customers)
    offs = (rng.exponential(120, rows)).astype(np.int64)
    day = np.minimum(first[cust] + offs * (np.arange(rows) >= customers), 3 * 365 - 1)
    ns = (np.datetime64("2022-01-01", "ns").astype(np.int64)
          + day * 86_400_000_000_000 + rng.integers(0, 86_400_000_000_000, rows))
    amount = np.round(rng.gamma(2.0, 40.0, rows), 2)
    perm = rng.permutation(rows)
    np.save(os.path.join(path, "customer.npy"), ids[cust][perm])
    np.save(os.path.join(path, "time.npy"), ns[perm].view("datetime64[ns]"))
    np.save(os.path.join(path, "amount.npy"), amount[perm])


CHILD = r"""
import json, os, resource, sys, time
import numpy as np, pandas as pd
path, who, nrows = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = np.load(os.path.join(path, "customer.npy"))[:nrows]
t = np.load(os.path.join(path, "time.npy"))[:nrows]
a = np.load(os.path.join(path, "amount.npy"))[:nrows]
input_bytes = c.nbytes + t.nbytes + a.nbytes
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
END = pd.Timestamp("2024-12-31")
if who in ("pandas", "lifetimes"):
    df = pd.DataFrame({"customer": c, "time": t, "amount": a})
elif who == "polars":
    import polars as pl
    df = pl.DataFrame({"customer": c, "time": t, "amount": a})
base = rss()
t0 = time.perf_counter()
if who == "siyu":
    import siyu
    tx = siyu.Transactions(customer=c, time=t, amount=a)
    t1 = time.perf_counter()
    out = tx.summary(end=END)
    extra = {"construct_s": t1 - t0, "summary_s": time.perf_counter() - t1}
elif who == "pandas":
    d = df.assign(day=df["time"].dt.floor("D"))
    per_day = d.groupby(["customer", "day"], sort=True)["amount"].sum().reset_index()
    g = per_day.groupby("customer", sort=True)
    first = g["day"].transform("min")
    out = g.agg(first=("day", "min"), last=("day", "max"), n=("day", "size"),
                total=("amount", "sum"))
    first_amt = per_day.loc[per_day["day"] == first].set_index("customer")["amount"]
    out["frequency"] = out["n"] - 1
    out["recency"] = (out["last"] - out["first"]).dt.days
    out["T"] = (END - out["first"]).dt.days
    rep = out["frequency"].where(out["frequency"] > 0)
    out["monetary_value"] = ((out["total"] - first_amt) / rep).fillna(0.0)
    extra = {}
elif who == "polars":
    import polars as pl
    per_day = (df.with_columns(pl.col("time").dt.truncate("1d").alias("day"))
                 .group_by(["customer", "day"]).agg(pl.col("amount").sum()))
    out = (per_day.sort("day").group_by("customer")
           .agg(first=pl.col("day").first(), last=pl.col("day").last(), n=pl.len(),
                total=pl.col("amount").sum(), first_amt=pl.col("amount").first())
           .with_columns(frequency=pl.col("n") - 1,
                         recency=(pl.col("last") - pl.col("first")).dt.total_days(),
                         T=(pl.lit(END) - pl.col("first")).dt.total_days())
           .with_columns(monetary_value=pl.when(pl.col("frequency") > 0)
                         .then((pl.col("total") - pl.col("first_amt")) / pl.col("frequency"))
                         .otherwise(0.0)))
    extra = {}
elif who == "lifetimes":
    from lifetimes.utils import summary_data_from_transaction_data
    out = summary_data_from_transaction_data(df, "customer", "time", "amount",
                                             observation_period_end=END, freq="D")
    extra = {}
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"who": who, "rows": nrows, "wall_s": wall, "customers_out": len(out),
                  "peak_extra_bytes": max(peak - base, 0), "input_bytes": input_bytes, **extra}))
"""


def run(path: str, who: str, rows: int) -> dict | None:
    proc = subprocess.run([sys.executable, "-c", CHILD, path, who, str(rows)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  {who}: skipped ({last})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--lifetimes-rows", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as path:
        t0 = time.perf_counter()
        make_log(path, args.rows, args.customers)
        print(f"log: {args.rows:,} rows, {args.customers:,} customers "
              f"(generated in {time.perf_counter() - t0:.1f}s); one run each, own process")
        results = {}
        for who in ("siyu", "pandas", "polars"):
            r = run(path, who, args.rows)
            if r:
                results[who] = r
        base = results.get("siyu")
        print(f"\n{'contender':<12}{'rows':>12}{'wall s':>10}{'x siyu':>9}{'peak extra MB':>15}"
              f"{'peak/input':>12}")
        for who, r in results.items():
            ratio = r["wall_s"] / base["wall_s"] if base else float("nan")
            print(f"{who:<12}{r['rows']:>12,}{r['wall_s']:>10.3f}{ratio:>9.1f}"
                  f"{r['peak_extra_bytes'] / 1e6:>15.0f}{r['peak_extra_bytes'] / r['input_bytes']:>12.2f}")
        if base:
            print(f"\nsiyu: Transactions() {base['construct_s']:.3f}s + summary() {base['summary_s']:.3f}s")
        # lifetimes is far slower: compare on a subsample against siyu on the same rows
        lt = run(path, "lifetimes", args.lifetimes_rows)
        if lt:
            sy = run(path, "siyu", args.lifetimes_rows)
            print(f"lifetimes on {args.lifetimes_rows:,} rows: {lt['wall_s']:.2f}s vs siyu "
                  f"{sy['wall_s']:.3f}s -> {lt['wall_s'] / sy['wall_s']:.0f}x")


if __name__ == "__main__":
    main()
