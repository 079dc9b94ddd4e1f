"""A copied fragment's marks tell its source (issue 15, stop 20).

The index's positions hold words and bigrams only, so "nekad till en delad mapp" stands as
typed past the titles both in the body it was copied from and in one reading "Åtkomst
nekad" till en delad mapp" (a closing quote between the words), and "受信者]、[グループ" both
in "[受信者]、[グループ] の順に" and in "[受信者] > [グループ] 機能". Every such body got the
past-the-titles extra, and a title holding one of the words decided. Of those bodies, the
ones whose text also holds the marks typed keep the extra (helpapi.verbatim,
ranking.VERBATIM_GATE), reading at most ranking.VERBATIM_MAX_BYTES of bodies; of those, the
ones holding its spaces as typed when some do (ranking.VERBATIM_SPACES: "請與您的 財務機構"
copied from a body where the second run was emphasized).
"""

from __future__ import annotations

from helpapi import ranking
from helpapi import verbatim

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs

LATIN = "nekad till en delad mapp"
MENU = "受信者]、[グループ"
SPACED = "請與您的 財務機構"

CORPUS = {
    "sv-SE": {
        # A title holding a word of the fragment, its body the words in a row across a quote ...
        "quoted": md_article(
            "Felsöka meddelanden om nekad åtkomst",
            'Om någon fick meddelandet "Åtkomst nekad" till en delad mapp kan administratören '
            "ha ändrat behörigheterna för webbplatsen och mappen.",
        ),
        # ... and the body the fragment was copied from (longer, its title holding none).
        "source": md_article(
            "Extern delning av filer och mappar",
            "En extern användare kan få meddelandet att åtkomsten är nekad till en delad mapp "
            "när länken har gått ut eller när delningen har stängts av för hela organisationen "
            "av en administratör som hanterar inställningarna för extern delning.",
        ),
        **{
            f"filler-{i}": md_article(f"Anteckning {i}", f"Text nummer {i} om mappar.")
            for i in range(30)
        },
    },
    "ja-JP": {
        # A title holding a run twice, its body the runs in a row across another mark ...
        "other-path": md_article(
            "グループの一覧に配布グループが表示されない",
            "Exchange 管理センターの [受信者] > [グループ] 機能を利用してグループを管理します。",
        ),
        # ... and the body the menu path was copied from.
        "source": md_article(
            "配布リストにアドレスを追加する",
            "Exchange 管理センターで、[**受信者**]、[**グループ**] の順に移動し、変更する"
            "配布リストを選んでから保存します。",
        ),
        **{f"filler-{i}": md_article(f"メモ {i}", f"説明{i}の文章です。") for i in range(30)},
    },
    "zh-TW": {
        # A short body holding the runs with no space between them ...
        "unspaced": md_article("立即付款", "若有未決的付款，請與您的財務機構聯繫。"),
        # ... and the body copied from, the second run emphasized (a space each side of it
        # in the rendered text).
        "source": md_article(
            "管理卡和支付方式",
            "如果您的卡片有未決的付款，請與您的 **財務機構** 聯繫以解決問題，"
            "您可能需要與銀行核對國際交易是否已在卡片上啟用。",
        ),
        **{f"filler-{i}": md_article(f"附註 {i}", f"說明{i}的文字。") for i in range(30)},
    },
}


corpus = markdown_index_fixture("verbatim20", CORPUS)


def test_words_across_a_quote_are_not_the_fragment(corpus):
    assert search_slugs(corpus, LATIN, "sv-SE")[:2] == ["source", "quoted"]


def test_a_menu_path_ranks_the_body_holding_its_marks(corpus):
    assert search_slugs(corpus, MENU, "ja-JP")[:2] == ["source", "other-path"]


def test_the_spaces_typed_tell_the_source_when_a_body_holds_them(corpus):
    assert search_slugs(corpus, SPACED, "zh-TW")[:2] == ["source", "unspaced"]


def test_without_any_body_holding_the_marks_nothing_changes(corpus):
    # Marks no body holds as typed (the rendered text may not be what was copied): both
    # bodies holding the words keep their extra, so the title word decides as before.
    with_marks = search_slugs(corpus, "nekad; till en delad mapp", "sv-SE")
    assert with_marks[:2] == ["quoted", "source"]


def test_needles_leave_out_link_brackets_and_the_outer_marks():
    assert verbatim.needles(MENU) == ("受信者、グループ".encode(),) * 2
    spaced, bare = verbatim.needles('"Nekad till en \u3000 delad mapp?"')
    assert (spaced, bare) == (b"nekad till en delad mapp", b"nekadtillendeladmapp")
    assert verbatim.needles("帳單 \\> 購買服務")[0] == "帳單 > 購買服務".encode()
    assert verbatim.needles("a") == (b"", b"")


def test_bodies_past_the_byte_budget_keep_their_extra(corpus, monkeypatch):
    shown = corpus.display["sv-SE"]
    number = {shown.hit(d)[0]: d for d in range(shown.doc_count)}
    docs = [number["quoted"], number["source"]]
    assert verbatim.holders(shown, LATIN, docs) == {number["source"]}
    first = len(shown.folded_bytes(number["quoted"]))
    monkeypatch.setattr(ranking, "VERBATIM_MAX_BYTES", first)
    # Only the first body read: it does not hold the marks, nothing is known of the other.
    assert verbatim.holders(shown, LATIN, docs) is None
    monkeypatch.setattr(ranking, "VERBATIM_MAX_BYTES", 0)
    assert verbatim.holders(shown, LATIN, docs) is None
