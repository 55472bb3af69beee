"""Benchmark: Transactions(...) + summary() against what an analyst would otherwise run.

A synthetic log (default 10M rows, 2M customers, shuffled int64 ids, datetime64[ns]
times over three years) is written once to .npy files.  Every contender then runs in
its own Python process that loads the arrays into the same pandas DataFrame (outside
the timed region: it is the input everyone starts from) and runs the task three times;
the best of 3 is reported for everyone.  Peak memory is the peak resident set (VmHWM, reset
after loading) above the loaded baseline.

The task: frequency, recency, T and monetary_value (mean of repeat purchase days,
freq="D", unit days, end 2024-12-31) per customer.  siyu's time is its WHOLE call,
``siyu.Transactions(df, ...)`` + ``.summary()``; the breakdown is printed separately.
Contenders: the pandas idiom (group by customer-day, then by customer), polars (its
frame conversion timed as part of its run), DuckDB (scans the pandas frame in place),
lifetimes' summary_data_from_transaction_data where installed (on a subsample).

Every contender's full result (each of the 4 columns of every customer) is compared
with siyu's: integers exactly, floats to rtol 1e-9; the script exits 1 on a mismatch.
A second table runs siyu with 1 and 2 threads (own processes, best of 3 each) on the
same log: construction, summary() and the row-grouping kernel.

    python benchmarks/bench_summary.py [--rows 10000000] [--customers 2000000]
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

from _bench_util import CRASHES, child_ran, cpu_seconds, load_average, peak_rss, rss

END = "2024-12-31"
REPEAT = 3
RTOL = 1e-9
COLUMNS = ["frequency", "recency", "T", "monetary_value"]


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


# ----------------------------------------------------------------------------- contenders
def run_siyu(df, pd, out):
    import siyu

    t0 = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer", time="time", amount="amount")
    t1 = time.perf_counter()
    out["construct_peak_extra_bytes"] = max(
        peak_rss() - BASE_RSS[0], 0)
    s = tx.summary(end=END)
    t2 = time.perf_counter()
    out["construct_s"], out["summary_s"] = t1 - t0, t2 - t1
    return s.index.to_numpy(), {c: s[c].to_numpy() for c in COLUMNS}


def run_pandas(df, pd, out):
    end = pd.Timestamp(END)
    d = df.assign(day=df["time"].dt.floor("D"))
    per_day = d.groupby(["customer", "day"], sort=True)["amount"].sum().reset_index()
    g = per_day.groupby("customer", sort=True)
    first = g["day"].transform("min")
    res = g.agg(first=("day", "min"), last=("day", "max"), n=("day", "size"),
                total=("amount", "sum"))
    first_amt = per_day.loc[per_day["day"] == first].set_index("customer")["amount"]
    res["frequency"] = res["n"] - 1
    res["recency"] = (res["last"] - res["first"]).dt.days
    res["T"] = (end - res["first"]).dt.days
    rep = res["frequency"].where(res["frequency"] > 0)
    res["monetary_value"] = ((res["total"] - first_amt) / rep).fillna(0.0)
    return res.index.to_numpy(), {c: res[c].to_numpy() for c in COLUMNS}


def run_polars(df, pd, out):
    import polars as pl

    end = pd.Timestamp(END)
    frame = pl.from_pandas(df)
    per_day = (frame.with_columns(pl.col("time").dt.truncate("1d").alias("day"))
               .group_by(["customer", "day"]).agg(pl.col("amount").sum()))
    res = (per_day.sort("day").group_by("customer")
           .agg(first=pl.col("day").first(), last=pl.col("day").last(), n=pl.len(),
                total=pl.col("amount").sum(), first_amt=pl.col("amount").first())
           .with_columns(frequency=pl.col("n") - 1,
                         recency=(pl.col("last") - pl.col("first")).dt.total_days(),
                         T=(pl.lit(end) - pl.col("first")).dt.total_days())
           .with_columns(monetary_value=pl.when(pl.col("frequency") > 0)
                         .then((pl.col("total") - pl.col("first_amt")) / pl.col("frequency"))
                         .otherwise(0.0))
           .sort("customer"))
    return res["customer"].to_numpy(), {c: res[c].to_numpy() for c in COLUMNS}


DUCK_SQL = f"""
WITH d AS (SELECT customer, CAST(time AS DATE) AS day, sum(amount) AS amount
           FROM log GROUP BY 1, 2),
