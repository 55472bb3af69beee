"""The text catalogue: every key in both languages; a Chinese report and every Chinese
plot carry none of the catalogue's English labels, an English report none of the
Chinese ones (read from the HTML text and from the SVG text of the plots)."""
from __future__ import annotations

import base64
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from siyu import _i18n

PLACEHOLDER = re.compile(r"\{[^}]*\}")
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def test_every_key_has_both_languages():
    for key, entry in _i18n.CATALOGUE.items():
        assert set(entry) == set(_i18n.LANGS), key
        for lang in _i18n.LANGS:
            assert isinstance(entry[lang], str) and entry[lang].strip(), (key, lang)
        # the same placeholders in both languages
        assert set(PLACEHOLDER.findall(entry["en"])) == set(PLACEHOLDER.findall(entry["zh"])), key


def test_text_and_bad_lang():
    assert _i18n.text("word.customers", "en") == "customers"
    assert _i18n.text("word.customers", "zh") == "客户数"
    with pytest.raises(ValueError, match="lang must be"):
        _i18n.text("word.customers", "fr")


def test_refunds_reduce_revenue_in_both_languages():
    d = _i18n.CATALOGUE["report.def.purchase"]
    assert "reduces the revenue" in d["en"] and "冲减当期收入" in d["zh"] and "计入收入" not in d["zh"]


def fragments(lang: str) -> set[str]:
    """Catalogue texts of one language (split at placeholders) that the other language's
    texts never contain: English ones with 4+ letters, Chinese ones with 2+ CJK characters."""
    other = "zh" if lang == "en" else "en"
    others = " ".join(e[other] for e in _i18n.CATALOGUE.values())
    out = set()
    for e in _i18n.CATALOGUE.values():
        for frag in PLACEHOLDER.split(e[lang]):
            frag = frag.strip(" ().,:;·-–/×*'\"=")
            if lang == "en":
                ok = len(re.findall("[A-Za-z]", frag)) >= 4 and not CJK.search(frag)
            else:
                ok = len(CJK.findall(frag)) >= 2
            if ok and frag not in others:
                out.add(frag)
    return out


def found(text: str, frags: set[str], lang: str) -> list[str]:
    if lang == "en":        # whole words only: "rate" is not in "separate"
        return sorted(f for f in frags if re.search(rf"(?<![A-Za-z]){re.escape(f)}(?![A-Za-z])",
                                                    text))
    return sorted(f for f in frags if f in text)


