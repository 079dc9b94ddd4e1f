"""The build's read side, made cheaper without changing a byte of any index (issue #14 item 5):
the analysis fast paths' direct word and stem functions give the chains' tokens, the English
index parses only the English side of each file, and each locale's files are checksummed by
the process that wrote them."""

from __future__ import annotations

import os

import pytest

from helpapi import analysis
from helpapi import generations
from helpapi import indexer
from helpapi.analysis import _IndexStems
from helpapi.analysis import _IndexWords
from helpapi.analysis import fold_diacritics
from helpapi.corpus import article_files
from helpapi.corpus import parse_article
from helpapi.corpus import parse_text
from helpapi.indexer import build_indexes

from .conftest import CORPUS
from .conftest import index_files
from .conftest import small_corpus

# Words that take each branch of the filters: elisions, split parts, NFKC changing a word's
# length (the ligature, the full-width letters), dotless i, joiners, marks, empty results.
TRICKY = [
    "l'utilisateur",
    "L\u2019Outlook.com",
    "d'",
    "qu'il",
    "jusqu'à",
    "outlook.com",
    "8326.2146",
    "Allow_Recording",
    "a..b",
    "x.",
    ".x",
    "'s",
    "ﬁle.txt",
    "ＡＢＣ.ｄｅｆ",
    "İstanbul",
    "ıspanak",
    "KIRMIZI",
    "\u200d",
    "\u0640",
    "café",
    "Ελληνικά",
    "сообщение",
    "通話",
    "l'ﬁle_x.y",
    "ǅemal.x",
    "n'importe·quoi",
    "a:b",
    "1,000.50",
]
LOCALES = ["de-DE", "fr-FR", "it-IT", "tr-TR", "en-US", "ja-JP", "fi-FI", "ca-ES", "uk-UA"]


def _corpus_words(locale: str, limit: int = 40) -> set[str]:
    words: set[str] = set()
    tokenizer = analysis.IcuWordTokenizer(locale)
    folder = CORPUS / locale if (CORPUS / locale).is_dir() else CORPUS / "de-DE"
    for slug, path in article_files(folder, CORPUS)[:limit]:
        article = parse_article(path, locale, slug)
        text = f"{article.title}\n{article.body}\n{article.english_body}"
        words.update(text[a:b] for a, b in tokenizer.segments(text))
    return words


@pytest.mark.parametrize("locale", LOCALES)
def test_the_direct_word_function_gives_the_chains_tokens(locale):
    words = _IndexWords(locale)
    assert words._word is not _IndexWords._word.__get__(words)  # the direct path is taken
    for raw in [*TRICKY, *sorted(_corpus_words(locale))]:
        assert words._word(raw) == _IndexWords._word(words, raw), raw


@pytest.mark.parametrize("locale", ["he-IL", "ar-SA", "fa-IR"])
def test_chains_with_other_filters_keep_the_chain(locale):
    words = _IndexWords(locale)
    assert words._word == _IndexWords._word.__get__(words)
    for raw in ["הסיסמה", "والإعدادات", "كتاب.com", *TRICKY]:
        assert words._word(raw) == _IndexWords._word(words, raw)


@pytest.mark.parametrize("locale", [*LOCALES, "he-IL", "ar-SA", "xx-YY"])
def test_the_direct_stem_function_gives_the_chains_stems(locale):
    stems = _IndexStems(locale)
    assert stems._direct is not None
    terms = {
        t.text
        for w in [*TRICKY, *_corpus_words(locale)]
        for t in analysis.words_analyzer(locale)(w)
    }
    for term in sorted(terms):
        assert stems._stems(term) == _IndexStems._stems(stems, term), term


def test_fold_diacritics_of_ascii_is_the_text():
    fold_diacritics.cache_clear()
    assert fold_diacritics("Outlook.com_x") == "Outlook.com_x"
    assert fold_diacritics("café") == "cafe"


def _english_fields(article) -> dict:
    keep = (
        "locale slug assetid refs english_title english_body english_markdown updated has_sxs"
        " format translation_of labels html"
    ).split()
    return {k: getattr(article, k) for k in keep}


def test_the_english_only_parse_gives_the_english_side_of_every_bundled_file():
    count = 0
    for locale in sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and "-" in p.name):
        for slug, path in article_files(CORPUS / locale, CORPUS):
            full = parse_article(path, locale, slug)
            english = parse_article(path, locale, slug, english_only=True)
            assert english.has_sxs == full.has_sxs
            if full.has_sxs:
                assert _english_fields(english) == _english_fields(full), path
                count += 1
    assert count > 100


