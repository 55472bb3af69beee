"""unit_economics and compare_channels against hand-computed cases and a pandas oracle."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu.economics import compare_channels, unit_economics


def log(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    df["date"] = pd.to_datetime(df["date"])
    return siyu.Transactions(df)


def oracle(df: pd.DataFrame, spend: pd.Series, horizon: int, margin: float, end: str) -> pd.DataFrame:
    """Plain pandas: monthly cohorts, cumulative margin per customer, CAC, payback."""
    end_p = pd.Period(end, "M")
    d = df[df["date"] <= pd.Timestamp(end)].copy()
    d["m"] = d["date"].dt.to_period("M")
    buys = d[d["amount"] >= 0]
    first = buys.groupby("customer_id")["m"].min()
    d = d[d["customer_id"].isin(first.index)]
    d["cohort"] = d["customer_id"].map(first)
    d["age"] = (d["m"] - d["cohort"]).apply(lambda x: x.n)
    sizes = first.value_counts().sort_index()
    rows = {}
    end_cut = pd.Timestamp(end) < end_p.end_time.normalize()      # the last month is partial
    for c, size in sizes.items():
        n_obs = (end_p - c).n + 1
        n_full = n_obs - int(end_cut)                              # months observed in full
        g = d[d["cohort"] == c]
        rev = g.groupby("age")["amount"].sum().reindex(range(n_obs), fill_value=0.0)
        cum = rev.cumsum() * margin / size
        orders = g[(g["amount"] >= 0) & (g["age"] < horizon)].shape[0]
        cac = spend.get(c, np.nan) / size
        complete = n_full >= horizon
        ltv = cum.iloc[horizon - 1] if complete else np.nan
        hit = np.flatnonzero(cum.to_numpy() >= cac) if not np.isnan(cac) else []
        rows[str(c)] = {"new_customers": size, "cac": cac, "ltv": ltv,
                        "payback_periods": float(hit[0]) if len(hit) else np.nan,
                        "orders_per_customer": orders / size if complete else np.nan,
                        "observed_periods": n_full,
                        "ltv_to_date": cum.iloc[min(n_obs, horizon) - 1]}
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.mark.parametrize("seed", range(4))
def test_matches_pandas_oracle(seed):
    rng = np.random.default_rng(seed)
    n = 600
    df = pd.DataFrame({
        "customer_id": rng.integers(0, 120, n),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
        "amount": np.round(rng.gamma(2, 30, n), 2) * np.where(rng.random(n) < 0.07, -0.3, 1.0),
    })
    months = pd.period_range("2023-01", "2024-05", freq="M")
    spend = pd.Series(rng.uniform(100, 3000, len(months)).round(2), index=months)
    end = "2024-04-20"
    horizon, margin = 1 + seed * 2, 0.4
    got = unit_economics(siyu.Transactions(df), pd.DataFrame({"period": months, "amount": spend.values}),
                         horizon=horizon, margin=margin, end=end)
    want = oracle(df, spend, horizon, margin, end)
    body = got.drop(index="total").loc[want.index]
    assert body["new_customers"].tolist() == want["new_customers"].tolist()
    for c in ("cac", "ltv", "payback_periods", "orders_per_customer", "observed_periods",
              "ltv_to_date"):
        np.testing.assert_allclose(body[c].to_numpy(float), want[c].to_numpy(float), rtol=1e-12,
                                   atol=1e-9, err_msg=c)
    # spend months after the last cohort have no customers: reported, flagged
    extra = got.drop(index="total").drop(index=want.index)
    assert (extra["new_customers"] == 0).all() and extra["no_customers"].all()
    assert len(extra) == len(months) - len(want)
    tot = got.loc["total"]
    assert tot["new_customers"] == want["new_customers"].sum()
    assert tot["cac"] == pytest.approx(spend[want.index.map(pd.Period)].sum() / want["new_customers"].sum())
    # the blended LTV and orders: complete cohorts weighted by their size
    full = want[want["ltv"].notna()]
    if len(full):
        w = full["new_customers"].to_numpy(float)
        assert tot["ltv"] == pytest.approx((full["ltv"] * w).sum() / w.sum(), rel=1e-12)
        assert tot["orders_per_customer"] == pytest.approx(
            (full["orders_per_customer"] * w).sum() / w.sum(), rel=1e-12)
        assert tot["ltv_cac"] == pytest.approx(tot["ltv"] / tot["cac"], rel=1e-12)
    else:
        assert np.isnan(tot["ltv"])


def test_total_ltv_is_weighted_by_cohort_size_by_hand():
    # Jan: 1 customer worth 100; Feb: 3 customers worth 10 each (horizon 1, margin 1)
    tx = log([(1, "2024-01-05", 100.0), (2, "2024-02-01", 10.0), (3, "2024-02-02", 10.0),
              (4, "2024-02-03", 10.0), (2, "2024-03-31", 1.0)])
    spend = pd.DataFrame({"period": ["2024-01-01", "2024-02-01"], "amount": [40.0, 40.0]})
    ue = unit_economics(tx, spend, horizon=1)
    tot = ue.loc["total"]
    assert tot["ltv"] == pytest.approx((100.0 * 1 + 10.0 * 3) / 4)    # 32.5, not (100 + 10)/2
    assert tot["orders_per_customer"] == 1.0
    assert tot["cac"] == 20.0 and tot["ltv_cac"] == pytest.approx(32.5 / 20.0)
    assert tot["profit_per_customer"] == pytest.approx(12.5)


def test_payback_boundaries_by_hand():
    # Jan cohort: 2 customers, 50 each in Jan, 50 each in Feb -> cum/customer 50, 100
    tx = log([(1, "2024-01-05", 50.0), (2, "2024-01-10", 50.0),
              (1, "2024-02-01", 50.0), (2, "2024-02-02", 50.0),
              (3, "2024-02-10", 10.0), (3, "2024-03-31", 10.0)])
    spend = pd.DataFrame({"period": ["2024-01-01", "2024-02-01", "2024-03-01"],
                          "amount": [200.0, 5.0, 0.0]})
    ue = unit_economics(tx, spend, horizon=2, end="2024-03-31")
    jan, feb, mar = ue.loc["2024-01"], ue.loc["2024-02"], ue.loc["2024-03"]
    assert jan["cac"] == 100.0
    assert jan["payback_periods"] == 1 and jan["payback_reached"]   # exactly on the boundary
    assert jan["ltv"] == 100.0 and jan["ltv_cac"] == 1.0 and jan["profit_per_customer"] == 0.0
    assert jan["orders_per_customer"] == 2.0 and jan["cost_per_order"] == 50.0
    assert feb["payback_periods"] == 0                             # paid back at age 0
    assert mar["new_customers"] == 0 and mar["no_customers"]       # spend, nobody acquired
    # CAC above anything earned: never reached -> NaN and a flag, no extrapolation
    ue2 = unit_economics(tx, spend.assign(amount=[1000.0, 5.0, 0.0]), horizon=2, end="2024-03-31")
    assert np.isnan(ue2.loc["2024-01", "payback_periods"])
    assert not ue2.loc["2024-01", "payback_reached"]


def test_zero_spend_gives_infinite_ratio_with_flag():
    tx = log([(1, "2024-01-05", 50.0), (1, "2024-02-05", 50.0)])
    ue = unit_economics(tx, pd.DataFrame({"period": ["2024-01-01"], "amount": [0.0]}), horizon=1)
    row = ue.loc["2024-01"]
    assert row["cac"] == 0.0 and np.isinf(row["ltv_cac"]) and row["zero_spend"]
    assert row["payback_periods"] == 0


def test_customers_without_spend_row_are_flagged_not_dropped():
    tx = log([(1, "2024-01-05", 50.0), (2, "2024-02-05", 20.0), (2, "2024-03-05", 20.0)])
    ue = unit_economics(tx, pd.DataFrame({"period": ["2024-01-15"], "amount": [10.0]}), horizon=1)
    assert ue.loc["2024-02", "no_spend_row"] and np.isnan(ue.loc["2024-02", "cac"])
    assert ue.attrs["no_spend_row"] == ["2024-02"]
    assert ue.loc["total", "cac"] == 10.0               # blended over rows with spend


def test_incomplete_cohorts_have_no_horizon_ltv():
    tx = log([(1, "2024-01-05", 50.0), (2, "2024-03-05", 20.0)])
    ue = unit_economics(tx, None, horizon=3, end="2024-03-31")
    assert ue.loc["2024-01", "complete"] and ue.loc["2024-01", "ltv"] == 50.0
    assert not ue.loc["2024-03", "complete"] and np.isnan(ue.loc["2024-03", "ltv"])
    assert ue.loc["2024-03", "ltv_to_date"] == 20.0 and ue.loc["2024-03", "observed_periods"] == 1


def _channel_tx():
    df = pd.DataFrame({
        "customer_id": [1, 1, 2, 3, 3, 3, 4],
        "date": pd.to_datetime(["2024-01-03", "2024-02-03", "2024-01-09", "2024-01-10",
                                "2024-01-20", "2024-03-01", "2024-02-01"]),
        "amount": [100.0, 50.0, 30.0, 200.0, 100.0, 100.0, 10.0],
        "ch": ["public", "public", "public", "private", "private", "private", "private"],
    })
    return siyu.Transactions(df, channel="ch")


def test_spend_errors():
    tx = _channel_tx()
    bad_channel = pd.DataFrame({"period": ["2024-01-01"], "ch": ["tiktok"], "amount": [5.0]})
    with pytest.raises(ValueError, match="tiktok"):
        unit_economics(tx, bad_channel, by="ch")
    neg = pd.DataFrame({"period": ["2024-01-01"], "ch": ["public"], "amount": [-5.0]})
    with pytest.raises(ValueError, match="negative"):
        unit_economics(tx, neg, by="ch")
    with pytest.raises(ValueError, match="missing column"):
        unit_economics(tx, pd.DataFrame({"period": ["2024-01-01"], "amount": [1.0]}), by="ch")
    with pytest.raises(ValueError, match="horizon"):
        unit_economics(tx, None, horizon=0)
    with pytest.raises(ValueError, match="margin"):
        unit_economics(tx, None, margin=1.5)
    with pytest.raises(ValueError, match="predicted"):
        unit_economics(tx, None, ltv="predicted")


def test_by_channel_and_compare_channels_by_hand():
    tx = _channel_tx()
    spend = pd.DataFrame({"period": ["2024-01-01", "2024-01-01", "2024-02-01"],
                          "ch": ["public", "private", "private"], "amount": [20.0, 90.0, 30.0]})
    ue = unit_economics(tx, spend, by="ch", horizon=1, end="2024-03-31")
    assert ue.loc[("public", "2024-01"), "cac"] == 10.0
    assert ue.loc[("private", "2024-01"), "cac"] == 90.0
    assert ue.loc[("private", "2024-02"), "ltv"] == 10.0
    cmp = compare_channels(tx, by="ch", spend=spend, horizon=1, reference="public")
    assert cmp.loc["public", "customers"] == 2 and cmp.loc["private", "customers"] == 2
    assert cmp.loc["public", "repurchase_rate"] == 0.5 and cmp.loc["private", "repurchase_rate"] == 0.5
    assert cmp.loc["private", "orders_per_customer"] == 2.0
    # month-1 retention: public 1 of 2 (customer 1), private cohort Jan: 0 of 1 in Feb;
    # Feb cohort (customer 4) is observed at age 1 (March) and inactive -> 0 of 2
    assert cmp.loc["public", "retention_m1"] == 0.5 and cmp.loc["private", "retention_m1"] == 0.0
    # LTV over the first month: public (100 + 30) / 2; private (300 + 10) / 2
    assert cmp.loc["public", "ltv"] == 65.0 and cmp.loc["private", "ltv"] == 155.0
    assert cmp.loc["private", "ltv_vs_public"] == pytest.approx(155 / 65)
    assert cmp.loc["public", "cac"] == 10.0 and cmp.loc["private", "cac"] == 60.0
    # annual spend: revenue / customer-years of exposure to 2024-03-01 (the log's end)
    years_pub = ((pd.Timestamp("2024-03-01") - pd.Timestamp("2024-01-03")).days
                 + (pd.Timestamp("2024-03-01") - pd.Timestamp("2024-01-09")).days) / 365.25
    assert cmp.loc["public", "annual_spend_per_customer"] == pytest.approx(180 / years_pub)
    with pytest.raises(ValueError, match="reference"):
        compare_channels(tx, by="ch", reference="nope")
    with pytest.raises(ValueError, match="channel"):
        compare_channels(log([(1, "2024-01-01", 1.0)]))


def test_predicted_ltv_against_a_hand_sum_of_the_model():
    """ltv="predicted": a young cohort's value = margin observed to end (pandas) + the
    model's expected purchases over the rest of the horizon, month by month from the day
    after end, valued at the spend model's mean and discounted per month -- summed
    here by hand from the models' primitives; orders likewise."""
    raw = siyu.datasets.load_cdnow()
    tx = siyu.Transactions(raw, customer="customer_id", time="date", amount="amount")
    end, horizon, margin, rate = "1997-06-20", 9, 0.5, 0.02
    s = tx.summary(end=end, unit="W")
    fit_on = s[s["T"] > 0]
    bg = siyu.BetaGeo().fit(fit_on)
    gg = siyu.GammaGamma().fit(fit_on[fit_on["frequency"] > 0])
    hist = unit_economics(tx, None, horizon=horizon, margin=margin, end=end)
    pred = unit_economics(tx, None, horizon=horizon, margin=margin, end=end, ltv="predicted",
                          models=(bg, gg), discount_rate=rate)
    flat = unit_economics(tx, None, horizon=horizon, margin=margin, end=end, ltv="predicted",
                          models=(bg, gg), discount_rate=0.0)
    assert not hist.drop(index="total")["complete"].any()     # CDNOW cohorts: Jan-Mar 1997
    d = raw[raw["date"] <= end]
    first = d[d["amount"] >= 0].groupby("customer_id")["date"].min()
    month_days = 365.25 / 12
    for cohort in ("1997-01", "1997-02", "1997-03"):
        c = pd.Period(cohort, "M")
        ids = first.index[first.dt.to_period("M") == c]
        rows = d[d["customer_id"].isin(ids)]
        observed = rows["amount"].sum() * margin / len(ids)
        observed_orders = (rows["amount"] >= 0).sum()
        # the rest of the horizon: from 1997-06-21 to the first day after age 8
        days_left = ((c + horizon).start_time - pd.Timestamp(end) - pd.Timedelta(days=1)).days
        months_left = days_left / month_days
        steps = list(range(1, int(np.ceil(months_left)) + 1))
        steps[-1] = months_left
        m = s.loc[ids]
        value = gg.conditional_expected_average_value(m["frequency"].to_numpy(float),
                                                      m["monetary_value"].to_numpy(float))
        cum_prev = np.zeros(len(m))
        residual = 0.0
        for step in steps:
            weeks = step * month_days / 7
            cum = bg.conditional_expected_purchases(weeks, m["frequency"].to_numpy(float),
                                                    m["recency"].to_numpy(float),
                                                    m["T"].to_numpy(float))
            residual += (margin * value * (cum - cum_prev)).sum() / (1 + rate) ** step
            cum_prev = cum
        row = pred.loc[cohort]
        assert row["ltv"] == pytest.approx(observed + residual / len(ids), rel=1e-9)
        assert row["orders_per_customer"] == pytest.approx(
            (observed_orders + cum_prev.sum()) / len(ids), rel=1e-9)
        assert hist.loc[cohort, "ltv_to_date"] == pytest.approx(observed, rel=1e-12)
        # discounting lowers the predicted part only
        assert observed < row["ltv"] < flat.loc[cohort, "ltv"]
        assert row["orders_per_customer"] == pytest.approx(
            flat.loc[cohort, "orders_per_customer"], rel=1e-12)
    # June is partial: observed_periods counts the five full months of the January cohort
    assert hist.loc["1997-01", "observed_periods"] == 5
    assert hist.attrs["partial"]


