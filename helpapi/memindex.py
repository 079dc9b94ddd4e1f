"""A compact copy of the postings the strict pass reads, written beside each Whoosh index.

Whoosh decodes posting blocks in Python on every query, which costs most of a search (see
``bench/RESULTS.md``). The strict pass and the proximity re-ranking only need, per term: the
documents, the term's BM25F score in each, and its positions. A generation never changes once
built, so those are computed once at build time, with Whoosh's own statistics (document count,
lossy field lengths, average lengths), and written to ``postings.bin`` in the locale's index
folder. Serving maps the file read-only (shared page cache between workers, nothing to parse at
start-up) and reads it through typed ``memoryview`` slices.

Whoosh stays the index of record (stored fields, article fetch) and the tests' oracle; the
file is a required, versioned part of a generation: an index without a sound one of this
:data:`VERSION` is not served (:meth:`MemIndex.open`), and a build never switches to one.

The indexer analyzes each document once (:func:`helpapi.schema.analyze_document`) and hands the
same tokens to the :class:`Recorder` and to Whoosh.
"""

from __future__ import annotations

import functools
import json
import math
import mmap
import os
import struct
import sys
import weakref
from array import array
from bisect import bisect_left
from collections import Counter
from itertools import accumulate
from itertools import chain
from itertools import combinations
from itertools import islice
from itertools import repeat
from math import comb
from operator import rshift
from pathlib import Path

from rapidfuzz.distance import OSA as _OSA
from rapidfuzz.distance import Levenshtein as _Levenshtein
from rapidfuzz.process import extract as _extract
from whoosh import scoring

FILENAME = "postings.bin"
# 3: the generation's Whoosh files name no helpapi class (earlier ones need a rebuild).
# 4: forward lists hold posting numbers (``fwd_posts``), not term numbers and scores.
VERSION = 4
# Fields with positions (phrases, proximity) and the whole-title key fields (no positions).
POSITION_FIELDS = ("text", "title", "grams", "title_grams")
# Scored fields without positions (the relaxed pass's stems).
FREQUENCY_FIELDS = ("stems",)
# (An index written before alias_title_key existed lacks it: the engine skips it there.)
KEY_FIELDS = ("title_key", "english_title_key", "alias_title_key")
# Fields that also get a per-document list of its posting numbers (ascending, so its terms'
# numbers ascend too; the score is the posting's): a word being typed is matched by any term
# it starts with, checked in the few documents the other words allow.
FORWARD_FIELDS = ("text", "grams")
# The weighting Whoosh searches with (helpapi keeps its defaults): scores must equal Whoosh's.
_WEIGHTING = scoring.BM25F()
_MAGIC = b"HAPOST01"
# Fuzzy lookup tables (spelling correction on ``text``, one-typo expansion on ``stems``): for
# each term, its first character followed by every string made by deleting up to ``k``
# characters from the next ``chars`` ones. Two words within ``k`` edits (Levenshtein) that
# share their first character share such a key (a symmetric-deletion index restricted to a
# prefix: the edits inside the prefix are at most ``k`` on each side), so a lookup finds a
# superset of the candidates, each then verified. field -> (k, chars).
FUZZY = {"text": (2, 5), "stems": (1, 7)}


# A posting's weight (its frequency) as a float; the common ones shared rather than made for
# each posting (hundreds of thousands of objects a locale, read again by every writer).
_N_WEIGHTS = 256
_WEIGHTS = tuple(map(float, range(_N_WEIGHTS)))


