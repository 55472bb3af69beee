"""Reading a 10M-row shop export: siyu.read_orders against the plain readers.

The export (written once to a cache folder) has Chinese headers, zero-padded 8-digit
buyer ids, ``2024/3/5 14:22:01`` times and ``￥1,299.00`` amounts, like a 有赞/微盟 order
export saved as UTF-8 CSV.  Each contender turns the file into typed columns (ids as
text, times as datetimes, amounts as floats); siyu's time is the whole
``read_orders`` call, ``Transactions`` construction included.  Every contender runs in
its own process (peak RSS per contender, VmHWM), best of ``--repeat`` runs (the same
policy for all).  DuckDB materialises its typed columns (to Arrow) like the others
instead of aggregating inside SQL.  The full results are compared, every row: each
contender's rows as (customer id, day, amount to the cent) -- days because siyu keeps
the day of each order -- reduced outside the timed region to an order-independent
64-bit digest plus rows, distinct customers, revenue and first / last day; any
difference exits 1.  The "raw:" rows (text columns only) are not the task: shown to
justify the choice of reader, only their row count is checked.

    python benchmarks/bench_read.py [--rows 10000000] [--repeat 3] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _bench_util import CRASHES, child_ran, peak_rss

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("SIYU_BENCH_CACHE", "/tmp/siyu_bench")
COLS = dict(customer="买家ID", time="下单时间", amount="实付金额", order="订单编号",
            status="订单状态")


def make_export(path: str, rows: int, customers: int = 2_000_000, seed: int = 7) -> None:
    """Write the export with vectorised Arrow string building (no per-row Python)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    cust = rng.integers(1, customers + 1, rows)
    secs = np.sort(rng.integers(0, 3 * 365 * 86400, rows)) + 1_640_995_200   # 2022..2024
    cents = (np.exp(rng.normal(4.5, 1.0, rows)) * 100).astype(np.int64) + 100
    dt = secs.astype("datetime64[s]")
    y = dt.astype("datetime64[Y]").astype(int) + 1970
    m = dt.astype("datetime64[M]").astype(int) % 12 + 1
    d = (dt.astype("datetime64[D]") - dt.astype("datetime64[M]")).astype(int) + 1
    sod = secs % 86400

    def s(a):
        return pc.cast(pa.array(a), pa.string())

    def pad(a, w):
        return pc.utf8_lpad(s(a), w, "0")

    times = pc.binary_join_element_wise(s(y), "/", s(m), "/", s(d), " ", s(sod // 3600), ":",
                                        pad(sod // 60 % 60, 2), ":", pad(sod % 60, 2), "")
    yuan, fen = cents // 100, cents % 100
    grouped = pc.if_else(pa.array(yuan >= 1000),
                         pc.binary_join_element_wise(s(yuan // 1000), ",", pad(yuan % 1000, 3), ""),
                         s(yuan))
    amounts = pc.binary_join_element_wise("￥", grouped, ".", pad(fen, 2), "")
    ids = pad(cust, 8)
    orders = pc.binary_join_element_wise("E", pad(np.arange(rows) + 1, 12), "")
    status = pa.array(np.where(rng.random(rows) < 0.97, "交易成功", "已发货"))
    table = pa.table({COLS["order"]: orders, COLS["customer"]: ids, COLS["time"]: times,
                      COLS["amount"]: amounts, COLS["status"]: status})
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".part"
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="needed"))
    os.replace(tmp, path)


# ---- contenders (each returns the columns it read) -------------------------------------
# The task: the file's rows as typed columns (ids as text, times, amounts as floats).
# Each contender returns its columns; what is compared is computed afterwards, outside
# the timed region, by summarise().
def run_siyu(path):
    import siyu

    return siyu.read_orders(path, customer=COLS["customer"], time=COLS["time"],
                            amount=COLS["amount"])


def _pandas(path, engine):
    import pandas as pd

    kw = {} if engine is None else {"engine": engine}
    df = pd.read_csv(path, usecols=[COLS["customer"], COLS["time"], COLS["amount"]],
                     dtype={COLS["customer"]: str, COLS["amount"]: str}, **kw)
    t = pd.to_datetime(df[COLS["time"]], format="%Y/%m/%d %H:%M:%S")
    a = pd.to_numeric(df[COLS["amount"]].str.replace(r"[￥,]", "", regex=True))
    ids = df[COLS["customer"]]
    if engine == "pyarrow" and int(pd.__version__.split(".")[0]) < 3:
        # pandas 2.x with engine="pyarrow" reads the ids as integers before dtype=str
        # applies, dropping the zero padding ('01889810' -> '1889810'; fixed in pandas 3).
        # The repair a user who noticed would write, timed as part of the contender.
        ids = ids.str.zfill(8)
    return ids, t, a


def run_pandas(path):
    return _pandas(path, None)


def run_pandas_pyarrow(path):
    return _pandas(path, "pyarrow")


def run_polars(path):
    import polars as pl

    df = pl.read_csv(path, columns=[COLS["customer"], COLS["time"], COLS["amount"]],
                     schema_overrides={COLS["customer"]: pl.Utf8, COLS["amount"]: pl.Utf8})
    df = df.with_columns(pl.col(COLS["time"]).str.strptime(pl.Datetime, "%Y/%m/%d %H:%M:%S"),
                         pl.col(COLS["amount"]).str.replace_all(r"[￥,]", "").cast(pl.Float64))
    return df[COLS["customer"]], df[COLS["time"]], df[COLS["amount"]]


def run_duckdb(path):
    import duckdb

    con = duckdb.connect()
    q = f"""
        SELECT "{COLS['customer']}" AS c,
               strptime("{COLS['time']}", '%Y/%m/%d %H:%M:%S') AS t,
               CAST(regexp_replace("{COLS['amount']}", '[￥,]', '', 'g') AS DOUBLE) AS a
        FROM read_csv('{path}', header=true, all_varchar=true)
    """
    t = con.sql(q).to_arrow_table()     # the typed columns, materialised (as the others)
    return t.column("c"), t.column("t"), t.column("a")


def _mix(h):
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    import numpy as np

    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _as_numpy(col):
    import numpy as np

    if hasattr(col, "to_numpy") and not isinstance(col, np.ndarray):
        try:
            return col.to_numpy(zero_copy_only=False)       # pyarrow
        except TypeError:
            return col.to_numpy()                            # pandas / polars
    return np.asarray(col)


def summarise(result):
    """Every row as (customer id, day, amount in cents), reduced to an order-independent
    digest (the sum of a 64-bit hash of each row) plus readable totals.  Equal digests
    mean the same multiset of rows: every id, day and amount to the cent.  Days, not
    times: siyu keeps the day of each order (DESIGN.md section 2)."""
    import numpy as np
    import pandas as pd

    if isinstance(result, dict):                              # the raw readers
        return result
    if hasattr(result, "_log"):                               # siyu.Transactions
        log = result._log
        codes, uniq, day, amount = log.cust, log.ids, log.day, log.amount
    else:
        ids, t, amount = (_as_numpy(c) for c in result)
        codes, uniq = pd.factorize(np.asarray(ids, dtype=object))
        day = np.asarray(t).astype("datetime64[D]").astype(np.int64)
    uniq = pd.Series(np.asarray(uniq, dtype=object))
    hid = pd.util.hash_pandas_object(uniq.astype(str), index=False).to_numpy(np.uint64)
    cents = np.rint(np.asarray(amount, np.float64) * 100).astype(np.int64)
    with np.errstate(over="ignore"):
        h = _mix(hid[np.asarray(codes)] ^ _mix(np.asarray(day).astype(np.uint64)
                                                 + _mix(cents.astype(np.uint64))))
        digest = int(h.sum(dtype=np.uint64))
    d0, d1 = (int(np.min(day)), int(np.max(day))) if len(day) else (0, 0)
    return dict(rows=int(len(day)), customers=int(len(uniq)), revenue=int(cents.sum()) / 100,
                first=str(np.datetime64(d0, "D")), last=str(np.datetime64(d1, "D")),
                digest=f"{digest:016x}")


# the readers alone, text columns into Arrow (what read_orders could build on): no result
# to compare, shown to justify the choice of reader
def raw_pyarrow(path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = [COLS["customer"], COLS["time"], COLS["amount"]]
    with pa.OSFile(path) as f:
        t = pacsv.read_csv(f, read_options=pacsv.ReadOptions(block_size=1 << 22),
                           convert_options=pacsv.ConvertOptions(
                               include_columns=cols, column_types={c: pa.string() for c in cols},
                               strings_can_be_null=False))
    return {"rows": t.num_rows}


def raw_polars(path):
    import polars as pl

    t = pl.read_csv(path, columns=[COLS["customer"], COLS["time"], COLS["amount"]],
                    infer_schema=False).to_arrow()
    return {"rows": t.num_rows}


def raw_duckdb(path):
    import duckdb

    q = (f"SELECT \"{COLS['customer']}\", \"{COLS['time']}\", \"{COLS['amount']}\" "
         f"FROM read_csv('{path}', header=true, all_varchar=true)")
    t = duckdb.sql(q).to_arrow_table()
    return {"rows": t.num_rows}


RAW = {"raw: pyarrow.csv text columns": raw_pyarrow, "raw: polars text columns": raw_polars,
       "raw: duckdb text columns": raw_duckdb}

CONTENDERS = {"siyu.read_orders": run_siyu, "pandas.read_csv (default engine)": run_pandas,
              "pandas.read_csv (engine=pyarrow)": run_pandas_pyarrow, "polars": run_polars,
              "duckdb": run_duckdb, **RAW}


LIBS = {"siyu": "siyu", "pandas": "pandas", "polars": "polars", "duckdb": "duckdb",
        "raw: pyarrow": "pyarrow.csv", "raw: polars": "polars", "raw: duckdb": "duckdb"}


def child(name: str, path: str, repeat: int) -> None:
    import importlib

    # the contender's library is imported before timing (a session imports once)
    importlib.import_module(next(v for k, v in LIBS.items() if name.startswith(k)))
    best = None
    result = rss = None
    for rep in range(repeat):
        t0 = time.perf_counter()
        cols = CONTENDERS[name](path)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        if rep == repeat - 1:
            rss = peak_rss_mb()            # before the (untimed) comparison digest
            result = summarise(cols)
        del cols
    print(json.dumps(dict(seconds=best, rss_mb=rss, result=result)))


def peak_rss_mb() -> float:
    """This process's peak RSS in MiB (VmHWM: unlike ru_maxrss it does not carry over the
    parent's peak across fork + exec)."""
    return peak_rss() / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--child")
    ap.add_argument("--path")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.path, args.repeat)
        return 0
    path = os.path.join(CACHE, f"export_{args.rows}.csv")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        make_export(path, args.rows)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:,.0f} MB) in "
              f"{time.perf_counter() - t0:.1f} s")
    size = os.path.getsize(path) / 1e6
    print(f"bench_read: {args.rows:,} rows, {size:,.0f} MB UTF-8 CSV, best of {args.repeat}; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = {}
    for name in CONTENDERS:
        if args.only and not any(o in name for o in args.only):
            continue
        out = subprocess.run([sys.executable, __file__, "--child", name, "--path", path,
                              "--repeat", str(args.repeat)], capture_output=True, text=True)
        if not child_ran(out, name):
            continue
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    if not results:
        return 1
    fastest_plain = min((r["seconds"] for n, r in results.items()
                         if not n.startswith(("siyu", "raw:"))), default=None)
    ref = results.get("siyu.read_orders")
    print(f"  {'contender':34s} {'seconds':>8s} {'peak RSS MB':>12s}  siyu speed-up")
    for name, r in results.items():
        ratio = "" if ref is None else f"{r['seconds'] / ref['seconds']:.2f}x"
        print(f"  {name:34s} {r['seconds']:8.2f} {r['rss_mb']:12,.0f}  {ratio}")
    if ref is not None and fastest_plain is not None:
        print(f"  read_orders / fastest plain reader: {ref['seconds'] / fastest_plain:.2f} "
              f"(target <= 1.5); pandas default / read_orders: "
              f"{results.get('pandas.read_csv (default engine)', {}).get('seconds', float('nan')) / ref['seconds']:.1f}x "
              "(target >= 5)")
    ok = True
    full = [r for n, r in results.items() if not n.startswith("raw:")]
    base = (full or list(results.values()))[0]["result"]
    for name, r in results.items():
        res = r["result"]
        if name.startswith("raw:"):
            ok &= res["rows"] == base["rows"]
            continue
        if res != base:
            ok = False
            print(f"  MISMATCH {name}: {res} vs {base}")
    for c in CRASHES:
        ok = False
        print(f"  MISMATCH {c}")
    print(f"  results agree: {ok} ({base})")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
