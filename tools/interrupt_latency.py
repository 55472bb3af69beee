"""How long Ctrl-C takes to reach Python during a long ``Transactions()`` construction.

Run:  python tools/interrupt_latency.py [--rows 20000000] [--points 40] [--mode orders|plain]

Builds one log (``--mode orders``: line items, about 3 orders per customer, each order of
one customer; ``plain``: one row per order), times one construction, then interrupts
``--points`` more constructions at evenly spaced moments (SIGALRM from an interval timer,
whose handler raises KeyboardInterrupt) and prints the slowest latencies -- the time from
the signal to its Python handler -- with the Python line that was running.  The test
suite asserts < 1 s on 20M rows at two moments; this finds the worst moment.
"""
from __future__ import annotations

import argparse
import signal
import time
import traceback

import numpy as np

import siyu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--mode", choices=["orders", "plain"], default="orders")
    args = ap.parse_args()
    n = args.rows
    rng = np.random.default_rng(0)
    ids = rng.integers(0, max(n // 5, 1), n)
    t = rng.integers(0, 3 * 10**17, n).view("datetime64[ns]")
    a = rng.random(n)
    order = ids * 3 + rng.integers(0, 3, n) if args.mode == "orders" else None
    got: dict = {}

    def handler(sig, frame):
        got["at"] = time.monotonic()
        got["where"] = traceback.extract_stack(frame)[-1]
        raise KeyboardInterrupt

    signal.signal(signal.SIGALRM, handler)

    def build():
        siyu.Transactions(customer=ids, time=t, amount=a, order=order)

    t0 = time.monotonic()
    build()
    full = time.monotonic() - t0
    print(f"{args.mode} construction of {n:,} rows: {full:.2f} s")
    res = []
    for d in np.linspace(0.05, max(full - 0.05, 0.06), args.points):
        got.clear()
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, float(d))
        try:
            build()
            signal.setitimer(signal.ITIMER_REAL, 0)
            continue                                   # finished before the signal
        except KeyboardInterrupt:
            pass
        w = got["where"]
        res.append((got["at"] - (start + d), d, f"{w.filename.rsplit('/', 1)[-1]}:{w.lineno}"))
    res.sort(reverse=True)
    print(f"{len(res)} interrupts; slowest latencies:")
    for lat, d, where in res[:8]:
        print(f"  {lat:6.3f} s  (signal at {d:5.2f} s, handled in {where})")


if __name__ == "__main__":
    main()
