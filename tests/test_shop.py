"""simulate_shop: the scenario simulator against its own parameters and closed forms.

Tolerances are z-scores (|estimate - truth| / standard error < 4.5) so a correct
simulator fails with probability ~1e-5 per check and a wrong one (a factor off, a
missing multiplier) fails by tens of standard errors.  Seeds are fixed.
"""
from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core
from siyu.datasets import shop as shop_mod
from siyu.datasets.shop import simulate_shop

Z = 4.5
PLAIN = {
    "a": dict(share=0.5, orders_per_year=3.0, mean_order_value=100.0, aov_cv=0.6,
              lifetime_days=200.0, cac=150.0, repurchase_cost=20.0),
    "b": dict(share=0.5, orders_per_year=8.0, mean_order_value=60.0, aov_cv=0.3,
              lifetime_days=500.0, cac=50.0, repurchase_cost=10.0),
}
HOLIDAYS = [("2023-02-01", "2023-02-14"), ("2023-10-01", "2023-10-07"),
            ("2024-02-05", "2024-02-18"), ("2024-10-01", "2024-10-07")]


@pytest.fixture(scope="module")
def plain():
    return simulate_shop(60_000, "2023-01-01", "2024-12-31", PLAIN, seed=11)


@pytest.fixture(scope="module")
def rich():
    """Holidays, a randomised membership offer (joins at the first order), service and
    acquisitions growing 5 % a month."""
    return simulate_shop(80_000, "2023-01-01", "2024-12-31", PLAIN, seed=12,
                         member_threshold=0.0, member_share=0.4, member_rate_multiplier=2.0,
                         member_lifetime_multiplier=1.5, member_discount=0.1,
                         holidays=HOLIDAYS, holiday_multiplier=2.0, service_share=0.3,
                         service_aov_multiplier=1.5, acquisition_growth=0.05)


def _z(est, truth, se):
    return abs(est - truth) / se


def _exposure(sim):
    """Alive days inside the window per customer (continuous)."""
    c = sim.customers
    acq = (c["acquired"] - sim.params["start"]).dt.days.to_numpy().astype(float)
    stop = np.minimum(acq + c["lifetime_days"].to_numpy(), sim.params["n_days"])
    return acq, stop


# --------------------------------------------------------------------------- structure
def test_columns_types_and_order(plain):
    tx, cu = plain.transactions, plain.customers
    assert list(tx.columns) == ["customer_id", "date", "amount", "channel", "member",
                                "service", "order_no"]
    assert tx["date"].dtype == "datetime64[s]"
    assert tx["member"].dtype == bool and not tx["member"].any()
    assert len(cu) == 60_000 and cu["n_orders"].sum() == len(tx)
    # grouped by customer, time-ordered, first order on the acquisition day, in the window
    assert (np.diff(tx["customer_id"].to_numpy()) >= 0).all()
    first = tx[tx["order_no"] == 1].set_index("customer_id")["date"]
    assert (first == cu["acquired"]).all()
    same = tx["customer_id"].diff() == 0
    assert (tx["date"].diff()[same] >= pd.Timedelta(0)).all()
    assert tx["date"].min() >= pd.Timestamp("2023-01-01")
    assert tx["date"].max() <= pd.Timestamp("2024-12-31")
    # no order after the customer's dropout
    drop = cu["dropout"].reindex(tx["customer_id"]).to_numpy()
    assert (tx["date"].to_numpy() <= drop).all()
    assert (tx["amount"] > 0).all()


def test_reproducible_and_thread_independent():
    kw = dict(n_customers=30_000, start="2024-01-01", end="2024-12-31", seed=5,
              member_threshold=300.0, member_share=0.5, member_rate_multiplier=1.5,
              member_discount=0.1, holidays=[("2024-06-01", "2024-06-18")],
              holiday_multiplier=1.5, spend_noise=0.1)
    a = simulate_shop(**kw)
    old = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        b = simulate_shop(**kw)
        _core.set_num_threads(3)
        c = simulate_shop(**kw)
    finally:
        _core.set_num_threads(old)
    for other in (b, c):
        pd.testing.assert_frame_equal(a.transactions, other.transactions)
        pd.testing.assert_frame_equal(a.customers, other.customers)
        pd.testing.assert_frame_equal(a.spend, other.spend)
        pd.testing.assert_frame_equal(a.repurchase_spend, other.repurchase_spend)
    d = simulate_shop(**{**kw, "seed": 6})
    assert not a.customers["acquired"].equals(d.customers["acquired"])


