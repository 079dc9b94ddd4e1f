"""Issue #12 item 2: the worst hostile searches (bench/hostile.py) read a bounded number of
postings and positions, whatever their words; ordinary searches answer as before.

Two bounds, both on what a pass reads, never a timing:

* the relaxed pass takes units rarest first while their postings fit in
  ranking.RELAXED_MAX_VOLUME per document (a quoted flood of stop words reaches it);
* the proximity re-ranking stops after ranking.PROXIMITY_MAX_POSITIONS positions (the best
  candidates are checked first).
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi import search as hs
from helpapi.query import parse_user_text
from helpapi.query import relaxed_units

MAX_Q = 256


def _frequent(mem, n: int = 60) -> list[str]:
    """The locale's index words held by the most documents (its stop words), as the bench."""
    field = mem.fields["text"]
    ranked = sorted(range(len(field.terms)), key=field.doc_frequency, reverse=True)
    words = [field.terms[i].decode("utf-8") for i in ranked[: n * 3]]
    return [w for w in words if w.isalpha()][:n]


def _fit(words: list[str], room: int = MAX_Q) -> str:
    out = ""
    for w in words:
        nxt = f"{out} {w}" if out else w
        if len(nxt) > room:
            break
        out = nxt
    return out


class _Reader:
    """doc_frequency and cost (twice the frequency: a word's stem and word) from a table."""

    freq = {"the": 1000, "to": 900, "and": 800, "of": 700}

    def doc_frequency(self, field, term):
        return self.freq.get(term, 1)

    def cost(self, unit):
        return 2 * self.freq.get(unit.term, 1)


def test_relaxed_units_fit_the_budget_rarest_first():
    units = parse_user_text("the to and of alpha beta", "en-US")
    kept = relaxed_units(units, _Reader(), budget=1900)
    # The rare words always fit; of the frequent ones, the rarest that still fits ("of").
    assert [u.term for u in kept] == ["of", "alpha", "beta"]
    # No budget, or a budget every unit fits in: all of them (at most RELAXED_MAX_UNITS).
    assert relaxed_units(units, _Reader()) == units
    assert relaxed_units(units, _Reader(), budget=10**6) == units


def test_relaxed_units_keep_the_cheapest_when_nothing_fits():
    units = parse_user_text("the to and", "en-US")
    assert [u.term for u in relaxed_units(units, _Reader(), budget=10)] == ["and"]


@pytest.mark.parametrize("locale", ["de-DE", "ja-JP"])
def test_a_quoted_flood_reaches_the_relaxed_pass_within_the_budget(ixset, monkeypatch, locale):
    mem = ixset.mem[locale]
    freqs = engine.Frequencies(mem)
    flood = '"' + _fit(_frequent(mem), MAX_Q - 2) + '"'
    seen = []
    real = engine.relaxed

    def spy(mem_, units, allowed=None):
        seen.append(units)
        return real(mem_, units, allowed)

    monkeypatch.setattr(engine, "relaxed", spy)
    hs.run_query(ixset, flood, locale)
    assert seen, "the quoted flood matches no document strictly"
    budget = ranking.RELAXED_MAX_VOLUME * mem.doc_count
    asked = sum(map(freqs.cost, parse_user_text(flood, locale)))
    assert sum(map(freqs.cost, seen[0])) <= budget < asked


def _rare_title_word(mem, ixset, locale):
    """A word of some article's title held by few documents, with that article's slug."""
    text = mem.fields["text"]
    shown = ixset.display[locale]
    for docnum in range(mem.doc_count):
        slug, _, title, _, _ = shown.hit(docnum)
        for unit in parse_user_text(title, locale):
            if unit.kind != "word" or len(unit.term) < 6:
                continue
            tid = text.term_id(unit.term)
            if 0 < text.doc_frequency(tid) <= 2:
                return unit.text, slug
    raise AssertionError("no rare title word")


def test_a_flood_still_finds_what_its_rare_word_finds(ixset):
    locale = "de-DE"
    mem = ixset.mem[locale]
    word, slug = _rare_title_word(mem, ixset, locale)
    alone = hs.run_query(ixset, word, locale)
    assert slug in [h["slug"] for h in alone.hits]
    # Within ranking.MAX_UNITS units: the frequent words, then the rare one.
    flood = '"' + " ".join(_frequent(mem)[: ranking.MAX_UNITS - 1]) + " " + word + '"'
    assert len(parse_user_text(flood, locale)) == ranking.MAX_UNITS
    found = hs.run_query(ixset, flood, locale, limit=20)
    assert found.relaxed
    # Kept (the rarest unit) and on the first pages: the stop words matching together
    # outweigh one rare word in the relaxed pass's coordination, bounded or not.
    assert slug in [h["slug"] for h in found.hits]


