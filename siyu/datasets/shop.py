"""Scenario simulator of a private-domain shop with known truth (C kernel ``sy_shop.c``).

:func:`simulate_shop` draws a transaction log of customers acquired through channels
(e.g. a public platform and a private WeChat channel) with their own purchase rates,
dropout and order values, a membership programme, holiday windows and a one-to-one
service group, plus the acquisition and repurchase spend tables.  The returned
:class:`ShopSimulation` also carries the *exact* expected values of the quantities an
analyst measures (LTV at 12 months, repurchase rates, monthly retention, ...), so a
notebook can check that siyu measures back what was put in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from siyu import _core

__all__ = ["simulate_shop", "ShopSimulation", "DEFAULT_CHANNELS"]

#: Public vs private channel calibrated to the claims of issue #6 (CAC above ¥200 on the
#: public platform; a private-channel repurchase costs about 1/5 of it; a private
#: customer spends about 2.3x as much in the first year).
DEFAULT_CHANNELS: dict[str, dict[str, float]] = {
    "public": dict(share=0.6, orders_per_year=2.0, mean_order_value=150.0, aov_cv=0.5,
                   lifetime_days=180.0, cac=220.0, repurchase_cost=30.0),
    "private": dict(share=0.4, orders_per_year=4.0, mean_order_value=180.0, aov_cv=0.5,
                    lifetime_days=365.0, cac=80.0, repurchase_cost=44.0),
}
_REQUIRED = ("share", "orders_per_year", "mean_order_value", "lifetime_days")
_OPTIONAL = {"aov_cv": 0.5, "cac": 0.0, "repurchase_cost": 0.0}
_WITHIN = (30, 90, 180, 365)
_MONTHS = 12          # month ages reported by the truth
_HORIZON_DAYS = 400   # days integrated for the truth (covers 12 calendar-month ages)


@dataclass
class ShopSimulation:
    """Result of :func:`simulate_shop`.

    Attributes
    ----------
    transactions : DataFrame
        One row per order: ``customer_id`` (1..n), ``date`` (datetime64, day),
        ``amount`` (paid, after any member discount), ``channel`` (categorical),
        ``member`` (True from the order with which the customer joined the membership
        on; that joining order is still at list price), ``service`` (customer has
        one-to-one service), ``order_no`` (1 = the acquisition order).  Rows are grouped
        by customer and time-ordered within a customer.
    spend : DataFrame
        Acquisition spend per month and channel: ``period`` (month start), ``channel``,
        ``amount`` = new customers × ``cac`` × noise.  Ready for
        :func:`siyu.unit_economics` with ``by="channel"``.
    repurchase_spend : DataFrame
        Retention-marketing spend per month and channel: repeat orders in that month ×
        ``repurchase_cost`` × noise (same columns as ``spend``).
    customers : DataFrame
        Latent per-customer truth indexed by ``customer_id``: ``channel``, ``acquired``
        (date), ``dropout`` (time the customer silently churns, seconds resolution; may lie
        after ``end``),
        ``lifetime_days`` (dropout − acquisition, fractional days), ``eligible``
        (offered the membership), ``member_since`` (date, NaT never), ``service``,
        ``n_orders``.
    truth : dict
        Parameters and exact expectations over the whole window (see
        :meth:`expected`): ``truth["channels"][name]`` holds :meth:`expected` for that
        channel plus its parameters, ``truth["overall"]`` the blend, and scalars
        ``holiday_multiplier``, ``service_aov_multiplier``, ``member_discount``,
        ``member_rate_multiplier``, ``member_lifetime_multiplier``.
    params : dict
        The validated arguments of the call.
    """

    transactions: pd.DataFrame
    spend: pd.DataFrame
    repurchase_spend: pd.DataFrame
    customers: pd.DataFrame
    truth: dict[str, Any]
    params: dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:
        p = self.params
        return (f"ShopSimulation({p['n_customers']} customers, {len(self.transactions)} orders, "
                f"{p['start'].date()} .. {p['end'].date()}, channels={list(p['channels'])})")

    def expected(self, channel: str | None = None, member: bool | None = None,
                 service: bool | None = None, acquired: tuple[Any, Any] | None = None
                 ) -> dict[str, Any]:
        """Exact expectations per acquired customer under the simulation's parameters.

        Computed by integrating the purchase process day by day (rates are constant
        within a day, so the integrals are exact), averaged over the acquisition days
        (weighted by the acquisition density) and over the customer groups matching the filters, weighted by their
        shares.  Holidays after ``end`` count too when they were listed.

        Let ``λ`` be the repeat-order rate per day (``orders_per_year / 365``, times
        the holiday multiplier ``h(t)`` on holiday days and ``member_rate_multiplier``
        for members), ``μ = 1 / lifetime_days`` the dropout hazard (divided by
        ``member_lifetime_multiplier`` for members), and ``S(t) = exp(−μt)``.  Then the
        expected repeat orders on age-day j are ``λ_j S(j) (1 − e^{−μ}) / μ``, and the
        probability that the first repeat order falls on age-day j ≥ 1 (a *second
        purchase day* in siyu's sense) is
        ``e^{−μ} exp(−Σ_{i=1}^{j−1} (λ_i + μ)) λ_j (1 − e^{−(λ_j+μ)}) / (λ_j + μ)``.
        Without holidays and membership this gives the closed forms
        ``orders_12m = 1 + λ L (1 − e^{−365/L})`` and
        ``P(repurchase within w days) = e^{−μ} λ/(λ+μ) (1 − e^{−(λ+μ) w})``.

        Parameters
        ----------
        channel : str, optional
            Restrict to one channel.
        member : bool, optional
            Restrict to customers offered the membership (True) or not (False).  Only
            available when membership is decided at acquisition (``member_threshold``
            ≤ 0): with a spend threshold the membership depends on the customer's own
            orders and has no closed form — the member-dependent quantities are NaN
            then; use :attr:`customers` (latent truth) instead.
        service : bool, optional
            Restrict to customers with (True) or without one-to-one service.
        acquired : (date, date), optional
            Average over customers acquired in this inclusive date range only (e.g. the
            complete cohorts a measurement uses).  Default: the whole window.

        Returns
        -------
        dict
            ``orders_12m`` (expected orders in the first 365 days, first order
            included), ``revenue_12m`` (expected spend in the first 365 days, the
            undiscounted 12-month LTV in revenue), ``aov`` (expected revenue per order
            over those 365 days), ``repurchase`` ({w: P(second purchase day within w
            days)} for w in 30, 90, 180, 365), ``ltv_by_month_age`` (cumulative revenue
            per customer by calendar-month age 0..11, as in
            :meth:`siyu.Transactions.cohorts`), ``orders_by_month_age`` and
            ``active_by_month_age`` (probability of at least one order in that month
            age), ``share`` (fraction of all customers in the selection).

        Examples
        --------
        >>> from siyu.datasets.shop import simulate_shop
        >>> sim = simulate_shop(1000, seed=1)
        >>> e = sim.expected("public")
        >>> round(e["repurchase"][365], 3)   # P(second purchase day within a year)
        0.485
        """
        return _public_expected(self.params, channel, member, service, acquired)

    def expected_extension(self, within: int, acquired: tuple[Any, Any] | None = None
                           ) -> pd.DataFrame:
        """Exact category-extension shares (needs ``products``).

        Row A, column B ≠ A: the probability that a customer whose entry product is of
        category A buys a product of category B on a later day within ``within`` days
        of the first order -- what ``tx.cross_sell(by="category", within=within)``
        measures (its first category is exactly the entry category: orders on the
        acquisition day stay in it).  The diagonal is NaN (replenishment orders make
        it no closed form).  Averaged over acquisition days in ``acquired`` (default:
        the whole window; use the customers a measurement counts, e.g. ``(start, end
        − within)``) and over channels, membership and service groups.

        Parameters
        ----------
        within : int
            Days after the first order, 1 .. 399.
        acquired : (date, date), optional
            As in :meth:`expected`.

        Examples
        --------
        >>> from siyu.datasets.shop import simulate_shop
        >>> sim = simulate_shop(100, seed=1, products={
        ...     "washer": dict(category="appliance", share=0.5),
        ...     "pods": dict(category="laundry", share=0.5, cycle_days=30),
        ...     "rack": dict(category="laundry", share=0.0)},
        ...     extension={"appliance": {"laundry": 1.0}, "laundry": {"laundry": 1.0}})
        >>> e = sim.expected_extension(90)
        >>> round(float(e.loc["appliance", "laundry"]), 3)
        0.413
        """
        cp = self.params.get("products")
        if cp is None:
            raise ValueError("expected_extension needs a simulation with products=")
        if isinstance(within, bool) or not isinstance(within, (int, np.integer)) or \
                not 1 <= int(within) < _HORIZON_DAYS:
            raise ValueError(f"within must be a whole number of days in 1 .. "
                             f"{_HORIZON_DAYS - 1}, got {within!r}")
        cats = cp["categories"]
        out = pd.DataFrame(np.nan, index=pd.Index(cats, name="first"),
                           columns=pd.Index(cats, name="later"))
        for a in cp["entry_categories"]:
            for b, pb in cp["extension"][a].items():
                if b == a:
                    continue
                e = _expected(self.params, None, None, None, acquired, rate_mult=pb,
                              windows=(int(within),))
                out.loc[a, b] = e["repurchase"][int(within)]
            for b in cats:
                if b != a and np.isnan(out.loc[a, b]):
                    out.loc[a, b] = 0.0
        return out


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------
def _number(value: Any, name: str, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, hi_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {x:g}")
    if hi is not None and (x > hi or (hi_open and x == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi:g}, got {x:g}")
    return x


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a date such as '2024-01-01', got {value!r} ({exc})"
                         ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"{name} must be a date, got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _check_channels(channels: Any) -> dict[str, dict[str, float]]:
    if not isinstance(channels, Mapping) or not channels:
        raise TypeError("channels must be a non-empty dict name -> parameters, e.g. "
                        "{'public': dict(share=0.6, orders_per_year=2, mean_order_value=150, "
                        "lifetime_days=180, cac=220)}")
    out: dict[str, dict[str, float]] = {}
    for name, par in channels.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"channel names must be non-empty strings, got {name!r}")
        if not isinstance(par, Mapping):
            raise TypeError(f"channels[{name!r}] must be a dict of parameters, got "
                            f"{type(par).__name__}")
        unknown = sorted(set(par) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise ValueError(f"channels[{name!r}] has unknown key(s) {unknown}; allowed: "
                             f"{list(_REQUIRED) + list(_OPTIONAL)}")
        missing = [k for k in _REQUIRED if k not in par]
        if missing:
            raise ValueError(f"channels[{name!r}] is missing {missing}; every channel needs "
                             f"{list(_REQUIRED)}")
        q = {**_OPTIONAL, **par}
        out[name] = {
            "share": _number(q["share"], f"channels[{name!r}]['share']", 0.0, 1.0),
            "orders_per_year": _number(q["orders_per_year"],
                                       f"channels[{name!r}]['orders_per_year']", 0.0),
            "mean_order_value": _number(q["mean_order_value"],
                                        f"channels[{name!r}]['mean_order_value']", 0.0,
                                        lo_open=True),
            "aov_cv": _number(q["aov_cv"], f"channels[{name!r}]['aov_cv']", 0.0),
            "lifetime_days": _number(q["lifetime_days"], f"channels[{name!r}]['lifetime_days']",
                                     0.0, lo_open=True),
            "cac": _number(q["cac"], f"channels[{name!r}]['cac']", 0.0),
            "repurchase_cost": _number(q["repurchase_cost"],
                                       f"channels[{name!r}]['repurchase_cost']", 0.0),
        }
    total = sum(c["share"] for c in out.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"channel shares must sum to 1, got {total:g} "
                         f"({ {k: v['share'] for k, v in out.items()} }); rescale them")
    return out


def _check_holidays(holidays: Any) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    if holidays is None:
        return []
    if isinstance(holidays, (str, bytes)) or not isinstance(holidays, Sequence):
        raise TypeError("holidays must be a list of (first_day, last_day) pairs, e.g. "
                        "[('2024-02-08', '2024-02-17')]")
    out = []
    for i, win in enumerate(holidays):
        if isinstance(win, (str, bytes)) or not isinstance(win, Sequence) or len(win) != 2:
            raise TypeError(f"holidays[{i}] must be a (first_day, last_day) pair, got {win!r}")
        a, b = _timestamp(win[0], f"holidays[{i}][0]"), _timestamp(win[1], f"holidays[{i}][1]")
        if b < a:
            raise ValueError(f"holidays[{i}] ends before it starts: {win!r}")
        out.append((a, b))
    return out


def _day_multipliers(holidays: list, start: pd.Timestamp, n_days: int, mult: float) -> np.ndarray:
    h = np.ones(n_days)
    for a, b in holidays:
        lo = max((a - start).days, 0)
        hi = min((b - start).days + 1, n_days)
        if hi > lo:
            h[lo:hi] = mult
    return h


_PRODUCT_KEYS = ("category", "share", "cycle_days", "cycle_cv", "repeat_share")


def _check_products(products: Any, extension: Any) -> dict[str, Any]:
    """Validate the catalogue and extension rows; build the kernel's arrays."""
    if not isinstance(products, Mapping) or not products:
        raise TypeError("products must be a non-empty dict name -> {category, share[, "
                        "cycle_days, cycle_cv]}, e.g. {'pods': dict(category='laundry', "
                        "share=1.0, cycle_days=30)}")
    names, cats, cat_of, share, cyc, cv, rep_w = [], [], [], [], [], [], []
    for name, par in products.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"product names must be non-empty strings, got {name!r}")
        if not isinstance(par, Mapping):
            raise TypeError(f"products[{name!r}] must be a dict, got {type(par).__name__}")
        unknown = sorted(set(par) - set(_PRODUCT_KEYS))
        if unknown:
            raise ValueError(f"products[{name!r}] has unknown key(s) {unknown}; allowed: "
                             f"{list(_PRODUCT_KEYS)}")
        for key in ("category", "share"):
            if key not in par:
                raise ValueError(f"products[{name!r}] is missing {key!r}")
        c = par["category"]
        if not isinstance(c, str) or not c:
            raise TypeError(f"products[{name!r}]['category'] must be a non-empty string")
        if c not in cats:
            cats.append(c)
        names.append(name)
        cat_of.append(cats.index(c))
        share.append(_number(par["share"], f"products[{name!r}]['share']", 0.0, 1.0))
        cd = par.get("cycle_days")
        cyc.append(0.0 if cd is None else
                   _number(cd, f"products[{name!r}]['cycle_days']", 0.0, lo_open=True))
        cv.append(_number(par.get("cycle_cv", 0.25), f"products[{name!r}]['cycle_cv']", 0.0,
                          3.0, lo_open=True))
        rep_w.append(_number(par.get("repeat_share", 1.0), f"products[{name!r}]['repeat_share']",
                             0.0))
    share_a = np.array(share)
    if abs(share_a.sum() - 1.0) > 1e-6:
        raise ValueError(f"product shares must sum to 1, got {share_a.sum():g}; rescale them")
    cat_a = np.array(cat_of, dtype=np.int64)
    cyc_a, cv_a = np.array(cyc), np.array(cv)
    n_cat = len(cats)
    entry_cats = [cats[j] for j in sorted({cat_of[i] for i in range(len(names)) if share[i] > 0})]
    has_durable = {c: any(cat_of[i] == cats.index(c) and cyc[i] == 0 and rep_w[i] > 0
                          for i in range(len(names))) for c in cats}
    if extension is None:
        ext = {a: {a: 1.0} for a in entry_cats}
    else:
        if not isinstance(extension, Mapping):
            raise TypeError("extension must be a dict {first category: {later category: "
                            "probability}}")
        ext = {}
        for a, row in extension.items():
            if a not in cats:
                raise ValueError(f"extension row {a!r} is not a product category; categories: "
                                 f"{cats}")
            if not isinstance(row, Mapping):
                raise TypeError(f"extension[{a!r}] must be a dict {{category: probability}}")
            ext[a] = {}
            for b, pb in row.items():
                if b not in cats:
                    raise ValueError(f"extension[{a!r}] names {b!r}, not a product category")
                ext[a][b] = _number(pb, f"extension[{a!r}][{b!r}]", 0.0, 1.0)
        missing = [a for a in entry_cats if a not in ext]
        if missing:
            raise ValueError(f"extension has no row for entry categor(ies) {missing}")
    for a in entry_cats:
        tot = sum(ext[a].values())
        if abs(tot - 1.0) > 1e-6:
            raise ValueError(f"extension[{a!r}] must sum to 1, got {tot:g}")
        for b, pb in ext[a].items():
            if pb > 0 and not has_durable[b]:
                what = "the default (stay in the first category)" if extension is None else \
                    f"extension[{a!r}][{b!r}] > 0"
                raise ValueError(f"{what} needs a durable product (no cycle_days, repeat_share "
                                 f"> 0) in category {b!r}: regular orders hold durables; add one "
                                 "(its share may be 0) or pass extension=")
    ext_m = np.zeros((n_cat, n_cat))
    for a, row in ext.items():
        for b, pb in row.items():
            ext_m[cats.index(a), cats.index(b)] = pb
    ext_cum = np.cumsum(ext_m, axis=1)
    for a in entry_cats:
        ext_cum[cats.index(a), -1] = 1.0
    dur_prod, dur_cum, dur_off = [], [], [0]
    for b in range(n_cat):
        members = [i for i in range(len(names)) if cat_of[i] == b and cyc[i] == 0 and rep_w[i] > 0]
        w = np.array([rep_w[i] for i in members])
        if members:
            cum = np.cumsum(w / w.sum())
            cum[-1] = 1.0
            dur_prod += members
            dur_cum += cum.tolist()
        dur_off.append(len(dur_prod))
    entry_cum = np.cumsum(share_a)
    entry_cum[-1] = 1.0
    kernel = (cat_a, entry_cum, cyc_a, np.where(cyc_a > 0, 1.0 / cv_a ** 2, 0.0),
              np.ascontiguousarray(ext_cum.ravel()), np.array(dur_off, dtype=np.int64),
              np.array(dur_prod, dtype=np.int64), np.array(dur_cum, dtype=float), n_cat)
    return dict(names=names, categories=cats, share=share, cycle_days=cyc, cycle_cv=cv,
                entry_categories=entry_cats, extension=ext, kernel=kernel)


