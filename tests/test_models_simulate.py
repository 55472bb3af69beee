"""simulate(): format, determinism, and simulate -> fit recovers the parameters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siyu.datasets.simulate import simulate
from siyu.models import BetaGeo, GammaGamma, ParetoNBD

BG = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
PNBD = {"r": 0.6, "alpha": 10.0, "s": 0.8, "beta": 12.0}


@pytest.mark.parametrize("cls,params", [(BetaGeo, BG), (ParetoNBD, PNBD)])
def test_recovery_within_3_se(cls, params):
    s = simulate(params, 50_000, T=52, seed=42, unit="W", acquisition=26, output="summary")
    assert (s.recency <= s["T"]).all() and (s.frequency >= 0).all()
    m = cls().fit(s)
    z = (m.params_ - pd.Series(params)) / m.standard_errors_
    print(f"\n{cls.__name__} recovery z-scores:\n{z.round(2).to_string()}")
    assert np.all(np.abs(z) < 3), z


def test_transactions_format_and_seed():
    log = simulate(BG, 2000, T=365, seed=7)
    assert list(log.columns) == ["customer_id", "date", "amount"]
    assert log["date"].dtype.kind == "M"
    assert log["date"].min() == pd.Timestamp("2020-01-01")
    assert log["date"].max() <= pd.Timestamp("2020-01-01") + pd.Timedelta(days=365)
    assert (log["amount"] > 0).all()
    assert log.customer_id.nunique() == 2000
    log2 = simulate(BG, 2000, T=365, seed=7)
    pd.testing.assert_frame_equal(log, log2)
    log3 = simulate(BG, 2000, T=365, seed=8)
    assert not log3.equals(log)
    # per customer: first purchase on start day (acquisition=0), dates sorted
    assert (log.groupby("customer_id")["date"].min() == pd.Timestamp("2020-01-01")).all()
    assert (log.groupby("customer_id")["date"].apply(lambda d: d.is_monotonic_increasing)).all()


def test_summary_and_log_agree():
    s = simulate(PNBD, 3000, T=100, seed=3, output="summary")
    log = simulate(PNBD, 3000, T=100, seed=3)
    n_tx = log.groupby("customer_id").size()
    assert np.array_equal(n_tx.values - 1, s.frequency.values)


def test_amounts_follow_gamma_gamma():
    log = simulate(BG, 20000, T=2 * 365, seed=11, spend_params={"p": 6.0, "q": 4.0, "gamma": 15.0})
    g = log.groupby("customer_id")["amount"].agg(["size", "mean"])
    # repeat-purchase means of customers with >= 2 purchases: fit GG on (x, mean)
    g = g[g["size"] >= 2]
    first = log.groupby("customer_id").head(1).set_index("customer_id")["amount"]
    rep_mean = (log.groupby("customer_id")["amount"].sum().loc[g.index] - first.loc[g.index]) / (g["size"] - 1)
    m = GammaGamma().fit((g["size"] - 1).values, rep_mean.values)
    assert abs(m.params_["p"] * m.params_["gamma"] / (m.params_["q"] - 1) - 6 * 15 / 3) < 3.0


def test_errors():
    with pytest.raises(ValueError, match="model_params"):
        simulate({"r": 1, "alpha": 1}, 10, T=10)
    with pytest.raises(ValueError, match="T"):
        simulate(BG, 10, T=0)
    with pytest.raises(ValueError, match="unit"):
        simulate(BG, 10, T=5, unit="fortnight")
    assert len(simulate(BG, 0, T=5)) == 0


def test_concurrent_fits_match_sequential():
    """Fits release the GIL; running them in threads gives the sequential results."""
    from concurrent.futures import ThreadPoolExecutor
    datasets = [simulate(BG, 20_000, T=52, seed=s, unit="W", acquisition=26, output="summary")
                for s in range(4)]
    seq = [BetaGeo().fit(d).params_.to_numpy() for d in datasets]
    with ThreadPoolExecutor(max_workers=4) as ex:
        par = list(ex.map(lambda d: BetaGeo().fit(d).params_.to_numpy(), datasets))
    for a, b in zip(seq, par):
        assert np.array_equal(a, b)


def test_simulate_thread_count_invariance():
    from siyu import _core
    old = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        a = simulate(PNBD, 30_000, T=52, seed=5, unit="W", acquisition=10)
        _core.set_num_threads(3)
        b = simulate(PNBD, 30_000, T=52, seed=5, unit="W", acquisition=10)
    finally:
        _core.set_num_threads(old)
    pd.testing.assert_frame_equal(a, b)
