"""Benchmark: monthly cohort matrix and 90-day n-day retention, siyu vs peers.

Same synthetic log for everyone (default 10M rows, 2M customers, shuffled, int64 ids,
datetime64[ns] times over ~3 years, positive amounts), written once to .npy files.  Each
contender runs each task in its own process, starting from the same pandas DataFrame
(built outside the timed region), three times; the best of 3 is reported for everyone.

- cohort matrix: active customers, orders and revenue per (monthly cohort, age) as a
  cohort x age matrix;
- n-day retention: eligible and retained customers for days 0..90.

siyu's time is its whole call, ``siyu.Transactions(df, ...)`` plus ``tx.cohorts("M")``
(or ``tx.retention(days=range(91))``); the construction share is printed separately.
polars' frame conversion is timed as part of its run; DuckDB scans the pandas frame in
place.  Every contender's full result is compared with siyu's -- every cell's active
customers and orders exactly and revenue to rtol 1e-9; eligible and retained exactly --
and the script exits 1 on a mismatch.  siyu is also run with 1 and 2 threads.

Run:  python benchmarks/bench_cohorts.py [--rows 10_000_000] [--customers 2_000_000]
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

REPEAT = 3
RTOL = 1e-9
DAYS = 90


def make_log(rows: int, customers: int, seed: int = 42):
    """(customer ids, times datetime64[ns], amounts): acquisition, then later orders."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.int64(10) ** 12, size=customers, replace=False).astype(np.int64)
    start = np.datetime64("2021-01-01T00:00:00", "s").astype(np.int64)
    span = 3 * 365 * 86_400
    acq = start + (rng.random(customers) ** 0.8 * span).astype(np.int64)
    cust = np.concatenate([np.arange(customers), rng.integers(0, customers, rows - customers)])
    offs = np.concatenate([np.zeros(customers, np.int64),
                           (rng.exponential(120 * 86_400, rows - customers)).astype(np.int64)])
    t = np.minimum(acq[cust] + offs, start + span - 1)
    perm = rng.permutation(rows)
    return (ids[cust][perm], t[perm].astype("datetime64[s]").astype("datetime64[ns]"),
            np.round(rng.gamma(2.0, 40.0, rows), 2)[perm])


# ----------------------------------------------------------------------------- results
def month_ordinal(values) -> np.ndarray:
    """year * 12 + month - 1 of datetimes / periods / dates."""
    import pandas as pd

    idx = pd.DatetimeIndex(pd.PeriodIndex(values, freq="M").to_timestamp()) \
        if isinstance(values, pd.PeriodIndex) else pd.DatetimeIndex(pd.to_datetime(values))
    return (idx.year * 12 + idx.month - 1).to_numpy(np.int64)


def cells_from_long(cohort, age, active, orders, revenue) -> dict:
    order = np.lexsort((np.asarray(age), np.asarray(cohort)))
    return {"cohort": np.asarray(cohort)[order], "age": np.asarray(age)[order],
            "active": np.asarray(active, np.int64)[order],
            "orders": np.asarray(orders, np.int64)[order],
            "revenue": np.asarray(revenue, np.float64)[order]}


def cells_from_wide(cohorts: np.ndarray, active, orders, revenue) -> dict:
    """Cells with at least one order of cohort x age matrices (NaN = not observed)."""
    a, o, r = (np.nan_to_num(np.asarray(m, np.float64)) for m in (active, orders, revenue))
    ci, ai = np.nonzero(o > 0)
    return cells_from_long(cohorts[ci], ai, a[ci, ai], o[ci, ai], r[ci, ai])


# ----------------------------------------------------------------------------- contenders
def siyu_cohorts(df, pd, out):
    import siyu

    t0 = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer_id", time="paid_at", amount="amount")
    out["construct_s"] = time.perf_counter() - t0
    ct = tx.cohorts("M")
    return lambda: cells_from_wide(month_ordinal(ct.active.index), ct.active, ct.orders,
                                   ct.revenue)


