"""Benchmark: segments and the operators' metrics, siyu vs the pandas an analyst writes.

    PYTHONPATH=. python benchmarks/bench_segments.py [--rows 10_000_000]
        [--customers 1_000_000] [--repeat 3] [--tasks lifecycle,rfm,...]

The race is fair by construction (issue #17):

- one input for everyone: a log (default 10M rows, 1M customers, three years, times of
  day, ~3% refunds, shuffled) written once to a temporary .npy set; every contender
  starts from the same pandas DataFrame built from it;
- siyu's time is the user's whole call: ``siyu.Transactions(df, ...)`` *and* the
  method (construction is printed separately, but every ratio includes it);
- one repeat policy: every (task, contender) runs in its own fresh process, best of
  ``--repeat`` runs (default 3), its peak RSS above the loaded input reported;
- every contender's full result is compared with siyu's (every count exactly, every
  float to rel. 1e-9); the script exits 1 on any mismatch.

Tasks: lifecycle stage of every customer; RFM quintile scores (R, F and M); lifecycle
migration between month ends (per-period transition counts); 复购率 of the last 365
days (customer and order counts); 回购率 by month; 新客复购率 (30 days) by monthly
cohort; RFM 八大类 (mean thresholds); the R×F customer matrix.  The pandas migration
is the vectorised one (last purchase per customer-month, forward-filled over the month
ends), not a re-filter of the log at every month end.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from _bench_util import load_average, peak_rss, rss

STAGES = np.array([30, 180])           # lifecycle bounds (days)
R_EDGES, F_EDGES = [30, 60, 90, 180, 365], [1, 2, 3, 4]
TASKS = ("lifecycle", "rfm", "migration", "repeat_rate", "return_rate",
         "new_customer_repeat_rate", "rfm8", "rfm_matrix")


# ---------------------------------------------------------------------------- the log
def make_log(rows: int, customers: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    # skewed activity: low codes buy more often; most customers appear
    cust = np.minimum((customers * rng.random(rows) ** 1.5).astype(np.int64), customers - 1)
    first = rng.integers(0, 1095, customers)
    day = np.minimum(first[cust] + rng.geometric(1 / 60, rows), 1094)
    sec = rng.integers(0, 86_400, rows)
    t = (np.datetime64("2021-01-01", "s") + (day * 86_400 + sec).astype("timedelta64[s]"))
    amt = np.round(rng.gamma(2.0, 40.0, rows), 2)
    amt[rng.random(rows) < 0.03] *= -1
    return {"customer_id": cust, "date": t.astype("datetime64[ns]"), "amount": amt}


def load(path: str) -> pd.DataFrame:
    return pd.DataFrame({k: np.load(os.path.join(path, k + ".npy"))
                         for k in ("customer_id", "date", "amount")})


# ---------------------------------------------------------------------------- siyu
def siyu_task(task: str, df: pd.DataFrame) -> tuple[dict, float]:
    import siyu

    t0 = time.perf_counter()
    tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount")
    t_build = time.perf_counter() - t0
    end = tx.end
    if task == "lifecycle":
        lc = tx.lifecycle()
        out = {"ids": lc.index.to_numpy(), "dsl": lc["days_since_last"].to_numpy(),
               "stage": lc["stage"].cat.codes.to_numpy()}
    elif task == "rfm":
        r = tx.rfm()
        out = {"ids": r.index.to_numpy(), **{c: r[c].to_numpy() for c in "RFM"}}
    elif task == "migration":
        mg = tx.migration(period="M")
        out = {"counts": mg.counts.to_numpy(), "n_ends": len(mg.period_ends)}
    elif task == "repeat_rate":
        r = tx.repeat_rate(end - pd.Timedelta(days=364), end).iloc[0]
        out = {k: int(r[k]) for k in ("buyers", "repeat_buyers", "orders")}
    elif task == "return_rate":
        r = tx.return_rate("M")
        out = {"buyers": r["buyers"].to_numpy(), "returned": r["returned"].to_numpy()}
    elif task == "new_customer_repeat_rate":
        r = tx.new_customer_repeat_rate("M", within=30)
        out = {"new": r["new_customers"].to_numpy(), "repeated": r["repeated"].to_numpy()}
    elif task == "rfm8":
        r = tx.rfm(scheme="8")
        out = {"ids": r.index.to_numpy(), "class": r["rfm_code"].to_numpy().astype("U3"),
               "thresholds": r.attrs["thresholds"]}
    elif task == "rfm_matrix":
        out = {"grid": tx.rfm_matrix(r_edges=R_EDGES, f_edges=F_EDGES).to_numpy()}
    else:
        raise ValueError(task)
    return out, t_build


# ---------------------------------------------------------------------------- pandas
def _purchases(df: pd.DataFrame) -> pd.DataFrame:
    p = df.loc[df["amount"] >= 0, ["customer_id", "date"]]
    return p.assign(day=p["date"].dt.normalize())


def _stage(dsl: np.ndarray) -> np.ndarray:
    return np.searchsorted(STAGES, dsl, side="left")          # <=30 0, <=180 1, else 2


def pandas_task(task: str, df: pd.DataFrame) -> dict:
    end = df["date"].max().normalize()
    if task == "lifecycle":
        p = df.loc[df["amount"] >= 0, ["customer_id", "date"]]
        last = p.groupby("customer_id")["date"].max().dt.normalize()   # 1M, not 10M, to normalise
        dsl = (end - last).dt.days.to_numpy()
        return {"ids": last.index.to_numpy(), "dsl": dsl, "stage": _stage(dsl)}
    if task in ("rfm", "rfm8", "rfm_matrix"):
        p = _purchases(df)
        g = p.groupby("customer_id")["day"]
        c = pd.DataFrame({"dsl": (end - g.max()).dt.days, "occ": g.nunique()})
        c["rev"] = df.groupby("customer_id")["amount"].sum().reindex(c.index)
        if task == "rfm":
            n = len(c)
            out = {"ids": c.index.to_numpy()}
            for key, col, sign in (("R", "dsl", -1), ("F", "occ", 1), ("M", "rev", 1)):
                r = (sign * c[col]).rank(method="min").to_numpy()
                out[key] = np.ceil(r * 5 / n).astype(np.int64)
            return out
        if task == "rfm8":
            thr = {"R": c["dsl"].mean(), "F": c["occ"].mean(), "M": c["rev"].mean()}
            code = ((c["dsl"] < thr["R"]).astype(int).astype(str)
                    + (c["occ"] > thr["F"]).astype(int).astype(str)
                    + (c["rev"] > thr["M"]).astype(int).astype(str))
            return {"ids": c.index.to_numpy(), "class": code.to_numpy().astype("U3"),
                    "thresholds": thr}
        rb = pd.cut(c["dsl"], [-np.inf] + R_EDGES + [np.inf], labels=False)
        fb = pd.cut(c["occ"], [-np.inf] + F_EDGES + [np.inf], labels=False)
        grid = pd.crosstab(rb, fb).reindex(index=range(len(R_EDGES) + 1),
                                           columns=range(len(F_EDGES) + 1), fill_value=0)
        return {"grid": grid.to_numpy()}
    if task == "migration":
        p = _purchases(df)
        month = p["day"].dt.year * 12 + p["day"].dt.month - 1            # int month codes
        last = p.groupby(["customer_id", month])["day"].max().unstack()   # customer x month
        first = df["date"].min()                 # snapshots from the log's first row, as siyu
        months = pd.period_range(first.to_period("M"), end.to_period("M"), freq="M")
        codes = months.year * 12 + months.month - 1
        ends = months.to_timestamp(how="end").normalize()
        keep = ends <= end                                                 # complete months
        last = last.reindex(columns=codes).ffill(axis=1).loc[:, keep]
        dsl = (ends[keep].to_numpy() - last.to_numpy()) / np.timedelta64(1, "D")
        st = np.where(np.isnan(dsl), -1, _stage(np.nan_to_num(dsl, nan=0.0)))
        counts = []
        for j in range(1, st.shape[1]):
            a, b = st[:, j - 1], st[:, j]
            ok = (a >= 0) & (b >= 0)
            counts.append(np.bincount(a[ok] * 3 + b[ok], minlength=9).reshape(3, 3))
        return {"counts": np.concatenate(counts), "n_ends": int(keep.sum())}
    if task == "repeat_rate":
        w = df.loc[(df["date"] >= end - pd.Timedelta(days=364)) & (df["amount"] >= 0),
                   ["customer_id", "date"]]
        days = w.assign(day=w["date"].dt.normalize()).groupby("customer_id")["day"].nunique()
        return {"buyers": int(days.size), "repeat_buyers": int((days >= 2).sum()),
                "orders": int(days.sum())}
    if task == "return_rate":
        p = df.loc[df["amount"] >= 0, ["customer_id", "date"]]
        act = pd.DataFrame({"c": p["customer_id"].to_numpy(),            # int month codes
                            "m": (p["date"].dt.year * 12 + p["date"].dt.month).to_numpy()})
        act = act.drop_duplicates()
        nxt = act.assign(m=act["m"] - 1, back=True)
        m = act.merge(nxt, on=["c", "m"], how="left")
        g = m.groupby("m")
        buyers = g.size()
        returned = g["back"].count()
        last = buyers.index.max()
        returned[last] = 0
        return {"buyers": buyers.to_numpy(), "returned": returned.to_numpy()}
    if task == "new_customer_repeat_rate":
        p = _purchases(df)
        first = p.groupby("customer_id")["day"].min()
        later = p[p["day"] > p["customer_id"].map(first)]                  # no sort needed
        second = later.groupby("customer_id")["day"].min().reindex(first.index)
        cohort = first.dt.to_period("M")
        rep = (second - first).dt.days <= 30
        g = rep.groupby(cohort)
        return {"new": g.size().to_numpy(), "repeated": g.sum().to_numpy()}
    raise ValueError(task)


# ---------------------------------------------------------------------------- child
def child(task: str, who: str, path: str, out_path: str, repeat: int) -> None:
    df = load(path)
    if who == "siyu":     # a session imports once: not part of any call
        import siyu.metrics, siyu.segments  # noqa: F401
    base = rss()          # also resets the peak: VmHWM from here on
    best, best_build = float("inf"), 0.0
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        if who == "siyu":
            result, t_build = siyu_task(task, df)
        else:
            result, t_build = pandas_task(task, df), 0.0
        t = time.perf_counter() - t0
        if t < best:
            best, best_build = t, t_build
    peak = peak_rss()     # not ru_maxrss: a spawned child inherits the parent's peak
    with open(out_path, "wb") as fh:
        pickle.dump(result, fh)
    print(json.dumps({"seconds": best, "build": best_build,
                      "peak_mib": max(peak - base, 0) / 2**20}))


def same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (float, np.floating)):
        return bool(np.isclose(a, b, rtol=1e-9, atol=0))
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-9, atol=0, equal_nan=True))
    return bool((a == b).all())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--child", nargs=4, metavar=("TASK", "WHO", "DATA", "OUT"))
    args = ap.parse_args()
    if args.child:
        child(*args.child, args.repeat)
        return 0
    import siyu

    tasks = [t for t in args.tasks.split(",") if t]
    bad = [t for t in tasks if t not in TASKS]
    if bad:
        ap.error(f"unknown task(s) {bad}; choose from {', '.join(TASKS)}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(siyu.__file__)))]
        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        log = make_log(args.rows, args.customers)
        for key, arr in log.items():
            np.save(os.path.join(tmp, key + ".npy"), arr)
        del log
        print(f"log: {args.rows:,} rows, {args.customers:,} customer codes, 2021-01-01.."
              f"2023-12-30 with times of day, ~3% refunds; siyu threads "
              f"{siyu.get_num_threads()}, cores {os.cpu_count()}, load avg "
              f"{load_average()}; best of {args.repeat}, each contender in its own "
              "process; siyu = Transactions() + the call")
        print(f"{'task':<26}{'siyu s':>9}{'(build)':>9}{'pandas s':>10}{'ratio':>8}"
              f"{'siyu MiB':>10}{'pandas MiB':>11}  result")
        for task in tasks:
            res, info = {}, {}
            for who in ("siyu", "pandas"):
                out = os.path.join(tmp, f"{task}.{who}.pkl")
                run = subprocess.run([sys.executable, os.path.abspath(__file__), "--repeat",
                                      str(args.repeat), "--child", task, who, tmp, out],
                                     capture_output=True, text=True, env=env)
                if run.returncode != 0:
                    print(f"{task} ({who}) failed:\n{run.stderr}", file=sys.stderr)
                    return 1
                info[who] = json.loads(run.stdout.strip().splitlines()[-1])
                with open(out, "rb") as fh:
                    res[who] = pickle.load(fh)
            ok = same(res["siyu"], res["pandas"])
            failures += not ok
            s, p = info["siyu"], info["pandas"]
            print(f"{task:<26}{s['seconds']:>9.2f}{s['build']:>9.2f}{p['seconds']:>10.2f}"
                  f"{p['seconds'] / s['seconds']:>7.1f}x{s['peak_mib']:>10,.0f}"
                  f"{p['peak_mib']:>11,.0f}  {'same' if ok else 'MISMATCH'}")
    print(f"load avg at the end {load_average()}")
    if failures:
        print(f"{failures} task(s) gave different results", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