class Recorder:
    """Collects the postings of the documents a build hands to Whoosh, in the same order."""

    def __init__(self):
        self.slugs: list[str] = []
        # field -> term -> list of (doc order, weight, positions)
        self.postings: dict[str, dict[str, list]] = {
            f: {} for f in POSITION_FIELDS + FREQUENCY_FIELDS
        }
        self.keys: dict[str, dict[str, list[int]]] = {f: {} for f in KEY_FIELDS}
        self._sorted: dict[str, list[str]] = {}
        # field -> how many terms each document holds, in order (its forward list's length)
        self._counts: dict[str, array] = {f: array("I") for f in FORWARD_FIELDS}
        # The serving postings.bin of the locale, when verified (see :meth:`write`).
        self.previous: Path | None = None

    def add_document(self, doc: dict, analyzed: dict[str, list]) -> None:
        """Record one document, before the Whoosh writer gets it (``add_analyzed``).

        ``analyzed`` holds its tokens (:func:`helpapi.schema.analyze_document`): ``(term,
        position)`` pairs for :data:`POSITION_FIELDS`, terms for :data:`FREQUENCY_FIELDS`.
        A term's weight is its frequency, as Whoosh weighs it (every token's boost is 1).
        """
        n = len(self.slugs)
        self.slugs.append(doc["slug"])
        for f in KEY_FIELDS:
            if doc.get(f):
                self.keys[f].setdefault(doc[f], []).append(n)
        for field in POSITION_FIELDS:
            poses: dict[str, list[int]] = {}
            for term, pos in analyzed[field]:
                # (``in`` and ``[]`` are specialized bytecodes; ``get`` is a call a token.)
                if term in poses:
                    poses[term].append(pos)
                else:
                    poses[term] = [pos]
            if field in self._counts:
                self._counts[field].append(len(poses))
            table = self.postings[field]
            for term, plist in poses.items():
                entry = table.get(term)
                if entry is None:
                    entry = table[term] = []
                w = len(plist)
                entry.append((n, _WEIGHTS[w] if w < _N_WEIGHTS else float(w), plist))
        for field in FREQUENCY_FIELDS:
            freqs = Counter(analyzed[field])  # counted in C, terms in first-seen order
            table = self.postings[field]
            for term, freq in freqs.items():
                entry = table.get(term)
                if entry is None:
                    entry = table[term] = []
                entry.append((n, _WEIGHTS[freq] if freq < _N_WEIGHTS else float(freq), ()))

    def sorted_terms(self, field: str) -> list[str]:
        """The recorded terms of ``field`` in Whoosh's order (UTF-8 bytes), sorted once for
        the Whoosh segment and ``postings.bin``."""
        cached = self._sorted.get(field)
        if cached is None or len(cached) != len(self.postings[field]):
            cached = self._sorted[field] = _sorted_terms(self.postings[field])
        return cached

    def write(self, path: Path, reader) -> None:
        """Score every posting with ``reader``'s statistics and write ``path``.

        With :attr:`previous` set (a verified ``postings.bin`` of the same locale, the serving
        one), its fuzzy tables are patched for the terms that came and went instead of
        rebuilt (:func:`_patched_fuzzy`; the same bytes).
        """
        old = None
        if self.previous is not None:
            try:
                old = MemIndex.open(Path(self.previous).parent)
            except (OSError, DamagedPostings):
                old = None
        try:
            self._write(path, reader, old)
        finally:
            if old is not None:
                old.close()

    def _write(self, path: Path, reader, old: MemIndex | None) -> None:
        n_docs = reader.doc_count_all()
        # Documents are numbered in the order they were added (one writer, one segment); map
        # through the unique slug anyway, so a different Whoosh layout cannot misnumber them.
        docnum = _docnums(reader, self.slugs)
        # Recorded in document order, so each term's entries are already in docnum order.
        identity = docnum == list(range(len(docnum)))
        doc_type = "I" if n_docs > 0xFFFF else "H"
        out = _Sections()
        header = {"version": VERSION, "docs": n_docs, "fields": {}}
        for field in POSITION_FIELDS + FREQUENCY_FIELDS:
            lengths = [reader.doc_field_length(d, field, 1) for d in range(n_docs)]
            avgfl = (reader.field_length(field) / (n_docs or 1)) or 1
            table = self.postings[field]
            terms = self.sorted_terms(field)
            docs, scores, post_off = array(doc_type), array("d"), array("I", [0])
            pos_off, positions = array("I", [0]), array("I")
            positional = field in POSITION_FIELDS
            # scoring.bm25's length term per document, computed once (the same float
            # operations in the same order: scores stay bit-identical to Whoosh's).
            k1, b = _WEIGHTING.K1, _WEIGHTING.B
            # (None: the document has no token in the field, so no posting reads it.)
            norm = [k1 * ((1 - b) + b * fl / avgfl) if fl is not None else 0.0 for fl in lengths]
            k1p1 = k1 + 1
            log = math.log
            # One comprehension per term and section rather than a loop per posting: most
            # of a locale's build is here (an edited article rewrites the whole file).
            for term in terms:
                entries = table[term]
                # Whoosh's WeightingModel.idf, from the same document frequency.
                idf = log(n_docs / (len(entries) + 1)) + 1
                if len(entries) == 1:
                    # Most terms: one posting, without the per-term lists.
                    d, w, plist = entries[0]
                    if not identity:
                        d = docnum[d]
                    docs.append(d)
                    scores.append(idf * ((w * k1p1) / (w + norm[d])))
                    if positional:
                        positions.extend(plist)
                        pos_off.append(len(positions))
                    post_off.append(len(docs))
                    continue
                if not identity:
                    entries = sorted(entries, key=lambda e: docnum[e[0]])
                # The entries' columns in one transpose (C), not a comprehension each.
                ds, ws, plists = zip(*entries, strict=True)
                if not identity:
                    ds = [docnum[d] for d in ds]
                docs.extend(ds)
                scores.extend(
                    [idf * ((w * k1p1) / (w + norm[d])) for w, d in zip(ws, ds, strict=True)]
                )
                if positional:
                    base = len(positions)
                    positions.extend(chain.from_iterable(plists))
                    # Where each posting's positions end (``base`` is pos_off's last already).
                    ends = accumulate(map(len, plists), initial=base)
                    pos_off.extend(islice(ends, 1, None))
                post_off.append(len(docs))
            positions = _narrowed(positions)
            spec = header["fields"][field] = out.term_table(terms, post_off, docs)
            spec.update(scores=out.add(scores))
            if field in POSITION_FIELDS:
                spec.update(pos_off=out.add(pos_off), positions=out.add(positions))
            if field in FUZZY:
                k, chars = FUZZY[field]
                patched = _patched_fuzzy(old, field, terms, k, chars) if old else None
                if patched is not None:
                    fuzzy = out.term_table(*patched)
                    fuzzy.update(k=k, chars=chars)
                    header.setdefault("fuzzy", {})[field] = fuzzy
                else:
                    header.setdefault("fuzzy", {})[field] = out.fuzzy_table(terms, k, chars)
            if field in FORWARD_FIELDS:
                # Each document's posting numbers, ascending: the postings in document order,
                # stable. Numbers, not (term number, score) pairs: those are read through
                # them when served, and gathering them here cost a third of this field's write.
                if identity and len(docnum) == n_docs:
                    counts = self._counts[field]  # (counted as documents came)
                else:
                    counts = map(Counter(docs).__getitem__, range(n_docs))
                fwd_off = array("I", accumulate(counts, initial=0))
                fwd_posts = _forward_posts(docs, fwd_off)
                spec.update(fwd_off=out.add(fwd_off), fwd_posts=out.add(fwd_posts))
        for field in KEY_FIELDS:
            table = self.keys[field]
            terms = _sorted_terms(table)
            docs, post_off = array(doc_type), array("I", [0])
            for term in terms:
                docs.extend(sorted(docnum[o] for o in table[term]))
                post_off.append(len(docs))
            header["fields"][field] = out.term_table(terms, post_off, docs)
        head = json.dumps(header).encode("utf-8")
        with open(path, "wb") as fh:
            fh.write(_MAGIC + struct.pack("<I", len(head)) + head)
            fh.write(b"\0" * ((-(len(_MAGIC) + 4 + len(head))) % 8))
            fh.writelines(out.parts)


