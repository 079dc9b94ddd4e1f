"""Issue #12 item 2: the relaxed pass (any word may miss) reads a bounded number of postings
and positions for no-space runs too, whatever their length.

A run of more than one bigram is checked in the relaxed pass as pairs of neighbouring bigrams
(helpapi.engine._relaxed_run), each pair a phrase check that reads both bigrams' postings and
the positions of the documents holding both. Those checks were not counted in
helpapi.engine.Frequencies.cost, so a long run of frequent bigrams (256 characters of real
text, cut into four runs of ranking.MAX_RUN_CHARS) asked for work that grew with its length,
with no bound (126 ms CPU on the dev corpus). Every bound here is on work counted, never a
timing.
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi import search as hs
from helpapi.query import Unit
from helpapi.query import parse_user_text


def _chain(mem, length: int) -> str:
    """``length`` characters of a no-space script where every neighbouring pair is one of
    the index's most frequent bigrams: from the commonest bigram, each next character is the
    one making the commonest bigram with the last (a made-up text no document holds)."""
    grams = mem.fields["grams"]
    best = max(
        (t for t in range(len(grams.terms)) if len(grams.terms[t].decode("utf-8")) == 2),
        key=grams.doc_frequency,
    )
    out, used = grams.terms[best].decode("utf-8"), {best}
    while len(out) < length:
        lo, hi = grams.prefix_range(out[-1])
        nxt = [t for t in range(lo, hi) if len(grams.terms[t].decode("utf-8")) == 2]
        # A new pair where there is one, so the text does not settle into a short loop.
        nxt = [t for t in nxt if t not in used] or nxt
        pick = max(nxt, key=grams.doc_frequency)
        used.add(pick)
        out += grams.terms[pick].decode("utf-8")[1]
    return out[:length]


class _Work:
    """Postings and positions read by the relaxed pass's phrase checks (engine._chain_docs,
    the pairs of neighbouring bigrams of a run) while ``engine.relaxed`` runs."""

    def __init__(self, monkeypatch, field):
        self.postings = self.positions = 0
        self.pairs = 0
        self._on = False
        work = self
        chain_docs, relaxed = engine._chain_docs, engine.relaxed

        def counting_chain(terms, *args, **kwargs):
            if work._on:
                work.pairs += 1
                work.postings += sum(len(t) for t in terms)
            return chain_docs(terms, *args, **kwargs)

        def counting_relaxed(*args, **kwargs):
            work._on = True
            try:
                return relaxed(*args, **kwargs)
            finally:
                work._on = False

        class _Positions:
            def __init__(self, view):
                self.view = view

            def __getitem__(self, key):
                got = self.view[key]
                if work._on:
                    work.positions += len(got) if isinstance(key, slice) else 1
                return got

            def __len__(self):
                return len(self.view)

        monkeypatch.setattr(engine, "_chain_docs", counting_chain)
        monkeypatch.setattr(engine, "relaxed", counting_relaxed)
        monkeypatch.setattr(field, "positions", _Positions(field.positions))

    @property
    def total(self) -> int:
        return self.postings + self.positions


@pytest.mark.parametrize("locale", ["ja-JP", "zh-CN"])
def test_a_long_run_of_frequent_bigrams_reads_a_bounded_amount_in_the_relaxed_pass(
    ixset, monkeypatch, locale
):
    mem = ixset.mem[locale]
    work = _Work(monkeypatch, mem.fields["grams"])
    cap = ranking.RELAXED_MAX_RUN_READS * mem.doc_count
    text = _chain(mem, 256)
    seen = []
    for length in (16, 64, 128, 256):
        before = (work.postings, work.positions, work.pairs)
        found = hs.run_query(ixset, text[:length], locale)
        assert found.relaxed, text[:length]
        seen.append(
            (
                length,
                work.postings - before[0],
                work.positions - before[1],
                work.pairs - before[2],
            )
        )
    # The input offers ever more pairs to check (the run is long enough to matter) ...
    units = parse_user_text(text, locale)
    assert len(units) == 4
    assert sum(len(u.grams) - 1 for u in units) == 4 * (ranking.MAX_RUN_CHARS - 2)
    # ... and read more as it grows (on the full index), but the pair checks of one relaxed
    # pass read at most RELAXED_MAX_RUN_READS entries (postings and positions) per document
    # of the locale, however long the run.
    for _length, postings, positions, _ in seen:
        assert postings + positions <= cap, (locale, cap, seen)


@pytest.mark.parametrize("locale", ["ja-JP", "zh-CN"])
def test_frequencies_cost_counts_what_a_runs_pair_checks_read(ixset, monkeypatch, locale):
    mem = ixset.mem[locale]
    freqs = engine.Frequencies(mem)
    work = _Work(monkeypatch, mem.fields["grams"])
    for length in (3, 4, 8, 20, ranking.MAX_RUN_CHARS):
        text = _chain(mem, length)
        (unit,) = parse_user_text(text, locale)
        assert unit.kind == "run" and len(unit.grams) == length - 1
        before = work.total
        engine.relaxed(mem, [unit])
        read = work.total - before
        # The cost counts at least what the checks read (in postings' worth: a run reading a
        # pass's RELAXED_MAX_RUN_READS costs the whole RELAXED_MAX_VOLUME), so relaxed_units'
        # budget bounds it.
        assert read > 0
        reads = freqs.cost(unit) * ranking.RELAXED_MAX_RUN_READS / ranking.RELAXED_MAX_VOLUME
        assert reads >= read - 1e-6, (length, reads, read)


def test_a_run_with_a_bigram_the_index_lacks_costs_only_the_pairs_checked(ixset):
    mem = ixset.mem["ja-JP"]
    freqs = engine.Frequencies(mem)
    text = _chain(mem, 6)
    (whole,) = parse_user_text(text, "ja-JP")
    # A pair holding a bigram the index lacks is never checked: it costs nothing.
    odd = Unit("run", text, grams=whole.grams[:2] + ("\u0000\u0000",) + whole.grams[2:])
    assert freqs.cost(odd) < freqs.cost(whole) + 1
    missing = Unit("run", "xx", grams=("\u0000\u0000", "\u0000\u0001"))
    assert freqs.cost(missing) == 0
