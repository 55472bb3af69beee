"""Hostile input to Transactions / _input.py (issue 11, input side): each case in its own
interpreter, so a crash or a hang fails that case instead of the run.

Every case is a snippet that asserts what must happen (a correct result or a clear
ValueError / TypeError naming the column); the cases run concurrently, two at a time.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

PRELUDE = textwrap.dedent('''
    import re, numpy as np, pandas as pd, siyu
    from siyu import _core
    D = lambda *v: np.array(v, "int64").view("datetime64[D]")

    def raises(exc, pattern, fn):
        try:
            fn()
        except exc as e:
            msg = str(e)
            assert re.search(pattern, msg), msg
            assert "np.int64(" not in msg and "np.float64(" not in msg, msg
            return msg
        raise AssertionError(f"no {exc.__name__} raised")

    def same_summary(a, b):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
''')

CASES: dict[str, str] = {}


def case(name: str):
    def deco(code: str) -> str:
        CASES[name] = textwrap.dedent(code)
        return code
    return deco


# ---------------------------------------------------------------------- time range
case("ns_extremes_are_their_own_days")('''
    t = pd.Series([pd.Timestamp.min, pd.Timestamp("2000-01-01"), pd.Timestamp.max])
    tx = siyu.Transactions(customer=[1, 1, 2], time=t, amount=[1.0, 2.0, 3.0])
    s = tx.summary(end="2262-04-11")
    assert s.loc[1, "first_purchase"] == pd.Timestamp("1677-09-21"), s
    assert s.loc[1, "last_purchase"] == pd.Timestamp("2000-01-01")
    assert s.loc[2, "first_purchase"] == pd.Timestamp("2262-04-11")
    assert tx.start == pd.Timestamp("1677-09-21")
    raw = np.array([np.iinfo(np.int64).min + 1, 0], "int64").view("datetime64[ns]")
    assert siyu.Transactions(customer=[1, 1], time=raw, amount=[1.0, 1.0]).start == pd.Timestamp("1677-09-21")
''')

case("coarse_days_outside_the_range_are_an_error_not_a_hang")('''
    msg = raises(ValueError, r"time column 'time' has times outside the supported range "
                 r"\\(years 1 to 9999\\) in 1 row\\(s\\) \\(positions 1\\)",
                 lambda: siyu.Transactions(customer=[1, 1], time=D(0, 2**63 - 1), amount=[1.0, 2.0]))
    raises(ValueError, "outside the supported range",
           lambda: siyu.Transactions(customer=[1], time=D(-2**62), amount=[1.0]))
    # the last day of year 9999 and the first of year 1 are fine, and in order
    t = np.array(["0001-01-01", "9999-12-31"], "datetime64[D]")
    s = siyu.Transactions(customer=[1, 1], time=t, amount=[1.0, 2.0]).summary()
    assert s.loc[1, "first_purchase"] < s.loc[1, "last_purchase"]
    assert s.loc[1, "recency"] == 2932896 + 719162
    for freq in ("W", "M"):
        s = siyu.Transactions(customer=[1, 1], time=t, amount=[1.0, 2.0]).summary(freq=freq)
        assert s.loc[1, "frequency"] == 1
''')

case("datetime64_years_months_weeks_extremes")('''
    for unit in ("Y", "M", "W", "s", "ms", "h"):
        big = np.array([0, 2**62], "int64").view(f"datetime64[{unit}]")
        raises(ValueError, "outside the supported range", lambda: siyu.Transactions(
            customer=[1, 1], time=big, amount=[1.0, 1.0]))
        neg = np.array([-2**62, 0], "int64").view(f"datetime64[{unit}]")
        raises(ValueError, "outside the supported range", lambda: siyu.Transactions(
            customer=[1, 1], time=neg, amount=[1.0, 1.0]))
    y = np.array(["0001", "2024", "9999"], "datetime64[Y]")
    s = siyu.Transactions(customer=[1, 1, 1], time=y, amount=[1.0, 1.0, 1.0]).summary()
    assert s.loc[1, "first_purchase"] <= s.loc[1, "last_purchase"]
    assert str(s.loc[1, "last_purchase"])[:10] == "9999-01-01"
    m = np.array(["2024-03", "2024-01"], "datetime64[M]")
    s = siyu.Transactions(customer=[1, 1], time=m, amount=[1.0, 1.0]).summary()
    assert s.loc[1, "first_purchase"] == pd.Timestamp("2024-01-01")
    w = np.array([0, 1], "int64").view("datetime64[W]")
    s = siyu.Transactions(customer=[1, 1], time=w, amount=[1.0, 1.0]).summary()
    assert s.loc[1, "recency"] == 7
    nat = np.array(["2024-01", "NaT"], "datetime64[M]")
    raises(ValueError, r"missing times \\(NaT\\) in 1 row\\(s\\) \\(positions 1\\)",
           lambda: siyu.Transactions(customer=[1, 1], time=nat, amount=[1.0, 1.0]))
    odd = np.array([0, 10], "int64").view("datetime64[10D]")
    s = siyu.Transactions(customer=[1, 1], time=odd, amount=[1.0, 1.0]).summary()
    assert s.loc[1, "recency"] == 100
''')

case("far_seconds_and_strings")('''
    t = np.array(["0500-03-01", "9000-01-01"], "datetime64[s]")
    s = siyu.Transactions(customer=[1, 1], time=t, amount=[1.0, 1.0]).summary()
    assert s.loc[1, "first_purchase"] < s.loc[1, "last_purchase"]
    raises(ValueError, "outside the supported range", lambda: siyu.Transactions(
        customer=[1], time=np.array(["10000-01-01"], "datetime64[s]"), amount=[1.0]))
    raises(ValueError, "time column 'date'", lambda: siyu.Transactions(pd.DataFrame(
        {"customer_id": [1], "date": ["0000-01-01"], "amount": [1.0]})))
''')

# ---------------------------------------------------------------------- dtypes
case("arrow_backed_dtypes")('''
    import pyarrow as pa
    base = pd.DataFrame({"c": [3, 1, 3, 2], "t": pd.to_datetime(
        ["2024-01-01 23:30", "2024-01-02", "2024-02-01", "2024-01-05"], format="mixed").tz_localize("UTC"),
        "a": [1.0, 2.0, 3.0, -1.0], "s": ["x ", "y", "x", "z"]})
    want = siyu.Transactions(base, customer="c", time="t", amount="a", tz="Asia/Shanghai").summary()
    arrow = pd.DataFrame({"c": base["c"].astype("int64[pyarrow]"),
                          "t": base["t"].astype("timestamp[ns, tz=UTC][pyarrow]"),
                          "a": base["a"].astype("double[pyarrow]"),
                          "s": base["s"].astype("string[pyarrow]")})
    got = siyu.Transactions(arrow, customer="c", time="t", amount="a", tz="Asia/Shanghai").summary()
    same_summary(got, want)
    assert got.index.tolist() == [1, 3]        # 2 only has a refund
    # text ids backed by Arrow: stripped and counted
    tx = siyu.Transactions(arrow, customer="s", time="t", amount="a")
    assert tx.customer_ids.tolist() == ["x", "y", "z"]
    assert tx.quality.loc["customer_ids_stripped", "count"] == 1
    tx = siyu.Transactions(arrow.assign(s=arrow["s"].astype(pd.ArrowDtype(pa.large_string()))),
                           customer="s", time="t", amount="a")
    assert tx.customer_ids.tolist() == ["x", "y", "z"]
    # a pyarrow Table, and an Arrow-backed channel
    tab = pa.Table.from_pandas(base)
    got = siyu.Transactions(tab, customer="c", time="t", amount="a", tz="Asia/Shanghai").summary()
    same_summary(got, want)
    tx = siyu.Transactions(arrow, customer="c", time="t", amount="a", channel="s")
    assert tx._log.channel_labels.tolist() == ["x", "x ", "y", "z"]
''')

case("arrow_and_nullable_missing_values")('''
    import pyarrow as pa
    tab = pa.table({"c": [1, 2, 3], "t": pa.array([0, None, 5], pa.timestamp("s")),
                    "a": [1.0, 2.0, 3.0]})
    raises(ValueError, r"time column 't' has missing times \\(NaT\\) in 1 row\\(s\\) \\(positions 1\\)",
           lambda: siyu.Transactions(tab, customer="c", time="t", amount="a"))
    tab = pa.table({"c": [1, 2, 3], "t": pa.array([0, 1, 5], pa.timestamp("s")),
                    "a": pa.array([1.0, None, 3.0])})
    raises(ValueError, r"amount column 'a' has NaN or infinite values in 1 row\\(s\\) \\(positions 1\\)",
           lambda: siyu.Transactions(tab, customer="c", time="t", amount="a"))
    ids = pd.array([1, None, 3], dtype="Int64")
    raises(ValueError, r"customer column 'customer' has missing ids in 1 row\\(s\\)",
           lambda: siyu.Transactions(customer=ids, time=D(1, 2, 3), amount=[1.0, 1.0, 1.0]))
    amt = pd.array([1.0, None, 3.0], dtype="Float64")
    raises(ValueError, "NaN or infinite", lambda: siyu.Transactions(
        customer=[1, 2, 3], time=D(1, 2, 3), amount=amt))
    tx = siyu.Transactions(customer=pd.array([5, 7], dtype="Int64"), time=D(1, 2),
                           amount=pd.array([1, 2], dtype="Int64"))
    assert tx.customer_ids.tolist() == [5, 7]
''')

case("polars_frame")('''
    import polars as pl
    df = pd.DataFrame({"c": ["007", "7", " 007"], "t": pd.to_datetime(["2024-01-01", "2024-01-02",
                       "2024-01-03"]), "a": [1.0, 2.0, 3.0]})
    want = siyu.Transactions(df, customer="c", time="t", amount="a")
    got = siyu.Transactions(pl.from_pandas(df), customer="c", time="t", amount="a")
    same_summary(got.summary(), want.summary())
    assert got.customer_ids.tolist() == ["007", "7"]
    assert got.quality["count"].to_dict() == want.quality["count"].to_dict()
''')

case("big_endian_arrays")('''
    rng = np.random.default_rng(0)
    c = rng.integers(0, 50, 500)
    t = rng.integers(0, 10**17, 500).view("datetime64[ns]")
    a = rng.normal(10, 5, 500)
    want = siyu.Transactions(customer=c, time=t, amount=a).summary()
    got = siyu.Transactions(customer=c.astype(">i8"), time=t.astype(">M8[ns]"),
                            amount=a.astype(">f8")).summary()
    same_summary(got, want)
    got = siyu.Transactions(pd.DataFrame({"c": c.astype(">i8"), "t": t, "a": a.astype(">f8")}),
                            customer="c", time="t", amount="a").summary()
    same_summary(got, want)
    got = siyu.Transactions(customer=c.astype(">i4"), time=t.astype(">M8[ns]").astype(">M8[s]"),
                            amount=a.astype(">f4")).summary()
    assert got.index.tolist() == want.index.tolist()
''')

case("times_in_two_zones_need_tz")('''
    a = pd.Timestamp("2024-01-01 23:30", tz="Asia/Shanghai")     # 15:30 UTC
    b = pd.Timestamp("2024-01-01 20:00", tz="Europe/Berlin")     # 19:00 UTC -> Jan 2 03:00 Shanghai
    obj = pd.Series([a, b], dtype=object)
    raises(ValueError, r"time column 'time' mixes several time zones.*tz='Asia/Shanghai'",
           lambda: siyu.Transactions(customer=[1, 2], time=obj, amount=[1.0, 1.0]))
    s = siyu.Transactions(customer=[1, 2], time=obj, amount=[1.0, 1.0], tz="Asia/Shanghai").summary()
    assert s["first_purchase"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    txt = ["2024-01-01T23:30+08:00", "2024-01-01T20:00+01:00"]
    raises(ValueError, "several time zones", lambda: siyu.Transactions(
        customer=[1, 2], time=txt, amount=[1.0, 1.0]))
    s = siyu.Transactions(customer=[1, 2], time=txt, amount=[1.0, 1.0], tz="Asia/Shanghai").summary()
    assert s["first_purchase"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    # one zone: its own wall clock
    one = pd.Series([a, a + pd.Timedelta(hours=1)], dtype=object)
    s = siyu.Transactions(customer=[1, 1], time=one, amount=[1.0, 1.0]).summary()
    assert s["last_purchase"].tolist() == [pd.Timestamp("2024-01-02")]
''')

case("scalars_generators_and_other_non_columns")('''
    raises(TypeError, r"customer= must be a column name or an array of values.*single value 5",
           lambda: siyu.Transactions(customer=5, time=D(1), amount=[1.0]))
    raises(TypeError, "amount= must be a column name or an array.*single value 3.0",
           lambda: siyu.Transactions(customer=[1], time=D(1), amount=3.0))
    raises(TypeError, r"time= must be a column name.*single value Timestamp",
           lambda: siyu.Transactions(customer=[1], time=pd.Timestamp("2024-01-01"), amount=[1.0]))
    raises(TypeError, r"customer= must be a list, array or Series, got a generator; pass list\\(...\\)",
           lambda: siyu.Transactions(customer=(i for i in range(3)), time=D(1, 2, 3), amount=[1.0] * 3))
    raises(TypeError, "got a map", lambda: siyu.Transactions(customer=map(int, "123"),
                                                             time=D(1, 2, 3), amount=[1.0] * 3))
    raises(TypeError, "got a set", lambda: siyu.Transactions(customer={1, 2}, time=D(1, 2),
                                                             amount=[1.0] * 2))
    raises(TypeError, r"customer='id' names a column, but no data= was given",
           lambda: siyu.Transactions(customer="id", time=D(1), amount=[1.0]))
    raises(ValueError, r"must be 1-dimensional", lambda: siyu.Transactions(
        customer=np.ones((2, 2)), time=D(1, 2), amount=[1.0, 1.0]))
    raises(ValueError, r"amount column 'amount' has 1 rows but the customer column has 2",
           lambda: siyu.Transactions(customer=[1, 2], time=D(1, 2), amount=[1.0]))
    df = pd.DataFrame([[1, "2024-01-01", 1.0, 2.0]], columns=["c", "t", "a", "a"])
    raises(ValueError, "several columns named 'a'",
           lambda: siyu.Transactions(df, customer="c", time="t", amount="a"))
    raises(TypeError, "tz must be a time zone name", lambda: siyu.Transactions(
        customer=[1], time=D(1), amount=[1.0], tz=8))
''')

case("empty_logs_every_method")('''
    for tx in (siyu.Transactions(customer=[], time=[], amount=[]),
               siyu.Transactions(pd.DataFrame({"c": [], "t": [], "a": []}), customer="c",
                                 time="t", amount="a"),
               siyu.Transactions(customer=np.array([], "U3"), time=np.array([], "M8[ns]"),
                                 amount=np.array([], "f4")),
               siyu.Transactions(customer=[], time=[], amount=[], order=[], status=[], refund=[]),
               siyu.Transactions(customer=[], time=[], amount=None, product=[])):
        assert tx.n_rows == 0 and tx.n_customers == 0 and len(tx) == 0
        assert "empty" in repr(tx) and "rows_read" in repr(tx) and tx._repr_html_()
        assert tx.quality.loc["rows_read", "count"] == 0
        assert tx.start is pd.NaT and tx.end is pd.NaT
        end = "2024-01-01"
        results = [tx.summary(), tx.summary(end=end),
                   tx.calibration_holdout(end, "2024-02-01"),
                   tx.cohorts("M", end=end), tx.retention(days=[1, 7], end=end),
                   tx.repurchase(end=end), tx.interpurchase_times(end=end),
                   tx.survival(end=end), tx.lifecycle(as_of=end), tx.value_tiers(as_of=end),
                   tx.rfm(as_of=end), tx.data_quality("zh", end=end)]
        for r in results[:3] + results[8:11]:
            assert len(r) == 0, r
        for call in (lambda: tx.cohorts("M"), lambda: tx.retention(days=[1]),
                     lambda: tx.repurchase(), lambda: tx.interpurchase_times(),
                     lambda: tx.survival(), lambda: tx.lifecycle(), lambda: tx.value_tiers(),
                     lambda: tx.rfm(), lambda: tx.migration(), lambda: tx.migration(end=end)):
            raises(ValueError, "empty", call)
''')

case("amounts_whose_sums_overflow")('''
    big = [1e308, 1e308]
    msg = raises(ValueError, r"amount column 'amount' has values so large that their sum "
                 r"overflows .* in 2 row\\(s\\) \\(positions 0, 1\\)",
                 lambda: siyu.Transactions(customer=[1, 1], time=D(5, 5), amount=big))
    raises(ValueError, "sum overflows", lambda: siyu.Transactions(
        customer=[1, 2], time=D(5, 5), amount=[1e308, -1e308]))
    raises(ValueError, "sum overflows", lambda: siyu.Transactions(
        customer=[1, 1], time=D(5, 5), amount=big, order=["a", "b"]))
    raises(ValueError, "sum overflows", lambda: siyu.Transactions(
        customer=[1, 1], time=D(5, 5), amount=[1e308, 1.0], refund=[0.0, 1e308]))
    # large but summable: the same total everywhere
    tx = siyu.Transactions(customer=[1, 1, 2], time=D(5, 5, 40), amount=[1e307] * 3)
    s = tx.summary(end=D(60)[0])
    ct = tx.cohorts("M", end=D(60)[0])
    assert np.isfinite(s["revenue"]).all() and s["revenue"].sum() == 3e307
    assert np.nansum(ct.revenue.to_numpy()) == 3e307
''')

case("numeric_time_hints_work_when_pasted")('''
    for values, want in (([20240305, 20240306], "2024-03-05"),
                         ([1709596800, 1709683200], "2024-03-05"),
                         ([1709596800000, 1709683200000], "2024-03-05"),
                         ([45356, 45357], "2024-03-05")):
        df = pd.DataFrame({"customer_id": [1, 1], "date": values, "amount": [1.0, 2.0]})
        msg = raises(TypeError, "holds numbers", lambda: siyu.Transactions(df))
        fix = re.search(r"e\\.g\\. (pd\\.to_datetime\\(.*\\))$", msg).group(1)
        fixed = df.assign(date=eval(fix))
        s = siyu.Transactions(fixed).summary()
        assert s.loc[1, "first_purchase"] == pd.Timestamp(want), (fix, s)
''')

case("text_amount_hint_works_when_pasted")('''
    df = pd.DataFrame({"customer_id": [1, 1], "date": ["2024-01-01", "2024-01-02"],
                       "amount": ["￥1,299.00", "12元"]})
    msg = raises(TypeError, r"amount column 'amount' holds text; it must be numeric",
                 lambda: siyu.Transactions(df))
    fix = re.search(r"e\\.g\\. (pd\\.to_numeric\\(.*\\)), or read", msg).group(1)
    s = siyu.Transactions(df.assign(amount=eval(fix))).summary()
    assert s.loc[1, "revenue"] == 1311.0
    # a (1,234.00) negative is not silently made positive by the hint
    bad = df.assign(amount=["(1,234.00)", "5"])
    raises(ValueError, "", lambda: eval(fix, {"pd": pd, "df": bad}))
''')

case("unknown_status_values_of_any_type")('''
    msg = raises(ValueError, r"status column 'status' has 2 status value\\(s\\) siyu does not "
                 r"know: 3 \\(2 rows\\), 1 \\(1 rows\\)",
                 lambda: siyu.Transactions(customer=[1, 1, 2], time=D(1, 2, 3), amount=[1.0] * 3,
                                           status=np.array([3, 3, 1])))
    tx = siyu.Transactions(customer=[1, 1, 2], time=D(1, 2, 3), amount=[1.0] * 3,
                           status=np.array([3, 3, 1]), paid=[3], void=[1])
    assert tx.n_customers == 1 and tx.quality.loc["void_rows[1]", "count"] == 1
''')

case("kernel_entry_points_do_not_trust_their_caller")('''
    raises(ValueError, "length", lambda: _core.build_log(np.arange(3), np.arange(2), 1, 1, None,
                                                         False, 0, 10))
    raises(TypeError, "customer", lambda: _core.build_log(np.array([0.5]), np.arange(1), 1, 1,
                                                          None, False, 0, 10))
    raises(ValueError, "offsets", lambda: _core.summary(np.zeros(3, np.int64), np.arange(3), None,
                                                        1, 0, -1, 9, np.array([0, 5])))
    raises(ValueError, "length", lambda: _core.orders_aggregate(np.zeros(2, np.int64), 1,
                                                                np.zeros(3, np.int64),
                                                                np.arange(3), None, None, None))
    raises(ValueError, "1 to 32 columns", lambda: _core.count_duplicates(()))
''')


def _run(name: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRELUDE + CASES[name]], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, subprocess.CompletedProcess]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, name) for name in CASES}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case(name, outcomes):
    proc = outcomes[name]
    assert proc.returncode == 0, (name, proc.returncode, proc.stderr[-3000:])


INTERRUPT = textwrap.dedent('''
    import json, signal, sys, time
    import numpy as np, siyu
    n = int(sys.argv[1])
    rng = np.random.default_rng(0)
    ids = rng.integers(0, n // 5, n)
    t = rng.integers(0, 3 * 10**17, n).view("datetime64[ns]")
    a = rng.random(n)
    # line items: every order belongs to one customer (about 3 orders each), so the
    # whole order path runs, not its mixed-customer error
    order = ids * 3 + rng.integers(0, 3, n) if sys.argv[2] == "orders" else None
    got = {}
    def handler(sig, frame):
        got["handled"] = time.monotonic()
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, handler)
    print("ready", flush=True)
    calls = 0
    try:
        while True:
            siyu.Transactions(customer=ids, time=t, amount=a, order=order)
            calls += 1
    except KeyboardInterrupt:
        stopped = time.monotonic()
    # the objects are still usable afterwards
    tx = siyu.Transactions(customer=ids[:1000], time=t[:1000], amount=a[:1000])
    print(json.dumps({"handled": got.get("handled"), "stopped": stopped, "calls": calls,
                      "ok": tx.n_rows == 1000}), flush=True)
''')


@pytest.mark.parametrize("mode", ["plain", "orders"])
def test_ctrl_c_stops_construction_of_20m_rows_within_a_second(mode):
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPT, "20000000", mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-2000:]
        time.sleep(1.5 if mode == "plain" else 3.0)   # well inside a construction
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    res = json.loads(out.strip().splitlines()[-1])
    assert res["ok"], err
    assert res["stopped"] - sent < 1.0, (res, sent)
