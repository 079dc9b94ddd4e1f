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
(``tests/test_build_fast.py`` compares the two, term by term).

Only the analyzed fields take this path; the few ``ID`` fields go through Whoosh's own
``field.index`` (one term each), so their terms are Whoosh's by construction.
"""

from __future__ import annotations

import zlib
from array import array
from pickle import dumps

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC
from whoosh.codec.whoosh3 import W3FieldWriter
from whoosh.codec.whoosh3 import W3PostingsWriter
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.formats import Positions
from whoosh.system import pack_int
from whoosh.system import pack_long
from whoosh.system import pack_uint
from whoosh.system import pack_ushort
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

    def add_analyzed(self, doc: dict, analyzed: dict[str, list]) -> None:
        """Add one document: ``doc`` (:func:`helpapi.schema.document_for`) for the stored and
        ID fields, ``analyzed`` (:func:`helpapi.schema.analyze_document`) for the others, whose
        postings the recorder already holds."""
        self._check_state()
        schema = self.schema
        pdw = self.perdocwriter
        docnum = self.docnum
        values = {**doc, **analyzed}
        pdw.start_doc(docnum)
        try:
            # Sorted, as Whoosh adds a document's fields (the stored dict keeps that order).
            for name in sorted(values):
                value = values[name]
                if value is None or name.startswith("_"):
                    continue
                field = schema[name]
                length = 0
                if name in self._lengths:
                    length = _length(name, value)
                    # What the codec stores and the field writer's statistics read back.
                    self._lengths[name].append(byte_to_length(length_to_byte(length)))
                elif field.indexed:
                    own = self._own.setdefault(name, {})
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if field.scorable:
                            length += freq
                        own.setdefault(tbytes, []).append((docnum, weight, vbytes))
                stored = value if field.stored else None
                pdw.add_field(name, field, stored, length)
                if field.column_type and value is not None:
                    pdw.add_column_value(name, field.column_type, field.to_column_value(value))
        except Exception:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        # In place of SegmentWriter's: the postings come from the recorder and self._own, in
        # Whoosh's order (field name, then term bytes, then document), not from the pool.
        self.perdocwriter.close()
        fw = self.fieldwriter
        postings = self._recorder.postings
        for name in sorted(set(postings) | set(self._own)):
            field = self.schema[name]
            if name in postings:
                order = self._recorder.sorted_terms(name)
                terms = _recorded_terms(
                    name, postings[name], order, self._lengths[name], field.format
                )
            else:
                own = self._own[name]
                terms = ((t, [(d, w, v, 0) for d, w, v in own[t]]) for t in sorted(own))
            started = False
            for tbytes, plist in terms:
                if not started:
                    fw.start_field(name, field)
                    started = True
                    blocks = _BlockWriter.of(fw, field.format)
                if blocks is not None:
                    blocks.term(tbytes, plist)
                    continue
                fw.start_term(tbytes)
                for docnum, weight, vbytes, length in plist:
                    fw.add(docnum, weight, vbytes or b"", length)
                fw.finish_term()
            if started:
                fw.finish_field()
        fw.close()


class _BlockWriter:
    """Whoosh's W3 posting blocks and term infos for one field, written without Whoosh's
    per-posting calls: what ``start_term``, ``add`` and ``finish_term`` of
    :class:`whoosh.codec.whoosh3.W3FieldWriter` write, byte for byte (the same pickles,
    compression, block statistics and term info; ``tests/test_build_fast.py`` and
    ``tests/test_build_fast2.py`` compare the files). Only for the codec settings it was
    written against (:meth:`of` gives None otherwise, and Whoosh's own path is used).
    """

    def __init__(self, fw, fmt, blocklimit: int, compression: int):
        self._post = fw._postfile
        self._tindex = fw._tindex
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

    def term(self, tbytes: bytes, plist: list) -> None:
        """Write one term's postings ``[(docnum, weight, value bytes, length)]`` (docnum
        order) and its term info."""
        post = self._post
        start = post.tell()
        limit = self._limit
        ti_weight, ti_df, ti_min, ti_max, ti_maxw = 0, 0, None, 0, 0
        ti_minid = None
        ti_maxid = 0
        n = len(plist)
        for lo in range(0, n, limit):
            block = plist[lo : lo + limit]
            ids = array("I", [p[0] for p in block])
            raw = [p[1] for p in block]
            weights = array("f", raw)
            maxw = max(raw)
            if not maxw > 0:
                maxw = 0
            lengths = [p[3] for p in block if p[3]]
            bmin = min(lengths) if lengths else None
            bmax = max(lengths) if lengths else 0
            # W3TermInfo.add_block
            ti_weight += sum(weights)
            ti_df += len(ids)
            ti_min = bmin if ti_min is None else min(ti_min, bmin)
            ti_max = max(ti_max, bmax)
            ti_maxw = max(ti_maxw, maxw)
            if ti_minid is None:
                ti_minid = ids[0]
            ti_maxid = ids[-1]
            # W3PostingsWriter._write_block
            if lo == 0:
                post.write(WHOOSH3_HEADER_MAGIC)
            base, deltas = 0, []
            for i in ids:
                deltas.append(i - base)
                base = i
            if all(w == 1.0 for w in weights):
                mini_w = None
            elif all(w == weights[0] for w in weights):
                mini_w = weights[0]
            else:
                mini_w = tuple(weights)
            kind = self._values
            if kind == "none":
                mini_v = None
            else:
                values = [p[2] for p in block if p[2]]
                mini_v = tuple(values) if kind == "tuple" else b"".join(values)
            data = zlib.compress(dumps((tuple(deltas), mini_w, mini_v), 2), self._comp)
            info = dumps(
                (len(ids), ids[-1], maxw, self._comp, length_to_byte(bmin), length_to_byte(bmax)),
                2,
            )
            size = len(info) + len(data)
            post.write(pack_int(-size if lo + limit >= n else size))
            post.write(info)
            post.write(data)
        # W3TermInfo.to_bytes (never inlined)
        info = _TERMINFO.pack(
            False,
            ti_weight,
            ti_df,
            0 if ti_min is None else length_to_byte(ti_min),
            length_to_byte(ti_max),
            ti_maxw,
            0xFFFFFFFF if ti_minid is None else ti_minid,
            ti_maxid,
        )
        info += pack_long(start) + pack_int(post.tell() - start)
        self._tindex.add(self._prefix + tbytes, info)


def _length(name: str, tokens: list) -> int:
    """A field's length as Whoosh counts it: its tokens (an empty frequency-field term is no
    token once Whoosh splits the text, see :func:`_recorded_terms`)."""
    if name in FREQUENCY_FIELDS:
        return sum(1 for t in tokens if t)
    return len(tokens)


def _recorded_terms(name, table: dict, order: list[str], lengths: list[int], fmt):
    """``(term bytes, [(docnum, weight, value bytes, length)])`` of a recorded field, in
    Whoosh's term order (``order``: the terms sorted by their UTF-8 bytes)."""
    positional = name in POSITION_FIELDS
    # The format's own encoder, inlined for the one the schema uses.
    encode = _encode_positions if type(fmt) is Positions else getattr(fmt, "encode", None)
    for term in order:
        if not term and not positional:
            continue  # Whoosh's splitter never yields an empty term here
        entries = table[term]
        if positional:
            plist = [(n, w, encode(poses), lengths[n]) for n, w, poses in entries]
        else:
            plist = [(n, w, pack_uint(int(w)), lengths[n]) for n, w, _ in entries]
        yield term.encode("utf-8"), plist


def _encode_positions(poses) -> bytes:
    """``whoosh.formats.Positions.encode`` (the value bytes of a positional posting)."""
    deltas = []
    base = 0
    for pos in poses:
        deltas.append(pos - base)
        base = pos
    return pack_uint(len(deltas)) + dumps(deltas, 2)
