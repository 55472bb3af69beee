"""Transactions and per-customer summaries against the pandas oracle and CDNOW tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core

import reference as ref

SUMMARY_COLS = ["frequency", "recency", "T", "monetary_value", "n_orders", "revenue",
                "first_purchase", "last_purchase", "days_since_last"]


def random_log(seed: int, n_rows: int = 400, n_customers: int = 60, refunds: bool = True,
               string_ids: bool = False, span_days: int = 400) -> pd.DataFrame:
    """An unsorted log with same-day duplicates, zero amounts and refunds."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_customers, n_rows)
    day0 = np.datetime64("2023-01-01")
    days = day0 + rng.integers(0, span_days, n_rows).astype("timedelta64[D]")
    # some rows share a day with another row of the same customer
    dup = rng.random(n_rows) < 0.2
    days[dup] = days[rng.integers(0, n_rows, dup.sum())]
    secs = rng.integers(0, 86400, n_rows).astype("timedelta64[s]")
    times = days.astype("datetime64[s]") + secs
    amount = np.round(rng.gamma(2.0, 20.0, n_rows), 2)
    amount[rng.random(n_rows) < 0.05] = 0.0
    if refunds:
        neg = rng.random(n_rows) < 0.08
        amount[neg] = -np.round(rng.uniform(1, 30, neg.sum()), 2)
    ids = cust.astype(np.int64)
    if string_ids:
        ids = np.array([f"user-{c:04d}" for c in cust], dtype=object)
    return pd.DataFrame({"customer_id": ids, "date": times, "amount": amount})


def assert_summary_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.index) == list(want.index)
    assert got["frequency"].tolist() == want["frequency"].tolist()
    assert got["n_orders"].tolist() == want["n_orders"].tolist()
    assert got["days_since_last"].tolist() == want["days_since_last"].tolist()
    for c in ("recency", "T"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(float), rtol=0, atol=1e-12)
    for c in ("monetary_value", "revenue"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(float), rtol=1e-9,
                                   atol=1e-9)
    for c in ("first_purchase", "last_purchase"):
        assert (pd.to_datetime(got[c]).to_numpy() == pd.to_datetime(want[c]).to_numpy()).all()


# ---------------------------------------------------------------------- oracle comparisons
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("freq,unit", [("D", None), ("D", "W"), ("W", None), ("M", None),
                                       ("W", "D"), ("D", "M")])
def test_summary_matches_oracle(seed, freq, unit):
    df = random_log(seed)
    end = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(250 + 20 * seed))
    tx = siyu.Transactions(df)
    got = tx.summary(end=end, freq=freq, unit=unit)
    want = ref.summary(df, end, freq=freq, unit=unit)
    assert_summary_equal(got, want)
    assert got.attrs["freq"] == freq and got.attrs["unit"] == (unit or freq)
    assert got.attrs["end"] == end
    assert got.attrs["n_excluded"] == df["customer_id"].nunique() - len(want)


@pytest.mark.parametrize("seed", range(3))
def test_include_first_matches_oracle(seed):
    df = random_log(100 + seed)
    got = siyu.Transactions(df).summary(end="2024-03-01", include_first=True)
    want = ref.summary(df, "2024-03-01", include_first=True)
    assert_summary_equal(got, want)


def test_string_ids_give_same_numbers_as_int_ids():
    df = random_log(7, string_ids=True)
    got = siyu.Transactions(df).summary(end="2024-01-31")
    want = ref.summary(df, "2024-01-31")
    assert_summary_equal(got, want)
    assert got.index.dtype.kind in "OU" or str(got.index.dtype) in ("str", "string")
    assert got.index[0].startswith("user-")


def test_default_end_is_last_day_of_log():
    df = random_log(3)
    tx = siyu.Transactions(df)
    assert tx.end == pd.Timestamp(df["date"].max()).normalize()
    assert_summary_equal(tx.summary(), ref.summary(df, tx.end))


def test_tz_aware_times_use_local_calendar_day():
    # 2024-01-01 23:30 UTC is already 2024-01-02 in Shanghai
    utc = pd.to_datetime(["2024-01-01 23:30", "2024-01-03 01:00", "2024-01-05 12:00"], utc=True)
    df = pd.DataFrame({"customer_id": [1, 1, 1], "date": utc, "amount": [1.0, 2.0, 3.0]})
    s_utc = siyu.Transactions(df).summary(end="2024-01-10")
    s_sh = siyu.Transactions(df, tz="Asia/Shanghai").summary(end="2024-01-10")
    assert s_utc["first_purchase"].iloc[0] == pd.Timestamp("2024-01-01")
    assert s_sh["first_purchase"].iloc[0] == pd.Timestamp("2024-01-02")
    assert s_utc["recency"].iloc[0] == 4.0 and s_sh["recency"].iloc[0] == 3.0
    local = df.assign(date=df["date"].dt.tz_convert("Asia/Shanghai"))
    assert_summary_equal(s_sh, ref.summary(local, "2024-01-10"))


