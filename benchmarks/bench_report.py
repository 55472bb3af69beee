"""10M-row CSV export -> HTML report, end to end, with the reading part shown apart.

    PYTHONPATH=. python benchmarks/bench_report.py [--rows 10000000] [--spend]

The export is bench_read.py's (Chinese headers, zero-padded ids, ``2024/3/5 14:22:01``
times, ``￥1,299.00`` amounts; cached in $SIYU_BENCH_CACHE or /tmp/siyu_bench).  Two
contenders, each in its own process, one run each:

- ``python -m siyu report`` on the file (siyu.read_orders + the report), with the
  reading and each report step timed from its progress lines;
- what a user would otherwise write: ``pandas.read_csv`` + ``pd.to_datetime`` + amount
  cleaning, then ``siyu.Transactions`` and ``siyu.report.write_report``.

Prints seconds (reading, rest, total), peak RSS of each process and the load average.
Targets (#12): total <= 6 s and peak RSS <= 1.5 GB for the command line.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_read  # noqa: E402

C = bench_read.COLS

PANDAS_SCRIPT = r"""
import sys, time, pandas as pd, siyu
sys.path.insert(0, {here!r})
from siyu.report import write_report
path, out, spend = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
df = pd.read_csv(path, usecols=[{c!r}, {t!r}, {a!r}], dtype={{{c!r}: str, {a!r}: str}})
df[{t!r}] = pd.to_datetime(df[{t!r}], format="%Y/%m/%d %H:%M:%S")
df[{a!r}] = pd.to_numeric(df[{a!r}].str.replace(r"[￥,]", "", regex=True))
tx = siyu.Transactions(df, customer={c!r}, time={t!r}, amount={a!r})
del df
t1 = time.perf_counter()
sp = pd.read_csv(spend) if spend != "-" else None
write_report(tx, spend=sp, out=out)
t2 = time.perf_counter()
import bench_read
rss = bench_read.peak_rss_mb()
print(f"RESULT {{t1 - t0:.3f}} {{t2 - t1:.3f}} {{rss:.0f}} {{tx.n_rows}} {{tx.n_customers}}")
""".format(c=C["customer"], t=C["time"], a=C["amount"], here=HERE)


CLI_SCRIPT = r"""
import atexit, sys
sys.path.insert(0, {here!r})
import bench_read
atexit.register(lambda: print(f"PEAK {{bench_read.peak_rss_mb():.0f}}"))
from siyu.__main__ import main
code = main(sys.argv[1:])
sys.stdout.flush()
sys.exit(code)
""".format(here=HERE)


def run(cmd: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    m = re.search(r"PEAK (\d+)", proc.stdout)
    return proc, wall, float(m.group(1)) if m else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--spend", action="store_true", help="add a monthly spend file")
    args = ap.parse_args()
    path = os.path.join(bench_read.CACHE, f"export_{args.rows}.csv")
    if not os.path.exists(path):
        bench_read.make_export(path, args.rows)
    folder = tempfile.mkdtemp()
    spend = "-"
    if args.spend:
        spend = os.path.join(folder, "spend.csv")
        months = [f"{y}年{m}月" for y in (2022, 2023, 2024) for m in range(1, 13)]
        with open(spend, "w", encoding="utf-8") as f:
            f.write("period,amount\n" + "".join(f"{p},\"￥250,000\"\n" for p in months))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    print(f"bench_report: {args.rows:,} rows, {os.path.getsize(path) / 1e6:,.0f} MB CSV; "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    out = os.path.join(folder, "cli.html")
    cmd = [sys.executable, "-c", CLI_SCRIPT, "report", path, "--customer", C["customer"],
           "--time", C["time"], "--amount", C["amount"], "--out", out]
    if spend != "-":
        cmd += ["--spend", spend]
    proc, wall, rss = run(cmd, env)
    if proc.returncode != 0:
        print(proc.stderr)
        return 1
    m = re.search(r"siyu: reading .*? \.\.\. (\d+\.\d+) s", proc.stderr)
    read_s = float(m.group(1)) if m else float("nan")
    steps = re.findall(r"\] (.+?) \.\.\. (\d+\.\d+) s", proc.stderr)
    print(f"  python -m siyu report (CLI)    reading {read_s:6.2f} s   report {wall - read_s:6.2f} s"
          f"   total {wall:6.2f} s (process wall, interpreter start included)   "
          f"peak RSS {rss:,.0f} MB")
    print("     steps: " + ", ".join(f"{name} {sec}" for name, sec in steps))

    out2 = os.path.join(folder, "pandas.html")
    proc2, wall2, rss2 = run([sys.executable, "-c", PANDAS_SCRIPT, path, out2, spend], env)
    if proc2.returncode != 0:
        print(proc2.stderr)
        return 1
    r = proc2.stdout.split("RESULT ")[-1].split()
    print(f"  pandas read + Transactions     reading {float(r[0]):6.2f} s   report "
          f"{float(r[1]):6.2f} s   total {wall2:6.2f} s   peak RSS {float(r[2]):,.0f} MB")
    print(f"  CLI speed-up over the pandas path: reading {float(r[0]) / read_s:.1f}x, "
          f"total {wall2 / wall:.1f}x; targets: CLI total <= 6 s ({'met' if wall <= 6 else 'missed'}), "
          f"peak RSS <= 1,536 MB ({'met' if rss <= 1536 else 'missed'})")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    kpi = re.compile(r"<div class='kpi'><b>([^<]*)</b><span>([^<]*)</span>")
    k1 = kpi.findall(open(out, encoding="utf-8").read())
    k2 = kpi.findall(open(out2, encoding="utf-8").read())
    same = bool(k1) and k1 == k2
    print(f"  headline numbers of the two reports agree: {same} "
          f"({', '.join(f'{b} {a}' for a, b in k1[:4])})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
