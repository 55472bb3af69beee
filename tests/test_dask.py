"""siyu.dask on a LocalCluster (2 worker processes x 1 thread): every result equals the
single-machine result on the same data -- counts exactly, sums to 1e-9 relative, fitted
parameters to 1e-6 relative, the same customers and index."""
from __future__ import annotations

import doctest
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
import dask  # noqa: E402
from dask import delayed  # noqa: E402

import siyu  # noqa: E402
import siyu.dask  # noqa: E402
from siyu.dask import _select  # noqa: E402

RTOL = 1e-9


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        with distributed.Client(cluster) as c:
            yield c


# --------------------------------------------------------------------------- data
def random_log(seed: int, n_rows: int = 6000, n_cust: int = 700, str_ids: bool = True
               ) -> pd.DataFrame:
    """Refunds (and refund-only customers), ties, string ids with leading zeros, a
    channel with missing values, a member flag."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, n_cust, n_rows)
    day = np.datetime64("2022-11-20") + rng.integers(0, 420, n_rows).astype("timedelta64[D]")
    amount = np.round(rng.gamma(2.0, 40.0, n_rows), 2)
    amount[rng.random(n_rows) < 0.05] *= -0.5                        # refunds
    amount[c % 97 == 5] = -10.0                                       # refund-only customers
    amount[rng.random(n_rows) < 0.02] = 0.0                           # free orders
    channel = rng.choice(np.array(["私域", "公域", "live", None], dtype=object), n_rows,
                         p=[0.5, 0.3, 0.15, 0.05])
    ids = np.array([f"{x:05d}" for x in range(n_cust)], dtype=object)[c] if str_ids else c * 7
    return pd.DataFrame({"user": ids, "paid": day, "amount": amount, "channel": channel,
                         "vip": (rng.random(n_rows) < 0.03).astype(np.int64)})


def uneven(df: pd.DataFrame, cuts: list[int]) -> dd.DataFrame:
    """A Dask DataFrame whose partitions are df[cuts[i]:cuts[i+1]] (some may be empty)."""
    pieces = [delayed(df.iloc[a:b].copy)() for a, b in zip(cuts[:-1], cuts[1:])]
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(pieces, meta=df.iloc[:0], verify_meta=False)


# --------------------------------------------------------------------------- comparing
def same_frame(single: pd.DataFrame, dist, ignore_attrs=("n_excluded", "n_potential")):
    got = dist.compute()
    assert got.index.is_unique
    assert len(got) == len(single)
    assert set(got.index) == set(single.index)
    got = got.loc[single.index]
    pd.testing.assert_frame_equal(got, single, rtol=RTOL)
    want = {k: v for k, v in single.attrs.items() if k not in ignore_attrs}
    assert {k: v for k, v in dist.attrs.items() if k not in ignore_attrs} == want
    return got


def same_cohorts(a: siyu.CohortTable, b: siyu.CohortTable) -> None:
    pd.testing.assert_series_equal(a.sizes, b.sizes)
    for m in ("active", "orders", "retention", "revenue", "ltv"):
        pd.testing.assert_frame_equal(getattr(a, m), getattr(b, m), rtol=RTOL)
        pd.testing.assert_series_equal(a.average(m), b.average(m), rtol=RTOL)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=RTOL)
    assert (a.n_excluded, a.n_dropped, a.period, a.end, a.by, a.margin) == \
        (b.n_excluded, b.n_dropped, b.period, b.end, b.by, b.margin)


def same_existing(a: siyu.CohortTable, b: siyu.CohortTable) -> None:
    """same_cohorts, with the existing customers' row and the first-cohort check."""
    same_cohorts(a, b)
    assert (a.existing_before, a.n_existing, a.suspect_existing, a.last_period) == \
        (b.existing_before, b.n_existing, b.suspect_existing, b.last_period)
    assert (a.existing is None) == (b.existing is None)
    if a.existing is not None:
        same_cohorts(a.existing, b.existing)
        pd.testing.assert_frame_equal(a.existing.to_frame(), b.existing.to_frame(), rtol=RTOL)
        pd.testing.assert_frame_equal(a.existing.partial, b.existing.partial)
    for avg in (False, True):
        pd.testing.assert_frame_equal(a.table("retention", average=avg),
                                      b.table("retention", average=avg), rtol=RTOL)


