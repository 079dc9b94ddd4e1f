"""Latency work of issue 14 item 5 and issue 18 (filtered p99), third round: the faster paths
give the same answers as the ones they replace (bench/passes_ab.py --check compares every
answer of the dev query sets; these pin each path on the sample corpus). proximity's inlined
look-ups are pinned by tests/test_engine.py (compared with Whoosh)."""

from __future__ import annotations

import itertools

import pytest

from helpapi import engine
from helpapi import memindex
from helpapi.query import parse_user_text


@pytest.fixture(scope="module")
def mem(ixset):
    return ixset.mem["en-US"]


def _common_terms(field, n: int) -> list[int]:
    """The ``n`` term numbers of ``field`` held by the most documents."""
    tids = sorted(range(len(field.terms)), key=lambda t: -field.doc_frequency(t))
    return tids[:n]


def test_intersect_inlined_probe_equals_lookup(mem, monkeypatch):
    """_intersect's inlined binary search (few documents against a word's postings) sums the
    same floats as _Term.lookup, boosted or not, whichever path each clause takes."""
    text = mem.fields["text"]
    tids = _common_terms(text, 12)
    combos = list(itertools.combinations(tids, 3))[:60]
    assert combos
    for boost in (1.0, 2.5):
        for combo in combos:
            clauses = [engine._Term(text, t, boost if i else 1.0) for i, t in enumerate(combo)]
            # A small clause first: the others are probed for a few documents.
            small = engine._Scored(list(clauses[0].items())[:3])
            monkeypatch.setattr(engine, "SPARSE_PROBES", 10**9)  # never inlined
            before = engine._intersect([small, *clauses[1:]])
            monkeypatch.setattr(engine, "SPARSE_PROBES", 0)  # always inlined
            after = engine._intersect([small, *clauses[1:]])
            assert after == before
            assert list(after) == list(before)


def test_strict_stops_at_the_first_unit_matching_nothing(mem, monkeypatch):
    """A mistyped word matches nothing: strict answers [] without looking up the units
    after it (the correction pass looks them up next)."""
    text = mem.fields["text"]
    known = text.term(_common_terms(text, 1)[0])
    units = parse_user_text(f"zzqxjv {known}", "en-US")
    asked: list[str] = []
    real = text.term_id

    def spy(term):
        asked.append(term)
        return real(term)

    monkeypatch.setattr(text, "term_id", spy)
    # The field's clause memo (engine._term) would answer a word seen before without a look-up.
    text.clauses.clear()
    assert engine.strict(mem, units) == []
    assert asked == ["zzqxjv"]
    asked.clear()
    text.clauses.clear()
    # The other order: the known word is looked up first, then the unknown one ends it.
    assert engine.strict(mem, parse_user_text(f"{known} zzqxjv", "en-US")) == []
    assert asked == [known, "zzqxjv"]


def test_prefix_range_remembered_equals_computed(mem):
    """Short prefixes' ranges come from a cache: the same ranges as computing them, every
    prefix length, completions or none; longer ones are not kept."""
    for name in ("text", "title", "grams"):
        field = mem.fields[name]
        terms = [field.term(t) for t in range(0, len(field.terms), max(1, len(field.terms) // 40))]
        for term in terms:
            for n in range(len(term) + 2):
                prefix = (term + "\uffff")[:n]
                expected = field._prefix_range(prefix)
                assert field.prefix_range(prefix) == expected
                assert field.prefix_range(prefix) == expected  # remembered
        before = field._short_range.cache_info().currsize
        field.prefix_range("x" * (memindex.SHORT_PREFIX + 1))
        assert field._short_range.cache_info().currsize == before
