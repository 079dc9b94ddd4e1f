"""The article cache (:mod:`helpapi.article_cache`): an incremental build re-analyzes only what
changed, writes byte for byte the index a build from scratch writes, and never serves a damaged
or stale entry."""

from __future__ import annotations

import shutil

from helpapi import article_cache
from helpapi.indexer import build_indexes

from .conftest import CORPUS
from .conftest import index_files
from .conftest import small_corpus

DATA = CORPUS.parent / "tests" / "data" / "corpora"


def _small_corpus(tmp_path, n=30):
    """A copy of the first ``n`` de-DE files and ``n`` fi-FI files of the dev fixture corpus."""
    return small_corpus(tmp_path, ("de-DE", "fi-FI"), n)


def _build(corpus, index_dir, **kw):
    return build_indexes(corpus, index_dir, jobs=1, **kw)


def test_a_warm_build_takes_every_article_from_the_cache_and_writes_the_same_files(tmp_path):
    corpus = _small_corpus(tmp_path)
    cold = _build(corpus, tmp_path / "cold")
    assert article_cache.cache_path(tmp_path / "cold", "de-DE").is_file()
    assert cold.locales["de-DE"].cached == 0
    warm = _build(corpus, tmp_path / "cold")
    assert warm.locales["de-DE"].cached == warm.locales["de-DE"].articles == 30
    fresh = _build(corpus, tmp_path / "fresh")
    for locale in ("de-DE", "fi-FI", "en-US"):
        assert index_files(tmp_path / "cold", locale) == index_files(tmp_path / "fresh", locale)
    assert fresh.locales["fi-FI"].cached == 0


def test_an_incremental_build_reanalyzes_only_the_edited_article(tmp_path):
    corpus = _small_corpus(tmp_path)
    _build(corpus, tmp_path / "ix")
    path = sorted((corpus / "de-DE").glob("*.md"))[3]
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n\nZusatzwortquasselstrippe steht hier.\n", encoding="utf-8")
    report = _build(corpus, tmp_path / "ix", incremental=True)
    assert "fi-FI" not in report.locales
    assert report.locales["de-DE"].cached == 29
    _build(corpus, tmp_path / "fresh")
    assert index_files(tmp_path / "ix", "de-DE") == index_files(tmp_path / "fresh", "de-DE")
    assert b"zusatzwortquasselstrippe" in index_files(tmp_path / "ix", "de-DE")["seg.trm"]


def test_a_damaged_cache_file_is_ignored(tmp_path):
    corpus = _small_corpus(tmp_path, n=10)
    _build(corpus, tmp_path / "ix")
    expected = index_files(tmp_path / "ix", "de-DE")
    cache = article_cache.cache_path(tmp_path / "ix", "de-DE")
    good = cache.read_bytes()
    damaged = [
        good[:-1] + bytes([good[-1] ^ 1]),  # a flipped bit in the payload
        good[: len(good) // 2],  # cut short
        b"",
        b"garbage" * 100,
        good[:8] + b"0" * 40 + good[48:],  # written by other code or libraries
    ]
    for data in damaged:
        cache.write_bytes(data)
        report = _build(corpus, tmp_path / "ix")
        assert report.locales["de-DE"].cached == 0
        assert index_files(tmp_path / "ix", "de-DE") == expected
    # ...and the build wrote a sound one again.
    assert _build(corpus, tmp_path / "ix").locales["de-DE"].cached == 10


def test_a_damaged_entry_is_not_used(tmp_path):
    corpus = _small_corpus(tmp_path, n=10)
    _build(corpus, tmp_path / "ix")
    expected = index_files(tmp_path / "ix", "de-DE")
    entries = article_cache.load(tmp_path / "ix", "de-DE")
    slugs = sorted(entries)
    key, link, blob = entries[slugs[0]]
    entries[slugs[0]] = (key, link, blob[: len(blob) // 2])  # unreadable
    entries[slugs[1]] = (key, link, entries[slugs[1]][2])  # another file's key
    entries[slugs[2]] = ("x", "y")  # not an entry at all
    key3, link3, _ = entries[slugs[3]]
    entries[slugs[3]] = (key3, link3, article_cache.pack({"nope": 1}, {}, {}))  # wrong fields
    assert article_cache.store(tmp_path / "ix", "de-DE", entries)
    report = _build(corpus, tmp_path / "ix")
    assert report.locales["de-DE"].cached == 6
    assert index_files(tmp_path / "ix", "de-DE") == expected


def test_a_changed_linked_source_is_analyzed_again(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "markdown", corpus)
    _build(corpus, tmp_path / "ix")
    locales = [p.name for p in corpus.iterdir() if p.is_dir() and p.name != "en-US"]
    counts = {loc: len(list((corpus / loc).rglob("*.md"))) for loc in locales}
    source = corpus / "en-US" / "reset-password.md"  # de-DE and ja-JP translate it
    source.write_text(
        source.read_text(encoding="utf-8") + "\n\nBrandnewsourceword here.\n", encoding="utf-8"
    )
    report = _build(corpus, tmp_path / "ix", incremental=True)
    _build(corpus, tmp_path / "fresh")
    for loc in locales:
        stats = report.locales[loc]
        # One translation of that source per locale is analyzed again, the others are not.
        assert stats.articles - stats.cached == 1
        assert index_files(tmp_path / "ix", loc) == index_files(tmp_path / "fresh", loc)
    assert report.locales["de-DE"].cached == counts["de-DE"] - 1 == 1


def test_the_cache_of_a_removed_locale_goes(tmp_path):
    corpus = _small_corpus(tmp_path, n=5)
    _build(corpus, tmp_path / "ix")
    shutil.rmtree(corpus / "fi-FI")
    _build(corpus, tmp_path / "ix", incremental=True)
    assert not article_cache.cache_path(tmp_path / "ix", "fi-FI").exists()
    assert article_cache.cache_path(tmp_path / "ix", "de-DE").exists()


def test_a_too_big_cache_is_not_kept(tmp_path, monkeypatch):
    corpus = _small_corpus(tmp_path, n=5)
    _build(corpus, tmp_path / "ix")
    monkeypatch.setattr(article_cache, "MAX_BYTES", 100)
    report = _build(corpus, tmp_path / "ix")
    assert report.locales["de-DE"].cached == 5  # read, but no longer kept
    assert not article_cache.cache_path(tmp_path / "ix", "de-DE").exists()


def test_a_change_of_the_facet_fields_is_not_served_from_the_cache(tmp_path, monkeypatch):
    # Facet labels are parsed fields: cached articles of other HELPAPI_FACETS must not be reused.
    corpus = _small_corpus(tmp_path)
    monkeypatch.setenv("HELPAPI_FACETS", "ms.topic")
    _build(corpus, tmp_path / "ix")
    monkeypatch.delenv("HELPAPI_FACETS")
    _build(corpus, tmp_path / "ix")
    _build(corpus, tmp_path / "fresh")
    for locale in ("de-DE", "fi-FI"):
        assert index_files(tmp_path / "ix", locale) == index_files(tmp_path / "fresh", locale)