def test_empty_and_one_customer():
    sim = simulate_shop(0, seed=1)
    assert len(sim.transactions) == 0 and len(sim.customers) == 0
    assert (sim.spend["amount"] == 0).all()
    one = simulate_shop(1, "2024-03-01", "2024-03-01", seed=1)
    assert len(one.customers) == 1
    assert (one.transactions["date"] == pd.Timestamp("2024-03-01")).all()


# --------------------------------------------------------------------------- distributions
@pytest.mark.parametrize("name", ["a", "b"])
def test_repeat_rate_per_alive_day(plain, name):
    cu, tx = plain.customers, plain.transactions
    acq, stop = _exposure(plain)
    sel = (cu["channel"] == name).to_numpy()
    exposure = (stop - acq)[sel].sum()
    repeats = ((tx["order_no"] > 1) & (tx["channel"] == name)).sum()
    lam = PLAIN[name]["orders_per_year"] / 365.0
    assert _z(repeats / exposure, lam, np.sqrt(repeats) / exposure) < Z


@pytest.mark.parametrize("name", ["a", "b"])
def test_order_values_mean_and_cv(plain, name):
    amt = plain.transactions.loc[plain.transactions["channel"] == name, "amount"].to_numpy()
    m, cv = PLAIN[name]["mean_order_value"], PLAIN[name]["aov_cv"]
    assert _z(amt.mean(), m, cv * m / np.sqrt(amt.size)) < Z
    # the CV of a gamma sample: SE of the sample sd is about sd * sqrt((kurt - 1) / 4n)
    kurt = 3 + 6 * cv ** 2
    assert _z(amt.std() / m, cv, cv * np.sqrt((kurt - 1) / (4 * amt.size))) < Z


@pytest.mark.parametrize("t", [30, 200, 600])
def test_lifetime_survival_is_exponential(plain, t):
    cu = plain.customers
    for name in PLAIN:
        life = cu.loc[cu["channel"] == name, "lifetime_days"].to_numpy()
        p = np.exp(-t / PLAIN[name]["lifetime_days"])
        assert _z((life > t).mean(), p, np.sqrt(p * (1 - p) / life.size)) < Z


def test_channel_shares_and_uniform_acquisition(plain):
    cu = plain.customers
    n = len(cu)
    assert _z((cu["channel"] == "a").mean(), 0.5, np.sqrt(0.25 / n)) < Z
    q = cu["acquired"].dt.year.eq(2023).mean()   # 365 of 731 days
    p = 365 / 731
    assert _z(q, p, np.sqrt(p * (1 - p) / n)) < Z


def test_acquisition_growth(rich):
    """New customers per month grow by acquisition_growth: fit log counts on month."""
    per_month = rich.customers["acquired"].dt.to_period("M").value_counts().sort_index()
    days = per_month.index.days_in_month.to_numpy()
    # expected count of month m is proportional to the integral of (1+g)^(d/30.44) over it
    start = (per_month.index.start_time - rich.params["start"]).days.to_numpy()
    g = np.log1p(0.05) / (365.25 / 12)
    mass = (np.exp(g * (start + days)) - np.exp(g * start)) / g
    expected = mass / mass.sum() * len(rich.customers)
    chi2 = (((per_month.to_numpy() - expected) ** 2) / expected).sum()
    assert chi2 < 24 + Z * np.sqrt(2 * 24)       # 24 months: chi-square with ~23 dof
    assert per_month.iloc[-1] > 2.5 * per_month.iloc[0]    # 1.05^23 = 3.07


