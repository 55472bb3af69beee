"""Slow, obviously correct pandas oracles for siyu.actions (replenishment, due products,
cross-sell).  They work on the raw rows (one row per line item, refunds as negative
amounts) and share no code with siyu."""
from __future__ import annotations

import numpy as np
import pandas as pd


def purchases(df: pd.DataFrame, key: str, end: str | pd.Timestamp) -> pd.DataFrame:
    """Distinct (customer, key, day) purchases: paid rows (amount >= 0) with a label,
    dated on or before end."""
    d = df.copy()
    d["day"] = pd.to_datetime(d["t"]).dt.normalize()
    d = d[(d["amount"] >= 0) & (d["day"] <= pd.Timestamp(end)) & d[key].notna()]
    return d[["cust", key, "day"]].drop_duplicates().sort_values(["cust", key, "day"])


def km(durations: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """Product-limit estimate: a row at time 0 and at every distinct duration."""
    durations = np.asarray(durations, dtype=np.int64)
    events = np.asarray(events, dtype=bool)
    times = np.unique(np.concatenate([[0], durations]))
    rows = []
    s, v = 1.0, 0.0
    for t in times:
        at_risk = int((durations >= t).sum())
        d = int(((durations == t) & events).sum())
        c = int(((durations == t) & ~events).sum())
        if d:
            s *= 1 - d / at_risk
            if at_risk > d:
                v += d / (at_risk * (at_risk - d))
        rows.append((t, at_risk, d, c, s, v))
    return pd.DataFrame(rows, columns=["time", "at_risk", "events", "censored", "survival",
                                       "var"])


def km_quantile(curve: pd.DataFrame, q: float) -> float:
    hit = curve["survival"].to_numpy() <= 1 - q + 1e-12
    return float(curve["time"].to_numpy()[hit][0]) if hit.any() else float("nan")


def replenishment(df: pd.DataFrame, key: str, end: str, min_customers: int = 30
                  ) -> tuple[pd.DataFrame, dict]:
    p = purchases(df, key, end)
    p["gap"] = p.groupby(["cust", key])["day"].diff().dt.days
    last = p.groupby(["cust", key])["day"].max().reset_index()
    last["open"] = (pd.Timestamp(end) - last["day"]).dt.days
    rows, curves = {}, {}
    for label, g in p.groupby(key):
        closed = g["gap"].dropna().to_numpy()
        opened = last.loc[last[key] == label, "open"].to_numpy()
        buyers = g["cust"].nunique()
        rebuyers = g.loc[g["gap"].notna(), "cust"].nunique()
        dur = np.concatenate([closed, opened]).astype(np.int64)
        ev = np.concatenate([np.ones(closed.size, bool), np.zeros(opened.size, bool)])
        curve = km(dur, ev)
        curves[label] = curve
        qs = pd.Series(closed).quantile([0.25, 0.5, 0.75]).to_numpy() if closed.size else \
            np.full(3, np.nan)
        kmq = [km_quantile(curve, q) for q in (0.25, 0.5, 0.75)]
        rows[label] = dict(n_buyers=buyers, n_rebuyers=rebuyers, rebuy_share=rebuyers / buyers,
                           n_intervals=closed.size, gap_q25=qs[0], gap_median=qs[1],
                           gap_q75=qs[2], km_q25=kmq[0], km_median=kmq[1], km_q75=kmq[2],
                           cycle=kmq[1] if buyers >= min_customers else np.nan,
                           enough_data=buyers >= min_customers)
    return pd.DataFrame.from_dict(rows, orient="index"), curves


def due_products(df: pd.DataFrame, key: str, as_of: str, cycle: pd.Series, lead: float,
                 stale: float) -> pd.DataFrame:
    """(cust, key, over) for every due (customer, key), most overdue first then label."""
    p = purchases(df, key, as_of)
    last = p.groupby(["cust", key])["day"].max().reset_index()
    last["cycle"] = last[key].map(cycle)
    last = last[last["cycle"].notna() & (last["cycle"] > 0)]
    last["over"] = (pd.Timestamp(as_of) - last["day"]).dt.days - last["cycle"]
    due = last[(last["over"] >= -lead) & (last["over"] <= stale * last["cycle"])]
    return due.sort_values(["cust", "over", key], ascending=[True, False, True])


def own_median_gap(df: pd.DataFrame, as_of: str) -> pd.DataFrame:
    d = df.copy()
    d["day"] = pd.to_datetime(d["t"]).dt.normalize()
    d = d[(d["amount"] >= 0) & (d["day"] <= pd.Timestamp(as_of))]
    days = d[["cust", "day"]].drop_duplicates().sort_values(["cust", "day"])
    days["gap"] = days.groupby("cust")["day"].diff().dt.days
    g = days.groupby("cust")["gap"]
    return pd.DataFrame({"n_gaps": g.count(), "median": g.median(),
                         "last": days.groupby("cust")["day"].max()})


def cross_sell(df: pd.DataFrame, key: str, end: str, within: int | None = None
               ) -> tuple[pd.DataFrame, pd.Series]:
    """Rows (first, later) -> customers, median_days; and customers per first label."""
    d = df.copy()
    d["day"] = pd.to_datetime(d["t"]).dt.normalize()
    d = d[(d["amount"] >= 0) & (d["day"] <= pd.Timestamp(end)) & d[key].notna()]
    first_day = d.groupby("cust")["day"].min()
    if within is not None:
        first_day = first_day[first_day <= pd.Timestamp(end) - pd.Timedelta(days=within)]
    d = d[d["cust"].isin(first_day.index)]
    d["first"] = d["cust"].map(first_day)
    firsts = d[d["day"] == d["first"]][["cust", key]].drop_duplicates()
    later = d[d["day"] > d["first"]]
    later = later.groupby(["cust", key])["day"].min().reset_index()
    later["days"] = (later["day"] - later["cust"].map(first_day)).dt.days
    if within is not None:
        later = later[later["days"] <= within]
    pairs = firsts.rename(columns={key: "first"}).merge(
        later.rename(columns={key: "later"}), on="cust")
    out = pairs.groupby(["first", "later"])["days"].agg(customers="size", median_days="median")
    n_first = firsts.groupby(key)["cust"].nunique()
    return out, n_first
