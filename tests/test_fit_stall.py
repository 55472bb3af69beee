"""Fits that never stall (issue 12, item 3), verbose fits and stopping a fit."""
import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core
from siyu.models import BetaGeo, ConvergenceError, ParetoNBD


@pytest.fixture(scope="module")
def uniform_log():
    """Orders whose customer and day are independent and uniform: one Poisson rate for
    everybody and no dropout, so BG/NBD and Pareto/NBD sit at a boundary."""
    rng = np.random.default_rng(12)
    n = 300_000
    cust = rng.integers(0, 26_000, n)
    day = np.datetime64("2023-01-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    tx = siyu.Transactions(pd.DataFrame({"c": cust, "d": day}), customer="c", time="d",
                           amount=None)
    return tx.summary()


@pytest.mark.parametrize("cls,words", [(BetaGeo, "almost no customer drops out"),
                                       (ParetoNBD, "almost no customer drops out")])
def test_boundary_warning_and_bounded_iterations(uniform_log, cls, words):
    with pytest.warns(RuntimeWarning, match=words) as rec:
        m = cls().fit(uniform_log)
    msg = str(rec[0].message)
    assert "boundary" in msg and "→" in msg
    assert m.at_boundary_                    # the parameters that ran off are listed
    assert m.n_iter_ <= 120                  # bounded: no crawl to maxiter over every start
    pred = m.conditional_expected_purchases(30.0, uniform_log)
    assert np.all(np.isfinite(pred))
    # the expectation still matches the data: one Poisson rate, nobody drops out
    rate = uniform_log["frequency"].sum() / uniform_log["T"].sum()
    assert float(pred.mean()) == pytest.approx(30 * rate, rel=1e-6)   # measured 6e-8


def test_well_posed_fits_do_not_warn(shared_data):
    import warnings
    df = pd.read_csv(shared_data / "cdnow_customers_summary.csv")
    for cls in (BetaGeo, ParetoNBD):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            m = cls().fit(df.frequency, df.recency, df["T"])
        assert m.converged_ and m.at_boundary_ == []


def test_iteration_cap_gives_clear_convergence_error(shared_data):
    df = pd.read_csv(shared_data / "cdnow_customers_summary.csv")
    with pytest.raises(ConvergenceError, match="maxiter=3") as e:
        ParetoNBD(maxiter=3).fit(df.frequency, df.recency, df["T"])
    assert "penalizer" in str(e.value)


def test_collapse_to_distinct_rows(uniform_log):
    m = BetaGeo()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m.fit(uniform_log)
    distinct = len(uniform_log[["frequency", "recency", "T"]].drop_duplicates())
    assert m.n_unique_ == distinct < len(uniform_log)


def test_verbose_prints_iterations(capsys, shared_data):
    df = pd.read_csv(shared_data / "cdnow_customers_summary.csv")
    m = BetaGeo().fit(df.frequency, df.recency, df["T"], verbose=True)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) >= 5
    assert out[0].startswith("BetaGeo iteration 0: log-likelihood = ")
    assert "gradient norm" in out[-1]
    last_ll = float(out[-1].split("log-likelihood = ")[1].split(",")[0])
    assert last_ll == pytest.approx(m.log_likelihood_, abs=1e-6)   # printed with 6 decimals
    lls = [float(l.split("log-likelihood = ")[1].split(",")[0]) for l in out]
    assert all(b >= a - 1e-9 for a, b in zip(lls, lls[1:]))   # monotone within one start


def test_progress_hook_can_stop_the_fit(shared_data):
    """An exception raised while the fit runs (Ctrl-C's KeyboardInterrupt) stops it."""
    df = pd.read_csv(shared_data / "cdnow_customers_summary.csv")
    x, tx, T = (df[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    seen = []

    def hook(it, ll, g):
        seen.append(it)
        if it == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _core.model_fit_ex(2, x, tx, T, None, None, None, None, None, 0, np.zeros(4), 0.0, 0,
                           None, 1000, 1e-9, 1, hook)
    assert seen == [0, 1, 2]
