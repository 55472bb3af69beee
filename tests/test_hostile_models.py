"""Hostile input to the CLV models, simulators and date arguments (issue 11).

Each case is a snippet that runs in its own fresh interpreter with a timeout, so a
segfault or a hang fails that case only.  A case asserts a correct result (checked
against an independent computation) or a ValueError / TypeError naming the argument.
"""
from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import textwrap

import pytest

CASE_TIMEOUT = 60   # generous: sanitizer builds are slow; every case takes ~1 s normally

PRELUDE = textwrap.dedent('''
    import math, re, warnings
    import numpy as np, pandas as pd, siyu
    from siyu import _core
    warnings.simplefilter("ignore")

    def fitted(cls, values):
        m = cls()
        m.params_ = pd.Series(values, index=list(m._param_names), dtype=float)
        return m

    BG = fitted(siyu.BetaGeo, [0.25, 4.4, 0.8, 2.4])
    MBG = fitted(siyu.ModifiedBetaGeo, [0.25, 4.4, 0.8, 2.4])
    PN = fitted(siyu.ParetoNBD, [0.55, 10.6, 0.6, 11.7])
    BB = fitted(siyu.BetaGeoBetaBinom, [1.2035, 0.7497, 0.6567, 2.7834])
    GG = fitted(siyu.GammaGamma, [6.25, 3.74, 15.44])
    SBG = fitted(siyu.ShiftedBetaGeometric, [0.7, 1.3])

    def clear(fn, name, exc=(ValueError, TypeError)):
        """fn() raises ValueError/TypeError whose message names `name`, no NumPy reprs."""
        try:
            fn()
        except exc as e:
            msg = str(e)
            assert name in msg, (name, msg)
            assert "np.int64(" not in msg and "np.float64(" not in msg, msg
            return msg
        raise AssertionError(f"no ValueError/TypeError naming {name}")
''')

CASES: dict[str, str] = {}


def case(name: str, code: str) -> None:
    assert name not in CASES, name
    CASES[name] = textwrap.dedent(code)


# ------------------------------------------------------------------ the C glue
case("model_predict_checks_columns_against_the_prediction", '''
    # (model, what) -> columns it reads; every other tuple length is an error, not a read
    table = {(0, 0): 1, (0, 1): 4, (0, 2): 3, (0, 3): 2, (0, 9): 5, (0, 10): 4,
             (2, 4): 4, (3, 0): 1, (3, 2): 3, (4, 5): 2, (5, 6): 1, (5, 7): 1, (5, 8): 2}
    npar = {0: 4, 2: 4, 3: 4, 4: 3, 5: 2}
    for (model, what), need in table.items():
        for nc in range(1, 6):
            cols = tuple(np.ones(3) for _ in range(nc))
            for fn in (_core.model_predict, _core.trust_predict):
                if nc == need and (fn is _core.trust_predict or nc <= 4):
                    assert fn(model, what, np.ones(npar[model]), cols).shape == (3,)
                else:
                    clear(lambda: fn(model, what, np.ones(npar[model]), cols), "column")
    clear(lambda: _core.model_predict(4, 5, np.ones(3), (np.ones(2),)), "column")   # was SIGSEGV
    clear(lambda: _core.trust_predict_draws(4, 5, np.ones((2, 3)), (np.ones(2),)), "column")
    clear(lambda: _core.model_predict(4, 0, np.ones(3), (np.ones(2),)), "prediction code")
    clear(lambda: _core.model_predict(5, 3, np.ones(2), (np.ones(2), np.ones(2))), "prediction code")
    clear(lambda: _core.model_predict(4, 5, np.ones(2), (np.ones(2), np.ones(2))), "params")
    clear(lambda: _core.model_predict(4, 5, [1, 1, np.nan], (np.ones(2), np.ones(2))), "params")
    clear(lambda: _core.model_predict(4, 5, [1, 1, -1], (np.ones(2), np.ones(2))), "params")
    clear(lambda: _core.model_predict(4, 5, np.ones(3), (np.ones(2), np.ones(3))), "prediction input")
    clear(lambda: _core.model_predict(99, 0, np.ones(3), (np.ones(2),)), "model code")
    # a 3-column model fitted from 2 columns would read a NULL column
    clear(lambda: _core.model_fit(0, np.ones(3), np.ones(3), None, None, np.zeros(4), 0.0,
                                  10, 1e-6), "three data columns")
''')