def siyu_retention(df, pd, out):
    import siyu

    t0 = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer_id", time="paid_at", amount="amount")
    out["construct_s"] = time.perf_counter() - t0
    rt = tx.retention(days=range(DAYS + 1))
    return lambda: {"eligible": rt.table["eligible"].to_numpy(np.int64),
                    "retained": rt.table["retained"].to_numpy(np.int64)}


def pandas_cohorts(df, pd, out):
    first = df.groupby("customer_id")["paid_at"].transform("min")
    age = ((df["paid_at"].dt.year - first.dt.year) * 12
           + (df["paid_at"].dt.month - first.dt.month))
    g = df.assign(cohort=first.dt.to_period("M"), age=age).groupby(["cohort", "age"])
    res = pd.DataFrame({"active": g["customer_id"].nunique(), "orders": g.size(),
                        "revenue": g["amount"].sum()}).unstack("age")

    def convert():
        cohorts = month_ordinal(res.index)
        ages = res["active"].columns.to_numpy()
        full = np.arange(ages.max() + 1)
        m = {k: res[k].reindex(columns=full).to_numpy() for k in ("active", "orders", "revenue")}
        return cells_from_wide(cohorts, m["active"], m["orders"], m["revenue"])
    return convert


def pandas_retention(df, pd, out):
    end = df["paid_at"].max().normalize()
    day = df["paid_at"].dt.normalize()
    first = day.groupby(df["customer_id"]).transform("min")
    gap = (day - first).dt.days
    sel = gap <= DAYS
    hits = (pd.DataFrame({"c": df["customer_id"][sel], "gap": gap[sel]})
            .drop_duplicates().groupby("gap").size())
    firsts = day.groupby(df["customer_id"]).min()
    avail = (end - firsts).dt.days.clip(upper=DAYS)
    elig = avail.value_counts().reindex(range(DAYS + 1), fill_value=0)[::-1].cumsum()[::-1]
    retained = hits.reindex(range(DAYS + 1), fill_value=0)
    return lambda: {"eligible": elig.to_numpy(np.int64), "retained": retained.to_numpy(np.int64)}


def polars_cohorts(df, pd, out):
    import polars as pl

    c = pl.col
    res = (pl.from_pandas(df).lazy()
           .with_columns(c("paid_at").min().over("customer_id").alias("first"))
           .with_columns(cohort=c("first").dt.truncate("1mo"),
                         age=(c("paid_at").dt.year() - c("first").dt.year()) * 12
                         + c("paid_at").dt.month().cast(pl.Int32)
                         - c("first").dt.month().cast(pl.Int32))
           .group_by("cohort", "age")
           .agg(active=c("customer_id").n_unique(), orders=pl.len(), revenue=c("amount").sum())
           .collect())
    wide = res.pivot(on="age", index="cohort", values=["active", "orders", "revenue"],
                     sort_columns=True).sort("cohort")
    del wide                      # the matrix a user would look at; compared in long form
    return lambda: cells_from_long(month_ordinal(res["cohort"].to_numpy()), res["age"].to_numpy(),
                                   res["active"].to_numpy(), res["orders"].to_numpy(),
                                   res["revenue"].to_numpy())


