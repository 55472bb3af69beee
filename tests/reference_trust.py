"""Slow, obviously correct oracles for the diagnostics and extras (tests only).

Conditional PMFs integrate the individual-level model over the posterior of the rates by
numerical quadrature (SciPy); the tracking counts and P(alive) histories are recounted with
pandas from the raw log; the BG/BB PMF is the sum of Fader, Hardie & Shang (2010) eq. 7
written with SciPy's special functions."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import integrate, stats
from scipy.special import betaln, gammaln, gammainc


# ---- conditional PMFs ------------------------------------------------------------------
# Given alive at T, the rate lambda has the Gamma(r+x, alpha+T) posterior, so the number N of
# purchase chances in (T, T+t] is negative binomial (scipy.stats.nbinom); the dropout
# probability p (BG/NBD) or the remaining exponential lifetime (Pareto/NBD) is integrated
# numerically with scipy's adaptive quadrature.

def _nb(R, A, u):
    return stats.nbinom(R, A / (A + u))


def bgnbd_cond_pmf(p, n, t, x, tx, T, modified=False):
    """P(X(T, T+t] = n | x, tx, T) for BG/NBD (MBG/NBD with modified=True)."""
    from reference_models import bg_palive
    r, al, a, b = p
    m = 1 if modified else 0
    pa = bg_palive(p, x, tx, T, modified=modified)
    N = _nb(r + x, al + T, t)
    post = stats.beta(a, b + x + m)            # p given alive at T (survived x(+1) chances)
    if n == 0:
        alive = N.pmf(0)
    else:
        f = lambda q: (1 - q) ** (n - 1) * (q * N.sf(n - 1) + (1 - q) * N.pmf(n)) * post.pdf(q)
        alive = integrate.quad(f, 0, 1, epsabs=0, epsrel=1e-12, limit=200)[0]
    return pa * alive + (1 - pa) * (n == 0)


def pnbd_cond_pmf(p, n, t, x, tx, T):
    """P(X(T, T+t] = n | x, tx, T) for Pareto/NBD."""
    from reference_models import pnbd_palive
    r, al, s, be = p
    pa = pnbd_palive(p, x, tx, T)
    R, A, B = r + x, al + T, be + T
    stay = (B / (B + t)) ** s * _nb(R, A, t).pmf(n)
    f = lambda u: s * B ** s * (B + u) ** (-s - 1) * _nb(R, A, u).pmf(n)
    died = integrate.quad(f, 0, t, epsabs=0, epsrel=1e-12, limit=400)[0]
    return pa * (stay + died) + (1 - pa) * (n == 0)


# ---- BG/BB -------------------------------------------------------------------------------

def bgbb_pmf(p, x, n):
    """FHS (2010) eq. 7, term by term."""
    al, be, ga, de = p
    lchoose = lambda a_, b_: gammaln(a_ + 1) - gammaln(b_ + 1) - gammaln(a_ - b_ + 1)
    v = np.exp(lchoose(n, x) + betaln(al + x, be + n - x) - betaln(al, be)
               + betaln(ga, de + n) - betaln(ga, de))
    for i in range(int(x), int(n)):
        v += np.exp(lchoose(i, x) + betaln(al + x, be + i - x) - betaln(al, be)
                    + betaln(ga + 1, de + i) - betaln(ga, de))
    return v


def bgbb_expected_new(p, n):
    """E[X(n)] = alpha/(alpha+beta) * sum_{i=1}^{n} P(alive at i), P(alive at i) =
    B(gamma, delta+i)/B(gamma, delta)."""
    al, be, ga, de = p
    i = np.arange(1, int(n) + 1)
    return al / (al + be) * np.exp(betaln(ga, de + i) - betaln(ga, de)).sum()


# ---- tracking and histories from the raw log -------------------------------------------

def occasions(df: pd.DataFrame, customer: str, time: str, amount: str | None) -> pd.DataFrame:
    """Purchase occasions: one row per (customer, day) with a row of amount >= 0."""
    d = df[[customer, time] + ([amount] if amount else [])].copy()
    d["day"] = pd.to_datetime(d[time]).dt.normalize()
    if amount:
        d = d[d[amount] >= 0]
    return d[[customer, "day"]].drop_duplicates().sort_values([customer, "day"])


def tracking_actual(df, customer, time, amount, cal_end, start, end, days=7):
    """Repeat occasions per block of ``days`` from ``start``; customers whose first
    purchase is after cal_end are left out."""
    occ = occasions(df, customer, time, amount)
    first = occ.groupby(customer)["day"].transform("min")
    occ = occ[first <= pd.Timestamp(cal_end)]
    rep = occ[occ["day"] > occ.groupby(customer)["day"].transform("min")]
    rep = rep[(rep["day"] >= pd.Timestamp(start)) & (rep["day"] <= pd.Timestamp(end))]
    k = ((rep["day"] - pd.Timestamp(start)).dt.days // days).to_numpy()
    nper = -(-((pd.Timestamp(end) - pd.Timestamp(start)).days + 1) // days)
    return np.bincount(k, minlength=nper)


def alive_history(palive, df, customer, time, amount, cust_id, end, unit_days):
    """P(alive) day by day for one customer: each day's (x, t_x, T) recounted from the log
    and passed to ``palive(x, tx, T)`` (an independent P(alive) formula)."""
    occ = occasions(df, customer, time, amount)
    days = occ.loc[occ[customer] == cust_id, "day"].to_numpy()
    first = days[0]
    out = []
    for d in pd.date_range(first, pd.Timestamp(end), freq="D"):
        seen = days[days <= np.datetime64(d)]
        x = len(seen) - 1
        rec = (seen[-1] - first) / np.timedelta64(1, "D") / unit_days
        T = (np.datetime64(d) - first) / np.timedelta64(1, "D") / unit_days
        out.append(float(palive(x, rec, T)))
    return np.array(out)
