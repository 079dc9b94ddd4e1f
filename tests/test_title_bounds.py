"""A huge title (heading, front matter, HTML <title>) is cut to MAX_TITLE_CHARS with a repair
noted: a title is indexed whole as one term and in several title fields, so two 200 kB titles
made a 46 MB, 10 s index of two articles."""

from __future__ import annotations

from helpapi.corpus import MAX_TITLE_CHARS
from helpapi.corpus import parse_text
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

LONG = " ".join(f"wort{i}" for i in range(30000))  # about 260 kB


def test_a_huge_front_matter_title_is_cut_and_noted():
    article = parse_text(f"---\ntitle: {LONG}\n---\n# Kurz\n\nText.\n", "de-DE", "a")
    assert article.title == "Kurz"
    assert 0 < len(article.title_alias) <= MAX_TITLE_CHARS
    assert any("front matter title" in r and "cut" in r for r in article.repairs)


def test_a_huge_heading_and_html_title_are_cut_and_noted():
    md = parse_text(f"# {LONG}\n\nText.\n", "de-DE", "b")
    assert 0 < len(md.title) <= MAX_TITLE_CHARS and md.title.startswith("wort0 wort1")
    assert any("heading" in r for r in md.repairs)
    html = parse_text(
        f"<html><title>{LONG}</title><body><p>Text.</p></body></html>", "de-DE", "c", "html"
    )
    assert 0 < len(html.title) <= MAX_TITLE_CHARS


def test_an_index_of_huge_titles_stays_small_and_finds_their_start(make_corpus, tmp_path):
    corpus = make_corpus(
        {
            "de-DE": {
                "a": f"---\ntitle: {LONG}\n---\n# Kurz\n\nText hier.\n",
                "b": f"# {LONG}\n\nText.\n",
            }
        }
    )
    report = build_indexes(corpus, tmp_path / "ix", jobs=1)
    assert report.locales["de-DE"].size_bytes < 5_000_000  # 46 MB before the cut
    with open_current(tmp_path / "ix") as ixset:
        assert search(ixset, "wort0 wort1", "de-DE")["total"] == 2
