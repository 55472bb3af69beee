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


# Further demo sections (functions tx -> str) are appended here as features land.
_DEMO_SECTIONS: list = []


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
