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


_DEMO_EXISTING_BEFORE = "2011-01-01"    # UCI starts 2010-12-01, years into the shop's life
_DEMO_CURRENCY = "£"


def _demo(args: argparse.Namespace) -> int:
    import siyu
    from siyu._i18n import text

    lang = args.lang
    df = siyu.datasets.load_online_retail()
    tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount")
    s = tx.summary(freq="D")
    cur = _DEMO_CURRENCY
    lines = [
        text("demo.head", lang),
        text("demo.size", lang, rows=f"{tx.n_rows:,}", customers=f"{tx.n_customers:,}",
             start=tx.start.date(), end=tx.end.date()),
        text("demo.revenue", lang, cur=cur, total=f"{s['revenue'].sum():,.0f}",
             mean=f"{s['revenue'].mean():,.0f}", median=f"{s['revenue'].median():,.0f}"),
        text("demo.repeat", lang, share=f"{(s['frequency'] > 0).mean():.1%}",
             mean=f"{(s['frequency'] + 1).mean():.2f}"),
        text("demo.dsl", lang, d=int(s["days_since_last"].median())),
    ]
    print("\n".join(lines))
    ct = tx.cohorts(period="M", existing_before=_DEMO_EXISTING_BEFORE)
    for extra in _DEMO_SECTIONS:
        print()
        print(extra(tx, ct, lang))
    sys.stdout.flush()
    if not _have_matplotlib():
        print()
        print(text("demo.no_plot", lang))
        return 0
    from siyu.report import write_report

    _font_line(lang)
    path = write_report(tx, lang=lang, title=text("demo.title", lang), progress=_progress(args),
                        out=args.out, currency=cur, existing_before=_DEMO_EXISTING_BEFORE)
    print()
    print(text("cli.written", lang, path=path))
    return 0


def _demo_headlines(ct: Any) -> dict[str, Any]:
    """The numbers the demo prints: complete cells and balanced averages only."""
    ret = ct.average("retention")
    k = ret.attrs["through"]
    ltv = ct.average("ltv", through=k)
    return {"retention": ret, "ltv": ltv, "through": k, "cohorts": ret.attrs["cohorts"],
            "ltv_ages": [a for a in (0, 2, 5, 11) if k is not None and a <= k]}


def _existing_section(tx: Any, ct: Any, lang: str) -> str:
    from siyu._i18n import text

    out = [text("demo.existing", lang, start=tx.start.date(), n=f"{ct.n_existing:,}",
                day=_DEMO_EXISTING_BEFORE)]
    note = ct.partial_note(lang)
    if note:
        out.append(text("demo.partial", lang, note=note))
    return "\n".join(out)


def _cohort_section(tx: Any, ct: Any, lang: str) -> str:
    from siyu._i18n import text

    h = _demo_headlines(ct)
    ret = ct.table("retention", average=True).iloc[:, :7]
    partial = pd.concat([ct.existing.partial, ct.partial]).iloc[:, :7].to_numpy() \
        if ct.existing is not None else ct.partial.iloc[:, :7].to_numpy()
    cells = ret.apply(lambda col: col.map(lambda x: "     -" if x != x else f"{x:6.1%}"))
    body = cells.to_numpy().astype(object)
    n = partial.shape[0]
    body[:n][partial] = [f"{v}*" for v in body[:n][partial]]
    names = [text("cohorts.existing", lang) if i == "existing" else
             (text("plot.legend.average", lang) if i == "average" else str(i)) for i in ret.index]
    table = pd.DataFrame(body, index=names, columns=[f"m{a}" for a in ret.columns])
    span = f"{h['cohorts'][0]}..{h['cohorts'][-1]}" if h["cohorts"] else "-"
    return (text("demo.cohorts", lang) + "\n" + table.to_string() + "\n"
            + text("demo.balanced", lang, n=len(h["cohorts"]), span=span, k=h["through"]))


def _repurchase_section(tx: Any, ct: Any, lang: str) -> str:
    from siyu._i18n import text

    rp = tx.repurchase(within=(30, 90, 180), existing_before=_DEMO_EXISTING_BEFORE)
    parts = [text("demo.repurchase_part", lang, k=int(w), rate=f"{r:.1%}", n=f"{int(e):,}")
             for w, r, e in zip(rp.overall.index, rp.overall["rate"], rp.overall["eligible"])]
    return text("demo.repurchase", lang, parts="; ".join(parts))


