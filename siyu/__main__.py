"""Command line: ``python -m siyu demo`` and ``python -m siyu report``.

``demo`` prints a short customer-value summary of the bundled UCI Online Retail
invoices and writes the HTML report of the same data (``siyu-demo-report.html`` in
the current folder, or ``--out``).  ``report`` writes the self-contained HTML report
(:mod:`siyu.report`) of a shop's order export (CSV / text in any common encoding, Excel
or Parquet, read by :func:`siyu.read_orders`)::

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
# logs from this size on draw the report's plots in a worker process while it computes
_BACKGROUND_CHARTS_ROWS = 1_000_000


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


def _data_section(tx: Any, ct: Any, lang: str) -> str:
    from siyu._i18n import text

    dq = tx.data_quality(lang)
    width = max(len(f"{int(c):,}") for c in dq["count"])
    rows = [f"  {int(c):>{width},}  {d}" for c, d in zip(dq["count"], dq["description"])]
    return "\n".join([text("demo.data", lang)] + rows)


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
_DEMO_SECTIONS: list = [_data_section, _existing_section, _cohort_section, _repurchase_section,
                        _ltv_section]


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


def _reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """Options of siyu.io shared by the log and the spend file."""
    opts: dict[str, Any] = dict(encoding=args.encoding, sep=args.sep, sheet=_sheet(args.sheet))
    if getattr(args, "names", None):
        opts.update(header=None, names=_split_list(args.names))
    if getattr(args, "skiprows", None):
        opts["skiprows"] = args.skiprows
    return opts


def _sheet(value: str | None) -> Any:
    return int(value) if value is not None and value.isdigit() else value


def _split_list(values: Any) -> list[str] | None:
    """--paid A --paid B,C -> ["A", "B", "C"] (None when not given)."""
    if not values:
        return None
    if isinstance(values, str):
        values = [values]
    out = [v.strip() for item in values for v in str(item).split(",")]
    return [v for v in out if v]


def _columns_of(path: str, kind: str, args: argparse.Namespace | None = None) -> list[str]:
    """Column names of the input, read from its header / schema only."""
    from siyu import io as sio

    opts = {} if args is None else _reader_options(args)
    try:
        header, has_rows = sio.read_header(path, **opts)
    except ValueError as exc:
        if "is empty" in str(exc):
            raise UsageError(f"{path} is empty: nothing to report") from None
        raise UsageError(_cli_hint(str(exc))) from None
    if not has_rows:
        raise UsageError(f"{path} has no data rows: nothing to report")
    return header


_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".tab")


def _input_kind(path: str) -> str:
    low = path.lower()
    for comp in (".gz", ".bz2", ".zip", ".xz", ".zst"):
        if low.endswith(comp):
            low = low[: -len(comp)]
    if low.endswith(_TEXT_SUFFIXES):
        return "csv"
    if low.endswith((".xlsx", ".xlsm", ".xls")):
        return "excel"
    if low.endswith((".parquet", ".pq")):
        return "parquet"
    raise UsageError(f"cannot tell the format of {path!r}: use a .csv / .tsv / .txt export, "
                     "an .xlsx / .xls workbook or a .parquet file")


def _check_input(args: argparse.Namespace) -> str:
    """Check that the input exists and has the named columns; return its kind."""
    import difflib

    from siyu import io as sio

    path = args.input
    kind = _input_kind(path)
    if not os.path.isfile(path):
        raise UsageError(f"input file {path!r} not found")
    need = {"--customer": args.customer, "--time": args.time, "--amount": args.amount,
            "--channel": args.channel, "--member": args.member, "--order": args.order,
            "--status": args.status, "--refund": args.refund}
    for flag in ("product", "category", "quantity"):
        need[f"--{flag}"] = getattr(args, flag, None)
    available = _columns_of(path, kind, args)
    for flag, col in need.items():
        if col is not None and col not in available:
            shown = ", ".join(available[:12]) + (", ..." if len(available) > 12 else "")
            close = difflib.get_close_matches(col, available, n=1, cutoff=0.6)
            norm = {"".join(a.split()).casefold(): a for a in available}
            alt = norm.get("".join(col.split()).casefold()) or (close[0] if close else None)
            hint = f"; did you mean {flag} {_quote(alt)}?" if alt else ""
            if not getattr(args, "names", None):
                hint += _cli_hint(sio.header_hint(available))
            raise UsageError(f"{flag} {col!r}: no such column in {path} (columns: {shown})"
                             f"{hint}")
    return kind


def _quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


# read_orders' keyword hints, as command-line options
_CLI_FLAGS = {"on_bad": "--on-bad", "time_format": "--time-format", "encoding": "--encoding",
              "sep": "--sep", "sheet": "--sheet", "customer": "--customer", "time": "--time",
              "amount": "--amount", "order": "--order", "status": "--status",
              "refund": "--refund", "channel": "--channel", "member": "--member",
              "product": "--product", "category": "--category", "quantity": "--quantity",
              "paid": "--paid", "refunded": "--refunded", "void": "--void",
              "true_values": "--true-values", "false_values": "--false-values"}


def _cli_hint(message: str) -> str:
    """Rewrite the Python fixes in a siyu.io message (on_bad="drop") as options."""
    import ast
    import re

    def names(m: re.Match) -> str:
        vals = ast.literal_eval(m.group(1))
        return "--names " + _quote(",".join(map(str, vals)))

    message = re.sub(r"header=None, names=(\[[^\]]*\])", names, message)

    def one(m: re.Match) -> str:
        key, val = m.group(1), m.group(2)
        flag = _CLI_FLAGS[key]
        try:
            lit = ast.literal_eval(val)
        except (ValueError, SyntaxError):
            return m.group(0)
        if isinstance(lit, (list, tuple)):
            return " ".join(f"{flag} {_quote(str(v))}" for v in lit) if lit else flag + " ..."
        return f"{flag} {_quote(str(lit))}"

    keys = "|".join(sorted(_CLI_FLAGS, key=len, reverse=True))
    return re.sub(r"\b(" + keys + r")=(\[[^\]]*\]|'[^']*'|\"[^\"]*\")", one, message)


def _load(args: argparse.Namespace, kind: str) -> Any:
    import siyu

    cols = dict(customer=args.customer, time=args.time, amount=args.amount,
                order=args.order, status=args.status, refund=args.refund,
                channel=args.channel, member=args.member,
                product=getattr(args, "product", None), category=getattr(args, "category", None),
                quantity=getattr(args, "quantity", None))
    opts = _reader_options(args)
    for key in ("paid", "refunded", "void"):
        values = _split_list(getattr(args, key))
        if values:
            opts[key] = values
    for key in ("true_values", "false_values"):
        values = _split_list(getattr(args, key))
        if values:
            opts[key] = values
    try:
        return siyu.read_orders(args.input, **cols, tz=args.tz, time_format=args.time_format,
                                on_bad=args.on_bad, progress=_read_progress(args), **opts)
    except (ValueError, TypeError) as exc:
        raise UsageError(_cli_hint(" ".join(str(exc).split()))) from None


def _read_progress(args: argparse.Namespace) -> Any:
    """Reading progress for files over a million rows (tqdm bar, else stderr lines)."""
    if args.quiet:
        return False

    def line(text: str) -> None:
        # progress lines go between "siyu: reading FILE ... " and its timing
        if _mid_line[0]:
            sys.stderr.write("\n")
            _mid_line[0] = False
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        if text.rstrip().endswith("s)") and " 100% " in text:
            _start(_msg("cli.reading", args.lang, name=args.input))

    try:
        import tqdm  # noqa: F401
        return True if sys.stderr.isatty() else line
    except ImportError:
        return line


def _load_spend(args: argparse.Namespace) -> pd.DataFrame | None:
    if args.spend is None:
        return None
    from siyu import io as sio

    if not os.path.isfile(args.spend):
        raise UsageError(f"--spend file {args.spend!r} not found")
    _input_kind(args.spend)
    opts = dict(encoding="auto", sheet=None)     # --encoding and --sheet are the log's
    period, amount, channel = args.spend_period, args.spend_amount, None
    if args.channel:
        channel = args.spend_channel or args.channel
    try:
        header, _ = sio.read_header(args.spend, **opts)
    except ValueError as exc:
        raise UsageError(f"--spend {args.spend}: {_cli_hint(str(exc))}") from None
    need = [period, amount] + ([channel] if channel else [])
    missing = [c for c in need if c not in header]
    if missing:
        raise UsageError(f"--spend {args.spend}: missing column(s) {', '.join(missing)}; it "
                         f"needs {', '.join(need)} (has {', '.join(map(str, header))}); name "
                         "them with --spend-period, --spend-amount and --spend-channel")
    try:
        return sio.read_spend(args.spend, period=period, amount=amount, channel=channel,
                              channel_as=args.channel, **opts)
    except ValueError as exc:
        raise UsageError(f"--spend {args.spend}: {_cli_hint(str(exc))}") from None


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
    on_cluster = _wants_cluster(args)
    if on_cluster:
        _check_cluster_options(args)
    kind = None if on_cluster else _check_input(args)
    recall_csv = _recall_csv_path(args)
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
    tx, close = _load_cluster(args) if on_cluster else (_load(args, kind), None)
    try:
        if show:
            _end(_msg("cli.read_done", args.lang, seconds=f"{time.perf_counter() - t0:.2f}",
                      rows=f"{tx.n_rows:,}", customers=f"{tx.n_customers:,}"))
        _font_line(args.lang)
        path = write_report(tx, spend=spend, period=period, lang=args.lang, title=args.title,
                            progress=_progress(args), out=out, churn_after=args.churn_after,
                            margin=args.margin, horizon=args.horizon, currency=args.currency,
                            existing_before=args.existing_before,
                            top_channels=args.top_channels, recall_csv=recall_csv,
                            background_charts=_BACKGROUND_CHARTS_ROWS <= tx.n_rows)
    finally:
        if close is not None:
            close()
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
                                     "(plots embedded, no network) of a shop's order "
                                     "export (CSV, text, Excel or Parquet).")
    rep.add_argument("input", metavar="INPUT", help="order export: .csv / .tsv / .txt, "
                                                    ".xlsx / .xls or .parquet")
    _add_input_args(rep)
    _add_item_args(rep)
    _add_report_args(rep)
    _add_cluster_args(rep)
    return parser


# ---- command-line options, one group per area -------------------------------------------
def _add_input_args(rep: argparse.ArgumentParser) -> None:
    """Reading the log: columns, file format, order semantics."""
    g = rep.add_argument_group("reading the export")
    g.add_argument("--customer", required=True, metavar="COL", help="customer id column")
    g.add_argument("--time", required=True, metavar="COL", help="order time column")
    g.add_argument("--amount", required=True, metavar="COL", help="order amount column "
                   "(numbers or text such as ￥1,299.00)")
    g.add_argument("--order", metavar="COL", help="order id column: rows sharing an id are "
                   "line items of one order")
    g.add_argument("--status", metavar="COL", help="order status column (交易成功 / 已退款 / "
                   "交易关闭 ...)")
    g.add_argument("--paid", action="append", metavar="STATUS", help="status value(s) that "
                   "mean paid, beyond the built-in table (repeat or comma-separate)")
    g.add_argument("--refunded", action="append", metavar="STATUS",
                   help="status value(s) that mean refunded")
    g.add_argument("--void", action="append", metavar="STATUS",
                   help="status value(s) that mean never paid (rows dropped)")
    g.add_argument("--refund", metavar="COL", help="refunded amount column (blank = none)")
    g.add_argument("--channel", metavar="COL", help="acquisition channel column (optional)")
    g.add_argument("--member", metavar="COL", help="membership flag column (是/否, Y/N, 1/0)")
    g.add_argument("--true-values", action="append", metavar="VALUE",
                   help="further member-flag value(s) that mean member")
    g.add_argument("--false-values", action="append", metavar="VALUE",
                   help="further member-flag value(s) that mean non-member")
    g.add_argument("--tz", help="convert times written with a UTC offset to this zone, "
                   "e.g. Asia/Shanghai")
    g.add_argument("--encoding", default="auto", help="text encoding (default: auto = "
                   "UTF-8, UTF-8 with BOM, UTF-16 or GB18030/GBK)")
    g.add_argument("--sep", help="delimiter of text files (default: sniffed; "
                   "'whitespace' for aligned columns)")
    g.add_argument("--sheet", help="sheet of an Excel workbook, by name or 0-based number "
                   "(default: the first)")
    g.add_argument("--time-format", metavar="FMT", help="dmy / mdy for 5/3/2024 dates, excel "
                   "for serial day numbers, s / ms for epoch times, or a strftime format")
    g.add_argument("--names", metavar="A,B,...", help="column names of a file without a "
                   "header line")
    g.add_argument("--on-bad", choices=("raise", "drop"), default="raise",
                   help="rows whose id, time or amount cannot be read: stop with an error "
                   "(default) or drop them (counted)")
    g.add_argument("--spend", metavar="FILE",
                   help="acquisition spend file (CSV, xlsx or Parquet) with a period and an "
                        "amount column (and the channel with --channel); adds unit economics")
    g.add_argument("--spend-period", default="period", metavar="COL",
                   help="period column of the spend file: months like 2023-01, 2023/1, "
                        "2023年1月 (default: period)")
    g.add_argument("--spend-amount", default="amount", metavar="COL",
                   help="amount column of the spend file (default: amount)")
    g.add_argument("--spend-channel", metavar="COL",
                   help="channel column of the spend file (default: the --channel name)")


def _add_item_args(rep: argparse.ArgumentParser) -> None:
    """Item-level columns (line items) and the recall list."""
    rep.add_argument("--product", metavar="COL",
                     help="product (SKU / product name) column: rows are line items; adds "
                          "replenishment cycles and due products to the report")
    rep.add_argument("--category", metavar="COL", help="product category column (optional)")
    rep.add_argument("--quantity", metavar="COL", help="units per line item (optional)")
    rep.add_argument("--recall-csv", metavar="FILE",
                     help="also write the full recall list (who to contact and why, with "
                          "CRM tags) to this CSV")


def _recall_csv_path(args: argparse.Namespace) -> str | None:
    """The --recall-csv path, checked before any work (None when not asked)."""
    path = getattr(args, "recall_csv", None)
    if not path:
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"--recall-csv {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"--recall-csv {path} is a folder; name a .csv file")
    return path


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


# reading options of one machine's reader that the cluster path (Dask's Parquet / CSV
# readers) does not have
_SINGLE_ONLY = (("time_format", None, "--time-format"), ("on_bad", "raise", "--on-bad"),
                ("encoding", "auto", "--encoding"), ("sheet", None, "--sheet"),
                ("sep", None, "--sep"), ("recall_csv", None, "--recall-csv"))


def _check_cluster_options(args: argparse.Namespace) -> None:
    """Refuse the options that only the single-machine report has, before any work."""
    for key, default, flag in _SINGLE_ONLY:
        value = getattr(args, key, default)
        if value is not None and value != default:
            raise UsageError(f"{flag} is not available with --scheduler / --workers (the "
                             "cluster reads Parquet or CSV files with Dask); drop it, or run "
                             "the report without --scheduler / --workers")


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
        opts = {key: _split_list(getattr(args, key)) for key in ("paid", "refunded", "void")
                if _split_list(getattr(args, key, None))}
        for key in ("product", "category", "quantity"):
            if getattr(args, key, None) is not None:
                opts[key] = getattr(args, key)
        tx = siyu.dask.Transactions(path, customer=args.customer, time=args.time,
                                    amount=args.amount, order=args.order, status=args.status,
                                    refund=args.refund, channel=args.channel,
                                    member=args.member, tz=args.tz,
                                    npartitions=getattr(args, "partitions", None), **opts)
    except BaseException:
        close()
        raise
    return tx, close


def _one_line(exc: BaseException) -> str:
    # (a KeyError is never a user error: siyu checks names and columns with clear errors,
    # so one that escapes is reported as an internal error, with its type, never bare)
    text = " ".join(str(exc).split())
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
    except (UsageError, ValueError, TypeError, OSError, ImportError, MemoryError) as exc:
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


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown. Everything the command writes is closed
    by then; what remains is freeing every object of the log one by one (0.3-0.4 s
    after a 10M-row report). Only for ``python -m siyu``, never for ``main()``."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):       # a closed pipe: nothing more can be shown
            pass
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
