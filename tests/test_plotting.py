"""Plots render with the Agg backend and return Axes."""
from __future__ import annotations

import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import siyu  # noqa: E402
from siyu import plotting  # noqa: E402

import reference_cohorts as ref  # noqa: E402

# the default font has no CJK glyphs (channel labels 公域/私域); that is not an error
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")


@pytest.fixture(scope="module")
def tx():
    df = ref.random_log(0, n_customers=80, n_rows=800)
    return siyu.Transactions(df, customer="customer", time="date", amount="amount",
                             channel="channel")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_cohort_plots(tx):
    ct = tx.cohorts("M")
    for kind in ("heatmap", "retention", "ltv"):
        ax = ct.plot(kind=kind)
        assert isinstance(ax, matplotlib.axes.Axes)
        ax.figure.canvas.draw()
    ax = ct.plot("heatmap", metric="revenue")
    assert any(t.get_text() for t in ax.texts)          # annotations present
    with pytest.raises(ValueError, match="kind"):
        ct.plot(kind="pie")
    byc = tx.cohorts("Q", by="channel")
    byc.plot("heatmap").figure.canvas.draw()
    fig, ax = plt.subplots()
    assert byc.plot("retention", ax=ax) is ax


def test_retention_and_survival_plots(tx):
    for r in (tx.retention(days=range(0, 31)), tx.retention(days=range(0, 31), by="channel"),
              tx.retention(kind="bracket", brackets=[(1, 7), (8, 30)])):
        ax = r.plot()
        ax.figure.canvas.draw()
    for sc in (tx.survival(churn_after=60), tx.survival(churn_after=60, by="channel")):
        ax = sc.plot()
        assert isinstance(ax, matplotlib.axes.Axes)
        ax.figure.canvas.draw()
    tx.repurchase().plot().figure.canvas.draw()
    tx.interpurchase_times().plot().figure.canvas.draw()


def test_retention_curves_rejects_other_types():
    with pytest.raises(TypeError, match="CohortTable"):
        plotting.retention_curves(object())


def test_html_has_gradient(tx):
    ct = tx.cohorts("M", by="channel")
    html = ct.to_html("ltv")
    assert "background-color" in html and html.count("<tr>") == len(ct.sizes) + 1
    assert "background-color" in ct._repr_html_()
    try:
        import jinja2  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="jinja2"):
            ct.style()
    else:
        assert "background-color" in ct.style().to_html()


def test_clear_error_without_matplotlib(tx, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)   # import fails
    with pytest.raises(ImportError, match="pip install matplotlib"):
        tx.cohorts("M").plot("retention")


def test_chinese_labels_render_with_an_installed_cjk_font():
    """With a CJK font installed, siyu's plots draw 中文 labels with real glyphs, without
    changing matplotlib's global settings."""
    import warnings

    import matplotlib

    if not plotting._installed_cjk_fonts():
        pytest.skip("no CJK font installed (e.g. apt-get install fonts-wqy-microhei)")
    before = dict(matplotlib.rcParams)
    df = pd.DataFrame({"customer_id": [1, 1, 2, 3], "channel": ["公域", "公域", "私域", "私域"],
                       "date": pd.to_datetime(["2024-01-02", "2024-03-01", "2024-02-03", "2024-02-05"]),
                       "amount": [10.0, 20.0, 5.0, 7.0]})
    tx = siyu.Transactions(df, channel="channel")
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # 'Glyph ... missing' would raise here
        for ax in (tx.cohorts(by="channel").plot(), tx.migration(lang="zh").plot()):
            ax.set_title(ax.get_title() + " 新交易后")
            ax.figure.canvas.draw()
            plt.close(ax.figure)
    assert dict(matplotlib.rcParams) == before