class _Sections:
    """The file body being assembled: 8-byte aligned arrays, addressed by offset."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data) -> list:
        """Append an array (or raw bytes); its ``[offset, length, typecode]`` for the header."""
        raw = data.tobytes() if isinstance(data, array) else data
        pad = (-self.size) % 8
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        start = self.size
        self.parts.append(raw)
        self.size += len(raw)
        return [start, len(raw), data.typecode if isinstance(data, array) else "B"]

    def term_table(self, terms: list[str], post_off: array, docs: array) -> dict:
        """The sections every field has: its sorted terms and each term's documents."""
        blob, term_off = _term_blob(terms)
        return {
            "terms": self.add(blob),
            "term_off": self.add(term_off),
            "post_off": self.add(post_off),
            "docs": self.add(docs),
        }

    def fuzzy_table(self, terms: list[str], k: int, chars: int) -> dict:
        """The deletion keys of ``terms`` (see :data:`FUZZY`); each entry is
        ``term number * 4 + deletions``, so a lookup can ask for fewer deletions."""
        # A term's keys are those of its first 1 + chars characters, which sorted terms share
        # in runs (a word's inflections, compounds): the keys are made once per run, and
        # each key gets the run's entries at once. Runs come in term order and give each
        # key once (n <= k < 4), so each key's entries are appended already sorted: tid * 4
        # + n grows with tid. The same table as term by term, for a fraction of the calls.
        assert k < 4
        table: dict[str, list[int]] = {}
        cut = 1 + chars
        n_terms = len(terms)
        start = 0
        while start < n_terms:
            head = terms[start][:cut]
            end = start + 1
            while end < n_terms and terms[end][:cut] == head:
                end += 1
            if end == start + 1:  # most runs: one term, one entry a key
                base = start * 4
                for key, n in fuzzy_keys(head, k, chars).items():
                    if key in table:
                        table[key].append(base + n)
                    else:
                        table[key] = [base + n]
            else:
                for key, n in fuzzy_keys(head, k, chars).items():
                    run = range(start * 4 + n, end * 4 + n, 4)
                    got = table.get(key)
                    if got is None:
                        table[key] = list(run)
                    else:
                        got.extend(run)
            start = end
        keys = _sorted_terms(table)
        runs = list(map(table.__getitem__, keys))
        entries = array("I", chain.from_iterable(runs))
        post_off = array("I", accumulate(map(len, runs), initial=0))
        spec = self.term_table(keys, post_off, entries)
        spec.update(k=k, chars=chars)
        return spec