def test_refund_semantics_by_hand():
    df = pd.DataFrame({
        "customer_id": [1, 1, 1, 1, 2, 2],
        "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-05", "2024-01-09",
                                "2024-01-02", "2024-01-03"]),
        "amount": [10.0, 5.0, -3.0, 20.0, -4.0, 0.0],
    })
    s = siyu.Transactions(df).summary(end="2024-01-10")
    # customer 1: occasions 01-01 (15) and 01-09 (20); the refund day is no occasion
    assert s.loc[1, "frequency"] == 1 and s.loc[1, "recency"] == 8 and s.loc[1, "T"] == 9
    assert s.loc[1, "monetary_value"] == 20.0 and s.loc[1, "revenue"] == 32.0
    assert s.loc[1, "n_orders"] == 3
    # customer 2: a refund before a zero-amount purchase; first purchase is 01-03
    assert s.loc[2, "frequency"] == 0 and s.loc[2, "first_purchase"] == pd.Timestamp("2024-01-03")
    assert s.loc[2, "revenue"] == -4.0 and s.loc[2, "days_since_last"] == 7


def test_refund_only_customer_is_excluded_and_counted():
    df = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01", "2024-01-02"],
                       "amount": [5.0, -5.0]})
    s = siyu.Transactions(df).summary()
    assert list(s.index) == [1] and s.attrs["n_excluded"] == 1


def test_rows_after_end_are_ignored():
    df = pd.DataFrame({"customer_id": [1, 1, 2], "date": ["2024-01-01", "2024-02-01", "2024-03-01"],
                       "amount": [1.0, 2.0, 3.0]})
    s = siyu.Transactions(df).summary(end="2024-01-15")
    assert list(s.index) == [1] and s.loc[1, "frequency"] == 0 and s.loc[1, "revenue"] == 1.0


def test_weeks_start_monday_and_months_are_calendar():
    # Sun 2024-01-07 and Mon 2024-01-08 are different weeks; Jan 31 / Feb 1 different months
    df = pd.DataFrame({"customer_id": [1, 1, 2, 2],
                       "date": ["2024-01-07", "2024-01-08", "2024-01-31", "2024-02-01"],
                       "amount": [1.0, 1.0, 1.0, 1.0]})
    tx = siyu.Transactions(df)
    w = tx.summary(end="2024-02-29", freq="W")
    m = tx.summary(end="2024-02-29", freq="M")
    assert w.loc[1, "frequency"] == 1 and w.loc[1, "recency"] == 1
    assert m.loc[2, "frequency"] == 1 and m.loc[2, "recency"] == 1 and m.loc[2, "T"] == 1
    assert m.loc[1, "frequency"] == 0
    # unit conversion: months to days at 365.25/12
    md = tx.summary(end="2024-02-29", freq="M", unit="D")
    assert md.loc[2, "recency"] == pytest.approx(365.25 / 12)


