"""Measuring helpers shared by bench_summary.py and bench_cohorts.py."""
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