def _gamma_cdf(x: float, shape: float, scale: float) -> float:
    """Regularised lower incomplete gamma P(shape, x / scale): series below shape + 1,
    Lentz's continued fraction above (both converge to 1e-15)."""
    z = x / scale
    if z <= 0:
        return 0.0
    log_pre = shape * math.log(z) - z - math.lgamma(shape)
    if z < shape + 1.0:
        term = total = 1.0 / shape
        a = shape
        for _ in range(10_000):
            a += 1.0
            term *= z / a
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return min(1.0, math.exp(log_pre) * total)
    tiny = 1e-300
    b = z + 1.0 - shape
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - shape)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return max(0.0, 1.0 - math.exp(log_pre) * h)


def _gap_pmf(mean: float, cv: float) -> np.ndarray:
    """P(gap = j days), j = 0.., of max(1, round(G)), G ~ Gamma(1/cv^2, mean cv^2)."""
    shape, scale = 1.0 / cv ** 2, mean * cv ** 2
    jmax = 2
    while _gamma_cdf(jmax - 0.5, shape, scale) < 1.0 - 1e-12 and jmax < 10_000_000:
        jmax *= 2
    cdf = np.array([_gamma_cdf(j + 0.5, shape, scale) for j in range(jmax + 1)])
    pmf = np.diff(np.concatenate([[0.0], cdf]))
    pmf[1] += pmf[0]                     # round(G) = 0 becomes 1
    pmf[0] = 0.0
    return pmf


