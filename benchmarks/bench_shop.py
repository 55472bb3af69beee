"""Benchmark: the C shop simulator (``siyu.datasets.shop.simulate_shop``) against the
vectorised NumPy simulation an analyst would write for the same process.

Run:  python benchmarks/bench_shop.py [--n 1000000] [--threads 1 2]

Prints orders per second of the C kernel alone (wall clock and per CPU-second, for each
thread count), of the full ``simulate_shop`` call (kernel + DataFrames + truth), and of a
NumPy baseline (channels, exponential lifetimes, Poisson repeat orders with holiday
multiplier by thinning, gamma order values; no membership, which does not vectorise),
with their ratio and peak memory.  Not part of the test suite.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siyu import _core  # noqa: E402
from siyu.datasets.shop import DEFAULT_CHANNELS, simulate_shop  # noqa: E402

HOLIDAYS = [("2023-02-01", "2023-02-14"), ("2023-11-05", "2023-11-11"),
            ("2024-02-05", "2024-02-18"), ("2024-11-05", "2024-11-11")]


def kernel_args():
    names = list(DEFAULT_CHANNELS)
    ch = DEFAULT_CHANNELS
    n_days = 731
    day_mult = np.ones(n_days)
    for lo, hi in ((31, 45), (308, 315), (400, 414), (674, 681)):
        day_mult[lo:hi] = 1.35
    return (np.cumsum([ch[c]["share"] for c in names]),
            np.array([ch[c]["orders_per_year"] / 365 for c in names]),
            np.array([ch[c]["lifetime_days"] for c in names]),
            np.array([ch[c]["mean_order_value"] for c in names]),
            np.array([1 / ch[c]["aov_cv"] ** 2 for c in names]),
            day_mult,
            np.array([0.5, 300.0, 1.5, 2.0, 0.1, 0.2, 1.5]))


def numpy_baseline(n: int, seed: int, args) -> int:
    """Same process without membership, vectorised over customers with NumPy."""
    share_cum, rate, life, aov, shape, day_mult, _ = args
    rng = np.random.default_rng(seed)
    D = day_mult.size
    hmax = day_mult.max()
    c = np.searchsorted(share_cum, rng.random(n), side="right").clip(max=len(rate) - 1)
    a = rng.integers(0, D, n).astype(float)
    stop = np.minimum(a + rng.exponential(life[c]), D)
    # candidate events of a homogeneous process at the maximum rate, then thinning
    k = rng.poisson(rate[c] * hmax * (stop - a))
    cust = np.repeat(np.arange(n), k)
    t = np.repeat(a, k) + rng.random(k.sum()) * np.repeat(stop - a, k)
    keep = rng.random(t.size) * hmax < day_mult[t.astype(np.int64)]
    cust, t = cust[keep], t[keep]
    order = np.lexsort((t, cust))
    cust, t = cust[order], t[order]
    day = np.concatenate([a, np.floor(t)]).astype(np.int64)
    who = np.concatenate([np.arange(n), cust])
    cc = c[who]
    amount = rng.gamma(shape[cc], aov[cc] / shape[cc])
    order = np.lexsort((day, who))          # customer-major, time-ordered, like the C log
    day, amount = day[order], amount[order]
    return int(day.size)


def timed(fn, trace: bool = True):
    """(result, wall s, CPU s, peak traced bytes).  Tracing slows pandas-heavy code a lot,
    so trace=False times without it and reports the process's peak RSS instead."""
    if trace:
        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out, wall, cpu, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000, help="customers")
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    opt = ap.parse_args()
    args = kernel_args()
    old = _core.get_num_threads()
    print(f"{opt.n:,} customers, 2 years, public/private channels, holidays, membership")
    try:
        for th in opt.threads:
            _core.set_num_threads(th)
            best = None
            for _ in range(3):
                out, wall, cpu, peak = timed(lambda: _core.shop_simulate(*args, opt.n, 1))
                if best is None or wall < best[0]:
                    best = (wall, cpu, peak, out[1].size)
            wall, cpu, peak, orders = best
            print(f"C kernel, {th} thread(s): {orders:,} orders in {wall:.3f} s wall = "
                  f"{orders / wall / 1e6:.1f} M orders/s ({orders / cpu / 1e6:.1f} M per CPU-s), "
                  f"peak {peak / 2**20:.0f} MiB")
        _core.set_num_threads(old)
        sim, wall_full, _, peak_full = timed(lambda: simulate_shop(
            opt.n, channels=DEFAULT_CHANNELS, member_threshold=300.0, member_share=0.5,
            member_rate_multiplier=1.5, member_lifetime_multiplier=2.0, member_discount=0.1,
            holidays=HOLIDAYS, holiday_multiplier=1.35, service_share=0.2,
            service_aov_multiplier=1.5, seed=1), trace=False)
        n_orders = len(sim.transactions)
        print(f"simulate_shop (kernel + DataFrames + spend + truth): {wall_full:.3f} s, "
              f"{n_orders / wall_full / 1e6:.1f} M orders/s, process peak RSS {peak_full / 2**20:.0f} MiB")
        _core.set_num_threads(old)
        c_best = min(timed(lambda: _core.shop_simulate(*args, opt.n, 1))[1] for _ in range(3))
        np_orders, np_wall, _, np_peak = timed(lambda: numpy_baseline(opt.n, 1, args))
        print(f"NumPy baseline (no membership): {np_orders:,} orders in {np_wall:.3f} s = "
              f"{np_orders / np_wall / 1e6:.1f} M orders/s, peak {np_peak / 2**20:.0f} MiB; "
              f"C kernel ({old} threads) is {np_wall / c_best:.1f}x faster")
    finally:
        _core.set_num_threads(old)


if __name__ == "__main__":
    main()
