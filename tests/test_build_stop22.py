"""Stop 22 (x-build4): what a pool worker makes once for the locales it forks."""

from __future__ import annotations

import os

import pytest

from helpapi import article_cache
from helpapi import indexer
from helpapi import render


def test_a_pool_worker_makes_the_per_process_state_before_its_first_locale(monkeypatch):
    render._markdown.cache_clear()
    render._clean.cache_clear()
    article_cache._code_fingerprint.cache_clear()
    indexer._reuse_fingerprint.cache_clear()
    monkeypatch.setattr(indexer, "die_with_parent", lambda parent: None)
    monkeypatch.setattr(indexer, "_progress_queue", None)
    monkeypatch.setattr(indexer, "_kept", None)
    indexer._init_worker("queue", os.getpid())
    # Made now, so every locale's forked child inherits them rather than making them again.
    assert render._markdown.cache_info().currsize == 1
    assert render._clean.cache_info().currsize == 1
    assert article_cache._code_fingerprint.cache_info().currsize == 1
    assert indexer._reuse_fingerprint.cache_info().currsize == 1


def test_the_warmed_renderer_renders_as_a_fresh_one():
    text = "# Title\n\n> [!NOTE]\n> a **note** with a [link](https://example.com)\n\n|a|b|\n|-|-|\n|1|2|\n"
    render._markdown.cache_clear()
    render._clean.cache_clear()
    fresh = render.render_markdown(text)
    indexer._warm_up()
    assert render.render_markdown(text) == fresh


def test_front_matter_lines_read_once_give_the_same_dicts():
    from helpapi import corpus

    fm = 'title: A\nms.custom:\n- "9002530"\n- 7648\nms.date: 12/18/2020\nauthor: x'
    corpus.clear_line_memo()
    first = corpus.simple_front_matter(fm)
    assert len(corpus._lines) == 6
    second = corpus.simple_front_matter(fm)  # every line from the memo
    assert (
        first
        == second
        == {
            "title": "A",
            "ms.custom": ["9002530", 7648],
            "ms.date": "12/18/2020",
            "author": "x",
        }
    )
    assert first["ms.custom"] is not second["ms.custom"]  # each file its own list
    # A line that is not simple is remembered as such, and still refuses the whole block.
    assert corpus.simple_front_matter("a: *ref") is None
    assert corpus.simple_front_matter("a: *ref") is None
    # Items without their "key:" line, or indented unlike the first item, stay refused.
    assert corpus.simple_front_matter('- "9002530"') is None
    assert corpus.simple_front_matter("k:\n- a\n  - b") is None


def test_the_line_memo_is_bounded(monkeypatch):
    from helpapi import corpus

    corpus.clear_line_memo()
    monkeypatch.setattr(corpus, "_LINE_MEMO_SIZE", 3)
    fm = "\n".join(f"k{i}: v{i}" for i in range(10))
    assert corpus.simple_front_matter(fm) == {f"k{i}": f"v{i}" for i in range(10)}
    assert len(corpus._lines) == 3
    long_line = "k: " + "x" * 300
    corpus.clear_line_memo()
    assert corpus.simple_front_matter(long_line) == {"k": "x" * 300}
    assert not corpus._lines
    corpus.clear_line_memo()


@pytest.mark.parametrize(
    "value", ["", "a", "abc-def", "Ünïcode títle", "設定 の 変更", " x y ", "\u00a0"]
)
def test_an_id_fields_term_is_what_whoosh_indexes(value):
    from helpapi.schema import make_schema
    from helpapi.whoosh_writer import _whole_value_weight

    schema = make_schema()
    for name in ("slug", "assetid", "title_key", "english_title_key", "alias_title_key"):
        field = schema[name]
        weight = _whole_value_weight(field)
        assert weight is not None, name
        assert list(field.index(value)) == [(value.encode("utf-8"), 1, weight, b"")]
    # A field of another kind is left to field.index.
    assert _whole_value_weight(schema["text"]) is None
    assert _whole_value_weight(schema["body"]) is None


def test_an_unencodable_id_fails_both_ways():
    from helpapi.schema import make_schema

    field = make_schema()["slug"]
    with pytest.raises(UnicodeEncodeError):
        list(field.index("\ud800"))
    with pytest.raises(UnicodeEncodeError):
        "\ud800".encode("utf-8")


