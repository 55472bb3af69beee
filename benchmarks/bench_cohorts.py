"""Benchmark: monthly cohort matrix and 90-day n-day retention, siyu vs peers.

Same synthetic log for everyone (default 10M rows, 2M customers, shuffled, int64 ids,
datetime64 times over ~3 years, positive amounts), one timed run per tool in one
process, ratios printed.  What is timed:

- cohort matrix: active customers, orders and revenue per (monthly cohort, age) as a
  cohort x age matrix;
- n-day retention: eligible and retained customers for days 0..90.

siyu is timed on the call (``tx.cohorts("M")``, ``tx.retention(days=range(91))``)
excluding ``Transactions`` construction, which is reported separately; likewise the
polars frame conversion is excluded (DuckDB scans the pandas frame in place).  The
results of every tool are cross-checked against siyu's.

Run:  python benchmarks/bench_cohorts.py [--rows 10_000_000] [--customers 2_000_000]
      [--repeat N]   (best of N calls per tool; useful on a shared, noisy machine)
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd

import siyu


def make_log(rows: int, customers: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.int64(10) ** 12, size=customers, replace=False).astype(np.int64)
    # each customer gets an acquisition time; their orders follow it (realistic cohorts)
    start = np.datetime64("2021-01-01T00:00:00", "s").astype(np.int64)
    span = 3 * 365 * 86_400
    acq = start + (rng.random(customers) ** 0.8 * span).astype(np.int64)
    cust = np.concatenate([np.arange(customers), rng.integers(0, customers, rows - customers)])
    offs = np.concatenate([np.zeros(customers, np.int64),
                           (rng.exponential(120 * 86_400, rows - customers)).astype(np.int64)])
    t = np.minimum(acq[cust] + offs, start + span - 1)
    perm = rng.permutation(rows)
    return pd.DataFrame({
        "customer_id": ids[cust][perm],
        "paid_at": t[perm].astype("datetime64[s]").astype("datetime64[ns]"),
        "amount": np.round(rng.gamma(2.0, 40.0, rows), 2)[perm],
    })


REPEAT = 1


def timed(fn):
    """Seconds of one call (the best of REPEAT calls with --repeat), and its result."""
    best = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ----------------------------------------------------------------------------- pandas
def pandas_cohorts(df: pd.DataFrame) -> pd.DataFrame:
    first = df.groupby("customer_id")["paid_at"].transform("min")
    cohort = first.dt.to_period("M")
    period = df["paid_at"].dt.to_period("M")
    age = ((df["paid_at"].dt.year - first.dt.year) * 12
           + (df["paid_at"].dt.month - first.dt.month))
    g = df.assign(cohort=cohort, age=age).groupby(["cohort", "age"])
    out = pd.DataFrame({"active": g["customer_id"].nunique(), "orders": g.size(),
                        "revenue": g["amount"].sum()})
    del period
    return out.unstack("age")


def pandas_retention(df: pd.DataFrame, end: pd.Timestamp, days: int = 90) -> pd.DataFrame:
    day = df["paid_at"].dt.normalize()
    first = day.groupby(df["customer_id"]).transform("min")
    gap = (day - first).dt.days
    sel = gap <= days
    hits = (pd.DataFrame({"c": df["customer_id"][sel], "gap": gap[sel]})
            .drop_duplicates().groupby("gap").size())
    firsts = day.groupby(df["customer_id"]).min()
    avail = (end - firsts).dt.days.clip(upper=days)
    elig = avail.value_counts().reindex(range(days + 1), fill_value=0)[::-1].cumsum()[::-1]
    return pd.DataFrame({"eligible": elig, "retained": hits.reindex(range(days + 1),
                                                                    fill_value=0)})


# ----------------------------------------------------------------------------- polars
def polars_cohorts(pl, lf):
    c = pl.col
    out = (lf.with_columns(c("paid_at").min().over("customer_id").alias("first"))
           .with_columns(cohort=c("first").dt.truncate("1mo"),
                         age=(c("paid_at").dt.year() - c("first").dt.year()) * 12
                         + c("paid_at").dt.month().cast(pl.Int32)
                         - c("first").dt.month().cast(pl.Int32))
           .group_by("cohort", "age")
           .agg(active=c("customer_id").n_unique(), orders=pl.len(), revenue=c("amount").sum())
           .collect())
    return out.pivot(on="age", index="cohort", values=["active", "orders", "revenue"],
                     sort_columns=True).sort("cohort")


def polars_retention(pl, lf, end, days: int = 90):
    c = pl.col
    base = lf.with_columns(day=c("paid_at").dt.date()).with_columns(
        first=c("day").min().over("customer_id"))
    hits = (base.with_columns(gap=(c("day") - c("first")).dt.total_days())
            .filter(c("gap") <= days).select("customer_id", "gap").unique()
            .group_by("gap").agg(retained=pl.len()))
    elig = (base.group_by("customer_id").agg(first=c("first").first())
            .with_columns(avail=(pl.lit(end.date()) - c("first")).dt.total_days().clip(upper_bound=days))
            .group_by("avail").agg(n=pl.len()))
    hits, elig = pl.collect_all([hits, elig])
    return hits.sort("gap"), elig.sort("avail")


# ----------------------------------------------------------------------------- duckdb
DUCK_COHORTS = """
WITH f AS (SELECT customer_id, min(paid_at) AS first FROM log GROUP BY 1)
SELECT date_trunc('month', f.first) AS cohort,
       datediff('month', date_trunc('month', f.first), date_trunc('month', l.paid_at)) AS age,
       count(DISTINCT l.customer_id) AS active, count(*) AS orders, sum(l.amount) AS revenue
