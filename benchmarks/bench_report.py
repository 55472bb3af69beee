"""10M-row CSV export -> HTML report, end to end, with the reading part shown apart.

    PYTHONPATH=. python benchmarks/bench_report.py [--rows 10000000] [--spend]

The export is bench_read.py's (Chinese headers, zero-padded ids, ``2024/3/5 14:22:01``
times, ``￥1,299.00`` amounts; cached in $SIYU_BENCH_CACHE or /tmp/siyu_bench).  Two
contenders, each run in its own fresh process, best of ``--repeat`` (default 1: a run
at 10M rows takes minutes; the same policy for both):

- ``python -m siyu report`` on the file (siyu.read_orders + the report), with the
  reading and each report step timed from its progress lines;
- what a user would otherwise write: ``pandas.read_csv`` + ``pd.to_datetime`` + amount
  cleaning, then ``siyu.Transactions`` and ``siyu.report.write_report``.

Prints seconds (reading, rest, total), peak RSS of each process and the load average;
the ratio is of the process wall times (interpreter start and imports included for both).
The two reports are compared in full: the HTML with every table row taken out must be
identical byte for byte (text, KPIs, charts; the footer's generation time aside), and the table rows must be the same
multiset (the data-quality table lists the same rules in another order on the two
paths); and both processes' Transactions must hold the same rows (bench_read's digest
of every row's id, day and amount to the cent, computed after the timed run, its
seconds taken off the process wall); any difference exits 1.
Targets (#12): total <= 6 s and peak RSS <= 1.5 GB for the command line.
"""
from __future__ import annotations

import argparse
import json
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
import json, sys, time, pandas as pd, siyu
sys.path.insert(0, {here!r})
from siyu.io import read_spend
from siyu.report import write_report
path, out, spend = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
df = pd.read_csv(path, usecols=[{c!r}, {t!r}, {a!r}], dtype={{{c!r}: str, {a!r}: str}})
df[{t!r}] = pd.to_datetime(df[{t!r}], format="%Y/%m/%d %H:%M:%S")
df[{a!r}] = pd.to_numeric(df[{a!r}].str.replace(r"[￥,]", "", regex=True))
tx = siyu.Transactions(df, customer={c!r}, time={t!r}, amount={a!r})
del df
t1 = time.perf_counter()
# the 36-row spend file is read as the CLI reads it (not part of the race)
sp = read_spend(spend, period="period", amount="amount") if spend != "-" else None
write_report(tx, spend=sp, out=out)
t2 = time.perf_counter()
import bench_read
rss = bench_read.peak_rss_mb()
print(f"RESULT {{t1 - t0:.3f}} {{t2 - t1:.3f}} {{rss:.0f}} {{tx.n_rows}} {{tx.n_customers}}")
t3 = time.perf_counter()
digest = bench_read.summarise(tx)
print(f"DIGEST {{time.perf_counter() - t3:.3f}} {{json.dumps(digest)}}")
""".format(c=C["customer"], t=C["time"], a=C["amount"], here=HERE)


# the CLI in-process, its Transactions captured for the comparison (digest untimed:
# its seconds are printed and taken off the process wall)
CLI_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, {here!r})
import bench_read
import siyu
from siyu.__main__ import main
_read, _box = siyu.read_orders, []
def _capture(*a, **k):
    _box.append(_read(*a, **k))
    return _box[-1]
siyu.read_orders = _capture
code = main(sys.argv[1:])
print(f"PEAK {{bench_read.peak_rss_mb():.0f}}")
if _box:
    t3 = time.perf_counter()
    digest = bench_read.summarise(_box[0])
    print(f"DIGEST {{time.perf_counter() - t3:.3f}} {{json.dumps(digest)}}")
sys.stdout.flush()
sys.stderr.flush()
import os
os._exit(code)      # as python -m siyu leaves: without the interpreter's teardown
""".format(here=HERE)


def digest(proc: subprocess.CompletedProcess) -> tuple[float, dict | None]:
    m = re.search(r"^DIGEST (\S+) (.*)$", proc.stdout, re.M)
    return (float(m.group(1)), json.loads(m.group(2))) if m else (0.0, None)