# ------------------------------------------------------------------ PMFs
case("pmf_counts_are_bounded_whole_numbers", '''
    calls = [lambda n: BG.purchase_pmf(n, 10.0), lambda n: MBG.purchase_pmf(n, 10.0),
             lambda n: PN.purchase_pmf(n, 10.0),
             lambda n: BG.conditional_purchase_pmf(n, 10.0, 2, 30.0, 40.0),
             lambda n: PN.conditional_purchase_pmf(n, 10.0, 2, 30.0, 40.0)]
    for fn in calls:
        for bad in (10**11, 1e300, 1e19, -1, 2.5, np.nan, np.inf, [1, 1e12]):
            clear(lambda: fn(bad), "n")
    for bad in (-1, 2.5, np.nan, 1e300):
        clear(lambda: BB.purchase_pmf(bad, 6), "x")
    for bad in (1e12, 1e19, -1, 2.5, np.nan):
        clear(lambda: BB.purchase_pmf(1, bad), "n")
''')

case("bg_mbg_pmf_match_the_closed_form", '''
    # FHL 2005 eq. 8 (and its MBG analogue), the NBD tail by an explicit finite sum
    def oracle(p, k, t, mb):
        r, al, a, b = p
        lb = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
        lbeta = lambda x, y: math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)
        nb = lambda j: math.exp(math.lgamma(r + j) - math.lgamma(r) - math.lgamma(j + 1)
                                + r * math.log(al / (al + t)) + j * math.log(t / (al + t)))
        v = math.exp(lbeta(a, b + k + mb) - lb) * nb(k)
        if k > 0 or mb:
            tail = 1.0 - sum(nb(j) for j in range(k)) if k > 0 else 1.0
            v += math.exp(lbeta(a + 1, b + k - 1 + mb) - lb) * tail
        return v
    p = [0.25, 4.4, 0.8, 2.4]
    for m, mb in ((BG, 0), (MBG, 1)):
        for t in (0.5, 10.0, 52.0):
            k = np.arange(0, 25)
            got = m.purchase_pmf(k, t)
            want = np.array([oracle(p, int(j), t, mb) for j in k])
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)
        # the whole distribution sums to 1 and its mean is E[X(t)]
        k = np.arange(0, 4000)
        pm = m.purchase_pmf(k, 52.0)
        assert abs(pm.sum() - 1) < 1e-9, pm.sum()
        assert abs((k * pm).sum() - m.expected_purchases(52.0)) < 1e-7
        # far tail: tiny and non-increasing, never a cancellation artefact (was 2.7e-22)
        far = m.purchase_pmf([3000, 5000, 10**6, 10**9], 10.0)
        assert np.all(far >= 0) and np.all(np.diff(far) <= 0) and far[1] < 1e-300, far
''')

case("pareto_pmf_sums_to_one_with_the_right_mean", '''
    for t in (1.0, 30.0, 200.0):
        k = np.arange(0, 3000)
        pm = PN.purchase_pmf(k, t)
        assert np.all(pm >= 0)
        assert abs(pm.sum() - 1) < 1e-8, (t, pm.sum())
        assert abs((k * pm).sum() - PN.expected_purchases(t)) < 1e-6 * max(1, PN.expected_purchases(t))
    assert PN.purchase_pmf(0, 0.0) == 1.0 and PN.purchase_pmf(3, 0.0) == 0.0
''')

# ------------------------------------------------------------------ BG/BB
case("bgbb_counts_are_checked", '''
    for n in (1e12, 1e19, 10**7 + 1):
        clear(lambda: BB.expected_purchases(n), "n")
        clear(lambda: BB.conditional_expected_purchases(n, 2, 3, 6), "n_star")
    clear(lambda: BB.fit([1, 2], [1, 3], [1e12, 1e12]), "n_periods")
    for x, tx in ((-5, 0), (2.5, 3), (np.nan, 3), (3, 2.5), (7, 7)):
        clear(lambda: BB.conditional_expected_purchases(5, x, tx, 6), "re" if x == 3 else
              ("frequency" if x != 7 else "n_periods"))
        clear(lambda: BB.probability_alive(x, tx, 6), "re" if x == 3 else
              ("frequency" if x != 7 else "n_periods"))
    clear(lambda: BB.dert(0.0, 2, 3, 6), "discount_rate")
    clear(lambda: BB.dert(np.nan, 2, 3, 6), "discount_rate")
    # the largest accepted values still answer quickly and correctly: E[X(n)] is increasing
    e = BB.expected_purchases([10, 1000, 10**7])
    assert np.all(np.diff(e) > 0) and np.all(np.isfinite(e))
''')