def same_survival(a, b) -> None:
    pd.testing.assert_frame_equal(a.table, b.table, rtol=RTOL)
    if a.by is None:
        assert a.median_ == b.median_ and a.rmst(90) == pytest.approx(b.rmst(90), rel=RTOL)
    else:
        pd.testing.assert_series_equal(a.median_, b.median_)
    got = b.durations.compute().loc[a.durations.index]
    pd.testing.assert_frame_equal(got, a.durations)
    assert repr(a) == repr(b)


def same_migration(a, b) -> None:
    for name in ("counts", "matrix", "probabilities", "period_probabilities", "entries"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), rtol=RTOL)
    pd.testing.assert_index_equal(a.period_ends, b.period_ends)
    assert a.attrs == b.attrs
    got = b.stages.compute().loc[a.stages.index]
    pd.testing.assert_frame_equal(got, a.stages)
    assert repr(a) == repr(b)


def check_everything(tx: siyu.Transactions, dtx: siyu.dask.Transactions, by: str | None,
                     roster) -> None:
    assert (dtx.n_rows, dtx.n_customers, dtx.start, dtx.end, dtx.has_amount) == \
        (tx.n_rows, tx.n_customers, tx.start, tx.end, tx.has_amount)
    same_frame(tx.summary(), dtx.summary())
    same_frame(tx.summary(end="2023-06-30", freq="W", unit="D", include_first=True),
               dtx.summary(end="2023-06-30", freq="W", unit="D", include_first=True))
    same_frame(tx.calibration_holdout("2023-08-31", unit="W"),
               dtx.calibration_holdout("2023-08-31", unit="W"))
    for kw in ({}, {"period": "W", "end": "2023-10-15", "by": by, "margin": 0.4}):
        same_cohorts(tx.cohorts(**kw), dtx.cohorts(**kw))
    for kw in ({"days": [0, 1, 7, 30, 90], "by": by},
               {"kind": "bracket", "brackets": [(1, 7), (8, 30), (31, 90)], "end": "2023-09-01"}):
        a, b = tx.retention(**kw), dtx.retention(**kw)
        pd.testing.assert_frame_equal(a.table, b.table)
        assert a.table.attrs == b.table.attrs and (a.kind, a.end, a.by) == (b.kind, b.end, b.by)
    a, b = tx.repurchase(within=(7, 45), by=by, period="Q"), \
        dtx.repurchase(within=(7, 45), by=by, period="Q")
    pd.testing.assert_frame_equal(a.overall, b.overall)
    pd.testing.assert_frame_equal(a.by_cohort, b.by_cohort)
    same_survival(tx.survival(), dtx.survival())
    same_survival(tx.survival(churn_after=60, by=by, end="2023-12-01"),
                  dtx.survival(churn_after=60, by=by, end="2023-12-01"))
    same_frame(tx.lifecycle(as_of="2023-05-01", bounds=(14, 60), lang="zh"),
               dtx.lifecycle(as_of="2023-05-01", bounds=(14, 60), lang="zh"))
    vt, dvt = tx.value_tiers(roster=roster, as_of="2023-09-30"), \
        dtx.value_tiers(roster=roster, as_of="2023-09-30")
    same_frame(vt, dvt)
    assert (vt["tier"] == "potential").sum() > 1             # roster-only ids are kept
    pd.testing.assert_frame_equal(siyu.segments.stage_summary(vt),
                                  siyu.segments.stage_summary(dvt), rtol=RTOL)
    pd.testing.assert_frame_equal(siyu.segments.stage_summary(tx),
                                  siyu.segments.stage_summary(dtx), rtol=RTOL)
    for kw in ({}, {"bins": 3, "ties": "average", "lang": "zh"},
               {"as_of": "2023-07-01", "bins": 10, "ties": "max",
                "segment_map": {"best": ((8, 10), (8, 10)), "new": (10, 1)}}):
        r, dr = tx.rfm(**kw), dtx.rfm(**kw)
        same_frame(r, dr)
    pd.testing.assert_frame_equal(siyu.segments.stage_summary(r),
                                  siyu.segments.stage_summary(dr), rtol=RTOL)
    for kw in ({}, {"period": "Q", "segmentation": "value_tiers", "end": "2023-11-30"}):
        same_migration(tx.migration(**kw), dtx.migration(**kw))


# --------------------------------------------------------------------------- tests
def test_import_siyu_does_not_import_dask():
    code = ("import sys, siyu; siyu.Transactions; siyu.BetaGeo; "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))


