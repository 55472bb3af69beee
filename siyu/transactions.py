"""``Transactions``: the entry point of siyu.

A transaction log (who bought, when, for how much) is validated once and stored as
contiguous arrays; every analysis (summaries, cohorts, retention, segments, ...) runs
on those arrays in C.
"""
from __future__ import annotations

import copy
import html
from typing import Any

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp

_SUMMARY_FREQS = "DWM"


class _Delegate:
    """A method of :class:`Transactions` implemented by ``module.func(tx, ...)``.

    The module is imported on first use, so optional pieces load lazily; the bound
    method carries the function's docstring and signature for Jupyter's ``?``.
    """

    def __init__(self, module: str, func: str) -> None:
        self.module, self.func = module, func

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        import functools
        import importlib

        target = getattr(importlib.import_module(self.module), self.func)
        if obj is None:
            return target

        @functools.wraps(target)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return target(obj, *args, **kwargs)

        return bound


class Transactions:
    """A validated transaction log (or a shop's order export, read by the order rules).

    Parameters
    ----------
    data : pandas.DataFrame, dict of arrays, polars.DataFrame or pyarrow.Table, optional
        The log, one row per order, line item or refund.  May be omitted when the
        columns are passed directly as arrays.
    customer : str or array-like, default "customer_id"
        Column name (or the array itself) of customer ids.  Integer ids are kept as
        integers; text ids are never parsed as numbers ("00123" and "123" are two
        customers) and have surrounding whitespace stripped (counted in
        :attr:`quality`).  Results are indexed by these ids, sorted (text ids as an
        Arrow-backed ``string[pyarrow]`` index when pyarrow is installed).
    time : str or array-like, default "date"
        Column name (or array) of order times: datetime64 of any unit, tz-aware
        pandas or Arrow timestamps, or date strings.  Only the calendar day is used.
        Supported range: years 1 to 9999 (any nanosecond time is inside it); a time
        outside it, or a missing time, is an error naming the rows.
    amount : str, array-like or None, default "amount"
        Column name (or array) of order amounts.  Negative amounts are refunds: they
        reduce revenue but are not purchase occasions (with ``order=``, a negative row
        nets against its order instead).  ``None`` when the log has no amounts
        (monetary columns are then omitted).  NaN/inf amounts, or amounts so large
        that their sum overflows, are errors naming the rows.
    channel : str, array-like or None
        Optional acquisition channel / segment label per row (e.g. 公域 / 私域).
        With ``order=``, an order's channel is that of its first paid row.
    member : str, array-like or None
        Optional membership flag per row (bool or 0/1); a customer is a member once
        any of their rows is flagged.
    tz : str, optional
        Time zone to convert tz-aware times to before taking the calendar day
        (e.g. ``"Asia/Shanghai"``).  Naive times are taken as already local.  Needed
        when the times are in several zones.
    order : str, array-like or None
        Order id per row.  Rows sharing an order id are one order (line items): its
        amount is their sum, its day that of its first paid row; ``n_orders`` in
        :meth:`summary` counts distinct orders.  Order ids are text or integers (text
        is stripped, never parsed as a number).  Rows without an order id are each an
        order of their own.  All rows of an order must have the same customer.
    status : str, array-like or None
        Order status per row, mapped to *paid* (a purchase), *refunded* (revenue 0,
        not a purchase) or *void* (never paid: the row is dropped) by the built-in
        table ``siyu._orders.STATUS_TABLE`` (交易成功/已完成/已付款/待发货/已发货/
        待收货/已签收, completed/paid/shipped/delivered -> paid; 已退款/退款成功/
        退款完成, refunded -> refunded; 待付款/交易关闭/已取消/订单关闭, pending/
        cancelled/closed -> void).  A status the table does not know is an error
        that lists every such value with its row count and how to map it.  A refunded
        row with amount >= 0 is a refunded purchase (its order's negative rows go with
        it); a negative row with a paid or refunded status is a refund carried out.
    refund : str, array-like or None
        Refunded amount per row (>= 0; blank means 0).  An order's net amount is
        amount - refund (summed over its rows).
    paid, refunded, void : list, optional
        Status values to treat as paid / refunded / void, extending or overriding the
        built-in table (e.g. ``paid=["已评价"]``; ``void=[None]`` for rows without a
        status).
    product, category : str, array-like or None
        Optional item-level labels per row (SKU / product name, product category).
        Each row is then a line item holding one product.  Customer-level analyses
        are unchanged by these columns; item analyses (replenishment cycles, recall
        lists, cross-sell) use them.  Missing labels become ``"(missing)"`` (kept).
        With ``order=``, rows are netted per (order, product): an item refunded away
        disappears; fully refunded and void orders have no items.
    quantity : str, array-like or None
        Optional units per row (numeric, finite, > 0).  With ``order=`` an item's
        quantity is that of its purchase rows (refund rows change its amount only).
    quality : mapping, optional
        Counts from a reading step, ``{rule: count}`` (e.g. rows a reader dropped);
        shown first in :attr:`quality`.
    customer_ids : pandas.Index or array-like, optional
        The distinct customer ids when ``customer`` holds integer codes into them
        (positions, as from :func:`pandas.factorize`): results are indexed by these ids.
        Faster than passing millions of text ids; the ids are taken as given (not
        stripped) and must be distinct.  :func:`siyu.read_orders` uses it.

    Notes
    -----
    The order rules (DESIGN.md section 2a) apply when ``order``, ``status`` or
    ``refund`` is given:

    - void rows are dropped; an order whose purchase rows are all refunded by status
      is dropped (revenue 0, not an occasion);
    - net = paid rows + negative rows - refunds; an order with a refund (refund column
      or negative rows) whose net is <= 0 is fully refunded and dropped; a smaller net
      is a partial refund (the order keeps the lower amount, on its own day);
    - negative rows with an order id but no purchase of that order in the log, and
      negative rows without an order id, stay refunds: they reduce the revenue of
      their day and never make an occasion;
    - a paid order of amount 0 with no refund (a free sample, a fully discounted
      order) is a purchase: it is an occasion with amount 0, counted in
      :attr:`quality` as ``zero_amount_orders``.

    Without those columns every row is an order (negative rows are refunds), as in
    the plain transaction logs of lifetimes or CDNOW.  Exact duplicate rows are
    counted, never dropped.

    Raises
    ------
    ValueError
        A column is missing, or holds NaN/inf amounts, missing or out-of-range
        times, unknown statuses, negative refunds, or an order id shared by several
        customers.
    TypeError
        A column has an unusable dtype (e.g. numeric times, text amounts) or is a
        single value instead of a column.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"user_id": [1, 1, 2],
    ...                    "paid_at": ["2024-01-01", "2024-01-05", "2024-01-03"],
    ...                    "amount": [10.0, 20.0, 5.0]})
    >>> tx = siyu.Transactions(df, customer="user_id", time="paid_at", amount="amount")
    >>> tx.n_customers
    2
    >>> tx.summary(end="2024-01-31")["frequency"].tolist()
    [1, 0]

    A shop export with line items, statuses and a refund column:

    >>> export = pd.DataFrame({
    ...     "买家ID": ["007", "007", "007", "0070", "008"],
    ...     "订单号": ["A1", "A1", "A2", "A3", "A4"],
    ...     "付款时间": ["2024-03-01", "2024-03-01", "2024-03-09", "2024-03-02", "2024-03-03"],
    ...     "金额": [30.0, 20.0, 15.0, 9.9, 12.0],
    ...     "退款": [0, 0, 15.0, 0, 0],
    ...     "状态": ["交易成功", "交易成功", "交易成功", "交易成功", "交易关闭"]})
    >>> tx = siyu.Transactions(export, customer="买家ID", time="付款时间", amount="金额",
    ...                        order="订单号", refund="退款", status="状态")
    >>> tx.summary()[["n_orders", "revenue"]]
          n_orders  revenue
    买家ID
    007          1     50.0
    0070         1      9.9
    >>> int(tx.quality.loc["fully_refunded_refund_column", "count"])
    1
    """

    def __init__(self, data: Any = None, customer: Any = "customer_id", time: Any = "date",
                 amount: Any = "amount", channel: Any = None, member: Any = None,
                 tz: str | None = None, *, order: Any = None, status: Any = None,
                 refund: Any = None, paid: Any = None, refunded: Any = None, void: Any = None,
                 product: Any = None, category: Any = None, quantity: Any = None,
                 quality: Any = None, customer_ids: Any = None) -> None:
        from siyu import _orders

        if customer is None or time is None:
            raise TypeError("customer= and time= are required")
        if tz is not None and not isinstance(tz, str):
            raise TypeError(f"tz must be a time zone name such as 'Asia/Shanghai', got {tz!r}")
        specs = {"customer": customer, "time": time, "amount": amount, "channel": channel,
                 "member": member, "order": order, "status": status, "refund": refund,
                 "product": product, "category": category, "quantity": quantity}
        by_name = [v for v in specs.values() if isinstance(v, str)]
        if data is not None and not by_name:
            raise TypeError("with data given, customer=, time= (and amount=) must be column names")
        if data is None and by_name:
            raise TypeError(f"{next(k for k, v in specs.items() if isinstance(v, str))}="
                            f"{by_name[0]!r} names a column, but no data= was given: pass the "
                            "DataFrame as the first argument, or arrays instead of names")
        cols = inp.table_columns(data, by_name) if by_name else {}
        first_rules = _orders.reader_rules(quality)
        names: dict[str, str | None] = {}
        values: dict[str, Any] = {}
        for key, v in specs.items():
            if v is None:
                names[key] = None
                values[key] = None
                continue
            col = cols[v] if isinstance(v, str) else inp.check_column(v, key)
            names[key] = v if isinstance(v, str) else (getattr(v, "name", None) or key)
            values[key] = col
        n = len(values["customer"])
        for key, col in values.items():
            if col is not None and len(col) != n:
                raise ValueError(f"{key} column {names[key]!r} has {len(col)} rows but the "
                                 f"customer column has {n}")

        def opt(key: str, conv: Any) -> Any:
            return None if values[key] is None else conv(values[key], str(names[key]))

        parsed = _orders.Parsed(
            n=n,
            cust=(inp.ids(values["customer"], str(names["customer"])) if customer_ids is None
                  else inp.coded_ids(values["customer"], customer_ids, str(names["customer"]))),
            time=inp.times(values["time"], str(names["time"]), tz),
            amount=opt("amount", lambda v, nm: inp.numeric(v, nm, "amount")),
            channel=opt("channel", inp.labels),
            member=opt("member", inp.flags),
            product=opt("product", inp.labels),
            category=opt("category", inp.labels),
            quantity=opt("quantity", inp.quantities))
        if order is None and status is None and refund is None:
            if any(v is not None for v in (paid, refunded, void)):
                raise TypeError("paid=, refunded= and void= map the values of the status "
                                "column: pass status= too")
            log, rules = _orders.plain_log(parsed, names)
        else:
            log, rules = _orders.order_log(parsed, names, values["order"], values["status"],
                                           values["refund"], paid, refunded, void)
        self._log = log
        self._rules = _orders.combine_rules(first_rules, rules)
        arrays = [log.day, log.amount, log.channel, log.member, log.offsets]
        items = log.items
        if items is not None:
            arrays += [items.cust, items.day, items.offsets, items.product, items.category,
                       items.quantity, items.amount]
        for a in arrays:
            if a is not None:
                a.flags.writeable = False
        self.tz = tz

    # ------------------------------------------------------------------ basics
    @property
    def n_rows(self) -> int:
        """Number of rows stored: orders and refunds (after the order rules, when
        ``order=`` / ``status=`` / ``refund=`` were given; see :attr:`quality`)."""
        return int(self._log.day.size)

    @property
    def n_customers(self) -> int:
        """Number of distinct customers in the log."""
        return int(len(self._log.ids))

    @property
    def start(self) -> pd.Timestamp:
        """Day of the earliest row (NaT for an empty log)."""
        return inp.day_to_timestamp(self._log.day_min) if self.n_rows else pd.NaT

    @property
    def end(self) -> pd.Timestamp:
        """Day of the latest row (NaT for an empty log); the default analysis end."""
        return inp.day_to_timestamp(self._log.day_max) if self.n_rows else pd.NaT

    @property
    def has_amount(self) -> bool:
        return self._log.amount is not None

    @property
    def customer_ids(self) -> pd.Index:
        """The distinct customer ids (sorted)."""
        return self._log.ids

    def __len__(self) -> int:
        return self.n_rows

    def lump_channels(self, keep: Any, other: str = "other") -> "Transactions":
        """The same log with every channel not in ``keep`` merged into one ``other`` label.

        For logs with many channels (or a mistaken channel column): the analyses and
        plots then show ``keep`` (in that order) plus ``other``.  The arrays are shared;
        this log is not modified.

        Parameters
        ----------
        keep : sequence of channel labels
            Channels kept as they are, in the order to show them.
        other : str, default "other"
            Label of the merged rest (must not be one of ``keep``).

        Examples
        --------
        >>> import siyu
        >>> tx = siyu.Transactions({"c": [1, 2, 3], "t": ["2024-01-01"] * 3, "a": [1., 2, 3],
        ...                         "ch": ["wx", "dy", "xhs"]}, customer="c", time="t",
        ...                        amount="a", channel="ch")
        >>> list(tx.lump_channels(["wx"])._log.channel_labels)
        ['wx', 'other']
        """
        log = self._log
        if log.channel is None:
            raise ValueError("the log has no channel column; build it with "
                             "siyu.Transactions(..., channel='<column>')")
        labels = [str(v) for v in log.channel_labels]
        keep = [str(v) for v in keep]
        unknown = [v for v in keep if v not in labels]
        if unknown:
            raise ValueError(f"keep: unknown channel(s) {unknown}; the log's channels are "
                             f"{labels[:10]}{' ...' if len(labels) > 10 else ''}")
        if len(set(keep)) != len(keep):
            raise ValueError("keep: each channel may be listed once")
        if other in keep:
            raise ValueError(f"other={other!r} is also in keep; choose another label")
        pos = {v: i for i, v in enumerate(labels)}
        lut = np.full(len(labels), len(keep), dtype=np.int64)
        lut[[pos[v] for v in keep]] = np.arange(len(keep), dtype=np.int64)
        codes = lut[log.channel]
        codes.flags.writeable = False
        out = copy.copy(self)
        out._log = log.with_channels(codes, pd.Index(keep + [other], dtype=object,
                                                     name=log.channel_labels.name))
        return out

    # ------------------------------------------------------------------ data quality
    @property
    def quality(self) -> pd.DataFrame:
        """What construction did to the rows: one line per rule, with its count.

        Exact duplicate rows are rows equal in every given column to an earlier row
        (after ids are stripped); they are counted, never dropped.

        Index: stable English rule keys (``rows_read``, ``void_rows[交易关闭]``,
        ``refunded_orders``, ``fully_refunded_refund_column``,
        ``fully_refunded_negative_rows``, ``partial_refunds``,
        ``negative_rows_netted``, ``refunds_without_order``, ``zero_amount_orders``,
        ``line_items_merged``, ``duplicate_rows``, ``customer_ids_stripped``, ...,
        ``orders``); columns ``count`` and ``description`` (English; see
        :meth:`data_quality` for Chinese).  Rules passed in by a reading step
        (``quality=``) come first.  ``attrs`` holds the same counts by key.

        Examples
        --------
        >>> import siyu
        >>> tx = siyu.Transactions(customer=["a", " a", "b", "b"], time=["2024-01-01"] * 4,
        ...                        amount=[5.0, 7.0, -1.0, -1.0])
        >>> tx.quality["count"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
        {'rows_read': 4, 'refund_rows': 2, 'zero_amount_orders': 0, 'duplicate_rows': 1,
         'customer_ids_stripped': 1, 'orders': 2}
        """
        return self.data_quality("en")

    def data_quality(self, lang: str = "en", end: Any = None) -> pd.DataFrame:
        """:attr:`quality` with descriptions in ``lang`` ("en" or "zh").

        With ``end``, a last line counts the orders dated after it (which analyses
        ending at ``end`` ignore).
        """
        from siyu import _i18n

        _i18n.check_lang(lang)
        rules = list(self._rules)
        if end is not None:
            d = inp.to_day(end, "end")
            after = int(np.count_nonzero(self._log.day > d))
            from siyu._orders import Rule

            rules.append(Rule("rows_after_end", after, "quality.rows_after_end",
                              {"end": str(inp.day_to_timestamp(d).date())}))
        desc = [(_i18n.text(r.text, lang, **r.fmt) if r.text else r.key) for r in rules]
        out = pd.DataFrame({"count": np.array([r.count for r in rules], dtype=np.int64),
                            "description": desc},
                           index=pd.Index([r.key for r in rules], name="rule"))
        out.attrs.update({r.key: r.count for r in rules})
        return out

    def __repr__(self) -> str:
        if not self.n_rows:
            head = "<siyu.Transactions: empty log>"
        else:
            rev = ""
            if self.has_amount:
                rev = f", revenue {self._log.amount.sum():,.2f}"
            head = (f"<siyu.Transactions: {self.n_rows:,} rows, {self.n_customers:,} customers, "
                    f"{self.start.date()} to {self.end.date()}{rev}>")
        q = self.quality
        width = max(len(k) for k in q.index) if len(q) else 0
        lines = [f"  {k:<{width}}  {c:>12,}  {d}" for k, c, d in
                 zip(q.index, q["count"], q["description"])]
        return head + ("\ndata quality:\n" + "\n".join(lines) if lines else "")

    def _repr_html_(self) -> str:
        rows = [("rows", f"{self.n_rows:,}"), ("customers", f"{self.n_customers:,}")]
        if self.n_rows:
            rows += [("first day", str(self.start.date())), ("last day", str(self.end.date()))]
            if self.has_amount:
                rows.append(("revenue", f"{self._log.amount.sum():,.2f}"))
        for key in ("customer", "time", "amount", "channel", "member", "order", "status",
                    "refund", "product", "category", "quantity"):
            if self._log.names.get(key):
                rows.append((f"{key} column", str(self._log.names[key])))
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
        q = self.quality
        qbody = "".join(f"<tr><td style='text-align:left'><code>{html.escape(str(k))}</code></td>"
                        f"<td style='text-align:right'>{c:,}</td>"
                        f"<td style='text-align:left'>{html.escape(d)}</td></tr>"
                        for k, c, d in zip(q.index, q["count"], q["description"]))
        return (f"<b>siyu.Transactions</b><table>{body}</table>"
                f"<details><summary>data quality</summary><table>{qbody}</table></details>")

    # ------------------------------------------------------------------ helpers
    def _end_day(self, end: Any, name: str = "end") -> int:
        if end is None:
            if not self.n_rows:
                raise ValueError(f"the log is empty; pass {name}= explicitly")
            return int(self._log.day_max)
        d = inp.to_day(end, name)
        if self.n_rows and d < int(self._log.day_min):
            raise ValueError(f"{name}={inp.day_to_timestamp(d).date()} is before the first "
                             f"purchase in the log ({self.start.date()}); choose a later {name}")
        return d

    def _run_summary(self, period: int, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        log = self._log
        return _core.summary(None, log.day, log.amount, self.n_customers, period, lo, hi,
                             log.offsets)

    # ------------------------------------------------------------------ summaries
    def summary(self, end: Any = None, freq: str = "D", unit: str | None = None,
                include_first: bool = False, attributes: Any = None) -> pd.DataFrame:
        """Per-customer recency/frequency/monetary summary (the input of CLV models).

        Orders of one customer in the same ``freq`` period form one purchase
        *occasion*; their amounts are summed.  Refunds (negative amounts) reduce the
        amount of the period they fall in but never make an occasion.  Rows after
        ``end`` are ignored; customers with no purchase by ``end`` are left out (their
        number is in ``attrs["n_excluded"]``).  One C pass, no sort of the log.

        Parameters
        ----------
        end : date-like, optional
            End of the observation window (inclusive).  Defaults to the last day in
            the log.
        freq : {"D", "W", "M"}, default "D"
            Period that defines an occasion: calendar day, Monday-start week, month.
        unit : {"D", "W", "M"}, optional
            Unit of ``recency`` and ``T`` (default: ``freq``).  When it differs from
            ``freq``, period differences are converted through days, with W = 7 days
            and M = 365.25/12 days (an average calendar month).
        include_first : bool, default False
            Include the first occasion in ``monetary_value``.
        attributes : list of {"channel", "member"}, optional
            Customer attributes to add as columns, ready for a model's ``covariates=``:
            ``channel`` is the acquisition channel (the channel of the customer's first
            purchase row up to ``end``; missing channel values stay missing), ``member``
            is True when any of the customer's rows up to ``end`` carries the member flag.
            Needs the ``channel=`` / ``member=`` columns given to :class:`Transactions`.

        Returns
        -------
        pandas.DataFrame
            Indexed by customer id, columns:

            - ``frequency``: occasions − 1 (repeat occasions);
            - ``recency``: time from first to last occasion (model sense, ``t_x``);
            - ``T``: time from first occasion to ``end``;
            - ``monetary_value``: mean amount of repeat occasions (0 when frequency
              is 0), or of all occasions with ``include_first=True``;
            - ``n_orders``: orders (rows with amount ≥ 0; with ``order=``, distinct
              orders after the order rules); ``revenue``: net amount incl. refunds;
            - ``first_purchase``, ``last_purchase``: dates;
            - ``days_since_last``: whole days from last purchase to ``end`` (RFM
              "recency"; not the model recency).

            ``attrs`` holds ``freq``, ``unit``, ``end`` and ``n_excluded``.  Without
            amounts, ``monetary_value`` and ``revenue`` are omitted.

        Examples
        --------
        >>> import siyu
        >>> tx = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id",
        ...                        time="date", amount="amount")
        >>> s = tx.summary(end="1997-09-30", unit="W")
        >>> round(float(s["T"].max()), 2)
        38.86
        """
        freq = inp.period_code(freq, _SUMMARY_FREQS, "freq")
        unit = freq if unit is None else inp.period_code(unit, _SUMMARY_FREQS, "unit")
        if not isinstance(include_first, (bool, np.bool_)):
            raise TypeError("include_first must be True or False")
        if not self.n_rows and end is None:
            return self._empty_summary(freq, unit, pd.NaT)
        end_day = self._end_day(end)
        period = inp.PERIOD_CODES[freq]
        log = self._log
        scale = inp.UNIT_DAYS[freq] / inp.UNIT_DAYS[unit]
        end_per = int(_core.period_index(np.array([end_day], dtype=np.int64), period)[0])
        # dates as datetime64[ns] when every day of the log fits, else [s]
        ns = log.day_min is None or (log.day_min > -106_000 and log.day_max < 106_000)
        date_scale, date_unit = (inp.NS_PER_DAY, "ns") if ns else (86_400, "s")
        (m, keep, frequency, recency, T, mv, orders, rev, first, last,
         since) = _core.summary_table(log.day, log.amount, log.offsets, period,
                                      np.iinfo(np.int64).min, end_day, end_per, end_day, scale,
                                      bool(include_first), date_scale)
        k = self.n_customers
        cols: dict[str, Any] = {"frequency": frequency[:m], "recency": recency[:m], "T": T[:m]}
        if self.has_amount:
            cols["monetary_value"] = mv[:m]
        cols["n_orders"] = orders[:m]
        if self.has_amount:
            cols["revenue"] = rev[:m]
        cols["first_purchase"] = first[:m].view(f"datetime64[{date_unit}]")
        cols["last_purchase"] = last[:m].view(f"datetime64[{date_unit}]")
        cols["days_since_last"] = since[:m]
        if attributes is not None:
            cols.update(self._attributes(attributes, end_day, keep))
        index = log.ids if m == k else log.ids[keep]
        out = pd.DataFrame(cols, index=index, copy=False)  # fresh arrays: no consolidation copy
        out.attrs.update(freq=freq, unit=unit, end=inp.day_to_timestamp(end_day),
                         include_first=bool(include_first), n_excluded=int(k - m))
        return out

    def _attributes(self, attributes: Any, end_day: int, keep: np.ndarray) -> dict[str, Any]:
        """Acquisition channel / membership per customer (the rows selected by ``keep``)."""
        if isinstance(attributes, str):
            attributes = [attributes]
        try:
            names = list(attributes)
        except TypeError:
            raise TypeError("attributes must be a list such as ['channel', 'member']") from None
        bad = [a for a in names if a not in ("channel", "member")]
        if bad:
            raise ValueError(f"unknown attributes {bad}: choose from 'channel' (acquisition "
                             "channel) and 'member' (membership), e.g. "
                             "attributes=['channel', 'member']")
        log = self._log
        out: dict[str, Any] = {}
        for a in names:
            if a == "channel":
                if log.channel is None:
                    raise ValueError("attributes=['channel'] needs a channel column: pass "
                                     "channel='<column>' to siyu.Transactions")
                _, fgroup, _ = _core.cohort_first(None, log.day, log.amount, log.channel,
                                                  self.n_customers, end_day, log.offsets)
                codes = np.asarray(fgroup, dtype=np.int64)[keep]
                labels = log.channel_labels
                vals = np.asarray(labels, dtype=object)
                ok = (codes >= 0) & (codes < len(vals))
                col = np.full(codes.size, None, dtype=object)
                col[ok] = vals[codes[ok]]
                out["channel"] = pd.Categorical(col, categories=list(labels))
            else:
                if log.member is None:
                    raise ValueError("attributes=['member'] needs a member column: pass "
                                     "member='<column>' to siyu.Transactions")
                flag = ((np.asarray(log.member) != 0) & (log.day <= end_day)).astype(np.int64)
                # rows of customer c are offsets[c]:offsets[c+1]: a cumulative count gives
                # each customer's flagged rows without materialising customer codes
                cum = np.concatenate(([0], np.cumsum(flag)))
                per = cum[log.offsets[1:]] - cum[log.offsets[:-1]]
                out["member"] = per[keep] > 0
        return out

    def _empty_summary(self, freq: str, unit: str, end: Any) -> pd.DataFrame:
        cols: dict[str, Any] = {"frequency": np.zeros(0, np.int64), "recency": np.zeros(0),
                                "T": np.zeros(0)}
        if self.has_amount:
            cols["monetary_value"] = np.zeros(0)
        cols["n_orders"] = np.zeros(0, np.int64)
        if self.has_amount:
            cols["revenue"] = np.zeros(0)
        cols["first_purchase"] = np.zeros(0, "datetime64[ns]")
        cols["last_purchase"] = np.zeros(0, "datetime64[ns]")
        cols["days_since_last"] = np.zeros(0, np.int64)
        out = pd.DataFrame(cols, index=self._log.ids[:0])
        out.attrs.update(freq=freq, unit=unit, end=end, include_first=False, n_excluded=0)
        return out

    def calibration_holdout(self, calibration_end: Any, observation_end: Any = None,
                            freq: str = "D", unit: str | None = None) -> pd.DataFrame:
        """Split the log at ``calibration_end`` into calibration and holdout summaries.

        Only customers with a purchase by ``calibration_end`` are kept.  The
        calibration columns follow :meth:`summary`; the holdout counts occasions
        (``freq`` periods with a purchase) dated after ``calibration_end`` up to
        ``observation_end``, with the same spend rules (refunds net into their
        period, never an occasion).  With ``freq`` coarser than a day, a period that
        straddles ``calibration_end`` can count in both windows.

        Parameters
        ----------
        calibration_end : date-like
            Last day of the calibration window (inclusive).
        observation_end : date-like, optional
            Last day of the holdout window (default: last day in the log).
        freq, unit : {"D", "W", "M"}
            As in :meth:`summary`.

        Returns
        -------
        pandas.DataFrame
            ``frequency_cal, recency_cal, T_cal, monetary_value_cal,
            frequency_holdout, monetary_value_holdout, duration_holdout`` indexed by
            customer id (monetary columns only when the log has amounts);
            ``monetary_value_holdout`` is the mean amount of holdout occasions.

        Examples
        --------
        >>> import siyu
        >>> tx = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id",
        ...                        time="date", amount="amount")
        >>> ch = tx.calibration_holdout("1997-09-30", "1998-06-30", unit="W")
        >>> int(ch["frequency_holdout"].sum())
        1882
        """
        freq = inp.period_code(freq, _SUMMARY_FREQS, "freq")
        unit = freq if unit is None else inp.period_code(unit, _SUMMARY_FREQS, "unit")
        cal_day = self._end_day(calibration_end, "calibration_end")
        obs_day = self._end_day(observation_end, "observation_end")
        if obs_day <= cal_day:
            raise ValueError(f"observation_end ({inp.day_to_timestamp(obs_day).date()}) must be "
                             f"after calibration_end ({inp.day_to_timestamp(cal_day).date()})")
        period = inp.PERIOD_CODES[freq]
        scale = inp.UNIT_DAYS[freq] / inp.UNIT_DAYS[unit]
        occ, _, _, fper, lper, _, _, famt, rsum = self._run_summary(
            period, np.iinfo(np.int64).min, cal_day)
        hocc, _, _, _, _, _, _, hfamt, hrsum = self._run_summary(period, cal_day, obs_day)
        keep = occ > 0
        ends = _core.period_index(np.array([cal_day, obs_day], dtype=np.int64), period)
        frequency = occ[keep] - 1
        cols: dict[str, Any] = {
            "frequency_cal": frequency,
            "recency_cal": (lper[keep] - fper[keep]) * scale,
            "T_cal": (int(ends[0]) - fper[keep]) * scale,
        }
        if self.has_amount:
            cols["monetary_value_cal"] = np.divide(rsum[keep], frequency,
                                                   out=np.zeros(frequency.size),
                                                   where=frequency > 0)
        hf = hocc[keep]
        cols["frequency_holdout"] = hf
        if self.has_amount:
            cols["monetary_value_holdout"] = np.divide(hfamt[keep] + hrsum[keep], hf,
                                                       out=np.zeros(hf.size), where=hf > 0)
        cols["duration_holdout"] = np.full(hf.size, (int(ends[1]) - int(ends[0])) * scale)
        out = pd.DataFrame(cols, index=self._log.ids[keep], copy=False)  # fresh arrays: no consolidation copy
        out.attrs.update(freq=freq, unit=unit,
                         calibration_end=inp.day_to_timestamp(cal_day),
                         end=inp.day_to_timestamp(cal_day),
                         observation_end=inp.day_to_timestamp(obs_day),
                         n_excluded=int((~keep).sum()))
        return out


    # ------------------------------------------------------------------ analyses
    # Each is implemented in its own module as func(tx, ...); see those docstrings.
    cohorts = _Delegate("siyu.cohorts", "cohort_table")
    retention = _Delegate("siyu.retention", "retention")
    repurchase = _Delegate("siyu.retention", "repurchase")
    interpurchase_times = _Delegate("siyu.retention", "interpurchase_times")
    survival = _Delegate("siyu.survival", "survival")
    lifecycle = _Delegate("siyu.segments", "lifecycle")
    value_tiers = _Delegate("siyu.segments", "value_tiers")
    rfm = _Delegate("siyu.segments", "rfm")
    migration = _Delegate("siyu.segments", "migration")
    repeat_rate = _Delegate("siyu.metrics", "repeat_rate")
    return_rate = _Delegate("siyu.metrics", "return_rate")
    new_customer_repeat_rate = _Delegate("siyu.metrics", "new_customer_repeat_rate")
    rfm_matrix = _Delegate("siyu.metrics", "rfm_matrix")
    replenishment = _Delegate("siyu.actions", "replenishment")
    recall_list = _Delegate("siyu.actions", "recall_list")
    cross_sell = _Delegate("siyu.actions", "cross_sell")


def read_csv(path: Any, customer: str = "customer_id", time: str = "date",
             amount: str | None = "amount", channel: str | None = None,
             member: str | None = None, tz: str | None = None,
             **pandas_kwargs: Any) -> Transactions:
    """Read a CSV transaction log with pandas and wrap it in :class:`Transactions`.

    Parameters
    ----------
    path : str or path-like or file-like
        The CSV file.
    customer, time, amount, channel, member, tz
        As in :class:`Transactions`.
    **pandas_kwargs
        Passed to :func:`pandas.read_csv` (e.g. ``sep``, ``encoding``).

    Examples
    --------
    >>> import io, siyu
    >>> tx = siyu.read_csv(io.StringIO("id,t,amt\\n1,2024-01-01,9.5\\n"),
    ...                    customer="id", time="t", amount="amt")
    >>> tx.n_rows
    1
    """
    usecols = [c for c in (customer, time, amount, channel, member) if c is not None]
    pandas_kwargs.setdefault("usecols", usecols)
    df = pd.read_csv(path, **pandas_kwargs)
    return Transactions(df, customer=customer, time=time, amount=amount, channel=channel,
                        member=member, tz=tz)
