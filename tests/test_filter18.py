"""Filtered searches do no work their answer cannot show (issue 18, item 6, stop 18).

* The facet counts of a filtered field run the query again without its own filter: that run
  only needs its matched documents (a set), so it ranks nothing further (no proximity
  re-ranking of its head) and its counts equal those of the full run.
* The passes of that run add no boosts and sort nothing: the same matches, in no order.

Work is counted (calls, documents), never timed; answers are compared with the reference
computations."""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import facets
from helpapi import search as search_mod
from helpapi.query import parse_user_text
from helpapi.search import open_current
from helpapi.search import run_query
from helpapi.search import search

from .conftest import index_markdown
from .test_facets import md

AUDIENCES = ("Admin", "ITPro", "End User")


def _articles() -> dict:
    en: dict[str, str] = {}
    for i in range(36):
        audience = AUDIENCES[i % 3]
        service = ("exchange", "teams")[i % 2]
        body = f"Reset the mailbox password {i}. Configure the mailbox quota and the mailbox rules."
        if i % 4 == 0:
            body += " Forward the mailbox to a shared calendar."
        en[f"a-{i:02d}"] = md(f"Mailbox article {i}", body, audience=audience, service=service)
    ja: dict[str, str] = {}
    for i in range(24):
        body = "共有メールボックスの設定を変更します。" if i % 2 else "外部ユーザーとの共同作業。"
        ja[f"j-{i:02d}"] = md(f"記事 {i}", body, audience=AUDIENCES[i % 3])
    return {"en-US": en, "ja-JP": ja}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_markdown(tmp_path_factory, "filter18", _articles())


ITPRO = facets.Scope(filters=(("audience", ("itpro",)),), facets=("audience", "service"))


def test_the_counts_run_of_a_filtered_field_is_not_reranked(index, monkeypatch):
    with open_current(index) as ixset:
        full = {}
        for name in ("audience", "service"):
            found = run_query(ixset, "mailbox password", "en-US", 0, 0, scope=ITPRO.without(name))
            full[name] = ixset.facets["en-US"].counts(name, {d for d, _ in found.ranked})
        calls = []
        original = search_mod._rerank

        def counting(mem, ranked, units, *rest):
            calls.append(len(ranked))
            return original(mem, ranked, units, *rest)

        monkeypatch.setattr(search_mod, "_rerank", counting)
        answer = search(ixset, "mailbox password", "en-US", scope=ITPRO)
        # The filtered run re-ranks its head; the audience counts' run (the same query without
        # audience:ITPro) ranks nothing: only its set of documents is counted.
        assert len(calls) == 1
        assert answer["facets"]["audience"] == full["audience"]
        assert answer["facets"]["service"] == full["service"]
        assert sum(r["count"] for r in answer["facets"]["audience"]) == 36


def test_a_counts_scope_asks_for_no_order():
    scope = ITPRO.without("audience")
    assert scope.filters == () and scope.facets == ()
    assert not scope.ranks
    assert facets.Scope().ranks and ITPRO.ranks


@pytest.mark.parametrize(
    ("locale", "text", "prefix"),
    [
        ("en-US", "mailbox password", False),
        ("en-US", "mailbox quota rul", True),
        ("en-US", "shared calendar nothere", False),
        ("ja-JP", "共有メールボックス 外部ユーザー", False),
    ],
)
def test_unranked_passes_match_the_same_documents(index, locale, text, prefix):
    # A counts run's passes add no boosts and sort nothing: the same matches, in no order.
    with open_current(index) as ixset:
        mem = ixset.mem[locale]
        units = parse_user_text(text, locale, prefix=prefix)
        for allowed in (None, ixset.facets[locale].allowed((("audience", ("admin",)),))):
            for run in (engine.strict, engine.relaxed):
                ranked = run(mem, units, allowed=allowed)
                bare = run(mem, units, allowed=allowed, ranks=False)
                assert sorted(d for d, _ in bare) == sorted(d for d, _ in ranked)
