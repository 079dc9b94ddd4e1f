"""Space and invisible characters that ICU's word breaking keeps inside a word.

UAX #29 gives U+202F NARROW NO-BREAK SPACE the ExtendNumLet class (since Unicode 11, for
Mongolian), so ICU glues it to the next word: "> \u202fpersonalisation" was one segment,
whose term (NFKC: U+202F is U+0020) started with a space and never matched. Bidi marks
(U+200E, Word_Break=Format) are glued to the word before them the same way.
"""

import unicodedata

import icu
import pytest

from helpapi import analysis
from helpapi.analysis import analyze
from helpapi.analysis import clean_text
from helpapi.analysis import index_words
from helpapi.analysis import words_analyzer
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import run_query

NNBSP = "\u202f"
LRM = "\u200e"

# Every space character (Zs, Zl, Zp) and every default-ignorable one (ZWJ, bidi marks, ...).
_SPACES = icu.UnicodeSet("[[:Z:][:Default_Ignorable_Code_Point:]-[:Cn:]]")


def _chars(uset):
    for lo, hi in uset.ranges():
        for c in range(ord(lo), ord(hi) + 1):
            yield chr(c)


def words(text, locale):
    return [t.text for t in words_analyzer(locale)(clean_text(text))]


@pytest.mark.parametrize("locale", ["uk-UA", "fr-FR", "en-US", "ja-JP", "mn-MN", "ar-SA"])
def test_no_term_starts_or_ends_with_a_space_or_an_invisible(locale):
    for char in _chars(_SPACES):
        for text in (f"abc{char}def", f"> {char}Abc", f"abc{char} »", f"10{char}000"):
            terms = [t["text"] for t in analyze(text, locale)]
            terms += [term for term, _, _ in index_words(locale)(clean_text(text))]
            for term in terms:
                ends = {unicodedata.category(term[0])[0], unicodedata.category(term[-1])[0]}
                assert not ends & {"Z", "C"}, (hex(ord(char)), term)


def test_narrow_no_break_space_separates_words():
    assert words(f"екран >{NNBSP}блокування > {NNBSP}персоналізації", "uk-UA") == [
        "екран",
        "блокування",
        "персоналізації",
    ]
    # French spacing before « : ; ! ? » and in numbers: the same words as with a plain space.
    assert words(f"«{NNBSP}Paramètres{NNBSP}» à 10{NNBSP}h", "fr-FR") == words(
        "« Paramètres » à 10 h", "fr-FR"
    )
    assert words(f"10{NNBSP}000", "fr-FR") == ["10", "000"]


def test_bidi_marks_are_not_part_of_a_term():
    assert words(f"{LRM}Microsoft{LRM} Forms", "sv-SE") == ["microsoft", "forms"]


def test_offsets_still_point_at_the_text_as_written():
    text = f"Ouvrez «{NNBSP}Paramètres{NNBSP}»"
    got = analyze(text, "fr-FR")
    assert [text[t["start"] : t["end"]] for t in got] == ["Ouvrez", "Paramètres"]


def test_word_after_narrow_no_break_space_is_found(tmp_path):
    body = (
        f"Перейдіть на екран >{NNBSP}блокування >{NNBSP}персоналізації, щоб змінити фон.\n\n"
        f"Відкрийте {LRM}Microsoft{LRM} Forms."
    )
    corpus = tmp_path / "corpus"
    (corpus / "uk-UA").mkdir(parents=True)
    (corpus / "uk-UA" / "lock-screen.md").write_text(
        f"---\ntitle: Екран блокування\n---\n# Екран блокування\n\n{body}\n", "utf-8"
    )
    (corpus / "uk-UA" / "other.md").write_text(
        "---\ntitle: Пароль\n---\n# Пароль\n\nЗмініть пароль користувача.\n", "utf-8"
    )
    index = tmp_path / "ix"
    build_indexes(corpus, index, jobs=1)
    with open_current(index) as ixset:
        for query in (
            "Перейдіть на екран > блокування > персоналізації",
            "персоналізації",
            "екран блокування персоналізації",
            "Microsoft Forms",
            f"екран >{NNBSP}блокування >{NNBSP}персоналізації",  # copied from the article
            f"{LRM}Microsoft{LRM} Forms",
        ):
            hits = run_query(ixset, query, "uk-UA", 10, 0, False)
            assert hits.total == 1, query
            assert not hits.relaxed, query
        reader = ixset.indexes["uk-UA"].reader()
        try:
            terms = [t.decode() for t in reader.lexicon("text")]
        finally:
            reader.close()
        assert terms and not [t for t in terms if t != t.strip()]


def test_incremental_build_rebuilds_an_index_of_another_analysis(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    for locale in ("uk-UA", "fr-FR"):
        (corpus / locale).mkdir(parents=True)
        (corpus / locale / "a.md").write_text(
            f"---\ntitle: Titre\n---\n# Titre\n\nÉcran >{NNBSP}verrouillage\n", "utf-8"
        )
    index = tmp_path / "ix"
    build_indexes(corpus, index, jobs=1)
    assert not build_indexes(corpus, index, jobs=1, incremental=True).switched  # nothing to do
    # The serving generation was made by another analysis (or before it was recorded).
    monkeypatch.setattr(analysis, "VERSION", analysis.VERSION + 1)
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert report.switched
    assert {"uk-UA", "fr-FR", "en-US"} <= set(report.locales)
    assert not build_indexes(corpus, index, jobs=1, incremental=True).switched