def _km_quantiles(event_pmf: np.ndarray) -> dict[str, float]:
    """First day t with S(t) = 1 - sum_{j<=t} p_j <= 1 - q (NaN when never)."""
    surv = 1.0 - np.cumsum(event_pmf)
    out = {}
    for q, name in ((0.25, "rebuy_q25"), (0.5, "rebuy_median"), (0.75, "rebuy_q75")):
        hit = np.flatnonzero(surv <= 1 - q + 1e-12)
        out[name] = float(hit[0]) if hit.size else float("nan")
    out["rebuy_share"] = float(event_pmf.sum())
    return out


def _products_truth(params: dict[str, Any]) -> dict[str, Any]:
    cp = params["products"]
    use_member = params["member_threshold"] is not None
    member_mixes = use_member and params["member_share"] > 0 and \
        params["member_lifetime_multiplier"] != 1.0
    out: dict[str, Any] = {}
    for j, name in enumerate(cp["names"]):
        e: dict[str, Any] = dict(category=cp["categories"][cp["kernel"][0][j]],
                                 share=cp["share"][j],
                                 cycle_days=cp["cycle_days"][j] or None,
                                 cycle_cv=cp["cycle_cv"][j] if cp["cycle_days"][j] else None)
        if cp["cycle_days"][j] > 0:
            pmf = _gap_pmf(cp["cycle_days"][j], cp["cycle_cv"][j])
            cdf = np.cumsum(pmf)
            e["cycle_median"] = float(np.flatnonzero(cdf >= 0.5 - 1e-12)[0])
            e["by_channel"] = {}
            for ch, c in params["channels"].items():
                if member_mixes:
                    q = dict(rebuy_q25=float("nan"), rebuy_median=float("nan"),
                             rebuy_q75=float("nan"), rebuy_share=float("nan"))
                else:
                    alive = np.exp(-np.arange(pmf.size) / c["lifetime_days"])
                    q = _km_quantiles(pmf * alive)
                e["by_channel"][ch] = q
        out[name] = e
    return out