def test_one_customer_and_one_row():
    tx = siyu.Transactions({"customer_id": np.array([42]),
                            "date": np.array(["2024-05-05"], dtype="datetime64[D]"),
                            "amount": np.array([9.5])})
    s = tx.summary()
    assert s.index.tolist() == [42]
    assert s.iloc[0][["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 0, 0]


def test_empty_log():
    tx = siyu.Transactions({"customer_id": np.array([], dtype=np.int64),
                            "date": np.array([], dtype="datetime64[ns]"),
                            "amount": np.array([], dtype=float)})
    assert tx.n_rows == 0 and tx.n_customers == 0 and tx.start is pd.NaT
    s = tx.summary()
    assert s.empty and list(s.columns) == SUMMARY_COLS
    s2 = tx.summary(end="2024-01-01")
    assert s2.empty and list(s2.columns) == SUMMARY_COLS
    assert "empty" in repr(tx)


def test_no_amount_column_omits_monetary():
    df = random_log(5).drop(columns="amount")
    s = siyu.Transactions(df, amount=None).summary(end="2024-01-01")
    assert "monetary_value" not in s.columns and "revenue" not in s.columns
    want = ref.summary(df.assign(amount=1.0), "2024-01-01")
    assert s["frequency"].tolist() == want["frequency"].tolist()


# ---------------------------------------------------------------------- input forms
def test_arrays_noncontiguous_readonly_and_unchanged():
    df = random_log(11, n_rows=600)
    ids = np.repeat(df["customer_id"].to_numpy(), 2)[::2]       # non-contiguous views
    times = np.repeat(df["date"].to_numpy(), 2)[::2]
    amount = np.repeat(df["amount"].to_numpy(), 2)[::2]
    for a in (ids, times, amount):
        assert not a.flags.c_contiguous
        a.flags.writeable = False
    copies = [a.copy() for a in (ids, times, amount)]
    tx = siyu.Transactions(customer=ids, time=times, amount=amount)
    got = tx.summary(end="2024-01-15")
    assert_summary_equal(got, ref.summary(df, "2024-01-15"))
    for a, c in zip((ids, times, amount), copies):
        np.testing.assert_array_equal(a, c)


def test_dataframe_not_modified():
    df = random_log(12)
    before = df.copy(deep=True)
    siyu.Transactions(df).summary(end="2023-12-31")
    pd.testing.assert_frame_equal(df, before)


def test_datetime_units_and_strings_agree():
    df = random_log(13)
    want = siyu.Transactions(df).summary(end="2024-01-01")
    for conv in (lambda s: s.to_numpy().astype("datetime64[ms]"),
                 lambda s: s.to_numpy().astype("datetime64[D]"),
                 lambda s: s.dt.strftime("%Y-%m-%d %H:%M:%S"),
                 lambda s: s.dt.tz_localize("Europe/Berlin")):
        got = siyu.Transactions(df.assign(date=conv(df["date"]))).summary(end="2024-01-01")
        assert_summary_equal(got, want)


def test_polars_and_arrow_inputs():
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    df = random_log(14, string_ids=True)
    want = siyu.Transactions(df).summary(end="2024-01-01")
    got_pl = siyu.Transactions(pl.from_pandas(df)).summary(end="2024-01-01")
    got_pa = siyu.Transactions(pa.Table.from_pandas(df)).summary(end="2024-01-01")
    assert_summary_equal(got_pl, want)
    assert_summary_equal(got_pa, want)


def test_read_csv(tmp_path):
    df = random_log(15)
    path = tmp_path / "log.csv"
    df.rename(columns={"customer_id": "uid", "date": "ts", "amount": "paid"}).to_csv(path, index=False)
    tx = siyu.read_csv(path, customer="uid", time="ts", amount="paid")
    # ids read from a file are text (siyu.read_orders): compare by their text, sorted
    want = ref.summary(df, "2024-01-01")
    want.index = want.index.astype(str)
    assert_summary_equal(tx.summary(end="2024-01-01"), want.sort_index())


def test_repr_and_properties():
    df = random_log(16)
    tx = siyu.Transactions(df)
    assert tx.n_rows == len(df) == len(tx)
    assert tx.n_customers == df["customer_id"].nunique()
    assert tx.start == pd.Timestamp(df["date"].min()).normalize()
    assert f"{len(df):,} rows" in repr(tx)
    assert "<table>" in tx._repr_html_()
    assert tx._log.cust.flags.c_contiguous and not tx._log.cust.flags.writeable


# ---------------------------------------------------------------------- published tables
def _cdnow_tx():
    return siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id", time="date",
                             amount="amount")


def test_cdnow_reproduces_published_summary(shared_data):
    s = _cdnow_tx().summary(end="1997-09-30", freq="D", unit="W")
    pub = pd.read_csv(shared_data / "cdnow_customers_summary.csv", index_col="ID")
    cbs = pd.read_csv(shared_data / "cdnow_btyd_cbs.csv", index_col="cust")
    assert len(s) == 2357 and list(s.index) == list(pub.index)
    assert (s["frequency"] == pub["frequency"]).all()
    assert (s["recency"].round(2) == pub["recency"]).all()
    assert (s["T"].round(2) == pub["T"]).all()
    np.testing.assert_allclose(s["recency"], cbs["t.x"], atol=1e-9)
    np.testing.assert_allclose(s["T"], cbs["T.cal"], atol=1e-9)
    np.testing.assert_allclose(s["monetary_value"], cbs["m.x"], atol=1e-9)
    assert int((s["frequency"] == 0).sum()) == 1411


def test_cdnow_calibration_holdout_reproduces_xstar(shared_data):
    tx = _cdnow_tx()
    ch = tx.calibration_holdout("1997-09-30", "1998-06-30", freq="D", unit="W")
    cbs = pd.read_csv(shared_data / "cdnow_btyd_cbs.csv", index_col="cust")
    assert (ch["frequency_holdout"] == cbs["x.star"]).all()
    assert int(ch["frequency_holdout"].sum()) == 1882
    assert (ch["frequency_cal"] == cbs["x"]).all()
    np.testing.assert_allclose(ch["T_cal"], cbs["T.cal"], atol=1e-9)
    assert ch["duration_holdout"].iloc[0] == pytest.approx(273 / 7)
    df = siyu.datasets.load_cdnow()
    want = ref.holdout(df, "1997-09-30", "1998-06-30")
    got = ch[ch["frequency_holdout"] > 0]
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got["monetary_value_holdout"], want["monetary_value_holdout"],
                               rtol=1e-12)


