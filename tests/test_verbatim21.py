"""A copied fragment's brackets tell its source (issue 15, stop 21).

The body text of the index drops every bracket of the Markdown, so ``按一下 [ **下載發票 PDF** ]``
and ``按一下 **[下載發票]**`` both read "按一下 下載發票" there, and helpapi.verbatim could not
tell a fragment copied with "[ " from one copied with "[". The page (the stored HTML's text,
helpapi.page_text) keeps the brackets that are not a link's: of the bodies holding the
fragment, those whose page holds it with its brackets and spaces as typed win when some but
not all do (ranking.VERBATIM_LITERAL). A link's brackets vanish from the page as from the body
text, so a fragment copied from a link's text still matches as before.
"""

from __future__ import annotations

import pytest

from helpapi import page_text
from helpapi import ranking
from helpapi import verbatim
from helpapi.search import open_current
from helpapi.search import search

from .conftest import index_markdown
from .conftest import md_article

ZH_SPACED = "按一下 [ 下載發票"
ZH_TIGHT = "在 [篩選] 欄位中，輸入"
JA_TIGHT = "[フィルター] ボックスに名前"
DE_TIGHT = "auf [Speichern] und schließen"
DE_LINK = "Sie Einstellungen und wählen Sie danach das"
DE_LINK_TYPED = "Sie [Einstellungen] und wählen Sie danach das"
HOSTILE = "[ 甲乙 ] 丙丁"