def test_compare_channels_skips_unobserved_and_partial_cells():
    # end 2024-03-20: March is partial.  Channel a: Jan cohort (1, 2; 1 back in Feb),
    # Feb cohort (3; back in March -- a partial cell), Mar cohort (4; month 1 unobserved).
    # Channel b: Jan cohort (5), never back.
    df = pd.DataFrame({
        "customer_id": [1, 2, 1, 3, 3, 4, 5],
        "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-03", "2024-02-05",
                                "2024-03-05", "2024-03-10", "2024-01-20"]),
        "amount": [10.0, 20.0, 5.0, 40.0, 1.0, 7.0, 3.0],
        "ch": ["a", "a", "a", "a", "a", "a", "b"]})
    tx = siyu.Transactions(df, channel="ch")
    cmp = compare_channels(tx, by="ch", horizon=1, retention_ages=(1, 2), reference="b")
    # month 1: only the Jan cohort counts (Feb's month 1 is partial, Mar's unobserved)
    assert cmp.loc["a", "retention_m1"] == 0.5 and cmp.loc["b", "retention_m1"] == 0.0
    # month 2 of the Jan cohort is March: partial -> nobody complete -> NaN
    assert np.isnan(cmp.loc["a", "retention_m2"]) and np.isnan(cmp.loc["b", "retention_m2"])
    # 1-month LTV over cohorts whose month 0 is complete: Jan and Feb of a, Jan of b
    assert cmp.loc["a", "ltv"] == pytest.approx((10 + 20 + 40) / 3)
    assert cmp.loc["b", "ltv"] == 3.0
    assert cmp.loc["a", "customers"] == 4          # counts are not averages: all customers
    # existing customers are counted apart and left out of everything else
    ex = compare_channels(tx, by="ch", horizon=1, retention_ages=(1,), reference="a",
                          existing_before="2024-02-01")
    assert ex.loc["a", "existing_customers"] == 2
    assert list(ex.index) == ["a"]                  # b has no acquired customer any more
    assert ex.loc["a", "customers"] == 2 and ex.attrs["n_existing"] == 3


