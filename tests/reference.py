"""Slow, obviously-correct pandas oracles for siyu's kernels.

Each function mirrors a siyu computation with plain pandas group-bys so tests can
compare the C kernels to it on random and edge-case logs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}


def period_ordinal(days: pd.Series, freq: str) -> pd.Series:
    """Calendar period number of each date (consecutive periods differ by 1)."""
    ts = pd.to_datetime(days)
    if freq == "D":
        return (ts - pd.Timestamp("1970-01-01")).dt.days
    if freq == "W":
        monday = ts - pd.to_timedelta(ts.dt.day_of_week, unit="D")
        return (monday - pd.Timestamp("1969-12-29")).dt.days // 7
    if freq == "M":
        return ts.dt.year * 12 + ts.dt.month - 1
    if freq == "Q":
        return ts.dt.year * 4 + (ts.dt.month - 1) // 3
    if freq == "Y":
        return ts.dt.year
    raise ValueError(freq)


def local_days(times: pd.Series) -> pd.Series:
    """Calendar day of each time, in its own zone's wall clock."""
    t = pd.to_datetime(pd.Series(times).reset_index(drop=True))
    if t.dt.tz is not None:
        t = t.dt.tz_localize(None)
    return t.dt.normalize()


def summary(df: pd.DataFrame, end, freq="D", unit=None, include_first=False,
            customer="customer_id", time="date", amount="amount") -> pd.DataFrame:
    """Per-customer summary following DESIGN.md section 2, via pandas group-bys."""
    unit = unit or freq
    end = pd.Timestamp(end).normalize()
    d = pd.DataFrame({"c": df[customer].to_numpy(), "day": local_days(df[time]),
                      "a": df[amount].to_numpy(dtype=float) if amount else 0.0})
    d = d[d["day"] <= end]
    d["per"] = period_ordinal(d["day"], freq)
    d["buy"] = d["a"] >= 0
    rows = []
    for c, g in d.groupby("c", sort=True):
        buys = g[g["buy"]]
        if buys.empty:
            continue
        per_amt = g.groupby("per")["a"].sum()
        occ_pers = sorted(buys["per"].unique())
        occ_amt = [per_amt[p] for p in occ_pers]
        freq_ = len(occ_pers) - 1
        scale = UNIT_DAYS[freq] / UNIT_DAYS[unit]
        end_per = period_ordinal(pd.Series([end]), freq).iloc[0]
        if include_first:
            mv = float(np.mean(occ_amt))
        else:
            mv = float(np.mean(occ_amt[1:])) if freq_ > 0 else 0.0
        rows.append({
            "c": c, "frequency": freq_,
            "recency": (occ_pers[-1] - occ_pers[0]) * scale,
            "T": (end_per - occ_pers[0]) * scale,
            "monetary_value": mv,
            "n_orders": int(len(buys)),
            "revenue": float(g["a"].sum()),
            "first_purchase": buys["day"].min(),
            "last_purchase": buys["day"].max(),
            "days_since_last": int((end - buys["day"].max()).days),
        })
    cols = ["frequency", "recency", "T", "monetary_value", "n_orders", "revenue",
            "first_purchase", "last_purchase", "days_since_last"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(rows).set_index("c")[cols]


def holdout(df: pd.DataFrame, cal_end, obs_end, freq="D", customer="customer_id",
            time="date", amount="amount") -> pd.DataFrame:
    """Holdout occasions (count, mean amount) per customer for rows in (cal_end, obs_end]."""
    cal_end, obs_end = pd.Timestamp(cal_end), pd.Timestamp(obs_end)
    d = pd.DataFrame({"c": df[customer].to_numpy(), "day": local_days(df[time]),
                      "a": df[amount].to_numpy(dtype=float)})
    d = d[(d["day"] > cal_end) & (d["day"] <= obs_end)]
    d["per"] = period_ordinal(d["day"], freq)
    g = d.groupby(["c", "per"]).agg(a=("a", "sum"), buy=("a", lambda s: (s >= 0).any()))
    g = g[g["buy"]]
    out = g.groupby("c").agg(frequency_holdout=("a", "size"), monetary_value_holdout=("a", "mean"))
    return out
