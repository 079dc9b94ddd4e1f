"""Issue #12 item 2 (and #18 item 6, a filtered search's tail): the relaxed pass of a long
no-space run does each piece of work once, and hands snippets a bounded set of surfaces.

bench/hostile.py's worst search (``chain``: 256 characters where every neighbouring pair is one
of the locale's most frequent bigrams, four runs of ranking.MAX_RUN_CHARS) was over its 20 ms CPU
target. Found in review:

* search.py handed snippets every trigram of every run, also of the runs the relaxed pass
  left out (helpapi.query.relaxed_units keeps the rarest, within a budget): about a thousand
  surfaces, each a scan of every hit's text;
* a run's piece reads (what its phrase checks read, engine._piece_reads) were computed in
  Frequencies.cost for the budget, then again in engine._checked_pieces.

Every bound here is on work counted, never a timing.
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi import search as hs
from helpapi.query import parse_user_text
from helpapi.query import relaxed_units
from tests.test_hostile_bound import _chain


def _trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


@pytest.mark.parametrize("locale", ["ja-JP", "zh-CN"])
def test_snippets_get_the_trigrams_of_the_runs_the_relaxed_pass_scored(ixset, monkeypatch, locale):
    mem = ixset.mem[locale]
    text = _chain(mem, 256)
    units = parse_user_text(text, locale)
    budget = ranking.RELAXED_MAX_VOLUME * mem.doc_count
    kept = relaxed_units(units, engine.Frequencies(mem), budget)
    # The query brings more runs than the relaxed pass scores (the case this is about).
    assert len(kept) < len(units) and all(u.kind == "run" for u in units)
    handed: list[list[str]] = []
    make_snippet = hs.make_snippet

    def spying(body, surfaces, *args, **kwargs):
        handed.append(list(surfaces))
        return make_snippet(body, surfaces, *args, **kwargs)

    monkeypatch.setattr(hs, "make_snippet", spying)
    found = hs.run_query(ixset, text, locale)
    assert found.relaxed and found.hits and len(handed) == len(found.hits)
    scored = set().union(*(_trigrams(u.text) for u in kept))
    every = set().union(*(_trigrams(u.text) for u in units))
    plain = {u.text for u in units} | {u.stem for u in units if u.stem}
    for surfaces in handed:
        runs = set(surfaces) - plain
        # The trigrams of the scored runs, all of them (the same marks as before for a query
        # whose runs are all scored) and no others: at most RELAXED_MAX_UNITS runs' worth.
        assert runs == scored, (len(runs), len(scored), len(every))
        assert len(set(surfaces)) <= len(plain) + len(kept) * (ranking.MAX_RUN_CHARS - 2)


@pytest.mark.parametrize("locale", ["ja-JP", "zh-CN"])
def test_a_runs_piece_reads_are_looked_up_once_per_relaxed_query(ixset, monkeypatch, locale):
    """The bigrams of the runs are looked up once for the relaxed pass's budget: the costs of
    relaxed_units (each unit, to rank them) and the checked pieces of engine.relaxed share them
    (none at all when the same runs were asked for before: the grams field remembers them)."""
    mem = ixset.mem[locale]
    grams = mem.fields["grams"]
    text = _chain(mem, 256)
    units = parse_user_text(text, locale)
    looked = {"n": 0, "on": 0}
    term_id = grams.term_id

    def counting_term_id(term):
        looked["n"] += looked["on"] > 0
        return term_id(term)

    def counted(fn):
        def wrapper(*args, **kwargs):
            looked["on"] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                looked["on"] -= 1

        return wrapper

    monkeypatch.setattr(grams, "term_id", counting_term_id)
    monkeypatch.setattr(engine.Frequencies, "cost", counted(engine.Frequencies.cost))
    monkeypatch.setattr(engine, "_checked_pieces", counted(engine._checked_pieces))
    found = hs.run_query(ixset, text, locale)
    assert found.relaxed
    # Each bigram of each run once at most (a run's pieces share their bigrams: a pair of
    # neighbours is read from the bigrams' figures, not looked up again).
    assert looked["n"] <= sum(len(u.grams) for u in units), looked
