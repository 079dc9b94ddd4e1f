"""The write side of a locale's build, made cheaper without changing what is read.

The Whoosh segment's posting blocks are compressed only when they are long enough to shrink
(:func:`helpapi.whoosh_writer._packed`): each block must still read back, through Whoosh's own
codec, as the block Whoosh's writer makes. The fuzzy tables of ``postings.bin`` are built per
run of terms sharing their keyed prefix: the same table as term by term.
"""

from __future__ import annotations

import io
import zlib
from array import array
from pickle import load
from pickle import loads

import pytest
from whoosh import index as whoosh_index
from whoosh.formats import Positions

from helpapi import memindex
from helpapi import whoosh_writer
from helpapi.memindex import _Sections
from helpapi.memindex import fuzzy_keys

from .test_build_fast import _corpus_docs
from .test_build_fast import _direct
from .test_build_fast import _reference


def _blocks(ix) -> dict:
    """Every term's posting blocks as ``(info without its compression, data tuple,
    compressed?, type of the weights as pickled)``, read from the postings file the way
    Whoosh's matcher reads them; the data's weights as a tuple (or None, or one float) and a
    positional field's values as Whoosh's Positions format reads them (frequency, positions):
    the direct writer pickles them smaller (:func:`helpapi.whoosh_writer._deltas_value`)."""
    out = {}
    with ix.reader() as r:
        post = r._terms._postfile
        for field in ix.schema.names():
            if not ix.schema[field].indexed:
                continue
            fmt = ix.schema[field].format
            for term in r.lexicon(field):
                offset, length = r.term_info(field, term).extent()
                if isinstance(length, tuple):  # (W3TermInfo.from_bytes keeps unpack's tuple)
                    (length,) = length
                raw = post.get(offset, length)
                assert raw[:4] == b"W3Bl"
                pos, blocks = 4, []
                while pos < length:
                    size = int.from_bytes(raw[pos : pos + 4], "big", signed=True)
                    pos += 4
                    end = pos + abs(size)
                    # The data follows the info's pickle (as Whoosh's read_pickle reads it).
                    stream = io.BytesIO(raw[pos:end])
                    info = load(stream)
                    data = raw[pos + stream.tell() : end]
                    comp = info[3]
                    ids, weights, values = loads(zlib.decompress(data) if comp else data)
                    kind = type(weights).__name__
                    if kind in ("tuple", "array"):
                        weights = tuple(weights)
                    if isinstance(fmt, Positions):
                        values = tuple(
                            (fmt.decode_frequency(v), fmt.decode_positions(v)) for v in values
                        )
                    tup = (tuple(ids), weights, values)
                    blocks.append(((*info[:3], *info[4:]), tup, bool(comp), kind))
                    pos = end
                    if size < 0:
                        break
                assert pos == length
                out[field, term] = blocks
    return out


@pytest.mark.parametrize("locale", ["de-DE", "ja-JP"])
def test_each_posting_block_reads_back_as_whooshs_own(tmp_path, locale):
    docs = _corpus_docs(locale, limit=40) if locale == "de-DE" else _ja_docs()
    ref = _blocks(_reference(tmp_path / "ref", docs))
    new = _blocks(_direct(tmp_path / "new", docs))
    assert ref.keys() == new.keys()
    compressed = plain = 0
    kinds = set()
    for key, blocks in ref.items():
        assert [b[:2] for b in blocks] == [b[:2] for b in new[key]], key
        for b in new[key]:
            compressed += b[2]
            plain += not b[2]
            kinds.add(b[3])
    # Both kinds occur: the short blocks stored as they are, the long ones compressed; and
    # the weights as one float, a tuple, and (long blocks) the array("f") itself.
    assert compressed and plain
    assert {"NoneType", "float", "tuple", "array"} <= kinds, kinds


def test_term_index_hashes_with_crc32(tmp_path):
    """The direct writer's term index names CRC-32 (Whoosh's hash type 1) in its header,
    and Whoosh's reader finds every term by its hash."""
    docs = _corpus_docs("de-DE", limit=40)
    ref, new = _reference(tmp_path / "r", docs), _direct(tmp_path / "n", docs)
    with ref.reader() as a, new.reader() as b:
        assert a._terms._tindex.hashtype == 0 and b._terms._tindex.hashtype == 1
        for field in ("text", "title", "slug", "stems"):
            terms = list(a.lexicon(field))
            assert terms == list(b.lexicon(field)) and terms
            for term in terms:
                key = b._terms._keycoder(field, term)
                assert key in b._terms._tindex  # the hash lookup, not the ordered scan
                assert b.doc_frequency(field, term) == a.doc_frequency(field, term)


