"""Write a locale's Whoosh segment straight from the postings the build already holds.

Whoosh's ``SegmentWriter.add_document`` analyzes every field again (here: it splits the
pre-analyzed text of :func:`helpapi.schema.whoosh_values`), sends each posting through a
``PostingPool`` that sorts them in Python (through temporary files past its memory limit), and
at commit looks each posting's field length up again in the column it just wrote. That was most
of a build. The build already has every posting, grouped by field and term, in document order
(:class:`helpapi.memindex.Recorder`, for ``postings.bin``), so :class:`DirectWriter` hands them
to Whoosh's own codec in sorted order: the same per-document writer (stored fields, lengths),
the same field writer and posting blocks, the same TOC. The result is a standard Whoosh segment
that Whoosh opens normally, with the same terms, postings, weights, positions, lengths and
stored fields as ``writer.add_document(**whoosh_values(...))`` writes
(``tests/test_build_fast.py`` compares the two, term by term). Only the posting blocks' and
the term index's bytes differ, for speed: a block's data is pickled with protocol 3 or 4
(:data:`_DATA_PROTOCOL`, :data:`_MEMO_MIN`), its weights as their array when long
(:data:`_ARRAY_WEIGHTS`), its position values in a smaller pickle that Whoosh's
``Positions`` format reads as its own (:func:`_deltas_value`), and only long blocks are
compressed (:func:`_packed`); each reads back as Whoosh's own block
(``tests/test_build_write_fast.py``). The term index hashes its keys with CRC-32 rather than
MD5 (:func:`_crc_term_index`; its header names the hash, Whoosh's reader follows it).

Only the analyzed fields take this path; the few ``ID`` fields go through Whoosh's own
``field.index`` (one term each), so their terms are Whoosh's by construction.

An incremental build of a locale where a few articles changed in place (the same articles in
the same order) hands the writer the previous generation's segment (:class:`SegmentReuse`):
a term that no changed article holds, now or before, has exactly the postings it had, so its
posting bytes are copied and only its term info's offset is written anew. The segment is the
same, byte for byte, as a fresh build's (``tests/test_edit_fast.py``).
"""

from __future__ import annotations

import functools
import struct
import zlib
from array import array
from hashlib import md5
from itertools import chain
from operator import sub
from pickle import dumps
from typing import NamedTuple
from zlib import crc32

from whoosh.analysis import IDTokenizer
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.codec.whoosh3 import W3FieldWriter
from whoosh.codec.whoosh3 import W3PostingsWriter
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.codec.whoosh3 import W3TermsReader
from whoosh.codec.whoosh3 import _lenfield
from whoosh.fields import ID
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.filedb.filetables import _lengths as _HASH_LENGTHS
from whoosh.filedb.filetables import crc_hash
from whoosh.filedb.filetables import md5_hash
from whoosh.formats import Existence
from whoosh.formats import Positions
from whoosh.system import pack_int
from whoosh.system import pack_long
from whoosh.system import pack_uint
from whoosh.system import pack_ushort
from whoosh.system import unpack_int
from whoosh.system import unpack_long
from whoosh.util.numeric import byte_to_length
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from .memindex import FREQUENCY_FIELDS
from .memindex import POSITION_FIELDS
from .memindex import Recorder

_TERMINFO = W3TermInfo._struct