def test_holiday_rate_ratio(rich):
    """Repeat orders per alive day inside vs outside holidays = holiday_multiplier."""
    cu, tx = rich.customers, rich.transactions
    n_days = rich.params["n_days"]
    hol = shop_mod._day_multipliers(rich.params["holidays"], rich.params["start"], n_days,
                                    2.0) > 1
    cum = np.concatenate(([0.0], np.cumsum(hol)))

    def covered(x):  # holiday days in [0, x), continuous
        f = np.floor(x).astype(int)
        return cum[f] + (x - f) * np.append(hol, False)[f]

    # exposure only of non-members (members' rate is doubled)
    nonmem = cu["member_since"].isna().to_numpy()
    acq, stop = _exposure(rich)
    h_exp = (covered(stop) - covered(acq))[nonmem].sum()
    n_exp = (stop - acq)[nonmem].sum() - h_exp
    rep = tx[(tx["order_no"] > 1) & ~tx["member"]]
    day = (rep["date"] - rich.params["start"]).dt.days.to_numpy()
    h_n, n_n = hol[day].sum(), (~hol[day]).sum()
    ratio = (h_n / h_exp) / (n_n / n_exp)
    se = ratio * np.sqrt(1 / h_n + 1 / n_n)
    assert _z(ratio, 2.0, se) < Z


def test_member_rate_lifetime_and_discount(rich):
    cu, tx = rich.customers, rich.transactions
    mem = cu["member_since"].notna()
    # threshold 0: every offered customer joins with the first order
    assert (mem == cu["eligible"]).all()
    assert (cu.loc[mem, "member_since"] == cu.loc[mem, "acquired"]).all()
    assert _z(mem.mean(), 0.4, np.sqrt(0.24 / len(cu))) < Z
    for name, par in PLAIN.items():
        life = cu.loc[mem & (cu["channel"] == name), "lifetime_days"].to_numpy()
        L = par["lifetime_days"] * 1.5
        assert _z(life.mean(), L, L / np.sqrt(life.size)) < Z
    # discount: member repeat orders cost 0.9 of list (service customers excluded)
    for name, par in PLAIN.items():
        sel = (tx["channel"] == name) & ~tx["service"] & (tx["order_no"] > 1)
        m_amt = tx.loc[sel & tx["member"], "amount"].to_numpy()
        target = 0.9 * par["mean_order_value"]
        assert _z(m_amt.mean(), target, par["aov_cv"] * target / np.sqrt(m_amt.size)) < Z
        # joining orders are still at list price
        j_amt = tx.loc[(tx["channel"] == name) & ~tx["service"] & (tx["order_no"] == 1)
                       & tx["member"], "amount"].to_numpy()
        m0 = par["mean_order_value"]
        assert _z(j_amt.mean(), m0, par["aov_cv"] * m0 / np.sqrt(j_amt.size)) < Z


def test_service_aov_multiplier(rich):
    tx = rich.transactions
    sel = (tx["channel"] == "b") & ~tx["member"]
    s = tx.loc[sel & tx["service"], "amount"].to_numpy()
    o = tx.loc[sel & ~tx["service"], "amount"].to_numpy()
    ratio = s.mean() / o.mean()
    se = ratio * 0.3 * np.sqrt(1 / s.size + 1 / o.size)
    assert _z(ratio, 1.5, se) < Z


def test_spend_threshold_membership_joins_at_threshold():
    sim = simulate_shop(20_000, "2024-01-01", "2024-12-31", PLAIN, seed=3,
                        member_threshold=250.0, member_share=0.7, member_discount=0.2)
    tx, cu = sim.transactions, sim.customers
    cum = tx.groupby("customer_id")["amount"].cumsum()
    prev = cum - tx["amount"]
    join = tx["member"] & ~tx["member"].groupby(tx["customer_id"]).shift(fill_value=False)
    # the joining order reaches the threshold; before it the customer was below it
    assert (cum[join] >= 250.0 - 0.01).all() and (prev[join] < 250.0 + 0.01).all()
    # offered customers who never joined stayed below the threshold
    total = tx.groupby("customer_id")["amount"].sum()
    never = cu.index[cu["eligible"] & cu["member_since"].isna()]
    assert (total.reindex(never) < 250.0 + 0.01).all()
    # customers not offered never join, whatever they spend
    assert cu.loc[~cu["eligible"], "member_since"].isna().all()
    assert (tx.loc[join, "date"].to_numpy() ==
            cu["member_since"].reindex(tx.loc[join, "customer_id"]).to_numpy()).all()
    # member-dependent expectations have no closed form with a spend threshold
    assert np.isnan(sim.truth["channels"]["a"]["revenue_12m"])