FROM log l JOIN f USING (customer_id)
GROUP BY 1, 2
"""

DUCK_RETENTION = """
WITH d AS (SELECT customer_id, CAST(paid_at AS DATE) AS day FROM log),
f AS (SELECT customer_id, min(day) AS first FROM d GROUP BY 1),
g AS (SELECT DISTINCT d.customer_id, d.day - f.first AS gap
      FROM d JOIN f USING (customer_id) WHERE d.day - f.first <= {days}),
hits AS (SELECT gap, count(*) AS retained FROM g GROUP BY 1),
av AS (SELECT least(DATE '{end}' - first, {days}) AS a, count(*) AS n FROM f GROUP BY 1),
elig AS (SELECT a AS gap, sum(n) OVER (ORDER BY a DESC) AS eligible FROM av)
SELECT r.gap, e.eligible, r.retained FROM hits r JOIN elig e USING (gap) ORDER BY 1
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--skip", default="", help="comma list of peers to skip: pandas,polars,duckdb")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each call this many times and keep the best (default 1: one run)")
    args = ap.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    skip = set(filter(None, args.skip.split(",")))

    print(f"log: {args.rows:,} rows, {args.customers:,} customers; cores: {os.cpu_count()}; "
          f"siyu threads: {siyu.get_num_threads()}; load avg {os.getloadavg()[0]:.2f}")
    df = make_log(args.rows, args.customers)
    t_build, tx = timed(lambda: siyu.Transactions(df, customer="customer_id", time="paid_at",
                                                  amount="amount"))
    print(f"siyu Transactions construction: {t_build:.2f} s (not included below)")
    end = tx.end

    results: dict[str, dict[str, float]] = {"cohorts": {}, "retention": {}}
    t, ct = timed(lambda: tx.cohorts("M"))
    results["cohorts"]["siyu"] = t
    t, rt = timed(lambda: tx.retention(days=range(0, 91)))
    results["retention"]["siyu"] = t
    nthreads = siyu.get_num_threads()
    siyu.set_num_threads(1)
    results["cohorts"]["siyu-1thr"], _ = timed(lambda: tx.cohorts("M"))
    results["retention"]["siyu-1thr"], _ = timed(lambda: tx.retention(days=range(0, 91)))
    siyu.set_num_threads(nthreads)
    s_active = ct.active.fillna(0).to_numpy()
    s_ret = rt.table

    def check_cohorts(name, active_matrix, revenue_total):
        # active_matrix: DataFrame with age columns; ages without any activity are
        # absent from group-by output
        a = np.nan_to_num(active_matrix.reindex(columns=range(s_active.shape[1]))
                          .to_numpy(dtype=float))
        ok = a.shape == s_active.shape and np.array_equal(a, s_active) and \
            np.isclose(revenue_total, np.nansum(ct.revenue.to_numpy()), rtol=1e-9)
        print(f"  {name} cohort matrix matches siyu: {ok}")

    def check_retention(name, eligible, retained):
        ok = (np.array_equal(np.asarray(eligible), s_ret["eligible"].to_numpy())
              and np.array_equal(np.asarray(retained), s_ret["retained"].to_numpy()))
        print(f"  {name} retention matches siyu: {ok}")

    if "pandas" not in skip:
        t, out = timed(lambda: pandas_cohorts(df))
        results["cohorts"]["pandas"] = t
        check_cohorts("pandas", out["active"], np.nansum(out["revenue"].to_numpy()))
        t, out = timed(lambda: pandas_retention(df, end))
        results["retention"]["pandas"] = t
        check_retention("pandas", out["eligible"], out["retained"])

    if "polars" not in skip:
        try:
            import polars as pl
        except ImportError:
            print("polars not installed; skipped")
        else:
            t_conv, pdf = timed(lambda: pl.from_pandas(df))
            print(f"polars frame conversion: {t_conv:.2f} s (not included)")
            lf = pdf.lazy()
            t, out = timed(lambda: polars_cohorts(pl, lf))
            results["cohorts"]["polars"] = t
            cols = [c for c in out.columns if c.startswith("active")]
            act = pd.DataFrame(out.select(cols).to_numpy(),
                               columns=[int(c.rsplit("_", 1)[1]) for c in cols])
            rev = out.select([c for c in out.columns if c.startswith("revenue")]).to_numpy()
            check_cohorts("polars", act, np.nansum(rev.astype(float)))
            t, (hits, elig) = timed(lambda: polars_retention(pl, lf, end))
            results["retention"]["polars"] = t
            e = elig["n"].to_numpy()[::-1].cumsum()[::-1]
            check_retention("polars", e, hits["retained"].to_numpy())

    if "duckdb" not in skip:
        try:
            import duckdb
        except ImportError:
            print("duckdb not installed; skipped")
        else:
            con = duckdb.connect()
            con.execute(f"SET threads TO {os.cpu_count()}")
            con.register("log", df)
            t, out = timed(lambda: con.execute(DUCK_COHORTS).df()
                           .pivot(index="cohort", columns="age",
                                  values=["active", "orders", "revenue"]))
            results["cohorts"]["duckdb"] = t
            check_cohorts("duckdb", out["active"],
                          np.nansum(out["revenue"].to_numpy()))
            sql = DUCK_RETENTION.format(days=90, end=end.date())
            t, out = timed(lambda: con.execute(sql).df())
            results["retention"]["duckdb"] = t
            check_retention("duckdb", out["eligible"], out["retained"])

    print()
    for task, label in (("cohorts", "monthly cohort matrix (active, orders, revenue)"),
                        ("retention", "n-day retention, days 0..90")):
        r = results[task]
        print(f"{label}:")
        for name, secs in r.items():
            ratio = "" if name.startswith("siyu") else f"   siyu is {secs / r['siyu']:.1f}x faster"
            print(f"  {name:9s} {secs:8.3f} s{ratio}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the whole process: {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