class DirectWriter(SegmentWriter):
    """A Whoosh segment writer fed with analyzed documents and the :class:`Recorder`'s
    postings instead of text (one segment, documents numbered in the order added).

    Use :meth:`add_analyzed` for each document (after ``recorder.add_document``), then
    :meth:`commit` (or ``cancel``) as with any Whoosh writer.
    """

    def __init__(self, ix, recorder: Recorder):
        super().__init__(ix)
        if self.docnum != 0 or self.segments:
            # Postings are numbered from 0: only a fresh index has one segment numbered so.
            self.cancel()
            raise ValueError("DirectWriter writes the first segment of a new index")
        self._recorder = recorder
        # field -> term bytes -> [(docnum, weight, value bytes)]: the fields Whoosh analyzes
        # itself (ID fields: one term per document).
        self._own: dict[str, dict[bytes, list]] = {}
        # field -> per-document length, as Whoosh reads it back (one byte, lossy)
        self._lengths: dict[str, list[int]] = {f: [] for f in POSITION_FIELDS + FREQUENCY_FIELDS}
        self._reuse: SegmentReuse | None = None
        self._touched: dict[str, set] = {}
        # ID fields whose one term is the value itself: {name: the term's weight}.
        weights = {name: _whole_value_weight(self.schema[name]) for name in self.schema.names()}
        self._ids = {name: w for name, w in weights.items() if w is not None}
        # The fields of a document's keys (every document of a build has the same ones), in
        # the order Whoosh adds them: Schema.__getitem__ and the field's attributes were
        # ~15 us a document, looked up again for each.
        self._plans: dict[tuple, list] = {}
        _crc_term_index(getattr(self.fieldwriter, "_tindex", None))

    def reuse(self, previous: SegmentReuse, touched: dict[str, set]) -> None:
        """Copy the posting bytes of ``previous`` (the same documents, same numbers) for the
        terms of each recorded field not in ``touched[field]``: the terms the changed
        documents hold now. A term a changed document held before and no longer holds has
        another document frequency than before, so it is written anew too
        (:meth:`SegmentReuse.copy` checks it)."""
        self._reuse, self._touched = previous, touched

    def add_analyzed(self, doc: dict, analyzed: dict[str, list]) -> None:
        """Add one document: ``doc`` (:func:`helpapi.schema.document_for`) for the stored and
        ID fields, ``analyzed`` (:func:`helpapi.schema.analyze_document`) for the others, whose
        postings the recorder already holds."""
        self._check_state()
        pdw = self.perdocwriter
        docnum = self.docnum
        ids = self._ids
        values = {**doc, **analyzed}
        pdw.start_doc(docnum)
        try:
            keys = tuple(values)
            plan = self._plans.get(keys)
            if plan is None:
                plan = self._plan(keys)
            for name, field, stored, recorded, column in plan:
                value = values[name]
                if value is None:
                    continue
                length = 0
                if recorded:
                    length = _length(name, value)
                    # What the codec stores and the field writer's statistics read back.
                    self._lengths[name].append(byte_to_length(_to_byte(length)))
                elif name in ids and type(value) is str:
                    # What field.index yields for it (one term: the value), without the
                    # analyzer's Token and generators (~7 us a field, 5 fields a document).
                    own = self._own.setdefault(name, {})
                    own.setdefault(value.encode("utf-8"), []).append((docnum, ids[name], b""))
                elif field.indexed:
                    own = self._own.setdefault(name, {})
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if field.scorable:
                            length += freq
                        own.setdefault(tbytes, []).append((docnum, weight, vbytes))
                pdw.add_field(name, field, value if stored else None, length)
                if column:
                    pdw.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def _plan(self, keys: tuple) -> list[tuple]:
        """``(name, field, stored, recorded, column type)`` of each field of a document with
        ``keys``, sorted as Whoosh adds a document's fields (the stored dict keeps that order);
        names starting with "_" left out, an unknown name a KeyError as ``schema[name]``."""
        plan = [
            (name, field, bool(field.stored), name in self._lengths, field.column_type)
            for name in sorted(keys)
            if not name.startswith("_")
            for field in (self.schema[name],)
        ]
        if len(self._plans) < 64:  # (a build's documents share one; tests may vary them)
            self._plans[keys] = plan
        return plan

    def _flush_segment(self):
        # In place of SegmentWriter's: the postings come from the recorder and self._own, in
        # Whoosh's order (field name, then term bytes, then document), not from the pool.
        self.perdocwriter.close()
        fw = self.fieldwriter
        tindex = getattr(fw, "_tindex", None)
        if type(tindex) is OrderedHashWriter and tindex.hashfn in (crc_hash, md5_hash):
            # Its hash tables at close, written a table at a time (the same bytes).
            tindex._write_hashes = functools.partial(_write_hashes, tindex)
        postings = self._recorder.postings
        for name in sorted(set(postings) | set(self._own)):
            field = self.schema[name]
            if name in postings:
                order = self._recorder.sorted_terms(name)
                terms = _recorded_terms(name, postings[name], order)
                lengths = self._lengths[name]
            else:
                own = self._own[name]
                terms = ((t, [(d, w, v, 0) for d, w, v in own[t]]) for t in sorted(own))
                lengths = None
            reuse = self._reuse if lengths is not None else None
            positional = name in POSITION_FIELDS
            # The encoders _BlockWriter.recorded inlines are _plist's (Positions, or a
            # frequency field's uint).
            fused = not positional or type(field.format) is Positions
            touched = self._touched.get(name, ())
            started = False
            for tbytes, plist in terms:
                if not started:
                    fw.start_field(name, field)
                    started = True
                    blocks = _BlockWriter.of(fw, field.format)
                    if blocks is None:
                        reuse = None
                if lengths is not None:
                    term, entries = plist
                    if reuse is not None and term not in touched:
                        if reuse.copy(name, tbytes, len(entries), blocks):
                            continue
                    if blocks is not None and fused:
                        # Straight from the entries: no per-posting tuple, no transpose.
                        blocks.recorded(tbytes, entries, lengths, positional)
                        continue
                    plist = _plist(name, entries, lengths, field.format)
                if blocks is not None:
                    blocks.term(tbytes, plist)
                    continue
                fw.start_term(tbytes)
                for docnum, weight, vbytes, length in plist:
                    fw.add(docnum, weight, vbytes or b"", length)
                fw.finish_term()
            if started:
                if blocks is not None:
                    blocks.check_positions()
                fw.finish_field()
        fw.close()


