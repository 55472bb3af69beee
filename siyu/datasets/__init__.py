"""Small public datasets bundled with siyu, and simulators.

See ``LICENSES.md`` in this folder for sources and licences (CDNOW: MIT via
lifetimes; UCI Online Retail: CC BY 4.0).
"""
from __future__ import annotations

from importlib import resources
from typing import Any

import pandas as pd

__all__ = ["load_cdnow", "load_online_retail", "load_shop_export", "shop_export_path", "simulate",
           "simulate_shop"]


SHOP_EXPORT_COLUMNS = dict(customer="买家ID", time="下单时间", amount="实付金额",
                           order="订单编号", status="订单状态", refund="退款金额",
                           channel="来源渠道", member="是否会员", product="商品名称",
                           quantity="数量")


def shop_export_path() -> str:
    """Path of the bundled synthetic shop order export (a GBK CSV, Chinese headers).

    1,922 rows (line items and refunds) of 1,500 orders by 391 buyers (2023-01-01 to
    2024-02-04), written the
    way 有赞 / 微盟 back-ends export them: columns 订单编号 (order id, shared by the line
    items of an order), 买家ID (zero-padded; two ids differ only by leading zeros),
    下单时间 (``2023/1/16 11:02:19``, ``2023-05-02 09:14:55`` or ``2023年5月2日 9:14``),
    商品名称, 数量, 实付金额 (``￥1,299.00``; negative rows are refunds of an order),
    退款金额 (blank or the refunded amount), 订单状态 (交易成功 / 已发货 / 待收货 /
    已退款 / 交易关闭 / 待付款), 来源渠道 (社群 / 小程序 / 公众号), 是否会员 (是 / 否), and a
    合计 row at the end.  Synthetic (made by siyu's test fixtures); no real shop's data.

    Examples
    --------
    >>> import siyu
    >>> siyu.datasets.shop_export_path().endswith("shop_orders_gbk.csv")
    True
    """
    return str(resources.files(__name__).joinpath("data", "shop_orders_gbk.csv"))


def load_shop_export(raw: bool = False) -> Any:
    """The bundled synthetic export (:func:`shop_export_path`).

    Parameters
    ----------
    raw : bool, default False
        ``True``: the cells as written (a DataFrame of text, 合计 row included).
        ``False``: read with :func:`siyu.read_orders` and every order column
        (order ids, statuses, refund column, channel, member flag, products).

    Examples
    --------
    >>> import siyu
    >>> siyu.datasets.load_shop_export(raw=True).shape
    (1923, 10)
    """
    path = shop_export_path()
    if raw:
        return pd.read_csv(path, encoding="gb18030", dtype=str, keep_default_na=False)
    from siyu.io import read_orders

    return read_orders(path, **SHOP_EXPORT_COLUMNS)


def _open(name: str):
    return resources.files(__name__).joinpath("data", name).open("rb")


def load_cdnow(kind: str = "sample") -> pd.DataFrame:
    """Load the CDNOW purchase log (Fader, Hardie & Lee 2005).

    The 23,570 customers who made their first CDNOW purchase in Q1 1997, observed
    until 1998-06-30; ``kind="sample"`` is the 1/10 sample (2,357 customers, 6,919
    rows) used in the papers.  Amounts are US dollars.  Several rows of one customer
    may fall on the same day.

    Parameters
    ----------
    kind : {"sample", "master"}
        Which log to load.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (int; in the sample the 1..2357 sample id used by
        published summaries), ``date`` (datetime64), ``n_items`` (CDs bought),
        ``amount`` (float, USD); the sample also has ``master_id``.

    Examples
    --------
    >>> import siyu
    >>> df = siyu.datasets.load_cdnow()
    >>> df.shape, int(df["customer_id"].nunique())
    ((6919, 5), 2357)
    """
    if kind == "sample":
        with _open("cdnow_sample.txt.gz") as fh:
            df = pd.read_csv(fh, compression="gzip", sep=r"\s+", header=None,
                             names=["master_id", "customer_id", "date", "n_items", "amount"],
                             dtype={"date": str})
        df = df[["customer_id", "date", "n_items", "amount", "master_id"]]
    elif kind == "master":
        with _open("cdnow_master.txt.gz") as fh:
            df = pd.read_csv(fh, compression="gzip", sep=r"\s+", header=0,
                             names=["customer_id", "date", "n_items", "amount"],
                             dtype={"date": str})
    else:
        raise ValueError(f"unknown kind {kind!r}; use 'sample' or 'master'")
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    df["amount"] = df["amount"].astype(float)
    return df


def load_online_retail() -> pd.DataFrame:
    """Load the UCI Online Retail invoices (UK e-commerce, 2010-12-01 to 2011-12-09).

    One row per invoice: 18,532 invoices of 4,338 customers; cancellations and
    rows without a customer were removed upstream.  Amounts in GBP.
    Source: Chen, Sain & Guo (2012), UCI Machine Learning Repository (CC BY 4.0).

    Returns
    -------
    pandas.DataFrame
        Columns ``invoice`` (str), ``customer_id`` (int), ``date`` (datetime64),
        ``amount`` (float, GBP).

    Examples
    --------
    >>> import siyu
    >>> df = siyu.datasets.load_online_retail()
    >>> len(df), int(df["customer_id"].nunique())
    (18532, 4338)
    """
    with _open("uci_online_retail_invoices.csv.gz") as fh:
        df = pd.read_csv(fh, compression="gzip", dtype={"InvoiceNo": str})
    df = df.rename(columns={"InvoiceNo": "invoice", "InvoiceDate": "date",
                            "CustomerID": "customer_id", "TotalPrice": "amount"})
    df["date"] = pd.to_datetime(df["date"])
    df["customer_id"] = df["customer_id"].astype("int64")
    return df[["invoice", "customer_id", "date", "amount"]]


from siyu.datasets.simulate import simulate  # noqa: E402  (C simulator; needs siyu._core)
from siyu.datasets.shop import simulate_shop  # noqa: E402
