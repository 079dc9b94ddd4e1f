"""Body fragments mixing a Latin word and a no-space run (issue 15, stop 19).

"AD) のグループ" holds a word ("AD", the ``text`` field) beside a run ("のグループ", the
``grams`` field's bigrams): the two sit in different position spaces, so no check saw the
word standing right before the run, and every body holding the run got
:func:`helpapi.engine.runs_in_body`'s extra. The ``text`` field holds ICU's words of both
scripts in one position space: the query's words standing there in a row, past the titles,
is the fragment as typed (:func:`helpapi.engine.fragment_in_body`,
ranking.FRAGMENT_BODY_BOOST), and the runs' extra goes only to those bodies
(ranking.FRAGMENT_RUNS_GATE).
"""

from __future__ import annotations

from helpapi import engine
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.query import query_title_key

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs

MIXED = "AD) のグループ"
SPACED = "PST 檔案匯入至"

CORPUS = {
    "ja-JP": {
        # A title holding the word and the run, its body the run elsewhere ...
        "title-both": md_article(
            "Azure AD 役割へのグループの割り当て", "管理者のグループを選んでから割り当てます。"
        ),
        # ... and the body the fragment was copied from.
        "body-source": md_article(
            "ライセンスの問題", "Azure Active Directory (Azure AD) のグループに割り当てます。"
        ),
        **{f"filler-{i}": md_article(f"メモ {i}", f"説明{i}の文章です。") for i in range(40)},
    },
    "zh-TW": {
        # A title holding every unit (keywords?), its body not the fragment ...
        "title-all": md_article("將 .pst 檔案匯入至 Mac 版 Outlook", "開啟 Outlook 並選取檔案。"),
        # ... and the body it was copied from.
        "body-source": md_article("匯入服務", "您可以使用網路上傳將 PST 檔案匯入至信箱。"),
        **{f"filler-{i}": md_article(f"附註 {i}", f"說明{i}的文字。") for i in range(40)},
    },
}


corpus = markdown_index_fixture("fragment19", CORPUS)


def numbers(ix, locale: str) -> dict[str, int]:
    shown = ix.display[locale]
    return {shown.hit(d)[0]: d for d in range(ix.mem[locale].doc_count)}


def test_a_word_beside_a_run_ranks_the_body_holding_them_in_a_row(corpus):
    assert search_slugs(corpus, MIXED, "ja-JP")[0] == "body-source"


def test_only_the_source_holds_the_fragment(corpus):
    mem, number = corpus.mem["ja-JP"], numbers(corpus, "ja-JP")
    units = parse_user_text(MIXED, "ja-JP")
    in_body: dict[int, float] = {}
    docs = list(range(mem.doc_count))
    held = engine.fragment_in_body(mem, units, docs, in_body, query_title_key(MIXED, "ja-JP"))
    assert held == {number["body-source"]}
    assert in_body[number["body-source"]] > 0


def test_a_word_beside_a_run_typed_with_another_mark(corpus):
    # No body holds "AD）のグループ" with its marks as typed (the source reads "(Azure AD) の
    # グループ"): the verbatim check (helpapi.verbatim) tells nothing, the words in a row do.
    assert search_slugs(corpus, "AD）のグループ", "ja-JP")[0] == "body-source"


def test_without_the_gate_the_title_holder_wins(corpus, monkeypatch):
    monkeypatch.setattr(ranking, "FRAGMENT_RUNS_GATE", False)
    monkeypatch.setattr(ranking, "VERBATIM_GATE", False)  # (stop 20: it tells them apart too)
    assert search_slugs(corpus, MIXED, "ja-JP")[0] == "title-both"
    monkeypatch.setattr(ranking, "VERBATIM_GATE", True)
    assert search_slugs(corpus, "AD）のグループ", "ja-JP")[0] == "title-both"


def test_spaced_fragment_beats_a_title_holding_every_unit(corpus):
    assert search_slugs(corpus, SPACED, "zh-TW")[0] == "body-source"


def test_without_the_extra_the_title_holder_wins(corpus, monkeypatch):
    monkeypatch.setattr(ranking, "FRAGMENT_BODY_BOOST", 0.0)
    assert search_slugs(corpus, SPACED, "zh-TW")[0] == "title-all"


def test_not_for_a_word_being_typed_or_words_only(corpus):
    mem = corpus.mem["ja-JP"]
    docs = list(range(mem.doc_count))
    typing = parse_user_text(MIXED[:-1] + " AD", "ja-JP", prefix=True)
    assert engine.fragment_in_body(mem, typing, docs, {}, "x") is None
    words = parse_user_text("Azure AD", "ja-JP")
    assert engine.fragment_in_body(mem, words, docs, {}, "azure ad") is None
