"""Body fragments that repeat a word (issue 15, wave 2 of body quality).

Repeated units collapse (issue 12: the cost of a hostile query follows its distinct units), so
"Restaurer des fichiers ou des dossiers" scored as "restaurer des fichiers ou dossiers", a
sequence that stands in no article: the in-order boost of a copied fragment never fired. The
in-order check now takes the words as typed, repeats included (``Unit.at``,
:func:`helpapi.query.typed_order`), at most ranking.MAX_UNITS of them; scoring still counts each
word once, and each distinct word's positions are read once per document.
"""

from __future__ import annotations

import random

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.query import typed_order

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs
from .whoosh_oracle import proximity_query

FRAGMENT = "Restaurer des fichiers ou des dossiers"

CORPUS = {
    "fr-FR": {
        # The fragment as it stands, repeated "des" included, in a body ...
        "fragment-body": md_article(
            "Corbeille de OneDrive",
            "Vous pouvez restaurer des fichiers ou des dossiers supprimés depuis la corbeille.",
        ),
        # ... and every one of its words in a title, in another order.
        "title-all": md_article(
            "Dossiers ou fichiers : des outils pour restaurer", "Ouvrez le panneau et choisissez."
        ),
        **{f"filler-{i}": md_article(f"Note {i}", f"zapx{i} texte") for i in range(40)},
    },
}


corpus = markdown_index_fixture("body2", CORPUS)


def slugs(ix, text: str, locale: str = "fr-FR") -> list[str]:
    return search_slugs(ix, text, locale)


def test_fragment_repeating_a_word_finds_its_body(corpus):
    # Before: the second "des" was dropped, no in-order boost, the title holding every word won.
    assert slugs(corpus, FRAGMENT) == ["fragment-body", "title-all"]


def test_units_stay_collapsed_but_keep_the_typed_order():
    units = parse_user_text(FRAGMENT, "fr-FR")
    assert [u.term for u in units] == ["restaurer", "des", "fichiers", "ou", "dossiers"]
    assert [u.term for u in typed_order(units)] == [
        "restaurer",
        "des",
        "fichiers",
        "ou",
        "des",
        "dossiers",
    ]


def test_a_word_being_typed_moves_to_the_end_with_one_place():
    units = parse_user_text("reset pass reset", "en-US", prefix=True)
    assert [(u.term, u.prefix) for u in typed_order(units)] == [
        ("pass", False),
        ("reset", True),
    ]


def test_units_made_without_places_stand_once():
    units = [engine.Unit("word", "a", term="a"), engine.Unit("word", "b", term="b")]
    assert typed_order(units) == units


def test_a_repeat_flood_keeps_at_most_max_units_places():
    units = parse_user_text("to the " * 42, "en-US")
    assert [u.term for u in units] == ["to", "the"]
    typed = typed_order(units)
    assert len(typed) == ranking.MAX_UNITS
    assert [u.term for u in typed[:4]] == ["to", "the", "to", "the"]
    # Places that would leave a unit out of the in-order check: each unit once, as before.
    many = parse_user_text(" ".join(f"w{i} w{i}" for i in range(20)), "en-US")
    assert len(many) == ranking.MAX_UNITS
    assert typed_order(many) == many


def test_proximity_reads_each_distinct_word_once(corpus, monkeypatch):
    # A flood repeating two words reads no more positions than the two words typed once.
    mem = corpus.mem["fr-FR"]
    docs = [d for d, _ in engine.strict(mem, parse_user_text("des fichiers", "fr-FR"))]
    reads = []
    original = engine._proximity_lists

    def counting(*args):
        found, poslists = out = original(*args)
        reads.extend(map(len, poslists or ()))
        return out

    monkeypatch.setattr(engine, "_proximity_lists", counting)
    engine.proximity(mem, parse_user_text("des fichiers", "fr-FR"), docs)
    once = sum(reads)
    reads.clear()
    engine.proximity(mem, parse_user_text("des fichiers " * 30, "fr-FR"), docs)
    assert sum(reads) == once > 0


@pytest.mark.parametrize(
    "text",
    [FRAGMENT, "des fichiers des dossiers des", "restaurer restaurer des fichiers", "ou " * 20],
)
def test_in_order_clause_matches_whoosh(corpus, text):
    mem = corpus.mem["fr-FR"]
    searcher = corpus.searcher("fr-FR")
    units = parse_user_text(text, "fr-FR")
    ranked = engine.strict(mem, units)
    head = [d for d, _ in ranked[: ranking.RERANK_DEPTH]]
    prox = proximity_query(units)
    ours = engine.proximity(mem, units, head)
    theirs = (
        {}
        if prox is None
        else {h.docnum: h.score for h in searcher.search(prox, filter=set(head), limit=None)}
    )
    assert ours.keys() == theirs.keys()
    for d, s in theirs.items():
        assert ours[d] == pytest.approx(s, rel=1e-9)


def test_stands_as_typed_is_near_in_order():
    # The check of a sequence naming a list twice answers as near(..., 1, True) of the lists.
    rng = random.Random(15)
    for _ in range(2000):
        # Short and long lists: a few starts probe a long list (binary search), many shift it.
        sizes = [rng.choice((1, 2, 3, 40, 120)) for _ in range(3)]
        lists = [sorted(rng.sample(range(160), n)) for n in sizes]
        seq = [rng.randrange(3) for _ in range(rng.randint(2, 7))]
        expected = engine.near([lists[k] for k in seq], 1, True)
        assert engine.stands_as_typed(lists, seq) == expected, (lists, seq)
    assert engine.stands_as_typed([[0, 2, 7], [1, 3]], [0, 1, 0, 1])
    assert not engine.stands_as_typed([[0, 7], [1, 3]], [0, 1, 0, 1])