def _patched_fuzzy(old: MemIndex, field: str, terms: list[str], k: int, chars: int):
    """``(keys, offsets, entries)`` of ``field``'s fuzzy table for ``terms``, made from the
    table of ``old`` (the previous file of the locale): its entries renumbered, the keys of
    the terms that came added and those of the terms that went removed. The same table
    :meth:`_Sections.fuzzy_table` builds (tests/test_edit_fast.py compares the files), at a
    fraction of the cost when few terms changed; None when the old table does not fit (other
    settings, or too many changed terms)."""
    table = old.fuzzy.get(field)
    if table is None or (table.k, table.chars) != (k, chars) or field not in old.fields:
        return None
    old_terms = old.fields[field].terms
    n_old, n_new = len(old_terms), len(terms)
    encoded = [t.encode("utf-8") for t in terms]
    remap = array("i")  # old term number -> new one, -1 when it went
    added: list[int] = []
    i = j = 0
    while i < n_old or j < n_new:
        o = old_terms[i] if i < n_old else None
        if o is not None and (j == n_new or o < encoded[j]):
            remap.append(-1)
            i += 1
        elif o is None or encoded[j] < o:
            added.append(j)
            j += 1
        else:
            remap.append(j)
            i += 1
            j += 1
    removed = [old_terms[i].decode("utf-8") for i, r in enumerate(remap) if r < 0]
    if len(added) + len(removed) > max(50, n_new // 100):
        return None
    extra: dict[str, list[int]] = {}  # key -> entries of the terms that came
    for j in added:
        for key, n in fuzzy_keys(terms[j], k, chars).items():
            extra.setdefault(key, []).append(j * 4 + n)
    touched = set(extra)
    for word in removed:
        touched.update(fuzzy_keys(word, k, chars))
    keys, off, entries = table.keys.terms, table.keys.post_off, table.keys.docs
    renum = [remap[e >> 2] * 4 + (e & 3) for e in entries]  # -1 * 4 + n < 0: a term that went
    out_keys: list[str] = []
    out_off = array("I", [0])
    out_entries = array("I")
    pos = 0  # next old key not yet copied
    n_keys = len(keys)
    for key in sorted(touched):
        kb = key.encode("utf-8")
        at = bisect_left(keys, kb, pos)
        # The untouched keys before it: copied as they are (renumbered).
        if at > pos:
            base = len(out_entries) - off[pos]
            out_keys.extend(keys[x].decode("utf-8") for x in range(pos, at))
            out_entries.extend(renum[off[pos] : off[at]])
            out_off.extend([off[x] + base for x in range(pos + 1, at + 1)])
        mine = extra.get(key, [])
        if at < n_keys and keys[at] == kb:
            mine = [e for e in renum[off[at] : off[at + 1]] if e >= 0] + mine
            at += 1
        if mine:
            out_keys.append(key)
            out_entries.extend(sorted(mine))
            out_off.append(len(out_entries))
        pos = at
    if pos < n_keys:
        base = len(out_entries) - off[pos]
        out_keys.extend(keys[x].decode("utf-8") for x in range(pos, n_keys))
        out_entries.extend(renum[off[pos] : off[n_keys]])
        out_off.extend([off[x] + base for x in range(pos + 1, n_keys + 1)])
    return out_keys, out_off, out_entries


def fuzzy_keys(word: str, k: int, chars: int) -> dict[str, int]:
    """``{key: fewest deletions}``: ``word[0]`` followed by each string made by deleting up to
    ``k`` characters of ``word[1 : 1 + chars]``."""
    if not word:
        return {}
    cut = word[: 1 + chars]
    size = len(cut)
    out: dict[str, int] = {}
    # The strings left after n deletions are the combinations of size - n characters, in
    # order; combinations come in the order of their indexes, so those keeping the first
    # character are the first C(size - 1, n) of them. Most deletions first: a key made
    # again with fewer deletions is given the fewer. (Made in C: a build makes these for
    # every run of terms, and a fuzzy look-up for its word.)
    for n in range(min(k, size - 1), 0, -1):
        kept = combinations(cut, size - n)
        out.update(dict.fromkeys(map("".join, islice(kept, comb(size - 1, n))), n))
    out[cut] = 0
    return out


def _forward_posts(docs: array, fwd_off: array) -> array:
    """The posting numbers in document order, each document's ascending: what a stable sort
    of ``range(len(docs))`` by ``docs`` gives, placed by a counting pass instead (each
    document's postings start at ``fwd_off[doc]``): 0.06 s where the sort by a key took
    0.09 s (dev de-DE, 180,000 postings). ``fwd_off`` must hold each document's count."""
    out = [0] * len(docs)
    nxt = fwd_off.tolist()
    for p, d in enumerate(docs):
        i = nxt[d]
        out[i] = p
        nxt[d] = i + 1
    if nxt[:-1] != fwd_off.tolist()[1:]:
        raise RuntimeError("forward list counts do not match the postings")
    return array("I", out)


def _narrowed(values: array) -> array:
    """``values`` (``array("I")``) as ``array("H")`` when every one fits in 16 bits, else
    ``values`` itself. Through their bytes (C): ``max`` and ``array("H", values)`` made an
    int object per value, hundreds of thousands of positions a field."""
    n = len(values)
    if not n or values.itemsize != 4:
        return values
    raw = values.tobytes()
    low = 0 if sys.byteorder == "little" else 2  # where each value's low 16 bits lie
    high = 2 - low
    if raw[high::4].count(0) != n or raw[high + 1 :: 4].count(0) != n:
        return values
    narrow = bytearray(2 * n)
    narrow[0::2] = raw[low::4]
    narrow[1::2] = raw[low + 1 :: 4]
    out = array("H")
    out.frombytes(narrow)
    return out


def _sorted_terms(table: dict) -> list[str]:
    # UTF-8 byte order: Whoosh's term order, and the order the reader bisects in. It is code
    # point order, which str comparison is (a lone surrogate, the only exception, cannot be
    # encoded at all and fails the build in _term_blob as it always did).
    return sorted(table)


def _docnum(reader, slug: str) -> int:
    m = reader.postings("slug", slug)
    return m.id()


def _docnums(reader, slugs: list[str]) -> list[int]:
    """The document number of each slug in ``reader``."""
    if getattr(reader, "is_atomic", None) and reader.is_atomic() and not reader.has_deletions():
        # One segment, nothing deleted: the slug's first posting is its term info's minimum
        # id, read without the matcher (and its block) ``postings`` makes: half the time.
        info = reader.term_info
        return [info("slug", slug).min_id() for slug in slugs]
    return [_docnum(reader, slug) for slug in slugs]


def _term_blob(terms: list[str]) -> tuple[bytes, array]:
    encoded = list(map(str.encode, terms))  # UTF-8 (str.encode's default), in C
    # Each term's end offset, running sums in C rather than a Python loop per term.
    off = array("I", accumulate(map(len, encoded), initial=0))
    return b"".join(encoded), off


# One term in SAMPLE_STEP is kept in a list for :meth:`_Terms.bisect` (its memory: about
# 1/SAMPLE_STEP of the terms' bytes, per field, in a worker that searched the locale).
SAMPLE_STEP = 32


class _Terms:
    """The sorted terms of one field as a sequence of bytes (for ``bisect``).

    ``blob`` is a view of the mapped file; each term is sliced from the ``mmap`` itself (which
    returns ``bytes``), so the terms are never copied into the worker's private memory.
    """

    __slots__ = ("blob", "off", "_mm", "_base", "_sample")

    def __init__(self, blob: memoryview, off: memoryview, mm, base: int):
        self.blob, self.off, self._mm, self._base = blob, off, mm, base
        self._sample: list[bytes] | None = None

    def __len__(self) -> int:
        return len(self.off) - 1

    def __getitem__(self, i: int) -> bytes:
        return self._mm[self._base + self.off[i] : self._base + self.off[i + 1]]

    def _sampled(self) -> list[bytes]:
        sample = self._sample
        if sample is None:
            sample = self._sample = [self[i] for i in range(0, len(self), SAMPLE_STEP)]
        return sample

    def bisect(self, key: bytes, lo: int = 0) -> int:
        """``bisect_left(self, key, lo)``, most of its steps in C: over a list of every
        SAMPLE_STEP-th term (made on first use, a few kB), then within one block of terms.
        A bisect over this sequence calls ``__getitem__`` in Python at every step, and a
        typo query makes dozens of look-ups (its fuzzy keys, bench/passes.py)."""
        j = bisect_left(self._sampled(), key)
        # sample[j - 1] < key <= sample[j]: the answer lies in ((j - 1) * STEP, j * STEP].
        a = (j - 1) * SAMPLE_STEP + 1 if j else 0
        b = min(j * SAMPLE_STEP, len(self))
        # bisect_left(self, key, a, b) with __getitem__ inlined (no Python call per step).
        off, mm, base = self.off, self._mm, self._base
        while a < b:
            m = (a + b) // 2
            if mm[base + off[m] : base + off[m + 1]] < key:
                a = m + 1
            else:
                b = m
        return max(a, lo)

    def find(self, key: bytes) -> int:
        """The number of the term ``key``, or -1: :meth:`bisect`'s block found in C, then
        ``key`` searched in the block's bytes (``bytes.find``) where a term starts and ends."""
        sample = self._sampled()
        j = bisect_left(sample, key)
        if j < len(sample) and sample[j] == key:
            return j * SAMPLE_STEP
        if not j:
            return -1
        # The block of terms after sample[j - 1] (< key) and before sample[j] (> key).
        start = (j - 1) * SAMPLE_STEP
        offs = self.off[start : min(j * SAMPLE_STEP, len(self.off) - 1) + 1]
        first, size = offs[0], len(key)
        block = self._mm[self._base + first : self._base + offs[-1]]
        p = block.find(key)
        while p >= 0:
            i = bisect_left(offs, first + p)
            if i + 1 < len(offs) and offs[i] == first + p and offs[i + 1] - offs[i] == size:
                return start + i
            p = block.find(key, p + 1)
        return -1

    def find_all(self, keys: list[bytes]) -> list[int]:
        """:meth:`find` of each of ``keys``, sorted ascending: keys falling in one block of
        terms (a word's fuzzy keys share their start) search one copy of its bytes."""
        sample, off, mm, base = self._sampled(), self.off, self._mm, self._base
        nsample, last = len(sample), len(self.off) - 1
        out, block_of, block, offs, first, start = [], -1, b"", None, 0, 0
        for key in keys:
            j = bisect_left(sample, key)
            if j < nsample and sample[j] == key:
                out.append(j * SAMPLE_STEP)
                continue
            if not j:
                out.append(-1)
                continue
            if j != block_of:
                block_of, start = j, (j - 1) * SAMPLE_STEP
                offs = off[start : min(j * SAMPLE_STEP, last) + 1]
                first = offs[0]
                block = mm[base + first : base + offs[-1]]
            size, found = len(key), -1
            p = block.find(key)
            while p >= 0:
                i = bisect_left(offs, first + p)
                if i + 1 < len(offs) and offs[i] == first + p and offs[i + 1] - offs[i] == size:
                    found = start + i
                    break
                p = block.find(key, p + 1)
            out.append(found)
        return out


# Prefixes up to this long have their term ranges remembered (FieldPostings.prefix_range).
SHORT_PREFIX = 8
# Up to this many completions of a prefix are found by reading the terms one after another,
# more by a binary search.
SCAN_COMPLETIONS = 4


# Every field open in this process (weakly: a generation's fields go with it), for
# :func:`forget_terms`.
_live_fields: weakref.WeakSet = weakref.WeakSet()
# Term numbers looked up (term_id's memo misses: each a new entry) in every field since the
# memos were last emptied. A whole-title key is looked up in three key fields with no clause
# made (and a mistyped word's swap, a run's bigrams...), so the clause count alone missed them.
_looked_up = 0
# ~100 bytes an entry: ~6.5 MB. Checked between searches (helpapi.search.run_query), so the
# memos are never emptied under a search that holds their answers.
MAX_LOOKED_UP = 65536


def forget_terms() -> None:
    """Empty the term-number and clause memos of every field open in this process.

    Each is bounded per field, and a flood of distinct words reaches every field of every
    locale: called when the clauses kept (helpapi.engine.MAX_KEPT_CLAUSES) or the term numbers
    looked up (:data:`MAX_LOOKED_UP`) in the whole process reach their bound, so that a
    worker's memos do not grow with the locales."""
    global _looked_up
    for field in list(_live_fields):
        field.clauses.clear()
        field.term_id.cache_clear()
    _looked_up = 0


def terms_full() -> bool:
    """Whether the term numbers looked up since the memos were emptied reached the bound."""
    return _looked_up >= MAX_LOOKED_UP


class FieldPostings:
    """One field's terms and postings, read from the mapped file."""

    def __init__(self, buf: memoryview, base: int, spec: dict):
        def view(name):
            if name not in spec:
                return None
            start, length, code = spec[name]
            raw = buf[base + start : base + start + length]
            return raw if code == "B" else raw.cast(code)

        start = base + spec["terms"][0]
        self.terms = _Terms(view("terms"), view("term_off"), buf.obj, start)
        self._term_off = view("term_off")
        self.post_off = view("post_off")
        self.docs = view("docs")
        self.scores = view("scores")
        self.pos_off = view("pos_off")
        self.positions = view("positions")
        self.fwd_off = view("fwd_off")
        self.fwd_posts = view("fwd_posts")
        # A query looks its words up in the strict pass and again when re-ranking, and each
        # keystroke of a query being typed repeats the earlier words: remember recent answers.
        self.term_id = functools.lru_cache(maxsize=4096)(self._counted_term_id)
        # Each keystroke of a word being typed asks again about the same few starts.
        self.distinct_docs = functools.lru_cache(maxsize=1024)(self._distinct_docs)
        # A word being typed is mostly a few letters, the same starts in query after query
        # (the strict pass, its title completions): short ones' ranges are remembered.
        self._short_range = functools.lru_cache(maxsize=1024)(self._prefix_range)
        # helpapi.engine's clause of each term (or None when absent) by (term, boost): a
        # search makes ~15 (strict pass, boosts, re-ranking, each of the same few terms).
        self.clauses: dict = {}
        _live_fields.add(self)

    def _counted_term_id(self, term: str) -> int:
        """:meth:`_term_id`, counted in the process-wide bound (term_id's memo misses)."""
        global _looked_up
        _looked_up += 1
        return self._term_id(term)

    def term_off_end(self) -> int:
        """Where the last term ends in the terms blob (its length, in a sound file)."""
        return self._term_off[-1] if len(self._term_off) else -1

    def _term_id(self, term: str) -> int:
        """The term's number, or -1 when the field does not hold it (see ``term_id``)."""
        return self.terms.find(term.encode("utf-8"))

    def _distinct_docs(self, lo: int, hi: int) -> int:
        """How many documents hold any of the terms numbered ``[lo, hi)`` (see
        ``distinct_docs``, the same answer remembered)."""
        return len(set(self.docs[self.post_off[lo] : self.post_off[hi]]))

    def term(self, tid: int) -> str:
        """The text of term ``tid``."""
        return self.terms[tid].decode("utf-8")

    def doc_frequency(self, tid: int) -> int:
        """How many documents hold term ``tid``."""
        return self.post_off[tid + 1] - self.post_off[tid]

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """Term numbers ``[lo, hi)`` of the terms starting with ``prefix`` (sorted order);
        remembered for prefixes of up to :data:`SHORT_PREFIX` characters."""
        if len(prefix) <= SHORT_PREFIX:
            return self._short_range(prefix)
        return self._prefix_range(prefix)

    def _prefix_range(self, prefix: str) -> tuple[int, int]:
        """:meth:`prefix_range`, computed: two binary searches of the terms."""
        key = prefix.encode("utf-8")
        terms = self.terms
        lo = terms.bisect(key)
        if key and (lo == len(terms) or not terms[lo].startswith(key)):
            return lo, lo  # the terms from ``lo`` on are past every completion: none
        # A long prefix (a title being typed, in the title key fields) has a completion or
        # two: the next few terms are read before a second binary search is made.
        hi, end = lo, min(lo + SCAN_COMPLETIONS, len(terms))
        while hi < end and terms[hi].startswith(key):
            hi += 1
        if hi < end or end == len(terms):
            return lo, hi
        # The first term past every key starting with ``key``: bump its last byte (UTF-8
        # byte order is code point order, and no term byte is 0xFF).
        hi = terms.bisect(key[:-1] + bytes([key[-1] + 1]), lo) if key else len(terms)
        return lo, hi

    def doc_prefix_score(self, doc: int, lo: int, hi: int) -> float | None:
        """Summed scores in ``doc`` of the terms numbered ``[lo, hi)``; None if it has none."""
        a, b = self.fwd_off[doc], self.fwd_off[doc + 1]
        # The terms' postings are numbered [post_off[lo], post_off[hi]); the document's own
        # ascend in its forward list, in term order (each sum starts from 0, in that order).
        posts, first, end = self.fwd_posts, self.post_off[lo], self.post_off[hi]
        i = bisect_left(posts, first, a, b)
        if i == b or posts[i] >= end:
            return None
        j = bisect_left(posts, end, i, b)
        return sum(map(self.scores.__getitem__, posts[i:j]))

    def span(self, tid: int) -> tuple[int, int]:
        """The posting range ``[start, end)`` of term ``tid``."""
        return self.post_off[tid], self.post_off[tid + 1]

    def positions_at(self, posting: int) -> memoryview:
        """Positions of posting number ``posting`` (sorted)."""
        return self.positions[self.pos_off[posting] : self.pos_off[posting + 1]]


class DamagedPostings(ValueError):
    """``postings.bin`` is missing or not a sound postings file of this :data:`VERSION`."""


# What fixes a missing or outdated postings file (shown by /readyz and build errors).
REBUILD = "rebuild the index: helpapi index build"


def check(index_path: Path) -> str | None:
    """None when the index in ``index_path`` has a servable postings file, else why not."""
    try:
        MemIndex.open(index_path).close()
    except (OSError, DamagedPostings) as exc:
        return str(exc).replace(str(Path(index_path)) + os.sep, "")
    return None


# Typecodes a section may have, and their sizes on every platform helpapi runs on.
_ITEMSIZE = {"B": 1, "H": 2, "I": 4, "d": 8}
# The sections every field has, and those only some fields have.
_REQUIRED = ("terms", "term_off", "post_off", "docs")
_OPTIONAL = ("scores", "pos_off", "positions", "fwd_off", "fwd_posts")


def _check_header(header, base: int, size: int, path) -> None:
    """Raise :class:`DamagedPostings` unless every section lies inside the ``size``-byte file.

    Runs before any view is made: reading a mapped page past the end of the file would kill
    the process with SIGBUS, which no ``try`` catches.
    """
    if not isinstance(header, dict) or header.get("version") != VERSION:
        version = header.get("version") if isinstance(header, dict) else None
        raise DamagedPostings(f"{path}: postings version {version!r}")
    docs, fields = header.get("docs"), header.get("fields")
    if not isinstance(docs, int) or docs < 0 or not isinstance(fields, dict):
        raise DamagedPostings(f"{path}: malformed header")
    for name, spec in fields.items():
        if not isinstance(spec, dict) or not all(k in spec for k in _REQUIRED):
            raise DamagedPostings(f"{path}: field {name!r} lacks sections")
        for key, sec in spec.items():
            if key not in _REQUIRED and key not in _OPTIONAL:
                raise DamagedPostings(f"{path}: unknown section {name}.{key}")
            ok = (
                isinstance(sec, list)
                and len(sec) == 3
                and isinstance(sec[0], int)
                and isinstance(sec[1], int)
                and sec[2] in _ITEMSIZE
                and sec[0] >= 0
                and sec[1] >= 0
                and sec[1] % _ITEMSIZE[sec[2]] == 0
            )
            if not ok:
                raise DamagedPostings(f"{path}: malformed section {name}.{key}")
            if base + sec[0] + sec[1] > size:
                raise DamagedPostings(
                    f"{path}: section {name}.{key} ends at {base + sec[0] + sec[1]}, "
                    f"past the end of the file ({size} bytes)"
                )


def _check_field(name: str, fp: FieldPostings, docs: int, path) -> None:
    """Cheap consistency of one field's views (their lengths and last offsets only: O(1))."""

    def count(view):
        return len(view) if view is not None else 0

    try:
        ok = (
            count(fp.post_off) == len(fp.terms) + 1
            and fp.term_off_end() == len(fp.terms.blob)
            and fp.post_off[-1] == count(fp.docs)
        )
        if ok and fp.scores is not None:
            ok = count(fp.scores) == count(fp.docs)
        if ok and fp.pos_off is not None:
            ok = count(fp.pos_off) == count(fp.docs) + 1 and fp.pos_off[-1] == count(fp.positions)
        if ok and fp.fwd_off is not None:
            ok = count(fp.fwd_off) == docs + 1 and fp.fwd_off[-1] == count(fp.fwd_posts)
            ok = ok and count(fp.fwd_posts) == count(fp.docs) and fp.scores is not None
    except IndexError:
        ok = False
    if not ok:
        raise DamagedPostings(f"{path}: field {name!r} is inconsistent")


def file_version(path: Path) -> int | None:
    """The format version written in a postings file's header.

    Raises :class:`DamagedPostings` for a file that is not a postings file, or whose header
    is cut or unreadable.
    """
    with open(path, "rb") as fh:
        head = fh.read(len(_MAGIC) + 4)
        if head[: len(_MAGIC)] != _MAGIC or len(head) < len(_MAGIC) + 4:
            raise DamagedPostings(f"{path}: not a helpapi postings file")
        (hlen,) = struct.unpack_from("<I", head, len(_MAGIC))
        raw = fh.read(hlen)
    try:
        header = json.loads(raw) if len(raw) == hlen else None
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise DamagedPostings(f"{path}: header is cut or not JSON")
    return header.get("version")


class FuzzyTable:
    """Candidate terms of one field near a word (see :data:`FUZZY`)."""

    def __init__(self, field: FieldPostings, keys: FieldPostings, spec: dict):
        self.field, self.keys = field, keys
        self.k, self.chars = spec["k"], spec["chars"]
        # A word typed wrong is corrected again at each later keystroke of an as-you-type
        # query (the word being typed is never the one corrected): remember recent answers.
        self.within = functools.lru_cache(maxsize=1024)(self._within)
        self.one_edit = functools.lru_cache(maxsize=1024)(self._one_edit)

    def _within(self, word: str, maxdist: int) -> tuple[int, ...]:
        """Numbers of the terms within ``maxdist`` edits (Levenshtein) of ``word`` that start
        with its first character, in term order: Whoosh's ``terms_within(..., prefix=1)``
        (``within``: the same, remembered)."""
        kept, texts = self._candidates(word, maxdist)
        hits = _extract(word, texts, scorer=_Levenshtein.distance, score_cutoff=maxdist, limit=None)
        return tuple(sorted(kept[i] for _, _, i in hits))

    def _one_edit(self, word: str) -> tuple[tuple[int, str], ...]:
        """``(term number, text)`` of the terms at most one edit from ``word``, a swap of two
        neighbouring characters counted as one (optimal string alignment: the distance of
        spelling correction, helpapi.query.osa_distance), that start with its first character,
        in term order (``one_edit``: the same, remembered).

        The candidates of a one-edit look-up (:meth:`_within` at 1) already hold every such
        swap after the first character: deleting the first of the two swapped characters from
        the word, and the second from the term, leaves the same key (one deletion each side;
        none when the swap lies past the key's ``chars``). A swap of the first two characters
        changes the first character: it is not in this table. Requires ``k`` >= 1.

        Spelling correction looks here first (helpapi.engine.best_correction): a word one
        slip away, the commonest typo, is corrected with a sixth of a two-edit look-up's keys.
        """
        if not word or self.k < 1:
            raise ValueError(f"fuzzy lookup of {word!r} at distance 1")
        # _candidates(word, 1) and one distance call per candidate, written out: this runs
        # once per mistyped word of a query, with the processor's caches cold from the rest of
        # the search, so its cost follows the code and memory it touches (bench/RESULTS.md,
        # stop 20). The word's keys: its cut, and the cut less one character after the first
        # (fuzzy_keys(word, 1, chars)).
        cut = word[: 1 + self.chars]
        keys = {cut, *[cut[:i] + cut[i + 1 :] for i in range(1, len(cut))]}
        entries, post_off = self.keys.docs, self.keys.post_off
        found: set[int] = set()
        for kid in self.keys.terms.find_all(sorted([key.encode("utf-8") for key in keys])):
            if kid >= 0:
                found.update(entries[post_off[kid] : post_off[kid + 1]])
        # Entries of keys the term makes with two deletions are kept too (a term one edit
        # away also shares a key with at most one deletion on each side, so the few extra
        # candidates are far and fail the distance test): one C pass instead of a test each.
        terms = self.field.terms
        off, mm, base = terms.off, terms._mm, terms._base
        length, dist, out = len(word.encode("utf-8")), _OSA.distance, []
        for t in sorted(set(map(rshift, found, repeat(2)))):
            start, end = off[t], off[t + 1]
            if -4 <= end - start - length <= 4:  # one edit changes at most 4 UTF-8 bytes
                text = mm[base + start : base + end].decode("utf-8")
                if dist(word, text, score_cutoff=1) <= 1:
                    out.append((t, text))
        return tuple(out)

    def _candidates(self, word: str, maxdist: int) -> tuple[list[int], list[str]]:
        """Term numbers and texts that may lie within ``maxdist`` edits of ``word`` (a superset,
        from the keys the word shares with them), in term order."""
        if not word or maxdist > self.k:
            raise ValueError(f"fuzzy lookup of {word!r} at distance {maxdist}")
        entries, post_off = self.keys.docs, self.keys.post_off
        found: set[int] = set()  # entries, then term numbers
        # The keys looked up together, in term order (their blocks of terms shared). The
        # keys of a word hold the same terms many times: their entries are made a set in C.
        wanted = sorted(key.encode("utf-8") for key in fuzzy_keys(word, maxdist, self.chars))
        for kid in self.keys.terms.find_all(wanted):
            if kid >= 0:
                found.update(entries[post_off[kid] : post_off[kid + 1]])
        # Each entry is (term number << 2) | deletions made on the term's side, of which at
        # most maxdist are asked for: every entry passes at the table's own k.
        if maxdist < self.k:
            found = {e >> 2 for e in found if e & 3 <= maxdist}
        else:
            found = set(map(rshift, found, repeat(2)))
        # Cheap filter first: n edits change the UTF-8 length by at most 4n bytes. The texts
        # left are decoded here, not term by term through FieldPostings.term.
        terms = self.field.terms
        off, mm, base = terms.off, terms._mm, terms._base
        length, limit = len(word.encode("utf-8")), 4 * maxdist
        kept, texts = [], []
        for t in sorted(found):
            start, end = off[t], off[t + 1]
            if abs(end - start - length) <= limit:
                kept.append(t)
                texts.append(mm[base + start : base + end].decode("utf-8"))
        return kept, texts


def levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance (insertions, deletions, substitutions); ``limit + 1`` once past ``limit``.

    rapidfuzz's bit-parallel C code: a typo query checks hundreds of candidates, and the
    Python table cost most of its time (bench/passes.py, typo set).
    """
    return _Levenshtein.distance(a, b, score_cutoff=limit)


def file_size(fd: int) -> int:
    """The size of the regular file open as ``fd`` now (``intact``: every search checks its
    mapped files this way; reading a page past a shrunken file's end would SIGBUS the worker).

    ``fstat``, not the cheaper ``lseek`` to the end (0.35 against 1.4 us): a generation
    retired while a request still runs is closed under it, and its fd number may already
    name another file that a thread reads in order; ``fstat`` has no side effect on it."""
    return os.fstat(fd).st_size


def map_headed_file(path: Path, magic: bytes, error: type[Exception], what: str):
    """Map an engine file laid out as ``magic``, a 4-byte header length, a JSON header, then
    8-byte-aligned sections (``postings.bin``, ``display.bin``): ``(mmap, dup'd fd, size,
    header, base)`` where ``base`` is the first section's offset. Every bound is checked before
    a view is made (a page past the end would SIGBUS the worker); ``error`` names the file and
    the problem, and nothing stays open when it is raised."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start = len(magic) + 4
        if size < start:
            raise error(f"{path}: {size} bytes, too short for a {what} file")
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        fd = os.dup(fh.fileno())
    try:
        if mm[: len(magic)] != magic:
            raise error(f"{path}: not a helpapi {what} file")
        (hlen,) = struct.unpack_from("<I", mm, len(magic))
        if start + hlen > size:
            raise error(f"{path}: header ends past the end of the file")
        try:
            header = json.loads(mm[start : start + hlen])
        except ValueError:
            raise error(f"{path}: header is not JSON") from None
    except BaseException:
        os.close(fd)
        raise
    return mm, fd, size, header, start + hlen + ((-(start + hlen)) % 8)


class MemIndex:
    """The mapped ``postings.bin`` of one locale's index.

    Opening checks the header and that every section lies inside the file before any view is
    made, so a truncated file is refused (:class:`DamagedPostings`) instead of crashing the
    worker later. A file truncated *after* it was mapped can still raise SIGBUS: generations
    are immutable (never rewritten in place, see :mod:`helpapi.generations`), which is what
    makes mapping safe; :meth:`intact` is a cheap guard for callers that want one.
    """

    def __init__(self, path: Path):
        self.path = path
        self._mm, self._fd, self._size, header, base = map_headed_file(
            path, _MAGIC, DamagedPostings, "postings"
        )
        size = self._size
        try:
            _check_header(header, base, size, path)
            self._buf = memoryview(self._mm)
            self.doc_count = header["docs"]
            self.fields = {}
            for name, spec in header["fields"].items():
                fp = self.fields[name] = FieldPostings(self._buf, base, spec)
                _check_field(name, fp, self.doc_count, path)
            self.fuzzy = self._fuzzy_tables(header.get("fuzzy"), base, size)
        except BaseException:
            self.close()
            raise

    def intact(self) -> bool:
        """True while the mapped file still has the size it had when opened (one system call:
        :func:`file_size`)."""
        try:
            return self._fd is not None and file_size(self._fd) >= self._size
        except OSError:
            return False

    def _fuzzy_tables(self, specs, base: int, size: int) -> dict[str, FuzzyTable]:
        """The fuzzy lookup table of each field that has one (see :data:`FUZZY`), checked
        against the file's bounds like every other section before any view is made."""
        if specs is None:
            return {}
        if not isinstance(specs, dict):
            raise DamagedPostings(f"{self.path}: malformed fuzzy tables")
        tables = {}
        for name, spec in specs.items():
            if name not in self.fields or not isinstance(spec, dict):
                raise DamagedPostings(f"{self.path}: fuzzy table of unknown field {name!r}")
            sections = {k: v for k, v in spec.items() if k not in ("k", "chars")}
            if not all(isinstance(spec.get(k), int) for k in ("k", "chars")):
                raise DamagedPostings(f"{self.path}: malformed fuzzy table {name!r}")
            fake = {"version": VERSION, "docs": self.doc_count, "fields": {name: sections}}
            _check_header(fake, base, size, self.path)
            keys = FieldPostings(self._buf, base, sections)
            _check_field(f"{name} (fuzzy keys)", keys, self.doc_count, self.path)
            tables[name] = FuzzyTable(self.fields[name], keys, spec)
        return tables

    @classmethod
    def open(cls, index_path: Path) -> MemIndex:
        """The postings of the index in ``index_path``.

        The file is a required part of every generation: a missing one, or one of another
        :data:`VERSION`, raises :class:`DamagedPostings` (with the fix in its message) like
        a damaged one, and the locale is not served.
        """
        path = Path(index_path) / FILENAME
        if not path.exists():
            raise DamagedPostings(f"{path}: missing; {REBUILD}")
        version = file_version(path)
        if version != VERSION:
            raise DamagedPostings(
                f"{path}: version {version!r}, this helpapi reads version {VERSION}; {REBUILD}"
            )
        return cls(path)

    def close(self) -> None:
        """Drop this index's views; the mapping goes when the last view in use is gone."""
        # Not mmap.close(): a request still holding a slice would make it raise.
        self.fields = {}
        self._buf = self._mm = None
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None
