"""Stop 21 (typo and prefix latency): the re-ranking's ``copied`` (helpapi.engine.punctuated)
is looked for only where it can matter, a query holding no-space runs with two or more
matches; the answers stay those of looking for it on every query."""

import pytest

from helpapi import engine
from helpapi import search as search_mod
from helpapi.query import parse_user_text
from helpapi.search import open_current
from helpapi.search import run_query

from .conftest import index_markdown
from .conftest import md_article


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    articles = {
        "a": md_article(
            "Outlook-Windows の設定を変更する", "Outlook-Windows の設定 > 変更する方法。"
        ),
        "b": md_article(
            "Outlook Windows 設定 変更 ガイド", "Outlook Windows 設定を変更。設定 > 変更。"
        ),
        "c": md_article("Outlook Windows ヘルプ", "Outlook-Windows の 設定 と 変更 について。" * 3),
    }
    return index_markdown(tmp_path_factory, "typo21", {"en-US": articles, "ja-JP": articles})


QUERIES = [
    ("Outlook-Windows", "en-US"),
    ("Outlook Windows", "ja-JP"),
    ("Outlok-Windows", "en-US"),  # corrected
    ("設定 > 変更", "ja-JP"),  # runs, a mark between them
    ("Outlook-Windows 設定 > 変更", "ja-JP"),
    ("設定 変更", "ja-JP"),
    ("Outlook Win", "ja-JP"),
]


def _eager_rerank(original):
    """``_rerank`` given ``engine.punctuated`` of the query as searched, as before stop 21."""

    def rerank(mem, ranked, units, key="", copied=False, shown=None, text="", *rest):
        return original(mem, ranked, units, key, engine.punctuated(_typed[0]), shown, text, *rest)

    return rerank


_typed = [""]


@pytest.mark.parametrize(("text", "locale"), QUERIES)
def test_answers_are_those_of_looking_for_marks_on_every_query(index, monkeypatch, text, locale):
    prefix = text.endswith("Win")
    with open_current(index) as ixset:
        lazy = run_query(ixset, text, locale, prefix=prefix)
        _typed[0] = text
        monkeypatch.setattr(search_mod, "_rerank", _eager_rerank(search_mod._rerank))
        eager = run_query(ixset, text, locale, prefix=prefix)
    assert lazy.total
    assert (lazy.ranked, lazy.hits, lazy.corrected) == (eager.ranked, eager.hits, eager.corrected)


def test_marks_are_looked_for_only_beside_runs(index, monkeypatch):
    calls = []
    original = engine.punctuated

    def counting(text):
        calls.append(text)
        return original(text)

    monkeypatch.setattr(engine, "punctuated", counting)
    with open_current(index) as ixset:
        run_query(ixset, "Outlook-Windows", "en-US")
        assert calls == []  # words only: runs_in_body never reads it
        found = run_query(ixset, "設定 > 変更", "ja-JP")
        assert len(found.ranked) > 1 and calls == ["設定 > 変更"]


def test_runs_in_body_ignores_copied_without_runs(index):
    # What makes skipping the look-up exact: with no run among the units, runs_in_body adds
    # nothing whatever ``copied`` says.
    with open_current(index) as ixset:
        mem = ixset.mem["en-US"]
        units = parse_user_text("Outlook-Windows", "en-US")
        for copied in (False, True):
            in_body: dict = {}
            engine.runs_in_body(mem, units, [0, 1, 2], in_body, "", copied, titled=False)
            assert in_body == {}


@pytest.mark.parametrize(
    ("text", "phrase"),
    [("Behandeln von Problemen mit der Azure AD-Verknpüfung", -1), ('"共有 連絡先" Outlook', 0)],
)
def test_units_written_out_are_the_prototypes_copied(text, phrase):
    # _word_units and _units_of write each unit's fields out instead of copying _WORD_FIELDS /
    # _RUN_FIELDS (Unit's own __init__'s): the same keys in the same order, the same values
    # but the unit's own.
    from helpapi import query

    runs = query._runs_pattern(text)
    units = query._units_of(text, "ja-JP", phrase, runs)
    assert {u.kind for u in units} == ({"word", "run"} if phrase == 0 else {"word"})
    for u in units:
        proto = query._WORD_FIELDS if u.kind == "word" else query._RUN_FIELDS
        own = (
            {"text", "term", "phrase", "locale"}
            if u.kind == "word"
            else {"text", "grams", "phrase"}
        )
        assert list(u.__dict__) == list(proto)
        assert {k: v for k, v in u.__dict__.items() if k not in own} == {
            k: v for k, v in proto.items() if k not in own
        }
        assert u.phrase == phrase and u.locale == ("ja-JP" if u.kind == "word" else "")
        assert u == query.Unit(
            u.kind, u.text, term=u.term, stem=u.stem, grams=u.grams, phrase=phrase, locale=u.locale
        )
