"""The relaxed pass remembers its word clauses (issue 18, item 6, stop 19).

A filter that removes a query's strict matches sends it to the relaxed pass, whose cost is a
sum per posting of every word's clause (a one-letter prefix's completions most of it). A
word's clause is the same in every query holding the word (same stem and completions, same
filter), so a locale keeps the clauses it evaluated (``engine.RELAXED_MEMO_DOCS`` documents
at most) and a later query reads them back: the same evaluation, so the same floats.

Work is counted (leaves evaluated, documents held), never timed; answers are compared with
passes made with nothing remembered."""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import facets
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.search import open_current
from helpapi.search import search

from .conftest import index_markdown
from .test_filter18 import _articles

QUERIES = [
    ("mailbox calendar zebra", False),
    ("forward the shared mailbox quota xylophone", False),
    ("configure mailbox rules to a s", True),
    ("password m", True),
    ("mailbox", False),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_markdown(tmp_path_factory, "relaxed-memo19", _articles())


def _forget(mem) -> None:
    if getattr(mem, "relaxed_memo", None):
        mem.relaxed_memo.clear()
        mem.relaxed_memo_held = 0


def _filters(ixset):
    data = ixset.facets["en-US"]
    return [None] + [data.allowed((("audience", (a,)),)) for a in ("admin", "itpro")]


def _leaves(monkeypatch) -> list:
    """The leaves _evaluate reads from here on (a remembered clause reads none)."""
    seen: list = []
    original = engine._evaluate

    def counting(node, ndocs, allowed=None):
        if isinstance(node, engine._Leaf):
            seen.append(node)
        return original(node, ndocs, allowed)

    monkeypatch.setattr(engine, "_evaluate", counting)
    return seen


def test_a_remembered_clause_gives_the_same_matches_and_floats(index, monkeypatch):
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        for allowed in _filters(ixset):
            for text, prefix in QUERIES:
                units = parse_user_text(text, "en-US", prefix=prefix)
                _forget(mem)
                fresh = engine.relaxed(mem, units, allowed)
                fresh_set = engine.relaxed(mem, units, allowed, ranks=False)
                assert mem.relaxed_memo, text  # its words are remembered
                leaves = _leaves(monkeypatch)
                again = engine.relaxed(mem, units, allowed)
                monkeypatch.undo()
                assert again == fresh  # same documents, order and floats
                assert engine.relaxed(mem, units, allowed, ranks=False) == fresh_set
                # Every word was read back: no posting of a word evaluated again.
                assert leaves == [], text
                if allowed is not None:
                    assert {d for d, _ in fresh} <= allowed


def test_clauses_are_remembered_per_filter(index):
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        units = parse_user_text("mailbox calendar zebra", "en-US")
        _forget(mem)
        found = [engine.relaxed(mem, units, allowed) for allowed in _filters(ixset)]
        # Each filter's pass after the others' equals its own pass with nothing remembered.
        for allowed, before in zip(_filters(ixset), found, strict=True):
            assert engine.relaxed(mem, units, allowed) == before
            _forget(mem)
            assert engine.relaxed(mem, units, allowed) == before
        assert found[1] != found[2]


def test_a_changed_constant_is_not_served_from_the_memo(index, monkeypatch):
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        units = parse_user_text("password m", "en-US", prefix=True)
        _forget(mem)
        engine.relaxed(mem, units)
        monkeypatch.setattr(ranking, "MAX_PREFIX_EXPANSION", 1)
        narrowed = engine.relaxed(mem, units)
        _forget(mem)
        assert narrowed == engine.relaxed(mem, units)


def test_the_memo_holds_at_most_its_budget(index, monkeypatch):
    monkeypatch.setattr(engine, "RELAXED_MEMO_DOCS", 40)
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        _forget(mem)
        for allowed in _filters(ixset):
            for text, prefix in QUERIES:
                engine.relaxed(mem, parse_user_text(text, "en-US", prefix=prefix), allowed)
                held = sum(len(docs) for docs, *_ in mem.relaxed_memo.values())
                assert held == mem.relaxed_memo_held <= 40


def test_filtered_searches_answer_alike_with_a_warm_memo(index):
    scopes = [
        facets.Scope(filters=(("audience", ("admin",)),)),
        facets.Scope(filters=(("audience", ("itpro",)),), facets=("audience", "service")),
    ]
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        for scope in scopes:
            for text, prefix in QUERIES:
                _forget(mem)
                cold = search(ixset, text, "en-US", prefix=prefix, scope=scope)
                warm = search(ixset, text, "en-US", prefix=prefix, scope=scope)
                assert warm == cold
