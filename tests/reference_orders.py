"""A plain-pandas oracle of DESIGN.md section 2a: a shop's raw export -> the order log.

``order_log(df, customer=..., time=..., amount=..., order=..., status=..., refund=...,
paid=..., refunded=..., void=..., product=..., category=..., quantity=...)`` takes the
same column arguments as :class:`siyu.Transactions` (column names of ``df``) and
returns an :class:`OracleResult`:

- ``log``: one row per order kept (a purchase) or refund kept, columns ``customer``,
  ``day`` (Timestamp, local calendar day), ``amount`` (net; NaN without amounts) and
  ``kind`` ("purchase" / "refund"); feed it to ``reference.summary(log, end,
  customer="customer", time="day", amount="amount")`` for the per-customer figures;
- ``items``: one row per line item kept (``customer, day, product, category,
  quantity, amount``);
- ``quality``: {rule key: count}, the keys of ``tx.quality``.

It walks the orders one by one with Python loops and plain group-bys: slow, written
from the rules rather than from siyu's code, so the two can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reference import local_days

# The status table of DESIGN.md section 2a (the contract), in its own words.
PAID_STATUSES = ["交易成功", "已完成", "已付款", "待发货", "已发货", "待收货", "已签收",
                 "completed", "paid", "shipped", "delivered"]
REFUNDED_STATUSES = ["已退款", "退款成功", "退款完成", "refunded"]
VOID_STATUSES = ["待付款", "交易关闭", "已取消", "订单关闭", "pending", "cancelled", "canceled",
                 "closed"]


@dataclass
class OracleResult:
    log: pd.DataFrame
    items: pd.DataFrame
    quality: dict


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA


def _key(v):
    if _missing(v):
        return "<missing>"
    return v.strip().casefold() if isinstance(v, str) else v


def _clean_id(v):
    """Ids are text: strip surrounding whitespace; '' is missing."""
    if _missing(v):
        return None
    if isinstance(v, str):
        v = v.strip()
        return v if v else None
    return v


def order_log(df: pd.DataFrame, customer: str, time: str, amount: str | None = None, *,
              order: str | None = None, status: str | None = None, refund: str | None = None,
              paid=None, refunded=None, void=None, product: str | None = None,
              category: str | None = None, quantity: str | None = None,
              tz: str | None = None) -> OracleResult:
    n = len(df)
    q: dict = {"rows_read": n}
    # ---- per-row values
    raw_c = list(df[customer])
    cust = [_clean_id(v) for v in raw_c]
    if any(c is None for c in cust):
        raise ValueError("missing customer id")
    times = pd.Series(df[time]).reset_index(drop=True)
    if tz is not None:
        times = pd.to_datetime(times, utc=True).dt.tz_convert(tz)
    day = list(local_days(times))
    amt = [float(x) for x in df[amount]] if amount else [0.0] * n
    ref = [0.0 if _missing(x) else float(x) for x in df[refund]] if refund else [0.0] * n
    prod = list(df[product].where(df[product].notna(), "(missing)")) if product else [None] * n
    cat = list(df[category].where(df[category].notna(), "(missing)")) if category else [None] * n
    qty = [float(x) for x in df[quantity]] if quantity else [None] * n
    # ---- statuses
    table = {}
    for lst, cls in ((PAID_STATUSES, "paid"), (REFUNDED_STATUSES, "refunded"),
                     (VOID_STATUSES, "void")):
        for v in lst:
            table[_key(v)] = cls
    for lst, cls in ((paid, "paid"), (refunded, "refunded"), (void, "void")):
        for v in (lst or []):
            table[_key(v)] = cls
    if status:
        raw_s = list(df[status])
        cls = [table.get(_key(v)) for v in raw_s]
        unknown = sorted({str(_key(v)) for v, c in zip(raw_s, cls) if c is None})
        if unknown:
            raise ValueError(f"unknown statuses {unknown}")
    else:
        raw_s = [None] * n
        cls = ["paid"] * n
    # ---- orders: rows with the same order id; rows without one are their own order
    if order:
        raw_o = list(df[order])
        oid = [_clean_id(v) for v in raw_o]
        q["rows_without_order_id"] = sum(o is None for o in oid)
        groups: dict = {}
        for i, o in enumerate(oid):
            groups.setdefault(("id", o) if o is not None else ("row", i), []).append(i)
    else:
        raw_o = [None] * n
        oid = [None] * n
        groups = {("row", i): [i] for i in range(n)}
    if status:
        void_counts: dict = {}
        for i in range(n):
            if cls[i] == "void":
                v = raw_s[i].strip() if isinstance(raw_s[i], str) else raw_s[i]
                void_counts[v] = void_counts.get(v, 0) + 1
        for v, c in void_counts.items():
            q[f"void_rows[{v}]"] = c
    counters = dict.fromkeys(["refunded_orders", "refunded_items", "fully_refunded_refund_column",
                              "fully_refunded_negative_rows", "partial_refunds",
                              "negative_rows_netted", "refunds_without_order",
                              "refunds_order_not_in_log", "zero_amount_orders",
                              "line_items_merged", "orders"], 0)
    log_rows, item_rows = [], []
    for (kind, key), rows in groups.items():
        if len({cust[i] for i in rows}) > 1:
            raise ValueError(f"order {key} has several customers")
        live = [i for i in rows if cls[i] != "void"]
        purchases = [i for i in live if amt[i] >= 0]
        paid_rows = [i for i in purchases if cls[i] == "paid"]
        refd_rows = [i for i in purchases if cls[i] == "refunded"]
        negatives = [i for i in live if amt[i] < 0]
        counted = paid_rows + negatives
        if paid_rows:
            gross = sum(amt[i] for i in paid_rows)
            net = gross + sum(amt[i] for i in negatives) - sum(ref[i] for i in counted)
            has_refcol = any(ref[i] > 0 for i in counted)
            had_refund = has_refcol or bool(negatives)
            counters["refunded_items"] += len(refd_rows)
            counters["negative_rows_netted"] += len(negatives)
            if had_refund and net <= 0:
                counters["fully_refunded_refund_column" if has_refcol
                         else "fully_refunded_negative_rows"] += 1
                continue
            first = min(paid_rows, key=lambda i: (day[i], i))
            counters["orders"] += 1
            counters["line_items_merged"] += len(paid_rows) - 1
            if had_refund and net < gross:
                counters["partial_refunds"] += 1
            if not had_refund and gross == 0 and amount:
                counters["zero_amount_orders"] += 1
            log_rows.append({"customer": cust[first], "day": day[first],
                             "amount": net if amount else np.nan, "kind": "purchase",
                             "row": first})
            # line items: per product (or category), over the counted rows
            if product or category or quantity:
                per: dict = {}
                for i in counted:
                    k = prod[i] if product else (cat[i] if category else 0)
                    per.setdefault(k, []).append(i)
                for k, irows in per.items():
                    ipur = [i for i in irows if amt[i] >= 0]
                    if not ipur:
                        continue          # a refund of a product the order did not hold
                    iamt = sum(amt[i] - ref[i] for i in irows)
                    irefunded = any(amt[i] < 0 or ref[i] > 0 for i in irows)
                    if amount and irefunded and iamt <= 0:
                        continue
                    f = min(ipur)
                    item_rows.append({"customer": cust[first], "day": day[first],
                                      "product": prod[f] if product else None,
                                      "category": cat[f] if category else None,
                                      "quantity": sum(qty[i] for i in ipur) if quantity else None,
                                      "amount": iamt if amount else None, "row": f})
        elif refd_rows:
            counters["refunded_orders"] += 1
        elif negatives:
            first = min(negatives, key=lambda i: (day[i], i))
            net = sum(amt[i] for i in negatives) - sum(ref[i] for i in negatives)
            counters["refunds_without_order" if kind == "row" else "refunds_order_not_in_log"] += 1
            log_rows.append({"customer": cust[first], "day": day[first], "amount": net,
                             "kind": "refund", "row": first})
    # ---- duplicates: rows equal to an earlier row in every column given (ids stripped)
    raw_t = [str(v) for v in df[time]]
    cols = {"c": cust, "t": raw_t, "a": amt, "o": oid, "s": [_key(v) for v in raw_s],
            "r": ref, "p": prod, "k": cat, "q": qty}
    seen, dups = set(), 0
    for i in range(n):
        key = tuple(cols[c][i] for c in cols)
        if key in seen:
            dups += 1
        seen.add(key)
    q.update(counters)
    q["duplicate_rows"] = dups
    if any(isinstance(v, str) for v in raw_c):
        q["customer_ids_stripped"] = sum(isinstance(v, str) and v != v.strip() for v in raw_c)
    if order and any(isinstance(v, str) for v in raw_o):
        q["order_ids_stripped"] = sum(isinstance(v, str) and v != v.strip() and v.strip() != ""
                                      for v in raw_o)
    # the rules shown depend on the options given
    drop = []
    if not order:
        drop += ["refunds_order_not_in_log", "negative_rows_netted", "line_items_merged",
                 "refunded_items"]
    if not status:
        drop += ["refunded_orders", "refunded_items"]
    if not refund:
        drop += ["fully_refunded_refund_column"]
    if not amount:
        drop += ["fully_refunded_negative_rows", "partial_refunds", "negative_rows_netted",
                 "refunds_without_order", "refunds_order_not_in_log", "zero_amount_orders"]
    for k in drop:
        q.pop(k, None)
    log = pd.DataFrame(log_rows, columns=["customer", "day", "amount", "kind", "row"])
    log = log.sort_values("row", kind="stable").reset_index(drop=True)
    items = pd.DataFrame(item_rows, columns=["customer", "day", "product", "category",
                                             "quantity", "amount", "row"])
    items = items.sort_values("row", kind="stable").reset_index(drop=True)
    return OracleResult(log=log, items=items, quality=q)


def plain_quality(df: pd.DataFrame, customer: str, time: str, amount: str | None) -> dict:
    """Quality counts of a log read without order semantics (every row an order)."""
    a = df[amount].to_numpy(float) if amount else None
    cols = [df[customer].map(_clean_id).astype(str), df[time].astype(str)]
    if amount:
        cols.append(df[amount].astype(str))
    q = {"rows_read": len(df)}
    if amount:
        q["refund_rows"] = int((a < 0).sum())
        q["zero_amount_orders"] = int((a == 0).sum())
    q["duplicate_rows"] = int(pd.DataFrame({i: c for i, c in enumerate(cols)}).duplicated().sum())
    q["orders"] = len(df) - (int((a < 0).sum()) if amount else 0)
    return q
