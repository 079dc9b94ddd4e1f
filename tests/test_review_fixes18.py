"""Review findings on this stop's merged changes, each pinned by a test that failed before its
fix."""

import pytest

from helpapi import create_app
from helpapi import engine
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


@pytest.mark.parametrize(
    "text",
    [
        "フォルダー または ファイル？",
        "？フォルダー",
        '"共有 連絡先"',
        "Outlook 2016?",
        "C++",
        "(グループ)",
    ],
)
def test_marks_at_the_ends_of_a_query_are_not_copied_text(text):
    # A question mark typed after keywords, quotes around them, a name ending in marks: the
    # query is still typed keywords, not text copied from an article (review: "？" after a
    # keyword query gave it the body-run extra and another first result).
    assert not engine.punctuated(text)


@pytest.mark.parametrize("text", ["受信者]、[グループ", "帳單 > 購買服務", "設定、変更？"])
def test_marks_between_words_still_tell_copied_text(text):
    assert engine.punctuated(text)


def test_the_rerank_gets_the_corrected_querys_title_key(title_holders, monkeypatch):
    # After a spelling correction the strict pass runs with the corrected query's title key;
    # the re-ranking's whole-title check (runs_in_body) got the typed one (review).
    from helpapi import engine as engine_mod
    from helpapi.query import query_title_key

    keys = []
    original = engine_mod.runs_in_body

    def spy(mem, units, docs, in_body, key="", copied=False, *, titled):
        keys.append(key)
        return original(mem, units, docs, in_body, key, copied, titled=titled)

    monkeypatch.setattr(engine_mod, "runs_in_body", spy)
    r = title_holders.get("/v1/search", query_string={"q": "Outlok Windows", "locale": "ja-JP"})
    corrected = r.json["corrected"]
    assert r.status_code == 200 and corrected.casefold() == "outlook windows"
    assert keys == [query_title_key(corrected, "ja-JP")]
    assert keys != [query_title_key("Outlok Windows", "ja-JP")]
