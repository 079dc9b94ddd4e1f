"""Stop 21: one clause object per term, boost and field (engine._term), handed out again."""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import memindex
from helpapi.search import open_current

from .conftest import index_markdown
from .conftest import md_article

CORPUS = {
    "en-US": {
        "a": md_article("Reset your Outlook password", "Reset the password of Outlook."),
        "b": md_article("Windows settings", "Outlook and Windows settings."),
    },
}


@pytest.fixture(scope="module")
def mem(tmp_path_factory):
    """The corpus above's en-US postings."""
    with open_current(index_markdown(tmp_path_factory, "engine21", CORPUS)) as ix:
        yield ix.mem["en-US"]


def test_a_term_clause_is_kept_per_boost(mem):
    field = mem.fields["text"]
    plain = engine._term(field, "outlook")
    assert engine._term(field, "outlook") is plain
    boosted = engine._term(field, "outlook", 2.5)
    assert boosted is not plain and boosted.boost == 2.5
    assert engine._term(field, "outlook", 2.5) is boosted
    # The same postings as a clause made afresh from the term's number.
    fresh = engine._Term(field, field.term_id("outlook"), 2.5)
    assert (boosted.start, boosted.end) == (fresh.start, fresh.end)
    assert list(boosted.items()) == list(fresh.items())


def test_an_absent_term_has_no_clause(mem):
    field = mem.fields["text"]
    assert engine._term(field, "nosuchword") is None
    assert engine._term(field, "nosuchword") is None


def test_the_clauses_kept_are_bounded(mem, monkeypatch):
    field = mem.fields["title"]
    monkeypatch.setattr(engine, "MAX_CACHED_CLAUSES", 3)
    field.clauses.clear()
    for i in range(10):
        engine._term(field, f"word{i}")
        assert len(field.clauses) <= 3
    assert engine._term(field, "outlook") is engine._term(field, "outlook")


def test_the_clauses_kept_are_bounded_per_worker_not_per_field(mem, monkeypatch):
    # A flood of distinct words reaches every field of every locale: a bound per field alone
    # lets a worker's memos grow with the number of locales (x-left, stop 22: 25 MB in 66 of
    # 210 fields of the scale index). The worker-wide bound holds over all fields together.
    fields = list(mem.fields.values())
    monkeypatch.setattr(engine, "MAX_KEPT_CLAUSES", 7)
    memindex.forget_terms()  # what the tests before looked up
    monkeypatch.setattr(engine, "_kept", 0)
    for i in range(40):
        for field in fields:
            engine._term(field, f"flood{i}")
            assert sum(len(f.clauses) for f in fields) <= 7
            # The term numbers looked up for them go with them.
            assert sum(f.term_id.cache_info().currsize for f in fields) <= 7
    # Still a memo: a term asked twice gets the same clause.
    text = mem.fields["text"]
    assert engine._term(text, "outlook") is engine._term(text, "outlook")


def test_the_bounding_rules_frequencies_count_in_the_same_bound(mem, monkeypatch):
    # helpapi.query's bounding rules ask each word's document frequency in field after field
    # (engine.Frequencies): under a flood, the term-number memos those asks filled grew with
    # the locales (13 MB on the scale index) outside the clause count.
    fields = mem.fields
    monkeypatch.setattr(engine, "MAX_KEPT_CLAUSES", 7)
    memindex.forget_terms()
    monkeypatch.setattr(engine, "_kept", 0)
    freq = engine.Frequencies(mem)
    for i in range(40):
        for name in fields:
            assert freq.doc_frequency(name, f"flood{i}") == 0
            assert sum(f.term_id.cache_info().currsize for f in fields.values()) <= 7
    text = fields["text"]
    assert freq.doc_frequency("text", "outlook") == text.doc_frequency(text.term_id("outlook"))
    assert freq.doc_frequency("text", "outlook") == 2


def test_whole_title_keys_count_in_the_worker_bound(tmp_path_factory, monkeypatch):
    # Review of stop 22: queries made of words already looked up (clause memo hits, nothing
    # counted) are each a new whole-title key, looked up in the three key fields of the
    # locale: those term-number memos filled outside the bound (4,096 a field in every
    # locale). Every term-number look-up now counts, and the memos are emptied between
    # searches once the count reaches the bound.
    import itertools

    from helpapi.search import search

    words = ["reset", "your", "outlook", "password", "the", "of"]  # all in article "a"
    monkeypatch.setattr(memindex, "MAX_LOOKED_UP", 40)
    with open_current(index_markdown(tmp_path_factory, "engine21-keys", CORPUS)) as ix:
        fields = ix.mem["en-US"].fields.values()
        for n, combo in enumerate(itertools.permutations(words, 4)):
            search(ix, " ".join(combo), "en-US")
            held = sum(f.term_id.cache_info().currsize for f in fields)
            # The bound, plus what one search looks up after the check.
            assert held <= 40 + 40, (n, held)
