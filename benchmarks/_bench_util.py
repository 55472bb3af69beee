"""Measuring helpers shared by the benchmarks (see benchmarks/README.md)."""
from __future__ import annotations

import os
import resource


def rss() -> int:
    """Resident memory now; also resets the peak (VmHWM) so peak_rss() measures from here."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds() -> float:
    """User + system seconds of this process (all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss() -> int:
    """Peak resident memory since the last rss() call (VmHWM), else since the start."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


CRASHES: list[str] = []


def child_ran(proc, label: str) -> bool:
    """Whether a contender's child process succeeded.  A missing optional library
    (ModuleNotFoundError) is a skip; any other failure is recorded in CRASHES, which the
    scripts count as a mismatch (exit 1): a contender that crashes must not vanish."""
    if proc.returncode == 0:
        return True
    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
    if last.startswith("ModuleNotFoundError"):
        print(f"  {label}: skipped ({last})")
    else:
        print(f"  {label}: FAILED ({last})")
        CRASHES.append(f"{label} failed: {last}")
    return False
