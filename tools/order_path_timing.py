"""Time ``Transactions(..., order=...)`` on 20M rows of integer order ids, for one tree.

Run:  python tools/order_path_timing.py TREE {export,random}

TREE is a checkout with a built extension (``python setup.py build_ext --inplace``), so
two commits can be compared in fresh processes.  ``export``: orders in time order, 1-3
adjacent line items each, 18-digit increasing ids, 2M customers (what a shop back-end
exports); ``random``: rows in random order, about 3 orders per customer.  Prints the
construction time, then customers, total revenue and total frequency, which must agree
between trees.  Not a race against a peer, so not in benchmarks/.
"""
import sys
import time

import numpy as np

tree, case = sys.argv[1], sys.argv[2]
sys.path.insert(0, tree)
import siyu  # noqa: E402

assert siyu.__file__.startswith(tree), siyu.__file__
n = 20_000_000
rng = np.random.default_rng(0)
if case == "export":
    items = rng.integers(1, 4, n // 2)
    items = items[: np.searchsorted(np.cumsum(items), n)]
    oi = np.repeat(np.arange(len(items)), items)[:n]
    cust = rng.integers(0, 2_000_000, len(items))[oi]
    days = np.sort(rng.integers(0, 3 * 365, len(items)))[oi]
    t = (np.datetime64("2022-01-01") + days).astype("datetime64[ns]")
    oid = 202201010000000000 + oi * 7919
    a = rng.random(len(oi)) * 100
else:
    cust = rng.integers(0, n // 5, n)
    t = rng.integers(0, 3 * 10**17, n).view("datetime64[ns]")
    a = rng.random(n)
    oid = cust * 3 + rng.integers(0, 3, n)
t0 = time.perf_counter()
tx = siyu.Transactions(customer=cust, time=t, amount=a, order=oid)
t1 = time.perf_counter()
s = tx.summary()
print(f"{t1 - t0:.3f} s", tx.n_customers, round(float(s["revenue"].sum()), 2),
      int(s["frequency"].sum()))