# ------------------------------------------------------------------ Gamma-Gamma, sBG
case("spend_and_weights_are_checked", '''
    clear(lambda: GG.conditional_expected_average_value(2, -5.0), "monetary_value")
    clear(lambda: GG.conditional_expected_average_value(-1, 5.0), "frequency")
    clear(lambda: GG.conditional_expected_average_value(2.5, 5.0), "frequency")
    x, m = [1, 2, 3, 4, 5], [10.0, 20, 30, 15, 25]
    for w in ([1, -1, 1, 1, 1], [1, np.nan, 1, 1, 1], [1, np.inf, 1, 1, 1], [1, 1],
              [0, 0, 0, 0, 0], ["a", 1, 1, 1, 1]):
        clear(lambda: siyu.GammaGamma().fit(x, m, weights=w), "weights")
        clear(lambda: siyu.ShiftedBetaGeometric().fit([1, 2, 3, 5, 5], [5] * 5, weights=w),
              "weights")
        clear(lambda: siyu.BetaGeo().fit([0, 1, 2, 3, 1], [0, 5, 9, 20, 3], [30] * 5,
                                         weights=w), "weights")
    # weights that are counts of identical rows give the same fit as the repeated rows
    a = siyu.GammaGamma().fit(x, m, weights=[2, 1, 1, 3, 1]).params_.to_numpy()
    b = siyu.GammaGamma().fit([1, 1, 2, 3, 4, 4, 4, 5],
                              [10.0, 10, 20, 30, 15, 15, 15, 25]).params_.to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5)
    # the value formula itself: p(gamma + x m)/(p x + q - 1)
    p, q, g = 6.25, 3.74, 15.44
    assert abs(GG.conditional_expected_average_value(2, 30.0) - p * (g + 60) / (2 * p + q - 1)) < 1e-12
''')

case("sbg_survival_is_right_for_huge_t", '''
    a, b = 0.7, 1.3
    t = np.array([1e4, 1e6, 1e8, 1e15, 1e16, 1e100, 1e300])
    s = SBG.survival(t)
    # S(t) = B(a, b+t)/B(a, b) ~ Gamma(a+b)/Gamma(b) (b + t + (a-1)/2)^-a for large t
    want = math.exp(math.lgamma(a + b) - math.lgamma(b)) * (b + t + (a - 1) / 2) ** -a
    np.testing.assert_allclose(s, want, rtol=1e-6)
    assert np.all(np.diff(s) < 0), s                    # was 0.807 at 1e16 after 5.6e-13
    small = np.arange(0, 30)
    exact = np.cumprod(np.r_[1.0, (b + small[1:] - 1) / (a + b + small[1:] - 1)])
    np.testing.assert_allclose(SBG.survival(small), exact, rtol=1e-12)
    for bad in (-1, np.nan, np.inf):
        clear(lambda: SBG.survival(bad), "t")
    for bad in (0.0, -0.1, 1e-9, np.nan, np.inf, "x"):
        clear(lambda: SBG.discounted_expected_residual_lifetime(bad, 2), "discount_rate")
    assert np.isfinite(SBG.discounted_expected_residual_lifetime(1e-6, 2))
''')

case("pareto_dert_ends_for_extreme_rates", '''
    slow = fitted(siyu.ParetoNBD, [0.55, 10.6, 0.6, 0.1])
    for bad in (5e-324, 1e-300, 0.0, -1.0, np.nan, np.inf, "0.1", None):
        clear(lambda: slow.dert(bad, 0, 0.0, 0.1), "discount_rate")     # 5e-324 hung
    v = slow.dert(1e-12, 0, 0.0, 0.1)
    assert np.isfinite(v) and v > 0
    # DERT at a tiny rate approaches E[residual transactions] (bounded when s > 1)
    m = fitted(siyu.ParetoNBD, [0.55, 10.6, 3.0, 11.7])
    lim = m.conditional_expected_purchases(1e9, 2, 30.0, 40.0)
    assert abs(m.dert(1e-9, 2, 30.0, 40.0) - lim) < 1e-3 * lim
''')

# ------------------------------------------------------------------ clv
case("clv_arguments_are_checked_and_steps_batched", '''
    from siyu.datasets.simulate import simulate
    from siyu.models import clv
    s = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 300, T=52, seed=1,
                 unit="W", acquisition=26, output="summary")
    s["monetary_value"] = np.where(s.frequency > 0, 20.0 + (s.index % 7), 0.0)
    s.attrs["unit"] = "W"
    BG.unit = "W"
    for bad in (np.nan, np.inf, "x", 30, -0.1, None):
        clear(lambda: clv(BG, GG, s, horizon=12, unit="M", discount_rate=0.01, margin=bad), "margin")
    for bad in (np.nan, np.inf, -1.0, "x"):
        clear(lambda: clv(BG, GG, s, horizon=12, unit="M", discount_rate=bad), "discount_rate")
    for bad in (np.nan, np.inf, -1, "12", 1e6):
        clear(lambda: clv(BG, GG, s, horizon=bad, unit="D", discount_rate=0.001), "horizon")
    # batched steps == the step-by-step definition
    out = clv(BG, GG, s, horizon=7.5, unit="M", discount_rate=0.01, margin=0.3)
    x, tx, T = s.frequency.to_numpy(float), s.recency.to_numpy(float), s["T"].to_numpy(float)
    f = (365.25 / 12) / 7
    val = GG.conditional_expected_average_value(s.frequency, s.monetary_value).to_numpy()
    prev, disc = np.zeros(len(s)), np.zeros(len(s))
    for st in [1, 2, 3, 4, 5, 6, 7, 7.5]:
        cum = np.asarray(BG.conditional_expected_purchases(st * f, x, tx, T))
        disc += (cum - prev) / 1.01 ** st
        prev = cum
    np.testing.assert_allclose(out.clv.to_numpy(), 0.3 * val * disc, rtol=1e-12)
    np.testing.assert_allclose(out.expected_purchases.to_numpy(), prev, rtol=1e-12)
''')

