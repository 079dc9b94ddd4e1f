"""Golden ranking, wave 2: title coverage (ranking.TITLE_COVER_BOOST, helpapi.engine.title_cover)
and fragments found in a body (ranking.BODY_PHRASE_BOOST, helpapi.engine.body_phrase_boost).

A short query's words stand in many titles; of the titles holding every one of them, the one
they make up most of ranks first, even when a longer title's body repeats the words more. A
longer fragment found whole in one article's body ranks that article above another whose long
title happens to hold it.
Hand-written corpus (English, German, Japanese: a spaced script, compounds, a no-space script
with Latin words), so the behaviour is checked by the property it relies on, not by a corpus.
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article

SYNC = "SharePoint and OneDrive sync files. " * 8

CORPUS = {
    "en-US": {
        "short": md_article("SharePoint and OneDrive storage", "Files live in the cloud."),
        "long": md_article(
            "Fix slow SharePoint and OneDrive sync on shared office computers at work",
            SYNC + "Restart SharePoint, then OneDrive. Open OneDrive SharePoint sync.",
        ),
        # Holds one word only in its title: no coverage, whatever its length.
        "partial": md_article("OneDrive", "OneDrive works with SharePoint. " * 2),
        # A fragment inside a long title vs the same fragment in a body.
        "fragment-in-title": md_article(
            "Why I cannot turn on the backup schedule for shared team files and folders in the "
            "new admin portal",
            "Backups run at night.",
        ),
        "fragment-in-body": md_article(
            "Protect your documents",
            "To keep copies, turn on the backup schedule in the app. Copies are kept a month.",
        ),
    },
    "de-DE": {
        "kurz": md_article("Drucker im Netzwerk freigeben", "Öffnen Sie die Einstellungen."),
        "lang": md_article(
            "Drucker und Scanner im Netzwerk für alle Benutzer einer Abteilung freigeben",
            "Drucker freigeben im Netzwerk. Netzwerk freigeben Drucker. Drucker freigeben.",
        ),
    },
    "ja-JP": {
        "jp-short": md_article("SharePoint と OneDrive", "クラウドに保存します。"),
        "jp-long": md_article(
            "SharePoint と OneDrive で大きなファイルを同期するときの問題を解決する方法",
            "SharePoint と OneDrive を開きます。OneDrive SharePoint を同期します。" * 4,
        ),
        "run-short": md_article("録画設定の変更", "ここで変更します。"),
        "run-long": md_article(
            "会議の録画設定の変更と保存先についてのよくある質問",
            "録画設定の変更は管理者が行います。設定録画を保存します。" * 4,
        ),
    },
}


golden = markdown_index_fixture("golden2", CORPUS)


def slugs(ix, text: str, locale: str = "en-US", prefix: bool = False) -> list[str]:
    found = search(ix, text, locale, limit=10, prefix=prefix)
    return [h["slug"] for h in found["results"]]


def test_most_covered_title_ranks_first(golden):
    # Both titles hold every word; the longer one's body repeats them, as typed (more BM25
    # and the in-order clause): without coverage it ranks first.
    assert slugs(golden, "OneDrive SharePoint")[:2] == ["short", "long"]
    assert slugs(golden, "freigeben Drucker Netzwerk", "de-DE") == ["kurz", "lang"]


def test_latin_words_in_a_no_space_script_title(golden):
    # Latin words in a Japanese title: the title they make up most of (the other's body
    # holds them as typed).
    assert slugs(golden, "OneDrive SharePoint", "ja-JP") == ["jp-short", "jp-long"]


def test_runs_cover_a_no_space_title(golden):
    # No-space runs as the units: the title that is little more than the runs first.
    assert slugs(golden, "設定 録画", "ja-JP") == ["run-short", "run-long"]


def test_title_holding_some_words_gets_no_coverage(golden):
    # "OneDrive" alone is all of the "partial" title, but the query asks for SharePoint too.
    assert slugs(golden, "OneDrive SharePoint")[-1] == "partial"


def test_coverage_is_off_while_typing(golden):
    # A word being typed: TITLE_START_BOOST's business; no coverage is added.
    ix = golden
    mem = ix.mem["en-US"]
    from helpapi.query import parse_user_text

    units = parse_user_text("sharepoint onedr", "en-US", prefix=True)
    assert engine.title_cover(mem, units, list(range(mem.doc_count))) == {}


def test_coverage_share_of_the_localized_title(golden, monkeypatch):
    # The share is of the title's letters: the whole short title scores the whole boost.
    from helpapi.query import parse_user_text

    mem = golden.mem["ja-JP"]
    units = parse_user_text("OneDrive SharePoint", "ja-JP")
    cover = engine.title_cover(mem, units, list(range(mem.doc_count)))
    assert len(cover) == 2
    share = (18 / 19) ** ranking.TITLE_COVER_POWER
    assert max(cover.values()) == pytest.approx(ranking.TITLE_COVER_BOOST * share)
    monkeypatch.setattr(ranking, "TITLE_COVER_BOOST", 0.0)
    assert engine.title_cover(mem, units, list(range(mem.doc_count))) == {}


def test_fragment_in_a_body_beats_a_title_holding_it(golden):
    # Five words as typed: in "fragment-in-title"'s title, in "fragment-in-body"'s body. The
    # copied fragment's source is the body that holds it; two words are not a fragment.
    assert slugs(golden, "turn on the backup schedule") == [
        "fragment-in-body",
        "fragment-in-title",
    ]
    assert slugs(golden, "backup schedule") == ["fragment-in-title", "fragment-in-body"]


def test_title_ends_count_every_title(golden):
    # The text's positions below a document's title end are its titles' (localized, English,
    # front matter): the body starts with the front matter's title, counted too.
    mem = golden.mem["en-US"]
    ends = engine.title_ends(mem)
    assert len(ends) == mem.doc_count
    assert min(ends) >= 1
