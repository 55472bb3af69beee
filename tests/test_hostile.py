"""Hostile input to the analyses (issue 11): cohorts, retention, survival, economics,
segments, metrics, the report and its CLI, and their C entry points.

Every case is a snippet asserting what must happen: a correct result (checked against
an independent computation), or a ValueError / TypeError whose message names the
argument and proposes a fix.  Cases run in batches in fresh interpreters; a signal, a
sanitizer report, a hang (faulthandler stops the case after CASE_TIMEOUT s) or a wrong
exception type fails the case in progress, and the rest of its batch runs again in a new
interpreter, so every failure is attributed to its case.

The Ctrl-C tests at the end run one kernel family each in a subprocess on input sized so
that one call takes a while, send SIGINT, and check the KeyboardInterrupt comes within a
second and that the same call still gives the right answer afterwards.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CASE_TIMEOUT = 60          # seconds one case may take (generous: sanitizer builds are slow)
N_BATCHES = 4

PRELUDE = textwrap.dedent('''
    import itertools, math, os, re, warnings
    import numpy as np, pandas as pd, siyu
    import siyu.report, siyu.survival, siyu.segments, siyu.metrics, siyu.economics
    from siyu import _core, _periods
    warnings.simplefilter("ignore")
    D = lambda *v: np.array(v, "int64").view("datetime64[D]")
    I64 = np.iinfo(np.int64)

    def raises(exc, pattern, fn):
        """fn() raises exc (ValueError/TypeError) with pattern in its message, no NumPy
        reprs; returns the message."""
        try:
            fn()
        except exc as e:
            msg = str(e)
            assert re.search(pattern, msg), msg
            assert "np.int64(" not in msg and "np.float64(" not in msg, msg
            return msg
        raise AssertionError(f"no {exc.__name__} raised (pattern {pattern!r})")

    def clear(fn, name):
        """fn() raises ValueError or TypeError naming `name`."""
        try:
            fn()
        except (ValueError, TypeError) as e:
            assert name in str(e), (name, str(e))
            assert "np.int64(" not in str(e) and "np.float64(" not in str(e), str(e)
            return str(e)
        raise AssertionError(f"no ValueError/TypeError for {name}")

    def _with_budget(nbytes, fn):
        saved = _periods.MAX_TABLE_BYTES
        _periods.MAX_TABLE_BYTES = nbytes
        try:
            return fn()
        finally:
            _periods.MAX_TABLE_BYTES = saved

    rng = np.random.default_rng(7)
    _n = 400
    DF = pd.DataFrame({"c": rng.integers(0, 80, _n),
                       "t": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, _n), "D"),
                       "a": rng.gamma(2.0, 50.0, _n).round(2),
                       "ch": rng.choice(["pub", "priv"], _n), "m": rng.random(_n) < 0.1})
    DF.loc[::37, "a"] *= -0.2
    TX = siyu.Transactions(DF, customer="c", time="t", amount="a", channel="ch", member="m")
    COLS = ["--customer", "customer_id", "--time", "date", "--amount", "amount"]
    EMPTY = siyu.Transactions(customer=np.array([], np.int64), time=np.array([], "datetime64[D]"),
                              amount=np.array([], float))
''')

CASES: dict[str, str] = {}


def case(name: str):
    def deco(code: str) -> str:
        assert name not in CASES, name
        CASES[name] = textwrap.dedent(code)
        return code
    return deco


# ------------------------------------------------------------------ period names, exactly
case("period_names_are_checked_exactly_everywhere")('''
    bad = ["", " ", "DW", "DWM", "WM", "MQ", "QY", "x", "2024-01"]
    calls = {
        "period": [lambda p: TX.cohorts(period=p), lambda p: TX.repurchase(period=p),
                   lambda p: TX.migration(period=p), lambda p: TX.repeat_rate(period=p),
                   lambda p: TX.return_rate(period=p), lambda p: TX.new_customer_repeat_rate(period=p),
                   lambda p: siyu.unit_economics(TX, period=p),
                   lambda p: siyu.report.build_report(TX, period=p)],
        "freq": [lambda p: TX.summary(freq=p), lambda p: TX.calibration_holdout("2023-10-01", freq=p)],
        "unit": [lambda p: TX.summary(unit=p)],
    }
    for what, fns in calls.items():
        valid = "'D', 'W', 'M', 'Q', 'Y'" if what == "period" else "'D', 'W', 'M'"
        for fn in fns:
            for p in bad:
                raises(ValueError, f"unknown {what} {re.escape(repr(p))}; use one of {valid}",
                       lambda: fn(p))
            for p in (1, 2.0, np.array(["M"]), ["M"]) + ((None,) if what == "freq" or (
                    what == "period" and fn is not calls["period"][3]) else ()):
                raises(TypeError, f"{what} must be a string", lambda: fn(p))
    # the names and aliases that exist keep working
    assert TX.cohorts(period=" m ").period == "M"
    assert TX.cohorts(period="month").period == "M"
    assert TX.summary(freq="week").attrs["freq"] == "W"
''')

case("cli_prints_no_bare_key_error")('''
    import subprocess, sys, tempfile
    folder = tempfile.mkdtemp()
    csv = os.path.join(folder, "o.csv")
    DF.rename(columns={"c": "customer_id", "t": "date", "a": "amount"}).to_csv(csv, index=False)
    for bad in ("DW",):
        p = subprocess.run([sys.executable, "-m", "siyu", "report", csv, "--period", bad,
                            "--out", os.path.join(folder, "r.html")] + COLS, capture_output=True, text=True)
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert "unknown period" in p.stderr and "use one of" in p.stderr, p.stderr
        assert "Traceback" not in p.stderr and p.stderr.strip() != f"siyu: error: {bad}", p.stderr
    assert os.listdir(folder) == ["o.csv"]
    # a KeyError escaping is an internal error shown with its type, never a bare key
    from siyu import __main__ as cli
    import io, contextlib
    err = io.StringIO()
    real = cli._report
    cli._report = lambda args: (_ for _ in ()).throw(KeyError("DW"))
    try:
        with contextlib.redirect_stderr(err):
            rc = cli.main(["report", csv, "--out", os.path.join(folder, "r.html")] + COLS)
    finally:
        cli._report = real
    assert rc == 1 and "internal error: KeyError: 'DW'" in err.getvalue(), err.getvalue()
''')

case("out_naming_a_folder_leaves_no_part_file")('''
    import subprocess, sys, tempfile
    folder = tempfile.mkdtemp()
    csv = os.path.join(folder, "o.csv")
    DF.rename(columns={"c": "customer_id", "t": "date", "a": "amount"}).to_csv(csv, index=False)
    target = os.path.join(folder, "out")
    os.mkdir(target)
    p = subprocess.run([sys.executable, "-m", "siyu", "report", csv, "--out", target] + COLS,
                       capture_output=True, text=True)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "it is a folder" in p.stderr and "report.html" in p.stderr, p.stderr
    assert sorted(os.listdir(folder)) == ["o.csv", "out"] and os.listdir(target) == []
    msg = raises(OSError, "it is a folder", lambda: siyu.report.write_report(TX, out=target))
    assert sorted(os.listdir(folder)) == ["o.csv", "out"]
    # the suggested file name works
    fix = re.search(r"out='([^']+)'", msg).group(1)
    assert siyu.report.write_report(TX, out=fix) == os.path.abspath(fix)
    assert os.listdir(target) == ["report.html"]
    # a failing rename removes the .part file too
    real = os.replace
    os.replace = lambda a, b: (_ for _ in ()).throw(OSError("disk full"))
    try:
        raises(OSError, "disk full", lambda: siyu.report.write_report(TX, out=os.path.join(folder, "x.html")))
    finally:
        os.replace = real
    assert sorted(os.listdir(folder)) == ["o.csv", "out"]
''')

# ------------------------------------------------------------------ sizes from the data span
case("cohort_tables_too_big_are_refused_before_allocating")('''
    # 20,000 customers over 70 years by day: 13,860 x 25,550 cells (~26 GiB)
    t = np.array(["1950-01-01"], "datetime64[D]") + rng.integers(0, 70 * 365, 20000)
    tx = siyu.Transactions(customer=np.arange(20000), time=t, amount=np.ones(20000))
    msg = raises(ValueError, r"cohorts\\(period='D'\\) would build a [0-9,]+ x [0-9,]+ table "
                 r"\\([0-9,]+ cells, about [0-9.]+ GiB\\), more than the 2.0 GiB", lambda: tx.cohorts("D"))
    assert re.search(r"a coarser period, period='W' \\([0-9,]+ x [0-9,]+\\)", msg), msg
    # the suggestions work when pasted (with a small budget, to keep the test light)
    _periods.MAX_TABLE_BYTES = 64 << 20
    try:
        msg = raises(ValueError, "would build", lambda: tx.cohorts("D"))
        coarser = re.search(r"a coarser period, period='(\\w)'", msg).group(1)
        ct = tx.cohorts(period=coarser)
        assert int(ct.sizes.sum()) == 20000
        end = re.search(r"end='([0-9-]+)'", msg).group(1)
        ct = tx.cohorts("D", end=end)
        assert ct.end == pd.Timestamp(end) and ct.active.shape[1] > 1
        after = str((pd.Timestamp(end) + pd.Timedelta(days=1)).date())
        raises(ValueError, "would build", lambda: tx.cohorts("D", end=after))
    finally:
        _periods.MAX_TABLE_BYTES = 2 << 30
    # one row a year for 9,998 years: yearly 9,998 x 9,998, monthly far more
    years = np.array([f"{y:04d}-06-01" for y in range(1, 9999)], "datetime64[D]")
    tx = siyu.Transactions(customer=np.arange(years.size), time=years, amount=np.ones(years.size))
    raises(ValueError, r"cohorts\\(period='M'\\) would build .* To fit: an earlier end, end='",
           lambda: tx.cohorts("M"))
    raises(ValueError, r"cohorts\\(period='Y'\\) would build a 9,998 x 9,998 table",
           lambda: tx.cohorts("Y"))
    # two rows ten thousand years apart are a small table, computed
    tx2 = siyu.Transactions(customer=[1, 2], time=np.array(["0001-01-01", "9999-12-31"], "datetime64[D]"),
                            amount=[1.0, 2.0])
    ct = tx2.cohorts("Y")
    assert ct.sizes.tolist() == [1, 1] and ct.active.shape == (2, 9999)
    assert ct.revenue.iloc[1, 0] == 2.0 and np.isnan(ct.revenue.iloc[1, 1])
    # the limit is a setting
    _periods.MAX_TABLE_BYTES = 1 << 40
    try:
        assert tx.cohorts("Y", end="1200-12-31").sizes.sum() == 1200
    finally:
        _periods.MAX_TABLE_BYTES = 2 << 30
''')

case("small_budget_exercises_every_size_check")('''
    _periods.MAX_TABLE_BYTES = 30_000
    try:
        for fn, pat in [(lambda: TX.cohorts("D"), r"cohorts\\(period='D'\\) would build"),
                        (lambda: TX.migration(period="D"), r"migration\\(period='D'\\) would build"),
                        (lambda: TX.repeat_rate(period="D"), r"repeat_rate\\(period='D'\\) would build"),
                        (lambda: TX.return_rate(period="D"), r"return_rate\\(period='D'\\) would build"),
                        (lambda: TX.new_customer_repeat_rate(period="D"),
                         r"new_customer_repeat_rate\\(period='D'\\) would build")]:
            msg = raises(ValueError, pat + r" .*MAX_TABLE_BYTES = \\d+ << 30", fn)
        # monthly fits, and equals the result without a budget
        small = TX.cohorts("M").active
    finally:
        _periods.MAX_TABLE_BYTES = 2 << 30
    pd.testing.assert_frame_equal(small, TX.cohorts("M").active)
''')

case("migration_snapshots_are_bounded")('''
    msg = raises(ValueError, r"migration\\(period='M'\\) from 2023-01-0\\d to 9999-12-31 would take "
                 r"[0-9,]+ snapshots .* at most 20,000 .* period='Y' or an earlier end, e.g. end='",
                 lambda: TX.migration(end="9999-12-31"))
    end = re.search(r"end='([0-9-]+)'", msg).group(1)
    mg = TX.migration(end=end)
    assert len(mg.period_ends) == 20000
    mg = TX.migration(period="Y", end="9999-12-31")
    assert len(mg.period_ends) == 9999 - 2023 + 1
    # the entries follow the stages (vectorised count = the definition)
    mg = TX.migration(period="W")
    codes = np.stack([mg.stages[c].cat.codes.to_numpy() for c in mg.stages.columns])
    want = np.zeros((codes.shape[0], 3), np.int64)
    for j in range(codes.shape[0]):
        new = (codes[j] >= 0) & ((codes[j - 1] < 0) if j else True)
        want[j] = np.bincount(codes[j][new], minlength=3)
    np.testing.assert_array_equal(mg.entries.to_numpy(), want)
    assert int(mg.entries.to_numpy().sum()) == mg.stages.shape[0]
    raises(ValueError, "the log is empty", lambda: EMPTY.migration(end="2024-01-01"))
    raises(ValueError, "the log is empty", lambda: EMPTY.migration())
    clear(lambda: TX.migration(segmentation=np.array(["lifecycle"])), "segmentation")
    clear(lambda: TX.migration(segmentation=None), "segmentation")
''')

case("metric_windows_far_apart")('''
    r = TX.return_rate(start="0001-01-01")
    assert len(r) == (2024 - 1) * 12 + 5 and r["buyers"].iloc[0] == 0
    assert r["buyers"].sum() == TX.return_rate()["buyers"].sum()
    rr = TX.repeat_rate(start="0001-01-01", end="9999-12-31")
    buyers = DF.loc[DF["a"] >= 0, "c"].nunique()
    assert rr["buyers"].iloc[0] == buyers and rr["partial"].iloc[0]
    msg = raises(ValueError, r"return_rate\\(period='D'\\) would build a 1 x [0-9,]+ table .* "
                 r"a longer period, period='W'", lambda: _with_budget(
                     64 << 20, lambda: TX.return_rate(period="D", start="0001-01-01")))
''')

# ------------------------------------------------------------------ compare_channels ages
case("compare_channels_retention_ages")('''
    base = siyu.compare_channels(TX, retention_ages=(1, 3))
    for bad, exc, pat in [((-1,), ValueError, r"retention_ages must be >= 0 months \\(from 0 to 120,000\\); got -1"),
                          ((1.5,), TypeError, r"retention_ages must be whole numbers of months .*got 1.5"),
                          ((10**20,), ValueError, r"retention_ages must be <= 120,000 months .*100,000,000,000,000,000,000"),
                          ((True,), TypeError, "retention_ages"), ("13", TypeError, "retention_ages"),
                          (b"x", TypeError, "retention_ages"), ({1: 2}, TypeError, "retention_ages"),
                          (None, TypeError, "retention_ages"), ((), ValueError, "retention_ages is empty"),
                          ((float("nan"),), TypeError, "retention_ages"),
                          (itertools.count(), ValueError, "retention_ages has more than"),
                          (range(0, 10**12), ValueError, "retention_ages must be <= 120,000")]:
        raises(exc, pat, lambda: siyu.compare_channels(TX, retention_ages=bad))
    # a scalar, a generator, an array, NumPy ints and floats that are whole: same columns
    for ok in [(1, 3), [1, 3], np.array([1, 3]), (np.int32(1), np.uint8(3)), (1.0, 3.0),
               (a for a in (1, 3)), (1, 3, 1)]:
        got = siyu.compare_channels(TX, retention_ages=ok)
        pd.testing.assert_frame_equal(got, base)
    one = siyu.compare_channels(TX, retention_ages=3)
    np.testing.assert_array_equal(one["retention_m3"], base["retention_m3"])
    # an age never observed is NaN, never the last age under another label
    far = siyu.compare_channels(TX, retention_ages=(0, 100))
    assert far["retention_m100"].isna().all() and (far["retention_m0"] == 1.0).all()
    raises(ValueError, r"horizon must be a whole number of periods from 1 to 3,652,059",
           lambda: siyu.compare_channels(TX, horizon=10**19))
    clear(lambda: siyu.compare_channels(TX, reference=[]), "reference")
''')

# ------------------------------------------------------------------ segments
case("lifecycle_bounds_extremes")('''
    want = TX.lifecycle(bounds=(1, 10**6))
    for b in [(1, 10**19), (1, 2**63), (1, 2**64 + 5), (1, 10**100), (1, np.uint64(2**64 - 1)),
              (1.0, 1e300)]:
        got = TX.lifecycle(bounds=b)
        pd.testing.assert_series_equal(got["stage"], want["stage"])
        pd.testing.assert_series_equal(got["days_since_last"], want["days_since_last"])
    # nobody is lapsing with a huge second bound, and the first still splits
    assert (want["stage"] != "lapsing").all()
    assert set(want["stage"]) == {"recent", "stable"}
    m = TX.migration(bounds=(1, 10**19))
    pd.testing.assert_frame_equal(m.matrix, TX.migration(bounds=(1, 10**6)).matrix)
    for bad, exc in [((10**19, 1), ValueError), ((0, 5), ValueError), ((5, 5), ValueError),
                     ((1,), ValueError), ((1, 2, 3), ValueError), (range(10**12), ValueError),
                     (itertools.count(1), ValueError), ((1, float("nan")), TypeError),
                     ((1, float("inf")), TypeError), ((True, 5), TypeError), (5, TypeError),
                     ("ab", TypeError), (None, TypeError), ((1.5, 10), TypeError)]:
        raises(exc, "bounds", lambda: TX.lifecycle(bounds=bad))
''')

case("value_tiers_roster_of_anything")('''
    msg = raises(TypeError, r"roster must hold customer ids .* list values such as \\[1, 2\\] "
                 r"\\(a list of lists: pass the flat list, e.g. roster=\\[1, 2\\]\\)",
                 lambda: TX.value_tiers(roster=[[1, 2]]))
    fix = eval(re.search(r"roster=(\\[.*?\\])\\)", msg).group(1))
    vt = TX.value_tiers(roster=fix)
    assert set(fix) <= set(vt.index)
    for bad in ([{1: 2}], [[1], [2]], [set()]):
        raises(TypeError, "roster must hold customer ids", lambda: TX.value_tiers(roster=bad))
    for bad in ("abc", b"x", 5, None.__class__):
        clear(lambda: TX.value_tiers(roster=bad), "roster")
    raises(ValueError, "missing id", lambda: TX.value_tiers(roster=[1, None, np.nan]))
    # ranges, tuples, arrays, generators and Series of ids are fine and agree
    ids = [1, 2, 3, 999]
    want = TX.value_tiers(roster=ids)
    for ok in (tuple(ids), np.array(ids), pd.Series(ids), (i for i in ids), pd.Index(ids)):
        pd.testing.assert_frame_equal(TX.value_tiers(roster=ok), want)
    r = TX.value_tiers(roster=range(0, 100))
    assert r.attrs["n_roster"] == 100 and r.loc[99, "tier"] == "potential"
    e = EMPTY.value_tiers(as_of="2024-01-01", roster=[1, 2])
    assert e["tier"].tolist() == ["potential", "potential"]
''')

case("markov_clv_horizons_and_rates")('''
    a, b = 0.1, 0.2
    P = np.array([[1 - a, a], [b, 1 - b]])
    v = np.array([10.0, 1.0])
    pi = np.array([b, a]) / (a + b)
    Pi = np.outer(np.ones(2), pi)
    lam = 1 - a - b

    def closed(d, H):
        """sum_{t<H} (P/(1+d))^t v, with P^t = Pi + lam^t (I - Pi)."""
        q = 1.0 / (1.0 + d)
        if H is None:
            s1 = (1 + d) / d
        elif q == 1.0:
            s1 = float(H)
        else:                 # (1 - q^H) / (1 - q) without cancellation
            s1 = -math.expm1(-H * math.log1p(d)) * (1 + d) / d
        ql = q * lam
        s2 = (1 - ql ** H) / (1 - ql) if H is not None else 1 / (1 - ql)
        return s1 * (Pi @ v) + s2 * ((np.eye(2) - Pi) @ v)

    for d, H in [(0.0, 10**10), (0.0, 1), (0.0, 2), (0.0, 3), (0.01, 12), (0.01, 10**6),
                 (1e-300, 10**6), (0.5, 10**15), (0.01, None), (1e-6, None), (0.0, 65),
                 (1e-12, 1000), (2.0, 7)]:
        got = siyu.markov_clv(P, v, d, H).to_numpy()
        np.testing.assert_allclose(got, closed(d, H), rtol=1e-6)
    msg = raises(ValueError, r"discount_rate=1e-300 is too close to 0 for an infinite horizon.*"
                 r"discount_rate=0.01 .* horizon=120", lambda: siyu.markov_clv(P, v, 1e-300, None))
    for d in (1e-15, 5e-324, 0.0):
        raises(ValueError, "discount_rate", lambda: siyu.markov_clv(P, v, d, None))
    # the fix in the message works
    np.testing.assert_allclose(siyu.markov_clv(P, v, 1e-300, 120).to_numpy(), closed(0.0, 120),
                               rtol=1e-9)
    raises(ValueError, r"horizon=10,000,000,000,000,000 periods is beyond any use",
           lambda: siyu.markov_clv(P, v, 0.0, 10**16))
    raises(ValueError, "horizon", lambda: siyu.markov_clv(P, v, 0.0, 2**70))
    raises(ValueError, "overflows", lambda: siyu.markov_clv(P, np.array([1e308, 1e308]), 0.0, 10**6))
    for bad in (1.5, "12", True, np.float64(3.0)):
        raises(TypeError, "horizon", lambda: siyu.markov_clv(P, v, 0.0, bad))
    for bad in (float("nan"), float("inf"), -0.1):
        raises(ValueError, "discount_rate", lambda: siyu.markov_clv(P, v, bad, 12))
    assert siyu.markov_clv(P, v, 0.0, np.int64(3)).tolist() == siyu.markov_clv(P, v, 0.0, 3).tolist()
    # an absorbing chain (I - P singular) with d = 0 and a long finite horizon
    A = np.array([[0.5, 0.5], [0.0, 1.0]])
    got = siyu.markov_clv(A, np.array([1.0, 0.0]), 0.0, 10**9).to_numpy()
    np.testing.assert_allclose(got, [2.0, 0.0], rtol=1e-9)
''')

case("rfm_and_stage_summary_arguments")('''
    for bad in ([], np.array(["min"]), {1: 2}, None, 1):
        clear(lambda: TX.rfm(ties=bad), "ties")
    for bad in (np.array(["8"]), None, "9", 9):
        clear(lambda: TX.rfm(scheme=bad), "scheme")
    for bad in (0, -1, 1.5, True, 10**19, "5", np.nan):
        clear(lambda: TX.rfm(bins=bad), "bins")
    lc = TX.lifecycle()
    for bad in ([], {1: 2}, np.array(["x"]), "nope"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                siyu.stage_summary(lc, by=bad)
            except (ValueError, TypeError, KeyError) as e:
                assert not isinstance(e, KeyError), e
                assert "by" in str(e), str(e)
            else:
                raise AssertionError(bad)
''')

case("lang_arguments_of_every_kind")('''
    calls = [lambda l: TX.cohorts().partial_note(l), lambda l: TX.lifecycle(lang=l),
             lambda l: TX.value_tiers(lang=l), lambda l: TX.rfm(lang=l),
             lambda l: TX.migration(lang=l), lambda l: TX.repeat_rate(lang=l),
             lambda l: TX.return_rate(lang=l), lambda l: TX.new_customer_repeat_rate(lang=l),
             lambda l: TX.rfm_matrix(lang=l), lambda l: TX.cohorts().to_html(lang=l),
             lambda l: siyu.report.build_report(TX, lang=l)]
    for fn in calls:
        for bad in (np.array(["en"]), ["en"], None, "EN", "cn", 1):
            raises(ValueError, r"lang must be 'en' \\(English labels\\) or 'zh'|unknown lang .*; "
                   r"use 'en' or 'zh'", lambda: fn(bad))
''')

# ------------------------------------------------------------------ retention, repurchase
case("retention_days_and_repurchase_within")('''
    base = TX.retention(days=[0, 7, 30]).table
    for ok in ([0, 7, 30], (30, 7, 0, 7), np.array([0, 7, 30]), (d for d in (0, 7, 30)),
               [np.int8(0), np.uint64(7), 30.0]):
        pd.testing.assert_frame_equal(TX.retention(days=ok).table, base)
    assert TX.retention(days=7).table.index.tolist() == [7]
    assert (TX.retention(days=range(0, 36526)).table.index == np.arange(36526)).all()
    for bad, exc, pat in [(10**19, ValueError, r"days must be <= 36,525 days \\(from 0 to 36,525\\); got 10,000,000,000,000,000,000"),
                          (range(0, 10**12), ValueError, r"days must be <= 36,525 days .*got 999,999,999,999"),
                          (range(-5, 5), ValueError, "got -5"), (itertools.count(), ValueError, "days has more than"),
                          ([1.5], TypeError, "whole numbers of days .*got 1.5"), (True, TypeError, "days"),
                          ("7", TypeError, "days"), (b"x", TypeError, "days"), ({1: 2}, TypeError, "days"),
                          ([float("inf")], TypeError, "days"), ([], ValueError, "days is empty"),
                          (None, TypeError, "days"), ([np.datetime64("2024-01-01")], TypeError, "days")]:
        raises(exc, pat, lambda: TX.retention(days=bad))
    rb = TX.retention(kind="bracket", brackets=[(0, 36525)])
    assert rb.table["eligible"].iloc[0] == 0
    pw = TX.repurchase(within=(30, 90)).overall
    for ok in ((90, 30), np.array([30, 90]), [30.0, 90], (w for w in (30, 90, 30))):
        pd.testing.assert_frame_equal(TX.repurchase(within=ok).overall, pw)
    for bad in (10**19, 0, -1, range(1, 10**12), [2.5], True, "30", itertools.count(1), []):
        clear(lambda: TX.repurchase(within=bad), "within")
''')

case("repurchase_counts_match_the_definition")('''
    within = (1, 7, 30, 90, 400, 36525)
    rp = TX.repurchase(within=within, period="M")
    end = TX.end
    days = DF.assign(d=DF["t"].dt.normalize())
    buys = days[days["a"] >= 0].groupby("c")["d"].apply(lambda s: sorted(set(s)))
    first = buys.map(lambda s: s[0])
    second = buys.map(lambda s: s[1] if len(s) > 1 else pd.NaT)
    for k in within:
        elig = (end - first).dt.days >= k
        rep = elig & ((second - first).dt.days <= k)
        row = rp.overall.loc[k]
        assert row["eligible"] == elig.sum() and row["repurchased"] == rep.sum(), (k, row)
''')

case("kaplan_meier_inputs")('''
    km = siyu.survival.kaplan_meier
    ok = km(np.array([1, 2, 2, 5]), np.array([1, 0, 1, 1]))
    for dur in ([1, 2, 2, 5], np.array([1.0, 2.0, 2.0, 5.0]), np.array([1, 2, 2, 5], np.uint8),
                pd.Series([1, 2, 2, 5])):
        pd.testing.assert_frame_equal(km(dur, [True, False, True, True]), ok)
    for bad, pat in [([1, -1], "duration must hold durations: whole numbers of days in 0..3,652,058; got -1 at position 1"),
                     ([1, 1e19], "duration"), ([1, np.nan], "duration"), ([1, np.inf], "duration"),
                     ([1.5, 2], "got 1.5"), (["1", "2"], "duration"), (None, "duration"),
                     (np.zeros((2, 2)), "1-dimensional"), ("12", "duration")]:
        msg = clear(lambda: km(bad, [1, 0]), "duration" if pat != "1-dimensional" else pat)
        assert pat in msg, (pat, msg)
    for bad in ([2, 0], [-1, 0], [0.5, 1], [np.nan, 1]):
        clear(lambda: km([1, 2], bad), "event")
    raises(ValueError, "event has 1 entries but duration has 2", lambda: km([1, 2], [1]))
    for a in (True, 1.5, 0, 1, float("nan"), "x", None, np.array([0.1])):
        clear(lambda: km([1, 2], [1, 0], alpha=a), "alpha")
        clear(lambda: TX.survival(alpha=a), "alpha")
    sc = TX.survival(churn_after=1e300)
    assert sc.table["events"].sum() == 0 and sc.median_ == float("inf")
    for bad in (0, -1, float("nan"), float("inf"), True, "180", None):
        clear(lambda: TX.survival(churn_after=bad), "churn_after")
''')

case("unit_economics_and_cohort_table_arguments")('''
    for bad, exc in [(10**19, ValueError), (0, ValueError), (-3, ValueError), (1.5, TypeError),
                     (True, TypeError), ("12", TypeError), (None, TypeError), (np.float64(12), TypeError)]:
        raises(exc, "horizon", lambda: siyu.unit_economics(TX, horizon=bad))
    assert len(siyu.unit_economics(TX, horizon=np.int32(3))) > 0
    big = siyu.unit_economics(TX, horizon=3_652_059)
    assert not big["complete"].any()
    for bad in (np.array(["historical"]), None, 1):
        clear(lambda: siyu.unit_economics(TX, ltv=bad), "ltv")
    ct = TX.cohorts()
    for bad in ((1,), (-1, 5), 1e19, "1", [0, 1], slice(0.5, 2), slice(None, None, 0)):
        clear(lambda: ct.subset(cohorts=bad), "cohorts")
    assert len(ct.subset(cohorts=slice(-3, None)).sizes) == 3
    for bad in (-1, 1.5, True, "2"):
        clear(lambda: ct.subset(ages=bad), "ages")
    assert ct.subset(ages=10**100).active.shape == ct.active.shape
    assert ct.subset(ages=10**6).active.shape == ct.active.shape
    for bad in (1, 1.5, True, b"x", ["t"]):
        clear(lambda: ct.to_html(table_id=bad), "table_id")
    for bad in (np.array(["retention"]), None, "nope", 1):
        clear(lambda: ct.average(metric=bad), "metric")
        clear(lambda: ct.to_html(metric=bad), "metric")
    for bad in (-1, 1.5, True, "3"):
        clear(lambda: ct.average(through=bad), "through")
    for bad in (np.array(["png"]), None, "jpg"):
        clear(lambda: siyu.report.build_report(TX, plot_format=bad), "plot_format")
''')

case("result_object_methods")('''
    ct = TX.cohorts()
    for bad in ("x", 1, None, np.nan, [], "True"):
        clear(lambda: ct.average(balanced=bad), "balanced")
        clear(lambda: ct.average(include_partial=bad), "include_partial")
        clear(lambda: ct.balanced_through(include_partial=bad), "include_partial")
        clear(lambda: ct.table(average=bad), "average")
        clear(lambda: ct.table(existing=bad), "existing")
    pd.testing.assert_series_equal(ct.average(balanced=np.bool_(True)), ct.average())
    sc = TX.survival(by="ch")
    for bad in ("nope", [], np.array(["pub"]), None, 1.5):
        clear(lambda: sc.group_table(bad), "group")
    pd.testing.assert_frame_equal(sc.group_table("pub"), sc.group_table("pub"))
    for bad in (-1, float("nan"), float("inf"), "10", None, True, [1]):
        clear(lambda: sc.rmst(bad), "t")
    assert TX.survival().rmst(1e300) >= TX.survival().rmst(100)
    it = TX.interpurchase_times()
    for bad in ((1.5,), (-0.1,), (float("nan"),), "x", [[0.5], [0.2]], range(0, 10**12), [None]):
        clear(lambda: it.quantiles(bad), "q")
    assert it.quantiles((0.0, 1.0)).tolist() == [it.gaps.min(), it.gaps.max()]
    mg = TX.migration()
    for bad in ([1.0], [1.0, 2.0, float("nan")], "x", None):
        clear(lambda: mg.clv(bad, 0.01, 12), "value_per_stage")
    clear(lambda: mg.clv([1.0, 2.0, 3.0], -1, 12), "discount_rate")
    clear(lambda: mg.clv([1.0, 2.0, 3.0], 0.01, 0), "horizon")
    from siyu import plotting
    for fn, name in [(lambda v: plotting.interpurchase_histogram([1, 2, 3], bins=v), "bins"),
                     (lambda v: plotting.cohort_heatmap(ct.retention, max_ticks=v), "max_ticks"),
                     (lambda v: plotting.cohort_heatmap(ct.retention, max_annot_cells=v), "max_annot_cells"),
                     (lambda v: plotting.cohort_curves(ct.retention, max_lines=v), "max_lines")]:
        for bad in (10**9, -1, 1.5, "5", None, True):
            clear(lambda: fn(bad), name)
''')

case("huge_and_tiny_amounts_in_cohort_revenue")('''
    # large but summable amounts: revenue is their exact sum, never NaN ("not observed")
    tx = siyu.Transactions(customer=[1, 1, 1], time=D(0, 40, 0), amount=[1e307, 1e307, -1e307])
    ct = tx.cohorts("M")
    assert ct.revenue.iloc[0, 0] == 0.0 and ct.revenue.iloc[0, 1] == 1e307
    # amounts whose sum overflows a double are refused when the log is built
    raises(ValueError, "sum overflows", lambda: siyu.Transactions(customer=[1, 1], time=D(0, 0),
                                                           amount=[1e308, 1e308]))
    tx = siyu.Transactions(customer=[1, 1], time=D(0, 1), amount=[5e-324, 5e-324])
    assert tx.cohorts("D").revenue.iloc[0].tolist() == [5e-324, 5e-324]
''')

case("dates_of_every_kind_as_end_and_as_of")('''
    import datetime
    want = TX.lifecycle(as_of="2024-03-01")
    for d in ("2024-03-01", pd.Timestamp("2024-03-01"), np.datetime64("2024-03-01"),
              datetime.date(2024, 3, 1), datetime.datetime(2024, 3, 1, 23, 59),
              pd.Timestamp("2024-03-01 12:00", tz="Asia/Shanghai"), np.datetime64("2024-03-01T08", "h")):
        pd.testing.assert_frame_equal(TX.lifecycle(as_of=d), want, check_like=True)
    for fn, name in [(lambda d: TX.lifecycle(as_of=d), "as_of"), (lambda d: TX.cohorts(end=d), "end"),
                     (lambda d: TX.retention(end=d), "end"), (lambda d: TX.repeat_rate(start=d), "start"),
                     (lambda d: TX.survival(end=d), "end"), (lambda d: TX.migration(end=d), "end")]:
        for bad in ("2024-13-45", "x", "", [1], object(), "0000-01-01", "10000-01-01", pd.NaT,
                    float("nan")) + (("2022-01-01",) if name != "start" else ()):
            clear(lambda: fn(bad), name)
    assert TX.cohorts(end="9999-12-31").end == pd.Timestamp("9999-12-31")
''')

# ------------------------------------------------------------------ files and the CLI
case("hostile_files_give_one_clear_error")('''
    import subprocess, sys, tempfile
    folder = tempfile.mkdtemp()
    def write(name, data):
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        return path
    head = b"customer_id,date,amount\\n"
    files = {
        "missing": (os.path.join(folder, "nope.csv"), OSError, "no such file"),
        "folder": (folder, ValueError, "is a folder"),
        "empty": (write("empty.csv", b""), ValueError, "is empty"),
        "header_only": (write("header.csv", head), ValueError, "no data rows"),
        "random_bytes": (write("garbage.csv", np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes()),
                         ValueError, "encoding"),
        "bad_dates": (write("dates.csv", head + b"1,2024-01-01,1\\n1,0000-00-00,1\\n1,99999-01-01,1\\n1,2024-02-30,1\\n"),
                      ValueError, r"3 value\\(s\\) are not dates: line 3: '0000-00-00', line 4: '99999-01-01', line 5: '2024-02-30'"),
        "overflowing_amount": (write("big.csv", head + b"1,2024-01-01,1e400\\n1,2024-01-02,nan\\n"),
                               ValueError, r"2 value\\(s\\) are not amounts: line 2: '1e400', line 3: 'nan'"),
        "long_number": (write("long.csv", head + b"1,2024-01-01," + b"9" * 100000 + b"\\n"),
                        ValueError, "not amounts"),
        "ragged": (write("ragged.csv", head + b"1,2024-01-01,1,9\\n"), ValueError, "do not match the header"),
    }
    for name, (path, exc, pat) in files.items():
        raises(exc, pat, lambda: siyu.read_orders(path, customer="customer_id", time="date", amount="amount"))
    for name in ("folder", "random_bytes", "bad_dates"):      # the CLI: one line, exit 2
        path = files[name][0]
        p = subprocess.run([sys.executable, "-m", "siyu", "report", path, "--out",
                            os.path.join(folder, "r.html")] + COLS, capture_output=True, text=True)
        assert p.returncode == 2, (name, p.returncode, p.stderr[-2000:])
        lines = p.stderr.strip().splitlines()
        assert lines[-1].startswith("siyu: error: ") and "Traceback" not in p.stderr, (name, p.stderr)
    assert not [f for f in os.listdir(folder) if f.endswith((".part", ".html"))]
    # the small public helpers refuse what they cannot read
    raises(TypeError, "sample must be bytes", lambda: siyu.io.detect_encoding("text"))
    assert siyu.io.detect_encoding(bytearray(b"a,b\\n")) == "utf-8"
    raises(TypeError, "lines must be a list of text lines", lambda: siyu.io.sniff_delimiter([1, 2]))
    raises(TypeError, "lines must be a list of text lines", lambda: siyu.io.sniff_delimiter("a,b"))
    assert isinstance(siyu.io.header_hint([1, None, 2.5]), str)
    raises(TypeError, "header must be", lambda: siyu.io.header_hint(None))
    raises(TypeError, "columns must map roles", lambda: siyu.io.read_table(files["bad_dates"][0], columns=None))
''')

case("report_arguments_are_checked_before_any_work")('''
    for kw, name in [({"margin": float("inf")}, "margin"), ({"margin": 0}, "margin"), ({"margin": float("nan")}, "margin"),
                     ({"margin": "0.3"}, "margin"), ({"margin": True}, "margin"),
                     ({"horizon": 0}, "horizon"), ({"horizon": 1.5}, "horizon"), ({"horizon": "12"}, "horizon"),
                     ({"horizon": 10**19}, "horizon"), ({"horizon": None}, "horizon"), ({"horizon": [12]}, "horizon"),
                     ({"churn_after": 0}, "churn_after"), ({"churn_after": float("nan")}, "churn_after"),
                     ({"churn_after": "180"}, "churn_after"), ({"churn_after": None}, "churn_after"),
                     ({"top_channels": 0}, "top_channels"), ({"top_channels": 1.5}, "top_channels"),
                     ({"top_channels": -2}, "top_channels"), ({"currency": 5}, "currency"),
                     ({"title": 5}, "title"), ({"existing_before": "x"}, "existing_before"),
                     ({"existing_before": "9999-12-31"}, "existing_before"), ({"spend": "x"}, "spend"),
                     ({"data_quality": [1]}, "data_quality"), ({"progress": 5}, "progress")]:
        clear(lambda: siyu.report.build_report(TX, **kw), name)
    page = siyu.report.build_report(TX, horizon=np.int64(6), margin=np.float32(0.5), churn_after=np.int32(90),
                                    top_channels=np.uint8(3))
    assert page.startswith("<!DOCTYPE html>")
''')

# ------------------------------------------------------------------ threads
case("set_num_threads_range_and_types")('''
    before = siyu.get_num_threads()
    try:
        for bad, exc in [(10**10, ValueError), (0, ValueError), (-1, ValueError), (257, ValueError),
                         (2**64, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError),
                         (None, TypeError), (2.0, TypeError)]:
            raises(exc, r"set_num_threads\\(n\\): n must be .* from 1 to 256|1 to 256", lambda: siyu.set_num_threads(bad))
            assert siyu.get_num_threads() == before
        siyu.set_num_threads(np.int64(2))
        assert siyu.get_num_threads() == 2
        siyu.set_num_threads(256)
        assert siyu.get_num_threads() == 256
        a = TX.cohorts("W").active
        siyu.set_num_threads(1)
        pd.testing.assert_frame_equal(TX.cohorts("W").active, a)
    finally:
        siyu.set_num_threads(before)
''')

# ------------------------------------------------------------------ C entry points
case("calendar_entry_points_check_their_range")('''
    raises(ValueError, r"argument 'day': day numbers must lie in", lambda: _core.period_index(np.array([2**62]), 2))
    raises(ValueError, "argument 'day'", lambda: _core.period_index(np.array([0, I64.min]), 1))
    raises(ValueError, r"argument 'index': period index .* is outside", lambda: _core.period_start(np.array([2**62]), 1))
    for p in range(5):
        lo = int(_core.period_index(np.array([-10**9]), p)[0])
        hi = int(_core.period_index(np.array([10**9]), p)[0])
        assert _core.period_start(np.array([lo, hi, hi + 1]), p)[0] <= -10**9
        raises(ValueError, "argument 'index'", lambda: _core.period_start(np.array([hi + 2]), p))
        raises(ValueError, "argument 'index'", lambda: _core.period_start(np.array([lo - 1]), p))
        # round trip at the ends of the kernel range
        d = np.array([-10**9, 10**9, 0, -1], np.int64)
        idx = _core.period_index(d, p)
        assert (_core.period_start(idx, p) <= d).all() and (_core.period_start(idx + 1, p) > d).all()
    for p in (-1, 5, 99):
        clear(lambda: _core.period_index(np.array([0]), p), "period")
''')

case("cohort_entry_points_do_not_trust_their_caller")('''
    day = np.array([0, 5, 40], np.int64)
    off = np.array([0, 2, 3], np.int64)
    k = 2
    row = np.array([0, 0], np.int64)
    jan = int(_core.period_index(np.array([0]), 2)[0])
    per = np.array([jan, jan], np.int64)
    ok = _core.cohort_matrix(None, day, None, k, 40, 2, row, per, 1, 2, 0, 0, off)
    assert ok[0].tolist() == [[1, 1]] and ok[1].tolist() == [[2, 1]]
    for args, pat in [
        ((None, np.array([0, 5, I64.min]), None, k, 40, 2, row, per, 1, 2, 0, 0, off), "time"),
        ((None, day, None, k, I64.max, 2, row, per, 1, 2, 0, 0, off), "end"),
        ((None, day, None, k, 40, 2, row, per, 1, 2, I64.min, 0, off), "lo_day"),
        ((None, day, None, k, 40, 2, row, np.array([jan, I64.min]), 1, 2, 0, 0, off), "cust_per"),
        ((None, day, None, k, 40, 2, np.array([0, 5]), per, 1, 2, 0, 0, off), "cohort_matrix"),
        ((None, day, None, k, 40, 2, row, per, 1, 1, 0, 0, off), "cohort_matrix"),
        ((None, day, None, k, 40, 9, row, per, 1, 2, 0, 0, off), "period"),
        ((None, day, None, k, 40, 2, row, per, 2**40, 2**40, 0, 0, off), "too large"),
        ((None, day, None, k, 40, 2, row, per, 1, 2, 0, 0, np.array([0, 5, 3])), "offsets"),
        ((None, day, None, k, 40, 2, row[:1], per, 1, 2, 0, 0, off), "cell_row"),
        ((np.array([0, 1, 7]), day, None, k, 40, 2, row, per, 1, 2, 0, 0), "cohort_matrix")]:
        try:
            _core.cohort_matrix(*args)
        except (ValueError, TypeError, MemoryError) as e:
            assert pat in str(e), (pat, str(e))
        else:
            raise AssertionError(pat)
    first = np.array([0, 40], np.int64)
    grp = np.array([0, 0], np.int64)
    lo = np.array([0, 5], np.int64)
    assert _core.retention_count(None, day, None, k, 40, first, grp, 1, 0, lo, lo, 0, off)[1].tolist() == [[2, 1]]
    for args, pat in [
        ((None, day, None, k, 40, np.array([0, I64.min]), grp, 1, 0, lo, lo, 0, off), "first_day"),
        ((None, day, None, k, I64.min, first, grp, 1, 0, lo, lo, 0, off), "end"),
        ((None, day, None, k, 40, first, grp, 1, 7, lo, lo, 0, off), "kind"),
        ((None, day, None, k, 40, first, grp, 1, 2, lo, lo - 10, 0, off), "retention_count"),
        ((None, day, None, k, 40, first, np.array([0, 3]), 1, 0, lo, lo, 0, off), "retention_count"),
        ((None, day, None, k, 40, first, grp, 1, 0, np.array([2**50]), np.array([2**50]), 0, off), "retention_count"),
        ((None, day, None, k, 40, first, grp, -1, 0, lo, lo, 0, off), "sizes")]:
        try:
            _core.retention_count(*args)
        except (ValueError, TypeError, MemoryError) as e:
            assert pat in str(e), (pat, str(e))
        else:
            raise AssertionError(pat)
    for end in (I64.max, I64.min, 2**40):
        for fn in (lambda: _core.cohort_first(None, day, None, None, k, end, off),
                   lambda: _core.cohort_second(None, day, None, k, end, first, off),
                   lambda: _core.interpurchase(None, day, None, k, end, off)):
            raises(ValueError, "argument 'end'", fn)
    raises(ValueError, "survival_km", lambda: _core.survival_km(np.array([1, 5]), np.array([1, 0]), 3))
    raises(ValueError, "survival_km", lambda: _core.survival_km(np.array([1]), np.array([2]), 3))
    raises(ValueError, "tmax", lambda: _core.survival_km(np.array([1]), np.array([1]), 2**62))
''')

case("segment_and_metric_entry_points_do_not_trust_their_caller")('''
    cust = np.array([0, 0, 1], np.int64)
    day = np.array([0, 10, 5], np.int64)
    ends = np.array([20], np.int64)
    b = np.array([30, 180], np.int64)
    st = _core.segment_sweep(cust, day, None, None, 2, ends, 0, b, True)[0]
    assert st.tolist() == [[0, 0]]
    for args, pat in [((cust, np.array([0, 10, 2**62]), None, None, 2, ends, 0, b, True), "time"),
                      ((cust, day, None, None, 2, np.array([I64.max]), 0, b, True), "ends"),
                      ((cust, day, None, None, 2, np.array([5, 5]), 0, b, True), "increasing"),
                      ((cust, day, None, None, 2, ends, 0, np.arange(200), True), "bounds"),
                      ((cust, day, None, None, 2, ends, 0, np.array([5, 1]), True), "bounds"),
                      ((cust, day, None, None, 2, ends, 3, b, True), "mode"),
                      ((cust, day, None, None, 1, ends, 0, b, True), "customer codes"),
                      ((cust, day, None, None, 2, np.array([], np.int64), 0, b, True), "ends"),
                      ((cust, day[:2], None, None, 2, ends, 0, b, True), "time")]:
        try:
            _core.segment_sweep(*args)
        except (ValueError, TypeError, MemoryError) as e:
            assert pat in str(e), (pat, str(e))
        else:
            raise AssertionError(pat)
    raises(ValueError, "stage codes", lambda: _core.segment_transitions(np.array([[0, 9], [0, 0]], np.int8), 3))
    raises(ValueError, "2-dimensional", lambda: _core.segment_transitions(np.zeros((2, 2, 2), np.int8), 3))
    raises(ValueError, "n_states", lambda: _core.segment_transitions(np.zeros((2, 2), np.int8), 0))
    raises(ValueError, "finite", lambda: _core.quantile_scores(np.array([1.0, np.nan]), 5, 0))
    raises(ValueError, "bins", lambda: _core.quantile_scores(np.array([1.0]), 0, 0))
    raises(ValueError, "ties", lambda: _core.quantile_scores(np.array([1.0]), 5, 7))
    try:
        _core.quantile_scores(np.arange(10.0), 2**62, 0)
    except (ValueError, OverflowError) as e:
        assert "quantile_scores" in str(e)
    g = np.zeros(2, np.int64)
    ok = _core.metric_periods(cust, np.array([0, 10, 5], np.int64), None, 2, g, 1, I64.min, I64.max, 4, 1970, 1, False)
    assert ok[0].tolist() == [[2]]
    raises(ValueError, "p0", lambda: _core.metric_periods(cust, day, None, 2, g, 1, 0, 40, 2, I64.min, 1, False))
    raises(ValueError, "too many cells", lambda: _core.metric_periods(cust, day, None, 2, g, 2**20, 0, 40, 2, 0, 2**20, False))
    raises(ValueError, "metric_periods", lambda: _core.metric_periods(cust, day, None, 2, np.array([0, 5]), 1, 0, 40, 2, 0, 1, False))
''')

case("segment_sweep_in_any_row_order_agrees")('''
    # the grouped walk, the day-sorted sweep, the bucketed (threaded) sweep and the
    # sorted-pairs sweep give the same stages and states
    r = np.random.default_rng(5)
    before = siyu.get_num_threads()
    try:
        siyu.set_num_threads(2)
        for n, k, span in [(3000, 500, 400), (250_000, 70_000, 300), (5000, 800, 10**7)]:
            cust = r.integers(0, k, n)
            day = r.integers(0, span, n)
            amount = r.normal(10, 5, n)
            member = (r.random(n) < 0.05).astype(np.int8)
            ends = np.sort(r.choice(np.arange(span // 4, span + 10), 12, replace=False))
            order = np.lexsort((day, cust))
            byday = np.argsort(day, kind="stable")
            for mode, b in ((0, np.array([30, 180])), (1, np.array([], np.int64))):
                ref = _core.segment_sweep(cust[order], day[order], amount[order], member[order], k,
                                          ends, mode, b, True)
                for perm in (byday, np.arange(n), r.permutation(n)):
                    got = _core.segment_sweep(cust[perm], day[perm], amount[perm], member[perm], k,
                                              ends, mode, b, True)
                    for a, c in zip(ref, got):
                        if a is None:
                            assert c is None
                        elif a.dtype.kind == "f":
                            np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-9)
                        else:
                            np.testing.assert_array_equal(a, c)
    finally:
        siyu.set_num_threads(before)
''')

case("quantile_scores_large_inputs_match_the_definition")('''
    # the radix sort (n >= 4096) gives the same scores as the definition
    r = np.random.default_rng(3)
    for vals in [r.normal(size=20000), np.round(r.gamma(2, 50, 30000), 2), r.integers(-5, 5, 9000) * 0.5,
                 np.concatenate([np.full(5000, -0.0), np.zeros(5000), r.random(100)]),
                 np.array([-1e308, 1e308, 5e-324, -5e-324] * 2000), r.random(5000) * 1e-300]:
        for ties, how in ((0, "min"), (1, "average"), (2, "max")):
            got = _core.quantile_scores(vals, 5, ties)
            rank = pd.Series(vals).rank(method=how).to_numpy()
            want = np.clip(np.ceil(rank * 5 / vals.size - 1e-12), 1, 5).astype(np.int64)
            np.testing.assert_array_equal(got, want)
''')

case("parse_entry_points")('''
    b = np.frombuffer(b"1e400-5(1,234.00)", np.uint8)
    vals, status, n_bad, _ = _core.parse_amounts(b, np.array([0, 5, 7, 17]), np.nan)
    assert np.isnan(vals[0]) and status[0] != 0 and n_bad == 1, (vals, status)
    assert vals[1:].tolist() == [-5.0, -1234.0]
    raises(ValueError, "offsets", lambda: _core.parse_amounts(b, np.array([0, 50]), np.nan))
    raises(ValueError, "offsets", lambda: _core.parse_amounts(b, np.array([5, 2]), np.nan))
    raises(ValueError, "offsets", lambda: _core.parse_amounts(b, np.array([], np.int64), np.nan))
    raises(ValueError, "out is too short", lambda: _core.parse_amounts(b, np.array([0, 5]), np.nan,
                                                                        np.zeros(1), np.zeros(1, np.uint8), 5))
    raises(TypeError, "out must be", lambda: _core.parse_amounts(b, np.array([0, 5]), np.nan,
                                                                  np.zeros(4)[::2], np.zeros(2, np.uint8)))
    ro = np.zeros(2)
    ro.flags.writeable = False
    raises(TypeError, "out must be", lambda: _core.parse_amounts(b, np.array([0, 5]), np.nan, ro,
                                                                  np.zeros(2, np.uint8)))
    t = np.frombuffer(b"99999-99-99 99:99:992024-01-01", np.uint8)
    secs, _, tstatus, _ = _core.parse_times(t, np.array([0, 20, 30]), 0)
    assert tstatus[0] != 0 and tstatus[1] == 0, tstatus
    raises(ValueError, "mode", lambda: _core.parse_times(t, np.array([0, 8]), 9))
''')


# ---------------------------------------------------------------------------- runner
RUNNER = textwrap.dedent('''
    import faulthandler, json, sys, traceback
    names = json.loads(sys.argv[1])
    timeout = float(sys.argv[2])
    spec = json.loads(sys.stdin.read())
    glob = {}
    exec(compile(spec["prelude"], "prelude", "exec"), glob)
    for name in names:
        sys.stderr.write(f"\\n##START {name}\\n")
        sys.stderr.flush()
        faulthandler.dump_traceback_later(timeout, exit=True)
        try:
            exec(compile(spec["cases"][name], name, "exec"), dict(glob))
            sys.stderr.write(f"\\n##OK {name}\\n")
        except BaseException:
            sys.stderr.write(f"\\n##FAIL {name}\\n{traceback.format_exc()}")
        finally:
            faulthandler.cancel_dump_traceback_later()
        sys.stderr.flush()
''')

_SANITIZER = re.compile(r"runtime error:|AddressSanitizer|LeakSanitizer|ThreadSanitizer")


def _run_batch(names: list[str]) -> dict[str, str | None]:
    """None for a case that passed, else what went wrong; crashes and hangs are
    attributed to the case in progress and the rest of the batch runs again."""
    out: dict[str, str | None] = {}
    todo = list(names)
    spec = json.dumps({"prelude": PRELUDE, "cases": {n: CASES[n] for n in names}})
    while todo:
        proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(todo), str(CASE_TIMEOUT)],
                              input=spec, capture_output=True, text=True,
                              timeout=CASE_TIMEOUT * (len(todo) + 2))
        parts = re.split(r"\n##(START|OK|FAIL) (\S+)\n", "\n" + proc.stderr)
        current, body = None, {}
        for i in range(1, len(parts) - 1, 3):
            tag, name, text = parts[i], parts[i + 1], parts[i + 2]
            if tag == "START":
                current = name
                body[name] = text
            elif tag == "OK":
                out[name] = None
                current = None
            else:
                out[name] = "failed:\n" + text[-3000:]
                current = None
            # sanitizer reports between START and the end belong to that case
            if tag != "START" and _SANITIZER.search(body.get(name, "")):
                out[name] = "sanitizer report:\n" + body[name][-3000:]
        done = [n for n in todo if n in out]
        if current is not None or len(done) < len(todo):
            stuck = current if current is not None else todo[len(done)]
            out[stuck] = (f"interpreter died or hung (exit {proc.returncode}):\n"
                          + proc.stderr[-3000:])
        todo = [n for n in todo if n not in out]
    return out


@pytest.fixture(scope="module")
def outcomes() -> dict[str, str | None]:
    names = sorted(CASES)
    batches = [names[i::N_BATCHES] for i in range(N_BATCHES)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results: dict[str, str | None] = {}
        for part in pool.map(_run_batch, batches):
            results.update(part)
    return results


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case(name, outcomes):
    assert outcomes[name] is None, f"{name}: {outcomes[name]}"


def test_runner_attributes_crashes_and_hangs():
    """The harness itself: a segfault and a hang fail their own case only."""
    CASES["_crash"] = "import ctypes; ctypes.string_at(0)"
    CASES["_hang"] = "import time; time.sleep(10**6)"
    CASES["_fine"] = "assert TX.n_customers > 0"
    CASES["_wrong"] = "raises(ValueError, 'x', lambda: int('1'))"
    global CASE_TIMEOUT
    saved = CASE_TIMEOUT
    CASE_TIMEOUT = 5
    CASES["_fine2"] = "pass"
    try:
        got = _run_batch(["_crash", "_fine", "_hang", "_wrong", "_fine2"])
    finally:
        CASE_TIMEOUT = saved
        for n in ("_crash", "_hang", "_fine", "_wrong", "_fine2"):
            CASES.pop(n, None)
    assert got["_fine"] is None and got["_fine2"] is None, got
    assert got["_crash"].startswith("interpreter died"), got["_crash"]
    assert got["_hang"].startswith("interpreter died") and "Timeout" in got["_hang"], got["_hang"]
    assert got["_wrong"].startswith("failed") and "no ValueError raised" in got["_wrong"]


# ---------------------------------------------------------------------------- Ctrl-C
# Each family runs in its own interpreter: it sizes its input until one call takes at
# least TARGET seconds (up to a memory cap), computes the reference answer, then loops
# the call until SIGINT; it reports when the KeyboardInterrupt arrived, whether the
# signal came during a call, and whether the call afterwards still gives the reference.
TARGET = 1.25

INTERRUPT = textwrap.dedent('''
    import json, signal, sys, time
    import numpy as np
    import siyu
    from siyu import _core
    family, target, cap = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(0)

    def make(scale):
        if family == "cohorts":
            # 16 rows per customer over 10M days: no day -> period table, a calendar
            # conversion per row
            n = 1 << scale
            k = n >> 4
            off = np.arange(0, n + 1, 16, dtype=np.int64)
            day = rng.integers(-5_000_000, 5_000_000, n).reshape(k, 16)
            day.sort(axis=1)
            day = day.ravel()
            first = day[off[:-1]]
            per = _core.period_index(first, 4)
            lo_day = int(_core.period_start(np.array([per.min()]), 4)[0])
            ages = int(_core.period_index(np.array([5_000_000]), 4)[0] - per.min() + 1)
            row = np.zeros(k, np.int64)
            return lambda: _core.cohort_matrix(None, day, None, k, 5_000_000, 4, row, per, 1,
                                               ages, lo_day, 0, off)[0]
        if family == "retention":
            # every customer against many disjoint brackets (public API, a real log)
            k = 1 << scale
            tx = siyu.Transactions(customer=np.repeat(np.arange(k), 2),
                                   time=(np.repeat(rng.integers(0, 100, k), 2)
                                         + np.tile([0, 3], k)).astype("datetime64[D]"),
                                   amount=np.ones(2 * k))
            br = [(i, i) for i in range(0, 20000)]
            return lambda: tx.retention(kind="bracket", brackets=br, end="2030-12-31").table["retained"].to_numpy()
        if family == "segments":
            # lifecycle stages at many snapshots with 126 bounds (each stage a long scan)
            k = 1 << scale
            cust = np.arange(k, dtype=np.int64)
            day = np.zeros(k, np.int64)
            ends = np.arange(1000, 1600, dtype=np.int64)
            bounds = np.arange(126, dtype=np.int64)
            return lambda: _core.segment_sweep(cust, day, None, None, k, ends, 0, bounds, True)[0][-1]
        if family == "scores":
            v = rng.random(1 << scale)
            return lambda: _core.quantile_scores(v, 5, 0)
        if family == "metrics":
            # 8 rows per customer over 3M days (no day -> bucket table): monthly buckets
            n = 1 << scale
            k = n >> 3
            cust = np.repeat(np.arange(k, dtype=np.int64), 8)
            day = rng.integers(0, 3_000_000, n).reshape(k, 8)
            day.sort(axis=1)
            day = day.ravel()
            p0 = int(_core.period_index(np.array([0]), 2)[0])
            nb = int(_core.period_index(np.array([2_999_999]), 2)[0]) - p0 + 1
            return lambda: _core.metric_periods(cust, day, None, k, None, 1, 0, 2_999_999, 2, p0,
                                                nb, False)[0]
        if family == "calendar":
            d = rng.integers(-700_000, 2_900_000, 1 << scale)
            return lambda: _core.period_index(d, 2)
        if family == "parse":
            m = 1 << scale
            text = b"".join(b"\\xef\\xbf\\xa51,%03d.%02d" % (i % 1000, i % 100) for i in range(1000))
            reps = m // 1000
            data = np.frombuffer(text * reps, np.uint8)
            one = np.cumsum([0] + [len(b"\\xef\\xbf\\xa51,%03d.%02d" % (i % 1000, i % 100)) for i in range(1000)])
            off = (one[None, :-1] + (np.arange(reps) * len(text))[:, None]).ravel()
            off = np.append(off, data.size).astype(np.int64)
            return lambda: _core.parse_amounts(data, off, np.nan)[0]
        if family == "predict":
            # Pareto/NBD conditional expectations (a hypergeometric series per row)
            n = 1 << scale
            x = rng.integers(0, 30, n).astype(float)
            T = rng.uniform(10, 60, n)
            tx = np.where(x > 0, T * rng.random(n), 0.0)
            t = np.full(n, 30.0)
            p = np.array([0.55, 10.5, 0.6, 11.7])
            code = siyu.ParetoNBD()._code
            return lambda: _core.model_predict(code, 1, p, (t, x, tx, T))
        raise SystemExit(family)

    scale = {"cohorts": 18, "retention": 8, "segments": 8, "scores": 18, "metrics": 18,
             "calendar": 20, "parse": 16, "predict": 14}[family]
    def timed(scale):
        call = make(scale)
        t0 = time.monotonic()
        ref = call()
        return call, ref, time.monotonic() - t0

    # a probe, then a jump to the scale that should take `target` (work is linear in
    # 2**scale), then one more doubling if the machine turned out faster
    call, ref, took = timed(scale)
    while took < target and scale < cap:
        need = scale + max(1, int(np.ceil(np.log2(target / max(took, 1e-3)))))
        scale = min(cap, need)
        call, ref, took = timed(scale)
    got = {}
    def handler(sig, frame):
        got["handled"] = time.monotonic()
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, handler)
    print(json.dumps({"ready": True, "took": took, "scale": scale}), flush=True)
    calls = 0
    in_call = False
    try:
        while True:
            in_call = True
            call()
            in_call = False
            calls += 1
    except KeyboardInterrupt:
        stopped = time.monotonic()
    again = call()
    print(json.dumps({"handled": got.get("handled"), "stopped": stopped, "calls": calls,
                      "in_call": in_call, "took": took,
                      "same": bool(np.array_equal(np.asarray(again), np.asarray(ref)))}), flush=True)
''')

# (family, largest scale: caps memory at a few hundred MB)
FAMILIES = [("cohorts", 26), ("retention", 17), ("segments", 17), ("scores", 23),
            ("metrics", 25), ("calendar", 25), ("parse", 24), ("predict", 23)]


def _interrupt(family: str, cap: int) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPT, family, str(TARGET), str(cap)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-3000:]
        ready = json.loads(line)
        time.sleep(0.2)     # early in the first call: without polls it would run >= 1 s more
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    res = json.loads(out.strip().splitlines()[-1])
    res["sent"], res["err"], res["scale"] = sent, err[-2000:], ready["scale"]
    return res


@pytest.fixture(scope="module")
def interrupts() -> dict[str, dict]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {f: pool.submit(_interrupt, f, cap) for f, cap in FAMILIES}
        return {f: fut.result() for f, fut in futures.items()}


@pytest.mark.parametrize("family", [f for f, _ in FAMILIES])
def test_ctrl_c_stops_the_kernel_within_a_second(family, interrupts):
    res = interrupts[family]
    assert not _SANITIZER.search(res["err"]), res["err"]
    assert res["same"], res                       # the call works again, same answer
    assert res["in_call"], res                    # the signal came during a kernel call
    assert res["stopped"] - res["sent"] < 1.0, res