@pytest.mark.parametrize("freq", ["D", "W", "M"])
def test_calibration_holdout_matches_oracle(freq):
    df = random_log(21, refunds=True)
    ch = siyu.Transactions(df).calibration_holdout("2023-08-31", "2024-01-31", freq=freq)
    cal = ref.summary(df, "2023-08-31", freq=freq)
    hold = ref.holdout(df, "2023-08-31", "2024-01-31", freq=freq)
    assert list(ch.index) == list(cal.index)
    assert ch["frequency_cal"].tolist() == cal["frequency"].tolist()
    np.testing.assert_allclose(ch["monetary_value_cal"], cal["monetary_value"], atol=1e-9)
    hf = hold["frequency_holdout"].reindex(ch.index, fill_value=0)
    assert ch["frequency_holdout"].tolist() == hf.tolist()
    hm = hold["monetary_value_holdout"].reindex(ch.index, fill_value=0.0)
    np.testing.assert_allclose(ch["monetary_value_holdout"], hm, atol=1e-9)


def test_calibration_holdout_bad_order():
    tx = _cdnow_tx()
    with pytest.raises(ValueError, match="observation_end"):
        tx.calibration_holdout("1998-01-01", "1997-12-01")


# ---------------------------------------------------------------------- calendar kernel
def _python_period(day: int, freq: str) -> int:
    """Period number of a day using only the standard library's proleptic calendar."""
    import datetime as dt

    d = dt.date(1970, 1, 1) + dt.timedelta(days=int(day))
    if freq == "D":
        return int(day)
    if freq == "W":
        monday = d - dt.timedelta(days=d.weekday())
        return (monday - dt.date(1969, 12, 29)).days // 7
    if freq == "M":
        return d.year * 12 + d.month - 1
    if freq == "Q":
        return d.year * 4 + (d.month - 1) // 3
    return d.year


def test_period_index_matches_stdlib_calendar_over_eight_centuries():
    days = np.concatenate([np.arange(-150_000, 150_000, 37, dtype=np.int64),
                           np.array([-719162, 2932896, 11016, 11017, 11076, 11077])])  # 0001-01-01, 9999-12-31, leap days 2000
    for code, freq in enumerate("DWMQY"):
        got = _core.period_index(days, code)
        want = np.array([_python_period(d, freq) for d in days])
        np.testing.assert_array_equal(got, want)
        starts = _core.period_start(got, code)
        assert (starts <= days).all()
        assert (_core.period_index(starts, code) == got).all()
        assert (_core.period_index(starts - 1, code) == got - 1).all()


@pytest.mark.parametrize("freq", ["D", "W"])
def test_matches_lifetimes_when_installed(freq):
    """lifetimes' summary_data_from_transaction_data as a second, independent oracle."""
    lt = pytest.importorskip("lifetimes.utils")
    df = random_log(31, refunds=False, n_rows=800, n_customers=120)
    df["amount"] = df["amount"] + 1.0                      # lifetimes has no refund rules
    end = "2023-12-31"
    want = lt.summary_data_from_transaction_data(df, "customer_id", "date", "amount",
                                                 observation_period_end=end, freq=freq)
    got = siyu.Transactions(df).summary(end=end, freq=freq)
    assert list(got.index) == list(want.index)
    np.testing.assert_array_equal(got["frequency"], want["frequency"])
    np.testing.assert_allclose(got["recency"], want["recency"], atol=1e-12)
    np.testing.assert_allclose(got["T"], want["T"], atol=1e-12)
    np.testing.assert_allclose(got["monetary_value"], want["monetary_value"], rtol=1e-9)