def polars_retention(df, pd, out):
    import polars as pl

    c = pl.col
    base = (pl.from_pandas(df).lazy().with_columns(day=c("paid_at").dt.date())
            .with_columns(first=c("day").min().over("customer_id")))
    end = base.select(c("day").max()).collect().item()
    hits = (base.with_columns(gap=(c("day") - c("first")).dt.total_days())
            .filter(c("gap") <= DAYS).select("customer_id", "gap").unique()
            .group_by("gap").agg(retained=pl.len()))
    elig = (base.group_by("customer_id").agg(first=c("first").first())
            .with_columns(avail=(pl.lit(end) - c("first")).dt.total_days().clip(upper_bound=DAYS))
            .group_by("avail").agg(n=pl.len()))
    hits, elig = pl.collect_all([hits, elig])

    def convert():
        e = np.zeros(DAYS + 1, np.int64)
        e[elig["avail"].to_numpy()] = elig["n"].to_numpy()
        r = np.zeros(DAYS + 1, np.int64)
        r[hits["gap"].to_numpy()] = hits["retained"].to_numpy()
        return {"eligible": e[::-1].cumsum()[::-1], "retained": r}
    return convert


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
e AS (SELECT max(day) AS end_day FROM d),
f AS (SELECT customer_id, min(day) AS first FROM d GROUP BY 1),
g AS (SELECT DISTINCT d.customer_id, d.day - f.first AS gap
      FROM d JOIN f USING (customer_id) WHERE d.day - f.first <= {days}),
