#!/usr/bin/env python3
"""Mutation check: does the test suite catch small, plausible bugs?

Each mutant is one textual change to one file (a `<` that becomes `<=`, a dropped
refund rule, a unit off by a factor, ...) plus the tests that should catch it.  For
every mutant this script copies the repository to a scratch folder, applies the change,
rebuilds the extension when a C file changed, runs the named tests and records whether
they failed (killed) or passed (survived).  It prints the kill table and exits 1 when a
mutant survives.

    python tools/mutants.py                 # all mutants
    python tools/mutants.py -k calendar     # those whose name contains "calendar"
    python tools/mutants.py --list

Run it before resolving an issue that touches the kernels or the definitions it covers;
it is not part of CI (a full run rebuilds the extension once per C mutant).  A mutant
whose original text is not found is reported as "stale" (the code moved: update it).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str           # relative to the repository root
    old: str            # exact text, must occur exactly once
    new: str
    tests: tuple[str, ...]   # pytest node ids / files expected to kill it
    why: str = ""


M = Mutant
MUTANTS: list[Mutant] = [
    # ---- calendar and periods --------------------------------------------------------
    M("calendar-week-start", "src/sy_calendar.c",
      "        return index * 7 - 3;", "        return index * 7 - 2;",
      ("tests/test_calendar.py", "tests/test_cohorts.py"), "weeks start on Tuesday"),
    M("calendar-month-index", "src/sy_calendar.c",
      "        return y * 12 + (m - 1);", "        return y * 12 + m;",
      ("tests/test_calendar.py",), "month index off by one"),
    M("calendar-quarter", "src/sy_calendar.c",
      "        return y * 4 + (m - 1) / 3;", "        return y * 4 + m / 3;",
      ("tests/test_calendar.py", "tests/test_cohorts.py"), "quarter boundaries shifted"),
    # ---- summaries -------------------------------------------------------------------
    M("summary-unit-month", "siyu/_input.py",
      'UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}',
      'UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 30.0}',
      ("tests/test_summary.py",), "30-day months"),
    M("summary-include-first", "siyu/transactions.py",
      "                mv = (famt[keep] + rsum[keep]) / occ[keep]",
      "                mv = rsum[keep] / occ[keep]",
      ("tests/test_summary.py",), "include_first drops the first amount"),
    M("summary-days-since-last", "siyu/transactions.py",
      '        cols["days_since_last"] = end_day - lday[keep]',
      '        cols["days_since_last"] = end_day - lday[keep] + 1',
      ("tests/test_summary.py",), "days_since_last off by one"),
]


def _run(cmd: list[str], cwd: str, timeout: float, env: dict[str, str]) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "timeout"
    return p.returncode, (p.stdout + p.stderr)[-2000:]


def _copy_tree(dst: str) -> None:
    ignore = shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".hypothesis", "*.html")
    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)


def run_mutant(m: Mutant, scratch: str, timeout: float) -> tuple[str, float, str]:
    path = os.path.join(scratch, m.path)
    with open(os.path.join(ROOT, m.path), encoding="utf-8") as f:
        original = f.read()
    if original.count(m.old) != 1:
        return "stale", 0.0, f"text found {original.count(m.old)} times"
    with open(path, "w", encoding="utf-8") as f:
        f.write(original.replace(m.old, m.new))
    env = dict(os.environ, PYTHONPATH=scratch, PYTHONDONTWRITEBYTECODE="1")
    t0 = time.perf_counter()
    try:
        if m.path.endswith((".c", ".h")):
            # --force: mtimes within one second of the last build would skip the rebuild
            rc, out = _run([sys.executable, "setup.py", "-q", "build_ext", "--inplace",
                            "--force"], scratch, timeout, env)
            if rc != 0:
                return "killed (build)", time.perf_counter() - t0, out
        rc, out = _run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                        *m.tests], scratch, timeout, env)
        status = "survived" if rc == 0 else ("killed" if rc in (1, 124) else f"error rc={rc}")
        return status, time.perf_counter() - t0, out
    finally:
        with open(path, "w", encoding="utf-8") as f:
            f.write(original)
        if m.path.endswith((".c", ".h")):
            _run([sys.executable, "setup.py", "-q", "build_ext", "--inplace", "--force"],
                 scratch, timeout, env)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default="", help="only mutants whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    ap.add_argument("-v", action="store_true", help="show test output of survivors")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if args.k in m.name]
    if args.list:
        for m in chosen:
            print(f"{m.name:32s} {m.path:28s} {m.why}")
        return 0
    with tempfile.TemporaryDirectory(prefix="siyu-mutants-") as tmp:
        scratch = os.path.join(tmp, "repo")
        _copy_tree(scratch)
        env = dict(os.environ, PYTHONPATH=scratch)
        rc, out = _run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], scratch,
                       args.timeout, env)
        if rc != 0:
            print(out)
            return 2
        rows = []
        for m in chosen:
            status, secs, out = run_mutant(m, scratch, args.timeout)
            rows.append((m, status, secs))
            print(f"{status:16s} {secs:7.1f} s  {m.name}", flush=True)
            if status == "survived" and args.v:
                print(out)
    killed = sum(s.startswith("killed") for _, s, _ in rows)
    stale = [m.name for m, s, _ in rows if s == "stale"]
    survived = [m.name for m, s, _ in rows if s == "survived"]
    print(f"\nkilled {killed} of {len(rows)}; survived: {', '.join(survived) or 'none'}; "
          f"stale: {', '.join(stale) or 'none'}")
    return 1 if survived or stale else 0


if __name__ == "__main__":
    sys.exit(main())
