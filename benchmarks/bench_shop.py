"""Benchmark: the C shop simulator (``siyu.datasets.shop``) against a vectorised NumPy
simulation of the same process.

Run:  python benchmarks/bench_shop.py [--n 1000000] [--threads 1 2] [--repeat 3]

The process (2 years, public/private channels, holidays x1.35, one-to-one service, a
membership that customers join at the order where their cumulative spend reaches 300,
after which they order 1.5x as often, stay twice as long and pay 10 % less) is simulated
by

- ``C kernel, t threads``: ``_core.shop_simulate`` alone (arrays out);
- ``simulate_shop``: the whole public call (kernel + DataFrames + spend tables + truth);
- ``NumPy``: the same process vectorised over customers, membership included (the
  pre-joining orders by thinning, the joining order from cumulative spend, the rest
  simulated again from the joining time with the member rate and lifetime -- exact by
  memorylessness), ending with the same customer-major, time-ordered arrays.

Every contender runs ``--repeat`` times in its own process and keeps its best time (one
policy for all).  The simulators use different random streams, so their outputs are
compared as distributions: orders per customer, repeat orders per alive day, mean order
value (member and non-member orders), share of customers who joined, per channel --
each within 5 standard errors; the script exits 1 on a mismatch.  Output is kept in
benchmarks/bench_shop_results.txt.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _bench_util import load_average, peak_rss

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOLIDAYS = [("2023-02-01", "2023-02-14"), ("2023-11-05", "2023-11-11"),
            ("2024-02-05", "2024-02-18"), ("2024-11-05", "2024-11-11")]
N_DAYS = 731
THRESHOLD, RATE_MULT, LIFE_MULT, DISCOUNT = 300.0, 1.5, 2.0, 0.1
SERVICE_SHARE, SERVICE_MULT, MEMBER_SHARE = 0.2, 1.5, 0.5


def kernel_args():
    from siyu.datasets.shop import DEFAULT_CHANNELS as ch
    names = list(ch)
    day_mult = np.ones(N_DAYS)
    for lo, hi in ((31, 45), (308, 315), (400, 414), (674, 681)):
        day_mult[lo:hi] = 1.35
    return (np.cumsum([ch[c]["share"] for c in names]),
            np.array([ch[c]["orders_per_year"] / 365 for c in names]),
            np.array([ch[c]["lifetime_days"] for c in names]),
            np.array([ch[c]["mean_order_value"] for c in names]),
            np.array([1 / ch[c]["aov_cv"] ** 2 for c in names]),
            day_mult,
            np.array([MEMBER_SHARE, THRESHOLD, RATE_MULT, LIFE_MULT, DISCOUNT, SERVICE_SHARE,
                      SERVICE_MULT]))


def _orders(rng, t0, stop, rate, day_mult, hmax):
    """Orders after t0 (exclusive) up to stop of a Poisson process with rate * day_mult
    per customer, by thinning: (customer index, time), sorted by customer then time."""
    span = np.maximum(stop - t0, 0.0)
    k = rng.poisson(rate * hmax * span)
    who = np.repeat(np.arange(t0.size), k)
    t = np.repeat(t0, k) + rng.random(k.sum()) * np.repeat(span, k)
    keep = rng.random(t.size) * hmax < day_mult[np.minimum(t.astype(np.int64), day_mult.size - 1)]
    who, t = who[keep], t[keep]
    o = np.lexsort((t, who))
    return who[o], t[o]


def numpy_sim(n: int, seed: int, args) -> dict[str, np.ndarray]:
    share_cum, rate, life, aov, shape, day_mult, _ = args
    rng = np.random.default_rng(seed)
    D = float(day_mult.size)
    hmax = day_mult.max()
    c = np.searchsorted(share_cum, rng.random(n), side="right").clip(max=len(rate) - 1)
    a = rng.integers(0, day_mult.size, n).astype(float)
    svc = rng.random(n) < SERVICE_SHARE
    elig = rng.random(n) < MEMBER_SHARE
    death = a + rng.exponential(life[c])
    vmult = np.where(svc, SERVICE_MULT, 1.0)
    # phase 1: the first order and the non-member process
    who, t = _orders(rng, a, np.minimum(death, D), rate[c], day_mult, hmax)
    who = np.concatenate([np.arange(n), who])
    t = np.concatenate([a, t])
    o = np.lexsort((t, who))
    who, t = who[o], t[o]
    value = rng.gamma(shape[c[who]], aov[c[who]] / shape[c[who]]) * vmult[who]
    # joining order: cumulative list spend reaches the threshold (eligible customers)
    start = np.searchsorted(who, np.arange(n))
    cum = np.cumsum(value)
    cum -= np.repeat(cum[start] - value[start], np.diff(np.r_[start, who.size]))
    hit = elig[who] & (cum >= THRESHOLD)
    first_hit = np.full(n, -1)
    idx = np.flatnonzero(hit)
    first_hit[who[idx[::-1]]] = idx[::-1]                     # earliest hit per customer
    joined = first_hit >= 0
    pos = np.arange(who.size)
    drop = joined[who] & (pos > first_hit[who])               # phase-1 orders after joining
    member = joined[who] & (pos >= first_hit[who])
    who, t, value, member = who[~drop], t[~drop], value[~drop], member[~drop]
    # phase 2: from the joining time, member rate and a fresh (longer) lifetime
    jt = np.zeros(n)
    jt[who[member]] = t[member]                               # the joining order's time
    jc = np.flatnonzero(joined)
    death2 = jt[jc] + rng.exponential(life[c[jc]] * LIFE_MULT)
    w2, t2 = _orders(rng, jt[jc], np.minimum(death2, D), rate[c[jc]] * RATE_MULT, day_mult, hmax)
    w2 = jc[w2]
    v2 = rng.gamma(shape[c[w2]], aov[c[w2]] / shape[c[w2]]) * vmult[w2] * (1 - DISCOUNT)
    death = death.copy()
    death[jc] = death2
    who = np.concatenate([who, w2])
    t = np.concatenate([t, t2])
    value = np.concatenate([value, v2])
    member = np.concatenate([member, np.ones(w2.size, bool)])
    o = np.lexsort((t, who))
    return {"who": who[o], "day": np.floor(t[o]).astype(np.int64), "amount": value[o],
            "member": member[o], "channel": c, "acq": a.astype(np.int64), "death": death,
            "joined": joined}


def c_sim(n: int, seed: int, args) -> dict[str, np.ndarray]:
    from siyu import _core
    (count, oday, amount, omem, chan, acq, drop, since, elig,
     svc) = _core.shop_simulate(*args, n, seed)
    return {"who": np.repeat(np.arange(n), count), "day": oday, "amount": amount,
            "member": omem, "channel": chan, "acq": acq, "death": drop, "joined": since >= 0}


def stats(s: dict[str, np.ndarray], n: int) -> dict[str, tuple[float, float]]:
    """(estimate, standard error) of the compared quantities."""
    out = {}
    count = np.bincount(s["who"], minlength=n)
    alive = np.minimum(s["death"], N_DAYS) - s["acq"]
    for ch in np.unique(s["channel"]):
        sel = s["channel"] == ch
        x = count[sel]
        out[f"orders per customer, channel {ch}"] = (x.mean(), x.std() / np.sqrt(x.size))
        rep = (x - 1).sum() / alive[sel].sum()
        out[f"repeat orders per alive day, channel {ch}"] = (rep, np.sqrt((x - 1).sum()) /
                                                            alive[sel].sum())
        j = s["joined"][sel]
        out[f"share joined, channel {ch}"] = (j.mean(), np.sqrt(j.mean() * (1 - j.mean()) / j.size))
    for flag, name in ((True, "member"), (False, "non-member")):
        v = s["amount"][s["member"] == flag]
        out[f"mean {name} order value"] = (v.mean(), v.std() / np.sqrt(v.size))
    return out


def worker(name: str, opt) -> None:
    from siyu import _core
    from siyu.datasets.shop import DEFAULT_CHANNELS, simulate_shop  # imported once, untimed
    args = kernel_args()
    best = None
    for _ in range(opt.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        if name.startswith("C kernel"):
            _core.set_num_threads(int(name.split()[-2]))
            out = _core.shop_simulate(*args, opt.n, 1)
            orders = out[1].size
        elif name == "simulate_shop":
            sim = simulate_shop(opt.n, "2023-01-01", "2024-12-31", DEFAULT_CHANNELS,
                                member_threshold=THRESHOLD, member_share=MEMBER_SHARE,
                                member_rate_multiplier=RATE_MULT,
                                member_lifetime_multiplier=LIFE_MULT, member_discount=DISCOUNT,
                                holidays=HOLIDAYS, holiday_multiplier=1.35,
                                service_share=SERVICE_SHARE, service_aov_multiplier=SERVICE_MULT,
                                seed=1)
            orders = len(sim.transactions)
        else:
            out = numpy_sim(opt.n, 1, args)
            orders = out["day"].size
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or wall < best[0]:
            best = (wall, cpu)
    res = {"wall": best[0], "cpu": best[1], "orders": int(orders),
           "peak_mib": peak_rss() / 2**20}   # VmHWM: ru_maxrss would carry the parent's peak
    if name == "NumPy":
        res["stats"] = stats(numpy_sim(opt.n, 2, args), opt.n)
    elif name.startswith("C kernel"):
        res["stats"] = stats(c_sim(opt.n, 2, args), opt.n)
    print(json.dumps(res))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000, help="customers")
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    opt = ap.parse_args()
    if opt.worker:
        worker(opt.worker, opt)
        return 0
    names = [f"C kernel, {t} threads" for t in opt.threads] + ["simulate_shop", "NumPy"]
    res = {}
    load0 = load_average()
    for name in names:
        p = subprocess.run([sys.executable, __file__, "--worker", name, "--n", str(opt.n),
                            "--repeat", str(opt.repeat)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        if p.returncode != 0:
            print(p.stderr)
            return 1
        res[name] = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"{opt.n:,} customers, 2 years, public/private channels, holidays, service, "
          f"membership at 300 spent; best of {opt.repeat} per contender, each in its own "
          f"process; load average before {load0}")
    base = res["NumPy"]["wall"]
    for name in names:
        r = res[name]
        ratio = "" if name == "NumPy" else f"  -> {base / r['wall']:.1f}x NumPy"
        print(f"{name:22s} {r['wall']:6.3f} s wall ({r['cpu']:.3f} s CPU), {r['orders']:,} orders, "
              f"{r['orders'] / r['wall'] / 1e6:5.1f} M orders/s, peak RSS {r['peak_mib']:,.0f} MiB"
              f"{ratio}")
    failed = False
    nps = res["NumPy"]["stats"]
    for name in names:
        if "stats" not in res[name] or name == "NumPy":
            continue
        c = res[name]["stats"]
        print(f"distributions ({name} vs NumPy, second seed):")
        for key in c:
            (x, sx), (y, sy) = c[key], nps[key]
            z = (x - y) / np.hypot(sx, sy)
            bad = abs(z) > 5
            failed |= bad
            print(f"  {key:42s} {x:10.5g} vs {y:10.5g}  z = {z:+.2f}{'  MISMATCH' if bad else ''}")
    print(f"load average after: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