def test_random_log_uneven_and_empty_partitions(client):
    df = random_log(1)
    tx = siyu.Transactions(df, customer="user", time="paid", amount="amount", channel="channel",
                           member="vip")
    ddf = uneven(df, [0, 0, 17, 2500, 2501, 6000])
    # more output partitions than a handful of customers would fill: some stay empty
    dtx = siyu.dask.Transactions(ddf, customer="user", time="paid", amount="amount",
                                 channel="channel", member="vip", npartitions=7)
    assert dtx.npartitions == 7
    roster = list(df["user"].unique()[:300]) + ["99999", "00000x"]
    check_everything(tx, dtx, "channel", roster)
    spend = pd.DataFrame({"period": list(pd.period_range("2022-11", "2024-01", freq="M")) * 3,
                          "amount": 900.0, "channel": ["私域"] * 15 + ["公域"] * 15 + ["live"] * 15})
    pd.testing.assert_frame_equal(siyu.unit_economics(tx, spend, by="channel", horizon=3),
                                  siyu.unit_economics(dtx, spend, by="channel", horizon=3),
                                  rtol=RTOL)
    s = tx.summary(unit="W")
    s = s[s["T"] > 0]
    models = (siyu.BetaGeo(penalizer=0.01).fit(s),
              siyu.GammaGamma(penalizer=0.01).fit(s[s["frequency"] > 0]))
    pd.testing.assert_frame_equal(
        siyu.unit_economics(tx, spend, horizon=18, ltv="predicted", models=models,
                            by="channel", discount_rate=0.01),
        siyu.unit_economics(dtx, spend, horizon=18, ltv="predicted", models=models,
                            by="channel", discount_rate=0.01), rtol=RTOL)
    pd.testing.assert_frame_equal(siyu.compare_channels(tx, reference="公域", horizon=6),
                                  siyu.compare_channels(dtx, reference="公域", horizon=6),
                                  rtol=RTOL)
    assert "in 7 partitions" in repr(dtx)


def _warned(call):
    """call()'s result and its ExistingCustomersWarnings as (message, file) pairs."""
    import warnings
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = call()
    return out, [(str(w.message), w.filename) for w in seen
                 if issubclass(w.category, siyu.ExistingCustomersWarning)]


@pytest.mark.parametrize("scheduler", ["distributed", "sync"])
def test_existing_before_and_the_first_cohort_warning(client, scheduler):
    """existing_before= everywhere, and the suspect-first-cohort warning given once, on the
    added counts (with the in-process scheduler a partition's warning would be seen)."""
    df = random_log(11, n_rows=5000, n_cust=600)
    # customers of the shop before the log: many first purchases in its first month
    early = df.drop_duplicates("user").iloc[::3].assign(paid=np.datetime64("2022-11-25"))
    df = pd.concat([df, early], ignore_index=True).sample(frac=1.0, random_state=1) \
        .reset_index(drop=True)
    kw = dict(customer="user", time="paid", amount="amount", channel="channel")
    tx = siyu.Transactions(df, **kw)
    local = {"scheduler": "sync", "dataframe.shuffle.method": "tasks"}
    with dask.config.set(local if scheduler == "sync" else {}):
        dtx = siyu.dask.Transactions(uneven(df, [0, 0, 900, 3000, len(df)]), **kw,
                                     npartitions=5)
        n_warned = 0
        for args in ({}, {"period": "Q"}, {"period": "W", "by": "channel", "end": "2023-11-05"},
                     {"existing_before": "2023-01-01"},
                     {"existing_before": "2023-03-15", "period": "W", "by": "channel",
                      "end": "2023-12-20", "margin": 0.5},
                     {"existing_before": "2022-01-01"},                  # nobody is existing
                     {"existing_before": "2024-01-10", "period": "Q"}):  # nearly everybody
            (a, wa), (b, wb) = _warned(lambda: tx.cohorts(**args)), \
                _warned(lambda: dtx.cohorts(**args))
            same_existing(a, b)
            assert wa == wb and (not wa or wa[0][1] == __file__), args
            n_warned += len(wa)
        assert n_warned >= 3                  # the check is exercised, not only skipped
        for ex in (None, "2023-02-01"):
            for method, args in (("retention", {"days": [0, 7, 30], "by": "channel"}),
                                 ("retention", {"kind": "bracket", "brackets": [(1, 30)]}),
                                 ("repurchase", {"within": (30, 90), "period": "Q"}),
                                 ("survival", {"churn_after": 60, "by": "channel"})):
                (a, wa), (b, wb) = _warned(lambda: getattr(tx, method)(existing_before=ex, **args)), \
                    _warned(lambda: getattr(dtx, method)(existing_before=ex, **args))
                assert wa == wb and (ex is not None or len(wa) == 1), (method, ex)
                assert a.n_existing == b.n_existing and (ex is None) == (a.n_existing == 0)
                if method == "retention":
                    pd.testing.assert_frame_equal(a.table, b.table)
                    assert a.table.attrs == b.table.attrs
                elif method == "repurchase":
                    pd.testing.assert_frame_equal(a.overall, b.overall)
                    pd.testing.assert_frame_equal(a.by_cohort, b.by_cohort)
                else:
                    same_survival(a, b)
    spend = pd.DataFrame({"period": list(pd.period_range("2022-11", "2024-01", freq="M")) * 3,
                          "amount": 700.0, "channel": ["私域"] * 15 + ["公域"] * 15 + ["live"] * 15})
    for ex in ("2023-01-01", "2023-05-01"):
        pd.testing.assert_frame_equal(
            siyu.unit_economics(tx, spend, by="channel", horizon=4, existing_before=ex),
            siyu.unit_economics(dtx, spend, by="channel", horizon=4, existing_before=ex),
            rtol=RTOL)
        pd.testing.assert_frame_equal(
            siyu.compare_channels(tx, reference="公域", horizon=3, existing_before=ex),
            siyu.compare_channels(dtx, reference="公域", horizon=3, existing_before=ex),
            rtol=RTOL)
    for bad in ("2030-01-01", 20230101):
        with pytest.raises((ValueError, TypeError)) as one:
            tx.cohorts(existing_before=bad)
        with pytest.raises(one.type, match=f"^{re.escape(str(one.value))}$"):
            dtx.cohorts(existing_before=bad)


