"""The build's direct Whoosh segment writer writes what Whoosh's own writer writes.

:class:`helpapi.whoosh_writer.DirectWriter` hands Whoosh's codec the postings the build already
holds, instead of ``writer.add_document(**whoosh_values(...))``. These tests write the same
documents both ways and compare the indexes term by term (postings, weights, positions,
per-term statistics), per-document lengths and stored fields, and the segment files' bytes.
"""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Positions

from helpapi import memindex
from helpapi.corpus import iter_article_paths
from helpapi.corpus import parse_article
from helpapi.indexer import build_locale
from helpapi.schema import ENGLISH
from helpapi.schema import analyze_document
from helpapi.schema import document_for
from helpapi.schema import make_schema
from helpapi.schema import whoosh_values
from helpapi.whoosh_writer import DirectWriter

from .conftest import CORPUS


def _reference(path, docs):
    """The index Whoosh's own writer makes of ``docs`` (the build's former path)."""
    path.mkdir()
    ix = whoosh_index.create_in(path, make_schema())
    writer = ix.writer()
    for doc, analyzed in docs:
        writer.add_document(**{**doc, **whoosh_values(analyzed)})
    writer.commit()
    return ix


def _direct(path, docs):
    """The index DirectWriter makes of ``docs``, with its postings.bin (checked sound)."""
    path.mkdir()
    ix = whoosh_index.create_in(path, make_schema())
    recorder = memindex.Recorder()
    writer = DirectWriter(ix, recorder)
    for doc, analyzed in docs:
        recorder.add_document(doc, analyzed)
        writer.add_analyzed(doc, analyzed)
    writer.commit()
    with ix.reader() as reader:
        recorder.write(path / memindex.FILENAME, reader)
    assert memindex.check(path) is None
    return ix


def _contents(ix) -> dict:
    """Everything a reader can tell about an index, term by term."""
    out = {}
    with ix.reader() as r:
        n = r.doc_count_all()
        out["docs"] = n
        out["stored"] = list(r.all_stored_fields())
        for field in ix.schema.names():
            out[field, "length"] = r.field_length(field)
            out[field, "lengths"] = [r.doc_field_length(d, field) for d in range(n)]
            if not ix.schema[field].indexed:
                continue
            for term in r.lexicon(field):
                ti = r.term_info(field, term)
                stats = (ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length())
                m = r.postings(field, term)
                fmt = ix.schema[field].format
                postings = []
                while m.is_active():
                    postings.append((m.id(), m.weight(), _value(fmt, m.value())))
                    m.next()
                out[field, term] = (stats, ti.max_weight(), postings)
    return out


def _value(fmt, value: bytes):
    """A posting's value as Whoosh reads it: a positional field's frequency and positions
    (the direct writer encodes them smaller than ``Positions.encode``,
    :func:`helpapi.whoosh_writer._deltas_value`), any other field's value bytes."""
    if isinstance(fmt, Positions):
        return fmt.decode_frequency(value), fmt.decode_positions(value)
    return value


def _segment_bytes(path) -> dict:
    """The segment's files by extension (their names hold a random segment id), read out of
    the compound ``.seg`` file."""
    (seg,) = path.glob("MAIN_*.seg")
    store = CompoundStorage(FileStorage(str(path)).open_file(seg.name), use_mmap=False)
    try:
        return {name.split(".", 1)[1]: store.open_file(name).read() for name in store.list()}
    finally:
        store.close()


def _assert_same(a, b, path_a, path_b):
    ca, cb = _contents(a), _contents(b)
    assert ca.keys() == cb.keys()
    for key in ca:
        assert ca[key] == cb[key], key
    # The posting blocks are compressed by size (helpapi.whoosh_writer._packed), and the term
    # index holds their offsets: those two files differ from Whoosh's, block by block
    # equal once read (tests/test_build_write_fast.py); every other file is Whoosh's.
    a, b = _segment_bytes(path_a), _segment_bytes(path_b)
    for name in ("pst", "trm"):
        a.pop(name), b.pop(name)
    assert a == b


def _corpus_docs(locale, limit=25):
    """Documents of the bundled corpus as the build hands them to the writer."""
    docs = []
    for slug, path in sorted(iter_article_paths(CORPUS / "de-DE", CORPUS))[:limit]:
        article = parse_article(path, "de-DE", slug, None, CORPUS)
        doc = document_for(article, locale)
        docs.append((doc, analyze_document(doc, locale)))
    return docs


@pytest.mark.parametrize("locale", ["de-DE", ENGLISH])
def test_direct_segment_equals_whooshs_own(tmp_path, locale):
    docs = _corpus_docs(locale)
    ref = _reference(tmp_path / "ref", docs)
    new = _direct(tmp_path / "new", docs)
    _assert_same(ref, new, tmp_path / "ref", tmp_path / "new")


def test_direct_segment_equals_whooshs_own_no_space_script(tmp_path):
    docs = []
    for slug, path in sorted(iter_article_paths(CORPUS / "ja-JP", CORPUS))[:30]:
        article = parse_article(path, "ja-JP", slug, None, CORPUS)
        doc = document_for(article)
        docs.append((doc, analyze_document(doc, "ja-JP")))
    _assert_same(
        _reference(tmp_path / "r", docs),
        _direct(tmp_path / "n", docs),
        *(tmp_path / "r", tmp_path / "n"),
    )


def _doc(slug, **fields):
    doc = dict.fromkeys(make_schema().names(), "")
    doc.update(slug=slug, refs=[], updated=None, **fields)
    return doc


def test_direct_segment_edge_cases(tmp_path):
    """Repeated and shared positions, empty terms, empty fields, long postings (several
    blocks), a term in every document, non-ASCII term order, empty key fields."""
    docs = []
    for i in range(300):
        text = [("w", 0), ("x", 1), ("x", 1), ("ä", 2), ("", 3), ("z" * (i % 5 + 1), 7 + i)]
        analyzed = {
            "text": text,
            "title": text[:2] if i % 3 else [],
            "grams": [("日本", 0), ("本語", 1)] if i % 2 else [],
            "title_grams": [],
            "stems": ["w", "x", "x", "", "é" * (i % 3)],
        }
        doc = _doc(f"s{i:03}", title_key=f"t{i % 7}", english_title_key="" if i % 2 else "e")
        docs.append((doc, analyzed))
    _assert_same(
        _reference(tmp_path / "r", docs),
        _direct(tmp_path / "n", docs),
        tmp_path / "r",
        tmp_path / "n",
    )


def test_build_locale_writes_a_whoosh_index_whoosh_opens(tmp_path):
    stats = build_locale(str(CORPUS), "fi-FI", str(tmp_path))
    ix = whoosh_index.open_dir(tmp_path / "fi-FI")
    with ix.searcher() as s:
        assert s.doc_count() == stats.articles > 0
        slug = next(iter(s.lexicon("slug"))).decode()
        assert s.document(slug=slug)["slug"] == slug
    assert memindex.check(tmp_path / "fi-FI") is None


def test_direct_writer_refuses_an_index_with_documents(tmp_path):
    docs = _corpus_docs("de-DE", limit=2)
    ix = _reference(tmp_path / "r", docs)
    with pytest.raises(ValueError, match="new index"):
        DirectWriter(ix, memindex.Recorder())