def test_proximity_stops_after_its_budget_of_positions(ixset, monkeypatch):
    locale = "fi-FI"
    mem = ixset.mem[locale]
    flood = " ".join(_frequent(mem)[:3])  # often near each other: a bonus to keep or lose
    units = parse_user_text(flood, locale)
    ranked = engine.strict(mem, units)
    assert len(ranked) > 20
    docs = [d for d, _ in ranked[: ranking.RERANK_DEPTH]]
    read: list[int] = []
    real = engine.near

    def counting(poslists, slop, ordered):
        read.append(sum(map(len, poslists)))
        return real(poslists, slop, ordered)

    monkeypatch.setattr(engine, "near", counting)
    monkeypatch.setattr(ranking, "PROXIMITY_MAX_POSITIONS", 10**9)
    unbounded = engine.proximity(mem, units, docs)
    everything, per_doc = sum(read) // 2, max(read)  # the two word clauses share their lists
    budget = everything // 4
    read.clear()
    monkeypatch.setattr(ranking, "PROXIMITY_MAX_POSITIONS", budget)
    bounded = engine.proximity(mem, units, docs)
    assert sum(read) // 2 <= budget + per_doc
    # The best candidates are checked first, with the same extra scores; the rest get none.
    assert bounded != unbounded
    assert any(
        bounded == {d: unbounded[d] for d in docs[:k] if d in unbounded} for k in range(len(docs))
    )


@pytest.mark.parametrize("locale", ["de-DE", "fi-FI", "ja-JP", "zh-TW"])
def test_ordinary_searches_do_not_reach_the_bounds(ixset, monkeypatch, locale):
    """Titles (whole, half typed, mistyped) answer the same with both bounds lifted."""
    shown = ixset.display[locale]
    queries = []
    for docnum in range(0, ixset.mem[locale].doc_count, 7):
        title = shown.hit(docnum)[2]
        queries += [(title, False), (title[: len(title) * 2 // 3], True)]
        queries.append((title.replace("e", "q", 1) + " zzqx", False))

    def answers():
        return [hs.search(ixset, q, locale, prefix=p) for q, p in queries]

    bounded = answers()
    monkeypatch.setattr(ranking, "PROXIMITY_MAX_POSITIONS", 10**9)
    monkeypatch.setattr(ranking, "RELAXED_MAX_VOLUME", 10.0**9)
    assert answers() == bounded


class _LoneReader(_Reader):
    """Lone characters: a rare bigram of their own, many completions (their cost)."""

    def doc_frequency(self, field, term):
        return 1

    def cost(self, unit):
        return 5000 if unit.kind == "run" else 1


def test_a_lone_character_ranks_by_its_completions_within_a_budget():
    units = parse_user_text("を の し alpha beta gamma delta epsilon zeta eta theta", "ja-JP")
    assert [u.kind for u in units[:3]] == ["run"] * 3
    kept = relaxed_units(units, _LoneReader(), budget=10**6)
    # The eight words are rarer than the lone characters' completions together.
    assert [u.kind for u in kept] == ["word"] * ranking.RELAXED_MAX_UNITS
    # Without a budget, the Whoosh-compatible ranking (each unit's own frequency).
    assert [u.kind for u in relaxed_units(units, _LoneReader())][:3] == ["run"] * 3


@pytest.mark.parametrize("locale", ["de-DE", "ja-JP"])
def test_a_quoted_phrase_reads_positions_only_while_it_may_hold(ixset, locale):
    """The lazy phrase of the strict pass: the same documents and scores as the phrase
    checked everywhere, and a flood of frequent words stops reading positions early."""
    mem = ixset.mem[locale]
    text = mem.fields["text"]
    words = [w for w in _frequent(mem, 10) if text.term_id(w) >= 0][:6]
    calls = []
    real = text.positions_at
    for n in (2, 3, len(words)):
        terms = [engine._Term(text, text.term_id(w)) for w in words[:n]]
        want = engine._phrase(text, None, terms=terms)
        lazy = engine._LazyPhrase(terms)
        got = {d: s for d in range(mem.doc_count) if (s := lazy.lookup(d)) is not None}
        assert got == dict(want)
    lazy = engine._LazyPhrase(terms)
    holding = [d for d in range(mem.doc_count) if all(t.find(d) >= 0 for t in terms)]
    try:
        text.positions_at = lambda j: calls.append(j) or real(j)
        assert all(lazy.lookup(d) is None for d in holding if d not in want)
    finally:
        del text.positions_at
    assert len(calls) < len(terms) * len([d for d in holding if d not in want])