def _sxs(key: str, local: str, english: str) -> str:
    """A side-by-side pair of spans."""
    return (
        f'<span data-ttu-id="{key}">{local}</span>'
        f'<span class="sxs-lookup"><span data-stu-id="{key}">{english}</span></span>'
    )


SXS = """---
title: {fm}
ms.assetid: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b
ms.date: 03/04/2021
ms.custom:
- '12345'
ms.audience: Admin
---
{heading}Text {body}
"""
BODY = _sxs("a1", "Lokaler Satz.", "English sentence.")


@pytest.mark.parametrize(
    "fm,heading",
    [
        ("Titel", "# " + _sxs("h", "Überschrift", "Heading") + "\n\n"),
        ("Titel", "# Nur lokal\n\n"),  # the English has the localized heading
        ("Titel", ""),  # no heading: the front matter's title
        ("''", ""),  # nothing: the slug's
    ],
)
def test_the_english_only_parse_takes_the_english_title_as_the_full_parse(fm, heading):
    text = SXS.format(fm=fm, heading=heading, body=BODY)
    full = parse_text(text, "de-DE", "folder/my-article")
    english = parse_text(text, "de-DE", "folder/my-article", english_only=True)
    assert full.has_sxs
    assert _english_fields(english) == _english_fields(full)


def test_the_english_only_parse_of_a_file_that_is_not_side_by_side():
    plain = parse_text("---\ntitle: T\n---\n# Titel\n\nText.\n", "de-DE", "a", "md", True)
    html = parse_text("<h1>T</h1><p>x</p>", "de-DE", "b", "html", True)
    assert not plain.has_sxs and not html.has_sxs


def _small_corpus(tmp_path, n=25):
    return small_corpus(tmp_path, ("de-DE", "fr-FR", "ja-JP"), n)


def test_the_english_index_is_the_same_as_with_full_parses(tmp_path, monkeypatch):
    corpus = _small_corpus(tmp_path)
    build_indexes(corpus, tmp_path / "fast", jobs=1)
    real = indexer.parse_article

    def full_parse(*args, **kwargs):  # the English side from a whole parse, as before
        args = args[:6]
        kwargs.pop("english_only", None)
        return real(*args, **kwargs)

    monkeypatch.setattr(indexer, "parse_article", full_parse)
    analysis.clear_index_caches()
    build_indexes(corpus, tmp_path / "full", jobs=1)
    for locale in ("en-US", "de-DE", "fr-FR", "ja-JP"):
        assert index_files(tmp_path / "fast", locale) == index_files(tmp_path / "full", locale), (
            locale
        )


def test_each_locale_is_checksummed_by_its_build_as_the_meta_records(tmp_path):
    corpus = _small_corpus(tmp_path, n=5)
    report = build_indexes(corpus, tmp_path / "ix", jobs=2)
    gen = tmp_path / "ix" / report.generation
    meta = generations.read_meta(gen)
    for locale, stats in report.locales.items():
        assert stats.files == generations.record_files(gen / locale)
        assert meta["locales"][locale]["files"] == stats.files


def test_a_pool_worker_builds_each_locale_in_a_forked_child(tmp_path):
    corpus = _small_corpus(tmp_path, n=5)
    out = tmp_path / "out"
    out.mkdir()
    stats = indexer._build_forked((str(corpus), "de-DE", str(out), None, None), {})
    assert stats.locale == "de-DE" and stats.articles == 5
    assert stats.files == generations.record_files(out / "de-DE")
    assert indexer._kept is None  # the child kept its objects, not this process


def test_a_forked_build_raises_the_childs_exception(tmp_path):
    corpus = _small_corpus(tmp_path, n=2)
    (tmp_path / "out" / "de-DE").mkdir(parents=True)
    with pytest.raises(FileExistsError):  # the locale's folder is there already
        indexer._build_forked((str(corpus), "de-DE", str(tmp_path / "out"), None, None), {})


def test_a_forked_build_that_dies_is_a_build_error(tmp_path, monkeypatch):
    monkeypatch.setattr(indexer, "build_locale", lambda *a, **k: os._exit(3))
    with pytest.raises(indexer.BuildError, match="de-DE: the build process ended without"):
        indexer._build_forked((str(tmp_path), "de-DE", str(tmp_path), None, None), {})


def test_a_pool_build_is_the_serial_build(tmp_path):
    corpus = _small_corpus(tmp_path, n=8)
    build_indexes(corpus, tmp_path / "serial", jobs=1)
    build_indexes(corpus, tmp_path / "pool", jobs=2)
    for locale in ("en-US", "de-DE", "fr-FR", "ja-JP"):
        assert index_files(tmp_path / "serial", locale) == index_files(tmp_path / "pool", locale), (
            locale
        )
