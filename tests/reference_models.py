"""Slow pure NumPy/SciPy oracles for the CLV models (tests only; SciPy is not a run-time
dependency of siyu).  Formulas are written from the papers, independently of the C code:
the Pareto/NBD likelihood uses scipy's hyp2f1 form of Fader, Hardie & Lee's note, the
expectations use the published closed forms or direct numerical integration."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy import integrate
from scipy.special import betaln, gammaln, hyp2f1


def shared_data_dir() -> Path | None:
    """../shared/data next to the repository, else $SIYU_SHARED_DATA."""
    here = Path(__file__).resolve().parents[1]
    cands = [here.parent / "shared" / "data", here / ".." / "shared" / "data"]
    env = os.environ.get("SIYU_SHARED_DATA")
    if env:
        cands.append(Path(env))
    for c in cands:
        if c.is_dir():
            return c
    return None


# ---- log-likelihoods (per row) -------------------------------------------------

def bgnbd_ll(p, x, tx, T):
    r, al, a, b = p
    x, tx, T = (np.asarray(v, float) for v in (x, tx, T))
    c = gammaln(r + x) - gammaln(r) + r * np.log(al)
    t1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(al + T)
    with np.errstate(all="ignore"):
        t2 = np.where(x > 0, betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - betaln(a, b)
                      - (r + x) * np.log(al + tx), -np.inf)
    return c + np.logaddexp(t1, t2)


def mbgnbd_ll(p, x, tx, T):
    r, al, a, b = p
    x, tx, T = (np.asarray(v, float) for v in (x, tx, T))
    c = gammaln(r + x) - gammaln(r) + r * np.log(al)
    t1 = betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(al + T)
    t2 = betaln(a + 1, b + x) - betaln(a, b) - (r + x) * np.log(al + tx)
    return c + np.logaddexp(t1, t2)


def paretonbd_ll(p, x, tx, T):
    """FHL (2005) note, eq. for alpha >= beta and alpha < beta, via scipy.special.hyp2f1."""
    r, al, s, be = p
    out = []
    for xi, ti, Ti in zip(np.asarray(x, float), np.asarray(tx, float), np.asarray(T, float)):
        a1 = r + s + xi
        if al >= be:
            b1, big = s + 1, al
            z = lambda t: (al - be) / (al + t)
        else:
            b1, big = r + xi, be
            z = lambda t: (be - al) / (be + t)
        A0 = (hyp2f1(a1, b1, a1 + 1, z(ti)) / (big + ti) ** a1
              - hyp2f1(a1, b1, a1 + 1, z(Ti)) / (big + Ti) ** a1)
        L = (np.exp(gammaln(r + xi) - gammaln(r)) * al ** r * be ** s
             * (1 / ((al + Ti) ** (r + xi) * (be + Ti) ** s) + s / a1 * A0))
        out.append(np.log(L))
    return np.array(out)


def paretonbd_ll_quad(p, x, tx, T):
    """Same likelihood from the integral form (numerical quadrature), for any range."""
    r, al, s, be = p
    out = []
    for xi, ti, Ti in zip(np.asarray(x, float), np.asarray(tx, float), np.asarray(T, float)):
        lc = gammaln(r + xi) - gammaln(r) + r * np.log(al) + s * np.log(be)
        lE = -(r + xi) * np.log(al + Ti) - s * np.log(be + Ti)
        v0 = min(al, be)
        A, B = r + xi, s + 1
        y0, y1 = np.log(v0 + ti), np.log(v0 + Ti)
        f0 = -A * np.log(al + ti) - B * np.log(be + ti) + y0

        def f(y):
            u = np.exp(y) - v0
            return np.exp(-A * np.log(al + u) - B * np.log(be + u) + y - f0)
        if Ti > ti:
            # break points on a geometric grid from the (sharp) start of the integrand
            brk = y0 + np.geomspace(1e-3, 1e3, 40) / (A + B)
            brk = np.concatenate([[y0], brk[brk < y1], [y1]])
            I = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
                    for lo, hi in zip(brk[:-1], brk[1:]))
            lI = np.log(s * I) + f0
        else:
            lI = -np.inf
        out.append(lc + np.logaddexp(lE, lI))
    return np.array(out)


def bgbb_ll(p, x, tx, n):
    al, be, ga, de = p
    out = []
    for xi, ti, ni in zip(np.asarray(x, float), np.asarray(tx, float), np.asarray(n, float)):
        terms = [betaln(al + xi, be + ni - xi) - betaln(al, be) + betaln(ga, de + ni)
                 - betaln(ga, de)]
        for i in range(int(ni - ti)):
            terms.append(betaln(al + xi, be + ti - xi + i) - betaln(al, be)
                         + betaln(ga + 1, de + ti + i) - betaln(ga, de))
        out.append(np.logaddexp.reduce(terms))
    return np.array(out)


def gg_ll(p, x, m):
    pp, q, g = p
    x, m = np.asarray(x, float), np.asarray(m, float)
    return (gammaln(pp * x + q) - gammaln(pp * x) - gammaln(q) + q * np.log(g)
            + pp * x * np.log(x) + (pp * x - 1) * np.log(m) - (pp * x + q) * np.log(g + x * m))


def sbg_ll(p, t, T):
    a, b = p
    t, T = np.asarray(t, float), np.asarray(T, float)
    return np.where(t < T, betaln(a + 1, b + t - 1) - betaln(a, b),
                    betaln(a, b + T - 1) - betaln(a, b))


# ---- predictions -------------------------------------------------------------------

def bgnbd_cond_expected(p, t, x, tx, T):
    r, al, a, b = p
    num = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x)
                                       * hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t)))
    den = 1 + (x > 0) * a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x)
    return num / den


def mbgnbd_cond_expected(p, t, x, tx, T):
    r, al, a, b = p
    num = (a + b + x) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x)
                                   * hyp2f1(r + x, b + x + 1, a + b + x, t / (al + T + t)))
    den = 1 + a / (b + x) * ((al + T) / (al + tx)) ** (r + x)
    return num / den


def bg_palive(p, x, tx, T, modified=False):
    r, al, a, b = p
    if modified:
        return 1 / (1 + a / (b + x) * ((al + T) / (al + tx)) ** (r + x))
    return 1 / (1 + (x > 0) * a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x))


def bg_expected_quad(p, t, modified=False):
    """E[X(t)] by integrating E[X(t) | p] = (1/p)(1 - (al/(al + p t))^r) (times (1-p) for
    MBG) over p ~ Beta(a, b)."""
    r, al, a, b = p

    def f(q):
        v = (1 - (al / (al + q * t)) ** r) / q
        if modified:
            v *= 1 - q
        return v * np.exp((a - 1) * np.log(q) + (b - 1) * np.log1p(-q) - betaln(a, b))
    return integrate.quad(f, 0, 1, limit=400, epsrel=1e-11)[0]


def pnbd_cond_expected(p, t, x, tx, T):
    r, al, s, be = p
    pa = pnbd_palive(p, x, tx, T)
    return pa * (r + x) * (be + T) / ((al + T) * (s - 1)) * (1 - ((be + T) / (be + T + t)) ** (s - 1))


def pnbd_palive(p, x, tx, T):
    r, al, s, be = p
    ll = paretonbd_ll_quad(p, [x], [tx], [T])[0]
    lE = (gammaln(r + x) - gammaln(r) + r * np.log(al) + s * np.log(be)
          - (r + x) * np.log(al + T) - s * np.log(be + T))
    return np.exp(lE - ll)


def pnbd_dert(p, d, x, tx, T):
    r, al, s, be = p
    pa = pnbd_palive(p, x, tx, T)
    I = integrate.quad(lambda t: np.exp(-d * t) * ((be + T) / (be + T + t)) ** s, 0, np.inf,
                       limit=400, epsrel=1e-11)[0]
    return pa * (r + x) / (al + T) * I


def bgbb_cond_expected(p, nstar, x, tx, n):
    al, be, ga, de = p
    L = np.exp(bgbb_ll(p, [x], [tx], [n])[0])
    from scipy.special import gamma as G
    return (1 / L * np.exp(betaln(al + x + 1, be + n - x) - betaln(al, be)) * de / (ga - 1)
            * G(ga + de) / G(1 + de) * (G(1 + de + n) / G(ga + de + n)
                                        - G(1 + de + n + nstar) / G(ga + de + n + nstar)))


def bgbb_palive(p, x, tx, n):
    al, be, ga, de = p
    L = np.exp(bgbb_ll(p, [x], [tx], [n])[0])
    return np.exp(betaln(al + x, be + n - x) - betaln(al, be) + betaln(ga, de + n + 1)
                  - betaln(ga, de)) / L


def bgbb_dert(p, d, x, tx, n):
    al, be, ga, de = p
    L = np.exp(bgbb_ll(p, [x], [tx], [n])[0])
    return (np.exp(betaln(al + x + 1, be + n - x) - betaln(al, be) + betaln(ga, de + n + 1)
                   - betaln(ga, de)) / (1 + d)
            * hyp2f1(1, de + n + 1, ga + de + n + 1, 1 / (1 + d)) / L)


def sbg_derl(p, d, n_renewals):
    a, b = p
    n = n_renewals + 1
    return (b + n - 1) / (a + b + n - 1) * hyp2f1(1, b + n, a + b + n, 1 / (1 + d))