def test_a_segment_with_empty_and_shared_ids_reads_back(tmp_path):
    from whoosh import index as whoosh_index

    from helpapi import memindex
    from helpapi.schema import make_schema
    from helpapi.whoosh_writer import DirectWriter

    ix = whoosh_index.create_in(tmp_path, make_schema())
    recorder = memindex.Recorder()
    writer = DirectWriter(ix, recorder)
    empty = {"text": [], "title": [], "grams": [], "title_grams": [], "stems": []}
    for n, (assetid, key) in enumerate([("", "été"), ("a1", "été"), ("", "")]):
        doc = {"slug": f"s{n}", "assetid": assetid, "title_key": key, "body": "b"}
        recorder.add_document(doc, empty)
        writer.add_analyzed(doc, empty)
    writer.commit()
    with ix.searcher() as s:
        r = s.reader()
        assert list(r.postings("assetid", "").all_ids()) == [0, 2]
        assert list(r.postings("title_key", "été").all_ids()) == [0, 1]
        assert s.document(slug="s2")["body"] == "b"


def test_a_repeated_item_line_gives_its_own_object_as_before():
    import pickle

    from helpapi import corpus

    corpus.clear_line_memo()
    fm = 'ms.custom:\n- "9002238"\n- "5041"\n- "9002238"\n- 設\n- 設\n- a\n- a'
    meta = corpus.simple_front_matter(fm)
    refs = meta["ms.custom"]
    assert refs == ["9002238", "5041", "9002238", "設", "設", "a", "a"]
    # Parsed without the memo, each occurrence was a new str (one-character Latin-1 ones
    # are Python's shared singletons either way): the stored fields pickle to the same bytes.
    assert refs[0] is not refs[2] and refs[3] is not refs[4] and refs[5] is refs[6]
    again = corpus.simple_front_matter(fm)["ms.custom"]
    assert pickle.dumps(again, 2) == pickle.dumps(refs, 2)
    corpus.clear_line_memo()
    fresh = pickle.dumps(corpus.simple_front_matter(fm)["ms.custom"], 2)
    assert fresh == pickle.dumps(refs, 2)


def test_the_field_plan_follows_each_documents_keys(tmp_path):
    from whoosh import index as whoosh_index

    from helpapi import memindex
    from helpapi.schema import make_schema
    from helpapi.whoosh_writer import DirectWriter

    ix = whoosh_index.create_in(tmp_path, make_schema())
    recorder = memindex.Recorder()
    writer = DirectWriter(ix, recorder)
    empty = {"text": [], "title": [], "grams": [], "title_grams": [], "stems": []}
    docs = [
        {"slug": "a", "body": "x", "updated": None},
        {"slug": "b", "_note": "not a field", "markdown": "m"},
        {"slug": "c", "body": "y", "updated": "2024-01-01"},
    ]
    for doc in docs:
        recorder.add_document(doc, empty)
        writer.add_analyzed(doc, empty)
    with pytest.raises(KeyError):
        writer.add_analyzed({"slug": "d", "no_such_field": 1}, empty)
    assert writer.docnum == 3  # the failed document is not counted
    writer.commit()
    with ix.searcher() as s:
        assert s.document(slug="a") == {"slug": "a", "body": "x"}
        assert s.document(slug="b") == {"slug": "b", "markdown": "m"}
        assert s.document(slug="c") == {"slug": "c", "body": "y", "updated": "2024-01-01"}


def test_two_files_sharing_a_line_get_their_own_objects():
    # Review of stop 22: a translation and its English source with the same "title: Outlook"
    # line; one record stores both titles, and a pickle writes an object met twice once (a
    # back-reference): other bytes than a parse of each file gave.
    import pickle

    from helpapi import corpus

    corpus.clear_line_memo()
    a = corpus.simple_front_matter("title: Outlook Web\nms.topic: article")
    b = corpus.simple_front_matter("title: Outlook Web\nms.topic: article")
    assert a == b
    assert a["title"] is not b["title"]
    record = {"display_title": a["title"], "english_title": b["title"]}
    # Two str objects, as two parses gave (built at run time: constants would be shared).
    fresh = {"display_title": " ".join(["Outlook", "Web"]), "english_title": "Outlook Web"}
    assert pickle.dumps(record, 2) == pickle.dumps(fresh, 2)
    corpus.clear_line_memo()


def test_the_line_memo_is_bounded_in_characters(monkeypatch):
    from helpapi import corpus

    corpus.clear_line_memo()
    monkeypatch.setattr(corpus, "_LINE_MEMO_TOTAL", 100)
    for i in range(50):
        corpus.simple_front_matter(f"k{i}: " + "\U0001f600" * 30)
    assert sum(map(len, corpus._lines)) <= 100
    corpus.clear_line_memo()


def test_a_failing_warm_up_leaves_the_error_to_first_use(monkeypatch):
    # A warm-up step that raises in the pool's start-up hook killed every worker ("process
    # pool terminated abruptly" for each locale); first use now reports it, per locale.
    def broken():
        raise OSError("no renderer library")

    monkeypatch.setattr(render, "_markdown", broken)
    indexer._warm_up()  # no error here
