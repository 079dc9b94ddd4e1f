"""Review findings on this stop's merged changes, each pinned by a test that failed before its
fix."""

import pytest

from helpapi import create_app
from helpapi import ranking
from helpapi.indexer import build_indexes


def _md(title: str, body: str) -> str:
    return f"---\ntitle: {title}\n---\n# {title}\n\n{body}\n"


@pytest.fixture(scope="module")
def title_holders(tmp_path_factory):
    # Titles that hold every word of the query, one of them in another order, and a body
    # that repeats the words: the re-ranking reads many positions per document.
    root = tmp_path_factory.mktemp("corpus")
    index = tmp_path_factory.mktemp("index")
    articles = {
        "a": _md(
            "Outlook Windows の設定を変更する", "Outlook Windows の設定を変更する方法。設定 変更。"
        ),
        "b": _md("Outlook Windows 設定 変更 ガイド 詳細", "Outlook Windows 設定を変更。"),
        "c": _md("Outlook Windows ヘルプ", "Outlook Windows の 設定 と 変更 について。" * 5),
    }
    for locale in ("en-US", "ja-JP"):
        (root / locale).mkdir()
        for slug, text in articles.items():
            (root / locale / f"{slug}.md").write_text(text, "utf-8")
    build_indexes(root, index, jobs=1)
    config = {"TESTING": True, "INDEX_DIR": str(index), "CORPUS_DIR": str(root)}
    config.update(ANALYTICS="off", RESULT_CACHE_SIZE=0)
    app = create_app(config)
    yield app.test_client()
    app.extensions["helpapi.indexes"].close()


def test_a_proximity_budget_spent_inside_a_title_holder_is_no_500(title_holders, monkeypatch):
    # The re-ranking's look-up budget running out inside a document whose in-order score was
    # already noted (a title holding every word) left that score without the document's extra:
    # the title-holder rule then subtracted it from a missing entry, a KeyError, a 500. Every
    # budget from 1 look-up up must answer, and rank the same documents.
    seen = set()
    for lookups in range(1, 40):
        monkeypatch.setattr(ranking, "PROXIMITY_MAX_LOOKUPS", lookups)
        r = title_holders.get(
            "/v1/search", query_string={"q": "Outlook Windows 設定 変更", "locale": "ja-JP"}
        )
        assert r.status_code == 200, (lookups, r.get_data()[:200])
        seen.add(frozenset(h["slug"] for h in r.json["results"]))
    assert seen == {frozenset("abc")}
