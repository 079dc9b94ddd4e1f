"""The build's analysis fast paths give exactly the analyzer chains' tokens.

``helpapi.analysis.index_words``, ``index_grams`` and ``index_stems`` put each distinct word
through the real chains once and reuse the result (issue #14 item 5, build time). Queries keep
using the chains, so the index and the queries must agree token for token, offsets included:
these compare the two on texts that exercise every filter (splitting, elision, proclitics,
dotless i, orthography, non-BMP characters, bigram runs), twice (the second time from the
cache).
"""

from __future__ import annotations

import pytest

from helpapi.analysis import grams_analyzer
from helpapi.analysis import index_grams
from helpapi.analysis import index_stems
from helpapi.analysis import index_words
from helpapi.analysis import stems_analyzer
from helpapi.analysis import words_analyzer

TEXTS = [
    ("de-DE", "Öffnen Sie outlook.com, Allow_Recording und 8326.2146 — Straße STRASSE."),
    ("fr-FR", "L'utilisateur qu'il connaît; l’application d'Outlook: aujourd'hui."),
    ("tr-TR", "İstanbul ISPARTA ılık Iğdır dosya.txt"),
    ("he-IL", "הסיסמה וכשהמשתמש בסיסמה שינוי ה-Outlook"),
    ("ar-SA", "والإعدادات للمستخدم المرور كلمة أَمْن"),
    ("ja-JP", "Teams 通話の設定 𠮷野家 レコーディング ｶﾀｶﾅ Allow_Recording"),
    ("th-TH", "เปิดการตั้งค่า Outlook 8326.2146"),
    ("zh-CN", "打开设置。重置密码 a.b"),
    ("ru-RU", "Учётная запись Microsoft: пароль, ёлка"),
    ("de-DE", ""),
    ("de-DE", "Micro\u00adsoft Zero\u200bwidth"),
]


def _chain(analyzer, value):
    return [
        (t.text, t.pos, t.endchar)
        for t in analyzer(value, positions=True, chars=True, mode="index")
    ]


@pytest.mark.parametrize("locale, text", TEXTS)
def test_index_words_equals_the_words_chain(locale, text):
    want = _chain(words_analyzer(locale), text)
    assert index_words(locale)(text) == want
    assert index_words(locale)(text) == want  # from the cache


@pytest.mark.parametrize("locale, text", TEXTS)
def test_index_grams_equals_the_grams_chain(locale, text):
    assert index_grams(text) == _chain(grams_analyzer(), text)


@pytest.mark.parametrize("locale, text", TEXTS)
def test_index_stems_equals_the_stems_chain(locale, text):
    terms = [t for t, _, _ in index_words(locale)(text)]
    want = [t.text for t in stems_analyzer(locale)(text, mode="index")]
    assert index_stems(locale)(terms) == want
    assert index_stems(locale)(terms) == want


def test_pool_starts_bigram_locales_before_larger_spaced_ones(tmp_path):
    # ja-JP and zh-* cost more per byte (their text is indexed as bigrams too): the dev
    # corpus's zh-CN, its smallest folder in bytes, was started last and ended the build alone.
    from helpapi.indexer import _locale_cost

    for locale, size in (("de-DE", 1000), ("ja-JP", 900), ("sv-SE", 700)):
        (tmp_path / locale).mkdir()
        (tmp_path / locale / "a.md").write_bytes(b"x" * size)
    order = sorted(["de-DE", "ja-JP", "sv-SE"], key=lambda loc: -_locale_cost(tmp_path, loc))
    assert order == ["ja-JP", "de-DE", "sv-SE"]


def test_a_huge_word_is_analyzed_like_the_chain_but_not_kept():
    """The per-word caches count entries: a word as long as an article (hostile corpus) is
    analyzed each time instead of kept, split parts and all."""
    from helpapi import analysis

    word = "a." * 5000 + "b"
    text = f"short {word} short"
    fast = index_words("de-DE")
    got = fast(text)
    chain = words_analyzer("de-DE")(text, positions=True, chars=True, mode="index")
    assert got == [(t.text, t.pos, t.endchar) for t in chain]
    kept = {**fast._cache, **fast._single}  # words of several terms, words of one
    assert "short" in kept and word not in kept
    assert all(len(k) <= analysis._WORD_CACHE_MAX_CHARS for k in kept)
    stems = index_stems("de-DE")
    stems(["x" * 500, "kurz"])
    assert "kurz" in stems._cache and "x" * 500 not in stems._cache


def test_one_position_pickles_are_kept_for_small_positions_only():
    from whoosh.formats import Positions

    from helpapi import whoosh_writer

    fmt = Positions()
    far = whoosh_writer._ONE_POSITION_MAX + 5
    out = whoosh_writer._plist("text", [(0, 1.0, [far]), (1, 1.0, [3])], [7, 9], fmt)
    assert [fmt.decode_positions(v) for _, _, v, _ in out] == [[far], [3]]
    assert [fmt.decode_frequency(v) for _, _, v, _ in out] == [1, 1]
    assert far not in whoosh_writer._ONE_POSITION and 3 in whoosh_writer._ONE_POSITION