class _BlockWriter:
    """Whoosh's W3 posting blocks and term infos for one field, written without Whoosh's
    per-posting calls: what ``start_term``, ``add`` and ``finish_term`` of
    :class:`whoosh.codec.whoosh3.W3FieldWriter` write (the same block statistics, term info
    and block contents; ``tests/test_build_fast.py`` compares the indexes, and
    ``tests/test_build_write_fast.py`` each block read back), with the block data pickled
    with protocol 3, or 4 from :data:`_MEMO_MIN` postings on (:data:`_DATA_PROTOCOL`), and
    compressed only when long (:func:`_packed`). Only for the codec
    settings it was written against (:meth:`of` gives None otherwise, and Whoosh's own path
    is used).
    """

    def __init__(self, fw, fmt, blocklimit: int, compression: int):
        self._post = fw._postfile
        self._tindex = fw._tindex
        # The plain files under Whoosh's StructFile wrappers (which only delegate): a call
        # less per write and tell, for tens of thousands of terms.
        self._post_raw = getattr(self._post, "file", self._post)
        tindex = self._tindex
        self._ti_raw = (
            getattr(tindex.dbfile, "file", None) if type(tindex) is OrderedHashWriter else None
        )
        # Where the next write lands in each file, counted here rather than asked of the
        # file: a buffered file's tell() is a system call (lseek), and it was asked three
        # times a term. Only this writer writes to them while its field is written
        # (:meth:`check_positions` compares at the field's end).
        self._at = self._post_raw.tell()
        self._ti_at = self._ti_raw.tell() if self._ti_raw is not None else 0
        self._prefix = pack_ushort(fw._fieldid)
        fixed = fmt.fixed_value_size()
        # _mini_values: a tuple of the values (variable size), None (no values), or joined
        self._values = "tuple" if fixed is None or fixed < 0 else ("none" if fixed == 0 else "join")
        self._limit = blocklimit
        self._comp = compression

    @classmethod
    def of(cls, fw, fmt) -> _BlockWriter | None:
        """The block writer of the field ``fw`` just started, if its codec is the one known."""
        pw = getattr(fw, "_postwriter", None)
        if (
            type(pw) is not W3PostingsWriter
            or type(fw) is not W3FieldWriter
            or pw._byteids
            or pw._inlinelimit != 1  # 1: never inline (every term has a posting)
            or not pw._compression
        ):
            return None
        return cls(fw, fmt, pw._blocklimit, pw._compression)

    def check_positions(self) -> None:
        """Fail unless the counted positions are the files' (the end of a field)."""
        if self._at != self._post_raw.tell() or (
            self._ti_raw is not None and self._ti_at != self._ti_raw.tell()
        ):
            raise RuntimeError("posting or term index file written behind the block writer")

    def term(self, tbytes: bytes, plist: list) -> None:
        """Write one term's postings ``[(docnum, weight, value bytes, length)]`` (docnum
        order) and its term info."""
        start = self._at
        if len(plist) == 1:
            self._single(tbytes, plist[0], start)
            return
        limit = self._limit
        n = len(plist)
        # One transpose in C instead of a comprehension per column.
        self._blocks(
            tbytes,
            start,
            [zip(*plist[lo : lo + limit], strict=True) for lo in range(0, n, limit)],
        )

    def recorded(self, tbytes: bytes, entries: list, lengths: list[int], positional: bool):
        """:meth:`term` for a recorded term's ``entries`` (``(docnum, weight, positions)``,
        docnum order), with the value bytes :func:`_plist` gives (Positions or a frequency
        field's uint), made here without the per-posting tuples."""
        start = self._at
        if len(entries) == 1:
            n, w, poses = entries[0]
            value = _position_value(poses) if positional else pack_uint(int(w))
            self._single(tbytes, (n, w, value, lengths[n]), start)
            return
        limit = self._limit
        total = len(entries)
        columns = []
        for lo in range(0, total, limit):
            block = entries if total <= limit else entries[lo : lo + limit]
            # The entries' columns in one transpose (C), not a comprehension each.
            ids, raw, plists = zip(*block, strict=True)
            lens = list(map(lengths.__getitem__, ids))
            if positional:
                # _position_value inlined: most postings hold one position, whose value is
                # looked up (the same bytes object each time: the block's pickle refers back
                # to it, which reads back as the same value); the others' is made here
                # without a call per posting.
                one = _ONE_POSITION.get
                vals = [
                    v
                    if len(p) == 1 and (v := one(p[0])) is not None
                    else (_position_value(p) if len(p) == 1 else _deltas_value(p))
                    for p in plists
                ]
            else:
                vals = list(map(pack_uint, map(int, raw)))
            columns.append((ids, raw, vals, lens))
        self._blocks(tbytes, start, columns)

    def _blocks(self, tbytes: bytes, start: int, columns) -> None:
        """The posting blocks of one term, each ``(ids, weights, values, lengths)``, and its
        term info (what W3FieldWriter writes from ``add`` calls)."""
        post = self._post_raw
        ti_weight, ti_df, ti_min, ti_max, ti_maxw = 0, 0, None, 0, 0
        ti_minid = None
        ti_maxid = 0
        kind = self._values
        comp = self._comp
        last = len(columns) - 1
        for i, (ids, raw, vals, lens) in enumerate(columns):
            count = len(ids)
            weights = array("f", raw)
            maxw = max(raw)
            if not maxw > 0:
                maxw = 0
            if count == 1:
                bmin = lens[0] or None
                bmax = lens[0] or 0
            else:
                lengths = list(filter(None, lens))
                bmin = min(lengths) if lengths else None
                bmax = max(lengths) if lengths else 0
            # W3TermInfo.add_block
            ti_weight += sum(weights)
            ti_df += count
            ti_min = bmin if ti_min is None else min(ti_min, bmin)
            ti_max = max(ti_max, bmax)
            ti_maxw = max(ti_maxw, maxw)
            if ti_minid is None:
                ti_minid = ids[0]
            ti_maxid = ids[-1]
            # W3PostingsWriter._write_block
            if i == 0:
                post.write(WHOOSH3_HEADER_MAGIC)
                self._at += len(WHOOSH3_HEADER_MAGIC)
            # The ids' deltas from 0 (array("I") gave these ints before: the same pickle).
            deltas = (ids[0], *map(sub, ids[1:], ids[:-1])) if count > 1 else ids
            if weights.count(1.0) == count:
                mini_w = None
            elif weights.count(weights[0]) == count:
                mini_w = weights[0]
            elif count >= _ARRAY_WEIGHTS:
                mini_w = weights  # pickled as its 4-byte floats (Whoosh reads it as such)
            else:
                mini_w = tuple(weights)
            if kind == "none":
                mini_v = None
            elif kind == "tuple":
                mini_v = tuple(filter(None, vals))
            else:
                mini_v = b"".join(vals)  # (an empty value adds nothing)
            data, bcomp = _packed(
                dumps((deltas, mini_w, mini_v), _DATA_PROTOCOL if count < _MEMO_MIN else 4), comp
            )
            info = dumps(
                (count, ids[-1], maxw, bcomp, _to_byte(bmin), _to_byte(bmax)),
                2,
            )
            size = len(info) + len(data)
            post.write(pack_int(-size if i == last else size) + info + data)
            self._at += 4 + size
        # W3TermInfo.to_bytes (never inlined)
        info = _TERMINFO.pack(
            False,
            ti_weight,
            ti_df,
            0 if ti_min is None else _to_byte(ti_min),
            _to_byte(ti_max),
            ti_maxw,
            0xFFFFFFFF if ti_minid is None else ti_minid,
            ti_maxid,
        )
        info += pack_long(start) + pack_int(self._at - start)
        self._add_info(self._prefix + tbytes, info)

    def _single(self, tbytes: bytes, posting: tuple, start: int) -> None:
        """:meth:`term` for a term of one posting (most terms): the same block and term
        info, without the per-block lists."""
        docnum, weight, value, length = posting
        w32 = _FLOAT32.get(weight)
        if w32 is None:
            w32 = _FLOAT32[weight] = array("f", (weight,))[0]
        maxw = weight if weight > 0 else 0
        bmin = length or None
        bmax = length or 0
        kind = self._values
        if kind == "none":
            mini_v = None
        elif kind == "tuple":
            mini_v = (value,) if value else ()
        else:
            mini_v = value or b""
        comp = self._comp
        post = self._post_raw
        post.write(WHOOSH3_HEADER_MAGIC)
        mini_w = None if w32 == 1.0 else w32
        data, comp = _packed(dumps(((docnum,), mini_w, mini_v), _DATA_PROTOCOL), comp)
        info = dumps((1, docnum, maxw, comp, _to_byte(bmin), _to_byte(bmax)), 2)
        size = len(info) + len(data)
        post.write(pack_int(-size) + info + data)
        self._at += len(WHOOSH3_HEADER_MAGIC) + 4 + size
        info = _TERMINFO.pack(
            False,
            0 + w32,
            1,
            0 if bmin is None else _to_byte(bmin),
            _to_byte(bmax),
            max(0, maxw),
            docnum,
            docnum,
        )
        info += pack_long(start) + pack_int(self._at - start)
        self._add_info(self._prefix + tbytes, info)

    def _add_info(self, key: bytes, value: bytes) -> None:
        """``OrderedHashWriter.add(key, value)`` (and ``HashWriter.add``), inlined: the same
        order check, records, position index and hash buckets."""
        raw = self._ti_raw
        if raw is None:
            self._tindex.add(key, value)
            return
        tindex = self._tindex
        if key <= tindex.lastkey:
            raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{key!r}")
        pos = self._ti_at
        tindex.index.append(pos)
        record = _HASH_LENGTHS.pack(len(key), len(value)) + key + value
        raw.write(record)
        self._ti_at = pos + len(record)
        if tindex.hashfn is crc_hash:
            h = crc32(key)  # crc_hash's value (crc32 is unsigned already)
        elif tindex.hashfn is md5_hash:
            # md5_hash's value (the digest's low 32 bits), without its hex round trip.
            h = _LOW32(md5(key, usedforsecurity=False).digest(), 12)[0]
        else:
            h = tindex.hashfn(key)
        tindex.buckets[h & 255].append((h, pos))
        tindex.lastkey = key


