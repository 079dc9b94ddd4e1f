"""Golden ranking for body fragments (issue 15): text copied from an article finds it.

Each case is decided by one constant of :mod:`helpapi.ranking` (``bench/ranking_mutations.py``
sets it to its neutral value and a case here fails):

* ``EXACT_BOOST_PER_WORD``: a long fragment found whole, in order, in one article's body
  outranks another article whose title holds all its words in another order;
* ``RUN_TITLE_PARTIAL``: a fragment of a no-space script that shares only a piece with another
  article's title does not rank that article first;
* ``PROXIMITY_BOOST_PER_RUN``: four runs standing together outrank the same runs repeated apart.
"""

from __future__ import annotations

from helpapi import ranking
from helpapi.engine import phrase_boost
from helpapi.engine import run_title_boosts
from helpapi.query import parse_user_text
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article

LONG_TITLE = "Reset your password for a user account in Microsoft admin center today"

CORPUS = {
    "en-US": {
        # The fragment as it stands, in a body.
        "fragment-body": md_article(
            "Mailbox limits", "When the calendar stops syncing on the phone, sign out and in again."
        ),
        # Every word of the fragment in a title, in another order.
        "title-all": md_article(
            "The phone calendar stops syncing on a laptop", "Open the app and check the account."
        ),
        # A title of twelve words typed whole (a long body: its own words score little there)
        # vs those words in order once in a short body.
        "whole-title": md_article(
            LONG_TITLE, "Open the panel. " + " ".join(f"zapy{i}" for i in range(300))
        ),
        "title-in-body": md_article("Sign-in help", LONG_TITLE.lower() + "."),
        # Other articles, so that the words are rare (BM25 scores as in a real index).
        **{f"filler-{i}": md_article(f"Filler {i}", f"zapx{i} note") for i in range(40)},
    },
    "ja-JP": {
        # The fragment "Mac のインストール方法" twice in a body ...
        "menu-body": md_article(
            "その他の設定", "Mac のインストール方法を説明します。Mac のインストール方法は簡単です。"
        ),
        # ... and its second unit only in a title ("Office のインストール方法").
        "title-part": md_article("Office のインストール方法", "Mac でも使えます。"),
        # Four runs together, once, in a longer text ...
        "runs-together": md_article(
            "ヘルプ一", "通話 録音 保存 共有を行います。" + "ほかの説明です。" * 20
        ),
        # ... and each of them six times, never together, in a short one.
        "runs-apart": md_article(
            "ヘルプ二", "通話と録音。" * 6 + "ほかの機能もあります。" + "保存と共有。" * 6
        ),
    },
}


corpus = markdown_index_fixture("body", CORPUS)


def slugs(ix, text: str, locale: str = "en-US", prefix: bool = False) -> list[str]:
    found = search(ix, text, locale, limit=10, prefix=prefix)
    return [h["slug"] for h in found["results"]]


def test_long_fragment_in_order_beats_title_holding_its_words(corpus):
    # EXACT_BOOST_PER_WORD: six words as they stand in a body outweigh the title boost of an
    # article whose title holds them all, reordered (at the flat EXACT_BOOST it wins).
    assert slugs(corpus, "calendar stops syncing on the phone") == ["fragment-body", "title-all"]


def test_long_title_typed_whole_beats_its_words_in_a_body(corpus):
    # PHRASE_MAX_EXTRA: unbounded, twelve words in order score 21.5 times their BM25 sum (7.5
    # at 3) and outweigh SAME_TITLE_BOOST.
    assert slugs(corpus, LONG_TITLE) == ["whole-title", "title-in-body"]


def test_query_being_typed_is_not_a_copied_fragment(corpus):
    # The same words, the last one still being typed: no length bonus, the title ranks first.
    assert slugs(corpus, "calendar stops syncing on the pho", prefix=True) == [
        "title-all",
        "fragment-body",
    ]


def test_cjk_fragment_sharing_a_piece_with_a_title_finds_the_body(corpus):
    # RUN_TITLE_PARTIAL: the title holds the run but not "Mac": it scores nothing for it.
    assert slugs(corpus, "Mac のインストール方法", "ja-JP") == ["menu-body", "title-part"]


def test_cjk_run_alone_still_scores_in_a_title(corpus, monkeypatch):
    # A one-unit query: the title holding it is about it (RUN_TITLE_BOOST as before). Stop 18:
    # a run standing whole in a body past its titles scores RUN_BODY_BOOST there
    # (tests/test_body18.py), so "menu-body" now leads; without that, the title's boost shows.
    monkeypatch.setattr(ranking, "RUN_BODY_BOOST", 0.0)
    assert slugs(corpus, "のインストール方法", "ja-JP")[0] == "title-part"


def test_four_runs_together_beat_repeats_apart(corpus):
    # PROXIMITY_BOOST_PER_RUN: at the flat PROXIMITY_BOOST the six repeats win.
    assert slugs(corpus, "通話 録音 保存 共有", "ja-JP") == ["runs-together", "runs-apart"]


def test_phrase_boost_grows_with_length_unless_typing():
    units = parse_user_text("calendar stops syncing on the phone", "en-US")
    base, per = ranking.EXACT_BOOST, ranking.EXACT_BOOST_PER_WORD
    assert phrase_boost(units, base, per, 2) == base
    assert phrase_boost(units, base, per, 4) == base + 2 * per
    cap = ranking.PHRASE_MAX_EXTRA
    assert phrase_boost(units, base, per, 6) == base + min(4, cap) * per
    assert phrase_boost(units, base, per, 30) == base + cap * per
    typing = parse_user_text("calendar stops syncing on the pho", "en-US", prefix=True)
    assert phrase_boost(typing, base, per, 6) == base


def test_run_title_boosts_by_pass():
    two = parse_user_text("Mac のインストール方法", "ja-JP")
    one = parse_user_text("のインストール方法", "ja-JP")
    every = ranking.TITLE_BOOST + ranking.RUN_TITLE_BOOST
    assert run_title_boosts(two) == (every, False)
    # The relaxed pass: no title holds every unit there; a title holding some still counts.
    assert run_title_boosts(two, relaxed=True) == (ranking.TITLE_BOOST, True)
    assert run_title_boosts(one) == (0.0, True)
