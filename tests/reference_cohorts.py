"""Slow, obviously-correct pandas oracles for cohorts, retention, repurchase and survival.

Every function takes a plain DataFrame with columns ``customer``, ``date`` (datetime64,
day precision), optionally ``amount`` and ``channel`` and follows the definitions of
DESIGN.md section 2 literally, one groupby at a time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}


def _prepare(df: pd.DataFrame, end) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    end = pd.Timestamp(end) if end is not None else df["date"].max().normalize()
    d = df.copy()
    d["date"] = pd.to_datetime(d["date"]).dt.normalize()
    d["row"] = np.arange(len(d))
    d = d[d["date"] <= end]
    if "amount" in d:
        purch = d[d["amount"] >= 0]
    else:
        purch = d
    return d, purch, end


def first_purchase(df: pd.DataFrame, end=None, by: str | None = None) -> pd.DataFrame:
    """customer -> first purchase date and (with by) channel of the first purchase row."""
    d, purch, end = _prepare(df, end)
    p = purch.sort_values(["date", "row"], kind="mergesort")
    first = p.groupby("customer", sort=True).head(1).set_index("customer").sort_index()
    out = pd.DataFrame({"first": first["date"]})
    if by is not None:
        out["group"] = first["channel"].astype(object).where(first["channel"].notna(), "(missing)")
    else:
        out["group"] = "all"
    return out


def cohorts(df: pd.DataFrame, period: str = "M", end=None, by: str | None = None,
            margin: float | None = None) -> dict:
    """Cohort matrices as dict of DataFrames indexed by (group, cohort ordinal) x age."""
    freq = FREQ[period]
    d, purch, end = _prepare(df, end)
    fp = first_purchase(df, end, by)
    fp["cohort"] = fp["first"].dt.to_period(freq)
    end_per = pd.Period(end, freq)
    sizes = fp.groupby(["group", "cohort"]).size()

    def cells(rows: pd.DataFrame) -> pd.DataFrame:
        r = rows.merge(fp, left_on="customer", right_index=True, how="inner")
        r["age"] = (pd.PeriodIndex(r["date"].dt.to_period(freq)).asi8
                    - pd.PeriodIndex(r["cohort"]).asi8)
        return r[r["age"] >= 0]

    pa = cells(purch)
    active = pa.groupby(["group", "cohort", "age"])["customer"].nunique()
    orders = pa.groupby(["group", "cohort", "age"]).size()
    n_ages = (end_per.ordinal - min(sizes.index.get_level_values(1)).ordinal + 1) if len(sizes) else 0
    ages = range(n_ages)

    def matrix(s: pd.Series) -> pd.DataFrame:
        m = s.unstack("age").reindex(index=sizes.index, columns=ages).fillna(0.0).astype(float)
        for (g, c), _ in sizes.items():
            for a in ages:
                if c.ordinal + a > end_per.ordinal:
                    m.loc[(g, c), a] = np.nan
        m.columns.name = "age"
        return m

    out = {"sizes": sizes, "active": matrix(active), "orders": matrix(orders)}
    out["retention"] = out["active"].div(sizes.astype(float), axis=0)
    if "amount" in df:
        ra = cells(d)
        revenue = ra.groupby(["group", "cohort", "age"])["amount"].sum()
        out["revenue"] = matrix(revenue)
        cum = out["revenue"].cumsum(axis=1, skipna=False) * (1.0 if margin is None else margin)
        out["ltv"] = cum.div(sizes.astype(float), axis=0)
    return out


def retention(df: pd.DataFrame, kind: str, windows: list[tuple[int, int]], end=None,
              by: str | None = None) -> pd.DataFrame:
    """rows (group, j) -> eligible, retained for windows [(lo, hi)] (lo == hi for days)."""
    d, purch, end = _prepare(df, end)
    fp = first_purchase(df, end, by)
    p = purch.merge(fp, left_on="customer", right_index=True)
    p["gap"] = (p["date"] - p["first"]).dt.days
    rows = []
    for g, sub in fp.groupby("group"):
        avail = (end - sub["first"]).dt.days
        pg = p[p["group"] == g]
        for j, (lo, hi) in enumerate(windows):
            elig = set(avail.index[avail >= hi])
            if kind == "n-day":
                hit = set(pg.loc[pg["gap"] == lo, "customer"])
            elif kind == "unbounded":
                hit = set(pg.loc[pg["gap"] >= lo, "customer"])
            else:
                hit = set(pg.loc[(pg["gap"] >= lo) & (pg["gap"] <= hi), "customer"])
            rows.append((g, j, len(elig), len(elig & hit)))
    return pd.DataFrame(rows, columns=["group", "j", "eligible", "retained"]).set_index(["group", "j"])


def durations(df: pd.DataFrame, churn_after: float, end=None, by: str | None = None) -> pd.DataFrame:
    """customer -> duration (days), event (1 churned / 0 censored), group."""
    d, purch, end = _prepare(df, end)
    fp = first_purchase(df, end, by)
    last = purch.groupby("customer")["date"].max()
    fp["last"] = last
    churned = (end - fp["last"]).dt.days > churn_after
    fp["event"] = churned.astype(int)
    fp["duration"] = np.where(churned, (fp["last"] - fp["first"]).dt.days,
                              (end - fp["first"]).dt.days)
    return fp


def repurchase(df: pd.DataFrame, within, period="M", end=None, by=None) -> pd.DataFrame:
    """(group, cohort, k) -> eligible, repurchased; second occasion = second purchase day."""
    d, purch, end = _prepare(df, end)
    fp = first_purchase(df, end, by)
    days = purch[["customer", "date"]].drop_duplicates().sort_values(["customer", "date"])
    second = days.groupby("customer")["date"].nth(1)
    second = pd.Series(second.to_numpy(), index=days.loc[second.index, "customer"].to_numpy())
    fp["second"] = second
    fp["cohort"] = fp["first"].dt.to_period(FREQ[period])
    rows = []
    for (g, c), sub in fp.groupby(["group", "cohort"]):
        for k in within:
            elig = (end - sub["first"]).dt.days >= k
            rep = elig & ((sub["second"] - sub["first"]).dt.days <= k)
            rows.append((g, c, k, int(elig.sum()), int(rep.sum())))
    return pd.DataFrame(rows, columns=["group", "cohort", "within", "eligible", "repurchased"])


def interpurchase(df: pd.DataFrame, end=None) -> pd.Series:
    d, purch, end = _prepare(df, end)
    days = purch[["customer", "date"]].drop_duplicates().sort_values(["customer", "date"])
    gaps = days.groupby("customer")["date"].diff().dt.days.dropna().astype(np.int64)
    return pd.Series(gaps.to_numpy(), index=days.loc[gaps.index, "customer"].to_numpy())


def random_log(seed: int, n_customers: int = 60, n_rows: int = 600, amounts: bool = True,
               channel: bool = True, start: str = "2019-12-20", days: int = 470,
               str_ids: bool = False) -> pd.DataFrame:
    """A random log crossing year, quarter and leap-day boundaries, with refunds,
    refund-only customers, refunds before the first purchase and missing channels."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_customers, n_rows)
    date = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, n_rows), unit="D")
    date = date + pd.to_timedelta(rng.integers(0, 86_000, n_rows), unit="s")
    df = pd.DataFrame({"customer": cust, "date": date})
    if str_ids:
        df["customer"] = "c" + df["customer"].astype(str)
    if amounts:
        amt = np.round(rng.gamma(2.0, 30.0, n_rows), 2)
        refund = rng.random(n_rows) < 0.08
        amt[refund] = -np.round(rng.uniform(1, 50, refund.sum()), 2)
        df["amount"] = amt
        # a refund-only customer
        extra = pd.DataFrame({"customer": ["zz-refund-only" if str_ids else 10_000] * 2,
                              "date": [pd.Timestamp(start) + pd.Timedelta(days=5)] * 2,
                              "amount": [-5.0, -7.5]})
        df = pd.concat([df, extra], ignore_index=True)
    if channel:
        ch = rng.choice(np.array(["公域", "私域", None], dtype=object), len(df), p=[0.45, 0.45, 0.1])
        df["channel"] = ch
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def partial_cells(index_periods, n_ages: int, end, period: str) -> np.ndarray:
    """(cohort, age) cells whose calendar period holds ``end`` while ``end`` is before
    the period's last day: pandas Periods, nothing else."""
    end = pd.Timestamp(end)
    end_p = pd.Period(end, FREQ[period])
    cut = end.normalize() < end_p.end_time.normalize()
    out = np.zeros((len(index_periods), n_ages), dtype=bool)
    for i, c in enumerate(index_periods):
        for a in range(n_ages):
            out[i, a] = cut and (c + a) == end_p
    return out


