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

from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from .memindex import FREQUENCY_FIELDS
from .memindex import POSITION_FIELDS
from .memindex import Recorder


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
                terms = _recorded_terms(name, postings[name], field.format, self._lengths[name])
            else:
                own = self._own[name]
                terms = ((t, [(d, w, v, 0) for d, w, v in p]) for t, p in own.items())
            started = False
            for tbytes, plist in sorted(terms, key=lambda item: item[0]):
                if not started:
                    fw.start_field(name, field)
                    started = True
                fw.start_term(tbytes)
                for docnum, weight, vbytes, length in plist:
                    fw.add(docnum, weight, vbytes or b"", length)
                fw.finish_term()
            if started:
                fw.finish_field()
        fw.close()


def _length(name: str, tokens: list) -> int:
    """A field's length as Whoosh counts it: its tokens (an empty frequency-field term is no
    token once Whoosh splits the text, see :func:`_recorded_terms`)."""
    if name in FREQUENCY_FIELDS:
        return sum(1 for t in tokens if t)
    return len(tokens)


def _recorded_terms(name, table: dict, fmt, lengths: list[int]):
    """``(term bytes, [(docnum, weight, value bytes, length)])`` of a recorded field."""
    positional = name in POSITION_FIELDS
    for term, entries in table.items():
        if not term and not positional:
            continue  # Whoosh's splitter never yields an empty term here
        if positional:
            plist = [(n, w, fmt.encode(poses), lengths[n]) for n, w, poses in entries]
        else:
            plist = [(n, w, pack_uint(int(w)), lengths[n]) for n, w, _ in entries]
        yield term.encode("utf-8"), plist
