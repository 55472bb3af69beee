"""Benchmark: replenishment cycles and the recall list, siyu against the pandas code an
analyst would write for the same numbers.

Run:  python benchmarks/bench_recall.py [--items 10000000] [--customers 2000000]
                                        [--products 5000] [--repeat 3] [--threads 1 2]

Input: a line-item log (customer id, day, amount, SKU id) built from replenishment chains
(each customer buys a few SKUs, each again after gamma-distributed gaps around the SKU's
own cycle, until they stop), with 5 % of the items duplicated on the same day (two units
in one order).  Every contender starts from the same pandas DataFrame and computes:

1. per SKU: buyers, rebuyers, closed intervals, the quartiles of the closed gaps
   (``groupby([customer, sku]).diff()`` then quantiles -- the analyst's recipe) and the
   Kaplan--Meier quartiles with the open intervals censored (the vectorised pandas
   product-limit an analyst who knows survival analysis would add);
2. the recall list as of the last day: due SKUs (cycle passed or within 7 days, at most
   3 cycles ago; the 3 most overdue), own median gap between purchase days (the shortest
   cycle among bought SKUs below 2 gaps), overdue ratio, value at stake = mean
   purchase-day amount x 30 / typical gap, listed when a SKU is due or the ratio >= 1.5,
   ranked by value at stake, ratio, days since last purchase, customer id.

siyu's time is its whole call: ``Transactions(...)`` construction + ``tx.replenishment()``
+ ``tx.recall_list(cycles=...)`` (which also writes the plain-words reasons the pandas
code does not).  Each contender runs ``--repeat`` times in its own process (best time
kept, the same policy for everyone); peak memory is that process's maximum RSS (input
included; also shown above the loaded input).  The results are compared value by value
per SKU and per customer (counts exactly, days, ratios and values to 1e-9), the rankings
must agree position by position in value at stake (rows may only trade places with rows
of the same value to 1e-9), and the script exits 1 on any mismatch.  Output is kept in
benchmarks/bench_recall_results.txt.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _bench_util import load_average, peak_rss

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPAN = 730
AS_OF_OFFSET = SPAN - 1          # the last day of the log
RULES = dict(lead=7.0, stale=3.0, overdue_at=1.5, min_own_gaps=2, horizon=30.0, top_k=3,
             min_customers=30)


# ------------------------------------------------------------------------------- data
def make_log(n_items: int, n_cust: int, n_prod: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cycle = np.exp(rng.normal(np.log(45.0), 0.5, n_prod))         # SKU cycles, median 45 d
    pop = 1.0 / np.arange(1, n_prod + 1) ** 0.9
    pop /= pop.sum()
    n_pairs = int(n_items / 2.6)             # about 1.35 x n_items before the cut below
    cust = rng.integers(0, n_cust, n_pairs)
    sku = rng.choice(n_prod, n_pairs, p=pop)
    start = rng.integers(0, SPAN, n_pairs)
    k = 1 + rng.geometric(0.25, n_pairs) - 1                      # purchases per chain
    k = np.minimum(k, 60)
    pair = np.repeat(np.arange(n_pairs), k)
    pos = np.arange(pair.size) - np.repeat(np.cumsum(k) - k, k)
    shape = 4.0
    gaps = rng.gamma(shape, 1.0, pair.size) * (cycle[sku[pair]] / shape)
    gaps[pos == 0] = 0.0
    csum = np.cumsum(gaps)
    first = np.repeat(csum[np.cumsum(k) - k], k)
    day = start[pair] + np.floor(csum - first).astype(np.int64)
    keep = day < SPAN
    pair, day = pair[keep], day[keep]
    dup = rng.random(pair.size) < 0.05                            # two units, one order
    pair = np.concatenate([pair, pair[dup]])
    day = np.concatenate([day, day[dup]])
    amount = np.round(rng.gamma(2.0, 30.0, pair.size), 2)
    order = rng.permutation(pair.size)[:n_items]             # exactly n_items rows
    return pd.DataFrame({
        "customer": cust[pair][order],
        "date": (np.datetime64("2023-01-01") + day[order].astype("timedelta64[D]")
                 ).astype("datetime64[ns]"),
        "amount": amount[order],
        "sku": sku[pair][order],
    })


# ------------------------------------------------------------------------------- siyu
def run_siyu(df: pd.DataFrame, threads: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    import siyu

    siyu.set_num_threads(threads)
    t0 = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer", time="date", amount="amount",
                           product="sku")
    t1 = time.perf_counter()
    rep = tx.replenishment(min_customers=RULES["min_customers"])
    t2 = time.perf_counter()
    rl = tx.recall_list(cycles=rep, lead=RULES["lead"], stale=RULES["stale"],
                        overdue_at=RULES["overdue_at"], min_own_gaps=RULES["min_own_gaps"],
                        horizon=RULES["horizon"], max_products=RULES["top_k"],
                        reasons=("due", "overdue"))
    t3 = time.perf_counter()
    table = rep.table[["n_buyers", "n_rebuyers", "n_intervals", "gap_q25", "gap_median",
                       "gap_q75", "km_q25", "km_median", "km_q75", "cycle"]]
    recall = rl[["n_due", "due_products", "days_past_due", "typical_gap", "overdue_ratio",
                 "days_since_last", "value_at_stake"]]
    return table, recall, {"construct": t1 - t0, "replenishment": t2 - t1,
                           "recall_list": t3 - t2}


# ------------------------------------------------------------------------------- pandas
def run_pandas(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    t0 = time.perf_counter()
    paid = df[df["amount"] >= 0]
    end = paid["date"].max()
    # one purchase per (customer, sku, day); consecutive gaps per customer and sku
    d = paid[["customer", "sku", "date"]].drop_duplicates()
    d = d.sort_values(["customer", "sku", "date"], kind="stable")
    g = d.groupby(["customer", "sku"], sort=False)["date"]
    d["gap"] = g.diff().dt.days
    closed = d[d["gap"].notna()]
    last = d[~d.duplicated(["customer", "sku"], keep="last")]
    q = closed.groupby("sku")["gap"].quantile([0.25, 0.5, 0.75]).unstack()
    buyers = last.groupby("sku").size()
    rebuyers = closed.drop_duplicates(["customer", "sku"]).groupby("sku").size()
    n_int = closed.groupby("sku").size()
    # Kaplan-Meier with the open intervals censored
    dur = pd.DataFrame({
        "sku": np.concatenate([closed["sku"].to_numpy(), last["sku"].to_numpy()]),
        "dur": np.concatenate([closed["gap"].to_numpy(np.int64),
                               (end - last["date"]).dt.days.to_numpy()]),
        "event": np.concatenate([np.ones(len(closed), np.int64), np.zeros(len(last), np.int64)]),
    })
    t = dur.groupby(["sku", "dur"])["event"].agg(["sum", "size"])
    at_risk = t["size"].iloc[::-1].groupby(level="sku").cumsum().iloc[::-1]
    surv = (1 - t["sum"] / at_risk).groupby(level="sku").cumprod()
    km = {}
    for qq, name in ((0.25, "km_q25"), (0.5, "km_median"), (0.75, "km_q75")):
        hit = surv[surv <= 1 - qq + 1e-12].reset_index()
        km[name] = hit.groupby("sku")["dur"].first()
    table = pd.DataFrame({"n_buyers": buyers, "n_rebuyers": rebuyers, "n_intervals": n_int,
                          "gap_q25": q[0.25], "gap_median": q[0.5], "gap_q75": q[0.75], **km})
    table[["n_rebuyers", "n_intervals"]] = table[["n_rebuyers", "n_intervals"]].fillna(0)
    table["cycle"] = table["km_median"].where(table["n_buyers"] >= RULES["min_customers"])
    t1 = time.perf_counter()

    # recall list
    as_of = end
    lp = last[["customer", "sku", "date"]].copy()
    lp["cycle"] = lp["sku"].map(table["cycle"])
    lp = lp[lp["cycle"].notna()]
    lp["over"] = (as_of - lp["date"]).dt.days - lp["cycle"]
    min_cycle = lp.groupby("customer")["cycle"].min()
    due = lp[(lp["over"] >= -RULES["lead"]) & (lp["over"] <= RULES["stale"] * lp["cycle"])]
    due = due.sort_values(["customer", "over", "sku"], ascending=[True, False, True])
    n_due = due.groupby("customer").size()
    top = due.groupby("customer").head(RULES["top_k"])
    due_names = top.assign(s=top["sku"].astype(str)).groupby("customer")["s"].agg(", ".join)
    most = due.groupby("customer")["over"].first()
    days = paid[["customer", "date"]].drop_duplicates().sort_values(["customer", "date"])
    days["gap"] = days.groupby("customer")["date"].diff().dt.days
    og = days.groupby("customer")["gap"]
    cust = pd.DataFrame({"n_gaps": og.count(), "own": og.median(),
                         "last": days.groupby("customer")["date"].max()})
    rev = df[df["date"] <= as_of].groupby("customer")["amount"].sum()
    cust["mean_value"] = rev / (cust["n_gaps"] + 1)
    cust["min_cycle"] = min_cycle
    cust["typical"] = cust["own"].where(cust["n_gaps"] >= RULES["min_own_gaps"], cust["min_cycle"])
    cust["dsl"] = (as_of - cust["last"]).dt.days
    cust["ratio"] = cust["dsl"] / cust["typical"]
    cust["value"] = cust["mean_value"] * RULES["horizon"] / cust["typical"]
    cust["n_due"] = n_due.reindex(cust.index, fill_value=0)
    listed = cust[(cust["n_due"] > 0) | (cust["ratio"] >= RULES["overdue_at"])].copy()
    listed["cid"] = listed.index
    listed["v6"] = listed["value"].round(6)            # siyu's rule: values to 6 decimals
    listed["r9"] = listed["ratio"].round(9)
    listed = listed.sort_values(["v6", "r9", "dsl", "cid"],
                                ascending=[False, False, False, True], na_position="last")
    recall = pd.DataFrame({
        "n_due": listed["n_due"], "due_products": due_names.reindex(listed.index, fill_value=""),
        "days_past_due": most.reindex(listed.index), "typical_gap": listed["typical"],
        "overdue_ratio": listed["ratio"], "days_since_last": listed["dsl"],
        "value_at_stake": listed["value"]})
    t2 = time.perf_counter()
    return table, recall, {"replenishment": t1 - t0, "recall_list": t2 - t1}


# ------------------------------------------------------------------------------- worker
def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(name: str, opt: argparse.Namespace, out_dir: str) -> None:
    cols = {c: np.load(os.path.join(out_dir, f"input_{c}.npy"))
            for c in ("customer", "date", "amount", "sku")}
    df = pd.DataFrame(cols, copy=False)
    del cols
    rss0 = _rss_mib() * 1024
    best = None
    for _ in range(opt.repeat):
        if name == "pandas":
            table, recall, parts = run_pandas(df)
        else:
            table, recall, parts = run_siyu(df, int(name.split("-")[1]))
        total = sum(parts.values())
        if best is None or total < best[0]:
            best = (total, parts)
        del table, recall
    table, recall, _ = (run_pandas(df) if name == "pandas"
                        else run_siyu(df, int(name.split("-")[1])))
    table.to_pickle(os.path.join(out_dir, f"{name}_table.pkl"))
    recall.to_pickle(os.path.join(out_dir, f"{name}_recall.pkl"))
    peak = peak_rss() / 1024   # VmHWM, KiB: ru_maxrss would include the parent's peak
    print(json.dumps({"total": best[0], "parts": best[1], "rows": len(df),
                      "peak_mib": peak / 1024, "input_mib": rss0 / 1024}))


# peak RSS includes the input frame (loaded before timing: "input" below)


def compare(a_table, a_recall, b_table, b_recall) -> list[str]:
    """Every value equal (counts exactly, the rest to 1e-9); the two rankings may order
    rows differently only where their sort keys tie to 1e-9 (amounts summed in another
    order differ in the last bits)."""
    bad = []
    b_table = b_table.reindex(a_table.index)
    for col in a_table.columns:
        x, y = a_table[col].to_numpy(float), b_table[col].to_numpy(float)
        if not np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True):
            n = int((~np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)).sum())
            bad.append(f"replenishment {col}: {n} SKUs differ")
    if len(a_recall) != len(b_recall) or not a_recall.index.sort_values().equals(
            b_recall.index.sort_values()):
        return bad + [f"recall list: different customers ({len(a_recall)} vs {len(b_recall)})"]
    b_same = b_recall.loc[a_recall.index]                      # per customer
    for col in a_recall.columns:
        x, y = a_recall[col], b_same[col]
        if not (pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y)):
            # text (object on pandas 2, "str" on pandas 3): compared exactly
            ok = (x.fillna("").astype(str) == y.fillna("").astype(str)).to_numpy()
        else:
            ok = np.isclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=1e-9,
                            equal_nan=True)
        if not ok.all():
            bad.append(f"recall {col}: {int((~ok).sum())} customers differ")
    # the ranking: position by position the same value at stake (the primary key), so
    # rows can only trade places with rows of the same value (to 1e-9), where the tie
    # rule (6 decimals) may fall either way for sums that differ in the last bits
    moved = int((a_recall.index.to_numpy() != b_recall.index.to_numpy()).sum())
    x = a_recall["value_at_stake"].to_numpy(float)
    y = b_recall["value_at_stake"].to_numpy(float)
    if not np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True):
        bad.append("recall ranking: value at stake out of order")
    if moved and not bad:
        print(f"  ({moved:,} rows trade places with rows of the same value at stake)")
    return bad


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=2_000_000)
    ap.add_argument("--products", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    opt = ap.parse_args()
    if opt.worker:
        worker(opt.worker, opt, opt.out)
        return 0
    names = ["pandas"] + [f"siyu-{t}" for t in opt.threads]
    res = {}
    load0 = load_average()
    with tempfile.TemporaryDirectory() as out:
        df = make_log(opt.items, opt.customers, opt.products)
        for c in df.columns:
            np.save(os.path.join(out, f"input_{c}.npy"), df[c].to_numpy())
        del df
        for name in names:
            cmd = [sys.executable, __file__, "--worker", name, "--out", out,
                   "--items", str(opt.items), "--customers", str(opt.customers),
                   "--products", str(opt.products), "--repeat", str(opt.repeat)]
            p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                               "PYTHONPATH": str(ROOT)})
            if p.returncode != 0:
                print(p.stderr)
                return 1
            res[name] = json.loads(p.stdout.strip().splitlines()[-1])
        tables = {n: (pd.read_pickle(os.path.join(out, f"{n}_table.pkl")),
                      pd.read_pickle(os.path.join(out, f"{n}_recall.pkl"))) for n in names}
    rows = res["pandas"]["rows"]
    print(f"{rows:,} line items, {opt.customers:,} customers, {opt.products:,} SKUs; best of "
          f"{opt.repeat} per contender, each in its own process; load average before "
          f"{load0}, after {load_average()}")
    print(f"recall list: {len(tables['pandas'][1]):,} customers listed")
    base = res["pandas"]["total"]
    for name in names:
        r = res[name]
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in r["parts"].items())
        ratio = "" if name == "pandas" else f"  -> {base / r['total']:.1f}x pandas"
        print(f"{name:8s} {r['total']:7.2f} s  ({parts}); peak RSS {r['peak_mib']:,.0f} MiB, "
              f"{r['peak_mib'] - r['input_mib']:,.0f} MiB above the loaded input{ratio}")
    failed = False
    for name in names[1:]:
        bad = compare(*tables[name], *tables["pandas"])
        print(f"{name} vs pandas: {'all values equal' if not bad else '; '.join(bad)}")
        failed |= bool(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