def run(cmd: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    m = re.search(r"PEAK (\d+)", proc.stdout)
    return proc, wall - digest(proc)[0], float(m.group(1)) if m else float("nan")


ROW = re.compile(r"<tr\b.*?</tr>", re.S)
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def report_differences(a: str, b: str) -> list[str]:
    """Where two reports differ: the page without its table rows, then the rows."""
    out = []
    a, b = (STAMP.sub("(generated)", x) for x in (a, b))   # the footer's clock time
    ra, rb = ROW.findall(a), ROW.findall(b)
    pa, pb = ROW.sub("<tr/>", a), ROW.sub("<tr/>", b)
    if pa != pb:
        i = next((k for k, (x, y) in enumerate(zip(pa, pb)) if x != y), min(len(pa), len(pb)))
        out.append(f"page text differs at character {i}: {pa[max(i - 60, 0):i + 60]!r} vs "
                   f"{pb[max(i - 60, 0):i + 60]!r}")
    if sorted(ra) != sorted(rb):
        only = sorted(set(ra) ^ set(rb))
        out.append(f"{len(only)} table rows differ, e.g. {only[0][:200]!r}" if only else
                   "table rows differ in multiplicity")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--spend", action="store_true", help="add a monthly spend file")
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs, for both")
    args = ap.parse_args()
    # siyu's modules byte-compiled, as `pip install` leaves them: a source checkout run
    # with PYTHONDONTWRITEBYTECODE=1 (this machine) would compile them at every start
    # (0.2-0.3 s); both contenders import siyu
    import compileall

    compileall.compile_dir(os.path.join(os.path.dirname(HERE), "siyu"), quiet=1)
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
    best = None
    walls = []
    for _ in range(max(1, args.repeat)):
        proc, wall, rss = run(cmd, env)
        if proc.returncode != 0:
            print(proc.stderr)
            return 1
        walls.append(wall)
        if best is None or wall < best[1]:
            best = (proc, wall, rss)
    proc, wall, rss = best
    m = re.search(r"siyu: reading .*? \.\.\. (\d+\.\d+) s", proc.stderr)
    read_s = float(m.group(1)) if m else float("nan")
    steps = re.findall(r"\] (.+?) \.\.\. (\d+\.\d+) s", proc.stderr)
    print(f"  python -m siyu report (CLI)    reading {read_s:6.2f} s   report {wall - read_s:6.2f} s"
          f"   total {wall:6.2f} s (process wall, interpreter start included)   "
          f"peak RSS {rss:,.0f} MB")
    print("     steps: " + ", ".join(f"{name} {sec}" for name, sec in steps))
    print("     every run's total: " + ", ".join(f"{w:.2f} s" for w in walls))

    out2 = os.path.join(folder, "pandas.html")
    best = None
    for _ in range(max(1, args.repeat)):
        proc2, wall2, rss2 = run([sys.executable, "-c", PANDAS_SCRIPT, path, out2, spend], env)
        if proc2.returncode != 0:
            print(proc2.stderr)
            return 1
        if best is None or wall2 < best[1]:
            best = (proc2, wall2, rss2)
    proc2, wall2, rss2 = best
    r = proc2.stdout.split("RESULT ")[-1].split()
    print(f"  pandas read + Transactions     reading {float(r[0]):6.2f} s   report "
          f"{float(r[1]):6.2f} s   total {wall2:6.2f} s   peak RSS {float(r[2]):,.0f} MB")
    print(f"  CLI speed-up over the pandas path: reading {float(r[0]) / read_s:.1f}x, "
          f"total {wall2 / wall:.1f}x; targets: CLI total <= 6 s ({'met' if wall <= 6 else 'missed'}), "
          f"peak RSS <= 1,536 MB ({'met' if rss <= 1536 else 'missed'})")
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    kpi = re.compile(r"<div class='kpi'><b>([^<]*)</b><span>([^<]*)</span>")
    h1, h2 = (open(f, encoding="utf-8").read() for f in (out, out2))
    k1 = kpi.findall(h1)
    bad = report_differences(h1, h2) if k1 else ["no headline numbers found in the CLI report"]
    d1, d2 = digest(proc)[1], digest(proc2)[1]
    if d1 is None or d1 != d2:
        bad.append(f"the two Transactions differ (every row's id, day, cents): {d1} vs {d2}")
    print(f"  the two reports agree in full: {not bad} ({len(ROW.findall(h1))} table rows; "
          f"{', '.join(f'{b} {a}' for a, b in k1[:4])})")
    for b in bad:
        print(f"  MISMATCH {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