def visible_html(page: str) -> str:
    """Text a reader sees: no style, no tags, no data URIs; alt and title kept."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)       # API names are code
    attrs = " ".join(re.findall(r'(?:alt|title)="([^"]*)"', page))
    page = re.sub(r"<[^>]+>", " ", page)
    import html
    return html.unescape(page + " " + attrs)


def svg_text(svg: str) -> str:
    svg = re.sub(r"<!--.*?-->", " ", svg, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text\b.*?</text>", svg,
                                                                  flags=re.S))


def svg_images(page: str) -> list[str]:
    return [base64.b64decode(s).decode("utf-8")
            for s in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)]


def shop_log(seed: int = 3) -> pd.DataFrame:
    """A Chinese shop export: Chinese column names and channel labels."""
    rng = np.random.default_rng(seed)
    n, k = 1500, 300
    cust = rng.integers(0, k, n)
    first = rng.integers(0, 400, k)
    day = np.minimum(first[cust] + rng.geometric(1 / 60, n) - 1, 420)
    return pd.DataFrame({"买家": cust, "付款时间": pd.Timestamp("2023-01-01")
                         + pd.to_timedelta(day, "D"),
                         "实付金额": np.round(rng.gamma(2.0, 40.0, n), 2),
                         "渠道": np.where(cust % 2 == 0, "公域", "私域")})


@pytest.fixture(scope="module")
def shop_tx():
    import siyu

    return siyu.Transactions(shop_log(), customer="买家", time="付款时间", amount="实付金额",
                             channel="渠道")


@pytest.fixture(scope="module")
def spend():
    months = pd.period_range("2023-01", "2024-02", freq="M").astype(str)
    return pd.DataFrame({"period": np.repeat(months, 2), "渠道": ["公域", "私域"] * len(months),
                         "amount": 800.0})


def test_zh_report_and_its_plots_have_no_english_labels(shop_tx, spend, monkeypatch):
    pytest.importorskip("matplotlib")
    from siyu import plotting
    from siyu.report import build_report

    # the plots are Chinese with a CJK font (simulated here; the SVG keeps text as text)
    monkeypatch.setattr(plotting, "find_cjk_font", lambda refresh=False: "DejaVu Sans")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = build_report(shop_tx, spend=spend, lang="zh", currency="¥", plot_format="svg",
                            existing_before="2023-02-01")
    en = fragments("en")
    assert len(en) > 100
    leaked = found(visible_html(page), en, "en")
    assert leaked == [], [(f, visible_html(page)[max(0, visible_html(page).find(f) - 80):
                                                   visible_html(page).find(f) + 80])
                          for f in leaked]
    images = svg_images(page)
    assert len(images) == 7
    for svg in images:
        text = svg_text(svg)
        assert CJK.search(text), text[:200]
        assert found(text, en, "en") == [], text[:300]


def test_en_report_has_no_chinese_labels(spend):
    pytest.importorskip("matplotlib")
    import siyu
    from siyu.report import build_report

    df = shop_log().rename(columns={"买家": "buyer", "付款时间": "paid", "实付金额": "paid_amount",
                                    "渠道": "source"})
    df["source"] = df["source"].map({"公域": "public", "私域": "private"})
    tx = siyu.Transactions(df, customer="buyer", time="paid", amount="paid_amount", channel="source")
    sp = spend.rename(columns={"渠道": "source"}).replace({"公域": "public", "私域": "private"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = build_report(tx, spend=sp, lang="en", plot_format="svg")
    zh = fragments("zh")
    assert len(zh) > 100
    assert found(visible_html(page), zh, "zh") == []
    for svg in svg_images(page):
        assert not CJK.search(svg_text(svg))


def test_every_zh_plot_has_no_english_labels(shop_tx, monkeypatch):
    """Each plotting function with lang="zh", drawn to SVG text."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    from siyu import plotting

    monkeypatch.setattr(plotting, "find_cjk_font", lambda refresh=False: "DejaVu Sans")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ct = shop_tx.cohorts("M", existing_before="2023-02-01", margin=0.5)
        byc = shop_tx.cohorts("Q", by="渠道")
        ue = __import__("siyu").unit_economics(shop_tx, None, horizon=3)
    rows = ue[~ue["existing"].astype(bool)].drop(index="total")
    stages = pd.DataFrame({"share": [0.5, 0.5], "revenue_share": [0.6, 0.4]},
                          index=["新交易后", "稳定关系"])
    draws = [
        lambda: ct.plot("heatmap", lang="zh"), lambda: ct.plot("heatmap", "ltv", lang="zh"),
        lambda: ct.plot("retention", lang="zh"), lambda: ct.plot("ltv", lang="zh", currency="¥"),
        lambda: byc.plot("retention", lang="zh"),
        lambda: shop_tx.retention(days=range(0, 40), by="渠道").plot(lang="zh"),
        lambda: shop_tx.retention(kind="unbounded", days=range(0, 40)).plot(lang="zh"),
        lambda: shop_tx.retention(kind="bracket", brackets=[(1, 7), (8, 30)]).plot(lang="zh"),
        lambda: shop_tx.survival(by="渠道").plot(lang="zh"),
        lambda: shop_tx.repurchase().plot(lang="zh"),
        lambda: shop_tx.interpurchase_times().plot(lang="zh"),
        lambda: plotting.share_bars(stages, "生命周期阶段", lang="zh"),
        lambda: plotting.cac_ltv(rows, 3, lang="zh", currency="¥"),
    ]
    en = fragments("en")
    for draw in draws:
        ax = draw()
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            ax.figure.savefig(buf, format="svg")
        text = svg_text(buf.getvalue())
        assert CJK.search(text)
        assert found(text, en, "en") == [], text[:300]
        plt.close(ax.figure)