def test_blank_and_padded_text_ids_as_on_one_machine(client):
    ids = ["a", " a", "a ", "b", "b\t", "c", " c"] * 9
    df = pd.DataFrame({"u": ids, "t": pd.date_range("2023-01-01", periods=len(ids)),
                       "x": np.arange(len(ids), dtype=float)})
    tx = siyu.Transactions(df, customer="u", time="t", amount="x")
    dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=3), customer="u", time="t",
                                 amount="x", npartitions=8)
    assert dtx.n_customers == tx.n_customers == 3          # " a" and "a" are one customer
    same_frame(tx.summary(), dtx.summary())
    df.loc[40, "u"] = "   "
    with pytest.raises(ValueError) as one:
        siyu.Transactions(df, customer="u", time="t", amount="x")
    with pytest.raises(ValueError, match=f"^{re.escape(str(one.value))}$"):
        siyu.dask.Transactions(dd.from_pandas(df, npartitions=3), customer="u", time="t",
                               amount="x")


def test_more_partitions_than_customers_and_integer_ids(client):
    df = random_log(2, n_rows=300, n_cust=5, str_ids=False)
    tx = siyu.Transactions(df, customer="user", time="paid", amount="amount")
    dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=3), customer="user",
                                 time="paid", amount="amount", npartitions=12)
    same_frame(tx.summary(unit="W"), dtx.summary(unit="W"))
    same_cohorts(tx.cohorts(), dtx.cohorts())
    same_frame(tx.rfm(bins=5), dtx.rfm(bins=5))
    same_survival(tx.survival(churn_after=30), dtx.survival(churn_after=30))
    same_migration(tx.migration(), dtx.migration())
    assert dtx.customer_ids.compute().sort_values().tolist() == list(tx.customer_ids)


def test_bundled_online_retail_tables(client):
    df = siyu.datasets.load_online_retail()
    df["channel"] = np.where(df["customer_id"] % 3 == 0, "public", "private")
    tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount",
                           channel="channel")
    dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=4), customer="customer_id",
                                 time="date", amount="amount", channel="channel", npartitions=5)
    same_cohorts(tx.cohorts(by="channel"), dtx.cohorts(by="channel"))
    assert dtx.retention(days=[0, 7, 30]).table["eligible"].tolist() == [4338, 4307, 4086]
    pd.testing.assert_frame_equal(tx.repurchase().by_cohort, dtx.repurchase().by_cohort)
    same_survival(tx.survival(churn_after=90, by="channel"),
                  dtx.survival(churn_after=90, by="channel"))
    same_frame(tx.rfm(), dtx.rfm())
    assert round(dtx.survival(churn_after=90).rmst(180), 2) == 132.25      # the docstring's
    pd.testing.assert_frame_equal(siyu.compare_channels(tx), siyu.compare_channels(dtx),
                                  rtol=RTOL)


