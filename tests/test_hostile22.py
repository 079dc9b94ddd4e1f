"""Stop 22: the proximity clause of a flood of frequent words (bench/hostile.py's ``flood``)
explores fewer spans in the documents where the words make no chain; same answers.

:func:`helpapi.engine.near` (Whoosh's SpanNear2, unordered or with a slop over 1) searches the
spans list by list. A span grows by at most ``slop`` a list, so a state from which some list
left has no position within reach holds no chain: it is dropped before its spans are made.
The bound is on work counted (spans pushed), never on a timing.
"""

from __future__ import annotations

import random

from helpapi import engine

from .test_hardening_cost import _near_by_spans


def test_near_answers_as_every_span_would():
    rng = random.Random(22)
    held = 0
    for _ in range(4000):
        width = rng.choice([12, 40, 120])
        poslists = [
            sorted(rng.sample(range(width), rng.randint(0, min(width, rng.choice([1, 3, 6])))))
            for _ in range(rng.randint(1, 5))
        ]
        slop, ordered = rng.choice([1, 2, 3, 6, 10]), rng.random() < 0.5
        want = _near_by_spans(poslists, slop, ordered)
        held += want
        assert engine.near(poslists, slop, ordered) is want, (poslists, slop, ordered)
    assert 200 < held < 3800  # both answers were asked about


def _searches(monkeypatch) -> dict:
    """Count :func:`engine.near`'s binary searches: one per list tried from a span (the check
    of the lists left), one per span grown (the next list's positions near it)."""
    calls = {"n": 0}
    real = engine.bisect_left

    def counting(*args):
        calls["n"] += 1
        return real(*args)

    monkeypatch.setattr(engine, "bisect_left", counting)
    return calls


def test_a_chainless_flood_grows_no_span(monkeypatch):
    # Six frequent words, each every 3 positions over 300 words (near each other in every
    # order), and a rare word far from all of them: no chain.
    dense = [list(range(k, 300, 3)) for k in range(3)] * 2
    poslists = [*dense, [5000]]
    slop = len(poslists) + 3  # a proximity-like slop (words + 3)
    assert _near_by_spans(poslists, slop, False) is False
    calls = _searches(monkeypatch)
    assert engine.near(poslists, slop, False) is False
    # Each start is dropped at once: the lists left are tried (the rare one fails), no span
    # is grown. Without the check every start grew spans through the five dense lists
    # before the rare one failed them: 19,661 searches.
    assert calls["n"] <= len(poslists[0]) * len(poslists)
    # With the rare word within reach the chain is found as before.
    poslists[-1] = [150]
    assert engine.near(poslists, slop, False) is True