_LOW32 = struct.Struct(">I").unpack_from


def _crc_term_index(tindex) -> None:
    """Make a fresh term index (nothing past its header written) hash its keys with
    CRC-32 (Whoosh's hash type 1) instead of MD5 (type 0, the default). The type is a byte
    of the header, and ``HashReader`` takes the function it names: the same lookups, for a
    tenth of md5's cost a term (a new hash object and digest each)."""
    if type(tindex) is not OrderedHashWriter or tindex.hashfn is not md5_hash:
        return
    f = tindex.dbfile
    end = f.tell()
    # The header: magic (4 bytes), the hash type (1), two unused ints (8).
    if end != tindex.startoffset + 13:
        return
    f.seek(tindex.startoffset + 4)
    f.write_byte(1)
    f.seek(end)
    tindex.hashtype, tindex.hashfn = 1, crc_hash


def _write_hashes(tindex: OrderedHashWriter) -> None:
    """``HashWriter._write_hashes`` of ``tindex`` (the term index), each bucket's table
    packed and written in one call rather than a struct and a write per slot: the same
    open-addressing tables (twice as many slots as entries, linear probing from
    ``(hash >> 8) % slots``, empty slots ``(0, 0)``), the same bytes."""
    dbfile = tindex.dbfile
    for entries in tindex.buckets:
        pos = dbfile.tell()
        numslots = 2 * len(entries)
        tindex.directory.append((pos, numslots))
        if not numslots:
            continue
        table = [None] * numslots
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while table[slot] is not None:  # (no key is at position 0: the header is)
                slot = (slot + 1) % numslots
            table[slot] = (hashval, position)
        flat = chain.from_iterable(_NULL_SLOT if e is None else e for e in table)
        dbfile.write(struct.pack(f"!{'Iq' * numslots}", *flat))


