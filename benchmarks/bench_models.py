"""Benchmark: siyu's C fitters against what an analyst would write (a NumPy log-likelihood
minimised with scipy.optimize.minimize), and against lifetimes when it is importable.

Run:  python benchmarks/bench_models.py [--n 1000000] [--quick] [--repeat 1]

Prints fit times and ratios on CDNOW (2,357 customers) and on simulated customers, plus
prediction times (conditional_expected_purchases + probability_alive) for 1M customers,
and the static-covariate fits (Pareto/NBD and BG/NBD with 4 covariates) against the
same fits without covariates and against a NumPy + SciPy implementation.

Fairness (issue 17): every contender gets the same input and the same repeat policy
(best of --repeat runs, default 1, for everyone, all in this one process); siyu's time is
its whole ``fit`` call from the same summary arrays.  Peak memory above the baseline of
each side's last timed fit is printed per row ("peak MiB siyu / ref").
siyu collapses identical rows before fitting (the number of distinct rows is printed);
the NumPy + SciPy baselines are given the rows as they are, except where marked
"collapsed" (then they get the same collapsed rows with weights, which favours them).
The log-likelihoods are compared: the run exits non-zero when a baseline finds a higher
maximum than siyu by more than 1e-6 relative (siyu must be at least as good).
Not part of the test suite; SciPy is needed here only.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import betaln, gammaln, hyp2f1

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _bench_util import peak_rss, rss  # noqa: E402
from siyu.datasets.simulate import simulate  # noqa: E402
from siyu.models import (BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo,  # noqa: E402
                         ParetoNBD, ShiftedBetaGeometric)


def data_dir() -> Path | None:
    here = Path(__file__).resolve().parents[1]
    env = os.environ.get("SIYU_SHARED_DATA")
    for c in ([Path(env)] if env else []) + [here.parent / "shared" / "data",
                                             here / ".." / "shared" / "data"]:
        if c.is_dir():
            return c
    return None


# ---- the "analyst" baselines: vectorised NumPy likelihoods + scipy.optimize -----------

def _wmean(v, w):
    return np.mean(v) if w is None else np.sum(w * v) / np.sum(w)


def np_bgnbd_nll(lp, x, tx, T, w=None):
    r, al, a, b = np.exp(lp)
    c = gammaln(r + x) - gammaln(r) + r * np.log(al)
    t1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(al + T)
    with np.errstate(all="ignore"):
        t2 = np.where(x > 0, betaln(a + 1, b + x - 1) - betaln(a, b)
                      - (r + x) * np.log(al + tx), -np.inf)
    return -_wmean(c + np.logaddexp(t1, t2), w)


def np_mbgnbd_nll(lp, x, tx, T):
    r, al, a, b = np.exp(lp)
    c = gammaln(r + x) - gammaln(r) + r * np.log(al)
    t1 = betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(al + T)
    t2 = betaln(a + 1, b + x) - betaln(a, b) - (r + x) * np.log(al + tx)
    return -np.mean(c + np.logaddexp(t1, t2))


def np_pnbd_nll(lp, x, tx, T, w=None):
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
        v = -_wmean(np.log(L), w)
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


REPEAT = 1
MISMATCHES: list[str] = []
PEAK = {"siyu": 0.0, "ref": 0.0}     # MiB above the baseline, of the last timeit per side


def timeit(fn, repeat=None, who="siyu"):
    """Best of ``repeat`` runs; the peak memory of the runs goes to PEAK[who]."""
    repeat = REPEAT if repeat is None else repeat
    best = np.inf
    out = None
    base = rss()
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    PEAK[who] = max(peak_rss() - base, 0) / 2**20
    return best, out


def scipy_fit(nll, k, args, method):
    return optimize.minimize(nll, np.zeros(k), args=args, method=method,
                             options={"maxiter": 5000} if method == "Nelder-Mead" else None)


def row(name, t_siyu, t_ref, ref_label, ll_siyu=None, ll_ref=None):
    ratio = t_ref / t_siyu if t_siyu > 0 else np.inf
    extra = ""
    if ll_siyu is not None and ll_ref is not None:
        ok = ll_siyu >= ll_ref - 1e-6 * abs(ll_ref)
        extra = f"  (LL siyu {ll_siyu:.3f} vs ref {ll_ref:.3f}{'' if ok else '  MISMATCH'})"
        if not ok:
            MISMATCHES.append(f"{name} vs {ref_label}: {ll_siyu} < {ll_ref}")
    print(f"{name:<38s} siyu {t_siyu * 1e3:10.2f} ms   {ref_label:<22s} {t_ref * 1e3:11.1f} ms"
          f"   x{ratio:8.1f}{extra}  peak MiB {PEAK['siyu']:.0f} / {PEAK['ref']:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="skip the slow SciPy baselines at scale")
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs, for every contender")
    args = ap.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    print(f"repeat policy: best of {REPEAT} for every contender; load average {os.getloadavg()}")
    try:
        import lifetimes  # noqa: F401
        have_lifetimes = True
    except Exception:
        have_lifetimes = False
    print(f"lifetimes importable: {have_lifetimes}")

    d = data_dir()
    if d is not None:
        print("\n== CDNOW and published data sets (fit time, best of --repeat) ==")
        c = pd.read_csv(d / "cdnow_customers_summary.csv")
        x, tx, T = (c[k].to_numpy(float) for k in ("frequency", "recency", "T"))
        for cls, nll in ((BetaGeo, np_bgnbd_nll), (ModifiedBetaGeo, np_mbgnbd_nll),
                         (ParetoNBD, np_pnbd_nll)):
            ts, m = timeit(lambda: cls().fit(x, tx, T))
            for method in ("Nelder-Mead", "L-BFGS-B"):
                tr, res = timeit(lambda: scipy_fit(nll, 4, (x, tx, T), method), who="ref")
                row(f"{cls.__name__} CDNOW", ts, tr, f"numpy+scipy {method}",
                    m.log_likelihood_, -res.fun * len(x))
        g = pd.read_csv(d / "cdnow_customers_summary_with_transactions.csv")
        g = g[g.x > 0]
        gx, gm = g.x.to_numpy(float), g.zbar.to_numpy(float)
        ts, m = timeit(lambda: GammaGamma().fit(gx, gm))
        tr, res = timeit(lambda: scipy_fit(np_gg_nll, 3, (gx, gm), "Nelder-Mead"), who="ref")
        row("GammaGamma CDNOW", ts, tr, "numpy+scipy Nelder-Mead", m.log_likelihood_,
            -res.fun * len(gx))
        dn = pd.read_csv(d / "donations.csv")
        cols = [dn[k].to_numpy(float) for k in ("frequency", "recency", "periods", "weights")]
        ts, m = timeit(lambda: BetaGeoBetaBinom().fit(*cols[:3], weights=cols[3]))
        tr, res = timeit(lambda: scipy_fit(np_bgbb_nll, 4, tuple(cols), "Nelder-Mead"),
                         who="ref")
        row("BetaGeoBetaBinom donations", ts, tr, "numpy+scipy Nelder-Mead", m.log_likelihood_,
            -res.fun * cols[3].sum())
        sb = pd.read_csv(d / "sbg_paper.csv")
        sb = sb[sb.cohorts == "regular"]
        st, sT = sb.recency.to_numpy(float), sb["T"].to_numpy(float)
        ts, m = timeit(lambda: ShiftedBetaGeometric().fit(st, sT))
        tr, res = timeit(lambda: scipy_fit(np_sbg_nll, 2, (st, sT), "Nelder-Mead"), who="ref")
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
    ts, m = timeit(lambda: BetaGeo().fit(x, tx, T))
    print(f"BetaGeo fit                          {ts:8.3f} s   params {np.round(m.params_.values, 4)}"
          f"  ({m.n_unique_:,} distinct rows of {n:,})")
    if not args.quick:
        tr, res = timeit(lambda: scipy_fit(np_bgnbd_nll, 4, (x, tx, T), "L-BFGS-B"), who="ref")
        row(f"BetaGeo {n:,}", ts, tr, "numpy+scipy L-BFGS-B", m.log_likelihood_, -res.fun * n)
    t0 = time.perf_counter()
    m.conditional_expected_purchases(10.0, x, tx, T)
    m.probability_alive(x, tx, T)
    print(f"BetaGeo cond. expected + P(alive)    {time.perf_counter() - t0:8.3f} s")
    if have_lifetimes and not args.quick:  # pragma: no cover - lifetimes is not installed here
        from lifetimes import BetaGeoFitter
        tl, lf = timeit(lambda: BetaGeoFitter().fit(x, tx, T), who="ref")
        # time only: lifetimes rescales time internally, so its likelihood is on
        # another scale (not compared)
        row(f"BetaGeo {n:,}", ts, tl, "lifetimes")

    s = simulate({"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}, n, T=52, seed=1, unit="W",
                 acquisition=26, output="summary")
    x = s.frequency.to_numpy(float)
    tx = np.floor(s.recency.to_numpy() * 7) / 7
    T = np.floor(s["T"].to_numpy() * 7) / 7
    ts, m = timeit(lambda: ParetoNBD().fit(x, tx, T))
    print(f"ParetoNBD fit                        {ts:8.3f} s   params {np.round(m.params_.values, 4)}"
          f"  ({m.n_unique_:,} distinct rows of {n:,})")
    t0 = time.perf_counter()
    m.conditional_expected_purchases(10.0, x, tx, T)
    m.probability_alive(x, tx, T)
    print(f"ParetoNBD cond. expected + P(alive)  {time.perf_counter() - t0:8.3f} s")
    if not args.quick:
        sub = slice(0, min(n, 100_000))
        ts2, m2 = timeit(lambda: ParetoNBD().fit(x[sub], tx[sub], T[sub]))
        tr, res = timeit(lambda: scipy_fit(np_pnbd_nll, 4, (x[sub], tx[sub], T[sub]),
                                           "L-BFGS-B"), who="ref")
        row(f"ParetoNBD {len(x[sub]):,}", ts2, tr, "numpy+scipy L-BFGS-B", m2.log_likelihood_,
            -res.fun * len(x[sub]))
    covariate_section(n, args.quick)
    print(f"\nload average at the end {os.getloadavg()}; process peak RSS "
          f"{peak_rss() / 2**20:,.0f} MiB")
    if MISMATCHES:
        print("\nLOG-LIKELIHOOD MISMATCHES:\n  " + "\n  ".join(MISMATCHES))
        sys.exit(1)


# ---- covariates: NumPy + SciPy baselines (per-customer parameters, numeric gradients) ----

def np_bg_cov_nll(th, x, tx, T, Zp, Zd, w):
    r, al, a, b = np.exp(th[:4])
    kp = Zp.shape[1]
    al_i = al * np.exp(-Zp @ th[4:4 + kp])
    e = np.exp(Zd @ th[4 + kp:])
    a_i, b_i = a * e, b * e
    c = gammaln(r + x) - gammaln(r) + r * np.log(al_i)
    t1 = betaln(a_i, b_i + x) - betaln(a_i, b_i) - (r + x) * np.log(al_i + T)
    with np.errstate(all="ignore"):
        t2 = np.where(x > 0, betaln(a_i + 1, b_i + np.maximum(x, 1) - 1) - betaln(a_i, b_i)
                      - (r + x) * np.log(al_i + tx), -np.inf)
    v = -np.sum(w * (c + np.logaddexp(t1, t2))) / np.sum(w)
    return v if np.isfinite(v) else 1e10


def np_pnbd_cov_nll(th, x, tx, T, Zp, Zd, w):
    r, al, s, be = np.exp(th[:4])
    kp = Zp.shape[1]
    al_i = al * np.exp(-Zp @ th[4:4 + kp])
    be_i = be * np.exp(-Zd @ th[4 + kp:])
    a1 = r + s + x
    big = np.maximum(al_i, be_i)
    b1 = np.where(al_i >= be_i, s + 1, r + x)
    d = np.abs(al_i - be_i)
    with np.errstate(all="ignore"):
        A0 = (hyp2f1(a1, b1, a1 + 1, d / (big + tx)) / (big + tx) ** a1
              - hyp2f1(a1, b1, a1 + 1, d / (big + T)) / (big + T) ** a1)
        L = (np.exp(gammaln(r + x) - gammaln(r) + r * np.log(al_i) + s * np.log(be_i))
             * (1 / ((al_i + T) ** (r + x) * (be_i + T) ** s) + s / a1 * A0))
        v = -np.sum(w * np.log(L)) / np.sum(w)
    return v if np.isfinite(v) else 1e10


def collapse(x, tx, T, Z):
    """The identical-row collapse siyu does internally, for the 'collapsed' baselines."""
    M = np.column_stack([x, tx, T, Z])
    u, inv, cnt = np.unique(M, axis=0, return_inverse=True, return_counts=True)
    return u[:, 0], u[:, 1], u[:, 2], u[:, 3:], cnt.astype(float)


def covariate_section(n: int, quick: bool) -> None:
    print(f"\n== static covariates: {n:,} simulated customers, 4 covariates on each process ==")
    rng = np.random.default_rng(7)
    channel = rng.choice(["私域", "公域", "抖音"], n, p=[0.5, 0.3, 0.2])
    cov_bin = pd.DataFrame({"channel": channel, "member": rng.integers(0, 2, n),
                            "coupon": rng.integers(0, 2, n)})
    cov_num = pd.DataFrame({"member": rng.integers(0, 2, n), "coupon": rng.integers(0, 2, n),
                            "age": rng.normal(35, 8, n), "tenure": rng.gamma(2, 1, n)})
    eff = {"purchase": {"member": 0.4, "coupon": 0.2}, "dropout": {"member": -0.5,
                                                                    "coupon": 0.1}}
    for label, covs in (("4 binary (channel 3 levels, member, coupon)", cov_bin),
                        ("2 binary + 2 numeric (member, coupon, age, tenure)", cov_num)):
        for cls, par in ((BetaGeo, {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}),
                         (ParetoNBD, {"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7})):
            s = simulate(par, n, T=52, seed=3, unit="W", acquisition=26, output="summary",
                         covariates=covs, effects=eff)
            s["recency"] = np.floor(s["recency"] * 7) / 7
            s["T"] = np.floor(s["T"] * 7) / 7
            cols = list(covs.columns)
            t0, m0 = timeit(lambda: cls().fit(s[["frequency", "recency", "T"]]))
            t1, m1 = timeit(lambda: cls().fit(s, covariates=cols))
            print(f"{cls.__name__:<10s} {label:<50s} no covariates {t0:7.3f} s, with "
                  f"{t1:7.3f} s = {t1 / t0:5.2f}x (target <= 3x); {m1.n_unique_:,} distinct "
                  f"rows; LL {m0.log_likelihood_:.2f} -> {m1.log_likelihood_:.2f}")
            if quick:
                continue
            # the NumPy + SciPy implementation (L-BFGS-B, numeric gradients), on the same
            # model: the design matrix siyu builds (dummies; numeric columns as given)
            F = m1._covs.F
            nb = F.shape[1]
            sub = slice(0, min(n, 100_000))  # the SciPy baselines take minutes beyond
            x, tx, T = (s[c].to_numpy(float)[sub] for c in ("frequency", "recency", "T"))
            Fs = F[sub]
            cx, ctx, cT, cZ, cw = collapse(x, tx, T, Fs)
            nll = np_bg_cov_nll if cls is BetaGeo else np_pnbd_cov_nll
            ts, ms = timeit(lambda: cls().fit(x, tx, T, covariates=pd.DataFrame(
                Fs, columns=[f"f{j}" for j in range(nb)])))
            th0 = np.r_[m0._theta(), np.zeros(2 * nb)]

            def go():
                return optimize.minimize(nll, th0, args=(cx, ctx, cT, cZ, cZ, cw),
                                         method="L-BFGS-B")
            tr, res = timeit(go, who="ref")
            nsub = len(x)
            row(f"{cls.__name__} cov {nsub:,} ({'2b+2n' if 'age' in cols else '4b'})", ts, tr,
                "numpy+scipy collapsed", ms.log_likelihood_, -res.fun * nsub)


if __name__ == "__main__":
    main()
