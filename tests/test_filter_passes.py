"""Filtered searches whose filter removes every strict match (issue 18, item 6): the
correction and relaxed passes skip the documents the filter leaves out before scoring them,
so their cost follows the filtered set, and the answer stays the one the whole-locale passes
gave (same documents, scores, order, exact ``total``); an empty filter set scores nothing."""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import facets
from helpapi.query import parse_user_text
from helpapi.query import relaxed_units
from helpapi.search import open_current
from helpapi.search import search

from .conftest import build_files
from .test_facets import md

# Many end-user articles and a few IT pro ones share the same words, so a filter on ITPro
# keeps a small part of what the relaxed pass would otherwise walk.
JA_TEXT = "共有メールボックスの設定を変更する方法。外部ユーザーとの共同作業を構成します。"
EN_TEXT = "Configure the shared mailbox settings and the password policy for external users."


def _articles() -> dict:
    out: dict[str, dict[str, str]] = {"ja-JP": {}, "en-US": {}}
    for i in range(40):
        audience = "ITPro" if i % 10 == 3 else "End User"
        out["ja-JP"][f"ja-{i:02d}"] = md(f"共有メールボックス {i}", JA_TEXT, audience=audience)
        out["en-US"][f"en-{i:02d}"] = md(f"Shared mailbox {i}", EN_TEXT, audience=audience)
    # The only articles holding the strict matches below: end-user ones.
    out["ja-JP"]["ja-only"] = md(
        "プリンターの追加", "プリンターを追加します。", audience="End User"
    )
    out["en-US"]["en-only"] = md("Add a printer", "Connect a printer.", audience="End User")
    return out


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return build_files(tmp_path_factory, "filter-passes", _articles())[1]


ITPRO = facets.Scope(filters=(("audience", ("itpro",)),))
NOBODY = facets.Scope(filters=(("audience", ("nobody",)),))
# Each has no strict match inside the filter: a mistyped word (correction, then relaxed),
# words no single IT pro article holds together, a Japanese run (bigram phrase leaves).
QUERIES = [
    ("en-US", "printer mailbox"),
    ("en-US", "mailbx pasword printer"),
    ("ja-JP", "プリンター 共有メールボックスの設定"),
    ("ja-JP", "外部ユーザーとプリンターの共同作業"),
]


def _whole_locale_relaxed(monkeypatch):
    """engine.relaxed as it was: every document of the locale scored, then the filter."""
    original = engine.relaxed

    def reference(mem, units, allowed=None):
        ranked = original(mem, units, None)
        return ranked if allowed is None else [x for x in ranked if x[0] in allowed]

    monkeypatch.setattr(engine, "relaxed", reference)


@pytest.mark.parametrize(("locale", "text"), QUERIES)
def test_a_filtered_query_with_no_strict_match_answers_as_the_whole_locale_passes(
    index, monkeypatch, locale, text
):
    with open_current(index) as ixset:
        found = search(ixset, text, locale, limit=50, scope=ITPRO)
        assert found["total"] >= 1 and found["locale"] == locale
        slugs = {r["slug"] for r in found["results"]}
        assert all(s.endswith(("03", "13", "23", "33")) for s in slugs), slugs
        with monkeypatch.context() as m:
            _whole_locale_relaxed(m)
            assert search(ixset, text, locale, limit=50, scope=ITPRO) == found
        # Unfiltered, the strict pass finds the end-user article: the filter caused the fall.
        assert search(ixset, text, locale)["total"] >= 1


@pytest.mark.parametrize(("locale", "text"), QUERIES)
def test_the_relaxed_pass_under_any_allowed_set_is_the_whole_pass_filtered(index, locale, text):
    with open_current(index) as ixset:
        mem = ixset.mem[locale]
        units = relaxed_units(parse_user_text(text, locale), engine.Frequencies(mem))
        whole = engine.relaxed(mem, units)
        for allowed in (
            frozenset(),
            frozenset({3}),
            frozenset(range(0, 41, 2)),
            frozenset(range(41)),
        ):
            assert engine.relaxed(mem, units, allowed) == [x for x in whole if x[0] in allowed]


def test_phrase_leaves_skip_documents_outside_the_filter_before_checking_them(index, monkeypatch):
    # The cost that made filtered p99 exceed 5 ms: a run's bigram phrases were checked in
    # every document of the locale, then all but the filtered ones dropped.
    calls = [0]  # postings walked (each then probed in the other term, positions checked)
    original = engine._walk

    def counting(term, allowed):
        out = original(term, allowed)
        calls[0] += len(out)
        return out

    monkeypatch.setattr(engine, "_walk", counting)
    with open_current(index) as ixset:
        mem = ixset.mem["ja-JP"]
        text = "外部ユーザーとプリンターの共同作業"
        units = relaxed_units(parse_user_text(text, "ja-JP"), engine.Frequencies(mem))
        engine.relaxed(mem, units)
        whole, calls[0] = calls[0], 0
        engine.relaxed(mem, units, frozenset({3}))
        assert whole > 100 and calls[0] * 10 <= whole, (whole, calls[0])


def test_an_empty_filter_set_scores_nothing_and_removes_every_match(index, monkeypatch):
    # A filter no article passes removes every match like any filter (stop 20,
    # tests/test_filter20.py): the passes are chosen as without it, which reads the
    # unfiltered matches as a set only; nothing is scored, ranked or fetched for the answer.
    strict, relaxed = engine.strict, engine.relaxed

    def checked(original):
        def run(mem, units, *args, ranks=True):
            allowed = args[-1] if args else None
            assert allowed is not None or not ranks, "an unfiltered pass only as a set"
            found = original(mem, units, *args, ranks=ranks)
            assert allowed is None or found == []
            return found

        return run

    def never(*args, **kwargs):
        raise AssertionError("nothing is ranked when the filter lets nothing through")

    monkeypatch.setattr(engine, "strict", checked(strict))
    monkeypatch.setattr(engine, "relaxed", checked(relaxed))
    monkeypatch.setattr(engine, "proximity", never)
    with open_current(index) as ixset:
        for locale, text in QUERIES:
            found = search(ixset, text, locale, scope=NOBODY)
            assert found["total"] == 0 and found["results"] == [] and found["corrected"] is None
            # The locale has matches (strict or relaxed): no English fallback.
            assert found["locale"] == locale and not found["fallback"]
            assert found["filtered_out"] is True
