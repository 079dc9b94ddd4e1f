"""Issue #12 item 2: the bounds that keep a hostile search cheap (bench/hostile.py times them).

These assert the bounds themselves (which positions a check visits, how many units remain),
never a timing; the relaxed pass's dense sums are checked against Whoosh by
tests/test_engine_relaxed.py.
"""

from __future__ import annotations

import itertools
import random

import pytest

from helpapi import engine
from helpapi.query import parse_user_text


def _near_by_spans(poslists, slop, ordered):
    """The span-list construction of Whoosh's SpanNear2 (``mindist`` 1), list by list."""
    aspans = {(p, p) for p in poslists[0]}
    for plist in poslists[1:]:
        spans = set()
        for a0, a1 in aspans:
            for b in plist:
                if ordered and b < a0:
                    continue
                dist = 0 if a0 <= b <= a1 else (b - a1 if a1 < b else a0 - b)
                if 1 <= dist <= slop:
                    spans.add((min(a0, b), max(a1, b)))
        aspans = spans
    return bool(aspans)


def test_depth_first_near_agrees_with_the_span_lists():
    rng = random.Random(7)
    for _ in range(3000):
        n = rng.randint(1, 5)
        lists = [sorted(rng.sample(range(40), rng.randint(0, 6))) for _ in range(n)]
        for slop, ordered in itertools.product((1, 2, 4), (True, False)):
            assert engine.near(lists, slop, ordered) is _near_by_spans(lists, slop, ordered), (
                lists,
                slop,
                ordered,
            )


def test_near_stops_at_the_first_chain():
    """A flood of frequent words in a long document: the check ends at the first chain found,
    it does not build every span of every list."""
    visited = []

    class Counting(list):
        def __getitem__(self, i):
            visited.append(i)
            return super().__getitem__(i)

    lists = [Counting(range(k, 5000, 3)) for k in range(8)]
    assert engine.near(lists, 10, False)
    # A few states, each with a binary search (~11 reads) in every list left (stop 22's
    # look-ahead, which drops the states of a flood without a chain: tests/test_hostile22.py);
    # every span of these lists would be millions of reads.
    assert len(visited) < 600


@pytest.mark.parametrize("text", ["to the " * 40, '"' + "to the " * 30 + '"'])
def test_repeats_collapse_before_any_pass(text):
    assert [u.term for u in parse_user_text(text, "en-US")] == ["to", "the"]


def test_pair_fast_path_equals_the_general_chain(ixset):
    """_pair_docs (two terms, one right after the other) against near() on every document."""
    from helpapi import engine

    checked = 0
    for locale in ("ja-JP", "de-DE", "zh-TW"):
        mem = ixset.mem[locale]
        for name in ("grams", "text"):
            field = mem.fields[name]
            tids = sorted(range(len(field.terms)), key=field.doc_frequency, reverse=True)[:12]
            for x in tids[:6]:
                for y in tids[6:]:
                    a, b = engine._Term(field, x), engine._Term(field, y)
                    want = {}
                    for k in range(a.start, a.end):
                        d = field.docs[k]
                        j = b.find(d)
                        if j >= 0 and engine.near(
                            [field.positions_at(k), field.positions_at(j)], 1, True
                        ):
                            want[d] = field.scores[k] + field.scores[j]
                    assert engine._pair_docs(a, b) == want
                    assert engine._pair_docs(b, a).keys() <= set(field.docs[b.start : b.end])
                    checked += 1
    assert checked >= 150