_NULL_SLOT = (0, 0)

# The pickle protocol of a posting block's data (ids, weights, values). Whoosh writes 2, which
# pickles each bytes value as a call to _codecs.encode of a latin-1 str: a block of 128
# position values took 94 us to pickle and 62 us to read back. Protocol 3 (Python 3's first)
# holds bytes as they are: 6 us and 6 us, half the bytes. Whoosh's reader takes any protocol
# (pickle.loads, W3LeafMatcher._read_data).
_DATA_PROTOCOL = 3

# Blocks of this many postings or more are pickled with protocol 4: its memo entry (one for
# each value) takes a byte where protocol 3's takes 2 (5 past the 256th), but its frame adds
# 9 bytes to a pickle, more than a small block saves.
_MEMO_MIN = 16

# A block's weights (when they differ) are pickled as the array("f") they are from this many
# postings on: 4 bytes a weight where a tuple of floats takes 9, past the ~70 bytes of the
# array's reconstructor. W3LeafMatcher keeps whatever sequence it reads (``_read_weights``)
# and indexes it: the same floats.
_ARRAY_WEIGHTS = 16

# Posting blocks whose pickle is shorter than this are stored as they are. Whoosh's reader
# decompresses a block only when its info says it was compressed (W3LeafMatcher._read_data).
# zlib's cost is in proportion to the bytes compressed, and the short blocks shrink least:
# dev corpus ja-JP, blocks (compact values, :func:`_deltas_value`) of 96 bytes and more
# compressed: 0.33 s, 5.27 MB of blocks; from 384: 0.25 s, 5.80 MB; from 768: 0.20 s,
# 6.47 MB; none: 10.8 MB (the former encoding from 96 bytes: 0.37 s, 6.04 MB).
COMPRESS_MIN = 384


