"""Building the stored log from a transaction log or a shop's order export.

DESIGN.md section 2a: rows sharing an order id are one order; statuses map to paid /
refunded / void; a refund column and negative rows with an order id net against their
order.  Every row dropped, netted or normalised is counted in a quality rule.  All of
it is vectorised (NumPy, or the C kernels of sy_orders.c / sy_factorize.c): no Python
loop over rows or orders.

Used by :class:`siyu.Transactions` only; the rules are documented there.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp

# ---- the built-in status table ---------------------------------------------------
PAID, REFUNDED, VOID = 0, 1, 2
STATUS_CLASSES = {"paid": PAID, "refunded": REFUNDED, "void": VOID}

#: Statuses siyu knows (matched after stripping whitespace, English case-insensitively).
#: ``paid=``, ``refunded=`` and ``void=`` of :class:`siyu.Transactions` extend or
#: override it.
STATUS_TABLE: dict[str, tuple[str, ...]] = {
    "paid": ("交易成功", "已完成", "已付款", "待发货", "已发货", "待收货", "已签收",
             "completed", "paid", "shipped", "delivered"),
    "refunded": ("已退款", "退款成功", "退款完成", "refunded"),
    "void": ("待付款", "交易关闭", "已取消", "订单关闭",
             "pending", "cancelled", "canceled", "closed"),
}

# order outcomes and flags (sy_orders.h)
ORD_NONE, ORD_PURCHASE, ORD_REFUND, ORD_VOID, ORD_REFUNDED, ORD_FULL_COLUMN, ORD_FULL_NEGATIVE = range(7)
F_PARTIAL, F_ZERO, F_REFUNDED_ITEMS, F_NETTED, F_MIXED = 1, 2, 4, 8, 16

_MISSING = object()   # the key of a missing status value


def _status_key(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA \
            or value is pd.NaT:
        return _MISSING
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return value.strip().casefold()
    return value


def _status_map(paid: Any, refunded: Any, void: Any) -> dict[Any, int]:
    """The built-in table with the user's lists applied on top."""
    table: dict[Any, int] = {}
    for cls, values in STATUS_TABLE.items():
        for v in values:
            table[_status_key(v)] = STATUS_CLASSES[cls]
    seen: dict[Any, str] = {}
    for arg, values in (("paid", paid), ("refunded", refunded), ("void", void)):
        if values is None:
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            values = [values]
        for v in values:
            key = _status_key(v)
            if key in seen and seen[key] != arg:
                raise ValueError(f"status {inp.show(v)} is given both as {seen[key]}= and "
                                 f"{arg}=; map each status to one of them")
            seen[key] = arg
            table[key] = STATUS_CLASSES[arg]
    return table


@dataclass
class Rule:
    """One line of the quality table."""

    key: str                    # stable English key (index of tx.quality)
    count: int
    text: str | None = None     # i18n key; None for rules a reader passed in
    fmt: dict[str, Any] = field(default_factory=dict)


def reader_rules(quality: Any) -> list[Rule]:
    """Rules passed in by a reading step (``quality={"rule": count}``), shown first."""
    if quality is None:
        return []
    if not isinstance(quality, Mapping):
        raise TypeError("quality= must be a mapping {rule name: count}, e.g. "
                        "{'total_rows_dropped': 1}")
    out = []
    for key, count in quality.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"quality= keys must be rule names (text), got {inp.show(key)}")
        if isinstance(count, (bool, np.bool_)) or not isinstance(count, (int, np.integer)) \
                or count < 0:
            raise ValueError(f"quality={{{key!r}: ...}} must be a count >= 0, got {inp.show(count)}")
        from siyu import _i18n

        text = f"quality.{key}" if f"quality.{key}" in _i18n.CATALOGUE else None
        out.append(Rule(key, int(count), text))
    return out


def combine_rules(first: list[Rule], rules: list[Rule]) -> list[Rule]:
    """The reader's rules followed by construction's; a rule both count (e.g. ids
    stripped by the reader and by construction) is one line, at its first place, with
    the counts added."""
    out: list[Rule] = []
    at: dict[str, int] = {}
    for r in first + rules:
        if r.key in at:
            i = at[r.key]
            out[i] = dataclasses.replace(out[i], count=out[i].count + r.count,
                                         text=out[i].text or r.text)
        else:
            at[r.key] = len(out)
            out.append(r)
    return out


