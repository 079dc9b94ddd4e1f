"""Speed-ups of the search path that must not change an answer (bench/passes.py measures them)."""

from __future__ import annotations

import random

import pytest

from helpapi import engine
from helpapi import memindex
from helpapi.analysis import title_key
from helpapi.query import parse_user_text
from helpapi.ranking import RERANK_DEPTH

from .test_engine import _queries


@pytest.mark.parametrize(
    "a, b, limit",
    [
        ("konto", "kontto", 1),
        ("konto", "knoto", 1),
        ("passwort", "pasword", 2),
        ("", "ab", 2),
        ("abc", "xyzabc", 2),
        ("設定変更", "設定変", 1),
        ("straße", "strasse", 2),
    ],
)
def test_levenshtein_within_its_limit_equals_the_table(a, b, limit):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    full = prev[-1]
    got = memindex.levenshtein(a, b, limit)
    assert got == full if full <= limit else got == limit + 1


def _strict_and_proximity(ixset):
    out = []
    rng = random.Random(11)
    for locale in ixset.locales:
        mem, searcher = ixset.mem[locale], ixset.searcher(locale)
        for text, prefix in _queries(searcher, locale, rng):
            units = parse_user_text(text, locale, prefix=prefix)
            if units:
                ranked = engine.strict(mem, units, "" if prefix else title_key(text, locale))
                head = [d for d, _ in ranked[:RERANK_DEPTH]]
                out.append((locale, text, ranked, engine.proximity(mem, units, head)))
    return out


def test_term_tables_and_binary_searches_give_the_same_answers(ixset, monkeypatch):
    """A term list probed by many documents is read into a dict (engine.DENSE_PROBES); the
    answers, floats included, are those of a binary search per document."""
    monkeypatch.setattr(engine, "DENSE_PROBES", 0)  # never a table
    searched = _strict_and_proximity(ixset)
    monkeypatch.setattr(engine, "DENSE_PROBES", 10**9)  # always a table
    tabled = _strict_and_proximity(ixset)
    assert len(searched) > 300
    assert tabled == searched
    assert sum(1 for row in searched if row[2]) > 100
