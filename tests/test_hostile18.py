"""Issue #12 item 2, stop 18: the worst hostile searches left (bench/hostile.py: the quoted
floods of ja-JP, the zh/ja chains) do less work; ordinary searches answer as before.

Every bound here is on work counted (phrase checks, score sums), never on a timing:

* the strict pass checks its phrases in the documents every other clause matches before any
  score is summed: a quoted phrase that holds nowhere leaves no sum to make;
* with several phrases, a document is checked until one fails, the phrase that failed last
  tried first on the next document: a flood beside a run that holds everywhere costs one check
  a document, not two.
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi.query import parse_user_text
from helpapi.search import open_current

from .conftest import index_markdown
from .conftest import md_article

# Every article holds the run について and the words of FLOOD, never in FLOOD's order.
FLOOD = "to the for and you see"
ARTICLES = 30


@pytest.fixture(scope="module")
def flood_index(tmp_path_factory):
    ja = {
        f"a{i}": md_article(
            f"記事{i} の設定",
            f"設定について説明します。 See you and the guide to apps for teams {i}.",
        )
        for i in range(ARTICLES)
    }
    en = {
        f"e{i}": md_article(f"Guide {i}", f"See you and the guide to apps for teams {i}.")
        for i in range(ARTICLES)
    }
    return index_markdown(tmp_path_factory, "hostile18", {"ja-JP": ja, "en-US": en})


class _Counts:
    """Phrase checks (``_LazyPhrase.lookup``) and term score sums (``_Term.added``) made."""

    def __init__(self, monkeypatch):
        self.lookups = self.sums = 0
        lookup, added = engine._LazyPhrase.lookup, engine._Term.added
        counts = self

        def counting_lookup(phrase, doc):
            counts.lookups += 1
            return lookup(phrase, doc)

        def counting_added(term, acc):
            counts.sums += 1
            return added(term, acc)

        monkeypatch.setattr(engine._LazyPhrase, "lookup", counting_lookup)
        monkeypatch.setattr(engine._Term, "added", counting_added)


def test_a_quoted_phrase_that_holds_nowhere_sums_no_score(flood_index, monkeypatch):
    with open_current(flood_index) as ixset:
        mem = ixset.mem["en-US"]
        units = parse_user_text(f'"{FLOOD}"', "en-US")
        counts = _Counts(monkeypatch)
        assert engine.strict(mem, units) == []
        # Every article holds every word: each is checked once, and no word's scores are
        # summed for a document the phrase then drops (6 sums a document before).
        assert counts.lookups == ARTICLES
        assert counts.sums == 0
        # Unquoted, the words hold everywhere: every sum is made.
        units = parse_user_text(FLOOD, "en-US")
        assert len(engine.strict(mem, units)) == ARTICLES


def test_a_phrase_that_fails_is_checked_first_on_the_next_document(flood_index, monkeypatch):
    with open_current(flood_index) as ixset:
        mem = ixset.mem["ja-JP"]
        units = parse_user_text(f'"{FLOOD}" について', "ja-JP")
        assert [u.kind for u in units].count("run") == 1
        counts = _Counts(monkeypatch)
        assert engine.strict(mem, units) == []
        # The run holds in every article, the quoted words in none: the first article checks
        # both, the others the quoted words only (2 * ARTICLES before).
        assert counts.lookups == ARTICLES + 1
        assert counts.sums == 0


def _reference(clauses: list) -> dict:
    """:func:`engine._intersect` the plain way: each clause evaluated whole, the scores
    summed in the order _intersect sums them (by size, ties in list order)."""
    whole = [dict(c.items()) for c in clauses]
    sizes = [c.end - c.start if type(c) is engine._Term else len(c) for c in clauses]
    order = sorted(range(len(clauses)), key=sizes.__getitem__)
    acc = dict(whole[order[0]])
    for i in order[1:]:
        acc = {d: s + whole[i][d] for d, s in acc.items() if d in whole[i]}
    return acc


@pytest.mark.parametrize(
    ("locale", "query"),
    [
        ("ja-JP", '"see you" について'),
        ("ja-JP", "設定について 説明"),
        ("ja-JP", '"guide to apps" 設定について 説明します'),
        ("en-US", '"see you" "the guide"'),
        ("en-US", '"guide to" apps "for teams"'),
    ],
)
def test_phrases_checked_first_give_the_same_documents_and_floats(flood_index, locale, query):
    with open_current(flood_index) as ixset:
        mem = ixset.mem[locale]
        text, grams = mem.fields["text"], mem.fields["grams"]
        units = parse_user_text(query, locale)
        clauses = []
        for u in units:
            if u.kind == "word":
                clauses.append(engine._term(text, u.term))
            else:
                clauses.append(engine._lazy_phrase(grams, u.grams))
        for n in sorted({u.phrase for u in units if u.phrase >= 0}):
            words = [u.term for u in units if u.phrase == n and u.kind == "word"]
            clauses.append(engine._lazy_phrase(text, words))
        assert all(clauses)
        want = _reference(clauses)
        assert len(want) == ARTICLES
        got = engine._intersect(clauses)
        assert got == want  # same documents, same floats
