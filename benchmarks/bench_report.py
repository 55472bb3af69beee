"""Time the HTML report on a large synthetic log: per section and in total.

    PYTHONPATH=. python benchmarks/bench_report.py [n_rows] [n_customers] [--channel] [--parquet] [--csv]

Default 10M rows of 2M customers over three years (2021-2023), with monthly
acquisition spend so that every section (unit economics included) is built.
``--channel`` adds a two-valued channel column (per-channel survival, spend and the
channels section); ``--parquet`` and ``--csv`` also time the command line end to end
(``python -m siyu report``) on a Parquet / CSV file of the same log.  One process, one run; prints seconds per step,
the total and the peak RSS.  The target is a total under 60 s on a 2-core machine.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

import siyu
from siyu.report import write_report


def make_log(n: int, k: int, channel: bool, seed: int = 0) -> pd.DataFrame:
    """Skewed activity (low ids buy more), first purchases spread over 3 years,
    geometric gaps, gamma amounts with 3% refunds."""
    rng = np.random.default_rng(seed)
    cust = np.minimum((k * rng.random(n) ** 1.5).astype(np.int64), k - 1)
    first = rng.integers(0, 1095, k)
    day = np.minimum(first[cust] + rng.geometric(1 / 90, n) - 1, 1094)
    t = np.datetime64("2021-01-01", "D") + day.astype("timedelta64[D]")
    amt = np.round(rng.gamma(2.0, 40.0, n), 2)
    amt[rng.random(n) < 0.03] *= -1
    df = pd.DataFrame({"customer_id": cust, "date": t.astype("datetime64[ns]"), "amount": amt})
    if channel:
        df["channel"] = pd.Categorical(np.where(cust % 3 == 0, "wechat", "mini-program"))
    return df


def make_spend(channel: bool) -> pd.DataFrame:
    months = pd.period_range("2021-01", "2023-12", freq="M").astype(str)
    if not channel:
        return pd.DataFrame({"period": months, "amount": 250_000.0})
    return pd.DataFrame({"period": np.repeat(months, 2),
                         "channel": np.tile(["wechat", "mini-program"], len(months)),
                         "amount": np.tile([120_000.0, 130_000.0], len(months))})


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    pos = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(pos[0]) if pos else 10_000_000
    k = int(pos[1]) if len(pos) > 1 else 2_000_000
    channel = "--channel" in sys.argv
    t0 = time.perf_counter()
    df = make_log(n, k, channel)
    spend = make_spend(channel)
    print(f"synthetic log: {len(df):,} rows, {df['customer_id'].nunique():,} customers, "
          f"{df['date'].min().date()} to {df['date'].max().date()} "
          f"(generated in {time.perf_counter() - t0:.1f} s)")
    print(f"threads: {siyu.get_num_threads()}")

    timings: list[tuple[str, float]] = []
    t_start = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount",
                           channel="channel" if channel else None)
    timings.append(("Transactions (validate + group)", time.perf_counter() - t_start))

    def progress(step: str, i: int, total: int, seconds: float | None) -> None:
        if seconds is not None:
            timings.append((step, seconds))

    out = os.path.join(tempfile.mkdtemp(), "report.html")
    t_rep = time.perf_counter()
    write_report(tx, spend=spend, period="M", progress=progress, out=out)
    t_write = time.perf_counter() - t_rep - sum(s for name, s in timings[1:])
    timings.append(("assemble + write HTML", t_write))
    total = time.perf_counter() - t_start

    print(f"\n{'step':<34}{'seconds':>9}")
    for name, sec in timings:
        print(f"{name:<34}{sec:9.2f}")
    print(f"{'total (Transactions -> file)':<34}{total:9.2f}   "
          f"{'OK' if total < 60 else 'SLOWER THAN'} 60 s target")
    print(f"report: {out} ({os.path.getsize(out) / 1e6:.2f} MB); "
          f"peak RSS {peak_rss_mb():,.0f} MB")

    formats = [f for f in ("parquet", "csv") if f"--{f}" in sys.argv]
    if formats:
        folder = os.path.dirname(out)
        sp = os.path.join(folder, "spend.csv")
        spend.to_csv(sp, index=False)
        paths = {}
        for fmt in formats:
            paths[fmt] = os.path.join(folder, f"log.{fmt}")
            t_w = time.perf_counter()
            if fmt == "parquet":
                df.to_parquet(paths[fmt])
            else:
                df.assign(date=df["date"].dt.strftime("%Y-%m-%d")).to_csv(paths[fmt], index=False)
            print(f"wrote {paths[fmt]} ({os.path.getsize(paths[fmt]) / 1e6:.0f} MB) in "
                  f"{time.perf_counter() - t_w:.1f} s")
        del tx, df
        for fmt, path in paths.items():
            cmd = [sys.executable, "-m", "siyu", "report", path, "--customer", "customer_id",
                   "--time", "date", "--amount", "amount", "--spend", sp, "--out", out]
            if channel:
                cmd += ["--channel", "channel"]
            t_cli = time.perf_counter()
            subprocess.run(cmd, check=True)
            print(f"command line end to end ({fmt} -> HTML): {time.perf_counter() - t_cli:.2f} s")


if __name__ == "__main__":
    main()