CORPUS = {
    "zh-TW": {
        # A title holding a run, the body "[下載發票]" (no space inside the bracket) ...
        "tight-invoice": md_article(
            "下載發票", "2. 按一下 **[下載發票]** 以查看您的 PDF 發票複本。"
        ),
        # ... and the body copied from: "[ " then the emphasized run (the same body text).
        "spaced-invoice": md_article(
            "帳單與付款",
            "若要查看舊發票，請調整日期範圍。 按一下 [ **下載發票 PDF** ] 連結以查看發票，"
            "或在帳單頁面上選擇其他期間，以取得您組織過去的所有帳單記錄。",
        ),
        # The other way round: the title holder reads "[ 篩選 ]", the source "[篩選]".
        "spaced-filter": md_article("篩選更新通道", "在 [ **篩選** ] 欄位中，輸入 **Intune**。"),
        "tight-filter": md_article(
            "建立更新通道",
            "移至 Azure 入口網站，然後選取所有服務。 在 **[篩選]** 欄位中，輸入 **Intune**，"
            "然後選擇 Microsoft Intune，再選取您要建立的更新通道與部署時間表。",
        ),
        **{f"filler-{i}": md_article(f"附註 {i}", f"說明{i}的文字。") for i in range(30)},
    },
    "ja-JP": {
        "spaced": md_article(
            "フィルターの使い方", "[ **フィルター** ] ボックスに名前を入力します。"
        ),
        "tight": md_article(
            "ユーザーを検索する",
            "管理センターでユーザーを開き、**[フィルター]** ボックスに名前を入力してから、"
            "表示された一覧で目的のユーザーを選んで詳細を確認します。",
        ),
        **{f"filler-{i}": md_article(f"メモ {i}", f"説明{i}の文章です。") for i in range(30)},
    },
    "de-DE": {
        "spaced": md_article(
            "Dokumente speichern",
            "Ändern Sie das Dokument, klicken Sie dann auf [ **Speichern** ] und schließen Sie "
            "das Fenster, damit die Änderungen für alle Leser des Dokuments gelten.",
        ),
        "tight": md_article(
            "Eine Vorlage bearbeiten",
            "Ändern Sie die Felder der Vorlage, klicken Sie dann auf **[Speichern]** und "
            "schließen Sie das Fenster, damit die Änderungen für alle Benutzer gelten.",
        ),
        # A link's text (its brackets vanish from the page), and the same words in brackets.
        "link": md_article(
            "Ein Konto verwalten",
            "Öffnen Sie [Einstellungen](https://example.com/settings) und wählen Sie danach "
            "das Konto aus, dessen Daten Sie ändern möchten, und bestätigen Sie die Auswahl.",
        ),
        "bracketed": md_article(
            "Das Profil ändern",
            "Öffnen Sie [Einstellungen] und wählen Sie danach das Profil aus, dessen Bild Sie "
            "ändern möchten, und bestätigen Sie die Auswahl mit der Eingabetaste.",
        ),
        **{
            f"filler-{i}": md_article(f"Notiz {i}", f"Text Nummer {i} über Konten.")
            for i in range(30)
        },
    },
    "fi-FI": {
        # Hostile pages: a short body text, but links to 200 KB of URLs (compressed to a few
        # KB): the page's record inflates past the budget.
        **{
            f"hostile-{i}": md_article(
                f"Sivu {i}", f"{HOSTILE} " + f"[甲](https://example.com/{'x' * 2000}) " * 100
            )
            for i in range(3)
        },
        **{f"filler-{i}": md_article(f"Muistio {i}", f"Teksti {i}.") for i in range(5)},
    },
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The corpus above, indexed once for this module."""
    with open_current(index_markdown(tmp_path_factory, "verbatim21", CORPUS)) as ix:
        yield ix


def slugs(ix, text: str, locale: str) -> list[str]:
    return [h["slug"] for h in search(ix, text, locale, limit=10)["results"]]


@pytest.mark.parametrize(
    ("text", "locale", "first", "second"),
    [
        (ZH_SPACED, "zh-TW", "spaced-invoice", "tight-invoice"),
        (ZH_TIGHT, "zh-TW", "tight-filter", "spaced-filter"),
        (JA_TIGHT, "ja-JP", "tight", "spaced"),
        (DE_TIGHT, "de-DE", "tight", "spaced"),
    ],
)
def test_the_page_holding_the_brackets_as_typed_wins(
    corpus, monkeypatch, text, locale, first, second
):
    assert slugs(corpus, text, locale)[:2] == [first, second]
    # Without the tier, the title holding a word of the fragment decides (the body texts are
    # the same): what the tier changes.
    monkeypatch.setattr(ranking, "VERBATIM_LITERAL", False)
    assert slugs(corpus, text, locale)[:2] == [second, first]


def test_a_link_rendered_fragment_matches_as_before(corpus, monkeypatch):
    # Copied from the page (a link's brackets gone, no bracket typed): the tier has nothing
    # to compare, the answer is the one without it.
    assert verbatim.literal(DE_LINK) == b""
    with_tier = search(corpus, DE_LINK, "de-DE", limit=10)
    with_brackets = slugs(corpus, DE_LINK_TYPED, "de-DE")
    monkeypatch.setattr(ranking, "VERBATIM_LITERAL", False)
    assert search(corpus, DE_LINK, "de-DE", limit=10) == with_tier
    assert {h["slug"] for h in with_tier["results"][:2]} == {"link", "bracketed"}
    # Typed with brackets, the page showing them is where it was copied from (a link's
    # page shows none): first with the tier, whichever the body texts put first without.
    assert with_brackets[0] == "bracketed"
    assert set(slugs(corpus, DE_LINK_TYPED, "de-DE")[:2]) == {"link", "bracketed"}


def test_literal_keeps_brackets_and_spacing():
    assert verbatim.literal(ZH_SPACED) == "按一下 [ 下載發票".encode()
    assert verbatim.literal("«Öffne [Einstellungen]  und\u3000 X»") == (
        "öffne [einstellungen] und x".encode()
    )
    # (a backslash escape left out; the marks after the last letter too, as needles does)
    assert verbatim.literal("帳單 \\> 購買服務 [x]") == "帳單 > 購買服務 [x".encode()
    # No bracket: the page tells nothing the body text does not.
    assert verbatim.literal(DE_LINK) == b""


def numbers(ix, locale: str) -> dict[str, int]:
    shown = ix.display[locale]
    return {shown.hit(d)[0]: d for d in range(shown.doc_count)}


def test_a_page_is_read_within_the_bytes_left(corpus):
    number = numbers(corpus, "fi-FI")
    pages = page_text.Pages(corpus.searcher("fi-FI"))
    page, cost = pages.text(number["filler-0"], float(ranking.VERBATIM_PAGE_BYTES))
    assert page is not None and b"teksti 0." in page
    # Read whole, it holds the fragment: only the bound stops it.
    page, cost = pages.text(number["hostile-0"], float("inf"))
    assert verbatim.literal(HOSTILE) in page and cost > ranking.VERBATIM_PAGE_BYTES
    for limit in (0.0, 1_000.0, 50_000.0, float(ranking.VERBATIM_PAGE_BYTES)):
        page, cost = pages.text(number["hostile-0"], limit)
        # Not read past the limit (a record inflating beyond it is stopped there): at most
        # the record's fixed and compressed costs, or the limit and one inflated byte.
        packed = page_text._RECORD_COST + page_text._COMPRESSED_COST * len(
            page_text._packed(pages._column, number["hostile-0"])
        )
        assert page is None
        assert cost <= max(limit + page_text._INFLATED_COST, packed)


def test_hostile_pages_leave_the_holders_unchanged(corpus):
    shown = corpus.display["fi-FI"]
    number = numbers(corpus, "fi-FI")
    docs = [number[f"hostile-{i}"] for i in range(3)]
    pages = page_text.Pages(corpus.searcher("fi-FI"))
    # Every body holds the fragment; their pages are past the budget: none is preferred.
    assert all(len(shown.folded_bytes(d)) < 2_000 for d in docs)
    asked = []
    real = pages.text

    def reading(docnum, limit):
        page, cost = real(docnum, limit)
        asked.append((page, limit))
        return page, cost

    pages.text = reading
    assert verbatim.holders(shown, HOSTILE, docs, pages) == set(docs)
    # The first page is past the budget, so it is not read whole, and no other page is read
    # (every page holds the fragment: only the budget tells that nothing was read).
    assert asked == [(None, float(ranking.VERBATIM_PAGE_BYTES))]
    assert verbatim.holders(shown, HOSTILE, docs) == set(docs)


def test_a_minified_html_article_keeps_its_blocks_apart(tmp_path, monkeypatch):
    """A page's block tags stand for a break, as in the body text: a minified HTML article
    ("...here.</p><p>[Save]...") holds "here. [Save]" as much as a Markdown one does (the
    stop 21 review: the page read "here.[save]", and the tier put the Markdown one first)."""
    from helpapi.indexer import build_indexes

    source = tmp_path / "corpus" / "en-US"
    source.mkdir(parents=True)
    (source / "html-source.html").write_text(
        "<html><head><title>Export your contacts</title></head><body>"
        "<h1>Export your contacts</h1><p>Open the contacts page and click here.</p>"
        "<p>[Save] the file to your computer.</p></body></html>",
        encoding="utf-8",
    )
    (source / "md-other.md").write_text(
        "---\ntitle: Contacts overview\n---\n# Contacts overview\n\n"
        "Open the contacts page and click here. [Save] the file to your computer.\n",
        encoding="utf-8",
    )
    for i in range(5):
        (source / f"filler-{i}.md").write_text(
            f"---\ntitle: Note {i}\n---\n# Note {i}\n\nUnrelated text {i}.\n", encoding="utf-8"
        )
    build_indexes(tmp_path / "corpus", tmp_path / "ix", jobs=1)
    query = "click here. [Save] the file"
    with open_current(tmp_path / "ix") as ixset:
        shown = ixset.display["en-US"]
        number = {shown.hit(d)[0]: d for d in range(shown.doc_count)}
        pages = page_text.Pages(ixset.searcher("en-US"))
        page, _ = pages.text(number["html-source"], float("inf"))
        assert b"click here. [save] the file" in page
        on = [h["slug"] for h in search(ixset, query, "en-US", limit=3)["results"]]
        monkeypatch.setattr(ranking, "VERBATIM_LITERAL", False)
        off = [h["slug"] for h in search(ixset, query, "en-US", limit=3)["results"]]
    assert on == off


def test_fold_of_a_dotted_capital_i_is_the_simple_lowercase():
    """İ (U+0130) is the one character whose lowercase is two: fold gives "i", as re's
    IGNORECASE does, now through the C lowercase (the stop 21 review: one İ sent a whole page
    through a per-character loop); same length as the text, as before."""
    import _sre

    from helpapi.display import fold

    for text in ("İstanbul", "DİYARBAKIR İ", "中文İ[設定]", "i̇"):
        slow = "".join(chr(_sre.unicode_tolower(ord(c))) for c in text)
        assert fold(text) == fold(slow) and len(fold(text)) == len(text)
    assert fold("İstanbul") == "istanbul"


def test_a_record_past_the_bytes_left_is_refused_unread(corpus, monkeypatch):
    """Stop 22: a stored record whose compressed length alone passes the bytes left is refused
    from the column's table of lengths, its bytes never read (stop 21 copied one such record,
    of any size, before charging it)."""
    from whoosh.columns import VarBytesColumn

    number = numbers(corpus, "fi-FI")
    hostile = number["hostile-0"]
    reads = []
    real = VarBytesColumn.Reader.__getitem__

    def counted(self, docnum):
        packed = real(self, docnum)
        reads.append((docnum, len(packed)))
        return packed

    monkeypatch.setattr(VarBytesColumn.Reader, "__getitem__", counted)
    pages = page_text.Pages(corpus.searcher("fi-FI"))
    assert pages.text(hostile, float("inf"))[0] is not None
    [(_, size)] = reads
    opened = page_text._RECORD_COST + page_text._COMPRESSED_COST * size
    reads.clear()
    for limit in (0.0, 1_000.0, opened - 1):
        assert pages.text(hostile, limit) == (None, opened)
    assert reads == []
    # Within the bytes left, it is read (once).
    assert pages.text(hostile, opened)[1] >= opened and reads == [(hostile, size)]
    # In the gate: a page budget below the first page's record, and no page is read at all.
    reads.clear()
    monkeypatch.setattr(ranking, "VERBATIM_PAGE_BYTES", int(opened) - 1)
    shown = corpus.display["fi-FI"]
    docs = [number[f"hostile-{i}"] for i in range(3)]
    pages = page_text.Pages(corpus.searcher("fi-FI"))
    assert verbatim.holders(shown, HOSTILE, docs, pages) == set(docs)
    assert reads == []


class _Pages:
    """Pages that cost nothing to read: what helpapi.verbatim._literal charges besides."""

    def __init__(self, pages: dict[int, bytes]) -> None:
        self.pages, self.asked = pages, []

    def text(self, docnum: int, limit: float):
        self.asked.append(docnum)
        return self.pages[docnum], 0.0


def test_the_passes_over_a_page_count_against_its_budget():
    """Stop 22: the passes over a page's text after its read (the backslashes left out, the
    apostrophes unified, the search) are charged to the pages' budget before they are made
    (stop 21 charged the read only)."""
    page, other = b"x" * 10_000 + b" [a] b", b"y" * 20_000
    needle = verbatim.literal("[a] b")
    docs = [0, 1, 2]
    pages = _Pages({0: page, 1: other, 2: other})
    read = len(page) + 2 * len(other)
    for unify, per_byte in ((False, 1), (True, 1 + verbatim._UNIFY_COST)):
        budget = [1e9]
        assert verbatim._literal(pages, needle, unify, docs, budget) == {0}
        assert budget == [1e9 - per_byte * read]
    # The first page's passes fit, not the second's: it and the third are taken to hold it
    # (unsearched, as the pages past the budget), so none is preferred.
    pages.asked.clear()
    budget = [float(len(page) + len(other) - 1)]
    assert verbatim._literal(pages, needle, False, docs, budget) is None
    assert pages.asked == [0, 1] and budget[0] < 0