def test_spend_tables(plain):
    cu, tx = plain.customers, plain.transactions
    new = cu.groupby([cu["acquired"].dt.to_period("M"), "channel"], observed=True).size()
    for name in PLAIN:
        sp = plain.spend[plain.spend["channel"] == name].set_index("period")["amount"]
        n = new.xs(name, level="channel")
        np.testing.assert_allclose(sp.to_numpy(), n.to_numpy() * PLAIN[name]["cac"])
        rep = tx[(tx["order_no"] > 1) & (tx["channel"] == name)]
        rs = plain.repurchase_spend
        assert np.isclose(rs.loc[rs["channel"] == name, "amount"].sum(),
                          len(rep) * PLAIN[name]["repurchase_cost"])
    noisy = simulate_shop(20_000, "2023-01-01", "2024-12-31", PLAIN, seed=4, spend_noise=0.2)
    clean = simulate_shop(20_000, "2023-01-01", "2024-12-31", PLAIN, seed=4)
    r = noisy.spend["amount"] / clean.spend["amount"]
    assert _z(r.mean(), 1.0, 0.2 / np.sqrt(r.size)) < Z and r.std() > 0.1


# --------------------------------------------------------------------------- the truth
def test_truth_closed_forms_without_holidays():
    sim = simulate_shop(10, "2020-01-01", "2021-12-31", PLAIN, seed=1)
    for name, par in PLAIN.items():
        lam, L = par["orders_per_year"] / 365, par["lifetime_days"]
        mu = 1 / L
        e = sim.truth["channels"][name]
        assert np.isclose(e["orders_12m"], 1 + lam * L * (1 - np.exp(-365 / L)))
        assert np.isclose(e["revenue_12m"], par["mean_order_value"] * e["orders_12m"])
        for w in (30, 90, 180, 365):
            p = np.exp(-mu) * lam / (lam + mu) * (1 - np.exp(-(lam + mu) * w))
            assert np.isclose(e["repurchase"][w], p)
        assert np.isclose(e["cost_per_order_12m"], par["cac"] / e["orders_12m"])


def test_truth_matches_simulation(rich):
    """The exact expectations (with holidays, members, service) against a large draw."""
    cu, tx = rich.customers, rich.transactions
    end = pd.Timestamp("2023-12-31")
    acq = cu["acquired"].reindex(tx["customer_id"]).to_numpy()
    age = (tx["date"].to_numpy() - acq) // np.timedelta64(1, "D")
    in12 = age < 365
    for name in PLAIN:
        for member in (True, False):
            ids = cu.index[(cu["channel"] == name) & (cu["eligible"] == member)
                           & (cu["acquired"] <= end)]
            e = rich.expected(name, member=member, acquired=("2023-01-01", end))
            sel = tx["customer_id"].isin(ids).to_numpy() & in12
            per = tx.loc[sel].groupby("customer_id")["amount"].agg(["size", "sum"]) \
                .reindex(ids, fill_value=0)
            assert _z(per["size"].mean(), e["orders_12m"],
                      per["size"].std() / np.sqrt(len(ids))) < Z
            assert _z(per["sum"].mean(), e["revenue_12m"],
                      per["sum"].std() / np.sqrt(len(ids))) < Z
            # second purchase day within 90 days
            sub = tx[tx["customer_id"].isin(ids)]
            gap = sub.loc[sub["date"] > cu["acquired"].reindex(sub["customer_id"]).to_numpy()]
            second = gap.groupby("customer_id")["date"].min().reindex(ids)
            d = (second - cu.loc[ids, "acquired"]).dt.days
            p = e["repurchase"][90]
            assert _z((d <= 90).mean(), p, np.sqrt(p * (1 - p) / len(ids))) < Z