def assert_params(a, b, rtol=1e-6):
    np.testing.assert_allclose(b.params_.to_numpy(), a.params_.to_numpy(), rtol=rtol)
    assert b.log_likelihood_ == pytest.approx(a.log_likelihood_, rel=1e-9)
    assert (b.n_obs_, b.unit) == (a.n_obs_, a.unit)


def test_models_on_cdnow(client):
    df = siyu.datasets.load_cdnow()
    tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount")
    dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=3), customer="customer_id",
                                 time="date", amount="amount", npartitions=4)
    s = tx.summary(end="1997-09-30", unit="W")
    ds = dtx.summary(end="1997-09-30", unit="W")
    for model in (siyu.BetaGeo, siyu.ModifiedBetaGeo, siyu.ParetoNBD):
        a, b = model().fit(s), model().fit(ds)
        assert_params(a, b)
        assert b.n_unique_ == a.n_unique_
        for got, want in ((b.conditional_expected_purchases(10, ds),
                           a.conditional_expected_purchases(10, s)),
                          (b.probability_alive(ds), a.probability_alive(s))):
            assert isinstance(got, dd.Series)
            # two fits, on rows collapsed in different orders: optima agree to ~1e-8
            pd.testing.assert_series_equal(got.compute().loc[s.index], want, rtol=1e-6)
        # the same fitted model predicting per partition agrees to rounding
        pd.testing.assert_series_equal(
            a.conditional_expected_purchases(10, ds).compute().loc[s.index],
            a.conditional_expected_purchases(10, s), rtol=1e-12)
    rep = s[s["frequency"] > 0]
    gg_a, gg_b = siyu.GammaGamma().fit(rep), siyu.GammaGamma().fit(ds)
    assert_params(gg_a, gg_b)
    pd.testing.assert_series_equal(                  # the same model on both inputs
        gg_b.conditional_expected_average_value(ds).compute().loc[s.index],
        gg_b.conditional_expected_average_value(s), rtol=1e-12)
    bg = siyu.BetaGeo().fit(s)
    c1 = siyu.clv(bg, gg_a, s, horizon=12, unit="M", discount_rate=0.01)
    c2 = siyu.clv(bg, gg_a, ds, horizon=12, unit="M", discount_rate=0.01)
    assert isinstance(c2, dd.DataFrame)
    pd.testing.assert_frame_equal(c2.compute().loc[s.index], c1, rtol=1e-9)
    ch = tx.calibration_holdout("1997-09-30", "1998-06-30", unit="W")
    dch = dtx.calibration_holdout("1997-09-30", "1998-06-30", unit="W")
    assert_params(siyu.ParetoNBD().fit(ch), siyu.ParetoNBD().fit(dch))
    # a weights column and a filter on the Dask frame
    big = s[s["frequency"] > 1].assign(weights=2.0)
    dbig = ds[ds["frequency"] > 1].assign(weights=2.0)
    assert_params(siyu.BetaGeo().fit(big), siyu.BetaGeo().fit(dbig))


def test_bgbb_on_a_dask_frame(client):
    x = [0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6]
    t = [0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 3, 4, 5, 6, 4, 5, 6, 5, 6, 6]
    w = [3464, 1091, 277, 129, 78, 119, 129, 613, 255, 155, 173, 234, 322, 181,
         225, 357, 240, 284, 512, 335, 728, 1203]
    df = pd.DataFrame({"frequency": np.repeat(x, w), "recency": np.repeat(t, w),
                       "n_periods": 6}).sample(frac=1.0, random_state=3)
    a = siyu.BetaGeoBetaBinom().fit(df)
    b = siyu.BetaGeoBetaBinom().fit(dd.from_pandas(df, npartitions=4))
    assert_params(a, b)
    got = b.probability_alive(dd.from_pandas(df, npartitions=4)).compute().loc[df.index]
    # mapped over partitions: the same numbers as the same model on one machine
    pd.testing.assert_series_equal(got, b.probability_alive(df), rtol=1e-9)
    # and the two fits' predictions agree as closely as their parameters
    pd.testing.assert_series_equal(got, a.probability_alive(df), rtol=1e-6)