def _packed(raw: bytes, compression: int) -> tuple[bytes, int]:
    """A posting block's pickled data as written, and the compression its info records
    (0: stored as is). Blocks of :data:`COMPRESS_MIN` bytes and more are compressed at the
    codec's level (when it compresses at all and it makes them shorter), with a window just
    covering them: a smaller one costs less to set up, and compresses a block that fits in
    it the same (any zlib stream decompresses alike)."""
    size = len(raw)
    if size < COMPRESS_MIN or not compression:
        return raw, 0
    data = zlib.compress(raw, compression, max(9, min(15, size.bit_length())))
    if len(data) >= size:
        return raw, 0
    return data, compression


# {weight: the weight rounded to a float32, as array("f") holds it}
_FLOAT32: dict[float, float] = {}


@functools.lru_cache(maxsize=65536)
def _to_byte(length):
    """:func:`whoosh.util.numeric.length_to_byte`, memoized (a bisect per call otherwise)."""
    return length_to_byte(length)


def _whole_value_weight(field) -> float | None:
    """The weight of an ``ID`` field's one term, when the field indexes a text value as
    exactly that text (Whoosh's ``IDTokenizer`` alone, ``Existence`` format, not scorable):
    ``field.index(value)`` then yields ``(value as UTF-8, 1, field boost, b"")`` and nothing
    else. None for any other field (it is indexed through ``field.index``)."""
    if (
        type(field) is ID
        and type(field.analyzer) is IDTokenizer
        and type(field.format) is Existence
        and not field.scorable
    ):
        return field.format.field_boost
    return None


def _length(name: str, tokens: list) -> int:
    """A field's length as Whoosh counts it: its tokens (an empty frequency-field term is no
    token once Whoosh splits the text, see :func:`_recorded_terms`)."""
    if name in FREQUENCY_FIELDS:
        # (Terms are str: the empty ones counted in C, not a generator step per token.)
        return len(tokens) - tokens.count("")
    return len(tokens)


