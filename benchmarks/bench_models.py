"""Benchmark: siyu's C fitters against what an analyst would write (a NumPy log-likelihood
minimised with scipy.optimize.minimize), and against lifetimes when it is importable.

Run:  python benchmarks/bench_models.py [--n 1000000] [--quick]

Prints fit times and ratios on CDNOW (2,357 customers) and on simulated customers, plus
prediction times (conditional_expected_purchases + probability_alive) for 1M customers.
Not part of the test suite; SciPy is needed here only.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln, gammaln, hyp2f1

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siyu.datasets.simulate import simulate  # noqa: E402
from siyu.models import (BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo,  # noqa: E402
                         ParetoNBD, ShiftedBetaGeometric)


def data_dir() -> Path | None:
    here = Path(__file__).resolve().parents[1]
    for c in (here.parent / "shared" / "data", here / ".." / "shared" / "data"):
        if c.is_dir():
            return c
    return None


# ---- the "analyst" baselines: vectorised NumPy likelihoods + scipy.optimize -----------

def np_bgnbd_nll(lp, x, tx, T):
    r, al, a, b = np.exp(lp)
    c = gammaln(r + x) - gammaln(r) + r * np.log(al)
    t1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(al + T)
    with np.errstate(all="ignore"):
        t2 = np.where(x > 0, betaln(a + 1, b + x - 1) - betaln(a, b)
                      - (r + x) * np.log(al + tx), -np.inf)
    return -np.mean(c + np.logaddexp(t1, t2))


def np_mbgnbd_nll(lp, x, tx, T):
    r, al, a, b = np.exp(lp)
    c = gammaln(r + x) - gammaln(r) + r * np.log(al)
    t1 = betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(al + T)
    t2 = betaln(a + 1, b + x) - betaln(a, b) - (r + x) * np.log(al + tx)
    return -np.mean(c + np.logaddexp(t1, t2))


def np_pnbd_nll(lp, x, tx, T):
    r, al, s, be = np.exp(lp)
    a1 = r + s + x
    if al >= be:
        b1, big, d = s + 1, al, al - be
    else:
        b1, big, d = r + x, be, be - al
    with np.errstate(all="ignore"):
        A0 = (hyp2f1(a1, b1, a1 + 1, d / (big + tx)) / (big + tx) ** a1
              - hyp2f1(a1, b1, a1 + 1, d / (big + T)) / (big + T) ** a1)
        L = (np.exp(gammaln(r + x) - gammaln(r) + r * np.log(al) + s * np.log(be))
             * (1 / ((al + T) ** (r + x) * (be + T) ** s) + s / a1 * A0))
        v = -np.mean(np.log(L))
    return v if np.isfinite(v) else 1e10


def np_gg_nll(lp, x, m):
    p, q, g = np.exp(lp)
    return -np.mean(gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g)
                    + p * x * np.log(x) + (p * x - 1) * np.log(m) - (p * x + q) * np.log(g + x * m))


def np_bgbb_nll(lp, x, tx, n, w):
    al, be, ga, de = np.exp(lp)
    ll = np.zeros(len(x))
    for i in range(len(x)):
        terms = [betaln(al + x[i], be + n[i] - x[i]) - betaln(al, be) + betaln(ga, de + n[i])
                 - betaln(ga, de)]
        for j in range(int(n[i] - tx[i])):
            terms.append(betaln(al + x[i], be + tx[i] - x[i] + j) - betaln(al, be)
                         + betaln(ga + 1, de + tx[i] + j) - betaln(ga, de))
        ll[i] = np.logaddexp.reduce(terms)
    return -np.sum(w * ll) / np.sum(w)


def np_sbg_nll(lp, t, T):
    a, b = np.exp(lp)
    return -np.mean(np.where(t < T, betaln(a + 1, b + t - 1) - betaln(a, b),
                             betaln(a, b + T - 1) - betaln(a, b)))


def timeit(fn, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def scipy_fit(nll, k, args, method):
    return optimize.minimize(nll, np.zeros(k), args=args, method=method,
                             options={"maxiter": 5000} if method == "Nelder-Mead" else None)


def row(name, t_siyu, t_ref, ref_label, ll_siyu=None, ll_ref=None):
    ratio = t_ref / t_siyu if t_siyu > 0 else np.inf
    extra = ""
    if ll_siyu is not None and ll_ref is not None:
        extra = f"  (LL siyu {ll_siyu:.2f} vs ref {ll_ref:.2f})"
    print(f"{name:<38s} siyu {t_siyu * 1e3:10.2f} ms   {ref_label:<22s} {t_ref * 1e3:11.1f} ms"
          f"   x{ratio:8.1f}{extra}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="skip the slow SciPy baselines at scale")
    args = ap.parse_args()
    try:
        import lifetimes  # noqa: F401
        have_lifetimes = True
    except Exception:
        have_lifetimes = False
    print(f"lifetimes importable: {have_lifetimes}")

    d = data_dir()
    if d is not None:
        print("\n== CDNOW and published data sets (fit time, best of 3) ==")
        c = pd.read_csv(d / "cdnow_customers_summary.csv")
        x, tx, T = (c[k].to_numpy(float) for k in ("frequency", "recency", "T"))
        for cls, nll in ((BetaGeo, np_bgnbd_nll), (ModifiedBetaGeo, np_mbgnbd_nll),
                         (ParetoNBD, np_pnbd_nll)):
            ts, m = timeit(lambda: cls().fit(x, tx, T))
            for method in ("Nelder-Mead", "L-BFGS-B"):
                tr, res = timeit(lambda: scipy_fit(nll, 4, (x, tx, T), method), repeat=1)
                row(f"{cls.__name__} CDNOW", ts, tr, f"numpy+scipy {method}",
                    m.log_likelihood_, -res.fun * len(x))
        g = pd.read_csv(d / "cdnow_customers_summary_with_transactions.csv")
        g = g[g.x > 0]
        gx, gm = g.x.to_numpy(float), g.zbar.to_numpy(float)
        ts, m = timeit(lambda: GammaGamma().fit(gx, gm))
        tr, res = timeit(lambda: scipy_fit(np_gg_nll, 3, (gx, gm), "Nelder-Mead"), repeat=1)
        row("GammaGamma CDNOW", ts, tr, "numpy+scipy Nelder-Mead", m.log_likelihood_,
            -res.fun * len(gx))
        dn = pd.read_csv(d / "donations.csv")
        cols = [dn[k].to_numpy(float) for k in ("frequency", "recency", "periods", "weights")]
        ts, m = timeit(lambda: BetaGeoBetaBinom().fit(*cols[:3], weights=cols[3]))
        tr, res = timeit(lambda: scipy_fit(np_bgbb_nll, 4, tuple(cols), "Nelder-Mead"), repeat=1)
        row("BetaGeoBetaBinom donations", ts, tr, "numpy+scipy Nelder-Mead", m.log_likelihood_,
            -res.fun * cols[3].sum())
        sb = pd.read_csv(d / "sbg_paper.csv")
        sb = sb[sb.cohorts == "regular"]
        st, sT = sb.recency.to_numpy(float), sb["T"].to_numpy(float)
        ts, m = timeit(lambda: ShiftedBetaGeometric().fit(st, sT))
        tr, res = timeit(lambda: scipy_fit(np_sbg_nll, 2, (st, sT), "Nelder-Mead"), repeat=1)
        row("ShiftedBetaGeometric regular", ts, tr, "numpy+scipy Nelder-Mead",
            m.log_likelihood_, -res.fun * len(st))

    n = args.n
    print(f"\n== {n:,} simulated customers (52 weeks, acquisition over 26 weeks, day "
          "resolution as tx.summary() gives) ==")
    t0 = time.perf_counter()
    s = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, n, T=52, seed=1, unit="W",
                 acquisition=26, output="summary")
    print(f"simulate (BG/NBD, summary)           {time.perf_counter() - t0:8.3f} s")
    t0 = time.perf_counter()
    log = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, n, T=52, seed=1, unit="W",
                   acquisition=26)
    print(f"simulate (BG/NBD, transaction log)   {time.perf_counter() - t0:8.3f} s  "
          f"({len(log):,} rows)")
    del log
    x = s.frequency.to_numpy(float)
    tx = np.floor(s.recency.to_numpy() * 7) / 7
    T = np.floor(s["T"].to_numpy() * 7) / 7
    ts, m = timeit(lambda: BetaGeo().fit(x, tx, T), repeat=2)
    print(f"BetaGeo fit                          {ts:8.3f} s   params {np.round(m.params_.values, 4)}")
    if not args.quick:
        tr, res = timeit(lambda: scipy_fit(np_bgnbd_nll, 4, (x, tx, T), "L-BFGS-B"), repeat=1)
        row(f"BetaGeo {n:,}", ts, tr, "numpy+scipy L-BFGS-B", m.log_likelihood_, -res.fun * n)
    t0 = time.perf_counter()
    m.conditional_expected_purchases(10.0, x, tx, T)
    m.probability_alive(x, tx, T)
    print(f"BetaGeo cond. expected + P(alive)    {time.perf_counter() - t0:8.3f} s")
    if have_lifetimes and not args.quick:  # pragma: no cover - lifetimes is not installed here
        from lifetimes import BetaGeoFitter
        t0 = time.perf_counter()
        BetaGeoFitter().fit(x, tx, T)
        row(f"BetaGeo {n:,}", ts, time.perf_counter() - t0, "lifetimes")

    s = simulate({"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}, n, T=52, seed=1, unit="W",
                 acquisition=26, output="summary")
    x = s.frequency.to_numpy(float)
    tx = np.floor(s.recency.to_numpy() * 7) / 7
    T = np.floor(s["T"].to_numpy() * 7) / 7
    ts, m = timeit(lambda: ParetoNBD().fit(x, tx, T), repeat=1)
    print(f"ParetoNBD fit                        {ts:8.3f} s   params {np.round(m.params_.values, 4)}")
    t0 = time.perf_counter()
    m.conditional_expected_purchases(10.0, x, tx, T)
    m.probability_alive(x, tx, T)
    print(f"ParetoNBD cond. expected + P(alive)  {time.perf_counter() - t0:8.3f} s")
    if not args.quick:
        sub = slice(0, min(n, 100_000))
        ts2, m2 = timeit(lambda: ParetoNBD().fit(x[sub], tx[sub], T[sub]), repeat=1)
        tr, res = timeit(lambda: scipy_fit(np_pnbd_nll, 4, (x[sub], tx[sub], T[sub]), "L-BFGS-B"),
                         repeat=1)
        row(f"ParetoNBD {len(x[sub]):,}", ts2, tr, "numpy+scipy L-BFGS-B", m2.log_likelihood_,
            -res.fun * len(x[sub]))


if __name__ == "__main__":
    main()