def _ltv_section(tx: Any, ct: Any, lang: str) -> str:
    from siyu._i18n import text

    h = _demo_headlines(ct)
    pts = [f"m{a}: {_DEMO_CURRENCY}{h['ltv'][a]:,.0f}" for a in h["ltv_ages"]]
    return text("demo.ltv", lang, cur=_DEMO_CURRENCY, n=len(h["cohorts"]), points=", ".join(pts))


# Further demo sections (functions (tx, cohort table, lang) -> str); grow this list as
# features land.
_DEMO_SECTIONS: list = [_existing_section, _cohort_section, _repurchase_section, _ltv_section]


def _font_line(lang: str) -> None:
    """One stderr line when Chinese plot labels cannot be drawn (no CJK font)."""
    if lang != "zh":
        return
    from siyu import plotting
    from siyu._i18n import text

    if plotting.find_cjk_font() is None:
        sys.stderr.write("siyu: " + text("cli.no_font", lang, hint=plotting.cjk_install_hint(lang))
                         + "\n")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no traceback
        self.exit(2, f"siyu: error: {message}\n")


class UsageError(Exception):
    """Bad input detected by the command line itself (one-line message, exit 2)."""


def _msg(key: str, lang: str, **fmt: Any) -> str:
    """A command-line message from the text catalogue."""
    from siyu._i18n import text

    return text(key, lang, **fmt)


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
    from siyu._i18n import CATALOGUE

    def show(step: str, i: int, total: int, seconds: float | None) -> None:
        if seconds is None:
            key = f"cli.step.{step}"
            name = _msg(key, args.lang) if key in CATALOGUE else step
            _start(f"[{i}/{total}] {name}")
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
    if args.top_channels < 1:
        raise UsageError(f"--top-channels {args.top_channels} must be a positive number of "
                         "channels")
    if args.currency is not None and not args.currency.strip():
        raise UsageError("--currency needs a sign or code, e.g. --currency ¥")
    if args.existing_before is not None:
        try:
            pd.Timestamp(args.existing_before)
        except (ValueError, TypeError):
            raise UsageError(f"--existing-before {args.existing_before!r} is not a date; use "
                             "e.g. --existing-before 2024-01-01") from None
    show = not args.quiet
    t0 = time.perf_counter()
    if show:
        _start(_msg("cli.reading", args.lang, name=args.input))
    tx = _load(args, kind)
    if show:
        _end(_msg("cli.read_done", args.lang, seconds=f"{time.perf_counter() - t0:.2f}",
                  rows=f"{tx.n_rows:,}", customers=f"{tx.n_customers:,}"))
    _font_line(args.lang)
    path = write_report(tx, spend=spend, period=period, lang=args.lang, title=args.title,
                        progress=_progress(args), out=out, churn_after=args.churn_after,
                        margin=args.margin, horizon=args.horizon, currency=args.currency,
                        existing_before=args.existing_before, top_channels=args.top_channels)
    if show:
        _end("siyu: " + _msg("cli.total", args.lang, seconds=f"{time.perf_counter() - t0:.2f}"))
    print(_msg("cli.written", args.lang, path=path))
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
    rep.add_argument("--currency", metavar="SIGN",
                     help="currency shown with money headers and axes, e.g. ¥ or CNY "
                          "(default: none)")
    rep.add_argument("--existing-before", metavar="DATE",
                     help="customers whose first purchase is before DATE were acquired "
                          "before the log starts: one 'existing' row, in no cohort, average, "
                          "CAC or payback")
    rep.add_argument("--top-channels", type=int, default=10, metavar="N",
                     help="with more than 20 distinct channels, keep the N with the most "
                          "customers and group the rest as 'other' (default: 10)")
    rep.add_argument("--out", default="report.html", help="output HTML file "
                                                          "(default: %(default)s)")
    rep.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _add_cluster_args(rep: argparse.ArgumentParser) -> None:
    """Running the report on a Dask cluster."""


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
