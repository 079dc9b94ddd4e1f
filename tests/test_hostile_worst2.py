"""Issue #12 item 2, second round: the worst hostile searches left after
tests/test_hostile_worst.py (quoted floods of frequent words, bench/hostile.py) read a bounded
number of positions, term look-ups and characters, whatever their words; ordinary searches
answer as before.

Every bound here is on work counted (positions read, look-ups made, occurrences found),
never on a timing:

* a quoted phrase is checked word by word, rarest first, each word looked up only while the
  phrase may still hold (a flood fails on its first pair, not after 16 look-ups);
* the strict pass's phrase checks stop after ranking.PHRASE_MAX_POSITIONS positions;
* a snippet of a flood scans the text only as far as its window can reach.
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi import search as hs
from helpapi import snippets
from helpapi.query import parse_user_text

from .test_hostile_worst import _fit
from .test_hostile_worst import _frequent


def _candidates(mem, units) -> int:
    """Documents holding every word of ``units`` (those a phrase check may look at)."""
    text = mem.fields["text"]
    return len(engine._intersect([engine._term(text, u.term) for u in units]))


class _Probes:
    """Counts the term look-ups (``_Term.find`` and the finders made by ``_Term.finder``)."""

    def __init__(self, monkeypatch):
        self.count = 0
        find, finder = engine._Term.find, engine._Term.finder
        probes = self

        def counting_find(term, doc):
            probes.count += 1
            return find(term, doc)

        def counting_finder(term, n):
            got = finder(term, n)
            if getattr(got, "__func__", None) is counting_find:
                return got  # (already counted)

            def look(doc):
                probes.count += 1
                return got(doc)

            return look

        monkeypatch.setattr(engine._Term, "find", counting_find)
        monkeypatch.setattr(engine._Term, "finder", counting_finder)


def _count_positions(monkeypatch, field) -> list[int]:
    read: list[int] = []
    real = field.positions_at

    def counting(j):
        got = real(j)
        read.append(len(got))
        return got

    monkeypatch.setattr(field, "positions_at", counting, raising=False)
    return read


@pytest.mark.parametrize("locale", ["de-DE", "fr-FR", "sv-SE"])
def test_a_quoted_flood_looks_up_few_words_per_document(ixset, monkeypatch, locale):
    mem = ixset.mem[locale]
    flood = '"' + _fit(_frequent(mem), 254) + '"'
    units = parse_user_text(flood, locale)
    assert len(units) == ranking.MAX_UNITS and all(u.kind == "word" for u in units)
    want = engine.strict(mem, units)
    checked = _candidates(mem, units)
    assert checked > 0
    probes = _Probes(monkeypatch)
    read = _count_positions(monkeypatch, mem.fields["text"])
    assert engine.strict(mem, units) == want
    # The phrase's 16 words were each looked up in every candidate: now the rarest pair
    # first, and the next word only while the phrase may still hold.
    assert probes.count <= 3 * checked
    assert len(read) <= 3 * checked


@pytest.mark.parametrize("locale", ["de-DE", "fr-FR", "sv-SE"])
def test_strict_phrase_checks_stop_after_their_budget_of_positions(ixset, monkeypatch, locale):
    mem = ixset.mem[locale]
    pair = '"' + " ".join(_frequent(mem)[:2]) + '"'
    units = parse_user_text(pair, locale)
    read = _count_positions(monkeypatch, mem.fields["text"])
    monkeypatch.setattr(ranking, "PHRASE_MAX_POSITIONS", 10**9)
    unbounded = dict(engine.strict(mem, units))
    everything, per_doc = sum(read), max(read, default=0)
    budget = everything // 4
    assert budget > 2 * per_doc, "the pair's positions are too few to test a bound"
    read.clear()
    monkeypatch.setattr(ranking, "PHRASE_MAX_POSITIONS", budget)
    bounded = dict(engine.strict(mem, units))
    assert sum(read) <= budget + 2 * per_doc
    # Checked documents keep their scores; the others are left out (not guessed).
    assert all(unbounded.get(d) == s for d, s in bounded.items())


class _Folded(str):
    """A folded text that counts the occurrences ``find`` returns."""

    found = 0

    def find(self, *args):
        got = str.find(self, *args)
        if got >= 0:
            _Folded.found += 1
        return got


def test_a_snippet_of_a_flood_scans_only_as_far_as_its_window(ixset):
    locale = "de-DE"
    words = _frequent(ixset.mem[locale], 16)
    # A long text dense with the flood's words: every word matches everywhere.
    text = " ".join(words * 600)
    assert len(text) > 4 * snippets._CHUNK
    want = snippets.make_snippet(text, words)
    _Folded.found = 0
    got = snippets.make_snippet(text, words, folded=_Folded(text.casefold()))
    assert got == want
    # The window starts at one of the first 64 matches: a few hundred occurrences at most,
    # not the whole first 4,096 characters' worth.
    assert _Folded.found <= 5 * 64


@pytest.mark.parametrize("locale", ["de-DE", "fi-FI", "ja-JP", "zh-TW"])
def test_ordinary_searches_do_not_reach_the_phrase_budget(ixset, monkeypatch, locale):
    """Titles (plain, quoted, half typed) answer the same with the bound lifted."""
    shown = ixset.display[locale]
    queries = []
    for docnum in range(0, ixset.mem[locale].doc_count, 7):
        title = shown.hit(docnum)[2]
        queries += [(title, False), (f'"{title}"', False), (title[: len(title) * 2 // 3], True)]

    def answers():
        return [hs.search(ixset, q, locale, prefix=p) for q, p in queries]

    bounded = answers()
    monkeypatch.setattr(ranking, "PHRASE_MAX_POSITIONS", 10**9)
    assert answers() == bounded
