"""Body fragments of no-space scripts: the source's body holds them (issue 15, stop 18).

The strict pass matches a no-space run as a phrase of bigrams anywhere in an article, titles
included, and a title holding the run scores ranking.RUN_TITLE_BOOST on top. A fragment copied
from a body ("ドメインに送信された") then ranked an article whose *title* held it above the
article whose body it was copied from. Words have had that check (ranking.BODY_PHRASE_BOOST);
runs now have their own (:func:`helpapi.engine.runs_in_body`, ranking.RUN_BODY_BOOST): every
run standing whole past the document's titles, the same extra for every such document.
"""

from __future__ import annotations

from helpapi import engine
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.query import query_title_key
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs

FRAGMENT = "ドメインに送信された"
WHOLE = "共有フォルダーの同期を停止する"

CORPUS = {
    "ja-JP": {
        # The fragment in a title only ...
        "title-only": md_article(
            "特定のドメインに送信されたメールを暗号化する",
            "管理センターで規則を作成して、暗号化を有効にします。",
        ),
        # ... and in the body it was copied from, once ...
        "body-source": md_article(
            "メール配信の問題",
            "メッセージが外部のドメインに送信されたかどうかを確認してください。",
        ),
        # ... and in another body, three times.
        "body-thrice": md_article(
            "配信レポート",
            "ドメインに送信されたメッセージ。ドメインに送信された件数。ドメインに送信された日時。",
        ),
        # Two runs split by punctuation, as a menu path is copied: in a title, and in the
        # body of another article as typed (one right after the other) ...
        "path-title": md_article("受信者とグループの設定", "管理センターを開きます。"),
        "path-body": md_article(
            "配布リストの管理", "[受信者]、[グループ] の順に選択します。受信者を選びます。"
        ),
        # ... and in a third body, apart and in the other order.
        "path-apart": md_article(
            "メンバーの追加", "グループを開いて、メンバーを選びます。受信者の一覧を見ます。"
        ),
        # A title typed whole that another article's body quotes.
        "whole-title": md_article("共有フォルダーの同期を停止する", "設定を開いて選択します。"),
        "quotes-title": md_article(
            "同期のヘルプ", "「共有フォルダーの同期を停止する」を参照してください。"
        ),
        **{f"filler-{i}": md_article(f"メモ {i}", f"説明{i}の文章です。") for i in range(40)},
    },
}


corpus = markdown_index_fixture("body18", CORPUS)


def slugs(ix, text: str, locale: str = "ja-JP", prefix: bool = False) -> list[str]:
    return search_slugs(ix, text, locale, prefix=prefix)


def test_run_fragment_ranks_its_bodies_above_a_title_holding_it(corpus):
    # Before: "title-only" first (the run in its title scores RUN_TITLE_BOOST more).
    got = slugs(corpus, FRAGMENT)
    assert set(got[:2]) == {"body-source", "body-thrice"}
    assert got[2] == "title-only"


def test_without_the_boost_the_title_wins(corpus, monkeypatch):
    # The case the boost is for: off, the title holding the run comes first.
    monkeypatch.setattr(ranking, "RUN_BODY_BOOST", 0.0)
    assert slugs(corpus, FRAGMENT)[0] == "title-only"


def test_every_source_gets_the_same_extra(corpus):
    # A body repeating a common phrase is no likelier its source: one extra for all sources,
    # the title-only article none.
    mem = corpus.mem["ja-JP"]
    units = parse_user_text(FRAGMENT, "ja-JP")
    docs = {h["slug"]: None for h in search(corpus, FRAGMENT, "ja-JP")["results"]}
    shown = corpus.display["ja-JP"]
    numbers = {shown.hit(d)[0]: d for d in range(mem.doc_count)}
    in_body: dict[int, float] = {}
    engine.runs_in_body(mem, units, [numbers[s] for s in docs], in_body, titled=False)
    assert numbers["title-only"] not in in_body
    assert in_body[numbers["body-source"]] == in_body[numbers["body-thrice"]] > 0.0


def test_title_gram_ends_are_past_the_title_bigrams(corpus):
    mem = corpus.mem["ja-JP"]
    shown = corpus.display["ja-JP"]
    numbers = {shown.hit(d)[0]: d for d in range(mem.doc_count)}
    ends = engine.title_gram_ends(mem)
    # "メール配信の問題" is one run of 8 letters: bigrams at positions 0..6.
    assert ends[numbers["body-source"]] == 7


def test_short_runs_and_typing_get_no_extra():
    # Two bigrams or fewer: as short as a keyword (BODY_PHRASE_BOOST counts words beyond two).
    assert engine.run_body_boost(parse_user_text("設定", "ja-JP"), 1) == 0.0
    assert engine.run_body_boost(parse_user_text("設定の変更", "ja-JP"), 4) > 0.0
    typing = parse_user_text("設定の変更", "ja-JP", prefix=True)
    if any(u.prefix for u in typing):
        assert engine.run_body_boost(typing, 4) == 0.0


def test_runs_as_typed_rank_the_body_holding_them_in_order(corpus):
    # "path-title" holds both runs in its title (every unit: TITLE_BOOST + RUN_TITLE_BOOST);
    # "path-body" holds them one right after the other in its body, "path-apart" apart.
    got = slugs(corpus, "受信者]、[グループ")
    assert got[0] == "path-body"
    assert got.index("path-title") < got.index("path-apart")


def test_runs_as_typed_checks_order_and_adjacency():
    # Run 0's bigrams at 10, 11; run 1's (one position left between runs) at 13.
    assert engine._runs_as_typed([[10], [11], [13]], [0, 2, 3])
    assert not engine._runs_as_typed([[10], [11], [14]], [0, 2, 3])  # a letter between
    assert not engine._runs_as_typed([[10], [11], [5]], [0, 2, 3])  # the other order


def test_a_whole_title_typed_is_not_a_body_fragment(corpus):
    # The title typed whole: its article first, not the body quoting it.
    assert slugs(corpus, WHOLE)[0] == "whole-title"
    mem = corpus.mem["ja-JP"]
    units = parse_user_text(WHOLE, "ja-JP")
    in_body: dict[int, float] = {}
    docs = list(range(mem.doc_count))
    engine.runs_in_body(mem, units, docs, in_body, titled=False)
    assert in_body  # the quoting body holds it
    in_body.clear()
    engine.runs_in_body(mem, units, docs, in_body, query_title_key(WHOLE, "ja-JP"), titled=False)
    assert in_body == {}


def test_runs_typed_apart_by_spaces_only_may_be_keywords(corpus):
    # The same two runs without the punctuation, and a title ("path-title") holding both:
    # keywords of that title as likely as a copied fragment, no extra; with the punctuation,
    # the body holding them as typed gets one (tests/test_body19.py: no title holding both).
    mem = corpus.mem["ja-JP"]
    docs = list(range(mem.doc_count))
    for text, copied in (("受信者 グループ", False), ("受信者]、[グループ", True)):
        assert engine.punctuated(text) is copied
        in_body: dict[int, float] = {}
        units = parse_user_text(text, "ja-JP")
        engine.runs_in_body(mem, units, docs, in_body, "", copied, titled=True)
        assert bool(in_body) is copied
    # A mark inside a word is part of the word ("Outlook.com" in a keyword query).
    assert not engine.punctuated("エクスポート Outlook.com Wi-Fi")
    assert engine.punctuated("請移至 帳單 > 購買服務")
    assert engine.punctuated("受信者、グループ")  # between words of a no-space script
