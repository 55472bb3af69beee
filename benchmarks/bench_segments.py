"""Time siyu.segments against the pandas idiom a user would otherwise write.

    PYTHONPATH=. python benchmarks/bench_segments.py [n_rows] [n_customers]

Default 10M rows, 1M customers over three years; one process, one run each; prints
seconds, the ratio pandas / siyu and the peak RSS of the process.
"""
from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pandas as pd

import siyu


def make_log(n: int, k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # skewed activity: low codes buy more often; about 95% of customers appear
    cust = np.minimum((k * rng.random(n) ** 1.5).astype(np.int64), k - 1)
    first = rng.integers(0, 1095, k)
    day = np.minimum(first[cust] + rng.geometric(1 / 60, n), 1094)
    t = np.datetime64("2021-01-01", "D") + day.astype("timedelta64[D]")
    amt = np.round(rng.gamma(2.0, 40.0, n), 2)
    amt[rng.random(n) < 0.03] *= -1
    return pd.DataFrame({"customer_id": cust, "date": t.astype("datetime64[ns]"),
                         "amount": amt})


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def pandas_lifecycle(df: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    p = df[(df["date"] <= as_of) & (df["amount"] >= 0)]
    last = p.groupby("customer_id")["date"].max()
    d = (as_of - last).dt.days
    return pd.cut(d, [-np.inf, 30, 180, np.inf], labels=["recent", "stable", "lapsing"])


def pandas_rfm(df: pd.DataFrame, as_of: pd.Timestamp, bins: int = 5) -> pd.DataFrame:
    d = df[df["date"] <= as_of]
    day = d["date"].dt.normalize()
    p = d[d["amount"] >= 0]
    g = p.assign(day=day[p.index]).groupby("customer_id")
    out = pd.DataFrame({"days_since_last": (as_of - g["day"].max()).dt.days,
                        "occasions": g["day"].nunique()})
    out["revenue"] = d.groupby("customer_id")["amount"].sum()
    n = len(out)
    for col, sign in (("days_since_last", -1), ("occasions", 1), ("revenue", 1)):
        r = (sign * out[col]).rank(method="min")
        out[col[0].upper() + "_score"] = np.ceil(r * bins / n).astype(int)
    return out


def pandas_migration(df: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    p = df[df["amount"] >= 0]
    ends = [e for e in pd.date_range(df["date"].min(), end, freq="ME") if e <= end]
    stages = {}
    for e in ends:
        last = p[p["date"] <= e].groupby("customer_id")["date"].max()
        stages[e] = pd.cut((e - last).dt.days, [-np.inf, 30, 180, np.inf],
                           labels=["recent", "stable", "lapsing"])
    st = pd.DataFrame(stages)
    total = None
    for a, b in zip(ends[:-1], ends[1:]):
        both = st[[a, b]].dropna()
        ct = pd.crosstab(both[a], both[b])
        total = ct if total is None else total.add(ct, fill_value=0)
    return total


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    df = make_log(n, k)
    t_tx, tx = timed(lambda: siyu.Transactions(df, customer="customer_id", time="date",
                                               amount="amount"))
    as_of = tx.end
    print(f"{n:,} rows, {tx.n_customers:,} customers, {tx.start.date()}..{as_of.date()}; "
          f"threads={siyu.get_num_threads()}; Transactions() {t_tx:.2f}s (not counted)")
    rows = []
    t_s, lc = timed(lambda: tx.lifecycle())
    t_p, lp = timed(lambda: pandas_lifecycle(df, as_of))
    assert (lc["stage"].astype(str).to_numpy() == lp.astype(str).to_numpy()).all()
    rows.append(("lifecycle", t_s, t_p))
    t_s, r = timed(lambda: tx.rfm())
    t_p, rp = timed(lambda: pandas_rfm(df, as_of))
    assert (r["R"].to_numpy() == rp["D_score"].to_numpy()).all()
    assert (r["F"].to_numpy() == rp["O_score"].to_numpy()).all()
    rows.append(("rfm", t_s, t_p))
    t_s, mg = timed(lambda: tx.migration(period="M"))
    t_p, mp = timed(lambda: pandas_migration(df, as_of))
    assert (mg.matrix.to_numpy() == mp.reindex(index=mg.matrix.index,
                                               columns=mg.matrix.columns).to_numpy()).all()
    rows.append((f"migration (M, {len(mg.period_ends)} ends)", t_s, t_p))
    print(f"{'task':<28}{'siyu s':>10}{'pandas s':>10}{'ratio':>8}")
    for name, a, b in rows:
        print(f"{name:<28}{a:>10.3f}{b:>10.3f}{b / a:>8.1f}x")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
