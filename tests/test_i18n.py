"""The text catalogue: every key in both languages."""
import pytest

from siyu import _i18n


def test_every_key_has_both_languages():
    for key, entry in _i18n.CATALOGUE.items():
        assert set(entry) == set(_i18n.LANGS), key
        for lang in _i18n.LANGS:
            assert isinstance(entry[lang], str) and entry[lang].strip(), (key, lang)


def test_text_and_bad_lang():
    assert _i18n.text("word.customers", "en") == "customers"
    assert _i18n.text("word.customers", "zh") == "客户数"
    with pytest.raises(ValueError, match="lang must be"):
        _i18n.text("word.customers", "fr")