def _ja_docs():
    from helpapi.corpus import iter_article_paths
    from helpapi.corpus import parse_article
    from helpapi.schema import analyze_document
    from helpapi.schema import document_for

    from .conftest import CORPUS

    docs = []
    for slug, path in sorted(iter_article_paths(CORPUS / "ja-JP", CORPUS))[:30]:
        article = parse_article(path, "ja-JP", slug, None, CORPUS)
        doc = document_for(article)
        docs.append((doc, analyze_document(doc, "ja-JP")))
    return docs


def test_short_blocks_are_stored_and_long_ones_compressed():
    short = b"x" * (whoosh_writer.COMPRESS_MIN - 1)
    assert whoosh_writer._packed(short, 3) == (short, 0)
    long = bytes(range(256)) * 4
    data, comp = whoosh_writer._packed(long, 3)
    assert comp == 3 and zlib.decompress(data) == long and len(data) < len(long)
    # Not shorter compressed: stored as is. A codec without compression: never compressed.
    noise = bytes((i * 7919 + 13) % 251 for i in range(200))
    data, comp = whoosh_writer._packed(noise, 3)
    assert zlib.decompress(data) == noise if comp else data == noise
    assert whoosh_writer._packed(long, 0) == (long, 0)


def test_whoosh_searches_the_segment(tmp_path):
    from whoosh.qparser import QueryParser

    docs = _corpus_docs("de-DE", limit=40)
    ref, new = _reference(tmp_path / "r", docs), _direct(tmp_path / "n", docs)
    for ix in (ref, new):
        assert whoosh_index.exists_in(ix.storage.folder)
    with ref.searcher() as a, new.searcher() as b:
        words = [t.decode() for t in list(a.reader().lexicon("text"))[::97]]
        assert len(words) > 10
        for w in words:
            qa = QueryParser("text", ref.schema).parse(f'"{w}"')
            qb = QueryParser("text", new.schema).parse(f'"{w}"')
            ha = [(h.docnum, h.score) for h in a.search(qa, limit=None)]
            hb = [(h.docnum, h.score) for h in b.search(qb, limit=None)]
            assert ha == hb, w


def _fuzzy_reference(terms, k, chars):
    """The fuzzy table term by term, as it was built before (the oracle)."""
    table: dict[str, list[int]] = {}
    for tid, term in enumerate(terms):
        for key, n in fuzzy_keys(term, k, chars).items():
            table.setdefault(key, []).append(tid * 4 + n)
    keys = sorted(table)
    off, entries = array("I", [0]), array("I")
    for key in keys:
        entries.extend(table[key])
        off.append(len(entries))
    return keys, off, entries


@pytest.mark.parametrize("k,chars", [(2, 5), (1, 7), (1, 1), (3, 2)])
def test_the_fuzzy_table_is_the_term_by_term_one(k, chars):
    words = ["", "a", "ab", "abc", "abcdefgh", "abcdefgx", "abcdefghij", "abcdefghik"]
    words += ["ä", "äöü", "äöüß", "日本語", "日本", "x" * 12, "xy" * 6, "zz", "zzz", "zzzz"]
    words += [f"wort{i:03}{s}" for i in range(40) for s in ("", "e", "en", "ung")]
    terms = sorted(set(words))
    got = _Sections()
    spec = got.fuzzy_table(terms, k, chars)
    keys, off, entries = _fuzzy_reference(terms, k, chars)
    want = _Sections()
    ref = want.term_table(keys, off, entries)
    ref.update(k=k, chars=chars)
    assert spec == ref
    assert b"".join(got.parts) == b"".join(want.parts)


def test_postings_file_is_unchanged_by_the_fuzzy_runs(tmp_path):
    """The built postings.bin answers typo lookups as the term-by-term table does."""
    docs = _corpus_docs("de-DE", limit=40)
    _direct(tmp_path / "n", docs)
    mem = memindex.MemIndex.open(tmp_path / "n")
    try:
        table = mem.fuzzy["text"]
        field = mem.fields["text"]
        terms = [field.term(i) for i in range(len(field.terms))]
        keys, off, entries = _fuzzy_reference(terms, table.k, table.chars)
        assert [table.keys.term(i) for i in range(len(table.keys.terms))] == keys
        assert table.keys.docs.tolist() == entries.tolist()
        assert table.keys.post_off.tolist() == off.tolist()
    finally:
        mem.close()
