"""siyu.dask with a log about 3x larger than each worker's memory_limit: it completes by
spilling, with exact results, and each worker's peak memory stays below its share of
the log (measured as the workers' peak RSS, VmHWM, reset after a warm-up run)."""
from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

import siyu.dask  # noqa: E402

LIMIT = 56 * 2**20          # memory_limit per worker
N_ROWS = 2_000_000           # ~164 MiB with object ids: ~3x LIMIT
N_FILES = 32


def _peak_rss(reset: bool = True) -> tuple[float, float]:
    """(peak RSS, RSS) of this process in bytes; resets the peak when possible."""
    hwm = rss = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                hwm = int(line.split()[1]) * 1024.0
            elif line.startswith("VmRSS"):
                rss = int(line.split()[1]) * 1024.0
    if reset:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    return hwm, rss


def _write(folder, n_rows: int, n_files: int, seed: int) -> tuple[int, pd.Series, float]:
    """String ids (as shops export them) in n_files Parquet files.  Returns the log's size
    as pandas holds it, customers per first-purchase month and the revenue (oracle)."""
    rng = np.random.default_rng(seed)
    n_ids = max(n_rows // 8, 1)
    ids = np.array([f"wx_{i:010d}" for i in range(n_ids)], dtype=object)
    per = n_rows // n_files
    size, revenue = 0, 0.0
    first = np.full(n_ids, np.iinfo(np.int64).max)
    for i in range(n_files):
        code = rng.integers(0, n_ids, per)
        day = np.datetime64("2021-01-01") + rng.integers(0, 730, per).astype("timedelta64[D]")
        amount = np.round(rng.gamma(2.0, 30.0, per), 2)
        np.minimum.at(first, code, day.view(np.int64))
        revenue += float(amount.sum())
        df = pd.DataFrame({"c": ids[code], "t": day.astype("datetime64[ms]"), "a": amount})
        # the size with object ids, as pandas 2 holds them (pandas 3's str ids take less
        # than half; dask reads them as Arrow strings under both)
        size += int(df.astype({"c": object}).memory_usage(deep=True).sum())
        df.to_parquet(folder / f"part-{i:03d}.parquet")
    seen = first != np.iinfo(np.int64).max
    months = pd.PeriodIndex(first[seen].view("datetime64[D]"), freq="M").value_counts()
    return size, months.sort_index(), revenue


@pytest.fixture(scope="module")
def small_cluster():
    try:
        _peak_rss()
    except OSError:
        pytest.skip("needs /proc/self/status and /proc/self/clear_refs (Linux)")
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ"), MALLOC_ARENA_MAX="2",
               ARROW_DEFAULT_MEMORY_POOL="system")
    cfg = {"distributed.worker.memory.pause": False,       # the limit is below a bare worker
           "distributed.worker.memory.terminate": False,
           "distributed.p2p.comm.buffer": "8MiB", "distributed.p2p.storage.buffer": "8MiB",
           "distributed.nanny.pre-spawn-environ": env}
    with dask.config.set(cfg):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      memory_limit=LIMIT, dashboard_address=":0",
                                      silence_logs=logging.ERROR) as cluster:
            with distributed.Client(cluster) as client:
                yield client


def test_log_three_times_the_memory_limit(small_cluster, tmp_path):
    client = small_cluster
    (tmp_path / "warm").mkdir()
    (tmp_path / "log").mkdir()
    _write(tmp_path / "warm", 20_000, 2, 1)
    size, months, revenue = _write(tmp_path / "log", N_ROWS, N_FILES, 0)
    assert size > 2.8 * LIMIT
    # warm-up: load every code path once, so the peak below is the log's, not imports'
    warm = siyu.dask.Transactions(str(tmp_path / "warm"), customer="c", time="t", amount="a")
    warm.cohorts()
    warm.summary().shape[0].compute()
    del warm
    client.run(_peak_rss)
    base = client.run(_peak_rss)

    dtx = siyu.dask.Transactions(str(tmp_path / "log"), customer="c", time="t", amount="a")
    ct = dtx.cohorts()
    s = dtx.summary()
    n, total = dask.compute(s.shape[0], s["revenue"].sum())
    peak = client.run(_peak_rss)
    spilled = client.run(lambda dask_worker: len(dask_worker.data.slow))

    # exact results
    assert dtx.n_rows == N_ROWS // N_FILES * N_FILES and n == dtx.n_customers == months.sum()
    assert ct.sizes.tolist() == months.tolist()
    assert total == pytest.approx(revenue, rel=1e-9)
    # it spilled, and no worker ever held its share of the log in memory (not measurable
    # under CI's sanitizer stage: ASan's shadow memory and freed-memory quarantine add
    # hundreds of MB of RSS to each worker, whatever the code does)
    sanitized = "asan" in os.environ.get("LD_PRELOAD", "")
    share = size / len(peak)
    for w in peak:
        grew = peak[w][0] - base[w][1]
        assert spilled[w] > 0
        if not sanitized:
            assert grew < 0.75 * share, (w, grew / 2**20, share / 2**20)