hits AS (SELECT gap, count(*) AS retained FROM g GROUP BY 1),
av AS (SELECT least((SELECT end_day FROM e) - first, {days}) AS a, count(*) AS n FROM f GROUP BY 1),
elig AS (SELECT a AS gap, sum(n) OVER (ORDER BY a DESC) AS eligible FROM av)
SELECT r.gap, e.eligible, r.retained FROM hits r JOIN elig e USING (gap) ORDER BY 1
"""


def _duck(df):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    con.register("log", df)
    return con


def duckdb_cohorts(df, pd, out):
    res = _duck(df).execute(DUCK_COHORTS).df()
    wide = res.pivot(index="cohort", columns="age", values=["active", "orders", "revenue"])
    del wide
    return lambda: cells_from_long(month_ordinal(res["cohort"]), res["age"], res["active"],
                                   res["orders"], res["revenue"])


def duckdb_retention(df, pd, out):
    res = _duck(df).execute(DUCK_RETENTION.format(days=DAYS)).df()

    def convert():
        e = np.zeros(DAYS + 1, np.int64)
        r = np.zeros(DAYS + 1, np.int64)
        e[res["gap"].to_numpy()] = res["eligible"].to_numpy()
        r[res["gap"].to_numpy()] = res["retained"].to_numpy()
        return {"eligible": e, "retained": r}
    return convert


TASKS = {"cohorts": {"siyu": siyu_cohorts, "pandas": pandas_cohorts, "polars": polars_cohorts,
                     "duckdb": duckdb_cohorts},
         "retention": {"siyu": siyu_retention, "pandas": pandas_retention,
                       "polars": polars_retention, "duckdb": duckdb_retention}}


def child(path: str, task: str, who: str, threads: int) -> None:
    import pandas as pd

    df = pd.DataFrame({"customer_id": np.load(os.path.join(path, "customer.npy")),
                       "paid_at": np.load(os.path.join(path, "time.npy")),
                       "amount": np.load(os.path.join(path, "amount.npy"))}, copy=False)
    out: dict = {"who": who, "task": task}
    # every contender's library is imported before the memory baseline
    import importlib
    importlib.import_module({"siyu": "siyu", "polars": "polars", "duckdb": "duckdb",
                             "lifetimes": "lifetimes.utils"}.get(who, "pandas"))
    if threads:
        import siyu
        siyu.set_num_threads(threads)
    base = rss()
    walls, parts = [], []
    for rep in range(REPEAT):
        part: dict = {}
        c0 = cpu_seconds()
        t0 = time.perf_counter()
        convert = TASKS[task][who](df, pd, part)
        walls.append(time.perf_counter() - t0)
        part["cpu_s"] = cpu_seconds() - c0
        parts.append(part)
        if rep == 0:
            out["peak_extra_bytes"] = max(peak_rss() - base, 0)
            np.savez(os.path.join(path, f"{task}_{who}_{threads}.npz"), **convert())
        del convert
    best = int(np.argmin(walls))
    out.update(wall_s=walls[best], **parts[best])
    print(json.dumps(out))


def run(path: str, task: str, who: str, threads: int = 0):
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", path, task, who,
                           str(threads)], capture_output=True, text=True)
    if not child_ran(proc, f"{task}/{who}"):
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(path: str, task: str, who: str, threads: int = 0) -> list[str]:
    ref = dict(np.load(os.path.join(path, f"{task}_siyu_0.npz")))
    got = dict(np.load(os.path.join(path, f"{task}_{who}_{threads}.npz")))
    name = f"{task}/{who}" + (f" ({threads} threads)" if threads else "")
    if task == "cohorts" and (len(ref["cohort"]) != len(got["cohort"]) or
                              not (np.array_equal(ref["cohort"], got["cohort"])
                                   and np.array_equal(ref["age"], got["age"]))):
        return [f"{name}: the cells with orders differ ({len(got['cohort'])} vs siyu "
                f"{len(ref['cohort'])})"]
    problems = []
    for key, a in ref.items():
        if key in ("cohort", "age"):
            continue
        b = got[key]
        bad = ~np.isclose(a, b, rtol=RTOL, atol=1e-9) if key == "revenue" else a != b
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"{name}: {key} differs in {int(bad.sum())} cells, e.g. #{i}: "
                            f"{b[i]!r} vs siyu {a[i]!r}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--skip", default="", help="comma list of peers to skip: pandas,polars,duckdb")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        path, task, who, threads = args.child
        child(path, task, who, int(threads))
        return
    skip = set(filter(None, args.skip.split(",")))
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as path:
        c, t, a = make_log(args.rows, args.customers)
        for name, arr in (("customer", c), ("time", t), ("amount", a)):
            np.save(os.path.join(path, f"{name}.npy"), arr)
        del c, t, a
        print(f"log: {args.rows:,} rows, {args.customers:,} customers, shuffled, int64 ids, "
              f"datetime64[ns]; cores: {os.cpu_count()}; load average at start: "
              f"{load_average()}")
        print(f"policy: each contender and task in its own process, same pandas DataFrame input, "
              f"best of {REPEAT}; results compared cell by cell (revenue rtol {RTOL:g})")
        for task, label in (("cohorts", "monthly cohort matrix (active, orders, revenue)"),
                            ("retention", f"n-day retention, days 0..{DAYS}")):
            res = {}
            for who in ("siyu", "pandas", "polars", "duckdb"):
                if who in skip:
                    continue
                r = run(path, task, who)
                if r:
                    res[who] = r
                    if who != "siyu":
                        failures += compare(path, task, who)
            for n in (1, 2):
                r = run(path, task, "siyu", threads=n)
                if r:
                    res[f"siyu-{n}thr"] = r
                    failures += compare(path, task, "siyu", threads=n)
            s = res["siyu"]["wall_s"]
            print(f"\n{label}:")
            print(f"  {'contender':<11}{'wall s':>9}{'siyu is':>14}{'cpu s':>9}{'peak extra MB':>15}")
            for who, r in res.items():
                ratio = "" if who.startswith("siyu") else f"{r['wall_s'] / s:.1f}x faster"
                print(f"  {who:<11}{r['wall_s']:>9.3f}{ratio:>14}{r['cpu_s']:>9.2f}"
                      f"{r['peak_extra_bytes'] / 1e6:>15.0f}")
            b = res["siyu"]
            print(f"  siyu = Transactions() {b['construct_s']:.3f}s + {task} "
                  f"{b['wall_s'] - b['construct_s']:.3f}s; every ratio includes both")
        print("(cpu s: user + system seconds of the same run, all threads)")
        print(f"\nload average at end: {load_average()}")
    failures += CRASHES
    if failures:
        print("\nMISMATCH:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all contenders' results match siyu's")


if __name__ == "__main__":
    main()
