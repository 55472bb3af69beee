"""Slow, obviously-correct pandas oracles for siyu.segments (tests only).

Every oracle takes a plain DataFrame with columns ``customer``, ``date`` (datetime64),
``amount`` (may be absent) and optionally ``member`` (0/1), and re-derives the
definitions of DESIGN.md section 2 with groupby / cut / rank.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

LIFE_EN = ["recent", "stable", "lapsing"]
TIER_EN = ["potential", "one-time", "repeat", "multi-repeat", "member"]


def _upto(df: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    d = df.copy()
    d["day"] = d["date"].dt.normalize()
    return d[d["day"] <= as_of]


def _purchases(d: pd.DataFrame) -> pd.DataFrame:
    return d[d["amount"] >= 0] if "amount" in d else d


def ref_lifecycle(df: pd.DataFrame, as_of: str, bounds=(30, 180)) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of)
    d = _upto(df, as_of)
    p = _purchases(d)
    g = p.groupby("customer")["day"]
    out = pd.DataFrame({"last": g.max(), "occasions": g.nunique()})
    out["days_since_last"] = (as_of - out["last"]).dt.days
    out["stage"] = pd.cut(out["days_since_last"], [-np.inf, bounds[0], bounds[1], np.inf],
                          labels=LIFE_EN, right=True)
    if "amount" in d:
        out["revenue"] = d.groupby("customer")["amount"].sum().reindex(out.index)
    return out.sort_index()


def ref_value_tiers(df: pd.DataFrame, as_of: str, roster=None) -> pd.DataFrame:
    as_of = pd.Timestamp(as_of)
    d = _upto(df, as_of)
    p = _purchases(d)
    occ = p.groupby("customer")["day"].nunique()
    if "member" in d:
        mem = d.groupby("customer")["member"].max().astype(bool)
    else:
        mem = pd.Series(False, index=d["customer"].unique())
    ids = set(occ.index) | set(mem[mem].index)
    if roster is not None:
        ids |= set(roster)
    rows = {}
    for c in ids:
        o = int(occ.get(c, 0))
        m = bool(mem.get(c, False))
        if m:
            t = "member"
        elif o >= 3:
            t = "multi-repeat"
        elif o == 2:
            t = "repeat"
        elif o == 1:
            t = "one-time"
        else:
            t = "potential"
        rows[c] = (o, m, t)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["occasions", "member", "tier"])
    if "amount" in d:
        out["revenue"] = d.groupby("customer")["amount"].sum().reindex(out.index).fillna(0.0)
    return out.sort_index()


def ref_scores(values, bins: int, ties: str = "min") -> np.ndarray:
    s = pd.Series(np.asarray(values, dtype=float))
    r = s.rank(method=ties)
    return np.ceil(r * bins / len(s)).clip(1, bins).astype(np.int64).to_numpy()


def ref_rfm(df: pd.DataFrame, as_of: str, bins: int = 5, ties: str = "min") -> pd.DataFrame:
    lc = ref_lifecycle(df, as_of)
    out = pd.DataFrame({"days_since_last": lc["days_since_last"], "occasions": lc["occasions"]})
    out["R"] = ref_scores(-out["days_since_last"], bins, ties)
    out["F"] = ref_scores(out["occasions"], bins, ties)
    if "amount" in df:
        out["revenue"] = lc["revenue"]
        out["M"] = ref_scores(out["revenue"], bins, ties)
    return out


def ref_period_ends(df: pd.DataFrame, period: str, end: str) -> list[pd.Timestamp]:
    freq = {"W": "W-SUN", "M": "M", "Q": "Q", "Y": "Y", "D": "D"}[period]
    first = df["date"].min().normalize()
    end = pd.Timestamp(end)
    pr = pd.period_range(first, end, freq=freq)
    ends = [p.end_time.normalize() for p in pr]
    return [e for e in ends if e <= end]


def ref_migration(df: pd.DataFrame, period: str, end: str, bounds=(30, 180),
                  segmentation: str = "lifecycle"):
    """-> (stages DataFrame customer x period end of str/NaN, summed count matrix)."""
    ends = ref_period_ends(df, period, end)
    cols = {}
    for e in ends:
        if segmentation == "lifecycle":
            cols[e] = ref_lifecycle(df, e, bounds)["stage"].astype(str)
        else:
            vt = ref_value_tiers(df, e)
            cols[e] = vt.loc[vt["tier"] != "potential", "tier"]
    stages = pd.DataFrame(cols)
    labels = LIFE_EN if segmentation == "lifecycle" else TIER_EN[1:]
    mat = pd.DataFrame(0, index=labels, columns=labels)
    per = []
    for a, b in zip(ends[:-1], ends[1:]):
        both = stages[[a, b]].dropna()
        ct = pd.crosstab(both[a], both[b]).reindex(index=labels, columns=labels, fill_value=0)
        per.append(ct)
        mat += ct
    return stages, mat, per