def _recorded_terms(name, table: dict, order: list[str]):
    """``(term bytes, (term, entries))`` of a recorded field, in Whoosh's term order
    (``order``: the terms sorted by their UTF-8 bytes); :func:`_plist` makes the postings."""
    positional = name in POSITION_FIELDS
    for term in order:
        if not term and not positional:
            continue  # Whoosh's splitter never yields an empty term here
        yield term.encode("utf-8"), (term, table[term])


def _plist(name, entries: list, lengths: list[int], fmt) -> list:
    """``[(docnum, weight, value bytes, length)]`` of one recorded term's ``entries``."""
    if name in POSITION_FIELDS:
        if type(fmt) is not Positions:
            encode = fmt.encode
            return [(n, w, encode(poses), lengths[n]) for n, w, poses in entries]
        # The format's own encoder, inlined for the one the schema uses; most postings hold
        # one position, whose value is looked up rather than made each time.
        return [(n, w, _position_value(poses), lengths[n]) for n, w, poses in entries]
    return [(n, w, pack_uint(int(w)), lengths[n]) for n, w, _ in entries]


def _position_value(poses: list[int]) -> bytes:
    """The value bytes of a posting at ``poses`` (:func:`_deltas_value`). Most postings hold
    one position, whose value is looked up rather than made each time (one bytes object per
    position: a block's values are pickled as a tuple, where an object met twice is written
    as a reference back to the first, which reads back as an equal value)."""
    if len(poses) == 1:
        value = _ONE_POSITION.get(poses[0])
        if value is None:
            value = _deltas_value(poses)
            if poses[0] < _ONE_POSITION_MAX:  # bounded: a huge article has huge ones
                _ONE_POSITION[poses[0]] = value
        return value
    return _deltas_value(poses)


def _deltas_value(poses: list[int]) -> bytes:
    """A posting value that :class:`whoosh.formats.Positions` decodes as ``poses``: its
    frequency (``pack_uint``), then a pickle of the positions' deltas, as ``encode`` writes,
    but smaller. ``decode_positions`` sums what ``pickle.loads`` gives, and a ``bytes``
    object gives its bytes as ints: deltas under 256 (nearly all) are pickled as one
    (``SHORT_BINBYTES``, no protocol header or memo: ``loads`` needs neither), 3 bytes plus
    one a position where ``encode``'s list takes 6 plus two, so a block holds a third less
    for zlib to compress. Other deltas: the list, pickled with protocol 1 (no header)."""
    n = len(poses)
    try:
        return _BYTES_HEAD[n] + bytes(map(sub, poses, [0, *poses])) + b"."
    except (IndexError, ValueError):  # 256 positions or more, a delta over 255 (or below 0)
        return pack_uint(n) + dumps([*map(sub, poses, [0, *poses])], 1)


# The head of a value of n (< 256) positions whose deltas fit a byte: frequency, SHORT_BINBYTES
_BYTES_HEAD = [pack_uint(n) + b"C" + bytes((n,)) for n in range(256)]

# {position: the value bytes of a one-position posting there}
_ONE_POSITION: dict[int, bytes] = {}
_ONE_POSITION_MAX = 65536


