"""Plots: what is drawn (lines, labels, titles, ticks, partial marks, legends), from plain
frames, in English and Chinese; CJK fonts found even when matplotlib's cache is stale."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import siyu  # noqa: E402
from siyu import plotting  # noqa: E402

import reference_cohorts as ref  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# without a CJK font the default font has no glyphs for 公域/私域; that is not an error here
pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")


@pytest.fixture(scope="module")
def tx():
    df = ref.random_log(0, n_customers=80, n_rows=800)
    return siyu.Transactions(df, customer="customer", time="date", amount="amount",
                             channel="channel")


@pytest.fixture(scope="module")
def ct(tx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tx.cohorts("M", end="2021-03-20")          # March 2021 is partial


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labelled_lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def hollow(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() == "partial"]


def legend_outside(ax) -> bool:
    ax.figure.canvas.draw()
    leg = ax.get_legend()
    r = ax.figure.canvas.get_renderer()
    return leg.get_window_extent(r).x0 >= ax.get_window_extent(r).x1


def test_heatmap_draws_every_cell_and_hatches_partial_ones(ct):
    ax = ct.plot("heatmap")
    n_rows, n_cols = ct.retention.shape
    assert ax.get_title(loc="left") == "retention by monthly cohort"
    assert ax.get_title(loc="right") == "last period (2021-03): 20 of 31 days"
    assert ax.get_xlabel() == "age (months since acquisition)" and ax.get_ylabel() == "cohort"
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(c) for c in ct.sizes.index]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(a) for a in range(n_cols)]
    observed = ct.observed.to_numpy()
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == observed.sum()
    assert texts[0] == f"{ct.retention.iloc[0, 0]:.0%}"
    hatched = [p for p in ax.patches if p.get_hatch() == "///"]
    assert len(hatched) == ct.partial.to_numpy().sum() == n_rows      # one per cohort
    cells = sorted((int(p.get_x() + 0.5), int(p.get_y() + 0.5)) for p in hatched)
    assert cells == sorted((int(j), int(i)) for i, j in zip(*np.nonzero(ct.partial.to_numpy())))
    ax = ct.plot("heatmap", metric="revenue", currency="¥")
    assert ax.get_title(loc="left") == "net revenue by monthly cohort"
    with pytest.raises(ValueError, match="kind"):
        ct.plot(kind="pie")


def test_heatmap_existing_row_and_by_channel(tx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ct = tx.cohorts("Q", existing_before="2020-01-01")
        byc = tx.cohorts("Q", by="channel")
    ax = ct.plot("heatmap", lang="zh")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "存量客户" and labels[1:] == [str(c) for c in ct.sizes.index]
    assert ax.get_title(loc="left") == "各季度同期群留存率"
    ax = byc.plot("heatmap")
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{g} · {c}" for g, c in
                                                             byc.sizes.index]


def test_retention_curves_of_a_cohort_table(ct):
    ax = ct.plot("retention", max_lines=5)
    avg = ct.average("retention")
    lines = labelled_lines(ax)
    names = [ln.get_label() for ln in lines]
    assert names[:5] == [str(c) for c in ct.sizes.index[-5:]]
    n, k = int(avg.attrs["n_cohorts"].max()), avg.attrs["through"]
    assert names[5] == f"balanced average ({n} cohorts, ages 0-{k})"
    assert names[6] == "partial last period (hollow)"
    np.testing.assert_allclose(lines[5].get_ydata(), avg.to_numpy(), equal_nan=True)
    # each drawn cohort's partial last cell: a hollow marker, not a point of its line
    marks = hollow(ax)
    assert len(marks) == 5
    for ln, mark in zip(lines[:5], marks):
        j = int(mark.get_xdata()[0])
        assert np.isnan(ln.get_ydata()[j]) and mark.get_markerfacecolor() == "none"
    assert ax.get_ylabel() == "share of the cohort buying"
    assert all(float(x).is_integer() for x in ax.get_xticks())       # ages are whole numbers
    assert legend_outside(ax)


def test_ltv_curves_carry_currency_and_margin(tx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ct = tx.cohorts("M", margin=0.4)
    ax = ct.plot("ltv", currency="¥")
    assert ax.get_ylabel() == "cumulative margin per customer (¥)"
    assert ax.get_title(loc="left") == "historical LTV by monthly cohort"
    ax = plotting.ltv_curves(ct.ltv, ct.average("ltv"), lang="zh", currency="元")
    assert ax.get_ylabel() == "人均累计收入（元）"
    assert labelled_lines(ax)[-1].get_label().startswith("平衡平均（")


def test_plain_frames_in_plain_frames_out():
    """plotting takes frames: no CohortTable needed, and it imports none."""
    frame = pd.DataFrame([[1.0, 0.5, np.nan], [1.0, np.nan, np.nan]], index=["A", "B"],
                         columns=pd.RangeIndex(3, name="age"))
    partial = pd.DataFrame([[False, True, False], [False, False, False]], index=frame.index,
                           columns=frame.columns)
    ax = plotting.cohort_heatmap(frame, partial=partial, annot=True)
    assert len([p for p in ax.patches if p.get_hatch() == "///"]) == 1
    assert [t.get_text() for t in ax.texts] == ["100%", "50%", "100%"]
    ax = plotting.cohort_curves(frame, partial=partial)
    assert [ln.get_label() for ln in labelled_lines(ax)] == ["A", "B",
                                                            "partial last period (hollow)"]
    # plotting.py re-exports the model plots of siyu.model_plots, which take frames too
    for mod, allowed in (("plotting.py", {"siyu._i18n", "siyu.model_plots"}),
                         ("model_plots.py", {"siyu._i18n"})):
        tree = ast.parse((ROOT / "siyu" / mod).read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
            {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.startswith("siyu.")} - allowed, mod
    with pytest.raises(TypeError, match="ct.plot"):
        plotting.retention_curves(object())


def test_one_way_house_no_private_imports_across_modules():
    """cohorts / retention / survival / economics / plotting / report import no other
    module's _private names, and cohorts <-> plotting <-> retention is no circle."""
    mine = ["_periods", "cohorts", "retention", "survival", "economics", "plotting", "report"]
    deps = {}
    for name in mine:
        tree = ast.parse((ROOT / "siyu" / f"{name}.py").read_text(encoding="utf-8"))
        deps[name] = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("siyu"):
                continue
            if node.module == "siyu":                      # from siyu import <modules>
                deps[name] |= {a.name for a in node.names}
                continue
            deps[name].add(node.module.split(".")[1])
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, (name, node.module, private)
    assert "cohorts" not in deps["retention"] and "cohorts" not in deps["plotting"]
    assert "retention" not in deps["plotting"] and "plotting" not in deps["_periods"]
    assert deps["_periods"] <= {"_core", "_input", "transactions"}