def test_one_customer_across_files_parquet_and_csv(client, tmp_path):
    df = random_log(3, n_rows=3000, n_cust=400)
    df.loc[[5, 1400, 2999], "user"] = "00042"               # one customer in every file
    df["paid"] = df["paid"].dt.strftime("%Y-%m-%d")
    (tmp_path / "pq").mkdir()
    (tmp_path / "csv").mkdir()
    for i, (a, b) in enumerate([(0, 1000), (1000, 2000), (2000, 3000)]):
        df.iloc[a:b].to_parquet(tmp_path / "pq" / f"part-{i}.parquet")
        df.iloc[a:b].to_csv(tmp_path / "csv" / f"part-{i}.csv", index=False)
    tx = siyu.Transactions(df, customer="user", time="paid", amount="amount", channel="channel")
    for src in (tmp_path / "pq", str(tmp_path / "csv" / "*.csv")):
        dtx = siyu.dask.Transactions(src, customer="user", time="paid", amount="amount",
                                     channel="channel")
        s = same_frame(tx.summary(), dtx.summary())
        assert s.loc["00042", "n_orders"] == tx.summary().loc["00042", "n_orders"]
        same_cohorts(tx.cohorts(by="channel"), dtx.cohorts(by="channel"))
    # CSV ids are text: "00042" is not 42
    assert "00042" in siyu.dask.Transactions(str(tmp_path / "csv"), customer="user", time="paid",
                                             amount="amount").customer_ids.compute().tolist()


def test_split_by_customer_keeps_whole_customers_in_input_order():
    from siyu.dask import _transactions as dt

    df = random_log(5, n_rows=4000, n_cust=500)
    ids = df["user"].astype("string[pyarrow]")
    for col in (df["user"], ids, pd.Series(np.arange(4000) % 37 * 10**12, name="user")):
        frame = pd.DataFrame({"user": col.to_numpy() if col.dtype == object else col.array,
                              "row": np.arange(len(col))})
        for n in (1, 2, 7):
            pieces = dt._split(frame, "user", n)
            assert len(pieces) == n and sum(len(p) for p in pieces) == len(frame)
            seen: dict = {}
            for i, p in enumerate(pieces):
                assert p["row"].is_monotonic_increasing          # input order kept
                assert p["user"].dtype == frame["user"].dtype
                for u in p["user"].unique():
                    assert seen.setdefault(u, i) == i            # a customer in one piece
            back = pd.concat(pieces).sort_values("row", ignore_index=True)
            pd.testing.assert_frame_equal(back, frame)
    # equal ids in two different frames (two input partitions) land in the same piece
    a = dt._split(pd.DataFrame({"user": ["x", "y", "z"]}), "user", 5)
    b = dt._split(pd.DataFrame({"user": ["z", "x", "q", "y"]}), "user", 5)
    for pa_, pb in zip(a, b):
        assert set(pa_["user"]) == set(pb["user"]) - {"q"}


def test_dask_shuffle_fallback_gives_the_same_log(client, monkeypatch):
    """Beyond _MAX_PIECES pieces Dask's own shuffle is used: the same results."""
    from siyu.dask import _transactions as dt

    df = random_log(6, n_rows=3000, n_cust=300)
    tx = siyu.Transactions(df, customer="user", time="paid", amount="amount", channel="channel")
    kw = dict(customer="user", time="paid", amount="amount", channel="channel", npartitions=4)
    ddf = uneven(df, [0, 700, 700, 2100, len(df)])
    hand = siyu.dask.Transactions(ddf, **kw)
    monkeypatch.setattr(dt, "_MAX_PIECES", 0)
    own = siyu.dask.Transactions(ddf, **kw)
    for dtx in (hand, own):
        same_frame(tx.summary(), dtx.summary())
        same_cohorts(tx.cohorts(by="channel"), dtx.cohorts(by="channel"))


