"""``Transactions``: the entry point of siyu.

A transaction log (who bought, when, for how much) is validated once and stored as
contiguous arrays; every analysis (summaries, cohorts, retention, segments, ...) runs
on those arrays in C.
"""
from __future__ import annotations

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
    """A validated transaction log.

    Parameters
    ----------
    data : pandas.DataFrame, dict of arrays, polars.DataFrame or pyarrow.Table, optional
        The log, one row per order (or refund).  May be omitted when the columns are
        passed directly as arrays.
    customer : str or array-like, default "customer_id"
        Column name (or the array itself) of customer ids.  Ids may be integers or
        strings; results are indexed by these ids.
    time : str or array-like, default "date"
        Column name (or array) of order times: datetime64 of any unit, tz-aware
        pandas timestamps, or date strings.  Only the calendar day is used.
    amount : str, array-like or None, default "amount"
        Column name (or array) of order amounts.  Negative amounts are refunds: they
        reduce revenue but are not purchase occasions.  ``None`` when the log has no
        amounts (monetary columns are then omitted).
    channel : str, array-like or None
        Optional acquisition channel / segment label per row (e.g. 公域 / 私域).
    member : str, array-like or None
        Optional membership flag per row (bool or 0/1); a customer is a member once
        any of their rows is flagged.
    tz : str, optional
        Time zone to convert tz-aware times to before taking the calendar day
        (e.g. ``"Asia/Shanghai"``).  Naive times are taken as already local.
    product, category : str, array-like or None
        Optional item-level labels per row (SKU / product name, product category).
        Each row is then a line item holding one product.  Customer-level analyses
        are unchanged by these columns; item analyses (replenishment cycles, recall
        lists, cross-sell) use them.  Missing labels become ``"(missing)"``.
    quantity : str, array-like or None
        Optional units per row (numeric, finite).

    Raises
    ------
    ValueError
        A column is missing, or holds NaN/inf amounts, missing or unparseable times.
    TypeError
        A column has an unusable dtype (e.g. numeric times, text amounts).

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
    """

    def __init__(self, data: Any = None, customer: Any = "customer_id", time: Any = "date",
                 amount: Any = "amount", channel: Any = None, member: Any = None,
                 tz: str | None = None, *, product: Any = None, category: Any = None,
                 quantity: Any = None) -> None:
        specs = {"customer": customer, "time": time, "amount": amount, "channel": channel,
                 "member": member, "product": product, "category": category,
                 "quantity": quantity}
        by_name = [v for v in specs.values() if isinstance(v, str)]
        cols = inp.table_columns(data, by_name) if by_name else {}
        if data is not None and not by_name:
            raise TypeError("with data given, customer=, time= (and amount=) must be column names")

        if customer is None or time is None:
            raise TypeError("customer= and time= are required")
        names: dict[str, str | None] = {}
        n = len(cols[customer]) if isinstance(customer, str) else len(customer)

        def col(key: str) -> Any:
            """The values of one optional column, length-checked; None when not given."""
            v = specs[key]
            if v is None:
                names[key] = None
                return None
            values = cols[v] if isinstance(v, str) else v
            names[key] = v if isinstance(v, str) else (getattr(v, "name", None) or key)
            if len(values) != n:
                raise ValueError(f"{key} column {names[key]!r} has {len(values)} rows but the "
                                 f"customer column has {n}")
            return values

        cust, ids = inp.customers(col("customer"), names["customer"])
        day = inp.times_to_days(col("time"), names["time"], tz)
        avals, chvals, mvals = col("amount"), col("channel"), col("member")
        amt = None if avals is None else inp.amounts(avals, names["amount"])
        ch, chl = (None, None) if chvals is None else inp.labels(chvals, names["channel"])
        mem = None if mvals is None else inp.flags(mvals, names["member"])
        pvals, cvals, qvals = col("product"), col("category"), col("quantity")
        prod, prodl = (None, None) if pvals is None else inp.labels(pvals, names["product"])
        cat, catl = (None, None) if cvals is None else inp.labels(cvals, names["category"])
        qty = None if qvals is None else inp.amounts(qvals, names["quantity"], what="quantity")
        # store rows grouped by customer and sorted by day: every kernel then scans
        # each customer's rows sequentially (a counting sort, not a full sort)
        offsets, perm, day, cust = _core.group_rows(cust, day, len(ids))
        amt = amt[perm] if amt is not None else None
        ch = ch[perm] if ch is not None else None
        mem = mem[perm] if mem is not None else None
        items = None
        if prod is not None or cat is not None or qty is not None:
            # without order ids each purchase row holds one item; refunds are not items
            keep = None if amt is None else amt >= 0
            def take(a: Any) -> Any:
                if a is None:
                    return None
                a = a[perm]
                return a if keep is None else a[keep]
            icust, iday = (cust, day) if keep is None else (cust[keep], day[keep])
            ioff = np.searchsorted(icust, np.arange(len(ids) + 1, dtype=np.int64)).astype(np.int64)
            items = inp.Items(cust=icust, day=iday, offsets=ioff, product=take(prod),
                              product_labels=prodl, category=take(cat), category_labels=catl,
                              quantity=take(qty), amount=None if amt is None else amt[keep])
        del perm
        self._log = inp.Log(cust=cust, ids=ids, day=day, amount=amt, channel=ch,
                            channel_labels=chl, member=mem,
                            names=names,
                            offsets=offsets, items=items)
        arrays = [cust, day, amt, ch, mem, offsets]
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
        """Number of rows (orders and refunds) in the log."""
        return int(self._log.day.size)

    @property
    def n_customers(self) -> int:
        """Number of distinct customers in the log."""
        return int(len(self._log.ids))

    @property
    def start(self) -> pd.Timestamp:
        """Day of the earliest row (NaT for an empty log)."""
        return inp.day_to_timestamp(self._log.day.min()) if self.n_rows else pd.NaT

    @property
    def end(self) -> pd.Timestamp:
        """Day of the latest row (NaT for an empty log); the default analysis end."""
        return inp.day_to_timestamp(self._log.day.max()) if self.n_rows else pd.NaT

    @property
    def has_amount(self) -> bool:
        return self._log.amount is not None

    @property
    def customer_ids(self) -> pd.Index:
        """The distinct customer ids (sorted)."""
        return self._log.ids

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        if not self.n_rows:
            return "<siyu.Transactions: empty log>"
        rev = ""
        if self.has_amount:
            rev = f", revenue {self._log.amount.sum():,.2f}"
        return (f"<siyu.Transactions: {self.n_rows:,} rows, {self.n_customers:,} customers, "
                f"{self.start.date()} to {self.end.date()}{rev}>")

    def _repr_html_(self) -> str:
        rows = [("rows", f"{self.n_rows:,}"), ("customers", f"{self.n_customers:,}")]
        if self.n_rows:
            rows += [("first day", str(self.start.date())), ("last day", str(self.end.date()))]
            if self.has_amount:
                rows.append(("revenue", f"{self._log.amount.sum():,.2f}"))
        for key in ("customer", "time", "amount", "channel", "member", "product", "category",
                    "quantity"):
            if self._log.names.get(key):
                rows.append((f"{key} column", str(self._log.names[key])))
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<b>siyu.Transactions</b><table>{body}</table>"

    # ------------------------------------------------------------------ helpers
    def _end_day(self, end: Any, name: str = "end") -> int:
        if end is None:
            if not self.n_rows:
                raise ValueError(f"the log is empty; pass {name}= explicitly")
            return int(self._log.day.max())
        d = inp.to_day(end, name)
        if self.n_rows and d < int(self._log.day.min()):
            raise ValueError(f"{name}={inp.day_to_timestamp(d).date()} is before the first "
                             f"purchase in the log ({self.start.date()}); choose a later {name}")
        return d

    def _run_summary(self, period: int, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        log = self._log
        return _core.summary(log.cust, log.day, log.amount, self.n_customers, period, lo, hi)

    # ------------------------------------------------------------------ summaries
    def summary(self, end: Any = None, freq: str = "D", unit: str | None = None,
                include_first: bool = False) -> pd.DataFrame:
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

        Returns
        -------
        pandas.DataFrame
            Indexed by customer id, columns:

            - ``frequency``: occasions − 1 (repeat occasions);
            - ``recency``: time from first to last occasion (model sense, ``t_x``);
            - ``T``: time from first occasion to ``end``;
            - ``monetary_value``: mean amount of repeat occasions (0 when frequency
              is 0), or of all occasions with ``include_first=True``;
            - ``n_orders``: rows with amount ≥ 0; ``revenue``: net amount incl. refunds;
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
        occ, fday, lday, fper, lper, orders, rev, famt, rsum = self._run_summary(
            period, np.iinfo(np.int64).min, end_day)
        keep = occ > 0
        scale = inp.UNIT_DAYS[freq] / inp.UNIT_DAYS[unit]
        end_per = int(_core.period_index(np.array([end_day], dtype=np.int64), period)[0])
        frequency = occ[keep] - 1
        cols: dict[str, Any] = {
            "frequency": frequency,
            "recency": (lper[keep] - fper[keep]) * scale,
            "T": (end_per - fper[keep]) * scale,
        }
        if self.has_amount:
            if include_first:
                mv = (famt[keep] + rsum[keep]) / occ[keep]
            else:
                mv = np.divide(rsum[keep], frequency, out=np.zeros(frequency.size),
                               where=frequency > 0)
            cols["monetary_value"] = mv
        cols["n_orders"] = orders[keep]
        if self.has_amount:
            cols["revenue"] = rev[keep]
        cols["first_purchase"] = inp.days_to_dates(fday[keep])
        cols["last_purchase"] = inp.days_to_dates(lday[keep])
        cols["days_since_last"] = end_day - lday[keep]
        out = pd.DataFrame(cols, index=self._log.ids[keep], copy=False)  # fresh arrays: no consolidation copy
        out.attrs.update(freq=freq, unit=unit, end=inp.day_to_timestamp(end_day),
                         include_first=bool(include_first),
                         n_excluded=int((~keep).sum()))
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