def test_retention_table_curves(tx):
    r = tx.retention(days=range(0, 31))
    ax = r.plot()
    assert [ln.get_label() for ln in ax.get_lines()] == ["all customers"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), r.rate.to_numpy(), equal_nan=True)
    assert ax.get_xlabel() == "days since first purchase"
    assert ax.get_title(loc="left") == "day-k retention (a purchase exactly k days later)"
    rb = tx.retention(days=range(0, 31), by="channel")
    ax = rb.plot(lang="zh")
    assert sorted(ln.get_label() for ln in ax.get_lines()) == sorted(map(str, rb.rate.columns))
    assert ax.get_legend().get_title().get_text() == "channel" and legend_outside(ax)
    assert ax.get_xlabel() == "首次购买后天数"
    br = tx.retention(kind="bracket", brackets=[(1, 7), (8, 30)])
    ax = br.plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1-7", "8-30"]
    assert ax.get_title(loc="left") == "retention by day range"


def test_survival_repurchase_gap_plots(tx):
    sc = tx.survival(churn_after=60, by="channel")
    ax = sc.plot()
    assert sorted(ln.get_label() for ln in labelled_lines(ax)) == sorted(map(str, sc.groups))
    assert len(ax.collections) == len(sc.groups)                     # one band per group
    assert ax.get_title(loc="left") == "survival (churn after 60 days without a purchase)"
    assert ax.get_ylabel() == "share of customers not churned" and legend_outside(ax)
    ax = tx.survival(churn_after=60).plot(bands=False)
    assert [ln.get_label() for ln in ax.get_lines()] == ["all customers"]
    assert not ax.collections and ax.get_legend() is None
    rp = tx.repurchase(within=(30, 90))
    ax = rp.plot(lang="zh")
    assert [ln.get_label() for ln in ax.get_lines()] == ["30 天内", "90 天内"]
    assert ax.get_ylabel() == "复购率"
    ip = tx.interpurchase_times()
    ax = ip.plot()
    assert [ln.get_label() for ln in ax.get_lines()] == [f"median {ip.median_:g} days"]
    assert ax.get_xlabel() == "days between purchases"