def test_bad_input_raises_the_single_machine_error(client):
    df = random_log(4, n_rows=4000)
    df.loc[3100, "amount"] = np.nan                          # in the 4th of 5 partitions
    with pytest.raises(ValueError) as single:
        siyu.Transactions(df, customer="user", time="paid", amount="amount")
    with pytest.raises(ValueError) as dist:
        siyu.dask.Transactions(dd.from_pandas(df, npartitions=5), customer="user", time="paid",
                               amount="amount")
    assert str(dist.value) == str(single.value)
    assert "positions 3100" in str(dist.value)
    bad = random_log(4, n_rows=4000)
    bad["paid"] = bad["paid"].astype(str)
    bad.loc[[2222, 2230], "paid"] = "not a day"
    with pytest.raises(ValueError) as single:
        siyu.Transactions(bad, customer="user", time="paid", amount="amount")
    with pytest.raises(ValueError) as dist:
        siyu.dask.Transactions(dd.from_pandas(bad, npartitions=3), customer="user",
                               time="paid", amount="amount")
    assert str(dist.value) == str(single.value)
    with pytest.raises(ValueError) as single:
        siyu.Transactions(df, customer="user", time="when", amount="amount")
    with pytest.raises(ValueError) as dist:
        siyu.dask.Transactions(dd.from_pandas(df, npartitions=2), customer="user", time="when",
                               amount="amount")
    assert str(dist.value) == str(single.value)
    good = random_log(4, n_rows=500)
    tx = siyu.Transactions(good, customer="user", time="paid", amount="amount")
    dtx = siyu.dask.Transactions(dd.from_pandas(good, npartitions=2), customer="user",
                                 time="paid", amount="amount")
    for call in (lambda t: t.cohorts(end="2001-01-01"), lambda t: t.summary(freq="Q"),
                 lambda t: t.rfm(bins=1), lambda t: t.lifecycle(bounds=(5, 2)),
                 lambda t: t.retention(kind="bracket"), lambda t: t.cohorts(by="channel"),
                 lambda t: t.survival(churn_after=-1), lambda t: t.value_tiers(roster="abc")):
        with pytest.raises((ValueError, TypeError)) as single:
            call(tx)
        with pytest.raises(type(single.value)) as dist:
            call(dtx)
        assert str(dist.value) == str(single.value)


def test_worker_killed_mid_computation(client):
    df = random_log(5, n_rows=8000, n_cust=1500)
    tx = siyu.Transactions(df, customer="user", time="paid", amount="amount")
    dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=4), customer="user",
                                 time="paid", amount="amount", npartitions=8)
    summary = dtx.summary()

    def slow(part):                      # keeps the workers busy long enough to kill one
        time.sleep(0.25)
        return part

    fut = client.compute(summary.map_partitions(slow, meta=summary._meta))
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    deadline = time.time() + 10
    while not client.processing(victim).get(victim) and time.time() < deadline:
        time.sleep(0.02)
    assert client.processing(victim).get(victim), "no task ever started on the worker"
    os.kill(pids[victim], signal.SIGKILL)
    got = fut.result(timeout=120)
    pd.testing.assert_frame_equal(got.loc[tx.summary().index], tx.summary(), rtol=RTOL)
    client.wait_for_workers(2, timeout=60)
    # the persisted partitions lost with the worker are rebuilt from the input
    same_cohorts(tx.cohorts(), dtx.cohorts())


def _sections(path) -> dict[str, str]:
    """The report's sections by id, without the (binary) plot images."""
    page = re.sub(r"data:image/png;base64,[^\"']+", "", open(path, encoding="utf-8").read())
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', page, flags=re.S))


def test_cluster_report_and_cli_options(client, tmp_path):
    """`python -m siyu report FOLDER --scheduler ADDRESS` end to end (through _report),
    with --existing-before: every section equals the single-machine report's."""
    from siyu.__main__ import UsageError, _parser, _report, _wants_cluster, main
    from siyu.report import write_report

    df = random_log(6, n_rows=2500, n_cust=300)
    df["channel"] = df["channel"].fillna("other")
    (tmp_path / "log").mkdir()
    for i in range(2):
        df.iloc[i * 1250:(i + 1) * 1250].to_parquet(tmp_path / "log" / f"p{i}.parquet")
    argv = ["report", str(tmp_path / "log"), "--customer", "user", "--time", "paid",
            "--amount", "amount", "--channel", "channel", "--scheduler",
            client.scheduler.address, "--partitions", "3", "--existing-before", "2023-01-01",
            "--quiet", "--out", str(tmp_path / "a.html")]
    args = _parser().parse_args(argv)
    assert _wants_cluster(args) and args.partitions == 3
    assert main(argv) == 0
    tx = siyu.Transactions(df, customer="user", time="paid", amount="amount", channel="channel")
    b = write_report(tx, out=str(tmp_path / "b.html"), existing_before="2023-01-01")
    got, want = _sections(tmp_path / "a.html"), _sections(b)
    assert "existing" in got["cohorts"] and "2023-01-01" in got["cohorts"]
    # a Dask log has no construction data-quality table and no recall list (yet)
    assert set(want) - set(got) == {"data", "contact"} and set(got) <= set(want)
    for name in got:
        assert got[name] == want[name], name
    assert not _wants_cluster(_parser().parse_args(["report", "x.csv", "--customer", "u",
                                                    "--time", "t", "--amount", "a"]))
    with pytest.raises(SystemExit):
        _parser().parse_args(["report", "x", "--customer", "u", "--time", "t", "--amount", "a",
                              "--scheduler", "tcp://x:1", "--workers", "2"])
    base = argv[:10] + ["--quiet", "--out", str(tmp_path / "c.html")]
    for extra in (["--scheduler", client.scheduler.address, "--recall-csv",
                   str(tmp_path / "r.csv")],
                  ["--scheduler", client.scheduler.address, "--time-format", "dmy"],
                  ["--workers", "0"]):
        with pytest.raises(UsageError, match=extra[2] if len(extra) > 2 else extra[0]):
            _report(_parser().parse_args(base + extra))
    assert not (tmp_path / "c.html").exists()


