"""Slow, obviously-correct pandas oracles for siyu.metrics (tests only).

Each takes a plain DataFrame with columns ``customer``, ``date`` (datetime64),
``amount`` and optionally ``channel``, and re-derives DESIGN.md section 2c with
groupby / drop_duplicates / merge, the way an analyst would, without siyu.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}
RFM8_ZH = ["重要价值客户", "重要发展客户", "重要保持客户", "重要挽留客户",
           "一般价值客户", "一般发展客户", "一般保持客户", "一般挽留客户"]
# (R high, F high, M high) of each class, in the order above
RFM8_BITS = [(1, 1, 1), (1, 0, 1), (0, 1, 1), (0, 0, 1), (1, 1, 0), (1, 0, 0), (0, 1, 0),
             (0, 0, 0)]


def _prep(df: pd.DataFrame) -> pd.DataFrame:
    d = df.reset_index(drop=True).copy()
    d["row"] = np.arange(len(d))
    d["day"] = d["date"].dt.normalize()
    d["purchase"] = d["amount"] >= 0 if "amount" in d else True
    return d


def acquisition_channel(df: pd.DataFrame, end) -> pd.Series:
    """Channel of each customer's first purchase row on or before end (input order
    breaks same-day ties)."""
    d = _prep(df)
    p = d[d["purchase"] & (d["day"] <= pd.Timestamp(end))]
    first = p.sort_values(["day", "row"]).drop_duplicates("customer")
    return first.set_index("customer")["channel"]


def ref_repeat_rate(df, start, end, same_day="merge", by=False, period=None) -> pd.DataFrame:
    """Rows (channel?, period?) -> buyers, repeat_buyers, orders."""
    d = _prep(df)
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    w = d[d["purchase"] & (d["day"] >= lo) & (d["day"] <= hi)].copy()
    keys = ["customer"]
    if period is not None:
        w["period"] = w["day"].dt.to_period(FREQ[period])
        keys.append("period")
    if same_day == "merge":
        units = w.groupby(keys)["day"].nunique()
    else:
        units = w.groupby(keys).size()
    u = units.rename("units").reset_index()
    gkeys = []
    if by:
        u["channel"] = u["customer"].map(acquisition_channel(df, hi))
        gkeys.append("channel")
    if period is not None:
        gkeys.append("period")
    u["rep"] = u["units"] >= 2
    if not gkeys:
        return pd.DataFrame({"buyers": [len(u)], "repeat_buyers": [int(u["rep"].sum())],
                             "orders": [int(u["units"].sum())]})
    g = u.groupby(gkeys)
    return pd.DataFrame({"buyers": g.size(), "repeat_buyers": g["rep"].sum(),
                         "orders": g["units"].sum()})


def ref_return_rate(df, period="M", start=None, end=None, by=False) -> pd.DataFrame:
    """Rows (channel?, period) -> buyers, returned (periods with buyers only)."""
    d = _prep(df)
    lo = d["day"].min() if start is None else pd.Timestamp(start)
    hi = d["day"].max() if end is None else pd.Timestamp(end)
    w = d[d["purchase"] & (d["day"] >= lo) & (d["day"] <= hi)].copy()
    w["period"] = w["day"].dt.to_period(FREQ[period])
    act = w[["customer", "period"]].drop_duplicates()
    nxt = act.assign(period=act["period"] - 1, returned=True)
    m = act.merge(nxt, on=["customer", "period"], how="left")
    m["returned"] = m["returned"].eq(True)
    gkeys = ["period"]
    if by:
        m["channel"] = m["customer"].map(acquisition_channel(df, hi))
        gkeys = ["channel", "period"]
    g = m.groupby(gkeys)
    return pd.DataFrame({"buyers": g.size(), "returned": g["returned"].sum()})


def ref_new_customer_repeat_rate(df, period="M", within=30, periods=None, end=None,
                                 existing_before=None, by=False) -> pd.DataFrame:
    """Rows (channel?, cohort) -> new_customers, repeated (cohorts with customers only)."""
    d = _prep(df)
    hi = d["day"].max() if end is None else pd.Timestamp(end)
    p = d[d["purchase"] & (d["day"] <= hi)]
    days = p[["customer", "day"]].drop_duplicates().sort_values(["customer", "day"])
    days["n"] = days.groupby("customer").cumcount()
    first = days[days["n"] == 0].set_index("customer")["day"]
    second = days[days["n"] == 1].set_index("customer")["day"].reindex(first.index)
    t = pd.DataFrame({"first": first, "second": second})
    if existing_before is not None:
        t = t[t["first"] >= pd.Timestamp(existing_before)]
    t["cohort"] = t["first"].dt.to_period(FREQ[period])
    if periods is None:
        t["rep"] = (t["second"] - t["first"]).dt.days <= within
    else:
        sp = t["second"].dt.to_period(FREQ[period])
        t["rep"] = t["second"].notna() & (sp <= t["cohort"] + periods)
        t["rep"] = t["rep"].fillna(False).astype(bool)
    gkeys = ["cohort"]
    if by:
        t["channel"] = acquisition_channel(df, hi).reindex(t.index)
        gkeys = ["channel", "cohort"]
    g = t.groupby(gkeys)
    return pd.DataFrame({"new_customers": g.size(), "repeated": g["rep"].sum()})


def customer_rfm(df, as_of) -> pd.DataFrame:
    """days_since_last, occasions, orders, revenue per customer with a purchase by as_of."""
    d = _prep(df)
    as_of = pd.Timestamp(as_of)
    d = d[d["day"] <= as_of]
    p = d[d["purchase"]]
    g = p.groupby("customer")
    out = pd.DataFrame({"days_since_last": (as_of - g["day"].max()).dt.days,
                        "occasions": g["day"].nunique(), "orders": g.size()})
    out["revenue"] = d.groupby("customer")["amount"].sum().reindex(out.index)
    return out.sort_index()


def ref_rfm8(df, as_of, threshold="mean") -> pd.DataFrame:
    c = customer_rfm(df, as_of)
    cols = {"R": "days_since_last", "F": "occasions", "M": "revenue"}
    rule = threshold if isinstance(threshold, dict) else {k: threshold for k in "RFM"}
    thr = {}
    for k, col in cols.items():
        r = rule.get(k, "mean")
        thr[k] = c[col].mean() if r == "mean" else c[col].median() if r == "median" else r
    c["R"] = (c["days_since_last"] < thr["R"]).astype(int)
    c["F"] = (c["occasions"] > thr["F"]).astype(int)
    c["M"] = (c["revenue"] > thr["M"]).astype(int)
    lut = {bits: name for bits, name in zip(RFM8_BITS, RFM8_ZH)}
    c["segment"] = [lut[(r, f, m)] for r, f, m in zip(c["R"], c["F"], c["M"])]
    c.attrs["thresholds"] = thr
    return c


def ref_rfm_matrix(df, as_of, rows, cols, values, edges) -> np.ndarray:
    c = customer_rfm(df, as_of)
    col = {"R": "days_since_last", "F": "occasions", "M": "revenue"}
    cuts = {}
    for k in (rows, cols):
        e = [-np.inf] + list(edges[k]) + [np.inf]
        cuts[k] = pd.cut(c[col[k]], e, right=True, labels=False)
    nr, nc = len(edges[rows]) + 1, len(edges[cols]) + 1
    if values == "customers":
        t = pd.crosstab(cuts[rows], cuts[cols])
    elif values == "revenue":
        t = pd.crosstab(cuts[rows], cuts[cols], values=c["revenue"], aggfunc="sum")
    else:
        rev = pd.crosstab(cuts[rows], cuts[cols], values=c["revenue"], aggfunc="sum")
        orders = pd.crosstab(cuts[rows], cuts[cols], values=c["orders"], aggfunc="sum")
        t = rev / orders
    t = t.reindex(index=range(nr), columns=range(nc))
    if values != "aov":
        t = t.fillna(0)
    return t.to_numpy(dtype=float)
