"""Realistic shop order exports for the reading tests (有赞 / 微盟 style).

``make_export(seed)`` returns an :class:`Export`: the rows as the shop writes them
(``raw``: every cell text, Chinese headers, ``￥1,299.00`` amounts, zero-padded buyer
ids including two that differ only by leading zeros, statuses 交易成功 / 已发货 / 已退款 /
交易关闭 / 待付款, a refund column with full and partial refunds, line items sharing an
order id, separate negative refund rows carrying their order id, a 合计 row at the end)
and the same rows parsed by hand (``parsed``: ids as text, times as datetime64,
amounts as floats; no 合计 row), which is what an analyst would pass to
``siyu.Transactions``.  ``write_all(export, folder)`` writes the copies the tests read:
GBK CSV, UTF-8-with-BOM CSV, UTF-16 tab-separated text (Excel's "Unicode text"),
whitespace-aligned text, .xlsx and Parquet.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

COLUMNS = dict(order="订单编号", customer="买家ID", time="下单时间", product="商品名称",
               quantity="数量", amount="实付金额", refund="退款金额", status="订单状态",
               channel="来源渠道", member="是否会员")
PAID = ("交易成功", "已发货", "待收货")
STATUSES = PAID + ("已退款", "交易关闭", "待付款")


@dataclass
class Export:
    raw: pd.DataFrame                      # as written (all text), 合计 row last
    parsed: pd.DataFrame                   # as an analyst would parse it (no 合计 row)
    columns: dict = field(default_factory=lambda: dict(COLUMNS))
    n_total_rows: int = 1


def _yuan(x: float) -> str:
    """￥ with thousands separators, negatives as -￥12.00."""
    sign = "-" if x < 0 else ""
    return f"{sign}￥{abs(x):,.2f}"


def _time_text(ts: pd.Timestamp, style: int) -> str:
    if style == 0:
        return f"{ts.year}/{ts.month}/{ts.day} {ts.hour}:{ts.minute:02d}:{ts.second:02d}"
    if style == 1:
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    return f"{ts.year}年{ts.month}月{ts.day}日 {ts.hour}:{ts.minute:02d}"


def make_export(seed: int = 0, n_orders: int = 600, n_customers: int = 150,
                unknown_status: bool = False) -> Export:
    rng = np.random.default_rng(seed)
    # ids: 8-digit zero-padded, plus two that differ only by leading zeros
    nums = rng.choice(np.arange(1, 10**6), size=n_customers - 1, replace=False)
    ids = [f"{v:08d}" for v in nums] + [f"{nums[0]:d}"]
    start = pd.Timestamp("2023-01-01")
    rows = []
    for k in range(n_orders):
        cust = ids[int(rng.integers(0, len(ids)))] if k >= 2 else ids[k * (len(ids) - 1)]
        secs = int(rng.integers(0, 400 * 86400))
        ts = start + pd.Timedelta(seconds=secs)
        ts = ts.floor("min") if k % 3 == 2 else ts       # the 年月日 form has no seconds
        status = STATUSES[int(rng.choice(len(STATUSES), p=[.62, .12, .06, .08, .07, .05]))]
        oid = f"E{20230000000 + k:d}"
        n_items = 1 + int(rng.random() < 0.25)
        channel = ["社群", "小程序", "公众号"][int(rng.integers(0, 3))]
        member = "是" if rng.random() < 0.3 else "否"
        for j in range(n_items):
            price = float(np.round(np.exp(rng.normal(4.5, 1.2)), 2))
            if rng.random() < 0.05:
                price = float(np.round(price + 1000 + rng.integers(0, 5000), 2))  # ￥x,xxx.xx
            if status in ("交易关闭", "待付款") and rng.random() < 0.5:
                price = 0.0
            refund = 0.0
            if status == "已退款":
                refund = price
            elif status in PAID and rng.random() < 0.08:
                refund = float(np.round(price * rng.choice([1.0, 0.5, 0.2]), 2))
            rows.append(dict(order=oid, customer=cust, time=ts, style=k % 3,
                             product=f"商品{int(rng.integers(1, 30)):02d}",
                             quantity=int(rng.integers(1, 4)), amount=price, refund=refund,
                             status=status, channel=channel, member=member))
        if status in PAID and rng.random() < 0.04:
            # a separate negative refund row carrying the order id (ERP style)
            back = float(np.round(rows[-1]["amount"] * 0.3, 2))
            if back > 0:
                rows.append(dict(order=oid, customer=cust, time=ts + pd.Timedelta(days=3),
                                 style=1, product=rows[-1]["product"], quantity=1,
                                 amount=-back, refund=0.0, status=status, channel=channel,
                                 member=member))
    if unknown_status:
        rows[5]["status"] = "售后处理中"
        rows[17]["status"] = "售后处理中"
    df = pd.DataFrame(rows)
    parsed = pd.DataFrame({
        COLUMNS["order"]: df["order"].astype(object),
        COLUMNS["customer"]: df["customer"].astype(object),
        COLUMNS["time"]: pd.to_datetime(df["time"]).astype("datetime64[s]"),
        COLUMNS["product"]: df["product"].astype(object),
        COLUMNS["quantity"]: df["quantity"].astype(float),
        COLUMNS["amount"]: df["amount"].astype(float),
        COLUMNS["refund"]: df["refund"].astype(float),
        COLUMNS["status"]: df["status"].astype(object),
        COLUMNS["channel"]: df["channel"].astype(object),
        COLUMNS["member"]: (df["member"] == "是"),
    })
    raw = pd.DataFrame({
        COLUMNS["order"]: df["order"],
        COLUMNS["customer"]: df["customer"],
        COLUMNS["time"]: [_time_text(t, s) for t, s in zip(df["time"], df["style"])],
        COLUMNS["product"]: df["product"],
        COLUMNS["quantity"]: df["quantity"].astype(str),
        COLUMNS["amount"]: [_yuan(a) for a in df["amount"]],
        COLUMNS["refund"]: ["" if r == 0 else _yuan(r) for r in df["refund"]],
        COLUMNS["status"]: df["status"],
        COLUMNS["channel"]: df["channel"],
        COLUMNS["member"]: df["member"],
    })
    total = {c: "" for c in raw.columns}
    total[COLUMNS["order"]] = "合计"
    total[COLUMNS["amount"]] = _yuan(float(df["amount"].sum()))
    raw = pd.concat([raw, pd.DataFrame([total])], ignore_index=True)
    return Export(raw=raw, parsed=parsed)


def write_csv(export: Export, path: str, encoding: str, sep: str = ",") -> str:
    export.raw.to_csv(path, index=False, encoding=encoding, sep=sep)
    return path


def write_whitespace(export: Export, path: str) -> str:
    """Whitespace-aligned text (no blanks inside cells: the 年月日 times lose their clock)."""
    raw = export.raw.copy()
    for c in raw.columns:
        raw[c] = raw[c].astype(str).str.replace(" ", "T", regex=False)
    raw[COLUMNS["refund"]] = raw[COLUMNS["refund"]].replace({"": "￥0.00"})
    raw = raw.replace({"": "-"})
    widths = {c: max(raw[c].str.len().max(), len(c)) + 2 for c in raw.columns}
    lines = ["".join(c.ljust(widths[c]) for c in raw.columns).rstrip()]
    for rec in raw.itertuples(index=False):
        lines.append("".join(str(v).ljust(widths[c]) for v, c in zip(rec, raw.columns)).rstrip())
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def write_xlsx(export: Export, path: str) -> str:
    export.raw.to_excel(path, index=False, sheet_name="订单")
    return path


def write_parquet(export: Export, path: str) -> str:
    export.raw.to_parquet(path, index=False)
    return path


def write_all(export: Export, folder: str) -> dict[str, str]:
    """Every copy the tests read, by name."""
    os.makedirs(folder, exist_ok=True)
    out = {
        "gbk.csv": write_csv(export, os.path.join(folder, "orders_gbk.csv"), "gbk"),
        "utf8bom.csv": write_csv(export, os.path.join(folder, "orders_bom.csv"), "utf-8-sig"),
        "utf16.txt": write_csv(export, os.path.join(folder, "orders_unicode.txt"), "utf-16",
                               sep="\t"),
        "semicolon.csv": write_csv(export, os.path.join(folder, "orders_semi.csv"), "utf-8",
                                   sep=";"),
        "xlsx": write_xlsx(export, os.path.join(folder, "orders.xlsx")),
        "parquet": write_parquet(export, os.path.join(folder, "orders.parquet")),
    }
    return out
