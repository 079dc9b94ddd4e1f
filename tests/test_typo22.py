"""Stop 22 (typo latency): a term is searched for in its block of the mapping itself
(``_Terms.find``, no copy of the block or its offsets), and the spelling correction hands
the corrected query's strict pass the correction's clause (``engine.remember_term``): the
same term numbers, clauses and answers as before."""

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


# Titles of no-space runs and a word: a query of three units or more sums the every-unit
# title clause smallest first (engine._intersect), and _runs_within settles that order from
# bounds of the phrases' sizes.
JA = {
    "ja-JP": {
        f"t{i}": md_article(title, body)
        for i, (title, body) in enumerate(
            [
                ("Outlook で連絡先を共有する", "Outlook の連絡先を外部と共有します。"),
                ("Outlook で連絡先を外部と共有する", "外部の連絡先と共有。Outlook の設定。"),
                ("Teams で連絡先を共有する", "Teams の連絡先。共有の設定。"),
                ("連絡先の管理", "連絡先を管理します。Outlook と共有。"),
                ("共有フォルダーの連絡先", "Outlook の共有フォルダーと連絡先。"),
                ("外部共有の設定", "外部と共有する設定。連絡先 Outlook"),
                ("予定表を共有する", "Outlook の予定表を共有します。連絡先も。"),
            ]
        )
    }
}

JA_QUERIES = [
    "Outlook 連絡先 共有",
    "Outlook 連絡先 外部 共有",
    "連絡先 共有 設定",
    "Teams 連絡先 共有",
    "外部共有 設定 Outlook",
    "共有フォルダー 連絡先 Outlook",
]


@pytest.fixture(scope="module")
def ja_index(tmp_path_factory):
    return index_markdown(tmp_path_factory, "typo22ja", JA)


@pytest.mark.parametrize("text", JA_QUERIES)
def test_runs_checked_in_the_matches_give_the_whole_phrases_answer(ja_index, text, monkeypatch):
    """Every match's score (floats compared) and hit, with the phrases checked in the
    matches when the bounds settle the order, and with the whole phrases always."""
    with open_current(ja_index) as ixset:
        engine._TITLE_RUNS.clear()
        held = run_query(ixset, text, "ja-JP")
        monkeypatch.setattr(engine, "_runs_within", lambda *args: None)
        engine._TITLE_RUNS.clear()
        whole = run_query(ixset, text, "ja-JP")
    assert held.total
    assert (held.ranked, held.hits) == (whole.ranked, whole.hits)


def test_runs_within_settles_or_declines(ja_index):
    """Checked in the matches: the clause the whole phrases make, for those matches, when
    the bounds leave one order; None when they overlap another clause's size."""
    from helpapi.query import parse_user_text

    with open_current(ja_index) as ixset:
        mem = ixset.mem["ja-JP"]
        title, grams = mem.fields["title"], mem.fields["title_grams"]
        units = parse_user_text("Outlook 連絡先 共有", "ja-JP")
        runs = [u for u in units if u.kind == "run"]
        words = [engine._term(title, u.term, 3.0) for u in units if u.kind == "word"]
        found = dict.fromkeys(range(mem.doc_count), 1.0)
        engine._TITLE_RUNS.clear()
        wholes = [engine._gram_clause(grams, u.grams, 3.0) for u in runs]
        held = engine._runs_within(grams, runs, 3.0, found, words)
        if held is not None:
            got = engine._intersect([*words, *held, engine._Allowed(found)])
            assert got == engine._intersect([*words, *wholes])
            for part, whole in zip(held, wholes, strict=True):
                assert dict(part.items()) == dict(whole.items())  # every title is a match
        # A word clause as long as a phrase could be: the order is not settled.
        phrase = next(u for u in runs if len(u.grams) > 1)
        rarest = min(len(engine._term(grams, g)) for g in phrase.grams)
        one = {d: 1.0 for d in list(engine._gram_clause(grams, phrase.grams, 3.0))[:1]}
        tied = engine._Scored.fromkeys(range(rarest), 1.0)
        if rarest > 1:
            assert engine._runs_within(grams, [phrase], 3.0, one, [tied, words[0]]) is None
        # A phrase in none of the matches: no match gets the clause.
        assert engine._runs_within(grams, runs, 3.0, {10**6: 1.0}, words) == [None]
