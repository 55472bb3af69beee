"""Benchmark: bootstrap intervals of BG/NBD on CDNOW (2,357 customers, weekly units).

Contenders, run in this one process on the same input, best of --repeat runs each:

* siyu, whole call: ``BetaGeo().fit(summary)`` then
  ``conditional_expected_purchases(39, summary, interval=0.9, method="bootstrap",
  n_boot=200)`` -- 200 refits in C on all cores, then the 200 predictions;
* siyu, the 200 refits alone (the kernel the target "200 refits in < 2 s" is about);
* the Python loop a user would otherwise write (and notebook 05 used to): 200 times,
  resample the customers (the same multinomial counts siyu drew, so the results can be
  compared) and call ``BetaGeo().fit(..., weights=counts)``, then predict with each fit.

The refitted parameters of the loop and of siyu must agree (relative 1e-4; the two
optimisers stop at the gradient tolerance from different starts) and so must the interval
bounds (1e-4); the script exits non-zero otherwise.  Prints wall times, ratios, the peak
traced Python memory of each contender, the thread count and the load average.

    python benchmarks/bench_bootstrap.py [--n-boot 200] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

import siyu
from siyu import _core


def best_of(fn, repeat):
    times, peak, out = [], 0, None
    for _ in range(repeat):
        tracemalloc.start()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return min(times), peak, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    B = args.n_boot
    tx = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id", time="date",
                           amount="amount")
    s = tx.summary(end="1997-09-30", unit="W")
    q = [0.05, 0.95]

    def siyu_whole():
        m = siyu.BetaGeo().fit(s)
        return m, m.conditional_expected_purchases(39, s, interval=0.9, method="bootstrap",
                                                   n_boot=B, seed=args.seed)

    t_whole, mem_whole, (model, iv) = best_of(siyu_whole, args.repeat)
    seed = siyu.models._intervals.seed_value(args.seed)
    seed_b = int(np.random.SeedSequence(seed).spawn(1)[0].generate_state(1, dtype=np.uint64)[0])

    def siyu_refits():
        model._boot_cache.clear()
        return model._bootstrap_thetas(B, seed_b)

    t_refit, mem_refit, (thetas, status) = best_of(siyu_refits, args.repeat)

    # the same multinomial counts, from the kernel, for the Python loop
    c0, c1, c2, w = model._fit_data
    starts = np.ascontiguousarray(np.concatenate(
        [np.log(model._p())] + [np.asarray(v, float) for v in model._default_starts]))
    cov = model._cov_theta
    hinv = np.ascontiguousarray((c0.size * cov).reshape(-1))
    _, _, _, _, urows, counts, m = _core.trust_bootstrap(
        model._code, c0, c1, c2, w, starts, hinv, 0.0, 0, model.maxiter, model.tol, B, seed_b,
        True)
    counts = np.asarray(counts).reshape(B, m)
    x, tx_, T = (np.asarray(u) for u in urows)
    xs, txs, Ts = (s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))

    def python_loop():
        fits, preds = [], np.empty((B, len(s)))
        for b in range(B):
            keep = counts[b] > 0
            f = siyu.BetaGeo().fit(x[keep], tx_[keep], T[keep], weights=counts[b][keep])
            fits.append(f.params_.to_numpy())
            preds[b] = f.conditional_expected_purchases(39, xs, txs, Ts)
        lo, hi = np.quantile(preds, q, axis=0)
        return np.array(fits), lo, hi

    t_loop, mem_loop, (loop_params, lo, hi) = best_of(python_loop, args.repeat)

    ok = True
    if not (status == 1).all():
        print(f"MISMATCH: {(status != 1).sum()} siyu refits did not converge")
        ok = False
    rel = np.abs(np.exp(thetas) / loop_params - 1).max()
    if rel > 1e-4:
        print(f"MISMATCH: refitted parameters differ by {rel:.2e} (relative)")
        ok = False
    d_lo = np.abs(iv["lower"].to_numpy() / lo - 1).max()
    d_hi = np.abs(iv["upper"].to_numpy() / hi - 1).max()
    if max(d_lo, d_hi) > 1e-4:
        print(f"MISMATCH: interval bounds differ by {max(d_lo, d_hi):.2e} (relative)")
        ok = False
    load = os.getloadavg()
    print(f"BG/NBD bootstrap on CDNOW: {len(s)} customers, {m} distinct rows, n_boot={B}, "
          f"threads={siyu.get_num_threads()}, best of {args.repeat}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'contender':<58}{'seconds':>9}{'ratio':>8}{'peak MB':>9}")
    rows = [("siyu: fit + interval (200 C refits + predictions)", t_whole, mem_whole),
            ("siyu: the 200 refits alone", t_refit, mem_refit),
            ("Python loop of BetaGeo().fit on the same counts + predictions", t_loop, mem_loop)]
    for name, t, mem in rows:
        print(f"{name:<58}{t:>9.3f}{t / t_whole:>8.2f}{mem / 2**20:>9.1f}")
    print(f"max relative difference: parameters {rel:.1e}, interval bounds "
          f"{max(d_lo, d_hi):.1e}; results {'agree' if ok else 'DIFFER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
