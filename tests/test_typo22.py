"""Stop 22 (typo latency): the spelling correction hands the corrected query's strict pass
the correction's clause (``engine.remember_term``): the same clauses and answers as a look-up
of the term. And ``_Terms.find`` (its block found by the sample, then searched in its bytes),
which every term look-up runs, pinned against a plain binary search."""

from __future__ import annotations

import random
from bisect import bisect_left

import pytest

from helpapi import engine
from helpapi.memindex import SAMPLE_STEP
from helpapi.search import open_current
from helpapi.search import run_query

from .conftest import index_markdown
from .conftest import md_article

CORPUS = {
    "en-US": {
        "a": md_article("Reset your Outlook password", "Reset the password of Outlook."),
        "b": md_article("Windows settings", "Outlook and Windows settings, passwords."),
        "c": md_article("Share a calendar", "Share your Outlook calendar with others."),
    },
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_markdown(tmp_path_factory, "typo22", CORPUS)


def _reference_find(terms: list[bytes], key: bytes) -> int:
    i = bisect_left(terms, key)
    return i if i < len(terms) and terms[i] == key else -1


def _probes(terms: list[bytes], rng: random.Random) -> list[bytes]:
    """Every term, and keys beside them: longer, shorter, a byte changed, a term's end
    joined to the next one's start (found in the block's bytes, no term), the ends."""
    out = list(terms)
    for t in terms:
        out += [t + b"a", t + b"\x00", t[:-1], t[:-1] + bytes([min(t[-1] + 1, 255)])]
    for a, b in zip(terms, terms[1:], strict=False):
        out += [a[-2:] + b[:2], a[1:] + b[:1]]
    out += [b"", b"\x00", b"\xff\xff", bytes(rng.randrange(97, 123) for _ in range(5))]
    return out


def test_find_is_a_binary_search_of_the_terms(ixset):
    """Every field's (and fuzzy keys table's) look-ups of the bundled corpus against a
    plain binary search, blocks of SAMPLE_STEP terms and their ends included."""
    rng = random.Random(22)
    checked = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        tables = [f.terms for f in mem.fields.values()]
        tables += [fuzzy.keys.terms for fuzzy in mem.fuzzy.values()]
        for table in tables:
            terms = [table[i] for i in range(len(table))]
            for key in _probes(terms, rng):
                assert table.find(key) == _reference_find(terms, key), (locale, key)
                checked += 1
            keys = sorted(rng.sample(terms, min(len(terms), 40)) + [b"zz", b"a"])
            assert table.find_all(keys) == [_reference_find(terms, k) for k in keys]
    assert checked > 10 * SAMPLE_STEP


def test_the_correction_clause_is_the_one_a_look_up_makes(index):
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        text = mem.fields["text"]
        text.clauses.clear()
        assert engine.best_correction(mem, "pasword") == "password"
        kept = text.clauses["password"]
        fresh = engine._Term(text, text.term_id("password"))
        assert (kept.field, kept.start, kept.end, kept.boost) == (
            fresh.field,
            fresh.start,
            fresh.end,
            fresh.boost,
        )
        assert engine._term(text, "password") is kept
        # A clause already kept is left as it is (the same object handed out).
        assert engine.best_correction(mem, "pasword") == "password"
        assert text.clauses["password"] is kept


def test_the_clauses_kept_stay_bounded(index, monkeypatch):
    monkeypatch.setattr(engine, "MAX_CACHED_CLAUSES", 2)
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        text = mem.fields["text"]
        for word in ("pasword", "calender", "setings", "windos"):
            engine.best_correction(mem, word)
            assert len(text.clauses) <= 2


@pytest.mark.parametrize("text", ["Reset your Outlok pasword", "Share a calender", "windos"])
def test_corrected_answers_are_those_of_a_fresh_look_up(index, text, monkeypatch):
    """The corrected query's answer with the correction's clause handed over, and with
    every clause looked up again (the memo cleared before the corrected pass)."""
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        handed = run_query(ixset, text, "en-US")
        for field in mem.fields.values():
            field.clauses.clear()
        original = engine.best_correction

        def forgetting(m, term):
            best = original(m, term)
            m.fields["text"].clauses.pop(best, None)
            return best

        monkeypatch.setattr(engine, "best_correction", forgetting)
        looked_up = run_query(ixset, text, "en-US")
    assert handed.corrected and handed.total
    assert (handed.ranked, handed.hits, handed.corrected) == (
        looked_up.ranked,
        looked_up.hits,
        looked_up.corrected,
    )
