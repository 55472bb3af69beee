"""Benchmark: siyu on a Dask cluster against the Dask groupby idiom on the same cluster.

Run:  python benchmarks/bench_dask.py [--rows 100000000] [--workers 1,2] [--data DIR]
      python benchmarks/bench_dask.py --quick          (2M rows, a smoke run)

Generates a Parquet folder once (simulated BG/NBD customers, int64 ids whose rows are
spread over all files, ms timestamps over three years, positive amounts) and reuses it, then for each cluster size -- a
``distributed.LocalCluster`` of N worker processes with one thread each (siyu's own C
threads pinned to 1 per worker, so the worker count is the only parallelism) -- times:

* siyu: ``siyu.dask.Transactions`` (read + the one shuffle by customer + a C log per
  partition) + ``summary(unit="W")`` (persisted) + ``cohorts("M")`` + ``BetaGeo().fit``;
* the idiom a Dask user writes without siyu: occasions by ``groupby([customer, day])``,
  the summary by ``groupby(customer).agg`` and a merge for the first occasion's amount,
  cohorts by merging each customer's first month back onto the occasions and counting
  distinct (customer, age) per (cohort, age), and a BG/NBD fit of the collected summary
  with SciPy (the NumPy likelihood of bench_models.py);

and the peak RSS of every worker (VmHWM, reset before each contender).  Results must
agree (summary sums and counts exactly, cohort sizes and active counts exactly, BG/NBD
parameters to 1e-3 -- two optimisers); the script exits non-zero when they do not.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import distributed  # noqa: E402

import siyu  # noqa: E402
import siyu.dask  # noqa: E402



# --------------------------------------------------------------------------- data
PARAMS = {"r": 0.5, "alpha": 3.0, "a": 0.6, "b": 3.0}      # BG/NBD per week: ~7.6 rows each


def generate(folder: Path, rows: int, files: int) -> int:
    """Simulated BG/NBD customers (siyu.datasets.simulate, three years, acquisitions over
    the first two), rows scattered over all files so customers span files; ms timestamps
    with a random time of day.  Returns the number of rows (about ``rows``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from siyu.datasets.simulate import simulate

    stamp = {"rows": rows, "files": files, "params": PARAMS, "version": 2}
    meta = folder / "_bench.json"
    if meta.exists() and json.loads(meta.read_text()).get("stamp") == stamp:
        return int(json.loads(meta.read_text())["n"])
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("*.parquet"):
        f.unlink()
    t0 = time.perf_counter()
    per_customer = 7.62
    chunk = 2_000_000                                    # customers per simulated chunk
    customers = int(rows / per_customer)
    schema = pa.schema([("customer", pa.int64()), ("paid_at", pa.timestamp("ms")),
                        ("amount", pa.float64())])
    writers = [pq.ParquetWriter(folder / f"part-{i:04d}.parquet", schema) for i in range(files)]
    n = 0
    rng = np.random.default_rng(7)
    for k, lo in enumerate(range(0, customers, chunk)):
        m = min(chunk, customers - lo)
        log = simulate(PARAMS, m, T=156, seed=100 + k, unit="W", acquisition=104)
        ms = log["date"].to_numpy().astype("datetime64[ms]") + \
            rng.integers(0, 86_400_000, len(log)).astype("timedelta64[ms]")
        table = pd.DataFrame({"customer": log["customer_id"].to_numpy() + lo, "paid_at": ms,
                              "amount": log["amount"].to_numpy()})
        where = rng.integers(0, files, len(table))
        order = np.argsort(where, kind="stable")
        bounds = np.searchsorted(where[order], np.arange(files + 1))
        for i in range(files):
            part = table.iloc[order[bounds[i]:bounds[i + 1]]]
            writers[i].write_table(pa.Table.from_pandas(part, schema=schema,
                                                        preserve_index=False))
        n += len(table)
    for w in writers:
        w.close()
    meta.write_text(json.dumps({"stamp": stamp, "n": n}))
    print(f"generated {n:,} rows ({customers:,} customers) in {files} files in "
          f"{time.perf_counter() - t0:.1f} s "
          f"({sum(f.stat().st_size for f in folder.glob('*.parquet')) / 2**30:.2f} GiB)")
    return n


# --------------------------------------------------------------------------- memory
def _peak(reset: bool = True) -> float:
    hwm = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                hwm = int(line.split()[1]) * 1024.0
    if reset:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    return hwm


def _warm() -> None:
    import siyu
    import siyu.dask  # noqa: F401
    siyu.set_num_threads(1)


# --------------------------------------------------------------------------- siyu
def run_siyu(folder: Path, npartitions: int) -> dict:
    t = {}
    t0 = time.perf_counter()
    dtx = siyu.dask.Transactions(str(folder), customer="customer", time="paid_at",
                                 amount="amount", npartitions=npartitions)
    t["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    s = dtx.summary(unit="W").persist()
    distributed.wait(s)
    t["summary"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    ct = dtx.cohorts(period="M")
    t["cohorts"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    bg = siyu.BetaGeo().fit(s[s["T"] > 0])
    t["fit"] = time.perf_counter() - t1
    t["total"] = time.perf_counter() - t0
    check = dask.compute(s.shape[0], s["frequency"].sum(), s["recency"].sum(), s["T"].sum(),
                         s["monetary_value"].sum())
    return {"times": t, "check": check, "sizes": ct.sizes.to_numpy(),
            "active": np.nan_to_num(ct.active.to_numpy()), "params": bg.params_.to_numpy(),
            "n": dtx.n_rows}


# --------------------------------------------------------------------------- idiom
def run_idiom(folder: Path, npartitions: int) -> dict:
    from bench_models import np_bgnbd_nll
    from scipy import optimize

    t = {}
    t0 = time.perf_counter()
    ddf = dd.read_parquet(str(folder), columns=["customer", "paid_at", "amount"])
    ddf["day"] = ddf["paid_at"].dt.floor("D")
    daily = ddf.groupby(["customer", "day"]).amount.sum(split_out=npartitions).reset_index()
    daily = daily.persist()
    end = daily["day"].max().compute()
    per = daily.groupby("customer").agg(first=("day", "min"), last=("day", "max"),
                                        n=("day", "count"), total=("amount", "sum"),
                                        split_out=npartitions).reset_index().persist()
    firsts = daily.merge(per[["customer", "first"]], on="customer")
    first_amount = firsts[firsts["day"] == firsts["first"]][["customer", "amount"]] \
        .rename(columns={"amount": "first_amount"})
    s = per.merge(first_amount, on="customer", how="left")
    s["frequency"] = s["n"] - 1
    s["recency"] = (s["last"] - s["first"]).dt.days / 7.0
    s["T"] = (end - s["first"]).dt.days / 7.0
    s["monetary_value"] = ((s["total"] - s["first_amount"]) / s["frequency"]).where(
        s["frequency"] > 0, 0.0)
    s = s.persist()
    distributed.wait(s)
    t["summary"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    coh = daily.merge(per[["customer", "first"]], on="customer")
    fm = coh["first"].dt.year * 12 + coh["first"].dt.month
    coh["cohort"] = fm
    coh["age"] = coh["day"].dt.year * 12 + coh["day"].dt.month - fm
    active = coh[["customer", "cohort", "age"]].drop_duplicates(split_out=npartitions) \
        .groupby(["cohort", "age"]).size()
    sizes = (per["first"].dt.year * 12 + per["first"].dt.month).value_counts()
    active, sizes = dask.compute(active, sizes)
    t["cohorts"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    loc = s[s["T"] > 0][["frequency", "recency", "T"]].compute()
    x, tx, T = (loc[k].to_numpy(float) for k in ("frequency", "recency", "T"))
    res = optimize.minimize(np_bgnbd_nll, np.zeros(4), args=(x, tx, T), method="BFGS")
    t["fit"] = time.perf_counter() - t1
    t["total"] = time.perf_counter() - t0
    check = dask.compute(s.shape[0], s["frequency"].sum(), s["recency"].sum(), s["T"].sum(),
                         s["monetary_value"].sum())
    sizes = sizes.sort_index()
    act = active.unstack(fill_value=0).reindex(index=sizes.index, fill_value=0)
    return {"times": t, "check": check, "sizes": sizes.to_numpy(),
            "active": act.to_numpy(dtype=float), "params": np.exp(res.x)}


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--files", type=int, default=None, help="Parquet files (default rows/2M)")
    ap.add_argument("--workers", default="1,2", help="cluster sizes, e.g. 1,2")
    ap.add_argument("--data", type=Path, default=None, help="folder of the generated data")
    ap.add_argument("--idiom-max-rows", type=int, default=None,
                    help="skip the idiom above this many rows (default: never skip)")
    ap.add_argument("--shuffle", default=None, choices=("p2p", "tasks"),
                    help="dask's shuffle method for the idiom (and for siyu beyond 10,000 "
                         "pieces; default: dask's own, p2p on a distributed cluster)")
    ap.add_argument("--quick", action="store_true", help="2M rows")
    args = ap.parse_args()
    rows = 2_000_000 if args.quick else args.rows
    files = args.files or max(rows // 2_000_000, 2)
    folder = args.data or Path(os.environ.get("TMPDIR", "/tmp")) / f"siyu-bench-dask-{rows}"
    rows = generate(folder, rows, files)
    workers = [int(w) for w in args.workers.split(",")]
    nparts = max(files, 2 * max(workers))
    print(f"shuffle: siyu splits by customer in memory (Dask's shuffle beyond 10,000 pieces); "
          f"the idiom's groupby uses {args.shuffle or 'dask default (p2p)'}")
    print(f"log: {rows:,} rows, {files} Parquet files, "
          f"{nparts} partitions; cores {os.cpu_count()}; load avg "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = {}
    ok = True
    for w in workers:
        env = dict(dask.config.get("distributed.nanny.pre-spawn-environ"), MALLOC_ARENA_MAX="2")
        cfg = {"distributed.nanny.pre-spawn-environ": env}
        if args.shuffle:
            cfg["dataframe.shuffle.method"] = args.shuffle
        with dask.config.set(cfg), \
                distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                         dashboard_address=":0",
                                         silence_logs=logging.ERROR) as cluster, \
                distributed.Client(cluster) as client:
            client.run(_warm)
            warm = generate(folder.parent / f"{folder.name}-warm", 50_000, 2)   # load code paths
            run_siyu(folder.parent / f"{folder.name}-warm", 2)
            if args.idiom_max_rows is None or rows <= args.idiom_max_rows:
                run_idiom(folder.parent / f"{folder.name}-warm", 2)
            del warm
            limit = cluster.workers[next(iter(cluster.workers))].memory_manager.memory_limit \
                if hasattr(cluster.workers[next(iter(cluster.workers))], "memory_manager") \
                else None
            client.run(_peak)
            r = run_siyu(folder, nparts)
            r["peak"] = client.run(_peak)
            results[("siyu", w)] = r
            print(f"\n{w} worker(s){'' if limit is None else f', memory_limit {limit / 2**30:.1f} GiB each'}"
                  f"; load avg {os.getloadavg()[0]:.2f}")
            _show("siyu", r)
            if args.idiom_max_rows is None or rows <= args.idiom_max_rows:
                client.run(_peak)
                q = run_idiom(folder, nparts)
                q["peak"] = client.run(_peak)
                results[("idiom", w)] = q
                _show("idiom", q)
                same = (q["check"][0] == r["check"][0] and q["check"][1] == r["check"][1]
                        and np.allclose(q["check"][2:], r["check"][2:], rtol=1e-9)
                        and np.array_equal(q["sizes"], r["sizes"])
                        and np.array_equal(q["active"], r["active"][:, :q["active"].shape[1]])
                        and np.allclose(q["params"], r["params"], rtol=1e-3))
                print(f"  idiom results match siyu: {same}")
                ok &= bool(same)
                print(f"  siyu is {q['times']['total'] / r['times']['total']:.1f}x faster than "
                      f"the idiom on {w} worker(s) (summary+cohorts+fit, siyu incl. build)")
    if ("siyu", 1) in results and ("siyu", 2) in results:
        a, b = results[("siyu", 1)]["times"], results[("siyu", 2)]["times"]
        print(f"\nsiyu speed-up 1 -> 2 workers: total {a['total'] / b['total']:.2f}x, build "
              f"{a['build'] / b['build']:.2f}x")
        r1 = rows / a["total"]
        print(f"siyu throughput: {r1 / 1e6:.2f} M rows/s on 1 worker, "
              f"{rows / b['total'] / 1e6:.2f} M rows/s on 2")
    if ("idiom", 1) in results and ("idiom", 2) in results:
        a, b = results[("idiom", 1)]["times"], results[("idiom", 2)]["times"]
        print(f"idiom speed-up 1 -> 2 workers: {a['total'] / b['total']:.2f}x")
    if not ok:
        print("MISMATCH between siyu and the idiom", file=sys.stderr)
        return 1
    return 0


def _show(name: str, r: dict) -> None:
    t = r["times"]
    steps = "  ".join(f"{k} {v:7.2f} s" for k, v in t.items())
    peaks = ", ".join(f"{v / 2**20:,.0f}" for v in r["peak"].values())
    print(f"  {name:<6s} {steps}   peak RSS per worker (MiB): {peaks}")


if __name__ == "__main__":
    sys.exit(main())