r AS (SELECT customer, day, amount, row_number() OVER (PARTITION BY customer ORDER BY day) AS k
      FROM d)
SELECT customer, count(*) - 1 AS frequency, max(day) - min(day) AS recency,
       DATE '{END}' - min(day) AS T,
       CASE WHEN count(*) > 1 THEN sum(amount) FILTER (WHERE k > 1) / (count(*) - 1)
            ELSE 0.0 END AS monetary_value
FROM r GROUP BY customer ORDER BY customer
"""


def run_duckdb(df, pd, out):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    con.register("log", df)
    res = con.execute(DUCK_SQL).df()
    return res["customer"].to_numpy(), {c: res[c].to_numpy() for c in COLUMNS}


def run_lifetimes(df, pd, out):
    from lifetimes.utils import summary_data_from_transaction_data

    res = summary_data_from_transaction_data(df, "customer", "time", "amount",
                                             observation_period_end=pd.Timestamp(END), freq="D")
    return res.index.to_numpy(), {c: res[c].to_numpy() for c in COLUMNS}


CONTENDERS = {"siyu": run_siyu, "pandas": run_pandas, "polars": run_polars,
              "duckdb": run_duckdb, "lifetimes": run_lifetimes}


BASE_RSS = [0]


def child(path: str, who: str, nrows: int, threads: int | None, task: str) -> None:
    import pandas as pd

    c = np.load(os.path.join(path, "customer.npy"))[:nrows]
    t = np.load(os.path.join(path, "time.npy"))[:nrows]
    a = np.load(os.path.join(path, "amount.npy"))[:nrows]
    df = pd.DataFrame({"customer": c, "time": t, "amount": a}, copy=False)
    input_bytes = c.nbytes + t.nbytes + a.nbytes
    out: dict = {"who": who, "rows": nrows, "input_bytes": input_bytes}
    # every contender's library is imported before the memory baseline
    import importlib
    importlib.import_module({"siyu": "siyu", "polars": "polars", "duckdb": "duckdb",
                             "lifetimes": "lifetimes.utils"}.get(who, "pandas"))
    if threads:
        import siyu
        siyu.set_num_threads(threads)
        out["threads"] = threads
    base = BASE_RSS[0] = rss()
    walls, parts = [], []
    if task == "kernels":
        import siyu
        from siyu import _core

        for _ in range(REPEAT):
            tx = siyu.Transactions(df, customer="customer", time="time", amount="amount")
            t0 = time.perf_counter()
            cust = np.ascontiguousarray(tx._log.cust[::-1])          # ungrouped input
            day = np.ascontiguousarray(tx._log.day[::-1])
            t1 = time.perf_counter()
            _core.group_rows(cust, day, tx.n_customers)
            walls.append(time.perf_counter() - t1)
            del tx, cust, day
        out["wall_s"] = min(walls)
        print(json.dumps(out))
        return
    for rep in range(REPEAT):
        part: dict = {}
        c0 = cpu_seconds()
        t0 = time.perf_counter()
        ids, cols = CONTENDERS[who](df, pd, part)
        walls.append(time.perf_counter() - t0)
        part["cpu_s"] = cpu_seconds() - c0
        parts.append(part)
        if rep == 0:
            out["peak_extra_bytes"] = max(peak_rss() - base, 0)
            np.savez(os.path.join(path, f"result_{who}.npz"), ids=ids,
                     **{k: np.asarray(v) for k, v in cols.items()})
        del ids, cols
    best = int(np.argmin(walls))
    out.update(wall_s=walls[best], **{k: v for k, v in parts[best].items() if "peak" not in k})
    if "construct_peak_extra_bytes" in parts[0]:
        out["construct_peak_extra_bytes"] = parts[0]["construct_peak_extra_bytes"]
    print(json.dumps(out))


# ----------------------------------------------------------------------------- parent
def run(path: str, who: str, rows: int, threads: int | None = None, task: str = "summary"):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", who, path, str(rows),
           str(threads or 0), task]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if not child_ran(proc, who):
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(path: str, who: str) -> list[str]:
    """Every value of a contender's result against siyu's (ints exact, floats rtol)."""
    ref = np.load(os.path.join(path, "result_siyu.npz"), allow_pickle=True)
    got = np.load(os.path.join(path, f"result_{who}.npz"), allow_pickle=True)
    problems = []
    if not np.array_equal(ref["ids"].astype(np.int64), got["ids"].astype(np.int64)):
        return [f"{who}: customers differ ({len(got['ids'])} vs {len(ref['ids'])})"]
    for c in COLUMNS:
        a, b = ref[c].astype(np.float64), got[c].astype(np.float64)
        if c == "frequency":
            bad = a != b
        else:
            bad = ~np.isclose(a, b, rtol=RTOL, atol=1e-9)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"{who}: {c} differs for {int(bad.sum())} customers, e.g. id "
                            f"{ref['ids'][i]}: {b[i]!r} vs siyu {a[i]!r}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--lifetimes-rows", type=int, default=200_000)
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        who, path, rows, threads, task = args.child
        child(path, who, int(rows), int(threads) or None, task)
        return
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as path:
        t0 = time.perf_counter()
        make_log(path, args.rows, args.customers)
        print(f"log: {args.rows:,} rows, {args.customers:,} customers, shuffled, int64 ids, "
              f"datetime64[ns] (generated in {time.perf_counter() - t0:.1f}s)")
        print(f"cores: {os.cpu_count()}; load average at start: "
              f"{load_average()}")
        print(f"policy: each contender in its own process, same pandas DataFrame input, best of "
              f"{REPEAT}; results compared value by value (floats rtol {RTOL:g})")
        results = {}
        for who in ("siyu", "pandas", "polars", "duckdb"):
            r = run(path, who, args.rows)
            if r:
                results[who] = r
                if who != "siyu":
                    failures += compare(path, who)
        base = results.get("siyu")
        print(f"\n{'contender':<12}{'wall s':>10}{'siyu is':>14}{'cpu s':>9}{'peak extra MB':>15}"
              f"{'peak/input':>12}")
        for who, r in results.items():
            ratio = "" if who == "siyu" else f"{r['wall_s'] / base['wall_s']:.1f}x faster"
            print(f"{who:<12}{r['wall_s']:>10.3f}{ratio:>14}{r['cpu_s']:>9.2f}"
                  f"{r['peak_extra_bytes'] / 1e6:>15.0f}{r['peak_extra_bytes'] / r['input_bytes']:>12.2f}")
        print("(cpu s: user + system seconds of the same run, all threads: the work done, "
              "less sensitive to a busy machine than wall time)")
        if base:
            print(f"\nsiyu breakdown (best run): Transactions() {base['construct_s']:.3f}s + "
                  f"summary() {base['summary_s']:.3f}s; every ratio above includes both")
            print(f"siyu peak extra memory of construction alone: "
                  f"{base['construct_peak_extra_bytes'] / 1e6:.0f} MB = "
                  f"{base['construct_peak_extra_bytes'] / base['input_bytes']:.2f}x the input arrays")
        # threads: 1 vs 2, each in its own process
        print("\nsiyu with 1 and 2 threads (own processes, best of 3 each):")
        print(f"  {'step':<22}{'1 thread s':>12}{'2 threads s':>13}")
        th = {n: run(path, "siyu", args.rows, threads=n) for n in (1, 2)}
        kr = {n: run(path, "siyu", args.rows, threads=n, task="kernels") for n in (1, 2)}
        if all(th.values()):
            for step in ("construct_s", "summary_s"):
                print(f"  {step[:-2]:<22}{th[1][step]:>12.3f}{th[2][step]:>13.3f}")
        if all(kr.values()):
            print(f"  {'group_rows (kernel)':<22}{kr[1]['wall_s']:>12.3f}{kr[2]['wall_s']:>13.3f}")
        lt = run(path, "lifetimes", args.lifetimes_rows)
        if lt:
            sy = run(path, "siyu", args.lifetimes_rows)
            failures += compare(path, "lifetimes")
            print(f"lifetimes on {args.lifetimes_rows:,} rows: {lt['wall_s']:.2f}s vs siyu "
                  f"{sy['wall_s']:.3f}s -> {lt['wall_s'] / sy['wall_s']:.0f}x")
        print(f"\nload average at end: {load_average()}")
    failures += CRASHES
    if failures:
        print("\nMISMATCH:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all contenders' results match siyu's")


if __name__ == "__main__":
    main()