def test_cac_ltv_plot_draws_young_cohorts_apart():
    df = ref.random_log(1, n_customers=300, n_rows=500)            # acquisitions all along
    tx = siyu.Transactions(df, customer="customer", time="date", amount="amount")
    spend = pd.DataFrame({"period": pd.period_range("2019-12", "2021-03", freq="M"),
                          "amount": 500.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ue = siyu.unit_economics(tx, spend, horizon=6)
    rows = ue[~ue["existing"].astype(bool)].drop(index="total")
    ax = plotting.cac_ltv(rows, horizon=6, currency="¥")
    ltv, young, cac = ax.get_lines()
    assert ltv.get_label() == "LTV over 6 months (cohorts observed that long)"
    assert young.get_label() == "LTV to date (younger cohorts, fewer periods)"
    assert cac.get_label() == "acquisition cost (CAC)"
    done = rows["complete"].to_numpy()
    assert done.any() and (~done).any()
    assert np.isnan(ltv.get_ydata()[~done]).all() and not np.isnan(ltv.get_ydata()[done]).any()
    assert len(young.get_xdata()) == (~done & rows["ltv_to_date"].notna().to_numpy()).sum()
    assert young.get_linestyle() == "None" and young.get_markerfacecolor() == "none"
    assert ax.get_ylabel() == "per acquired customer (¥)"


def test_share_bars():
    s = pd.DataFrame({"share": [0.5, 0.3, 0.2], "revenue_share": [0.7, 0.2, 0.1]},
                     index=["recent", "stable", "lapsing"])
    ax = plotting.share_bars(s, "stages")
    assert len(ax.patches) == 6 and ax.get_title(loc="left") == "stages"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["recent", "stable", "lapsing"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["share of customers",
                                                                   "share of revenue"]


def test_html_has_gradient(tx):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ct = tx.cohorts("M", by="channel")
    html = ct.to_html("ltv")
    assert "background-color" in html and html.count("<tr>") == len(ct.sizes) + 1
    assert "background-color" in ct._repr_html_()
    assert "<th>同期群</th><th>规模</th>" in ct.to_html(lang="zh")
    try:
        import jinja2  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="jinja2"):
            ct.style()
    else:
        assert "background-color" in ct.style().to_html()


def test_clear_error_without_matplotlib(tx, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)   # import fails
    with pytest.raises(ImportError, match="pip install matplotlib"):
        tx.cohorts("M").plot("retention")


def test_chinese_labels_render_with_a_cjk_font_and_rcparams_stay():
    """With a CJK font on the machine, siyu's plots draw 中文 labels with real glyphs,
    without changing matplotlib's global settings."""
    if plotting.find_cjk_font() is None:
        pytest.skip("no CJK font on this machine (e.g. apt-get install fonts-wqy-microhei)")
    before = dict(matplotlib.rcParams)
    df = pd.DataFrame({"customer_id": [1, 1, 2, 3], "channel": ["公域", "公域", "私域", "私域"],
                       "date": pd.to_datetime(["2024-01-02", "2024-03-01", "2024-02-03", "2024-02-05"]),
                       "amount": [10.0, 20.0, 5.0, 7.0]})
    t = siyu.Transactions(df, channel="channel")
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # 'Glyph ... missing' would raise here
        for ax in (t.cohorts(by="channel").plot(lang="zh"), t.cohorts().plot("retention", lang="zh"),
                   t.survival(by="channel").plot(lang="zh")):
            ax.figure.canvas.draw()
            plt.close(ax.figure)
    assert dict(matplotlib.rcParams) == before


def test_zh_without_a_cjk_font_warns_with_install_advice(monkeypatch, ct):
    monkeypatch.setattr(plotting, "find_cjk_font", lambda refresh=False: None)
    monkeypatch.setattr(plotting, "_warned", set())
    with pytest.warns(UserWarning, match="fonts-noto-cjk"):
        ct.plot("heatmap", lang="zh")
    assert "Microsoft YaHei" in plotting.cjk_install_hint("en")


STALE_CACHE = r"""
import json, os, sys, warnings
import matplotlib
matplotlib.use("Agg")
from matplotlib import font_manager as fm
cjk = [f for f in fm.fontManager.ttflist if any(h in os.path.basename(f.fname).lower()
       for h in ("wqy", "noto", "cjk", "droid", "han", "hei", "ming"))]
if sys.argv[1] == "prepare":
    # a cache built before the CJK font was installed: the same list without it
    fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if f not in cjk]
    fm.json_dump(fm.fontManager, os.path.join(
        matplotlib.get_cachedir(), f"fontlist-v{fm.FontManager.__version__}.json"))
    print(len(cjk))
    sys.exit(0)
assert not cjk, "the stale cache should not list a CJK font"
before = dict(matplotlib.rcParams)
import pandas as pd, siyu
from siyu import plotting
font = plotting.find_cjk_font()
assert font is not None, "the CJK font file on disk was not found"
df = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [1.0, 2.0, 3.0],
                   "date": pd.to_datetime(["2024-01-02", "2024-02-01", "2024-01-05"])})
with warnings.catch_warnings():
    warnings.simplefilter("error")
    ax = siyu.Transactions(df).cohorts().plot(lang="zh")
    ax.figure.canvas.draw()
used = fm.fontManager._find_fonts_by_props(ax.title.get_fontproperties()) \
    if hasattr(fm.fontManager, "_find_fonts_by_props") else []
assert dict(matplotlib.rcParams) == before
print(font, any(font == fm.FontProperties(fname=str(p)).get_name() for p in used))
"""


def test_cjk_font_found_when_matplotlib_cache_predates_it(tmp_path):
    """A CJK font present on the machine but absent from a fresh (stale) font cache is
    found and used, in a process of its own with its own matplotlib cache folder."""
    env = dict(os.environ, MPLCONFIGDIR=str(tmp_path), MPLBACKEND="Agg",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    script = tmp_path / "stale.py"
    script.write_text(STALE_CACHE, encoding="utf-8")
    prep = subprocess.run([sys.executable, str(script), "prepare"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert prep.returncode == 0, prep.stderr
    if int(prep.stdout.split()[-1]) == 0:
        pytest.skip("no CJK font file on this machine (e.g. apt-get install fonts-wqy-microhei)")
    run = subprocess.run([sys.executable, str(script), "run"], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    name, used = run.stdout.split("\n")[-2].rsplit(" ", 1)
    assert name and used == "True", run.stdout