def existing_row(df: pd.DataFrame, existing_before, period: str = "M", end=None) -> dict:
    """The existing customers (first purchase before ``existing_before``): size and,
    per age counted from the period of their earliest first purchase, active
    customers, purchase rows and revenue (refunds included)."""
    freq = FREQ[period]
    d, purch, end = _prepare(df, end)
    fp = first_purchase(df, end)
    ex = fp.index[fp["first"] < pd.Timestamp(existing_before)]
    start = fp.loc[ex, "first"].min().to_period(freq)
    end_p = pd.Period(end, freq)
    ages = (end_p - start).n + 1
    p = purch[purch["customer"].isin(ex)]
    age = pd.PeriodIndex(p["date"].dt.to_period(freq)).asi8 - start.ordinal
    active = pd.Series(p["customer"].to_numpy()).groupby(age).nunique()
    orders = pd.Series(age).value_counts()
    out = {"size": len(ex), "start": start,
           "active": active.reindex(range(ages), fill_value=0).to_numpy(float),
           "orders": orders.reindex(range(ages), fill_value=0).to_numpy(float)}
    if "amount" in d:
        r = d[d["customer"].isin(ex)]
        ra = pd.PeriodIndex(r["date"].dt.to_period(freq)).asi8 - start.ordinal
        out["revenue"] = r.groupby(ra)["amount"].sum().reindex(range(ages),
                                                                fill_value=0.0).to_numpy()
    return out