class SegmentReuse:
    """The previous generation's Whoosh segment of a locale, whose posting bytes a
    :class:`DirectWriter` may copy (see :meth:`DirectWriter.reuse`).

    Opened only on a segment whose files were verified against their checksums (an
    incremental build verifies the serving generation first), of the one codec known here;
    :meth:`open` gives None for anything else, and the build writes every term itself.
    """

    def __init__(self, ix, reader, terms):
        self._ix, self._reader = ix, reader
        unmap = terms._fieldunmap
        # Both files read whole, once: slicing bytes is much cheaper than a seek and a read
        # through the compound file per term.
        post = terms._postfile
        post.seek(0)
        self._post = post.read()
        tindex = terms._tindex
        start, end = tindex.startofdata, tindex.endofdata
        data = tindex.dbfile.get(start, end - start)
        # field -> term bytes -> term info bytes (W3TermInfo, then offset and length); the
        # records are (key length, value length, key, value), as HashReader._ranges reads them.
        self.infos: dict[str, dict[bytes, bytes]] = {}
        lens, size = _HASH_LENGTHS.unpack_from, _HASH_LENGTHS.size
        pos, stop = 0, len(data)
        by_id: dict[int, dict] = {}
        while pos < stop:
            keylen, datalen = lens(data, pos)
            key = pos + size
            value = key + keylen
            fid = (data[key] << 8) | data[key + 1]  # the field number (big-endian ushort)
            table = by_id.get(fid)
            if table is None:
                table = by_id[fid] = self.infos.setdefault(unmap[fid], {})
            table[data[key + 2 : value]] = data[value : value + datalen]
            pos = value + datalen
        self.copied = 0

    @classmethod
    def open(cls, folder) -> SegmentReuse | None:
        """The segment in ``folder``, or None when it cannot be reused."""
        from .generations import open_whoosh

        ix = reader = None
        try:
            ix = open_whoosh(folder)
            reader = ix.reader()
            terms = getattr(reader, "_terms", None)
            if type(terms) is not W3TermsReader or reader.has_deletions():
                raise ValueError("not a single W3 segment without deletions")
            return cls(ix, reader, terms)
        except Exception:  # any doubt: no reuse, the build writes every term
            if reader is not None:
                reader.close()
            return None

    def copy(self, name: str, tbytes: bytes, df: int, blocks: _BlockWriter) -> bool:
        """Write the previous postings of term ``tbytes`` of field ``name`` through
        ``blocks``, if it had ``df`` documents; False (nothing written) otherwise."""
        value = self.infos.get(name, {}).get(tbytes)
        if value is None or len(value) != _TERMINFO.size + 12:
            return False
        info = _TERMINFO.unpack(value[: _TERMINFO.size])
        if info[0] or info[2] != df:  # inlined, or another document frequency
            return False
        (offset,) = unpack_long(value[-12:-4])
        (length,) = unpack_int(value[-4:])
        start = blocks._at
        blocks._post.write(self._post[offset : offset + length])
        blocks._at = start + length
        info = value[:-12] + pack_long(start) + pack_int(length)
        blocks._add_info(blocks._prefix + tbytes, info)
        self.copied += 1
        return True

    def close(self) -> None:
        """Close the previous segment's files."""
        self._reader.close()


class WriterStats:
    """What :meth:`helpapi.memindex.Recorder.write` reads of the new segment's reader (its
    document count, field lengths, each document's lossy length and number), answered from
    the :class:`DirectWriter` before its commit: the numbers the reader would give, read from
    what the writer hands Whoosh (its per-document writer's totals and length columns).

    Only these four methods: a reader method the recorder starts to use fails here (and the
    build writes postings.bin in-process, from the reader) rather than being guessed.
    """

    def __init__(self, writer: DirectWriter, slugs: list[str]):
        pdw = writer.perdocwriter
        self._docs = writer.docnum
        self._totals = dict(pdw._fieldlengths)
        self._lengths = writer._lengths
        # A field no document had a token in has no length column: the reader's default.
        self._columns = {f: pdw._has_column(_lenfield(f)) for f in writer._lengths}
        self._first: dict[str, int] = {}
        for n, slug in enumerate(slugs):
            self._first.setdefault(slug, n)  # the slug term's first posting, as Whoosh's

    @classmethod
    def of(cls, writer: DirectWriter, slugs: list[str]) -> WriterStats | None:
        """The writer's statistics, or None when they are not one length per document."""
        lengths = getattr(writer, "_lengths", None)
        if not isinstance(lengths, dict) or len(slugs) != writer.docnum:
            return None
        if any(len(v) != writer.docnum for v in lengths.values()):
            return None
        return cls(writer, slugs)

    def doc_count_all(self) -> int:
        return self._docs

    def field_length(self, fieldname: str) -> int:
        return self._totals.get(fieldname, 0)

    def doc_field_length(self, docnum: int, fieldname: str, default=0):
        if not self._columns.get(fieldname):
            return default
        # The writer's list holds byte_to_length(length_to_byte(n)); the reader gives that for
        # a non-zero byte and None for a document without a token in the field.
        length = self._lengths[fieldname][docnum]
        return length if length else None

    def postings(self, fieldname: str, text: str):
        if fieldname != "slug":
            raise KeyError(fieldname)
        return _Docnum(self._first[text])


class _Docnum(NamedTuple):
    n: int

    def id(self) -> int:
        return self.n