def _public_expected(params: dict[str, Any], channel: str | None, member: bool | None,
                     service: bool | None, acquired: tuple[Any, Any] | None) -> dict[str, Any]:
    """_expected, with the order-based expectations NaN when replenishment orders (which
    they do not count) are part of the log."""
    out = _expected(params, channel, member, service, acquired)
    cp = params.get("products")
    if cp is not None and any(c > 0 and s > 0 for c, s in zip(cp["cycle_days"], cp["share"])):
        for k in ("orders_12m", "revenue_12m", "aov"):
            out[k] = float("nan")
        out["repurchase"] = {wd: float("nan") for wd in out["repurchase"]}
        for k in ("ltv_by_month_age", "orders_by_month_age", "active_by_month_age"):
            out[k] = np.full(_MONTHS, np.nan)
    return out


# ---------------------------------------------------------------------------------------
# the simulator
# ---------------------------------------------------------------------------------------
#: longest window (days) and most customers one simulate_shop call accepts: the ground
#: truth is computed over every (acquisition day, age day) pair, so its cost grows with the
#: window's length
MAX_SPAN_DAYS = 7305
MAX_CUSTOMERS = 50_000_000


def simulate_shop(n_customers: int, start: Any = "2023-01-01", end: Any = "2024-12-31",
                  channels: Mapping[str, Mapping[str, float]] | None = None, *,
                  member_threshold: float | None = None, member_share: float = 1.0,
                  member_rate_multiplier: float = 1.0, member_lifetime_multiplier: float = 1.0,
                  member_discount: float = 0.0,
                  holidays: Sequence[tuple[Any, Any]] | None = None,
                  holiday_multiplier: float = 1.0,
                  service_share: float = 0.0, service_aov_multiplier: float = 1.0,
                  acquisition_growth: float = 0.0, spend_noise: float = 0.0,
                  products: Mapping[str, Mapping[str, Any]] | None = None,
                  extension: Mapping[str, Mapping[str, float]] | None = None,
                  seed: int | None = None) -> ShopSimulation:
    """Simulate a private-domain shop: channels, membership, holidays, service, spend.

    The model, in an analyst's terms (all draws in C, one random stream per customer):

    - **Acquisition.**  Each of ``n_customers`` customers makes a first order on a day
      drawn from ``start`` .. ``end`` — uniformly, or growing by ``acquisition_growth``
      a month (density ∝ (1 + g)^(days / 30.44)) — in a channel drawn with probability
      ``share``.  ``spend`` charges ``cac`` per new customer (× noise).
    - **Repeat orders.**  While active, a customer orders again at random (Poisson) at
      ``orders_per_year`` orders per year on ordinary days; on ``holidays`` the rate is
      × ``holiday_multiplier``.  Several orders on one day are separate rows.
    - **Dropout.**  A customer stays active for a random, exponentially distributed
      time with mean ``lifetime_days`` (a fraction exp(−t / lifetime_days) is still
      active t days after acquisition), then silently never buys again.
    - **Order values.**  Gamma distributed with mean ``mean_order_value`` and
      coefficient of variation ``aov_cv`` (0: every order is worth the mean);
      customers with one-to-one service (a random ``service_share``) order
      ``service_aov_multiplier`` times as much.
    - **Membership.**  With ``member_threshold`` set, a random ``member_share`` of the
      customers is offered the membership and joins with the order at which their
      cumulative spend reaches the threshold (0: with the first order — a randomised
      offer, which makes the member effect measurable without selection bias).  After
      joining their order rate is × ``member_rate_multiplier``, they stay active
      ``member_lifetime_multiplier`` times as long (the remaining lifetime is drawn
      again with the longer mean) and later orders cost ``1 − member_discount`` of list.
    - **Repurchase spend.**  Each repeat order costs the shop ``repurchase_cost``
      (coupons, SCRM, staff), summed per month and channel in ``repurchase_spend``.
    - **Products** (optional, ``products=``).  The first order holds an *entry*
      product drawn with probability ``share``.  A *replenished* product (with
      ``cycle_days``) bought first is bought again -- in extra orders of its own, one
      line item each -- every ``max(1, round(G))`` days, ``G`` gamma distributed with
      mean ``cycle_days`` and coefficient of variation ``cycle_cv``, as long as the
      customer is still active at the start of that day (so dropout ends the cycle too).
      The regular repeat orders above hold a durable product (no ``cycle_days``): on a
      later day, of category B with probability ``extension[A][B]`` where A is the entry
      product's category, then a durable of B with probability ∝ its ``repeat_share``
      (default 1: equal); on the acquisition day itself, the entry product again.
      Order values do not depend on the product.  ``truth["products"]`` holds each
      product's cycle and the exact Kaplan--Meier quantiles a replenishment analysis
      should find; :meth:`ShopSimulation.expected_extension` the exact category
      extension shares.

    Parameters
    ----------
    n_customers : int
        Number of customers acquired over the window.
    start, end : date-like
        First and last day of the window (inclusive); orders after ``end`` are not
        drawn.
    channels : dict, optional
        ``{name: {share, orders_per_year, mean_order_value, lifetime_days[, aov_cv=0.5,
        cac=0, repurchase_cost=0]}}``; shares must sum to 1.  Default
        :data:`DEFAULT_CHANNELS` (public vs private).
    member_threshold : float, optional
        Cumulative spend (in currency) at which offered customers join; None (default)
        disables the membership.
    member_share : float, default 1
        Fraction of customers offered the membership.
    member_rate_multiplier, member_lifetime_multiplier : float, default 1
        Members' order-rate and lifetime factors.
    member_discount : float, default 0
        Members' price discount, e.g. 0.1 for 10 % off (silver tier).
    holidays : list of (date, date), optional
        Inclusive holiday windows.
    holiday_multiplier : float, default 1
        Order-rate multiplier on holiday days (1.35 = 35 % more repurchases).
    service_share : float, default 0
        Fraction of customers with one-to-one service.
    service_aov_multiplier : float, default 1
        Their order-value multiplier (1.5 = 50 % higher order value).
    acquisition_growth : float, default 0
        Monthly growth rate of new customers, > −1 (0.05: each month acquires 5 % more
        than the one before; 0: uniform over the window).
    spend_noise : float, default 0
        Coefficient of variation of a mean-one lognormal noise on each monthly spend
        figure (0: spend is exactly customers × cac and repeat orders × repurchase_cost).
    products : dict, optional
        ``{name: {category, share[, cycle_days=None, cycle_cv=0.25, repeat_share=1]}}``:
        the product catalogue (entry shares sum to 1; ``repeat_share`` weighs a durable
        within its category for the regular orders).  Adds ``product``, ``category`` and
        ``replenishment`` columns to ``transactions`` and ``entry_product`` to
        ``customers``.  The other draws are unchanged: without the replenishment
        orders the log is the one drawn without ``products``.
    extension : dict, optional
        ``{A: {B: probability}}`` for every category A of an entry product (each row
        sums to 1; every B with a positive probability needs a durable product).
        Default: regular orders stay in the entry product's category.
    seed : int, optional
        The same seed gives the same result for any number of threads.

    Returns
    -------
    ShopSimulation
        ``transactions``, ``spend``, ``repurchase_spend``, ``customers`` (latent truth)
        and ``truth`` (exact expectations; :meth:`ShopSimulation.expected` for subgroups).

    Raises
    ------
    ValueError
        Negative rates or lifetimes, shares not summing to 1, unknown channel keys,
        ``end`` before ``start``, fractions outside [0, 1], inconsistent products or
        extension rows.
    TypeError
        Non-numeric parameters, ``channels`` not a dict.

    Examples
    --------
    >>> from siyu.datasets.shop import simulate_shop
    >>> sim = simulate_shop(2000, "2024-01-01", "2024-12-31", seed=7)
    >>> list(sim.transactions.columns)
    ['customer_id', 'date', 'amount', 'channel', 'member', 'service', 'order_no']
    >>> sorted(sim.truth["channels"])
    ['private', 'public']
    >>> sim.spend.groupby("channel", observed=True)["amount"].sum().to_dict()  # customers x cac
    {'public': 263340.0, 'private': 64240.0}
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)):
        raise TypeError(f"n_customers must be a whole number, got {n_customers!r}")
    n = int(n_customers)
    if n < 0:
        raise ValueError(f"n_customers must be >= 0, got {n}")
    if n > MAX_CUSTOMERS:
        raise ValueError(f"n_customers is larger than {MAX_CUSTOMERS:,}; simulate in batches "
                         "with different seeds")
    t0, t1 = _timestamp(start, "start"), _timestamp(end, "end")
    if t1 < t0:
        raise ValueError(f"end ({t1.date()}) is before start ({t0.date()}); swap them")
    n_days = (t1 - t0).days + 1
    if n_days > MAX_SPAN_DAYS:
        raise ValueError(f"start..end spans {n_days:,} days; simulate_shop supports at most "
                         f"{MAX_SPAN_DAYS:,} days (20 years): pass a later start or an earlier "
                         "end, e.g. start='2015-01-01', end='2024-12-31'")
    ch = _check_channels(DEFAULT_CHANNELS if channels is None else channels)
    if member_threshold is not None:
        member_threshold = _number(member_threshold, "member_threshold", 0.0)
    member_share = _number(member_share, "member_share", 0.0, 1.0)
    member_rate_multiplier = _number(member_rate_multiplier, "member_rate_multiplier", 0.0)
    member_lifetime_multiplier = _number(member_lifetime_multiplier,
                                         "member_lifetime_multiplier", 0.0, lo_open=True)
    member_discount = _number(member_discount, "member_discount", 0.0, 1.0, hi_open=True)
    hol = _check_holidays(holidays)
    holiday_multiplier = _number(holiday_multiplier, "holiday_multiplier", 0.0)
    service_share = _number(service_share, "service_share", 0.0, 1.0)
    service_aov_multiplier = _number(service_aov_multiplier, "service_aov_multiplier", 0.0)
    spend_noise = _number(spend_noise, "spend_noise", 0.0)
    acquisition_growth = _number(acquisition_growth, "acquisition_growth", -1.0, lo_open=True)
    params: dict[str, Any] = dict(
        n_customers=n, start=t0, end=t1, n_days=n_days, channels=ch,
        member_threshold=member_threshold, member_share=member_share,
        member_rate_multiplier=member_rate_multiplier,
        member_lifetime_multiplier=member_lifetime_multiplier, member_discount=member_discount,
        holidays=hol, holiday_multiplier=holiday_multiplier, service_share=service_share,
        service_aov_multiplier=service_aov_multiplier, acquisition_growth=acquisition_growth,
        spend_noise=spend_noise, seed=seed)

    names = list(ch)
    share_cum = np.cumsum([ch[c]["share"] for c in names])
    share_cum[-1] = 1.0
    rate = np.array([ch[c]["orders_per_year"] / 365.0 for c in names])
    life = np.array([ch[c]["lifetime_days"] for c in names])
    aov = np.array([ch[c]["mean_order_value"] for c in names])
    shape = np.array([0.0 if ch[c]["aov_cv"] == 0 else 1.0 / ch[c]["aov_cv"] ** 2 for c in names])
    day_mult = _day_multipliers(hol, t0, n_days, holiday_multiplier)
    use_member = member_threshold is not None
    scalars = np.array([member_share if use_member else 0.0,
                        member_threshold if use_member else 0.0,
                        member_rate_multiplier, member_lifetime_multiplier, member_discount,
                        service_share, service_aov_multiplier])
    ss = np.random.SeedSequence(seed)
    seed_int = int(ss.generate_state(1, dtype=np.uint64)[0])
    cat_prod = None if products is None else _check_products(products, extension)
    params["products"] = cat_prod
    out = _core.shop_simulate(share_cum, rate, life, aov, shape, day_mult, scalars, n, seed_int,
                              _acq_cdf(params),
                              None if cat_prod is None else cat_prod["kernel"])
    (count, oday, amount, omember, chan, acq, drop, since, elig, svc) = out[:10]

    base = np.datetime64(t0.date(), "D")
    ids = np.arange(1, n + 1, dtype=np.int64)
    cust = np.repeat(ids, count)
    offsets = np.cumsum(count) - count
    order_no = np.arange(cust.size, dtype=np.int64) - np.repeat(offsets, count) + 1
    cat = pd.CategoricalDtype(names)
    channel_rows = pd.Categorical.from_codes(np.repeat(chan, count), dtype=cat)
    tx = pd.DataFrame({
        "customer_id": cust,
        "date": (base + oday.astype("timedelta64[D]")).astype("datetime64[s]"),
        "amount": np.round(amount, 2),
        "channel": channel_rows,
        "member": omember,
        "service": np.repeat(svc, count),
        "order_no": order_no,
    }, copy=False)                      # fresh arrays: skip pandas' consolidation copy
    if cat_prod is not None:
        oprod, orep, entry = out[10:]
        pdt = pd.CategoricalDtype(cat_prod["names"])
        cdt = pd.CategoricalDtype(cat_prod["categories"])
        tx["product"] = pd.Categorical.from_codes(oprod, dtype=pdt)
        tx["category"] = pd.Categorical.from_codes(cat_prod["kernel"][0][oprod], dtype=cdt)
        tx["replenishment"] = orep
    customers = pd.DataFrame({
        "channel": pd.Categorical.from_codes(chan, dtype=cat),
        "acquired": (base + acq.astype("timedelta64[D]")).astype("datetime64[s]"),
        # seconds resolution; capped at 10 million days after start (never reached in practice)
        "dropout": np.datetime64(t0.date(), "s")
        + np.round(np.minimum(drop, 1e7) * 86_400.0).astype(np.int64).astype("timedelta64[s]"),
        "lifetime_days": drop - acq,
        "eligible": elig,
        "member_since": pd.to_datetime(np.where(since >= 0, base + since.astype("timedelta64[D]"),
                                                np.datetime64("NaT"))).astype("datetime64[s]"),
        "service": svc,
        "n_orders": count,
    }, index=pd.Index(ids, name="customer_id"), copy=False)
    if cat_prod is not None:
        customers["entry_product"] = pd.Categorical.from_codes(out[12], dtype=pdt)

    noise_rng = np.random.default_rng(ss.spawn(1)[0])
    months = pd.period_range(t0, t1, freq="M")
    m_acq = _month_index(base + acq.astype("timedelta64[D]"), months)
    repeat = order_no > 1
    m_rep = _month_index(base + oday[repeat].astype("timedelta64[D]"), months)
    c_rep = np.repeat(chan, count)[repeat]
    n_m, n_c = len(months), len(names)
    new = np.bincount(chan * n_m + m_acq, minlength=n_c * n_m).reshape(n_c, n_m)
    rep = np.bincount(c_rep * n_m + m_rep, minlength=n_c * n_m).reshape(n_c, n_m)
    spend = _spend_frame(new, np.array([ch[c]["cac"] for c in names]), months, names,
                         spend_noise, noise_rng)
    rspend = _spend_frame(rep, np.array([ch[c]["repurchase_cost"] for c in names]), months,
                          names, spend_noise, noise_rng)
    sim = ShopSimulation(tx, spend, rspend, customers, {}, params)
    sim.truth = _truth(params)
    return sim


def _acq_density(params: dict[str, Any]) -> np.ndarray:
    """Probability of acquisition on each window day."""
    n_days, g = params["n_days"], params["acquisition_growth"]
    if g == 0:
        return np.full(n_days, 1.0 / n_days)
    logw = np.arange(n_days) / (365.25 / 12.0) * np.log1p(g)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def _acq_cdf(params: dict[str, Any]) -> np.ndarray | None:
    if params["acquisition_growth"] == 0:
        return None          # the kernel's exact uniform draw
    cdf = np.cumsum(_acq_density(params))
    cdf /= cdf[-1]
    return cdf


def _month_index(days: np.ndarray, months: pd.PeriodIndex) -> np.ndarray:
    m = days.astype("datetime64[M]").astype(np.int64)
    first = np.datetime64(months[0].start_time.date(), "M").astype(np.int64)
    return (m - first).astype(np.int64)


def _spend_frame(counts: np.ndarray, unit_cost: np.ndarray, months: pd.PeriodIndex,
                 names: list[str], noise: float, rng: np.random.Generator) -> pd.DataFrame:
    n_c, n_m = counts.shape
    amount = counts * unit_cost[:, None]
    if noise > 0:
        s2 = np.log1p(noise ** 2)
        amount = amount * rng.lognormal(-s2 / 2, np.sqrt(s2), size=amount.shape)
    return pd.DataFrame({
        "period": np.tile(months.start_time.values, n_c),
        "channel": pd.Categorical(np.repeat(names, n_m), categories=names),
        "amount": np.round(amount.ravel(), 2),
    })


# ---------------------------------------------------------------------------------------
# exact expectations
# ---------------------------------------------------------------------------------------
def _segments(params: dict[str, Any]):
    """Customer groups (channel, offered, service) with weight and process parameters."""
    ch = params["channels"]
    use_member = params["member_threshold"] is not None
    ms = params["member_share"] if use_member else 0.0
    ss = params["service_share"]
    for name, c in ch.items():
        for offered, w_m in ((True, ms), (False, 1.0 - ms)):
            for svc, w_s in ((True, ss), (False, 1.0 - ss)):
                w = c["share"] * w_m * w_s
                if w <= 0:
                    continue
                yield name, offered, svc, w, c


def _expected(params: dict[str, Any], channel: str | None, member: bool | None,
              service: bool | None, acquired: tuple[Any, Any] | None,
              rate_mult: float = 1.0, windows: Sequence[int] = _WITHIN) -> dict[str, Any]:
    ch = params["channels"]
    if channel is not None and channel not in ch:
        raise ValueError(f"unknown channel {channel!r}; the simulation has {list(ch)}")
    use_member = params["member_threshold"] is not None
    if member is not None and not use_member:
        raise ValueError("member= needs a simulation with membership (member_threshold set)")
    t0, n_days = params["start"], params["n_days"]
    lo, hi = 0, n_days - 1
    if acquired is not None:
        if len(acquired) != 2:
            raise ValueError("acquired must be a (first_day, last_day) pair")
        lo = max((_timestamp(acquired[0], "acquired[0]") - t0).days, 0)
        hi = min((_timestamp(acquired[1], "acquired[1]") - t0).days, n_days - 1)
        if hi < lo:
            raise ValueError(f"acquired={acquired!r} selects no day of the window")
    a_days = np.arange(lo, hi + 1)
    wa = _acq_density(params)[a_days]
    wa = wa / wa.sum()                                            # acquisition-day weights
    H = _HORIZON_DAYS
    ext = n_days + H
    h = _day_multipliers(params["holidays"], t0, ext, params["holiday_multiplier"])
    hmat = h[a_days[:, None] + np.arange(H)[None, :]]            # (A, H)
    # calendar-month age of each (acquisition day, age-day)
    base = np.datetime64(t0.date(), "D")
    mon = (base + np.arange(ext).astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    mage = mon[a_days[:, None] + np.arange(H)[None, :]] - mon[a_days][:, None]
    # first age-day of each month age (per acquisition day): running max of change points
    jj = np.broadcast_to(np.arange(H), mage.shape)
    newm = np.ones(mage.shape, dtype=bool)
    newm[:, 1:] = mage[:, 1:] != mage[:, :-1]
    mstart = np.maximum.accumulate(np.where(newm, jj, 0), axis=1)
    in_12 = mage < _MONTHS
    thr = params["member_threshold"]
    member_closed = (not use_member) or thr <= 0 or (
        params["member_rate_multiplier"] == 1 and params["member_lifetime_multiplier"] == 1
        and params["member_discount"] == 0)

    acc = {"w": 0.0, "orders_12m": 0.0, "revenue_12m": 0.0,
           "repurchase": np.zeros(len(windows)), "ltv": np.zeros(_MONTHS),
           "orders_m": np.zeros(_MONTHS), "active_m": np.zeros(_MONTHS)}
    total_w = 0.0
    for name, offered, svc, w, c in _segments(params):
        total_w += w
        if channel is not None and name != channel:
            continue
        if member is not None and offered != member:
            continue
        if service is not None and svc != service:
            continue
        is_mem = use_member and offered and thr <= 0
        lam = c["orders_per_year"] / 365.0 * (params["member_rate_multiplier"] if is_mem else 1.0)
        mu = 1.0 / (c["lifetime_days"] * (params["member_lifetime_multiplier"] if is_mem else 1.0))
        value = c["mean_order_value"] * (params["service_aov_multiplier"] if svc else 1.0)
        rep_value = value * ((1.0 - params["member_discount"]) if is_mem else 1.0)
        r = lam * rate_mult * hmat                                # (A, H)
        j = np.arange(H)[None, :]
        surv = np.exp(-mu * j)
        e_rep = r * surv * (-np.expm1(-mu) / mu)                  # repeat orders per age-day
        rho = r + mu
        # P(first event from age 1 on falls in day j): e^{-mu} E_j r_j (1 - e^{-rho_j})/rho_j
        rho1 = rho.copy()
        rho1[:, 0] = 0.0
        C1 = np.cumsum(rho1, axis=1) - rho1                       # sum_{i=1}^{j-1} rho_i
        frac = np.where(rho > 0, -np.expm1(-rho) / np.where(rho > 0, rho, 1.0), 1.0)
        pfirst = np.exp(-mu - C1) * r * frac
        pfirst[:, 0] = 0.0
        cum_first = np.cumsum(pfirst, axis=1)
        rp = np.array([wa @ cum_first[:, wd] for wd in windows])
        # P(at least one order in each calendar-month age): from its first day s,
        # S(s) * sum_{j>=s} exp(-(C_j - C_s)) r_j frac_j
        C = np.cumsum(rho, axis=1) - rho                          # sum_{i<j} rho_i
        Cs = np.take_along_axis(C, mstart, axis=1)
        term = np.exp(-mu * mstart - (C - Cs)) * r * frac
        orders_day = e_rep.copy()
        orders_day[:, 0] += 1.0
        revenue_day = e_rep * rep_value
        revenue_day[:, 0] += value
        A = len(a_days)
        keys = (np.arange(A)[:, None] * _MONTHS + np.where(in_12, mage, 0))
        o_m = np.bincount(keys[in_12], weights=orders_day[in_12], minlength=A * _MONTHS)
        v_m = np.bincount(keys[in_12], weights=revenue_day[in_12], minlength=A * _MONTHS)
        a_m = np.bincount(keys[in_12], weights=term[in_12], minlength=A * _MONTHS)
        o_m = wa @ o_m.reshape(A, _MONTHS)
        v_m = wa @ v_m.reshape(A, _MONTHS)
        a_m = wa @ a_m.reshape(A, _MONTHS)
        a_m[0] = 1.0
        acc["w"] += w
        acc["orders_12m"] += w * (wa @ orders_day[:, :365].sum(axis=1))
        acc["revenue_12m"] += w * (wa @ revenue_day[:, :365].sum(axis=1))
        acc["repurchase"] += w * rp
        acc["ltv"] += w * np.cumsum(v_m)
        acc["orders_m"] += w * o_m
        acc["active_m"] += w * a_m
    W = acc["w"]
    if W <= 0:
        raise ValueError("no customers match the selection (check channel/member/service)")
    out: dict[str, Any] = {
        "share": W / total_w,
        "orders_12m": acc["orders_12m"] / W,
        "revenue_12m": acc["revenue_12m"] / W,
        "repurchase": {wd: float(v / W) for wd, v in zip(windows, acc["repurchase"])},
        "ltv_by_month_age": acc["ltv"] / W,
        "orders_by_month_age": acc["orders_m"] / W,
        "active_by_month_age": acc["active_m"] / W,
    }
    out["aov"] = out["revenue_12m"] / out["orders_12m"]
    if not member_closed:
        for k in ("orders_12m", "revenue_12m", "aov"):
            out[k] = float("nan")
        out["repurchase"] = {wd: float("nan") for wd in windows}
        for k in ("ltv_by_month_age", "orders_by_month_age", "active_by_month_age"):
            out[k] = np.full(_MONTHS, np.nan)
    return out


def _truth(params: dict[str, Any]) -> dict[str, Any]:
    truth: dict[str, Any] = {
        "holiday_multiplier": params["holiday_multiplier"],
        "service_aov_multiplier": params["service_aov_multiplier"],
        "member_discount": params["member_discount"],
        "member_rate_multiplier": params["member_rate_multiplier"],
        "member_lifetime_multiplier": params["member_lifetime_multiplier"],
        "channels": {},
    }
    if params["n_days"] == 0:  # pragma: no cover - n_days >= 1 always
        return truth
    for name, c in params["channels"].items():
        if c["share"] <= 0:
            continue
        e = _public_expected(params, name, None, None, None)
        e.update(c)
        e["orders_per_day"] = c["orders_per_year"] / 365.0
        e["ltv_cac"] = e["revenue_12m"] / c["cac"] if c["cac"] > 0 else float("inf")
        e["cost_per_order_12m"] = c["cac"] / e["orders_12m"]
        reached = np.flatnonzero(e["ltv_by_month_age"] >= c["cac"])
        e["payback_months"] = int(reached[0]) if reached.size else None
        truth["channels"][name] = e
    truth["overall"] = _public_expected(params, None, None, None, None)
    if params.get("products") is not None:
        truth["products"] = _products_truth(params)
        cp = params["products"]
        truth["extension"] = pd.DataFrame(
            [[cp["extension"].get(a, {}).get(b, np.nan if a not in cp["entry_categories"]
                                             else 0.0) for b in cp["categories"]]
             for a in cp["categories"]],
            index=pd.Index(cp["categories"], name="first"),
            columns=pd.Index(cp["categories"], name="later"))
    return truth
