"""Body fragments of no-space runs typed apart by spaces (issue 15, stop 19).

:func:`helpapi.engine.runs_in_body` gave its extra (ranking.RUN_BODY_BOOST) to a query of
several units only when it held punctuation: runs typed apart by spaces ("ビジネス サポート")
may be keywords, which other bodies hold in the order typed too ("フォルダー または
ファイル" above the article whose title holds every unit). Keywords are most often a title's
words; when no candidate's title holds every unit, the query is not a title's keywords, and
a body holding its runs as typed is the best evidence left (ranking.RUN_BODY_SPACED).
A run typed twice ("グループ > グループ", a menu path) is checked at both places
(ranking.RUN_BODY_REPEATS), as the words' in-order clause checks a repeated word.
"""

from __future__ import annotations

from helpapi import engine
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs

SPACED = "ビジネス サポート"
REPEATED = "連絡先 > 連絡先"
KEYWORDS = "グループ 設定"

CORPUS = {
    "ja-JP": {
        # One run of the fragment in a title, both near each other in its body ...
        "title-part": md_article("サポートの窓口", "ビジネスのサポートは平日です。"),
        # ... and the body the fragment was copied from, no run in its title.
        "body-source": md_article(
            "電話番号の一覧", "必要なビジネス サポートを受けるには、電話番号を確認します。"
        ),
        # Keywords of a title (every unit in it), and a body holding them as typed.
        "title-all": md_article("設定とグループの管理", "管理センターで変更します。"),
        "body-typed": md_article("メンバーの一覧", "グループ 設定を開いて、一覧を確認します。"),
        # A menu path repeating a run, copied from a body; a title holding the run, whose
        # body holds it once.
        "path-repeat": md_article("表示の切り替え", "[連絡先] > [連絡先] の順に選択します。"),
        "title-once": md_article("連絡先の管理", "連絡先を開いて編集します。"),
        **{f"filler-{i}": md_article(f"メモ {i}", f"説明{i}の文章です。") for i in range(40)},
    },
}


corpus = markdown_index_fixture("body19", CORPUS)


def slugs(ix, text: str, locale: str = "ja-JP") -> list[str]:
    return search_slugs(ix, text, locale)


def numbers(ix) -> dict[str, int]:
    shown = ix.display["ja-JP"]
    return {shown.hit(d)[0]: d for d in range(ix.mem["ja-JP"].doc_count)}


def test_spaced_runs_rank_the_body_holding_them_as_typed(corpus):
    # No title holds both runs: the body holding them one right after the other first.
    assert slugs(corpus, SPACED)[0] == "body-source"


def test_without_it_the_title_holding_one_run_wins(corpus, monkeypatch):
    monkeypatch.setattr(ranking, "RUN_BODY_SPACED", False)
    assert slugs(corpus, SPACED)[0] == "title-part"


def test_keywords_of_a_title_get_no_body_extra(corpus):
    # A title holds every unit: the query may be that title's keywords; the body holding
    # them in the order typed gets nothing, the title holder stays first.
    assert slugs(corpus, KEYWORDS)[0] == "title-all"
    mem, number = corpus.mem["ja-JP"], numbers(corpus)
    units = parse_user_text(KEYWORDS, "ja-JP")
    docs = list(range(mem.doc_count))
    in_body: dict[int, float] = {}
    engine.runs_in_body(mem, units, docs, in_body, "", False, titled=True)
    assert in_body == {}
    engine.runs_in_body(mem, units, docs, in_body, "", False, titled=False)
    assert number["body-typed"] in in_body


def test_a_run_typed_twice_stands_twice_in_its_source(corpus):
    # "連絡先" collapses to one unit; the body holding it at both places typed gets the extra,
    # a body holding it once does not.
    assert slugs(corpus, REPEATED)[0] == "path-repeat"
    mem, number = corpus.mem["ja-JP"], numbers(corpus)
    in_body: dict[int, float] = {}
    units = parse_user_text(REPEATED, "ja-JP")
    engine.runs_in_body(mem, units, list(range(mem.doc_count)), in_body, "", True, titled=False)
    assert set(in_body) == {number["path-repeat"]}


def test_without_repeats_the_title_holding_the_run_wins(corpus, monkeypatch):
    monkeypatch.setattr(ranking, "RUN_BODY_REPEATS", False)
    assert slugs(corpus, REPEATED)[0] == "title-once"


def test_a_run_typed_twice_with_spaces_only_is_spaced_keywords(corpus):
    # "連絡先 連絡先": one unit typed at two places, apart by a space only. No punctuation,
    # so it is keywords like any spaced query: a title holding every unit keeps the body
    # extra away, and the title holder stays first (stop 19 review).
    assert slugs(corpus, "連絡先 連絡先")[0] == "title-once"
    assert slugs(corpus, "連絡先")[0] == "title-once"


def _scores(ix, text: str) -> dict[str, float]:
    return {h["slug"]: h["score"] for h in search(ix, text, "ja-JP", limit=10)["results"]}


def test_the_title_guard_holds_with_the_coverage_boost_off(corpus, monkeypatch):
    # "A title holds every unit" was read off title_cover's extra scores: with
    # ranking.TITLE_COVER_BOOST 0 there were none, and the body holding the keywords as typed
    # got RUN_BODY_BOOST's extra. Each constant guards one thing.
    monkeypatch.setattr(ranking, "TITLE_COVER_BOOST", 0.0)
    guarded = _scores(corpus, KEYWORDS)
    monkeypatch.setattr(ranking, "RUN_BODY_BOOST", 0.0)
    assert _scores(corpus, KEYWORDS) == guarded
    units = parse_user_text(KEYWORDS, "ja-JP")
    mem, number = corpus.mem["ja-JP"], numbers(corpus)
    assert number["title-all"] in engine.title_shares(mem, units, list(range(mem.doc_count)))