def test_siyu_measures_the_truth(rich):
    """siyu.Transactions measures back repurchase and month-age retention per channel."""
    tx = siyu.Transactions(rich.transactions, customer="customer_id", time="date",
                           amount="amount", channel="channel")
    rp = tx.repurchase(within=(90,), by="channel").overall
    ct = tx.cohorts(period="M", by="channel")
    for name in PLAIN:
        row = rp.loc[name].iloc[0] if isinstance(rp.index, pd.MultiIndex) else rp.loc[name]
        # eligible customers were acquired on or before end - 90 days
        e = rich.expected(name, acquired=("2023-01-01", "2024-10-02"))
        p, n = e["repurchase"][90], int(row["eligible"])
        assert _z(float(row["rate"]), p, np.sqrt(p * (1 - p) / n)) < Z
        # active share at month age 3 over the cohorts observed that long
        sizes = ct.sizes.xs(name, level=0) if isinstance(ct.sizes.index, pd.MultiIndex) else None
        assert sizes is not None
        active = ct.active.xs(name, level=0)[3]
        ok = active.notna()
        cohorts = active.index[ok]
        e3 = rich.expected(name, acquired=(cohorts[0].start_time, cohorts[-1].end_time))
        p3, n3 = e3["active_by_month_age"][3], int(sizes[ok].sum())
        assert _z(active[ok].sum() / n3, p3, np.sqrt(p3 * (1 - p3) / n3)) < Z


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(channels={"a": {**PLAIN["a"], "orders_per_year": -1.0}, "b": PLAIN["b"]}),
     ValueError, "orders_per_year"),
    (dict(channels={"a": {**PLAIN["a"], "share": 0.7}, "b": PLAIN["b"]}),
     ValueError, "sum to 1"),
    (dict(channels={"a": {**PLAIN["a"], "colour": 1}, "b": PLAIN["b"]}),
     ValueError, "unknown key"),
    (dict(channels={"a": {"share": 1.0}}), ValueError, "missing"),
    (dict(channels={"a": {**PLAIN["a"], "lifetime_days": 0.0}, "b": PLAIN["b"]}),
     ValueError, "lifetime_days"),
    (dict(channels={"a": {**PLAIN["a"], "mean_order_value": "cheap"}, "b": PLAIN["b"]}),
     TypeError, "mean_order_value"),
    (dict(channels=[("a", 1.0)]), TypeError, "channels"),
    (dict(channels={}), TypeError, "channels"),
    (dict(start="2024-02-01", end="2024-01-01"), ValueError, "before start"),
    (dict(start="not a date"), ValueError, "start"),
    (dict(member_discount=1.0, member_threshold=0.0), ValueError, "member_discount"),
    (dict(member_share=1.5, member_threshold=0.0), ValueError, "member_share"),
    (dict(member_threshold=-5.0), ValueError, "member_threshold"),
    (dict(holiday_multiplier=-1.0), ValueError, "holiday_multiplier"),
    (dict(holidays=[("2024-02-10", "2024-02-01")]), ValueError, "holidays"),
    (dict(holidays="2024-02-10"), TypeError, "holidays"),
    (dict(service_share=-0.1), ValueError, "service_share"),
    (dict(spend_noise=float("nan")), ValueError, "spend_noise"),
    (dict(acquisition_growth=-1.0), ValueError, "acquisition_growth"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simulate_shop(10, **{"seed": 1, **kwargs})


def test_bad_counts_and_expected_filters():
    with pytest.raises(ValueError, match="n_customers"):
        simulate_shop(-1)
    with pytest.raises(TypeError, match="n_customers"):
        simulate_shop(10.5)
    sim = simulate_shop(10, seed=1)
    with pytest.raises(ValueError, match="unknown channel"):
        sim.expected("wechat")
    with pytest.raises(ValueError, match="member"):
        sim.expected(member=True)
    with pytest.raises(ValueError, match="acquired"):
        sim.expected(acquired=("2030-01-01", "2030-02-01"))


def test_kernel_rejects_bad_arrays():
    ok = [np.array([1.0]), np.array([0.01]), np.array([100.0]), np.array([50.0]),
          np.array([4.0]), np.ones(10), np.array([0, 0, 1, 1, 0, 0, 1.0])]
    _core.shop_simulate(*ok, 5, 1)
    bad_share = [np.array([0.5])] + ok[1:]
    with pytest.raises(ValueError):
        _core.shop_simulate(*bad_share, 5, 1)
    with pytest.raises(ValueError):
        _core.shop_simulate(*ok[:6], np.zeros(3), 5, 1)
    with pytest.raises(ValueError):
        _core.shop_simulate(*ok, -1, 1)
    with pytest.raises(OverflowError):
        _core.shop_simulate(ok[0], np.array([1e8]), *ok[2:], 5, 1)
    cdf = np.cumsum(np.full(10, 0.1))
    _core.shop_simulate(*ok, 5, 1, cdf)
    with pytest.raises(ValueError):          # does not reach 1
        _core.shop_simulate(*ok, 5, 1, cdf * 0.5)
    with pytest.raises(ValueError):          # decreasing
        _core.shop_simulate(*ok, 5, 1, cdf[::-1].copy())
    with pytest.raises(ValueError):          # one value per window day
        _core.shop_simulate(*ok, 5, 1, cdf[:5])
    # a point mass on day 7 puts every acquisition there
    point = np.where(np.arange(10) >= 7, 1.0, 0.0)
    assert (_core.shop_simulate(*ok, 50, 1, point)[5] == 7).all()


def test_docstring_examples():
    res = doctest.testmod(shop_mod, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_kernel_refcounts_and_inputs_untouched():
    import sys
    args = [np.array([0.3, 1.0]), np.array([0.01, 0.02]), np.array([100.0, 300.0]),
            np.array([50.0, 80.0]), np.array([4.0, 0.0]), np.ones(50),
            np.array([0.5, 10.0, 2.0, 1.5, 0.1, 0.3, 1.5])]
    copies = [a.copy() for a in args]
    before = [sys.getrefcount(a) for a in args]
    for _ in range(20):
        out = _core.shop_simulate(*args, 200, 9)
        with pytest.raises(ValueError):
            _core.shop_simulate(*args[:6], np.zeros(7) - 1, 200, 9)
    assert [sys.getrefcount(a) for a in args] == before
    assert all(np.array_equal(a, c) for a, c in zip(args, copies))
    import weakref
    refs = [weakref.ref(o) for o in out]
    del out
    assert all(r() is None for r in refs)          # outputs are not leaked
    out = _core.shop_simulate(*args, 200, 9)
    # non-contiguous and integer inputs are coerced
    strided = [np.repeat(a, 2)[::2] for a in args]
    again = _core.shop_simulate(*strided, 200, 9)
    assert all(np.array_equal(x, y) for x, y in zip(out, again))


# --------------------------------------------------------------------------- products
PRODUCTS = {
    "washer": dict(category="appliance", share=0.3),
    "pods": dict(category="laundry", share=0.45, cycle_days=30, cycle_cv=0.3),
    "softener": dict(category="laundry", share=0.25, cycle_days=55, cycle_cv=0.4),
    "rack": dict(category="laundry", share=0.0),
    "dryer": dict(category="appliance", share=0.0, repeat_share=0.0),
}
EXTENSION = {"appliance": {"laundry": 0.6, "appliance": 0.4},
             "laundry": {"laundry": 0.7, "appliance": 0.3}}
ONE = {"shop": dict(share=1.0, orders_per_year=4.0, mean_order_value=100.0, aov_cv=0.5,
                    lifetime_days=365.0)}


@pytest.fixture(scope="module")
def with_products():
    kw = dict(n_customers=40_000, start="2023-01-01", end="2024-12-31", channels=ONE, seed=21)
    return (simulate_shop(**kw, products=PRODUCTS, extension=EXTENSION), simulate_shop(**kw))


def test_products_leave_the_other_orders_unchanged(with_products):
    sim, plain = with_products
    t = sim.transactions
    regular = t[~t["replenishment"]].reset_index(drop=True)
    cols = ["customer_id", "date", "amount", "channel", "member", "service"]
    pd.testing.assert_frame_equal(regular[cols], plain.transactions[cols])
    pd.testing.assert_frame_equal(sim.customers.drop(columns=["n_orders", "entry_product"]),
                                  plain.customers.drop(columns=["n_orders"]))
    assert (sim.customers["n_orders"] >= plain.customers["n_orders"]).all()
    # grouped by customer, time-ordered, order_no consecutive
    assert (np.diff(t["customer_id"].to_numpy()) >= 0).all()
    same = t["customer_id"].diff() == 0
    assert (t["date"].diff()[same] >= pd.Timedelta(0)).all()
    assert (t.groupby("customer_id")["order_no"].diff().dropna() == 1).all()


def test_products_structure(with_products):
    sim, _ = with_products
    t, cu = sim.transactions, sim.customers
    first = t[t["order_no"] == 1].set_index("customer_id")
    assert (first["product"] == cu["entry_product"]).all()
    entry = cu["entry_product"].value_counts(normalize=True)
    for name, par in PRODUCTS.items():
        p, n = par["share"], len(cu)
        assert abs(entry.get(name, 0.0) - p) <= Z * max(np.sqrt(p * (1 - p) / n), 1e-9)
    rep = t[t["replenishment"]]
    # replenishment orders: the entry product, a cycled one, after the acquisition day
    assert (rep["product"].to_numpy() == cu["entry_product"].reindex(rep["customer_id"]).to_numpy()).all()
    assert rep["product"].isin(["pods", "softener"]).all()
    acq = cu["acquired"].reindex(t["customer_id"]).to_numpy()
    assert (rep["date"].to_numpy() > acq[t["replenishment"].to_numpy()]).all()
    # regular orders on the acquisition day hold the entry product; later ones durables
    reg = t[~t["replenishment"]]
    day0 = reg["date"].to_numpy() == acq[~t["replenishment"].to_numpy()]
    ent = cu["entry_product"].reindex(reg["customer_id"]).to_numpy()
    assert (reg["product"].to_numpy()[day0] == ent[day0]).all()
    assert reg["product"][~day0].isin(["washer", "rack", "dryer"]).all()
    # the category follows the extension row of the entry category
    later = reg[~day0]
    ecat = cu["entry_product"].map({k: v["category"] for k, v in PRODUCTS.items()})
    later_first = ecat.reindex(later["customer_id"]).to_numpy()
    for a, row in EXTENSION.items():
        sel = later_first == a
        p = row["laundry"]
        got = (later["category"].to_numpy()[sel] == "laundry").mean()
        assert abs(got - p) <= Z * np.sqrt(p * (1 - p) / sel.sum()), (a, got, p)
    # within a category, durables by repeat_share (dryer 0 -> never)
    assert not (later["product"] == "dryer").any()
    # no order after dropout, none outside the window
    assert (t["date"].to_numpy() <= cu["dropout"].reindex(t["customer_id"]).to_numpy()).all()
    assert t["date"].max() <= pd.Timestamp("2024-12-31")


def test_products_cycles_against_truth(with_products):
    sim, _ = with_products
    t = sim.transactions
    tx = siyu.Transactions(t, customer="customer_id", time="date", amount="amount",
                           product="product", category="category")
    r = tx.replenishment(min_customers=100).table
    for name in ("pods", "softener"):
        truth = sim.truth["products"][name]["by_channel"]["shop"]
        for col, key in (("km_q25", "rebuy_q25"), ("km_median", "rebuy_median"),
                         ("km_q75", "rebuy_q75")):
            assert abs(r.loc[name, col] - truth[key]) <= 1, (name, col, r.loc[name, col], truth)
        assert sim.truth["products"][name]["cycle_median"] == pytest.approx(
            PRODUCTS[name]["cycle_days"], rel=0.06)
    assert sim.truth["products"]["washer"]["cycle_days"] is None
    # the order-based expectations do not count replenishment orders: NaN, not a lie
    assert np.isnan(sim.truth["overall"]["orders_12m"])
    assert np.isnan(sim.expected()["repurchase"][90])


def test_products_extension_against_truth(with_products):
    sim, _ = with_products
    tx = siyu.Transactions(sim.transactions, customer="customer_id", time="date",
                           amount="amount", product="product", category="category")
    end = sim.params["end"]
    for within in (30, 120):
        cs = tx.cross_sell(within=within)
        truth = sim.expected_extension(within, acquired=(sim.params["start"],
                                                         end - pd.Timedelta(days=within)))
        for a, b in (("appliance", "laundry"), ("laundry", "appliance")):
            p, n = cs.share.loc[a, b], cs.n_first[a]
            se = np.sqrt(truth.loc[a, b] * (1 - truth.loc[a, b]) / n)
            assert abs(p - truth.loc[a, b]) <= Z * se, (within, a, b, p, truth.loc[a, b])
        assert np.isnan(truth.loc["laundry", "laundry"])
    # a simple closed form: no holidays, no membership, exponential dropout
    lam, mu = 4.0 / 365, 1 / 365.0
    x = lam * 0.3
    w = 120
    closed = np.exp(-mu) * x / (x + mu) * (1 - np.exp(-(x + mu) * w))
    one_day = sim.expected_extension(w, acquired=("2023-06-01", "2023-06-01"))
    assert one_day.loc["laundry", "appliance"] == pytest.approx(closed, rel=1e-9)
    assert sim.truth["extension"].loc["laundry", "appliance"] == 0.3


def test_products_reproducible_across_threads():
    kw = dict(n_customers=45_000, start="2024-01-01", end="2024-12-31", seed=4,
              products=PRODUCTS, extension=EXTENSION, member_threshold=0.0,
              member_share=0.5, member_rate_multiplier=1.5)
    a = simulate_shop(**kw)
    old = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        b = simulate_shop(**kw)
        _core.set_num_threads(3)
        c = simulate_shop(**kw)
    finally:
        _core.set_num_threads(old)
    for other in (b, c):
        pd.testing.assert_frame_equal(a.transactions, other.transactions)
        pd.testing.assert_frame_equal(a.customers, other.customers)
    # members: replenishment orders after joining are flagged and discounted like others
    t = a.transactions
    assert t.loc[t["replenishment"], "member"].any()


@pytest.mark.parametrize("products, extension, match", [
    ({"a": dict(category="x", share=0.5)}, None, "sum to 1"),
    ({"a": dict(category="x", share=1.0, colour="red")}, None, "unknown key"),
    ({"a": dict(share=1.0)}, None, "missing 'category'"),
    ({"a": dict(category="x", share=1.0, cycle_days=30)}, None, "durable product"),
    ({"a": dict(category="x", share=1.0, cycle_days=30, cycle_cv=0)}, None, "cycle_cv"),
    ({"a": dict(category="x", share=1.0)}, {"y": {"x": 1.0}}, "not a product category"),
    ({"a": dict(category="x", share=1.0)}, {"x": {"x": 0.5}}, "sum to 1"),
    ({"a": dict(category="x", share=0.5), "b": dict(category="y", share=0.5)},
     {"x": {"x": 1.0}}, "no row"),
])
def test_products_validation(products, extension, match):
    with pytest.raises((ValueError, TypeError), match=match):
        simulate_shop(10, seed=1, products=products, extension=extension)


def test_products_bad_types_and_expected_extension_errors():
    with pytest.raises(TypeError, match="products must be"):
        simulate_shop(10, seed=1, products=["pods"])
    with pytest.raises(ValueError, match="needs a simulation with products"):
        simulate_shop(10, seed=1).expected_extension(30)
    sim = simulate_shop(10, seed=1, products={"a": dict(category="x", share=1.0)})
    with pytest.raises(ValueError, match="within"):
        sim.expected_extension(400)
