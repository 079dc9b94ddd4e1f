"""The title-cover boost grows with the query's score scale (issue 15, stop 22).

A no-space run is scored by each of its bigrams in several fields, so the BM25 scores of a
Japanese keyword query run several times those of a Latin one, and a fixed
ranking.TITLE_COVER_BOOST let a title the query covers less of ("ユーザーのメール エイリアスを
変更する") win on its body's score over the title the keywords make up most of ("メール
エイリアスを追加する"). The boost is now ranking.TITLE_COVER_RELATIVE times the best title
holder's score per unit when that is more; not for runs with marks between them (copied text).
"""

from __future__ import annotations

from helpapi import engine
from helpapi import ranking
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs

CORPUS = {
    "ja-JP": {
        # The title the two keywords make up most of, its body about something else ...
        "specific": md_article(
            "メール エイリアスを追加する",
            "管理センターで追加の アドレスを設定します。"
            + "設定は数分で反映されます。画面の指示に従って保存してください。" * 12,
        ),
        # ... and a longer title holding them, its short body repeating them.
        "general": md_article(
            "ユーザーのメール エイリアスを変更する",
            "メール エイリアス。メール エイリアス。エイリアス メール。",
        ),
        **{f"filler-{i}": md_article(f"メモ {i}", f"説明{i}の文章です。") for i in range(100)},
    },
}

corpus = markdown_index_fixture("kw22", CORPUS)


def test_the_title_keywords_make_up_most_of_ranks_first(corpus):
    for query in ("エイリアス メール", "メール エイリアス"):
        assert search_slugs(corpus, query, "ja-JP")[:2] == ["specific", "general"]


def test_a_fixed_boost_loses_to_the_body_score(corpus, monkeypatch):
    monkeypatch.setattr(ranking, "TITLE_COVER_RELATIVE", 0.0)
    assert search_slugs(corpus, "エイリアス メール", "ja-JP")[:2] == ["general", "specific"]


def test_copied_runs_keep_the_fixed_boost(corpus, monkeypatch):
    # Marks between the runs: a fragment copied from a body, not keywords; the same scores
    # as with the scaling off.
    def scored():
        found = search(corpus, "エイリアス、メール", "ja-JP", limit=10)["results"]
        return [(h["slug"], h["score"]) for h in found]

    on = scored()
    monkeypatch.setattr(ranking, "TITLE_COVER_RELATIVE", 0.0)
    assert scored() == on


def test_cover_extra_takes_the_larger_boost(monkeypatch):
    monkeypatch.setattr(ranking, "TITLE_COVER_BOOST", 128.0)
    monkeypatch.setattr(ranking, "TITLE_COVER_POWER", 1.0)
    monkeypatch.setattr(ranking, "TITLE_COVER_RELATIVE", 8.0)
    assert engine.cover_extra({1: 0.5}) == {1: 64.0}
    assert engine.cover_extra({1: 0.5}, 10.0) == {1: 64.0}  # 8 x 10 < 128
    assert engine.cover_extra({1: 0.5}, 40.0) == {1: 160.0}
    monkeypatch.setattr(ranking, "TITLE_COVER_BOOST", 0.0)
    assert engine.cover_extra({1: 0.5}, 40.0) == {}


TITLES = {
    "de-DE": {
        "exact": md_article("Kennwort zurücksetzen", "Öffnen Sie die Einstellungen."),
        "outlook": md_article("Kennwort zurücksetzen in Outlook", "Kennwort in Outlook ändern."),
        "teams": md_article("Kennwort für Teams zurücksetzen", "Teams öffnen, Kennwort ändern."),
        **{f"filler-{i}": md_article(f"Notiz {i}", f"Text {i} über Dateien.") for i in range(40)},
    },
}

titles = markdown_index_fixture("kw22-titles", TITLES)


def test_a_whole_title_query_scales_by_its_words_not_by_the_title_boost(titles, monkeypatch):
    # "Kennwort zurücksetzen" is a whole title: its holder's strict score carries
    # SAME_TITLE_BOOST (384), which says nothing of the words' scale; counted in, every other
    # title holder's cover grew ~13x on real indexes (review of stop 22).
    tops = []
    real = engine.cover_extra

    def spy(shares, top=0.0):
        tops.append(top)
        return real(shares, top)

    monkeypatch.setattr(engine, "cover_extra", spy)
    assert search_slugs(titles, "Kennwort zurücksetzen", "de-DE")[0] == "exact"
    assert tops and 0 < tops[-1] < ranking.SAME_TITLE_BOOST / 4
    # With the title boost off, the same scale: the key's boost is all that was taken off.
    scaled = tops[-1]
    monkeypatch.setattr(ranking, "SAME_TITLE_BOOST", 0.0)
    search_slugs(titles, "Kennwort zurücksetzen", "de-DE")
    assert abs(tops[-1] - scaled) < 1e-6 * max(1.0, scaled)