def test_unit_economics_existing_row_and_spend_outside():
    tx = log([(1, "2024-01-05", 50.0), (2, "2024-01-10", 30.0), (1, "2024-02-01", 20.0),
              (3, "2024-02-10", 10.0), (4, "2024-03-02", 8.0), (3, "2024-03-31", 2.0)])
    spend = pd.DataFrame({"period": ["2023-11-01", "2024-01-01", "2024-02-01", "2024-03-01",
                                     "2024-05-01"], "amount": [9.0, 100.0, 40.0, 16.0, 5.0]})
    ue = unit_economics(tx, spend, horizon=1, existing_before="2024-02-01")
    ex = ue.loc["existing"]
    assert ex["existing"] and ex["new_customers"] == 2
    assert ex["ltv_to_date"] == pytest.approx((50 + 30 + 20) / 2)
    assert np.isnan(ex["cac"]) and np.isnan(ex["payback_periods"]) and np.isnan(ex["ltv"])
    # the January spend now buys nobody: a period without customers, CAC NaN
    assert ue.loc["2024-01", "new_customers"] == 0 and ue.loc["2024-01", "no_customers"]
    assert ue.loc["2024-02", "cac"] == 40.0 and ue.loc["2024-03", "cac"] == 16.0
    tot = ue.loc["total"]
    assert tot["new_customers"] == 2                   # existing customers are not new
    assert tot["cac"] == pytest.approx((40 + 16) / 2)
    assert not ue.drop(index="existing")["existing"].any()
    assert ue.attrs["spend_outside"] == ["2023-11", "2024-05"]
    assert ue.attrs["no_customers"] == ["2023-11", "2024-01", "2024-05"]
    assert ue.attrs["n_existing"] == 2
