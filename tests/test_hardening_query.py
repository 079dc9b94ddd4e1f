"""Every search has a bounded cost: repeated words collapse, query units and runs are capped,
spelling correction and the relaxed pass work on a bounded number of words, and case variants
of one query share a result-cache entry.

(Timing lives in ``bench/hostile.py``; these tests check the bounds themselves.)
"""

from __future__ import annotations

import pytest

from helpapi import query
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.ranking import MAX_RUN_CHARS
from helpapi.ranking import MAX_UNITS

from .whoosh_oracle import _best_correction


def test_repeated_words_collapse():
    units = parse_user_text("to the " * 42, "en-US")
    assert [u.term for u in units] == ["to", "the"]


def test_repeated_words_collapse_whatever_their_case():
    units = parse_user_text("To THE to The tO the", "en-US")
    assert [u.term for u in units] == ["to", "the"]


def test_repeated_phrase_collapses_to_its_words():
    units = parse_user_text('"' + "to i " * 40 + '"', "sv-SE")
    assert [u.term for u in units] == ["to", "i"]
    assert all(u.phrase == 0 for u in units)


def test_units_are_capped():
    text = " ".join(f"word{i}" for i in range(60))
    units = parse_user_text(text, "en-US")
    assert len(units) == MAX_UNITS
    assert [u.term for u in units] == [f"word{i}" for i in range(MAX_UNITS)]


def test_long_run_is_cut_into_pieces():
    run = "".join(chr(0x4E00 + i) for i in range(200))
    units = parse_user_text(run, "zh-CN")
    assert all(u.kind == "run" for u in units)
    assert all(len(u.text) <= MAX_RUN_CHARS for u in units)
    assert "".join(u.text for u in units) == run[: MAX_RUN_CHARS * len(units)]


def test_prefix_word_survives_collapsing():
    units = parse_user_text("reset reset pass", "en-US", prefix=True)
    assert [u.term for u in units] == ["reset", "pass"] and units[-1].prefix


def test_prefix_flag_stays_on_last_word_when_it_repeats_an_earlier_one():
    # "pass" typed again is still being typed: the prefix unit is kept, the earlier one merged.
    units = parse_user_text("pass word pass", "en-US", prefix=True)
    assert [u.term for u in units][-1] == "pass" and units[-1].prefix


class _Reader:
    """The reader calls corrected_units makes, counted."""

    def __init__(self):
        self.calls = 0

    def doc_frequency(self, field, term):
        return 0

    def terms_within(self, field, term, limit, prefix=1):
        self.calls += 1
        return iter([term[:-1] + "e"])


def test_many_unknown_words_are_not_spell_corrected():
    units = parse_user_text("pzwrq xvcrq dzxxd nkqwnw fsfjt nzthdbz", "en-US")
    reader = _Reader()
    assert query.corrected_units(units, reader, lambda t: _best_correction(reader, t)) is None
    assert reader.calls == 0


def test_a_few_unknown_words_are_corrected():
    units = parse_user_text("passwerd resett", "en-US")
    reader = _Reader()
    assert query.corrected_units(units, reader, lambda t: _best_correction(reader, t)) is not None
    assert reader.calls == 2


def test_relaxed_pass_keeps_the_rarest_words():
    class R:
        def doc_frequency(self, field, term):
            return {"the": 1000, "to": 900, "and": 800}.get(term, 1)

    words = "the to and alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    units = parse_user_text(" ".join(words), "en-US")
    kept = query.relaxed_units(units, R())
    assert len(kept) == ranking.RELAXED_MAX_UNITS
    assert not {"the", "to", "and"} & {u.term for u in kept}
    # Kept in the order typed.
    assert [u.term for u in kept] == [u.term for u in units if u in kept]


@pytest.mark.parametrize(
    "variant", ["Reset Password", "RESET   password", "reset password", " reset PASSWORD "]
)
def test_case_variants_share_one_cache_entry(app, variant):
    client = app.test_client()
    cache = app.extensions["helpapi.cache"]
    client.get("/v1/search", query_string={"q": "reset password", "locale": "en-US"})
    before = len(cache._data)
    resp = client.get("/v1/search", query_string={"q": variant, "locale": "en-US"})
    assert resp.status_code == 200
    assert resp.get_json()["query"] == variant.strip()
    assert len(cache._data) == before


def test_lone_characters_are_capped():
    from helpapi import ranking

    units = parse_user_text("を の し は て が で に と も", "ja-JP")
    lone = [u for u in units if u.kind == "run" and len(u.text) == 1]
    assert len(lone) == ranking.MAX_LONE_CHARS
    assert [u.text for u in lone] == ["を", "の", "し"]
    # Longer runs and words are not affected.
    units = parse_user_text("パスワード を の し は reset", "ja-JP")
    assert [u.text for u in units] == ["パスワード", "を", "の", "し", "reset"]


def test_snippet_scan_stops_past_the_last_possible_window():
    from helpapi import snippets

    text = " ".join(["の"] * 5000)
    full = snippets.match_spans(text, ["の"])
    cut = snippets.match_spans(text, ["の"], window=(64, 180))
    assert full[: len(cut)] == cut and len(cut) < 200
    # The snippet is the one the whole scan gives.
    long = "Intro. " + " ".join(f"word{i} reset password" for i in range(3000))
    surfaces = ["reset", "password"]
    assert snippets.make_snippet(long, surfaces) == _full_snippet(long, surfaces)


def _full_snippet(text, surfaces):
    from helpapi import snippets

    real = snippets.match_spans
    try:
        snippets.match_spans = lambda t, s, limit=2000, window=None: real(t, s, limit)
        return snippets.make_snippet(text, surfaces)
    finally:
        snippets.match_spans = real