# ---- statuses -------------------------------------------------------------------------
def statuses(values: Any, name: str, paid: Any, refunded: Any, void: Any
             ) -> tuple[np.ndarray, np.ndarray, pd.Index, list[tuple[Any, int]]]:
    """Map a status column to classes.

    Returns (class per row (int8), status code per row, the distinct statuses, and
    [(status, rows)] of the void statuses).  Unknown statuses raise a ValueError that
    lists each with its row count and the argument that maps it.
    """
    s = inp.as_series(values, name)
    if inp.arrow_type(s) is not None:
        s = inp.from_arrow(s)
    codes, uniques = pd.factorize(s, sort=False, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    u = list(uniques)
    has_missing = bool((codes < 0).any())
    if has_missing:
        codes = np.where(codes < 0, len(u), codes)
        u.append(None)
    table = _status_map(paid, refunded, void)
    cls_u = np.full(len(u), -1, np.int8)
    for j, v in enumerate(u):
        cls_u[j] = table.get(_status_key(v), -1)
    counts = np.bincount(codes, minlength=len(u))
    unknown = np.flatnonzero(cls_u < 0)
    if unknown.size:
        order = unknown[np.argsort(-counts[unknown], kind="stable")]
        shown = [u[j].strip() if isinstance(u[j], str) else u[j] for j in order]
        lines = ", ".join(f"{inp.show(v)} ({int(counts[j]):,} rows)" for v, j in zip(shown, order))
        example = "[" + ", ".join(inp.show(v) for v in shown) + "]"
        raise ValueError(
            f"status column {name!r} has {len(shown)} status value(s) siyu does not know: "
            f"{lines}. Say what each one means with paid= (real purchases), refunded= "
            f"(refunded: revenue 0, not a purchase) or void= (never paid: dropped); e.g. if "
            f"they are all purchases pass paid={example}, or refunded={example}, or "
            f"void={example}")
    void_list = [(u[j].strip() if isinstance(u[j], str) else u[j], int(counts[j]))
                 for j in np.flatnonzero(cls_u == VOID) if counts[j]]
    return (np.ascontiguousarray(cls_u[codes]), codes,
            pd.Index(u, dtype=object), void_list)


# ---- exact duplicate detection ---------------------------------------------------------
def count_duplicates(columns: list[np.ndarray | None]) -> int:
    """Rows equal in every given column to an earlier row (columns in their own dtypes:
    integers of any width, float64 compared by value)."""
    cols = tuple(c if c.dtype.kind in "iub" or c.dtype == np.float64 else c.astype(np.int64)
                 for c in columns if c is not None)
    if not cols or len(cols[0]) < 2:
        return 0
    return int(_core.count_duplicates(cols))


def _log_duplicates(offsets: np.ndarray, day: np.ndarray, perm: np.ndarray,
                    columns: list[np.ndarray | None]) -> int:
    """count_duplicates of the input rows (columns in input order; the first two are the
    customer and the time), found through the log built from them: rows equal in customer
    and time have one customer and one day, so they are neighbours in the log (grouped by
    customer, sorted by day).  Only rows with a neighbour of the same customer and day are
    compared, which in a typical log is a small share of them."""
    n = day.size
    if n < 2:
        return 0
    same = day[1:] == day[:-1]
    last = offsets[1:-1] - 1                       # last row of every customer but the last
    same[last[(last >= 0) & (last < n - 1)]] = False
    cand = np.zeros(n, dtype=bool)
    cand[:-1] = same
    cand[1:] |= same
    rows = perm[cand]
    return count_duplicates([None if c is None else c[rows] for c in columns])


# ---- the log ------------------------------------------------------------------------
@dataclass
class Parsed:
    """The columns after validation (row order of the input)."""

    n: int
    cust: inp.Ids
    time: inp.Times
    amount: np.ndarray | None
    channel: tuple[np.ndarray, pd.Index] | None
    member: np.ndarray | None
    product: tuple[np.ndarray, pd.Index] | None
    category: tuple[np.ndarray, pd.Index] | None
    quantity: np.ndarray | None


def _grouped(ids: np.ndarray, t: np.ndarray, div: int, mult: int, amount: np.ndarray | None,
             want_perm: bool, amount_name: str | None, time_name: str,
             times: inp.Times | None = None) -> tuple:
    res = _core.build_log(ids, t, div, mult, amount, want_perm, inp.DAY_MIN, inp.DAY_MAX)
    if isinstance(res, int):
        if res in (1, 2):
            raise inp.time_problem(times if times is not None else inp.Times(t, div, mult),
                                   time_name, res)
        raise inp.amount_error(amount, str(amount_name), res)
    return res


def _items(cust_log: np.ndarray, day: np.ndarray, amount: np.ndarray | None, rows: np.ndarray,
           p: Parsed, k: int, quantity: np.ndarray | None, grouped: bool = False) -> inp.Items:
    """Group item rows (one per line item, in input order of `rows`) like the log.
    grouped: the rows are already in the log's order (by customer code, day, input row),
    so grouping them again would keep that order: it is taken as it is."""
    if grouped:
        counts = np.bincount(cust_log, minlength=k).astype(np.int64)
        icust, iday, iamt, src, qty = cust_log, day, amount, rows, quantity
    else:
        res = _grouped(cust_log, day, 1, 1, amount, True, "amount", "time")
        offs, iday, iamt, uniq, perm = res[:5]
        # customers with no item keep empty ranges: offsets over all k log customers
        counts = np.zeros(k, np.int64)
        counts[uniq] = np.diff(offs)
        icust = np.repeat(np.arange(k, dtype=np.int64), counts)
        src = rows[perm]
        qty = None if quantity is None else quantity[perm]
    ioff = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    prod = None if p.product is None else p.product[0][src]
    cat = None if p.category is None else p.category[0][src]
    return inp.Items(cust=icust, day=iday, offsets=ioff, product=prod,
                     product_labels=None if p.product is None else p.product[1],
                     category=cat, category_labels=None if p.category is None else p.category[1],
                     quantity=qty, amount=None if amount is None else iamt)


def _has_items(p: Parsed) -> bool:
    return p.product is not None or p.category is not None or p.quantity is not None


def plain_log(p: Parsed, names: dict[str, str | None]) -> tuple[inp.Log, list[Rule]]:
    """The log without order semantics: each row an order (or a refund when negative)."""
    extra = [p.channel, p.member, p.product, p.category, p.quantity]
    want_perm = any(x is not None for x in extra)
    offsets, day, amount, uniques, perm, dups, dmin, dmax, n_neg, n_zero = _grouped(
        p.cust.values, p.time.values, p.time.div, p.time.mult, p.amount, want_perm,
        names.get("amount"), str(names["time"]), p.time)
    k = len(uniques)
    ids = p.cust.labels(uniques, names["customer"])
    ch = None if p.channel is None else p.channel[0][perm]
    mem = None if p.member is None else p.member[perm]
    if want_perm:
        dups = _log_duplicates(offsets, day, perm, [
            p.cust.values, p.time.values, p.amount,
            None if p.channel is None else p.channel[0], p.member,
            None if p.product is None else p.product[0],
            None if p.category is None else p.category[0], p.quantity])
    items = None
    if _has_items(p):
        keep = None if amount is None else amount >= 0
        rows = perm if keep is None else perm[keep]
        # the item rows are the log's paid rows, already in the log's order
        cust = np.repeat(np.arange(k, dtype=np.int64), np.diff(offsets))
        items = _items(cust if keep is None else cust[keep], day if keep is None else day[keep],
                       None if amount is None else amount[keep], rows, p, k,
                       None if p.quantity is None else p.quantity[rows], grouped=True)
    log = inp.Log(cust=None, ids=ids, day=day, amount=amount, channel=ch,
                  channel_labels=None if p.channel is None else p.channel[1], member=mem,
                  names=names, offsets=offsets, items=items, day_min=dmin, day_max=dmax)
    rules = [Rule("rows_read", p.n, "quality.rows_read")]
    n_refund = 0
    if amount is not None:
        n_refund = int(n_neg)
        rules.append(Rule("refund_rows", n_refund, "quality.refund_rows"))
        rules.append(Rule("zero_amount_orders", int(n_zero), "quality.zero_amount_orders"))
    rules.append(Rule("duplicate_rows", int(dups), "quality.duplicate_rows"))
    if p.cust.text:
        rules.append(Rule("customer_ids_stripped", p.cust.n_stripped,
                          "quality.customer_ids_stripped"))
    rules.append(Rule("orders", p.n - n_refund, "quality.orders"))
    return log, rules


def _mixed_message(name: str, oid: inp.Ids, ocodes: np.ndarray, cust_codes: np.ndarray,
                   cust_labels: pd.Index, mixed: np.ndarray) -> str:
    bad = np.flatnonzero(mixed)
    shown = []
    for o in bad[:3]:
        rows = np.flatnonzero(ocodes == o)
        cs = cust_labels[np.unique(cust_codes[rows])][:3]
        label = oid.index[o] if oid.index is not None else o
        shown.append(f"{inp.show(label)} (customers {', '.join(inp.show(c) for c in cs)})")
    return (f"order column {name!r}: {bad.size} order id(s) have rows of several customers, "
            f"e.g. {'; '.join(shown)}. An order belongs to one customer: fix those rows, or "
            "leave out order= to treat every row as its own order")


def order_log(p: Parsed, names: dict[str, str | None], order: Any, status: Any, refund: Any,
              paid: Any, refunded: Any, void: Any) -> tuple[inp.Log, list[Rule]]:
    """The log under the order rules of DESIGN.md section 2a."""
    n = p.n
    tname = str(names["time"])
    days = inp.days_of(p.time, tname)
    amt = p.amount
    if amt is not None:
        problem = inp.amount_problem(amt)
        if problem:
            raise inp.amount_error(amt, str(names["amount"]), problem)
    ref = None
    if refund is not None:
        if amt is None:
            raise TypeError("refund= needs amount=: a refund is subtracted from the order amount")
        ref = inp.refunds(refund, str(names["refund"]))
        if not np.isfinite(np.abs(amt).sum() + ref.sum()):
            raise inp.amount_error(np.abs(amt) + ref, str(names["amount"]), 4)
    cls = status_codes = None
    void_list: list[tuple[Any, int]] = []
    if status is not None:
        cls, status_codes, _, void_list = statuses(status, str(names["status"]), paid, refunded,
                                                    void)
    elif any(v is not None for v in (paid, refunded, void)):
        raise TypeError("paid=, refunded= and void= map the values of the status column: "
                        "pass status= too")
    # customer codes (sorted ids) for the order rows
    if p.cust.index is None:
        ccodes, cuniq = _core.factorize_int64(p.cust.values)
        cust_labels = pd.Index(cuniq.astype(p.cust.dtype, copy=False), name=names["customer"])
    else:
        ccodes, cust_labels = p.cust.values, p.cust.index
    oid = None
    ocodes = None
    m = n
    n_no_order = 0
    if order is not None:
        oid = inp.ids(order, str(names["order"]), what="order", allow_missing=True, sort=False)
        if oid.index is None:
            ocodes, _ = _core.factorize_int64(oid.values)
            m = int(ocodes.max()) + 1 if n else 0
        else:
            ocodes = oid.values.copy()
            m = len(oid.index)
        miss = oid.missing
        n_no_order = int(miss.sum()) if miss is not None else 0
        if n_no_order:
            # rows without an order id: each is its own order
            ocodes = ocodes.copy()
            ocodes[miss] = m + np.arange(n_no_order)
        m += n_no_order
    outcome, oflags, net, orow, n_mixed = _core.orders_aggregate(
        ocodes, m, ccodes, days, amt, ref, cls)
    if n_mixed:
        raise ValueError(_mixed_message(str(names["order"]), oid, ocodes, ccodes, cust_labels,
                                        (oflags & F_MIXED) > 0))
    kept = (outcome == ORD_PURCHASE) | (outcome == ORD_REFUND)
    # the gathers over all rows go through _core.take: all threads, and Ctrl-C is seen
    # inside each (a NumPy fancy index holds it for the whole gather)
    take = _core.take
    mark = np.zeros(n, bool)
    mark[take(orow, np.flatnonzero(kept))] = True
    rows = np.flatnonzero(mark)                       # one row per kept order, input order
    korder = rows if ocodes is None else take(ocodes, rows)
    o_amt = None if amt is None else take(net, korder)
    offsets, day, amount, uniques, perm, _, dmin, dmax = _grouped(
        take(ccodes, rows), take(days, rows), 1, 1, o_amt, True, names.get("amount"), tname)[:8]
    k = len(uniques)
    ids = cust_labels[uniques] if k != len(cust_labels) else cust_labels
    ids = ids.rename(names["customer"])
    src = take(rows, perm)                             # representative input row per log row
    lorder = take(korder, perm)                        # order of each log row
    ch = None if p.channel is None else p.channel[0][src]
    mem = None
    if p.member is not None:
        # a member order: any of its rows flagged
        if ocodes is None:
            per_order = p.member > 0
        else:
            per_order = np.bincount(ocodes, weights=p.member, minlength=m) > 0
        mem = per_order[lorder].astype(np.int8)
    # ---- line items of kept purchases, netted per (order, product)
    items = None
    if _has_items(p):
        row_order = np.arange(n) if ocodes is None else ocodes
        purchase = np.ones(n, bool) if amt is None else amt >= 0
        counted = np.ones(n, bool) if cls is None else (cls != VOID) & ~(purchase & (cls == REFUNDED))
        sel = np.flatnonzero(counted & (outcome[row_order] == ORD_PURCHASE))
        if p.product is not None:
            kc, nk = p.product[0], len(p.product[1])
        elif p.category is not None:
            kc, nk = p.category[0], len(p.category[1])
        else:
            kc, nk = np.zeros(n, np.int64), 1
        if m and nk > (2 ** 62) // max(m, 1):
            raise ValueError("too many orders x products to net line items")
        key = row_order[sel] * nk + kc[sel]
        icode, iuniq = _core.factorize_int64(key)
        ni = len(iuniq)
        ipur = purchase[sel]
        has_pur = np.bincount(icode, weights=ipur, minlength=ni) > 0
        keep_item = has_pur
        iamt = None
        if amt is not None:
            rnet = amt[sel] - (0.0 if ref is None else ref[sel])
            iamt = np.bincount(icode, weights=rnet, minlength=ni)
            refunded_row = ~ipur | ((ref[sel] > 0) if ref is not None else False)
            had_ref = np.bincount(icode, weights=refunded_row, minlength=ni) > 0
            keep_item = has_pur & ~(had_ref & (iamt <= 0))
        iqty = None
        if p.quantity is not None:
            iqty = np.bincount(icode, weights=np.where(ipur, p.quantity[sel], 0.0), minlength=ni)
        first = _core.group_first(np.where(ipur, icode, -1), ni)     # first purchase row
        live = np.flatnonzero(keep_item)
        first_rows = sel[first[live]]
        mark = np.zeros(n, bool)
        mark[first_rows] = True
        irows = np.flatnonzero(mark)                     # item rows in input order
        item_of = np.empty(n, np.int64)
        item_of[first_rows] = live
        it = item_of[irows]
        # the customer code of the log and the order's day
        log_code = np.full(len(cust_labels), -1, np.int64)
        log_code[uniques] = np.arange(k)
        iorder = row_order[irows]
        oday = days[orow[iorder]]
        items = _items(log_code[ccodes[irows]], oday, None if iamt is None else iamt[it], irows,
                       p, k, None if iqty is None else iqty[it])
    log = inp.Log(cust=None, ids=ids, day=day, amount=amount, channel=ch,
                  channel_labels=None if p.channel is None else p.channel[1], member=mem,
                  names=names, offsets=offsets, items=items, day_min=dmin, day_max=dmax)
    # ---- quality
    is_purchase_order = outcome == ORD_PURCHASE
    row_out = None if ocodes is None else take(outcome, ocodes)   # each row's order outcome
    real = np.ones(m, bool)
    if n_no_order:
        real[m - n_no_order:] = False
    if order is None:
        real[:] = False
    rules = [Rule("rows_read", n, "quality.rows_read")]
    if order is not None:
        rules.append(Rule("rows_without_order_id", n_no_order, "quality.rows_without_order_id"))
    if status is not None:
        for value, count in void_list:
            rules.append(Rule(f"void_rows[{value}]", count, "quality.void_rows",
                              {"status": inp.show(value)}))
        rules.append(Rule("refunded_orders", int(np.count_nonzero(outcome == ORD_REFUNDED)),
                          "quality.refunded_orders"))
        if order is not None:
            refd_rows = (cls == REFUNDED) & (np.ones(n, bool) if amt is None else amt >= 0)
            rules.append(Rule("refunded_items",
                              int(np.count_nonzero(refd_rows & (row_out != ORD_REFUNDED))),
                              "quality.refunded_items"))
    if ref is not None:
        rules.append(Rule("fully_refunded_refund_column",
                          int(np.count_nonzero(outcome == ORD_FULL_COLUMN)),
                          "quality.fully_refunded_refund_column"))
    if amt is not None:
        rules.append(Rule("fully_refunded_negative_rows",
                          int(np.count_nonzero(outcome == ORD_FULL_NEGATIVE)),
                          "quality.fully_refunded_negative_rows"))
        rules.append(Rule("partial_refunds",
                          int(np.count_nonzero(is_purchase_order & ((oflags & F_PARTIAL) > 0))),
                          "quality.partial_refunds"))
        if order is not None:
            neg = amt < 0
            if cls is not None:
                neg &= cls != VOID
            netted = neg & ((row_out == ORD_PURCHASE) | (row_out == ORD_FULL_COLUMN)
                            | (row_out == ORD_FULL_NEGATIVE))
            rules.append(Rule("negative_rows_netted", int(np.count_nonzero(netted)),
                              "quality.negative_rows_netted"))
        refund_kept = outcome == ORD_REFUND
        rules.append(Rule("refunds_without_order", int(np.count_nonzero(refund_kept & ~real)),
                          "quality.refunds_without_order"))
        if order is not None:
            rules.append(Rule("refunds_order_not_in_log", int(np.count_nonzero(refund_kept & real)),
                              "quality.refunds_order_not_in_log"))
        rules.append(Rule("zero_amount_orders",
                          int(np.count_nonzero(is_purchase_order & ((oflags & F_ZERO) > 0))),
                          "quality.zero_amount_orders"))
    if order is not None:
        paid_rows = np.ones(n, bool) if amt is None else amt >= 0
        if cls is not None:
            paid_rows &= cls == PAID
        in_kept = row_out == ORD_PURCHASE
        rules.append(Rule("line_items_merged",
                          int(np.count_nonzero(paid_rows & in_kept)) - int(is_purchase_order.sum()),
                          "quality.line_items_merged"))
    ocol = None
    if ocodes is not None:          # rows without an order id compare equal there
        ocol = np.where(oid.missing, -1, ocodes) if n_no_order else ocodes
    dups = count_duplicates([p.cust.values, p.time.values, amt, ocol, status_codes, ref,
                             None if p.channel is None else p.channel[0], p.member,
                             None if p.product is None else p.product[0],
                             None if p.category is None else p.category[0], p.quantity])
    rules.append(Rule("duplicate_rows", dups, "quality.duplicate_rows"))
    if p.cust.text:
        rules.append(Rule("customer_ids_stripped", p.cust.n_stripped,
                          "quality.customer_ids_stripped"))
    if oid is not None and oid.text:
        rules.append(Rule("order_ids_stripped", oid.n_stripped, "quality.order_ids_stripped"))
    rules.append(Rule("orders", int(is_purchase_order.sum()), "quality.orders"))
    return log, rules
