"""Command line: ``python -m siyu demo``.

``demo`` prints a short customer-value summary of the bundled UCI Online Retail
invoices.  Bad arguments print a one-line error and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys

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


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m siyu", description="siyu customer-value analytics")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("demo", help="print a customer-value summary of bundled data")
    args = parser.parse_args(argv)
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        if args.command == "demo":
            return _demo(args)
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
