"""Keyword queries (stop 18): titles holding every word, told apart by the title alone.

Two properties, in every script:

* A title holding every unit of the query, but more words too, scores by how much of it the
  query makes up (ranking.TITLE_COVER_BOOST), not again by the proximity clauses: the text
  starts with the titles, so those found the words near each other in that same title, and
  as typed in the title that lists them in the order typed (ranking.TITLE_HOLDER_IN_ORDER).
  A title typed whole keeps them.
* A unit typed twice covers two of a title's places of it (ranking.TITLE_COVER_REPEATS).

Hand-written corpus (English, Chinese: a spaced script and a no-space one).
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs

CORPUS = {
    "en-US": {
        # The keywords in the order typed, inside a longer title.
        "typed-order": md_article(
            "Printer network share settings for the office",
            "Pick a printer. Check the network. Share it with the team. Or share the printer "
            "on the office network.",
        ),
        # The same keywords in another order, in a title made mostly of them.
        "other-order": md_article(
            "Share the printer on the office network",
            "Pick a printer. Check the network. Share it with the team.",
        ),
        # A word twice in the title.
        "twice": md_article(
            "Move mail from Outlook for Windows to Outlook for Mac",
            "Export the mail, then import it.",
        ),
        "once": md_article(
            "Turn off mail add-ins in Outlook for Windows",
            "Open the add-ins list and turn them off.",
        ),
    },
    "zh-CN": {
        "zh-twice": md_article("创建组织关系以便与另一个组织协作", "打开设置。"),
        "zh-once": md_article("创建包含组织中所有人的团队", "打开设置。"),
    },
}


kw = markdown_index_fixture("kw18", CORPUS)


def slugs(ix, text: str, locale: str = "en-US") -> list[str]:
    return search_slugs(ix, text, locale)


def test_title_order_is_not_scored_again(kw):
    # Both titles hold the three keywords; "typed-order" lists them as typed, which the
    # proximity clauses used to score in its title (the in-order boost): it ranked first.
    # The title they make up more of ranks first.
    assert slugs(kw, "printer network share") == ["other-order", "typed-order"]


def test_title_holders_keep_proximity_when_asked(kw, monkeypatch):
    monkeypatch.setattr(ranking, "TITLE_HOLDER_IN_ORDER", True)
    assert slugs(kw, "printer network share") == ["typed-order", "other-order"]


def test_title_typed_whole_keeps_its_proximity(kw, monkeypatch):
    # The query is the whole title (full cover): it keeps the proximity clauses, as the
    # whole-title boost was chosen with them.
    def top():
        found = search(kw, "Share the printer on the office network", "en-US")["results"]
        return found[0]["slug"], found[0]["score"], len(found)

    now = top()
    assert now[0] == "other-order" and now[2] == 2
    monkeypatch.setattr(ranking, "TITLE_HOLDER_IN_ORDER", True)
    assert top() == now


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("Windows Outlook Outlook", "en-US", ["twice", "once"]),
        ("组织 组织 创建", "zh-CN", ["zh-twice", "zh-once"]),
    ],
)
def test_a_word_typed_twice_covers_two_places(kw, text, locale, expected):
    # Typed once, the shorter title ranks first (see the next test); typed twice, the title
    # holding it twice is covered more.
    assert slugs(kw, text, locale) == expected


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("Windows Outlook", "en-US", ["once", "twice"]),
        ("组织 创建", "zh-CN", ["zh-once", "zh-twice"]),
    ],
)
def test_a_word_typed_once_covers_one_place(kw, text, locale, expected):
    assert slugs(kw, text, locale) == expected


def test_repeat_share(kw, monkeypatch):
    # "movemailfromoutlookforwindowstooutlookformac": 44 letters; the query covers
    # "outlook" twice and "windows" once, 21 of them.
    mem = kw.mem["en-US"]
    units = parse_user_text("Outlook Windows Outlook", "en-US")
    docs = list(range(mem.doc_count))
    twice = max(engine.title_cover(mem, units, docs).values())
    share = (21 / 44) ** ranking.TITLE_COVER_POWER
    assert twice == pytest.approx(ranking.TITLE_COVER_BOOST * share)
    monkeypatch.setattr(ranking, "TITLE_COVER_REPEATS", False)
    assert twice not in engine.title_cover(mem, units, docs).values()
