"""Command line: ``python -m siyu demo`` and ``python -m siyu report``.

``demo`` prints a short customer-value summary of the bundled UCI Online Retail
invoices and writes the HTML report of the same data (``siyu-demo-report.html`` in
the current folder, or ``--out``).  ``report`` writes the self-contained HTML report
(:mod:`siyu.report`) of a CSV or Parquet transaction log::

    python -m siyu report orders.csv --customer user_id --time paid_at --amount amount \
        [--channel source] [--spend spend.csv] [--period M] [--lang zh] --out report.html

Progress goes to stderr, the path of the written report to stdout.  Bad arguments or
unusable data print one line ``siyu: error: ...`` on stderr and exit with status 2,
never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable

import pandas as pd


def _demo(args: argparse.Namespace) -> int:
    import siyu

    df = siyu.datasets.load_online_retail()
    tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount")
    s = tx.summary(freq="D")
    lines = [
        "siyu demo: UCI Online Retail invoices (UK e-commerce, GBP; CC BY 4.0)",
        f"  {tx.n_rows:,} invoices, {tx.n_customers:,} customers, {tx.start.date()} to {tx.end.date()}",
        f"  revenue {s['revenue'].sum():,.0f}; per customer: mean {s['revenue'].mean():,.0f}, "
        f"median {s['revenue'].median():,.0f}",
        f"  repeat buyers (2+ purchase days): {(s['frequency'] > 0).mean():.1%}; "
        f"mean purchase days per customer {(s['frequency'] + 1).mean():.2f}",
        f"  days since last purchase: median {int(s['days_since_last'].median())}",
    ]
    print("\n".join(lines))
    for extra in _DEMO_SECTIONS:
        print()
        print(extra(tx))
    sys.stdout.flush()
    if not _have_matplotlib():
        print()
        print(_MSG[args.lang]["no_plot"])
        return 0
    from siyu.report import write_report

    title = ("siyu demo: UCI Online Retail" if args.lang == "en"
             else "siyu 示例：UCI Online Retail 在线零售数据")
    path = write_report(tx, lang=args.lang, title=title, progress=_progress(args),
                        out=args.out)
    print()
    print(_MSG[args.lang]["written"].format(path=path))
    return 0


def _cohort_section(tx) -> str:
    ct = tx.cohorts(period="M")
    ret = ct.table("retention", average=True).iloc[:, :7]
    ret.columns = [f"m{a}" for a in ret.columns]
    body = ret.to_string(float_format=lambda x: f"{x:6.1%}", na_rep="     -")
    return ("Monthly acquisition cohorts: share of each cohort buying in month k after "
            "acquisition\n" + body)


def _repurchase_section(tx) -> str:
    rp = tx.repurchase(within=(30, 90, 180))
    parts = [f"within {int(w)} days: {r:.1%} of {int(e):,} eligible"
             for w, r, e in zip(rp.overall.index, rp.overall["rate"], rp.overall["eligible"])]
    return "Second purchase " + "; ".join(parts)


def _ltv_section(tx) -> str:
    ct = tx.cohorts(period="M")
    avg = ct.average("ltv")
    pts = [f"m{a}: {avg[a]:,.0f}" for a in (0, 2, 5, 11) if a in avg.index and avg[a] == avg[a]]
    return "Historical LTV (cumulative revenue per acquired customer, GBP): " + ", ".join(pts)


# Further demo sections (functions tx -> str); grow this list as features land.
_DEMO_SECTIONS: list = [_cohort_section, _repurchase_section, _ltv_section]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no traceback
        self.exit(2, f"siyu: error: {message}\n")


class UsageError(Exception):
    """Bad input detected by the command line itself (one-line message, exit 2)."""


_MSG = {
    "en": {"no_plot": "HTML report skipped: it needs matplotlib (pip install -e \".[plot]\")",
           "written": "report written to {path}", "reading": "reading {name}",
           "steps": {}},
    "zh": {"no_plot": "未生成 HTML 报告：需要 matplotlib（pip install -e \".[plot]\"）",
           "written": "报告已写入 {path}", "reading": "读取 {name}",
           "steps": {"cohorts": "同期群", "retention": "留存", "survival": "生存曲线",
                     "repurchase": "复购", "lifecycle": "生命周期", "value tiers": "价值分层",
                     "unit economics": "单位经济", "channels": "渠道对比",
                     "overview": "概览"}},
}


_mid_line = [False]       # a progress line waits for its timing


def _start(text: str) -> None:
    sys.stderr.write(f"siyu: {text} ... ")
    sys.stderr.flush()
    _mid_line[0] = True


def _end(text: str) -> None:
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()
    _mid_line[0] = False


def _abandon_line() -> None:
    """End an unfinished progress line before an error message (erase it on a terminal)."""
    if not _mid_line[0]:
        return
    _mid_line[0] = False
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K")
    else:
        sys.stderr.write("failed\n")


def _progress(args: argparse.Namespace) -> Callable[[str, int, int, Any], None] | None:
    """A progress printer for :func:`siyu.report.build_report` (stderr), or None."""
    if getattr(args, "quiet", False):
        return None
    names = _MSG[args.lang]["steps"]

    def show(step: str, i: int, total: int, seconds: float | None) -> None:
        if seconds is None:
            _start(f"[{i}/{total}] {names.get(step, step)}")
        else:
            _end(f"{seconds:.2f} s")

    return show


def _columns_of(path: str, kind: str) -> list[str]:
    """Column names of the input, read from its header / schema only."""
    if kind == "csv":
        head = pd.read_csv(path, nrows=1)
        if head.empty:
            raise UsageError(f"{path} has no data rows: nothing to report")
        return [str(c) for c in head.columns]
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("reading Parquet needs pyarrow (pip install pyarrow)") from None
    meta = pq.ParquetFile(path)
    if meta.metadata.num_rows == 0:
        raise UsageError(f"{path} has no data rows: nothing to report")
    return list(meta.schema_arrow.names)


def _input_kind(path: str) -> str:
    low = path.lower()
    if low.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".txt")):
        return "csv"
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    raise UsageError(f"cannot tell the format of {path!r}: use a .csv or .parquet file")


def _check_input(args: argparse.Namespace) -> str:
    """Check that the input exists and has the named columns; return its kind."""
    path = args.input
    kind = _input_kind(path)
    if not os.path.isfile(path):
        raise UsageError(f"input file {path!r} not found")
    need = {"--customer": args.customer, "--time": args.time, "--amount": args.amount,
            "--channel": args.channel, "--member": args.member}
    available = _columns_of(path, kind)
    for flag, col in need.items():
        if col is not None and col not in available:
            shown = ", ".join(available[:12]) + (", ..." if len(available) > 12 else "")
            raise UsageError(f"{flag} {col!r}: no such column in {path} (columns: {shown})")
    return kind


def _load(args: argparse.Namespace, kind: str) -> Any:
    import siyu

    path = args.input
    cols = dict(customer=args.customer, time=args.time, amount=args.amount,
                channel=args.channel, member=args.member, tz=args.tz)
    if kind == "csv":
        return siyu.read_csv(path, **cols)
    use = [c for c in (args.customer, args.time, args.amount, args.channel, args.member) if c]
    df = pd.read_parquet(path, columns=list(dict.fromkeys(use)))
    return siyu.Transactions(df, **cols)


def _load_spend(args: argparse.Namespace) -> pd.DataFrame | None:
    if args.spend is None:
        return None
    if not os.path.isfile(args.spend):
        raise UsageError(f"--spend file {args.spend!r} not found")
    if _input_kind(args.spend) == "parquet":
        spend = pd.read_parquet(args.spend)
    else:
        spend = pd.read_csv(args.spend)
    need = ["period", "amount"] + ([args.channel] if args.channel else [])
    missing = [c for c in need if c not in spend.columns]
    if missing:
        raise UsageError(f"--spend {args.spend}: missing column(s) {', '.join(missing)}; it "
                         f"needs {', '.join(need)} (has {', '.join(map(str, spend.columns))})")
    return spend


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _report(args: argparse.Namespace) -> int:
    from siyu import _input as inp
    from siyu.report import write_report

    if not _have_matplotlib():
        raise UsageError("the HTML report draws its plots with matplotlib, which is not "
                         "installed; install it with: pip install \"siyu[plot]\"")

    period = inp.period_code(args.period, "DWMQY", "period")   # fail before reading data
    if not 0.0 < args.margin <= 1.0:
        raise UsageError(f"--margin {args.margin:g} must be a gross-margin fraction in (0, 1]")
    if args.horizon < 1:
        raise UsageError(f"--horizon {args.horizon} must be a positive number of periods")
    if not args.churn_after > 0:
        raise UsageError(f"--churn-after {args.churn_after:g} must be > 0 days")
    if args.tz is not None:
        try:
            pd.Timestamp("2000-01-01").tz_localize(args.tz)
        except (LookupError, ValueError, TypeError):  # pytz/zoneinfo "not found": KeyError
            raise UsageError(f"--tz {args.tz!r}: unknown time zone; use an IANA name such "
                             "as Asia/Shanghai") from None
    out = os.path.abspath(args.out)
    if not os.path.isdir(os.path.dirname(out)):
        raise UsageError(f"--out {args.out}: folder {os.path.dirname(out)} does not exist")
    spend = _load_spend(args)
    kind = _check_input(args)
    show = not args.quiet
    t0 = time.perf_counter()
    if show:
        _start(_MSG[args.lang]["reading"].format(name=args.input))
    tx = _load(args, kind)
    if show:
        _end(f"{time.perf_counter() - t0:.2f} s ({tx.n_rows:,} rows, {tx.n_customers:,} "
             "customers)")
    path = write_report(tx, spend=spend, period=period, lang=args.lang, title=args.title,
                        progress=_progress(args), out=out, churn_after=args.churn_after,
                        margin=args.margin, horizon=args.horizon)
    if show:
        _end(f"siyu: total {time.perf_counter() - t0:.2f} s")
    print(_MSG[args.lang]["written"].format(path=path))
    return 0


def _parser() -> _Parser:
    parser = _Parser(prog="python -m siyu", description="siyu customer-value analytics")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = sub.add_parser("demo", help="print a customer-value summary of bundled data and "
                                       "write its HTML report")
    demo.add_argument("--out", default="siyu-demo-report.html",
                      help="where to write the HTML report (default: %(default)s)")
    demo.add_argument("--lang", choices=("en", "zh"), default="en",
                      help="language of the report (default: en)")
    demo.add_argument("--quiet", action="store_true", help="no progress on stderr")
    rep = sub.add_parser("report", help="write a self-contained HTML report of a log",
                         description="Write one self-contained HTML customer-value report "
                                     "(plots embedded, no network) of a CSV or Parquet "
                                     "transaction log.")
    rep.add_argument("input", metavar="INPUT", help="transaction log, .csv or .parquet")
    _add_input_args(rep)
    _add_item_args(rep)
    _add_report_args(rep)
    _add_cluster_args(rep)
    return parser


# ---- command-line options, one group per area -------------------------------------------
def _add_input_args(rep: argparse.ArgumentParser) -> None:
    """Reading the log: columns, file format, order semantics."""
    rep.add_argument("--customer", required=True, metavar="COL", help="customer id column")
    rep.add_argument("--time", required=True, metavar="COL", help="order time column")
    rep.add_argument("--amount", required=True, metavar="COL", help="order amount column")
    rep.add_argument("--channel", metavar="COL", help="acquisition channel column (optional)")
    rep.add_argument("--member", metavar="COL", help="membership flag column (optional)")
    rep.add_argument("--tz", help="time zone of tz-aware times, e.g. Asia/Shanghai")
    rep.add_argument("--spend", metavar="FILE",
                     help="acquisition spend CSV with columns period, amount (and the "
                          "channel column with --channel); adds unit economics")


def _add_item_args(rep: argparse.ArgumentParser) -> None:
    """Item-level columns (line items) and the recall list."""


def _add_report_args(rep: argparse.ArgumentParser) -> None:
    """What the report shows and how."""
    rep.add_argument("--period", default="M", help="cohort period D, W, M, Q or Y "
                                                    "(default: M)")
    rep.add_argument("--lang", choices=("en", "zh"), default="en",
                     help="language of the report (default: en)")
    rep.add_argument("--title", help="title of the report")
    rep.add_argument("--margin", type=float, default=1.0,
                     help="gross margin applied to LTV in unit economics (default: 1.0)")
    rep.add_argument("--horizon", type=int, default=12,
                     help="periods of LTV in unit economics (default: 12)")
    rep.add_argument("--churn-after", type=float, default=180.0, metavar="DAYS",
                     help="days of inactivity counted as churn (default: 180)")
    rep.add_argument("--out", default="report.html", help="output HTML file "
                                                          "(default: %(default)s)")
    rep.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _add_cluster_args(rep: argparse.ArgumentParser) -> None:
    """Running the report on a Dask cluster."""
    grp = rep.add_argument_group("on a Dask cluster (pip install \"siyu[dask]\")")
    where = grp.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster whose scheduler is at ADDRESS (e.g. "
                            "tcp://10.0.0.5:8786); INPUT may then be a folder or glob of "
                            "Parquet / CSV files the workers can read")
    where.add_argument("--workers", type=int, metavar="N",
                       help="start a local Dask cluster of N worker processes (one thread "
                            "each) and run on it; INPUT may be a folder or glob")
    grp.add_argument("--partitions", type=int, metavar="N",
                     help="partitions of the log after its shuffle by customer (default: as "
                          "many as the input has)")


def _wants_cluster(args: argparse.Namespace) -> bool:
    """Whether --scheduler or --workers asks for the Dask path."""
    return getattr(args, "scheduler", None) is not None or \
        getattr(args, "workers", None) is not None


def _load_cluster(args: argparse.Namespace) -> tuple[Any, Callable[[], None]]:
    """INPUT as a ``siyu.dask.Transactions`` on the cluster that --scheduler / --workers
    asks for.  Returns the log and a function closing the client (and a local cluster)."""
    import glob
    import logging

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers} must be a number of worker processes >= 1")
    if getattr(args, "partitions", None) is not None and args.partitions < 1:
        raise UsageError(f"--partitions {args.partitions} must be >= 1")
    path = args.input
    if "://" not in path and not glob.has_magic(path) and not os.path.exists(path):
        raise UsageError(f"input {path!r} not found")
    try:
        import distributed
        import siyu.dask
    except ImportError:
        raise UsageError("running on a cluster needs Dask: pip install \"siyu[dask]\"") from None
    cluster = None
    if args.scheduler is not None:
        try:
            client = distributed.Client(args.scheduler, timeout="15s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {args.scheduler}: cannot connect ({_one_line(exc)})") \
                from None
    else:
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                           processes=True, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    try:
        tx = siyu.dask.Transactions(path, customer=args.customer, time=args.time,
                                    amount=args.amount, channel=args.channel,
                                    member=args.member, tz=args.tz,
                                    npartitions=getattr(args, "partitions", None))
    except BaseException:
        close()
        raise
    return tx, close


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, KeyError):
        text = text.strip("'\"")
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            if args.command == "demo":
                return _demo(args)
            if args.command == "report":
                return _report(args)
    except KeyboardInterrupt:
        _abandon_line()
        sys.stderr.write("siyu: interrupted\n")
        return 130
    except (UsageError, ValueError, TypeError, OSError, KeyError, ImportError,
            MemoryError) as exc:
        _abandon_line()
        sys.stderr.write(f"siyu: error: {_one_line(exc)}\n")
        return 2
    except Exception as exc:   # a bug: still one line, unless SIYU_DEBUG asks for the traceback
        if os.environ.get("SIYU_DEBUG"):
            raise
        _abandon_line()
        sys.stderr.write(f"siyu: internal error: {type(exc).__name__}: {_one_line(exc)} "
                         "(run with SIYU_DEBUG=1 for the traceback and please report it)\n")
        return 1
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
