"""Issue #12 item 2: the proximity re-rank reads a bounded number of postings look-ups and
positions, whatever the length of the query's no-space runs.

Several no-space runs (a long run is cut into runs of ranking.MAX_RUN_CHARS) make a proximity
clause of every bigram of every run (helpapi.engine.proximity): up to 4 x 63 terms, each looked
up in each of the ranking.RERANK_DEPTH best documents. ranking.PROXIMITY_MAX_POSITIONS counted
only the positions read once a document held every term, not those look-ups, so the work grew
with the query's length (25,200 look-ups, 10-12 ms CPU on the dev corpus for 256 characters of
frequent bigrams, bench/hostile.py's ``chain``). Every bound here is on work counted, never a
timing.
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi import search as hs
from helpapi.query import parse_user_text
from tests.test_hostile_bound import _chain


class _Reads:
    """Postings look-ups (binary searches of a term's documents: ``engine.bisect_left``, which
    :meth:`helpapi.engine._Term.find` and its inlined copies call) and positions
    (the lists ``engine._proximity_lists`` hands it) read while ``engine.proximity`` runs."""

    def __init__(self, monkeypatch, mem):
        self.lookups = self.positions = self.calls = 0
        self._on = False
        reads = self
        bisect, proximity = engine.bisect_left, engine.proximity

        def counting_bisect(*args):
            if reads._on:
                reads.lookups += 1
            return bisect(*args)

        def counting_proximity(*args, **kwargs):
            reads._on = True
            reads.calls += 1
            try:
                return proximity(*args, **kwargs)
            finally:
                reads._on = False

        monkeypatch.setattr(engine, "bisect_left", counting_bisect)
        monkeypatch.setattr(engine, "proximity", counting_proximity)
        lists = engine._proximity_lists

        def counting_lists(*args):
            # proximity reads every position list through _proximity_lists (which slices
            # them inline, not through FieldPostings.positions_at)
            found, poslists = got = lists(*args)
            if reads._on:
                reads.positions += sum(map(len, poslists or ()))
            return got

        monkeypatch.setattr(engine, "_proximity_lists", counting_lists)

    def snapshot(self) -> tuple[int, int, int]:
        return self.lookups, self.positions, self.calls


@pytest.mark.parametrize("locale", ["ja-JP", "zh-CN"])
def test_the_run_clause_reads_a_bounded_amount_however_long_the_runs(ixset, monkeypatch, locale):
    mem = ixset.mem[locale]
    reads = _Reads(monkeypatch, mem)
    text = _chain(mem, 4 * ranking.MAX_RUN_CHARS)
    seen = []
    for nruns in (2, 3, 4):
        query = text[: nruns * ranking.MAX_RUN_CHARS]
        units = parse_user_text(query, locale)
        assert [u.kind for u in units] == ["run"] * nruns
        before = reads.snapshot()
        found = hs.run_query(ixset, query, locale)
        after = reads.snapshot()
        # The re-rank ran, over more candidates than the look-up budget has per term.
        assert after[2] == before[2] + 1 and len(found.ranked) >= 2
        seen.append((nruns, after[0] - before[0], after[1] - before[1]))
    # The clause offers ever more terms to look up in each re-ranked document ...
    assert sum(len(u.grams) for u in parse_user_text(text, locale)) == 4 * (
        ranking.MAX_RUN_CHARS - 1
    )
    # ... but one re-rank makes at most PROXIMITY_MAX_LOOKUPS look-ups and reads at most
    # PROXIMITY_MAX_POSITIONS positions, however many terms.
    for _nruns, lookups, positions in seen:
        assert lookups <= ranking.PROXIMITY_MAX_LOOKUPS, (locale, seen)
        assert positions <= ranking.PROXIMITY_MAX_POSITIONS, (locale, seen)


def test_a_document_missing_a_term_costs_one_look_up(ixset, monkeypatch):
    mem = ixset.mem["ja-JP"]
    reads = _Reads(monkeypatch, mem)
    text = _chain(mem, 4 * ranking.MAX_RUN_CHARS)
    units = parse_user_text(text, "ja-JP")
    grams = mem.fields["grams"]
    terms = [engine._term(grams, g) for u in units for g in u.grams]
    rarest = min(terms, key=len)
    holders = set(grams.docs[rarest.start : rarest.end])
    lacking = [d for d in range(mem.doc_count) if d not in holders][:50]
    assert len(lacking) == 50
    engine.proximity(mem, units, lacking)
    # The rarest term is looked up first; a document lacking it is done with.
    assert reads.lookups == len(lacking)
    assert reads.positions == 0


def test_the_budgets_stop_the_re_rank_before_they_are_overrun(ixset, monkeypatch):
    mem = ixset.mem["ja-JP"]
    reads = _Reads(monkeypatch, mem)
    # A real sentence of an article, cut into runs: its documents hold every bigram.
    body = source = None
    for d in range(mem.doc_count):
        units = parse_user_text(_article_text(ixset, d)[:200], "ja-JP")
        runs = [u for u in units if u.kind == "run"]
        if len(runs) >= 2 and sum(len(u.grams) for u in runs) > 40:
            body, source = units, d
            break
    assert body is not None
    docs = [source] + [d for d in range(ranking.RERANK_DEPTH) if d != source]
    monkeypatch.setattr(ranking, "PROXIMITY_MAX_LOOKUPS", 40)
    monkeypatch.setattr(ranking, "PROXIMITY_MAX_POSITIONS", 30)
    engine.proximity(mem, body, docs)
    assert 0 < reads.lookups <= 40
    assert reads.positions <= 30


def _article_text(ixset, doc: int) -> str:
    return ixset.display["ja-JP"].hit(doc)[3]