def test_docstring_examples(client):
    import siyu.dask._transactions as mod

    for m in (siyu.dask, mod):
        res = doctest.testmod(m, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        assert res.failed == 0 and res.attempted > 0


# --------------------------------------------------------------------------- exact ranks
def _local_reduce(arrays):
    def reduce(func, combine, *args):
        out = func(arrays[0], *args)
        for a in arrays[1:]:
            out = combine(out, func(a, *args))
        return out
    return reduce


@pytest.mark.parametrize("case", ["ties", "wide", "zeros", "tiny", "random"])
def test_distributed_scores_equal_the_c_kernel(case):
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    n = 5000
    if case == "ties":
        v = rng.choice([1.0, 2.0, 2.0, 5.5, 100.0], n)
    elif case == "wide":
        v = np.concatenate([rng.normal(0, 1e-300, 100), rng.lognormal(0, 20, n), [-1e308, 1e308]])
    elif case == "zeros":
        v = np.concatenate([np.zeros(n // 2), -np.zeros(n // 3), rng.normal(0, 1, n // 4)])
    elif case == "tiny":
        v = np.array([3.0, -2.0, 3.0])
    else:
        v = np.round(rng.gamma(1.5, 80, n), 2) - 20
    splits = np.sort(rng.integers(0, v.size, 4))
    parts = [np.sort(p + 0.0) for p in np.split(v, splits)]
    reduce = _local_reduce(parts)
    old = _select._GATHER
    try:
        for gather in (old, 0):                 # gather early, or refine down to 64 bits
            _select._GATHER = gather
            for bins in (2, 3, 5, 7, 10, 100):
                for ties in ("min", "average", "max"):
                    want = siyu._core.quantile_scores(v.astype(np.float64), bins,
                                                      {"min": 0, "average": 1, "max": 2}[ties])
                    u = _select.thresholds(reduce, parts, v.size, bins, ties)
                    got = _select.scores_from_thresholds(v, u, bins)
                    np.testing.assert_array_equal(got, want)
                    uq, cnt = np.unique(v + 0.0, return_counts=True)
                    np.testing.assert_array_equal(
                        _select.scores_from_counts(v + 0.0, uq, cnt, bins, ties), want)
    finally:
        _select._GATHER = old


def test_select_returns_exact_order_statistics():
    rng = np.random.default_rng(7)
    v = np.concatenate([rng.standard_cauchy(3000), np.full(500, 7.25), [-0.0, 0.0]])
    parts = [np.sort(p) for p in np.array_split(rng.permutation(v), 5)]
    ranks = [0, 1, 17, 1500, 2999, 3200, v.size - 1]
    got = _select.select(_local_reduce(parts), parts, ranks)
    np.testing.assert_array_equal(got, np.sort(v)[ranks])


def test_order_columns_pass_through_or_are_refused(client):
    import inspect

    df = random_log(8, n_rows=400, n_cust=50)
    # line items: pairs of a customer's rows share an order id
    df["order_id"] = df["user"] + "-" + (df.groupby("user").cumcount() // 2).astype(str)
    kw = dict(customer="user", time="paid", amount="amount", order="order_id")
    if "order" not in inspect.signature(siyu.Transactions).parameters:
        with pytest.raises(TypeError, match="does not accept order="):
            siyu.dask.Transactions(dd.from_pandas(df, npartitions=2), **kw)
        return
    tx = siyu.Transactions(df, **kw)                      # once order semantics exist
    dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=2), npartitions=3, **kw)
    same_frame(tx.summary(), dtx.summary())
    same_cohorts(tx.cohorts(), dtx.cohorts())