# ------------------------------------------------------------------ simulators
case("simulators_check_sizes_before_allocating", '''
    from siyu.datasets.simulate import simulate
    from siyu.datasets import simulate_shop
    from siyu.models.bgbb import simulate_bgbb
    P = {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}
    for bad in (2.7, "3", None, True, -1, 10**15, 2**70):
        clear(lambda: simulate(P, bad, T=52), "n_customers")
        clear(lambda: simulate_bgbb(BB, bad, 6), "n_customers")
        clear(lambda: simulate_shop(bad, seed=1), "n_customers")
    assert len(simulate(P, 3, T=52, output="summary")) == 3
    assert len(simulate(P, np.int64(3), T=52, output="summary")) == 3
    # simulated spend that overflows is an error, not inf amounts
    clear(lambda: simulate(P, 20, T=52, spend_params={"p": 1e300, "q": 1e-300, "gamma": 1e300}),
          "spend_params")
    # 200 years took 50 s: the window is bounded, with a suggestion
    clear(lambda: simulate_shop(1, "1900-01-01", "2100-12-31"), "start")
    assert len(simulate_shop(20, "2015-01-01", "2024-12-31", seed=1).customers) == 20
''')

# ------------------------------------------------------------------ dates and time zones
case("numbers_are_not_dates_and_tz_is_checked", '''
    import datetime
    from siyu._input import to_day
    want = 19723                                          # 2024-01-01
    for v in ("2024-01-01", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="Asia/Shanghai"),
              datetime.datetime(2024, 1, 1), datetime.date(2024, 1, 1), np.datetime64("2024-01-01")):
        assert to_day(v, "end") == want, v
    for v in (20240101, 1.7e9, np.int64(20240101), np.float64(1.0), True):
        msg = clear(lambda: to_day(v, "end"), "end='2024-01-01'")
    tx = siyu.Transactions(customer=[1, 2, 1], time=["2024-01-01", "2024-02-01", "2024-03-01"],
                           amount=[1.0, 2.0, 3.0])
    clear(lambda: tx.summary(end=20240401), "end")
    assert len(tx.summary(end="2024-04-01")) == 2
    for bad in ("Not/AZone", "", 5):
        clear(lambda: siyu.Transactions(customer=[1], time=["2024-01-01"], amount=[1.0], tz=bad),
              "tz")
    ok = siyu.Transactions(customer=[1], time=["2024-01-01T23:30:00+00:00"], amount=[1.0],
                           tz="Asia/Shanghai")
    assert str(ok.summary()["first_purchase"].iloc[0])[:10] == "2024-01-02"   # 07:30 in Shanghai
''')


def _run(name: str) -> str | None:
    """None if the case passed, else what went wrong (exception, signal, hang)."""
    try:
        proc = subprocess.run([sys.executable, "-c", PRELUDE + "\n" + CASES[name]],
                              capture_output=True, text=True, timeout=CASE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"hung for more than {CASE_TIMEOUT} s"
    if proc.returncode != 0:
        return f"exit {proc.returncode}:\n{proc.stderr[-3000:]}"
    return None


@pytest.fixture(scope="module")
def outcomes() -> dict[str, str | None]:
    names = sorted(CASES)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(_run, names)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_models_case(name, outcomes):
    assert outcomes[name] is None, f"{name}: {outcomes[name]}"


def test_harness_reports_crashes_and_hangs(monkeypatch):
    monkeypatch.setitem(CASES, "_segv", "import ctypes; ctypes.string_at(0)")
    monkeypatch.setitem(CASES, "_fail", "assert False, 'boom'")
    monkeypatch.setattr(sys.modules[__name__], "CASE_TIMEOUT", 3)
    monkeypatch.setitem(CASES, "_hang", "while True: pass")
    crash = _run("_segv")
    # a plain build dies of SIGSEGV; under the sanitizer CI stage ASan catches it first
    assert "exit -11" in crash or ("AddressSanitizer" in crash and "SEGV" in crash), crash[:200]
    assert "boom" in _run("_fail")
    assert "hung" in _run("_hang")
