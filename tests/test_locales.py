"""Locale negotiation tables."""

import pytest

from helpapi.locales import BadLocale
from helpapi.locales import normalize_tag
from helpapi.locales import parse_accept_language
from helpapi.locales import resolve_locale

AVAILABLE = ["de-DE", "fi-FI", "fr-FR", "ja-JP", "sv-SE", "uk-UA", "zh-CN", "zh-TW", "en-US"]


@pytest.mark.parametrize(
    ("param", "expected", "matched"),
    [
        ("de-DE", "de-DE", True),
        ("DE_de", "de-DE", True),
        ("de", "de-DE", True),
        ("de-AT", "de-DE", True),
        ("zh-Hant", "zh-TW", True),
        ("zh-HK", "zh-TW", True),
        ("zh-MO", "zh-TW", True),
        ("zh-Hans", "zh-CN", True),
        ("zh-SG", "zh-CN", True),
        ("zh", "zh-CN", True),
        ("en", "en-US", True),
        ("en-GB", "en-US", True),
        ("fr-CA", "fr-FR", True),
        ("pt-BR", "en-US", False),
        ("ar", "en-US", False),
    ],
)
def test_locale_parameter(param, expected, matched):
    got = resolve_locale(param, "ja-JP", AVAILABLE, "en-US")
    assert (got.locale, got.matched) == (expected, matched)


@pytest.mark.parametrize(
    ("header", "expected", "requested"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr-FR", "fr-CH"),
        ("pt-BR, de;q=0.5", "de-DE", "de"),
        ("en;q=0.1, ja;q=0.9", "ja-JP", "ja"),
        ("pt-BR", "en-US", "pt-BR"),
        ("", "en-US", None),
        ("*", "en-US", None),
        ("de;q=0, ja", "ja-JP", "ja"),
        ("garbage!!, ;;, fi;q=abc, sv", "sv-SE", "sv"),
    ],
)
def test_accept_language(header, expected, requested):
    got = resolve_locale(None, header, AVAILABLE, "en-US")
    assert (got.locale, got.requested) == (expected, requested)


def test_parameter_wins_over_header():
    assert resolve_locale("fi", "de-DE", AVAILABLE, "en-US").locale == "fi-FI"


@pytest.mark.parametrize("bad", ["x", "de--DE", "de DE", "a" * 36, "de-DE-" + "x" * 30, "日本"])
def test_malformed_tags(bad):
    with pytest.raises(BadLocale):
        normalize_tag(bad)


def test_accept_language_ordering_is_stable():
    assert parse_accept_language("de, fr, ja;q=1") == ["de", "fr", "ja"]
