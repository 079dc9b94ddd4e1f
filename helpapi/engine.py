"""Every search pass over a :class:`~helpapi.memindex.MemIndex`: strict, spelling correction,
relaxed, and the proximity re-ranking.

Same matches and scores as the Whoosh queries of :func:`helpapi.query.strict_query` and
:func:`helpapi.query.proximity_query` (``tests/test_engine.py`` compares the two), without
Whoosh's per-query posting decoding:

* a term clause is a slice of the term's postings (documents, precomputed BM25F scores);
* the required clauses are intersected starting from the rarest, the others probed by binary
  search, so the work follows the rarest clause, not the commonest;
* phrases and nearness are checked on positions, only for documents holding every word,
  with Whoosh's span rules (``whoosh.query.spans.SpanNear2``).
"""

from __future__ import annotations

import re
import sys
import unicodedata
import weakref
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from itertools import accumulate
from itertools import chain
from itertools import compress
from itertools import repeat
from operator import add
from operator import is_not
from operator import itemgetter
from operator import sub

from . import ranking
from .analysis import GRAM_RUN
from .analysis import same_stem_terms
from .analysis import stem_prefix
from .analysis import title_key
from .memindex import KEY_FIELDS
from .memindex import FieldPostings
from .memindex import MemIndex
from .memindex import forget_terms
from .memindex import terms_full
from .query import Unit
from .query import correction_limit
from .query import osa_distance
from .query import pick_expansions
from .query import typed_order


class _Term:
    """One term's postings in one field, scores times ``boost``."""

    __slots__ = ("field", "start", "end", "boost")

    def __init__(self, field: FieldPostings, tid: int, boost: float = 1.0):
        self.field = field
        # field.span(tid), inlined: every clause of every pass is made here.
        post_off = field.post_off
        self.start, self.end = post_off[tid], post_off[tid + 1]
        self.boost = boost

    def __len__(self) -> int:
        return self.end - self.start

    def items(self):
        f, b = self.field, self.boost
        docs = f.docs[self.start : self.end]
        scores = f.scores[self.start : self.end]
        if b == 1.0:
            return zip(docs, scores, strict=True)
        return ((d, s * b) for d, s in zip(docs, scores, strict=True))

    def find(self, doc: int) -> int:
        """Posting number of ``doc`` in this term, or -1."""
        i = bisect_left(self.field.docs, doc, self.start, self.end)
        return i if i < self.end and self.field.docs[i] == doc else -1

    def finder(self, probes: int):
        """:meth:`find` for about ``probes`` look-ups: a table of the term's documents when
        they are many (one C-speed dict build beats that many binary searches in Python:
        a flood of frequent words probes each long list once per surviving document)."""
        if probes * DENSE_PROBES < len(self):
            return self.find
        docs = self.field.docs[self.start : self.end]
        table = dict(zip(docs, range(self.start, self.end), strict=True))
        return _getter(table, -1)

    def added(self, acc: dict) -> dict:
        """``{doc: s + this term's score}`` for each ``doc: s`` of ``acc`` the term holds:
        one step of :func:`_intersect`, and a boost added to matches (:func:`_add_boosts`).

        Few documents against the term's many (the commonest case: a few matches probing a
        word's postings): a binary search each, inlined (no Python call per document).
        Else the term's documents in a table (a dict built in C, see :meth:`finder`). The
        same floats either way: ``s + score * boost``."""
        f, lo, hi, b = self.field, self.start, self.end, self.boost
        out = {}
        if len(acc) * SPARSE_PROBES < hi - lo:
            docs, scores = f.docs, f.scores
            for d, s in acc.items():
                j = bisect_left(docs, d, lo, hi)
                if j < hi and docs[j] == d:
                    out[d] = s + scores[j] * b
            return out
        # x * 1.0 is x: the same floats as the binary search's (and no product to make).
        scores = f.scores[lo:hi] if b == 1.0 else [s * b for s in f.scores[lo:hi]]
        get = dict(zip(f.docs[lo:hi], scores, strict=True)).get
        for d, s in acc.items():
            x = get(d)
            if x is not None:
                out[d] = s + x
        return out


# _Term.added probes a term by an inlined binary search while the look-ups to make are fewer
# than 1/SPARSE_PROBES of its documents (with no Python call per look-up, a binary search pays
# down to a quarter, where finder's would need a sixteenth: DENSE_PROBES), else through a dict
# of them.
SPARSE_PROBES = 4

# A term's documents go into a dict when the look-ups to make are at least 1/DENSE_PROBES of
# them (a dict entry costs about a twentieth of a binary search made in Python).
DENSE_PROBES = 16


def _getter(table: dict, default):
    get = table.get
    return lambda key: get(key, default)


class _Scored(dict):
    """A clause already evaluated: ``{doc: score}``."""

    def lookup(self, doc: int):
        return self.get(doc)

    def prober(self, probes: int):
        return self.get


class _Allowed:
    """A filter's documents (helpapi.facets) as a required clause scoring 0: the intersection
    starts from it when it is the rarest clause, so a narrow filter also makes a query cheaper.
    Adding 0.0 first leaves every sum's floats as they were. A :class:`helpapi.facets.Allowed`
    brings its sorted list and ``{doc: 0.0}`` table made once per filter, not per search."""

    __slots__ = ("docs",)

    def __init__(self, docs):
        self.docs = docs

    def __len__(self) -> int:
        return len(self.docs)

    def items(self):
        ordered = getattr(self.docs, "ordered", None)
        return zip(sorted(self.docs) if ordered is None else ordered, repeat(0.0))

    def prober(self, probes: int):
        zeros = getattr(self.docs, "zeros", None)
        if zeros is not None:
            return zeros.get
        docs = self.docs
        return lambda d: 0.0 if d in docs else None


def _only(found: dict, allowed) -> dict:
    """``found`` restricted to ``allowed`` (None: everything)."""
    if allowed is None:
        return found
    return {d: s for d, s in found.items() if d in allowed}


# Clauses kept per field (FieldPostings.clauses); cleared when full (a flood of distinct words).
MAX_CACHED_CLAUSES = 4096
# ... and in every field of the worker together: a flood of distinct words reaches every field
# of every locale, so a bound per field alone let a worker's memos grow with the locales (25 MB
# in 66 of 210 fields of the 20-locale index, bench/memos.py). ~180 bytes an entry: ~12 MB.
# Every field's clause and term-number memos are emptied when the total reaches it
# (memindex.forget_terms), and re-filled at a term look-up a clause. A worker taking a third
# of a 20,000-query replay makes ~15,000 (dev) to ~27,000 (20 locales): no clear. At 32,768,
# one pass of every dev query set in one process cleared once, in the third set, which then
# read 1.13x (mean) what it read with the memos kept: a clear costs ~50-100 ms of look-ups.
MAX_KEPT_CLAUSES = 65536
_UNSEEN = object()
# How many clauses every field's memo holds together (an over-count once a field is gone or
# a memo cleared elsewhere, which only brings the next clear forward).
_kept = 0


def forget_memos() -> None:
    """Empty every field's clause and term-number memos (:func:`memindex.forget_terms`)."""
    global _kept
    forget_terms()
    _kept = 0


def settle_memos() -> None:
    """Between searches: empty the memos once the term numbers looked up in the process
    since they were last emptied reached their bound (memindex.MAX_LOOKED_UP)."""
    if terms_full():
        forget_memos()


def _keep(field: FieldPostings, key, clause) -> None:
    """Keep ``clause`` in ``field``'s memo under ``key``, within both bounds."""
    global _kept
    clauses = field.clauses
    if len(clauses) >= MAX_CACHED_CLAUSES:
        _kept -= len(clauses)
        clauses.clear()
    if _kept >= MAX_KEPT_CLAUSES:
        forget_memos()
    clauses[key] = clause
    _kept += 1


def _term(field: FieldPostings, term: str, boost: float = 1.0):
    """The clause of ``term`` in ``field`` scored times ``boost``, None when the field lacks
    it. A :class:`_Term` is never changed once made: one per (term, boost) and field is kept
    and handed out again (a plain dict: no look-up of the term's number, no new object)."""
    clauses = field.clauses
    key = term if boost == 1.0 else (term, boost)
    clause = clauses.get(key, _UNSEEN)
    if clause is not _UNSEEN:
        return clause
    tid = field.term_id(term)
    clause = None if tid < 0 else _Term(field, tid, boost)
    _keep(field, key, clause)
    return clause


def remember_term(field: FieldPostings, term: str, tid: int) -> None:
    """Keep ``term``'s clause (boost 1), known to be term number ``tid`` of ``field``, for
    :func:`_term` to hand out without looking the term up: the clause it would make."""
    if term not in field.clauses:
        _keep(field, term, _Term(field, tid))


def _expansion(field: FieldPostings, prefix: str, boost: float = 1.0):
    """Or of the completions of ``prefix`` that the Whoosh query picks too."""
    tids = pick_expansions(range(*field.prefix_range(prefix)), field.doc_frequency)
    if not tids:
        return None
    out = _Scored()
    for tid in tids:
        for d, s in _Term(field, tid, boost).items():
            out[d] = out.get(d, 0.0) + s
    return out


def _intersect(clauses: list) -> dict:
    """``{doc: summed score}`` of documents every clause matches."""
    # Each clause's length once; a term's read off its span (no Python __len__ call).
    sizes = [c.end - c.start if type(c) is _Term else len(c) for c in clauses]
    order = sorted(range(len(clauses)), key=sizes.__getitem__)
    first = clauses[order[0]]
    checked = None  # {id(phrase): {doc: score}} of the lazy phrases, checked first
    if any(type(c) is _LazyPhrase for c in clauses):
        # Positions are the costly check: they are read only in documents that hold every
        # required term and pass the filter (_candidates, at C speed or by binary search).
        cand = _candidates(clauses)
        if not cand:
            return {}
        # The candidates are the documents every other clause matches: the phrases are
        # checked there before any score is summed, so a phrase that holds nowhere (a quoted
        # flood of stop words) leaves no sum to make. The clauses are then summed in the same
        # order as without it: same floats.
        checked = _phrase_checks([c for c in clauses if type(c) is _LazyPhrase], cand, first)
        if not checked:
            return {}
        if type(first) is _LazyPhrase:
            acc = checked[id(first)]
        else:
            # (Every phrase's documents are the same: those where all of them hold.)
            held = next(iter(checked.values()))
            acc = {d: s for d, s in first.items() if d in held}
    else:
        acc = dict(first.items())
    for i in order[1:]:
        clause = clauses[i]
        if checked is not None and type(clause) is _LazyPhrase:
            get = checked[id(clause)].get
            nxt = {}
            for d, s in acc.items():
                x = get(d)
                if x is not None:
                    nxt[d] = s + x
            acc = nxt
        elif type(clause) is _Term:
            acc = clause.added(acc)
        else:
            nxt = {}
            lookup = clause.prober(len(acc))
            for d, s in acc.items():
                x = lookup(d)
                if x is not None:
                    nxt[d] = s + x
            acc = nxt
        if not acc:
            break
    return acc


def _phrase_checks(phrases: list, cand: set, first) -> dict:
    """``{id(phrase): {doc: score}}`` of ``phrases`` (lazy phrases) in the documents of
    ``cand`` where every one of them holds; ``{}`` when none is left.

    ``first`` (the clause :func:`_intersect` starts from), when it is one of ``phrases``, is
    evaluated whole over ``cand`` (:func:`_phrase`) as before. The others are checked document
    by document, each document until a phrase fails there, the phrase that failed last tried
    first on the next one: with a phrase that holds nowhere (a quoted flood beside a run that
    holds everywhere, bench/hostile.py), each document costs one check, not one per phrase. A
    document is kept only when every phrase holds, so the documents and each phrase's scores
    are those of checking the phrases one after another while the positions budget lasts
    (ranking.PHRASE_MAX_POSITIONS). Once it is spent, the documents left are taken not to
    hold (as in :class:`_LazyPhrase`): the documents kept are then those checked first, the
    lowest numbers, where checking one phrase after another kept none. Quoted floods of stop
    words reach it ('"in the" "of the" "to the"' on the dev corpus keeps 49 of 85)."""
    out: dict[int, dict] = {}
    if type(first) is _LazyPhrase:
        terms = first.terms
        found = _phrase(terms[0].field, None, first.slop, first.boost, terms, allowed=cand)
        if not found:
            return {}
        out[id(first)] = found
        cand = found.keys()
    rest = [p for p in phrases if p is not first]
    if not rest:
        return out
    # Each phrase's documents are probed on the candidates (as its prober would be).
    looks = [p.prober(len(cand)) for p in rest]
    got: list[dict] = [{} for _ in rest]
    order = list(range(len(rest)))
    for d in sorted(cand):
        for n, k in enumerate(order):
            x = looks[k](d)
            if x is None:
                if n:
                    order.insert(0, order.pop(n))
                break
            got[k][d] = x
        else:
            continue
        # A phrase failed: the ones that held here do not keep this document.
        for k in order[1:]:
            got[k].pop(d, None)
    for p, found in zip(rest, got, strict=True):
        if not found:
            return {}
        out[id(p)] = found
    return out


def _candidates(clauses: list) -> set:
    """The documents that may match every clause of :func:`_intersect`: those holding each
    plain term and the two rarest words of each phrase (its table-probed pair, see
    :meth:`_LazyPhrase.prober`), in the filter and other evaluated clauses. Made rarest first:
    a binary search per candidate into a much longer list, else the list's documents probed in
    the candidates' set, in C. A superset of the matches, so restricting to it changes no
    answer; no position is read. (With no phrase, the documents every clause matches.)"""
    spans = []  # (size, kind, value): a term's (field, start, end), or a container
    terms = set()  # each term once: a flood of quoted phrases names the same words again
    for c in clauses:
        kind = type(c)
        if kind is _Term:
            at = (id(c.field), c.start)
            if at not in terms:
                terms.add(at)
                spans.append((c.end - c.start, 0, (c.field, c.start, c.end)))
        elif kind is _LazyPhrase:
            for i in c._rarest_first[:2]:
                t = c.terms[i]
                at = (id(t.field), t.start)
                if at not in terms:
                    terms.add(at)
                    spans.append((t.end - t.start, 0, (t.field, t.start, t.end)))
        elif kind is _Allowed:
            spans.append((len(c.docs), 1, c.docs))
        else:
            spans.append((len(c), 1, c))
    spans.sort(key=itemgetter(0))
    cand = None
    for size, kind, value in spans:
        if kind:
            cand = set(value) if cand is None else set(filter(value.__contains__, cand))
        else:
            field, lo, hi = value
            docs = field.docs
            if cand is None:
                cand = set(docs[lo:hi])
            elif len(cand) * SPARSE_PROBES < size:
                keep = set()
                for d in cand:
                    j = bisect_left(docs, d, lo, hi)
                    if j < hi and docs[j] == d:
                        keep.add(d)
                cand = keep
            else:
                # The term's documents probed in the candidates, in C (no set of them made:
                # a flood's every word is in most documents).
                cand = cand.intersection(docs[lo:hi])
        if not cand:
            return set()
    return cand


# _in_a_row looks each start up in a list by binary search while the starts are fewer than
# 1/SPARSE_STARTS of its positions, else shifts the list into a set (C speed per position).
SPARSE_STARTS = 16
# A first list longer than this has _in_a_row start from the shortest list (one min() over
# the lengths costs less than a set of this many positions).
_LONG_FIRST = 64


def _in_a_row(poslists: list) -> bool:
    """Whether ``poslists`` hold a position each, one right after the other (list ``i`` at
    the first's ``+ i``), the lists already read (:meth:`_LazyPhrase._consecutive_at` reads
    them lazily). Re-ranking checks mostly lists of a few positions (4 on average over
    ../shared/queries): sets made in C, no sort by length and no generator (those cost more
    than the sets: 3.7 against 5.5 us a check). A list far longer than the starts left is
    probed by binary search, one per start, not shifted whole. A long first list (a word
    repeated thousands of times in one article) is not made a set: the starts come from the
    shortest list then, shifted back to the first's places."""
    if not poslists:
        return False
    first = 0  # the list the starts come from
    if len(poslists[0]) > _LONG_FIRST:
        first = min(range(len(poslists)), key=lambda i: len(poslists[i]))
    starts = set(poslists[0]) if first == 0 else {p - first for p in poslists[first]}
    for i, plist in enumerate(poslists):
        if i == first:
            continue
        if len(starts) * SPARSE_STARTS < len(plist):
            kept = set()
            n = len(plist)
            for x in starts:
                k = bisect_left(plist, x + i)
                if k < n and plist[k] == x + i:
                    kept.add(x)
            starts = kept
        else:
            starts.intersection_update(map(sub, plist, repeat(i)))
        if not starts:
            return False
    return bool(starts)


def near(poslists: list, slop: int, ordered: bool) -> bool:
    """Whether one position from each list forms a chain (Whoosh SpanNear2, ``mindist`` 1).

    Each list's position must lie within ``slop`` of the span built from the earlier lists,
    not on it; ``ordered`` also requires it to come after the span's start.
    """
    if ordered and slop == 1:
        # The common case (phrases, bigram runs) reduces to consecutive positions.
        return _in_a_row(poslists)
    # Depth first, each (list, span) state visited once: the same states as building every
    # span list by list, but a document that has a chain (the common case for a flood of
    # frequent words) stops at the first one instead of enumerating them all.
    last = len(poslists) - 1
    if last == 0:
        return len(poslists[0]) > 0
    # A span grows by at most ``slop`` a list, so from a state (i, a0, a1) list m >= i can only
    # be reached within (m - i + 1) * slop of it: a state where a list left has no position
    # there holds no chain, and is dropped with everything below it (a binary search a list
    # after list i, whose own scan below finds nothing then).
    # Same answer; a document of frequent words without a chain (most of a flood's,
    # bench/hostile.py) no longer explores every span its lists make.
    ends = [len(plist) for plist in poslists]
    stack = [(1, p, p) for p in reversed(poslists[0])]
    seen = set()
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        i, a0, a1 = state
        reach = slop
        for m in range(i + 1, last + 1):
            reach += slop
            far = poslists[m]
            k = bisect_left(far, a0 - reach)
            if k == ends[m] or far[k] > a1 + reach:
                break  # list m is out of reach: no chain from this state
        else:
            plist = poslists[i]
            n = ends[i]
            j = bisect_left(plist, a0 if ordered else max(0, a0 - slop))
            while j < n:
                b = plist[j]
                j += 1
                if b < a0 - slop or (ordered and a0 > b):
                    continue
                if b > a1 + slop:
                    break
                dist = 0 if a0 <= b <= a1 else (b - a1 if a1 < b else a0 - b)
                if 1 <= dist <= slop:
                    if i == last:
                        return True
                    stack.append((i + 1, min(a0, b), max(a1, b)))
    return False


def _phrase(
    field: FieldPostings,
    words,
    slop: int = 1,
    boost: float = 1.0,
    terms=None,
    allowed=None,
    tables=None,
):
    """Documents holding ``words`` in order, each within ``slop`` of the previous ones; only
    those in ``allowed`` when it is not None (a filter: the others are never checked).
    ``tables``: see :func:`_pair_docs`."""
    terms = terms or [_term(field, w) for w in words]
    if any(t is None for t in terms):
        return None
    found = _chain_docs(terms, slop, ordered=True, allowed=allowed, tables=tables)
    if boost == 1.0:
        # s * 1.0 is s: the same floats, copied in C (a run's pieces hold thousands).
        return _Scored(found)
    out = _Scored()
    for d, s in found.items():
        out[d] = s * boost
    return out


class _LazyPhrase:
    """A required phrase checked only where asked: the strict pass intersects its cheaper
    clauses first and checks positions in the few documents left, instead of in every
    document of the phrase's rarest word (a quoted flood of stop words, bench/hostile.py).
    Same documents and scores as :func:`_phrase`, while ``budget`` lasts.

    ``budget`` (a one-item list, shared by the phrases of one pass) counts down the positions
    read: once ranking.PHRASE_MAX_POSITIONS are read (a quoted phrase of very frequent words in
    long documents), the documents left are taken not to hold the phrase. Ordinary queries
    stay far below it (see the constant).
    """

    __slots__ = ("terms", "slop", "boost", "budget", "_rarest_first", "_finds")

    def __init__(self, terms: list[_Term], slop: int = 1, boost: float = 1.0, budget=None):
        self.terms, self.slop, self.boost = terms, slop, boost
        self.budget = [ranking.PHRASE_MAX_POSITIONS] if budget is None else budget
        # Probed rarest first: most documents lack a rare word, and stop at the first miss.
        self._rarest_first = _by_rarity(terms)
        self._finds = [t.find for t in terms]

    def __len__(self) -> int:
        # Sorts after the plain clauses (positions are the costliest check, so they are made
        # last, on the fewest documents); _intersect starts from a phrase only when the query
        # has nothing else.
        return sum(len(t) for t in self.terms)

    def items(self):
        return _phrase(self.terms[0].field, None, self.slop, self.boost, self.terms).items()

    def prober(self, probes: int):
        # The rarest pair is looked up in every document asked about: a table when dense
        # (_Term.finder). The other words only where the phrase may still hold (a flood of
        # frequent words rarely gets past its first pair): a binary search each, never a table
        # of their many documents.
        finds = [t.find for t in self.terms]
        for i in self._rarest_first[:2]:
            finds[i] = self.terms[i].finder(probes)
        self._finds = finds
        return self.lookup

    def lookup(self, doc: int):
        budget = self.budget
        if budget[0] < 0:
            return None
        if self.slop == 1:
            return self._consecutive_at(doc, budget)
        found = [0] * len(self.terms)
        finds, positions_at = self._finds, self.terms[0].field.positions_at

        def lists():
            # Each word looked up and its positions read only when the ones before left the
            # phrase possible; a missing word gives an empty list (no start holds).
            for i in self._rarest_first:
                j = finds[i](doc)
                if j < 0:
                    yield i, ()
                    return
                found[i] = j
                plist = positions_at(j)
                budget[0] -= len(plist)
                yield i, plist

        # (slop 1 returned above: _consecutive_at)
        poslists = [None] * len(self.terms)
        for i, plist in lists():
            if not plist:
                return None
            poslists[i] = plist
        if not near(poslists, self.slop, True):
            return None
        return sum(self.terms[0].field.scores[j] for j in found) * self.boost

    def _consecutive_at(self, doc: int, budget: list[int]):
        """:meth:`lookup` of a phrase (slop 1), inlined: the words looked up rarest first, each
        only while the phrase may still hold there, its positions read and shifted onto the
        possible starts (as :func:`_in_a_row`). A run's
        phrase holds in most of the documents it is asked about (a flood beside a common
        word): no generator or closure per document."""
        finds, field = self._finds, self.terms[0].field
        positions_at = field.positions_at
        found = [0] * len(self.terms)
        starts = None
        for i in self._rarest_first:
            j = finds[i](doc)
            if j < 0:
                return None
            found[i] = j
            plist = positions_at(j)
            budget[0] -= len(plist)
            if starts is None:
                starts = set(map(sub, plist, repeat(i)))
            else:
                starts.intersection_update(map(sub, plist, repeat(i)))
            if not starts:
                return None
        return sum(map(field.scores.__getitem__, found)) * self.boost


def _by_rarity(terms: list[_Term]) -> list[int]:
    """The numbers of ``terms``, the term in the fewest documents first (ties in list order):
    the order terms are probed in, where a document most likely lacks one (the look-ups stop
    at the first missing term)."""
    return sorted(range(len(terms)), key=lambda i: len(terms[i]))


def _lazy_phrase(field: FieldPostings, words, slop: int = 1, budget=None):
    terms = [_term(field, w) for w in words]
    return None if any(t is None for t in terms) else _LazyPhrase(terms, slop, budget=budget)


def _chain_docs(terms: list[_Term], slop: int, ordered: bool, allowed=None, tables=None) -> dict:
    """``{doc: summed score}`` of documents where ``terms`` form a chain (in ``allowed``);
    ``tables``: see :func:`_pair_docs`."""
    if len(terms) == 2 and ordered and slop == 1:
        return _pair_docs(terms[0], terms[1], allowed, tables)
    order = sorted(range(len(terms)), key=lambda i: len(terms[i]))
    first, rest = terms[order[0]], order[1:]
    field = first.field
    out = {}
    found = [0] * len(terms)
    walked = _walk(first, allowed)
    finds = [terms[i].finder(len(walked)) if i in rest else None for i in range(len(terms))]
    for k in walked:
        d = field.docs[k]
        found[order[0]] = k
        for i in rest:
            j = finds[i](d)
            if j < 0:
                break
            found[i] = j
        else:
            if near([field.positions_at(j) for j in found], slop, ordered):
                out[d] = sum(field.scores[j] for j in found)
    return out


def _walk(term: _Term, allowed) -> range | list[int]:
    """Posting numbers of ``term`` to check: all, or those of documents in ``allowed``.

    A filter is applied here, before any probe of the other terms or positions, so a
    filtered phrase costs what its filtered documents cost (the set test runs in C)."""
    if allowed is None:
        return range(term.start, term.end)
    docs = term.field.docs[term.start : term.end]
    return list(compress(range(term.start, term.end), map(allowed.__contains__, docs)))


def _pair_docs(a: _Term, b: _Term, allowed=None, tables=None) -> dict:
    """:func:`_chain_docs` of two terms, ``b`` right after ``a``: the commonest chain (a pair
    of bigrams, a two-word phrase), with the per-document work inlined; same result. Only
    documents in ``allowed`` when it is not None.

    ``tables`` (a dict kept over one relaxed pass, or None): the ``{doc: posting}`` tables of
    the terms already read, by their first posting. The pieces of a run are pairs of
    neighbouring bigrams: each bigram is in two of them, and its table is made once."""
    field = a.field
    docs, scores, pos_off, positions = field.docs, field.scores, field.pos_off, field.positions
    if len(b) < len(a):
        # Walk the rarer term; ``b`` at position p needs ``a`` at p - 1.
        walk, other, shift = b, a, 1
    else:
        walk, other, shift = a, b, -1
    ks = _walk(walk, allowed)
    sparse = len(ks) * DENSE_PROBES < len(other)
    if tables is not None and (not sparse or other.start in tables):
        return _tabled_pair_docs(a, b, allowed, tables)
    if sparse:
        find = other.find
        found = [(k, j) for k in ks if (j := find(docs[k])) >= 0]
    else:
        # Many probes (the two bigrams of a common word): the other term's documents in a
        # table, every walked document looked up at C speed; only the pairs are left to check.
        table = dict(zip(docs[other.start : other.end], range(other.start, other.end), strict=True))
        js = list(map(table.get, map(docs.__getitem__, ks)))
        found = list(compress(zip(ks, js, strict=True), map(is_not, js, repeat(None))))
    out = {}
    for k, j in found:
        a0, b0 = pos_off[k], pos_off[j]
        # Some p of the walked term's positions with p - shift among the other's. Their
        # first positions adjacent (three pairs in four, bench/filters.py's tail: a word's
        # bigrams most often stand together from its first use on) is a hit, whatever else
        # the lists hold: no list is read. Else one side holding a single position is a scan
        # of the other's few, in C.
        if positions[a0] - shift == positions[b0]:
            out[docs[k]] = scores[k] + scores[j] if walk is a else scores[j] + scores[k]
            continue
        a1, b1 = pos_off[k + 1], pos_off[j + 1]
        if a1 - a0 == 1:
            hit = b1 - b0 > 1 and positions[a0] - shift in positions[b0:b1]
        elif b1 - b0 == 1:
            hit = positions[b0] + shift in positions[a0:a1]
        else:
            theirs = set(positions[b0:b1])
            hit = not theirs.isdisjoint(map(sub, positions[a0:a1], repeat(shift)))
        if hit:
            out[docs[k]] = scores[k] + scores[j] if walk is a else scores[j] + scores[k]
    return out


def _doc_table(term: _Term, tables: dict) -> dict:
    """``{doc: posting}`` of ``term``, made once per ``tables`` (see :func:`_pair_docs`)."""
    table = tables.get(term.start)
    if table is None:
        docs = term.field.docs[term.start : term.end].tolist()
        table = tables[term.start] = dict(zip(docs, range(term.start, term.end), strict=True))
    return table


def _tabled_pair_docs(a: _Term, b: _Term, allowed, tables: dict) -> dict:
    """:func:`_pair_docs` with both terms' documents in ``tables``: the documents holding both
    are one intersection in C (of the smaller table's size), then the positions of those
    are checked. Same documents, scores and order (by document)."""
    field = a.field
    scores, pos_off, positions = field.scores, field.pos_off, field.positions
    ta, tb = _doc_table(a, tables), _doc_table(b, tables)
    both = ta.keys() & tb.keys()
    if allowed is not None:
        both = filter(allowed.__contains__, both)
    both = sorted(both)
    out = {}
    for d, k, j in zip(both, map(ta.__getitem__, both), map(tb.__getitem__, both), strict=True):
        a0, b0 = pos_off[k], pos_off[j]
        # Some p of a's positions with p + 1 among b's. Their first positions adjacent (the
        # commonest case, see _pair_docs) is a hit without reading the lists; else one side
        # holding a single position is a scan of the other's few in C.
        if positions[a0] + 1 == positions[b0]:
            out[d] = scores[k] + scores[j]
            continue
        a1, b1 = pos_off[k + 1], pos_off[j + 1]
        if a1 - a0 == 1:
            if b1 - b0 == 1 or positions[a0] + 1 not in positions[b0:b1]:
                continue
        elif b1 - b0 == 1:
            if positions[b0] - 1 not in positions[a0:a1]:
                continue
        elif set(positions[b0:b1]).isdisjoint(map(add, positions[a0:a1], repeat(1))):
            continue
        out[d] = scores[k] + scores[j]
    return out


def _gram_clause(field: FieldPostings, grams: tuple[str, ...], boost: float = 1.0, allowed=None):
    if len(grams) == 1:
        gram = grams[0]
        if len(gram) == 1:
            return _expansion(field, gram, boost)
        return _term(field, gram, boost)
    return _phrase(field, grams, boost=boost, allowed=allowed)


# Each title bigram field's phrase clauses of recent runs (helpapi.engine._title_run), kept
# while the field lives: (grams, boost) -> {doc: score}, least recently used dropped first.
_TITLE_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
TITLE_RUNS_KEPT = 256  # runs per field
TITLE_RUNS_DOCS = 64  # a run found in more titles is not kept (bounds the memory: 256 x 64)


def _title_run(field: FieldPostings, grams: tuple[str, ...], boost: float, allowed=None):
    """:func:`_gram_clause` of a run in the title bigrams, the run's phrase remembered per
    index: a title boost of a no-space run reads its titles' positions (~80 us a run), and
    the same runs come back in query after query. Not with a filter (``allowed``), nor for a
    single bigram (one term look-up). A copy is handed out: callers never change a clause,
    and a cached one must stay as the index answers."""
    if allowed is not None or len(grams) < 2:
        return _gram_clause(field, grams, boost, allowed)
    kept = _TITLE_RUNS.get(field)
    if kept is None:
        kept = _TITLE_RUNS[field] = OrderedDict()
    key = (grams, boost)
    found = kept.get(key)
    if found is not None:
        try:
            kept.move_to_end(key)
        except KeyError:  # another thread dropped it meanwhile
            pass
        return _Scored(found)
    found = _gram_clause(field, grams, boost)
    if found is not None and len(found) <= TITLE_RUNS_DOCS:
        kept[key] = _Scored(found)
        if len(kept) > TITLE_RUNS_KEPT:
            kept.popitem(last=False)
    return found


def is_prefix(unit: Unit) -> bool:
    """Whether ``unit`` is a prefix: a word being typed, or a single no-space character."""
    if unit.kind == "word":
        return unit.prefix
    return len(unit.grams) == 1 and len(unit.grams[0]) == 1


def _apply_prefix(found: dict | None, field: FieldPostings, prefix: str) -> dict:
    """``found`` narrowed to documents holding a term that starts with ``prefix``."""
    if found is None or len(found) > ranking.PREFIX_EXACT_DOCS:
        expanded = _expansion(field, prefix)
        if expanded is None:
            return {}
        return dict(expanded) if found is None else _intersect([_Scored(found), expanded])
    lo, hi = field.prefix_range(prefix)
    out = {}
    if lo >= hi:
        return out
    a, b = field.post_off[lo], field.post_off[hi]
    if b - a >= len(found) * PREFIX_POSTINGS_PER_DOC:
        # Each match's completions read from its forward list (two binary searches).
        for d, s in found.items():
            x = field.doc_prefix_score(d, lo, hi)
            if x is not None:
                out[d] = s + x
        return out
    # Fewer postings than that (a longer prefix, many matches: a title typed after common
    # words): the completions' postings read once. A document's come in term order, as in
    # its forward list: each sum starts from 0, as sum() does, so the floats are the same.
    sums: dict[int, float] = {}
    get = sums.get
    for d, x in zip(field.docs[a:b], field.scores[a:b], strict=True):
        if d in found:
            sums[d] = get(d, 0) + x
    for d, s in found.items():
        x = get(d)
        if x is not None:
            out[d] = s + x
    return out


# _apply_prefix reads the completions' postings rather than each match's forward list while
# they are fewer than this many per match (a binary search costs about as much as that many
# postings read in a loop).
PREFIX_POSTINGS_PER_DOC = 24


def strict(
    mem: MemIndex, units: list[Unit], key: str = "", allowed=None, *, ranks: bool = True
) -> list[tuple[int, float]]:
    """``(docnum, score)`` of every document matching all units, best first.

    ``allowed`` (a set of document numbers, or None) restricts the candidates: a filter.
    ``ranks=False`` (a facet counts' run, which reads the set of matches only): the same
    matches in no order, without the title boosts (they add to matches, never make one).

    For complete words, the same matches and scores as Whoosh running
    :func:`helpapi.query.strict_query`; a prefix (see :data:`~helpapi.ranking.PREFIX_EXACT_DOCS`)
    also finds documents whose only completion of it is a rare term.
    """
    text, grams = mem.fields["text"], mem.fields["grams"]
    # One budget of positions for every phrase this pass checks (ranking.PHRASE_MAX_POSITIONS).
    budget = [ranking.PHRASE_MAX_POSITIONS]
    required = []
    for u in units:
        if is_prefix(u):
            continue
        if u.kind == "word":
            clause = _term(text, u.term)
        elif len(u.grams) > 1:
            clause = _lazy_phrase(grams, u.grams, budget=budget)
        else:
            clause = _gram_clause(grams, u.grams)
        if clause is None or not len(clause):
            # A unit matching nothing (a mistyped word): no match, and the units after it
            # are not looked up (the spelling correction runs next).
            return []
        required.append(clause)
    for n in sorted({u.phrase for u in units if u.phrase >= 0}):
        words = [u.term for u in units if u.phrase == n and u.kind == "word"]
        if len(words) > 1:
            clause = _lazy_phrase(text, words, budget=budget)
            if clause is None or not len(clause):
                return []
            required.append(clause)
    if allowed is not None and required:
        required.append(_Allowed(allowed))
    found = _intersect(required) if required else None
    for u in units:
        if is_prefix(u) and u.kind == "word":
            found = _apply_prefix(found, text, u.term)
        elif is_prefix(u):
            found = _apply_prefix(found, grams, u.grams[0])
    if not required and found:
        found = _only(found, allowed)
    if not found:
        return []
    if not ranks:
        return list(found.items())
    _add_boosts(found, _boosts(mem, units, key, allowed, within=found))
    return _ranked(found)


def title_forms(title: FieldPostings, unit: Unit, stems: bool) -> list[int]:
    """Term ids of the title terms that count as ``unit`` for the title boost: the word, and
    with ``stems`` the other words of its stem (helpapi.analysis.same_stem_terms)."""
    # The stem is read only when used: a parsed word's is made when first read (query.Unit).
    start = stem_prefix(unit.term, unit.stem) if stems and unit.locale else ""
    if start and len(start) >= ranking.TITLE_STEM_MIN_PREFIX:
        lo, hi = title.prefix_range(start)
        if hi - lo <= ranking.TITLE_STEM_SCAN:
            found = same_stem_terms(
                [title.term(t) for t in range(lo, hi)], unit.term, unit.stem, unit.locale
            )
            return [title.term_id(t) for t in found]
    tid = title.term_id(unit.term)
    return [] if tid < 0 else [tid]


def _title_word(title: FieldPostings, unit: Unit, nwords: int):
    """One word's title clause, its forms' scores summed, times ranking.TITLE_BOOST."""
    stems = ranking.TITLE_STEMS and nwords <= ranking.TITLE_STEM_MAX_WORDS
    tids = title_forms(title, unit, stems)
    if len(tids) <= 1:
        return _Term(title, tids[0], ranking.TITLE_BOOST) if tids else None
    out = _Scored()
    for tid in tids:
        for d, s in _Term(title, tid, ranking.TITLE_BOOST).items():
            out[d] = out.get(d, 0.0) + s
    return out


class _Partial(_Scored):
    """A clause summed for some documents only (those a pass can still boost), whose length
    is the whole clause's: :func:`_intersect` adds clauses in the order of their lengths, so
    each sum is made in the same order, and its float is the same."""

    size = 0

    def __len__(self) -> int:
        return self.size


def _title_completions(title: FieldPostings, prefix: str, within=None):
    """Each title's words that start with ``prefix``, scores summed, times
    ranking.TITLE_BOOST: every completion (titles are short; a frequent few, as in the text,
    would miss the one a title holds). None when no title word starts with it, or more than
    ranking.TITLE_PREFIX_SCAN do.

    ``within`` (a container of documents, or None): only those documents' sums are made (the
    strict pass adds boosts to its matches only; a one-letter prefix, the last word of most
    queries being typed, has hundreds of postings), in a :class:`_Partial` as long as the whole
    clause. Their floats are the same."""
    lo, hi = title.prefix_range(prefix)
    if not (ranking.TITLE_PREFIX and lo < hi) or hi - lo > ranking.TITLE_PREFIX_SCAN:
        return None
    # The completions' postings are one contiguous run, in term order.
    post_off = title.post_off
    a, b = post_off[lo], post_off[hi]
    if a == b:
        return None
    docs, scores = title.docs[a:b], title.scores[a:b]
    if within is None:
        out = _Scored()
    else:
        out = _Partial()
        if not within:
            out.size = len(docs)  # matches nothing: only its truth counts
            return out
        # The whole clause's length (its distinct documents), for _intersect's order.
        out.size = title.distinct_docs(lo, hi)
        if len(within) <= FEW_DOCS:
            raw = docs.tobytes()
            picks = sorted(i for d in within for i in _positions(docs, d, raw))
            docs, scores = map(docs.__getitem__, picks), map(scores.__getitem__, picks)
        else:
            keep = list(map(within.__contains__, docs))
            docs, scores = compress(docs, keep), compress(scores, keep)
    get, boost = out.get, ranking.TITLE_BOOST
    # Summed in term order, as the postings come: the same floats as one term at a time.
    for d, s in zip(docs, scores, strict=True):
        out[d] = get(d, 0.0) + s * boost
    return out


# Up to this many documents, a run of postings is searched for each document's bytes (C)
# rather than testing every posting for membership.
FEW_DOCS = 8


def _positions(docs: memoryview, doc: int, raw: bytes | None = None) -> list[int]:
    """Every index of ``doc`` in ``docs`` (unsigned integers), ascending: ``bytes.find`` of
    its bytes, kept where they start an item. ``raw``: ``docs.tobytes()`` when the caller
    searches the same run for several documents (copied once, not once each)."""
    width = docs.itemsize
    if doc >= 1 << 8 * width:
        return []  # larger than any item
    raw, key = docs.tobytes() if raw is None else raw, doc.to_bytes(width, sys.byteorder)
    out = []
    p = raw.find(key)
    while p >= 0:
        if not p % width:
            out.append(p // width)
        p = raw.find(key, p + 1)
    return out


def typed_title_start(units: list[Unit]) -> str:
    """How a title key starts when the query is the beginning of that title, still being
    typed (its last unit a word being typed; no quotes): the typed text as
    :func:`helpapi.analysis.title_key` makes a title's key (no-space runs broken into words
    by ICU, as the title's are); else ``""``."""
    if not (ranking.TITLE_START_BOOST and units and units[-1].prefix):
        return ""
    if any(u.phrase >= 0 for u in units):
        return ""
    if all(u.kind == "word" for u in units):
        return " ".join(u.term for u in units)
    return title_key(" ".join(u.text for u in units), units[-1].locale)


def title_start_boost(start: str, key: str) -> float:
    """The boost of a title whose key ``key`` begins with the typed ``start``: of
    ranking.TITLE_START_BOOST, the part ranking.TITLE_START_TYPED scales with the share of the
    title already typed. People type a title to its end, so of the titles that begin alike
    the one nearest its end when the typing stops ("Azure Active D" for "Azure Active
    Directory", not "... Directory joined devices") is the likelier. ``key`` "": unknown."""
    typed = ranking.TITLE_START_TYPED * len(start) / len(key) if key else 1.0
    return ranking.TITLE_START_BOOST * (1.0 - ranking.TITLE_START_TYPED + typed)


def run_title_boosts(units: list[Unit], relaxed: bool = False) -> tuple[float, bool]:
    """How no-space runs found in a title score: the boost of each run in the clause of titles
    holding every unit (0.0: no such clause), and whether a run scores
    ranking.RUN_TITLE_BOOST on its own, in any title that holds it.

    With ranking.RUN_TITLE_PARTIAL off, a title holding only some of the units scores nothing
    for them, as a title holding only some of a query's words does not: a long fragment that
    shares a piece with a title is not about that title. RUN_TITLE_BOOST then counts in the
    every-unit clause (same score there as before) or, with one unit only, alone. In the
    ``relaxed`` pass no document holds every unit, and a title holding some is the evidence."""
    runs = sum(u.kind == "run" for u in units)
    if not runs:
        return 0.0, True  # no run, no clause (the words are not counted)
    words = sum(u.kind == "word" and not u.prefix for u in units)
    every = ranking.TITLE_ALL_RUNS and words + runs >= 2
    if not every:
        return 0.0, True
    if ranking.RUN_TITLE_PARTIAL or relaxed:
        return ranking.TITLE_BOOST, True
    return ranking.TITLE_BOOST + ranking.RUN_TITLE_BOOST, False


def phrase_boost(units: list[Unit], base: float, per_unit: float, n: int) -> float:
    """The boost of ``n`` units standing as typed: ``base`` for two, ``per_unit`` more for each
    further one up to ranking.PHRASE_MAX_EXTRA of them (ranking.EXACT_BOOST_PER_WORD,
    PROXIMITY_BOOST_PER_RUN). A whole fragment found as it stands is likelier the text that was
    copied the longer it is: a chance match of several words in order is rare. Not while a word
    is still being typed (``prefix``): that query is not a copied fragment, and the title it is
    typing scores TITLE_START_BOOST."""
    if any(u.prefix for u in units):
        return base
    return base + per_unit * min(max(0, n - 2), ranking.PHRASE_MAX_EXTRA)


def _adds_last(clause, others: list) -> bool:
    """Whether :func:`_intersect` of ``others`` and ``clause`` (and a clause scoring 0.0, in
    any place: 0.0 + x is x) adds ``clause``'s score last: it sorts after each of ``others``
    (no shorter; on a tie, the later clause in the list comes later)."""
    size = len(clause)
    return all((c.end - c.start if type(c) is _Term else len(c)) <= size for c in others)


def _key_fields(mem: MemIndex) -> list[FieldPostings]:
    """The whole-title key fields of ``mem``: the title's, the English title's and the front
    matter's other title's (absent from an index written before it existed)."""
    return [mem.fields[name] for name in KEY_FIELDS if name in mem.fields]


def _key_holders(mem: MemIndex, key: str) -> list:
    """The documents holding ``key`` (the query as a whole title), one list per key field
    that holds it: each scores SAME_TITLE_BOOST in the strict pass (:func:`_boosts`)."""
    out = []
    if key:
        for field in _key_fields(mem):
            tid = field.term_id(key)
            if tid >= 0:
                start, end = field.span(tid)
                out.append(field.docs[start:end])
    return out


def key_boosts(mem: MemIndex, key: str) -> dict[int, float]:
    """The SAME_TITLE_BOOST that each document's strict score carries for ``key`` (the query
    as a whole title, :func:`_boosts`): the boost once per key field holding the key."""
    out: dict[int, float] = {}
    for docs in _key_holders(mem, key):
        for d in docs:
            out[d] = out.get(d, 0.0) + ranking.SAME_TITLE_BOOST
    return out


def _boosts(
    mem: MemIndex, units: list[Unit], key: str, allowed=None, within=None, relaxed=False
) -> list:
    """The optional clauses of :func:`helpapi.query.strict_query` that match something.

    Their scores are added to matched documents only, all in ``allowed`` (a filter, or None):
    the title phrases are checked there only; a document's boost is the same either way.
    ``within`` (the matched documents, or None): the clauses whose cost follows their
    postings (a word being typed) may leave out the other documents. ``relaxed``: for the
    relaxed pass, where a title holding only some runs counts (:func:`run_title_boosts`)."""
    out = []
    title = mem.fields["title"]
    words = [u for u in units if u.kind == "word" and not u.prefix]
    typing = [u for u in units if u.kind == "word" and u.prefix]
    if ranking.TITLE_STEMS and len(words) <= ranking.TITLE_STEM_MAX_WORDS:
        word_terms = [_title_word(title, u, len(words)) for u in words]
    else:
        # No other forms of the words (title_forms without stems): each word's title term.
        word_terms = [_term(title, u.term, ranking.TITLE_BOOST) for u in words]
    # Intersections start from the matched documents when they are fewer (median: one), each
    # probing the clauses; a clause scoring 0.0 leaves every sum as it was (0.0 + x is x).
    limit = [] if within is None else [_Allowed(within)]
    completions = None
    if typing:
        needed = within
        if within is not None and word_terms and all(word_terms):
            # Only matches whose titles hold every other word can use a completion's score.
            needed = _intersect(word_terms + limit)
        completions = _title_completions(title, typing[0].term, needed)
    # None: no title word completes it (an empty clause is one matching none of ``within``).
    if completions is not None:
        # The word being typed is a title word too: its title completions (as in the text).
        # (No title completes it, as when it holds a typo: the other words' clause alone.)
        terms = [*word_terms, completions]
        if all(terms):
            if len(terms) > 1 and within is not None:
                limit = [_Allowed(needed)]
            if needed is not within and _adds_last(completions, word_terms):
                # needed holds the other words' sums (in the same order): the completions'
                # scores are added last, as _intersect would add them. Same floats.
                out.append({d: s + completions[d] for d, s in needed.items() if d in completions})
            else:
                out.append(_intersect(terms + limit) if len(terms) > 1 else terms[0])
    elif len(words) >= 2:
        terms = word_terms
        if all(terms):
            out.append(_intersect(terms + limit))
    elif len(words) == 1:
        out.append(word_terms[0])
    title_grams = mem.fields["title_grams"]
    runs = [u for u in units if u.kind == "run"]
    every, alone = run_title_boosts(units, relaxed)

    def title_run(unit: Unit, boost: float, narrow: bool):
        # A run's title phrase only adds to the matched documents (_add_boosts): with
        # ``within``, it is checked in those alone (a common run's phrase over every title,
        # too large to be kept by _title_run, cost ~1 ms). Each document's score is the same.
        if narrow and within is not None:
            return _gram_clause(title_grams, unit.grams, boost, within)
        return _title_run(title_grams, unit.grams, boost, allowed)

    if every:
        # Runs of a no-space script are the words of a keyword query there ("共有 連絡先
        # 外部"): the title holding every unit, runs included, is about the query.
        terms = [*word_terms]  # the same clauses (_title_word is pure)
        # Two clauses sum alike in either order (a + b is b + a); more are summed smallest
        # first (_intersect), so then each phrase keeps its size over every title: whole.
        narrow = len(word_terms) + len(runs) <= 2
        terms += [title_run(u, every, narrow) for u in runs]
        if all(terms):
            out.append(_intersect(terms))
    if alone:
        out += [title_run(u, ranking.RUN_TITLE_BOOST, True) for u in runs]
    start = typed_title_start(units)
    if start:
        for field in _key_fields(mem):
            lo, hi = field.prefix_range(start)
            if lo == hi:
                continue  # no title key starts so (an empty clause is dropped below)
            # The keys' postings are one contiguous run, in term order (a later key's boost
            # wins for a document holding two, as when they were added key by key).
            post_off = field.post_off
            docs = field.docs[post_off[lo] : post_off[hi]]
            if hi - lo > ranking.TITLE_PREFIX_SCAN:
                # Key lengths are read for a bounded number of titles only (a short start).
                out.append(_Scored.fromkeys(docs, title_start_boost(start, "")))
                continue
            # One boost per title key, not per document holding it.
            boosts = [title_start_boost(start, field.term(tid)) for tid in range(lo, hi)]
            counts = [post_off[tid + 1] - post_off[tid] for tid in range(lo, hi)]
            stretched = chain.from_iterable(map(repeat, boosts, counts))
            out.append(_Scored(zip(docs, stretched, strict=True)))
    for docs in _key_holders(mem, key):
        # A key field scores its weight (1) times the boost.
        out.append(_Scored((d, ranking.SAME_TITLE_BOOST) for d in docs))
    return [c for c in out if c]


def stands_as_typed(poslists: list, seq: list[int]) -> bool:
    """``near([poslists[k] for k in seq], 1, True)``: the words stand one after another.

    ``seq`` may name a list more than once (a word typed twice, :func:`typed_order`). Once the
    possible starts are few, a list is probed at them (binary search) instead of shifted whole:
    a flood repeating two frequent words costs about what the two words typed once cost."""
    first = seq.index(min(set(seq), key=lambda k: len(poslists[k])))
    starts = set(map(sub, poslists[seq[first]], repeat(first)))
    for i, k in enumerate(seq):
        if i == first:
            continue
        plist = poslists[k]
        n = len(plist)
        if len(starts) * 16 < n:
            kept = set()
            for x in starts:
                j = bisect_left(plist, x + i)
                if j < n and plist[j] == x + i:
                    kept.add(x)
            starts = kept
        else:
            starts.intersection_update(map(sub, plist, repeat(i)))
        if not starts:
            return False
    return True


def proximity(
    mem: MemIndex,
    units: list[Unit],
    docs: list[int],
    in_body: dict | None = None,
    in_order: dict | None = None,
) -> dict[int, float]:
    """Extra score of each of ``docs`` for :func:`helpapi.query.proximity_query`'s clauses.

    ``in_body`` (a dict, or None): also gets the extra of :func:`body_phrase_boost` for each
    document whose words stand as typed past its titles (kept apart: the returned scores are
    Whoosh's, ``tests/test_engine.py`` compares them). ``in_order`` (a dict, or None): gets
    the part of each document's returned score that the in-order clauses (the words as typed,
    the no-space runs in order) gave.

    The in-order clause takes the words as typed, repeats included (:func:`typed_order`):
    "des fichiers ou des dossiers" stands in a text only with its second "des". Each distinct
    word's postings and positions are still read once per document."""
    text, grams = mem.fields["text"], mem.fields["grams"]
    # (terms, slop, ordered, boost, typed: None, or the order of terms typed, the extra boost
    # when the words stand as typed past the document's titles: body_phrase_boost)
    clauses = []
    words = [u for u in units if u.kind == "word" and not u.prefix]
    if len(words) >= 2:
        terms = [_term(text, u.term) for u in words]
        if all(terms):
            # SpanNear2 applies no boost of its own (Whoosh ignores a span query's boost).
            clauses.append(
                (terms, len(words) + ranking.PROXIMITY_SLOP_EXTRA, False, 1.0, None, 0.0)
            )
            typed = list(range(len(words)))
            if any(len(u.at) > 1 for u in words):
                index = {id(u): i for i, u in enumerate(words)}
                typed = [index[id(u)] for u in typed_order(units) if id(u) in index]
            per = ranking.EXACT_BOOST_PER_WORD
            boost = phrase_boost(units, ranking.EXACT_BOOST, per, len(typed))
            # typed_order keeps every word: a word typed twice is checked at both places.
            twice = typed if len(typed) > len(words) and ranking.EXACT_SLOP == 1 else None
            if twice is None and len(typed) > len(words):
                # (EXACT_SLOP tuned away from 1: near() on the lists in the order typed.)
                terms = [terms[k] for k in typed]
            past = body_phrase_boost(units, len(typed)) if in_body is not None else 0.0
            clauses.append((terms, ranking.EXACT_SLOP, True, boost, twice, past))
    runs = [u for u in units if u.kind == "run"]
    if len(runs) >= 2:
        terms = [_term(grams, g) for u in runs for g in u.grams]
        if all(terms):
            per = ranking.PROXIMITY_BOOST_PER_RUN
            boost = phrase_boost(units, ranking.PROXIMITY_BOOST, per, len(runs))
            clauses.append((terms, ranking.RUN_PROXIMITY_SLOP, True, boost, None, 0.0))
    extra: dict[int, float] = {}
    # ``docs`` come best first: once ranking.PROXIMITY_MAX_LOOKUPS look-ups of a term in a
    # document are made, or the next document's positions would take the positions read past
    # ranking.PROXIMITY_MAX_POSITIONS (a flood of frequent words in long documents; every bigram
    # of several long runs), the document being checked and those left keep their scores.
    budget = [ranking.PROXIMITY_MAX_LOOKUPS, ranking.PROXIMITY_MAX_POSITIONS]
    # Each clause's terms probed rarest first (a document lacking one is most likely to lack
    # a rare one, and the look-ups stop at the first missing term: the clause does not apply).
    probes = {
        id(terms): [(k, terms[k].start, terms[k].end) for k in _by_rarity(terms)]
        for terms, *_ in clauses
    }
    shortcut = _typed_implies_near(clauses)
    ends = None  # title_ends(mem), looked up once (at the first document checked past them)
    for d in docs:
        # The two word clauses share their terms: one look-up of each term's postings per
        # document serves both. Clauses are added in their order, so the floats are the same.
        seen: dict[int, tuple] = {}
        score_d, hit = 0.0, False
        # The document's in-order and past-the-titles parts, noted only with its extra: a
        # budget spent inside it leaves it, and every part of its score, as it was.
        order_d = body_d = None
        typed = None  # whether the words stand as typed (shortcut)
        for n, (terms, slop, ordered, boost, twice, past) in enumerate(clauses):
            got = seen.get(id(terms))
            if got is None:
                got = seen[id(terms)] = _proximity_lists(terms, probes[id(terms)], d, budget)
            found, poslists = got
            if poslists is None:
                if found is None:
                    return extra  # over a budget
                continue
            # Standing past the titles implies standing: checked first, one check suffices
            # for the documents whose body holds the words as typed.
            if past and ends is None:
                ends = title_ends(mem)
            body = past and _in_body(ends, d, poslists, slop, ordered, twice)
            if body:
                holds = True
            elif n == 0 and shortcut:
                # The in-order check first (cheap): when it holds, so does nearness.
                typed = near(poslists, 1, True)
                holds = typed or near(poslists, slop, ordered)
            elif n == 1 and typed is not None:
                holds = typed
            else:
                holds = twice is None and near(poslists, slop, ordered)
            if twice is None:
                if holds:
                    # Every term is of one field: the same floats, added in the same order.
                    score = sum(map(terms[0].field.scores.__getitem__, found))
                    score_d, hit = score_d + score * boost, True
                    if ordered:
                        order_d = (order_d or 0.0) + score * boost
                    if body:
                        body_d = (body_d or 0.0) + score * past
            elif body or stands_as_typed(poslists, twice):
                score = sum(terms[0].field.scores[found[k]] for k in twice)
                score_d, hit = score_d + score * boost, True
                order_d = (order_d or 0.0) + score * boost
                if body:
                    body_d = (body_d or 0.0) + score * past
        if hit:
            extra[d] = score_d
            if order_d is not None and in_order is not None:
                in_order[d] = order_d
            if body_d is not None:
                in_body[d] = body_d
    return extra


# Each MemIndex's whole-title keys per document (helpapi.engine.title_keys), made on first use.
_TITLE_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def title_keys(mem: MemIndex) -> tuple[list[str], array, array, array]:
    """Which whole-title keys each document has, as flat arrays: ``(field names, offsets,
    field numbers, term ids)``; document ``d``'s keys are entries ``offsets[d]:offsets[d + 1]``, the
    localized title's, then the front matter's other title's (ranking.TITLE_COVER_FIELDS).
    Read once per index from the key fields' postings (milliseconds), kept while ``mem`` lives:
    a few bytes a document, since every worker keeps one per locale it has searched (a
    frozenset and a string per title took 1.4 KB a document, 90 MB over a scale index's
    21 locales). :func:`title_keys_of` reads one document's."""
    table = _TITLE_KEYS.get(mem)
    if table is None:
        names = [n for n in ranking.TITLE_COVER_FIELDS if n in mem.fields]
        fields = [mem.fields[n] for n in names]
        count = array("I", bytes(4 * (mem.doc_count + 1)))
        for field in fields:
            for d in field.docs:
                count[d + 1] += 1
        for d in range(mem.doc_count):
            count[d + 1] += count[d]
        offsets = array("I", count)
        size = count[-1]
        which, tids = array("B", bytes(size)), array("I", bytes(4 * size))
        for number, field in enumerate(fields):
            post_off, docs = field.post_off, field.docs
            for tid in range(len(post_off) - 1):
                for d in docs[post_off[tid] : post_off[tid + 1]]:
                    at = count[d]
                    which[at], tids[at] = number, tid
                    count[d] = at + 1
        # Names, not the fields: a closed index's views (its mapping) are not kept alive here.
        table = _TITLE_KEYS[mem] = (names, offsets, which, tids)
    return table


def title_keys_of(mem: MemIndex, doc: int, order: bool = False):
    """``doc``'s titles as ``(words, letters)``: the set of a title key's words
    (:func:`helpapi.analysis.title_key`) and the key without its spaces (:func:`title_keys`);
    with ``order``, ``(words, letters, word list)``: its words in order, repeats included."""
    return _keys_reader(mem)(doc, order)


def _keys_reader(mem: MemIndex):
    """:func:`title_keys_of` for many documents of ``mem``: the table and the fields looked
    up once (a search reads the keys of each candidate it re-ranks)."""
    names, offsets, which, tids = title_keys(mem)
    terms = [mem.fields[n].terms for n in names]

    def read(doc: int, order: bool = False) -> list[tuple]:
        out = []
        for at in range(offsets[doc], offsets[doc + 1]):
            # FieldPostings.term, inlined
            parts = terms[which[at]][tids[at]].decode("utf-8").split(" ")
            if order:
                out.append((frozenset(parts), "".join(parts), parts))
            else:
                out.append((frozenset(parts), "".join(parts)))
        return out

    return read


def _run_text(unit: Unit) -> str:
    """A no-space run's normalized text, from its overlapping bigrams."""
    grams = unit.grams
    return grams[0] + "".join(g[1:] for g in grams[1:]) if grams else ""


def title_cover(mem: MemIndex, units: list[Unit], docs: list[int]) -> dict[int, float]:
    """Extra score of each of ``docs`` whose own title holds every unit of the query: up to
    ranking.TITLE_COVER_BOOST, scaled by the share of that title the query covers
    (:func:`title_shares`, to the power ranking.TITLE_COVER_POWER). 0: none. The fixed boost
    only: the search scales it by the query's scores (helpapi.search._rerank,
    ranking.TITLE_COVER_RELATIVE)."""
    return cover_extra(title_shares(mem, units, docs))


def cover_extra(shares: dict[int, float], top: float = 0.0) -> dict[int, float]:
    """:func:`title_cover`'s extra scores from :func:`title_shares`'s answer. ``top``: the
    query's score scale (helpapi.search._rerank: the best title holder's strict score per
    unit); the boost is ranking.TITLE_COVER_RELATIVE times it when that is more."""
    boost, power = ranking.TITLE_COVER_BOOST, ranking.TITLE_COVER_POWER
    if not boost:
        return {}
    boost = max(boost, ranking.TITLE_COVER_RELATIVE * top)
    return {d: boost * share**power for d, share in shares.items()}


def title_shares(mem: MemIndex, units: list[Unit], docs: list[int]) -> dict[int, float]:
    """The share of its title the query covers (up to 1), for each of ``docs`` whose own
    title holds every unit of the query (characters of the query's units over the title's,
    spaces left out; a unit typed twice covers up to two of the title's places of it with
    ranking.TITLE_COVER_REPEATS, else it counts once). Whatever the boost: the re-ranking's
    other title guards read it too (helpapi.search._rerank).

    Many titles hold the two or three words of a short query ("SharePoint OneDrive" in dozens
    of titles); the title those words make up most of is the likelier one: of the titles that
    hold them, a longer one holds them by chance more easily. The share is of the localized
    title (and the front matter's other title), not of the title field, whose length counts
    the English title too. Not while a word is being typed (TITLE_START_BOOST does that)."""
    if not units or any(u.prefix for u in units):
        return {}
    words = {u.term: u for u in units if u.kind == "word" and u.term}
    runs = {_run_text(u) for u in units if u.kind == "run"}
    runs.discard("")
    chars = sum(map(len, words)) + sum(map(len, runs))
    if not chars:
        return {}
    # A unit typed more than once covers as many of a title's places of it ("Outlook Outlook
    # Windows": both of a title's "Outlook"), up to the times typed (ranking.TITLE_COVER_REPEATS).
    repeated = []
    if ranking.TITLE_COVER_REPEATS:
        repeated = [(u.kind, u.term or _run_text(u), len(u.at)) for u in units if len(u.at) > 1]
    # Each word's forms that count in a title, as for TITLE_BOOST (title_forms: with
    # TITLE_STEMS, "password" is in "Reset or change passwords").
    title = mem.fields["title"]
    stems = ranking.TITLE_STEMS and len(words) <= ranking.TITLE_STEM_MAX_WORDS
    if stems:
        forms = [
            {term, *(title.term(t) for t in title_forms(title, u, True))}
            for term, u in words.items()
        ]
    else:
        forms = [{term} for term in words]
    # A word with one form is a set lookup; all of them at once, one subset test (in C).
    need = frozenset(next(iter(f)) for f in forms if len(f) == 1)
    several = [f for f in forms if len(f) > 1]
    runs_list = list(runs)
    if len(docs) > TITLE_HOLDERS_FROM:
        docs = _title_holders(mem, need, docs)
    extra: dict[int, float] = {}
    # _keys_reader inlined, each key tested as text before it is split: a key holding every
    # word of ``need`` holds each as a substring (most candidates' titles do not).
    names, offsets, which, tids = title_keys(mem)
    terms = [mem.fields[n].terms for n in names]
    for d in docs:
        best = 0.0
        for at in range(offsets[d], offsets[d + 1]):
            key = terms[which[at]][tids[at]].decode("utf-8")
            if need and not all(w in key for w in need):
                continue
            order = key.split(" ")
            parts, flat = frozenset(order), "".join(order)
            if not need <= parts or not flat:
                continue
            if several and not all(not parts.isdisjoint(f) for f in several):
                continue
            if runs_list and not all(r in flat for r in runs_list):
                continue
            more = 0
            for kind, text, typed in repeated:
                held = order.count(text) if kind == "word" else flat.count(text)
                more += len(text) * (min(typed, held) - 1) if held else 0
            share = (chars + more) / len(flat)
            if share > best:
                best = share
        if best:
            extra[d] = min(1.0, best)
    return extra


# Fewer candidates than this have their title keys read directly (a key test costs less than
# a term look-up).
TITLE_HOLDERS_FROM = 16


def _title_holders(mem: MemIndex, words, docs: list[int]) -> list[int]:
    """``docs`` whose title field holds the rarest of ``words``: a title key holding every
    word is among them, and most candidates are not, so the keys of few documents are read.
    [] when a word is in no title. A query of runs only keeps ``docs``: a run is tested
    against a title key's letters with its spaces and punctuation left out, and no bigram
    field tells which titles hold that ("共有連絡先" is in 「共有・連絡先の管理」, whose
    bigrams lack 有連), so the answer would depend on how many candidates there are."""
    best = None
    for word in words:
        field = mem.fields["title"]
        tid = field.term_id(word)
        if tid < 0:
            return []
        span = field.span(tid)
        if best is None or span[1] - span[0] < best[2] - best[1]:
            best = (field, *span)
    if best is None:
        return docs
    field, lo, hi = best
    holders = set(field.docs[lo:hi])
    return [d for d in docs if d in holders]


_TITLE_ENDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def title_ends(mem: MemIndex) -> array:
    """Each document's number of title words (every whole-title key's: the localized, English
    and front-matter titles), indexed by document number: the text field's positions below it
    are its titles' (``text`` starts with the titles, the body with the front matter's title).
    Read once per index, kept while ``mem`` lives."""
    ends = _TITLE_ENDS.get(mem)
    if ends is None:
        ends = array("I", bytes(4 * mem.doc_count))
        for field in _key_fields(mem):
            post_off, docs = field.post_off, field.docs
            for tid in range(len(post_off) - 1):
                n = field.term(tid).count(" ") + 1
                for d in docs[post_off[tid] : post_off[tid + 1]]:
                    ends[d] += n
        _TITLE_ENDS[mem] = ends
    return ends


def body_phrase_boost(units: list[Unit], n: int) -> float:
    """The extra boost of ``n`` words standing as typed in a document's body, past its
    titles: ranking.BODY_PHRASE_BOOST for each word beyond two, up to
    ranking.PHRASE_MAX_EXTRA of them (as :func:`phrase_boost`). A fragment copied from an
    article stands whole in that article's text; another article's title may hold its words,
    even in order, without being its source. Not while a word is being typed."""
    return _past_titles_boost(units, n, ranking.BODY_PHRASE_BOOST)


def _past_titles_boost(units: list[Unit], n: int, boost: float) -> float:
    """``boost`` for each of ``n`` words or bigrams beyond two, up to ranking.PHRASE_MAX_EXTRA
    of them; 0 while a word is being typed (:func:`body_phrase_boost`, :func:`run_body_boost`)."""
    if not boost or any(u.prefix for u in units):
        return 0.0
    return boost * min(max(0, n - 2), ranking.PHRASE_MAX_EXTRA)


def _past(poslists: list, end: int) -> list:
    """Each of ``poslists`` from the first position at or past ``end`` (a document's titles'
    end: :func:`title_ends`, :func:`title_gram_ends`)."""
    return [plist[bisect_left(plist, end) :] for plist in poslists]


def _in_body(ends: array, doc: int, poslists: list, slop: int, ordered: bool, twice) -> bool:
    """Whether the in-order clause holds with the positions past ``doc``'s titles
    (``ends``: :func:`title_ends` of the index)."""
    end = ends[doc]
    if not end:
        trimmed = poslists
    else:
        trimmed = _past(poslists, end)
    if not all(trimmed):
        return False
    return near(trimmed, slop, ordered) if twice is None else stands_as_typed(trimmed, twice)


_TITLE_GRAM_ENDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def title_gram_ends(mem: MemIndex) -> array:
    """Each document's first bigram position past its titles in the ``grams`` field, indexed
    by document number: ``title_grams`` is a head of ``grams`` (the title's bigrams, then the
    front matter's title's, which starts the body), so its last position + 1. Read once per
    index, kept while ``mem`` lives (as :func:`title_ends` for words)."""
    ends = _TITLE_GRAM_ENDS.get(mem)
    if ends is None:
        ends = array("I", bytes(4 * mem.doc_count))
        field = mem.fields["title_grams"]
        pos_off, positions, docs = field.pos_off, field.positions, field.docs
        for j, d in enumerate(docs):
            last = pos_off[j + 1]
            if last > pos_off[j] and positions[last - 1] >= ends[d]:
                ends[d] = positions[last - 1] + 1
        _TITLE_GRAM_ENDS[mem] = ends
    return ends


def run_body_boost(units: list[Unit], n: int) -> float:
    """The extra boost of no-space runs of ``n`` bigrams in all, each standing whole in a
    document's body past its titles: ranking.RUN_BODY_BOOST for each bigram beyond two, up
    to ranking.PHRASE_MAX_EXTRA of them (as :func:`body_phrase_boost` counts words). Not
    while a word is being typed."""
    return _past_titles_boost(units, n, ranking.RUN_BODY_BOOST)


def punctuated(text: str) -> bool:
    """Whether ``text`` holds a punctuation mark or symbol between its words ("受信者]、[
    グループ", "帳單 > 購買服務"): text copied from an article has them, keywords typed apart
    by spaces do not. A mark inside a word of a script written with spaces ("Outlook.com",
    "Wi-Fi") does not count; one between letters of a no-space script ("受信者、グループ")
    does (those scripts' words are not spaced: their punctuation stands between words).
    Marks before the first word or after the last do not count: a question mark typed after
    keywords, quotes around them, "C++" (typed keywords still)."""
    if _unmarked(text):
        return False  # letters, digits and spaces only: no mark anywhere (most queries)
    # Only the characters _UNMARKED leaves out may be marks: their categories alone are read.
    marks = {
        m.start() for m in _MAYBE_MARK.finditer(text) if unicodedata.category(m.group())[0] in "PS"
    }
    if not marks:
        return False
    # The first and last words' places (each search stops at its first word, mostly at once).
    words = (i for i, c in enumerate(text) if i not in marks and not c.isspace())
    first = next(words, None)
    if first is None:
        return False
    n = len(text) - 1
    last = next(
        n - i for i, c in enumerate(reversed(text)) if n - i not in marks and not c.isspace()
    )
    for i in marks:
        if first < i < last and not (_spaced_letter(text[i - 1]) and _spaced_letter(text[i + 1])):
            return True
    return False


# Letters, digits (str.isalnum: never of a P or S category, checked over every code point by
# tests/test_engine19.py) and spaces (str.isspace, as \s): a text made of them holds no mark.
_UNMARKED = re.compile(r"(?:[^\W_]|\s)*")
_MAYBE_MARK = re.compile(r"[^\w\s]|_")  # one character _UNMARKED does not take


def _unmarked(text: str) -> bool:
    """``_UNMARKED.fullmatch(text)`` in C string methods (a fifth of the regex's time, which
    tries two branches a character): ``str.split`` drops the characters ``\\s`` takes and
    ``str.isalnum`` holds for those ``[^\\W_]`` takes (both are the same Unicode predicates:
    tests/test_parse20.py compares them over every code point)."""
    bare = "".join(text.split())
    return not bare or bare.isalnum()


def _spaced_letter(c: str) -> bool:
    """A letter or digit of a script written with spaces (not one :data:`GRAM_RUN` takes)."""
    return c.isalnum() and not GRAM_RUN.match(c)


def runs_in_body(
    mem: MemIndex,
    units: list[Unit],
    docs: list[int],
    in_body: dict,
    key: str = "",
    copied: bool = False,
    *,
    titled: bool,
) -> None:
    """Add to ``in_body`` the extra of :func:`run_body_boost` for each of ``docs`` (best
    first) whose body, past its titles, holds the query's no-space runs as typed: each run
    whole, each right after the one before (:func:`_runs_as_typed`; "受信者]、[グループ"), a
    run typed twice at both places with ranking.RUN_BODY_REPEATS.
    Only for a query of one unit, or ``copied`` (it holds punctuation, :func:`punctuated`),
    or (ranking.RUN_BODY_SPACED) not ``titled``: units typed apart by spaces may be keywords
    of a title, which other bodies hold in the order typed as well; ``titled`` says a
    candidate's title holds every unit (:func:`title_cover`). Not when the query is a whole
    title (``key``, the query's title key, is one).

    A script written without spaces has no words to find "as typed"; a run's bigrams standing
    one after another are its letters as typed. A fragment copied from a body stands whole in
    its source's body; another article's title may hold it (the strict pass matches titles
    and bodies alike) without being its source. Keywords typed in another order than the text
    has them ("連絡先 共有") do not stand so. The query's words (other scripts) are not
    checked. Bounded like :func:`proximity`: after ranking.PROXIMITY_MAX_LOOKUPS look-ups or
    ranking.PROXIMITY_MAX_POSITIONS positions the documents left are not checked."""
    runs = [u.grams for u in units if u.kind == "run" and u.grams]
    if ranking.RUN_BODY_REPEATS:
        # The runs as typed, a run typed twice at both places ("グループ > グループ", a menu
        # path), as the words' in-order clause takes them (typed_order).
        runs = [u.grams for u in typed_order(units) if u.kind == "run" and u.grams]
    # Typed places, not units: a run typed twice apart by a space only ("連絡先 連絡先") is
    # one unit but spaced keywords all the same.
    spaced = not copied and (len(units) > 1 or any(len(u.at) > 1 for u in units))
    if not runs or (spaced and (not ranking.RUN_BODY_SPACED or titled)):
        # Units typed apart by spaces only may be keywords ("共有 連絡先"), which a body can
        # hold in the order typed as well as the title they were taken from: when a title
        # holds every unit, that title is the likelier answer.
        return
    if key and any(field.term_id(key) >= 0 for field in _key_fields(mem)):
        # The query is a whole title (SAME_TITLE_BOOST's key): that title, not a body
        # quoting it, is what was typed.
        return
    boost = run_body_boost(units, sum(map(len, runs)))
    if not boost:
        return
    field = mem.fields["grams"]
    terms = [_term(field, g) for grams in runs for g in grams]
    if not all(terms):
        return
    cuts = list(accumulate(map(len, runs), initial=0))
    held, top = _held_past_titles(
        terms, docs, title_gram_ends(mem), lambda trimmed: _runs_as_typed(trimmed, cuts)
    )
    # The same extra for every source: the runs' best score among them, times the boost. An
    # extra in proportion to each document's own score would also sort the sources by how
    # often they repeat a common phrase ("然後按一下"), which tells no source from another.
    for d in held:
        in_body[d] = in_body.get(d, 0.0) + top * boost


def fragment_in_body(
    mem: MemIndex, units: list[Unit], docs: list[int], in_body: dict, key: str = ""
) -> set[int] | None:
    """The documents of ``docs`` (best first) whose body, past its titles, holds a query
    mixing words and no-space runs ("AD) のグループ", "PST 檔案匯入至") as typed; each gets
    the extra of ranking.FRAGMENT_BODY_BOOST in ``in_body``. None when the query is not such
    a fragment (no word or no run, a word being typed, a whole title typed, too long).

    The words and the runs sit in two position spaces (the ``text`` field's words, the
    ``grams`` field's bigrams): neither :func:`proximity` nor :func:`runs_in_body` sees a
    Latin word standing right before or after a run. The ``text`` field holds every word ICU
    finds, the no-space scripts' (dictionary words) too, in one position space: ``key`` (the
    query's title key, :func:`helpapi.query.query_title_key`: its words as the index analyzes
    them, in the order typed) standing there word after word is the fragment as typed. The
    extra is ranking.FRAGMENT_BODY_BOOST per word beyond two (up to ranking.PHRASE_MAX_EXTRA)
    times the best such document's score of those words, the same for each (as
    :func:`runs_in_body`). Also when the words are typed apart by spaces and a title holds
    them all: the fragment standing whole in a body, Latin words and runs in a row, is rarer
    than keywords in the order typed. Bounded like :func:`proximity`."""
    if not key or any(u.prefix for u in units) or {u.kind for u in units} != {"word", "run"}:
        return None
    words = key.split(" ")
    if len(words) > ranking.MAX_UNITS:
        return None
    if any(field.term_id(key) >= 0 for field in _key_fields(mem)):
        return None  # a whole title typed (as runs_in_body)
    field = mem.fields["text"]
    terms = [_term(field, w) for w in words]
    if not all(terms):
        return set()
    held, top = _held_past_titles(terms, docs, title_ends(mem), _stand_in_a_row)
    boost = _past_titles_boost(units, len(words), ranking.FRAGMENT_BODY_BOOST)
    for d in held:
        in_body[d] = in_body.get(d, 0.0) + top * boost
    return set(held)


def _held_past_titles(
    terms: list, docs: list[int], ends: list[int], stands: Callable[[list], bool]
) -> tuple[list[int], float]:
    """``(held, top)``: the documents of ``docs`` (best first) whose body, past its titles
    (``ends[d]``: where document ``d``'s titles end in the field of ``terms``), holds every
    one of ``terms`` with ``stands(position lists)`` true, and the best of their scores of
    ``terms``. Shared by :func:`runs_in_body` and :func:`fragment_in_body`. Bounded like
    :func:`proximity`: past ranking.PROXIMITY_MAX_LOOKUPS look-ups or
    ranking.PROXIMITY_MAX_POSITIONS positions the documents left are taken not to hold it."""
    probes = [(k, terms[k].start, terms[k].end) for k in _by_rarity(terms)]
    budget = [ranking.PROXIMITY_MAX_LOOKUPS, ranking.PROXIMITY_MAX_POSITIONS]
    held: list[int] = []
    top = 0.0
    for d in docs:
        found, poslists = _proximity_lists(terms, probes, d, budget)
        if poslists is None:
            if found is None:
                break  # over a budget
            continue
        trimmed = _past(poslists, ends[d])
        if all(trimmed) and stands(trimmed):
            held.append(d)
            top = max(top, sum(t.field.scores[i] for t, i in zip(terms, found, strict=True)))
    return held, top


def _stand_in_a_row(poslists: list) -> bool:
    """Whether the position lists ``poslists`` hold a position each, one right after the
    other (list ``i`` at the first's ``+ i``)."""
    starts = None
    for i, plist in enumerate(poslists):
        at = set(map(sub, plist, repeat(i)))
        starts = at if starts is None else starts & at
        if not starts:
            return False
    return True


def _runs_as_typed(poslists: list, cuts: list[int]) -> bool:
    """Whether the bigram lists ``poslists`` (the runs' bigrams in the order typed, run ``k``
    being lists ``cuts[k]:cuts[k + 1]``) stand one after another, each run right after the
    previous one: the grams field leaves one position between runs, and text of other
    scripts between them (a Latin word, punctuation) none."""
    starts = None
    for k, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False)):
        for i in range(lo, hi):
            at = set(map(sub, poslists[i], repeat(i + k)))
            starts = at if starts is None else starts & at
            if not starts:
                return False
    return True


def _typed_implies_near(clauses: list) -> bool:
    """Whether :func:`proximity`'s second clause (the words in order, one after another)
    holding in a document means its first (the same words near each other, in any order)
    does: the same terms, the first unordered with a slop of at least 1, the second ordered
    with slop 1 and no word typed twice. Each list's position is then right after the span of
    the lists before it (a distance of 1), a chain :func:`near` finds."""
    if len(clauses) < 2:
        return False
    (terms, slop, ordered, _, twice, _), (terms2, slop2, ordered2, _, twice2, _) = clauses[:2]
    return (
        terms2 is terms
        and twice is None
        and twice2 is None
        and not ordered
        and slop >= 1
        and ordered2
        and slop2 == 1
    )


def _proximity_lists(
    terms: list[_Term], probes: list[tuple[int, int, int]], doc: int, budget: list[int]
):
    """``(posting numbers, position lists)`` of ``terms`` in ``doc`` for :func:`proximity`;
    ``(posting numbers, None)`` when a term is missing; ``(None, None)`` when ``budget``
    (``[look-ups, positions]`` left, spent here) would be overrun. Terms are looked up in the
    order of ``probes`` (``(term number, start, end)``, rarest first) and positions read only
    when every term is there."""
    # _Term.find inlined: a long no-space query has dozens of bigrams, each looked up in every
    # candidate document.
    fdocs = terms[0].field.docs
    found = [-1] * len(terms)
    for k, lo, hi in probes:
        if budget[0] <= 0:
            return None, None
        budget[0] -= 1
        j = bisect_left(fdocs, doc, lo, hi)
        if j == hi or fdocs[j] != doc:
            return found, None
        found[k] = j
    # FieldPostings.positions_at inlined (every term is of one field): views, nothing copied.
    field = terms[0].field
    pos_off, positions = field.pos_off, field.positions
    poslists = [positions[pos_off[j] : pos_off[j + 1]] for j in found]
    need = sum(map(len, poslists))
    if need > budget[1]:
        return None, None
    budget[1] -= need
    return found, poslists


# --- The relaxed pass and spelling correction -------------------------------------------------
#
# The relaxed pass scores like Whoosh running helpapi.query.relaxed_query (Or of per-unit
# clauses with coordination scale ranking.RELAXED_SCALE, title boosts through AndMaybe), with three
# Whoosh implementation details left out on purpose (tests/test_engine_relaxed.py compares with
# Whoosh set up the same way):
#
# * Whoosh's collector replaces its matcher tree every 10 matches and its coordination wrapper
#   then recounts the query's terms without the posting lists already used up, so a document's
#   score depended on its document number. Here the term count is the query's, fixed.
# * On an index of at most 5,000 documents, Whoosh pre-scores an Or of more than two clauses in
#   an array whose terms it never counts as matching. Here every matching term counts.
# * A one-typo word's expansions are scored by BM25F like any term (Whoosh scored each 1, or by
#   BM25F when it expanded to one term only).


class _Leaf:
    """One term (or phrase of ``nterms`` terms) of a relaxed clause: ``{doc: score}``."""

    __slots__ = ("scores", "nterms", "filtered")

    def __init__(self, scores, nterms: int = 1, filtered: bool = False):
        # ``filtered``: every document of ``scores`` is already in the pass's filter (a phrase
        # checked in allowed documents only): not tested against it again.
        self.scores, self.nterms, self.filtered = scores, nterms, filtered


class _Or:
    """An Or of leaves and Ors, with Whoosh's coordination bonus when ``scale`` is set."""

    __slots__ = ("children", "scale")

    def __init__(self, children: list, scale: float | None = None):
        self.children, self.scale = children, scale


def _term_leaf(field: FieldPostings, term: str) -> list:
    t = _term(field, term)
    return [] if t is None else [_Leaf(t)]


def _expansion_leaves(field: FieldPostings, prefix: str) -> list:
    tids = pick_expansions(range(*field.prefix_range(prefix)), field.doc_frequency)
    return [_Leaf(_Term(field, tid)) for tid in tids]


def _gram_leaves(
    grams_field: FieldPostings,
    grams: tuple[str, ...],
    allowed=None,
    checked: bool = True,
    tables=None,
) -> list:
    """Leaves of helpapi.query._gram_query (a phrase's checked in ``allowed`` only). A phrase
    not ``checked`` (over the pass's budget, :func:`_checked_pieces`) is taken to match no
    document; it still counts its terms, as a phrase checked and not found does. ``tables``:
    see :func:`_pair_docs`."""
    if len(grams) == 1:
        if len(grams[0]) == 1:
            return _expansion_leaves(grams_field, grams[0])
        return _term_leaf(grams_field, grams[0])
    # Each bigram looked up once: for the test and for the phrase.
    terms = [_term(grams_field, g) for g in grams]
    if any(t is None for t in terms):
        return []
    if not checked:
        return [_Leaf({}, len(grams))]
    phrase = _phrase(grams_field, grams, allowed=allowed, tables=tables, terms=terms)
    return [_Leaf(phrase, len(grams), filtered=allowed is not None)]


def _run_pieces(grams: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The phrases the relaxed pass checks for a run of ``grams``: none for one bigram, the
    run itself for two, else each pair of neighbouring bigrams (:func:`_relaxed_run`)."""
    if len(grams) < 3:
        return [grams] if len(grams) == 2 else []
    return [grams[i : i + 2] for i in range(len(grams) - 1)]


def _run_reads(grams_field: FieldPostings, grams: tuple[str, ...]) -> list[int]:
    """At most what the relaxed check of each piece of a run of ``grams`` reads
    (:func:`_run_pieces`, in their order): each bigram's postings (the rarer one walked, the
    other probed or read into a table) and positions (read in the documents holding both).
    0 for a piece with a bigram the index lacks: no check is made. Each bigram is looked up
    once (neighbouring pieces share one)."""
    if len(grams) < 2:
        return []
    pos_off = grams_field.pos_off
    each: dict[str, int | None] = {}
    for g in grams:
        if g not in each:
            tid = grams_field.term_id(g)
            if tid < 0:
                each[g] = None
            else:
                start, end = grams_field.span(tid)
                each[g] = end - start + pos_off[end] - pos_off[start]
    reads = [each[g] for g in grams]
    return [0 if a is None or b is None else a + b for a, b in zip(reads, reads[1:], strict=False)]


# Bigrams of the runs whose piece reads one field remembers (cleared when more would be
# held): relaxed_units' budget (Frequencies.cost) and the pieces engine.relaxed checks ask for
# the same runs, and each keystroke of a query being typed asks again. Counted in bigrams, not
# runs: a 256-character query's run is 255 of them (31 KB remembered), and a worker keeps one
# memo per locale.
RUN_READS_MEMO_GRAMS = 16384


def run_reads(grams_field: FieldPostings, grams: tuple[str, ...]) -> list[int]:
    """:func:`_run_reads`, computed once per run while ``grams_field``'s memo keeps it."""
    memo = getattr(grams_field, "run_reads_memo", None)
    if memo is None:
        memo = grams_field.run_reads_memo = {}
        grams_field.run_reads_held = 0
    reads = memo.get(grams)
    if reads is None:
        reads = _run_reads(grams_field, grams)
        if len(grams) <= RUN_READS_MEMO_GRAMS:
            if grams_field.run_reads_held + len(grams) > RUN_READS_MEMO_GRAMS:
                memo.clear()
                grams_field.run_reads_held = 0
            memo[grams] = reads
            grams_field.run_reads_held += len(grams)
    return reads


def _checked_pieces(mem: MemIndex, units: list[Unit]) -> dict[int, set[int]]:
    """``{unit: {piece, ...}}``, indexes of the run pieces one relaxed pass checks: the cheapest
    first (:func:`_run_reads`) while together they read at most ranking.RELAXED_MAX_RUN_READS
    entries per document. helpapi.query.relaxed_units already keeps the units within that budget
    (Frequencies.cost counts the pieces); this bounds the rest by construction: the one unit
    kept when none fits (a long run of frequent bigrams) and a call without a budget. The
    runs' reads are those Frequencies.cost used (:func:`run_reads`), not computed again."""
    grams = mem.fields["grams"]
    charges = sorted(
        (charge, i, k)
        for i, u in enumerate(units)
        if u.kind == "run"
        for k, charge in enumerate(run_reads(grams, u.grams))
    )
    volume = ranking.RELAXED_MAX_RUN_READS * mem.doc_count
    out: dict[int, set[int]] = {}
    spent = 0
    for charge, i, k in charges:
        if spent + charge > volume:
            break
        spent += charge
        out.setdefault(i, set()).add(k)
    return out


def _relaxed_word(mem: MemIndex, unit: Unit) -> _Or:
    text, stems = mem.fields["text"], mem.fields["stems"]
    if unit.prefix:
        leaves = _expansion_leaves(stems, unit.stem) + _expansion_leaves(text, unit.term)
    elif stems.term_id(unit.stem) >= 0 or len(unit.stem) < ranking.RELAXED_TYPO_MIN_CHARS:
        leaves = _term_leaf(stems, unit.stem) + _term_leaf(text, unit.term)
    else:
        # Unknown word of some length: one typo allowed, anchored on its first letter.
        leaves = [
            _Leaf(_Term(stems, tid))
            for tid in mem.fuzzy["stems"].within(unit.stem, ranking.RELAXED_TYPO_EDITS)
        ]
    return _Or(leaves)


def _relaxed_run(mem: MemIndex, unit: Unit, allowed=None, checked=None, tables=None) -> _Or:
    """A run's relaxed clause; ``checked`` holds the indexes of its pieces (:func:`_run_pieces`)
    that are checked (:func:`_checked_pieces`), all when None; ``tables``: see
    :func:`_pair_docs`."""
    grams = mem.fields["grams"]
    if len(unit.grams) < 3:
        check = len(unit.grams) < 2 or checked is None or 0 in checked
        return _Or(_gram_leaves(grams, unit.grams, allowed, check, tables))
    pieces = _run_pieces(unit.grams)
    leaves = [
        _Or(_gram_leaves(grams, p, allowed, checked is None or k in checked, tables))
        for k, p in enumerate(pieces)
    ]
    return _Or(leaves, scale=ranking.RELAXED_SCALE)


def _nterms(node) -> int:
    if isinstance(node, _Leaf):
        return node.nterms
    return sum(_nterms(c) for c in node.children)


def _evaluate(node, ndocs: int, allowed=None) -> tuple:
    """``(docs, scores, counts)`` of a relaxed clause: aligned sequences, one entry per
    matching document (its score, its number of matching terms; a leaf gives one int for all).

    The sums are made in dense per-document lists, not dicts: a clause of stop words touches
    every document, and a flood of them must stay cheap (bench/hostile.py). Each document's
    score is added child by child in the same order as before (and ``0.0 + s`` is ``s``), so
    the floats are the same. ``allowed`` (a filter's set of documents) drops the other
    documents at the leaves, at C speed, before any sum is made. The documents come in no
    particular order (the caller ranks them).
    """
    if isinstance(node, _Leaf):
        scores = node.scores
        if isinstance(scores, _Term):
            f = scores.field
            docs, vals = f.docs[scores.start : scores.end], f.scores[scores.start : scores.end]
            if allowed is None:
                return docs.tolist(), vals.tolist(), node.nterms
        else:
            docs, vals = list(scores), list(scores.values())
            if allowed is None or node.filtered:
                return docs, vals, node.nterms
        # The mapped views are read once, straight into the kept documents (no copy first).
        keep = list(map(allowed.__contains__, docs))
        return list(compress(docs, keep)), list(compress(vals, keep)), node.nterms
    kids = [(c, n) for c in node.children if (n := _nterms(c))]
    if len(node.children) == 1 and kids:
        # Whoosh builds no Or (nor coordination) around a single clause.
        return _evaluate(kids[0][0], ndocs, allowed)
    acc = [0.0] * ndocs
    count = [0] * ndocs
    touched: set = set()
    for kid, _ in kids:
        docs, vals, matched = _evaluate(kid, ndocs, allowed)
        touched.update(docs)
        if isinstance(matched, int):
            for d, s in zip(docs, vals, strict=True):
                acc[d] += s
                count[d] += matched
        else:
            for d, s, c in zip(docs, vals, matched, strict=True):
                acc[d] += s
                count[d] += c
    out = list(touched)
    sums = [acc[d] for d in out]
    counts = [count[d] for d in out]
    termcount = sum(n for _, n in kids)
    if node.scale and termcount:
        # whoosh.matching.CoordMatcher's SQR: favour documents matching more of the terms.
        factor = (termcount - 1) / termcount
        square = (termcount - node.scale) ** 2
        sums = [(s + (c - 1) / square) * factor for s, c in zip(sums, counts, strict=True)]
    return out, sums, counts


def _ranked(found: dict) -> list[tuple[int, float]]:
    """``found``'s items best first (ties by document number): by document number, then
    stably by score, highest first (``reverse`` keeps equal scores in their order); two
    sorts on plain keys, no key tuples compared (a relaxed pass ranks a thousand matches)."""
    order = sorted(found)
    items = list(zip(order, map(found.__getitem__, order), strict=True))
    items.sort(key=itemgetter(1), reverse=True)
    return items


def relaxed(
    mem: MemIndex, units: list[Unit], allowed=None, *, ranks: bool = True
) -> list[tuple[int, float]]:
    """``(docnum, score)`` of every document matching any unit, best first; only documents
    in ``allowed`` when it is not None. ``ranks=False``: the same matches in no order,
    without boosts (see :func:`strict`).

    :func:`helpapi.query.relaxed_query`'s matches and scores (see the notes above).
    """
    if allowed is not None and not allowed:
        return []
    # A run's phrase leaves check positions only in allowed documents (the cost that made a
    # filtered search slow when the filter removed every strict match); term leaves are
    # masked below. A phrase leaf counts its terms whether or not it matched, so the
    # coordination and the scores stay those of the whole-locale pass.
    # The runs' phrase checks read at most a budget of entries, the cheapest first.
    checked = _checked_pieces(mem, units)
    # The bigrams' document tables, shared by the runs' pieces (a bigram is in two). Not in a
    # filtered pass: the rarer bigram's allowed documents, walked, cost less than its table.
    tables: dict | None = {} if allowed is None else None
    parts = [
        _relaxed_word(mem, u)
        if u.kind == "word"
        else _relaxed_run(mem, u, allowed, checked.get(i, ()), tables)
        for i, u in enumerate(units)
    ]
    if not parts:
        return []
    docs, sums, _ = _evaluate(_Or(parts, scale=ranking.RELAXED_SCALE), mem.doc_count, allowed)
    if not docs:
        return []
    if not ranks:
        return list(zip(docs, sums, strict=True))
    # Every leaf was restricted to ``allowed`` above: no document to drop here.
    found = dict(zip(docs, sums, strict=True))
    _add_boosts(found, _boosts(mem, units, "", allowed, relaxed=True))
    return _ranked(found)


def _add_boosts(found: dict, clauses: list) -> None:
    """Add each clause's score to the documents of ``found`` it matches, clause by clause
    (the order of the additions, so the floats, of a loop over each clause's documents). A
    clause with more documents than ``found`` is probed for ``found``'s documents instead of
    read whole: a common title word's clause costs the matches, not its postings."""
    for clause in clauses:
        if type(clause) is _Term and len(clause) > len(found):
            found.update(clause.added(found))  # same keys: found's order is kept
        elif len(clause) <= len(found) or not hasattr(clause, "prober"):
            for d, s in clause.items():
                if d in found:
                    found[d] += s
        else:
            probe = clause.prober(len(found))
            for d, s in found.items():
                x = probe(d)
                if x is not None:
                    found[d] = s + x


class Frequencies:
    """``reader.doc_frequency`` over a :class:`MemIndex`, for helpapi.query's bounding rules."""

    def __init__(self, mem: MemIndex):
        self.mem = mem

    def doc_frequency(self, field: str, term: str) -> int:
        """How many documents hold ``term`` in ``field`` (0 when none does). Through the
        clause memo (:func:`_term`): the same look-up the passes make next, and one bound over
        what every field remembers (a flood's words asked in field after field)."""
        clause = _term(self.mem.fields[field], term)
        return 0 if clause is None else len(clause)

    def _expanded(self, field: str, prefix: str) -> int:
        f = self.mem.fields[field]
        return sum(
            map(f.doc_frequency, pick_expansions(range(*f.prefix_range(prefix)), f.doc_frequency))
        )

    def cost(self, unit: Unit) -> float:
        """Postings the relaxed pass reads whole for ``unit`` (its leaves in :func:`relaxed`):
        a word's stem and word, a prefix's completions, a one-bigram run's bigram or a lone
        character's completions; for a longer run, what its phrase checks read at most
        (:func:`_run_reads`: postings and positions). Not counted: a mistyped
        word's one-typo forms (bounded by the fuzzy table)."""
        if unit.kind == "word":
            if unit.prefix:
                return self._expanded("stems", unit.stem) + self._expanded("text", unit.term)
            return self.doc_frequency("stems", unit.stem) + self.doc_frequency("text", unit.term)
        if len(unit.grams) > 1:
            # In postings' worth: a run reading as much as a pass allows
            # (ranking.RELAXED_MAX_RUN_READS) costs the whole budget (RELAXED_MAX_VOLUME).
            reads = sum(run_reads(self.mem.fields["grams"], unit.grams))
            return reads * ranking.RELAXED_MAX_VOLUME / ranking.RELAXED_MAX_RUN_READS
        if len(unit.grams[0]) == 1:
            return self._expanded("grams", unit.grams[0])
        return self.doc_frequency("grams", unit.grams[0])


def swaps(term: str) -> list[str]:
    """``term`` with two neighbouring letters swapped, each way it differs: the commonest typo
    of a fast typist, in every script (one edit for :func:`helpapi.query.osa_distance`)."""
    return [
        term[:i] + term[i + 1] + term[i] + term[i + 2 :]
        for i in range(len(term) - 1)
        if term[i] != term[i + 1]
    ]


def best_correction(mem: MemIndex, term: str) -> str | None:
    """helpapi.query's best spelling correction of ``term``, from the fuzzy table.

    The nearest candidate (:func:`helpapi.query.osa_distance`), then the most frequent, then
    the first met: the fuzzy table's Levenshtein candidates in term order, then the swaps of
    neighbours that it lacks (one edit for osa_distance, two for Levenshtein) in the word's
    order. One edit is looked up first (:meth:`~helpapi.memindex.FuzzyTable.one_edit`, most
    typos are one slip): any candidate there beats every two-edit one, so a long word's
    two-edit look-up (16 keys rather than 6, most of a typo query's time in correction) is
    made only when it finds none. The same answer as looking every candidate up at once."""
    if len(term) > ranking.MAX_CORRECTED_CHARS:
        return None
    limit = correction_limit(term)
    text = mem.fields["text"]
    fuzzy = mem.fuzzy["text"]
    near = fuzzy.one_edit(term)
    # The swap of the first two letters is looked up directly (the table's candidates start
    # with the word's first letter); one_edit holds every later swap (see there).
    first = []
    if len(term) > 1 and term[0] != term[1]:
        swapped = term[1] + term[0] + term[2:]  # swaps(term)[0]
        tid = text.term_id(swapped)
        first = [(tid, swapped)] if tid >= 0 else []
    if limit >= 2:
        # The two-edit candidates hold the later swaps, in term order; the first letters'
        # swap comes last. Nothing at one edit: the two-edit look-up.
        cands = [*near, *first]
        near_only = bool(cands)
        if not near_only:
            cands = [(tid, text.term(tid)) for tid in fuzzy.within(term, limit)]
    else:
        # The Levenshtein candidates in term order, then the swaps in the word's order.
        turned = swaps(term)
        at = {cand: i for i, cand in enumerate(turned)}
        cands = [(tid, cand) for tid, cand in near if cand not in at]
        cands += sorted(first + [x for x in near if x[1] in at], key=lambda x: at[x[1]])
        near_only = True
    best, best_key, best_tid = None, None, -1
    for tid, cand in cands:
        # A one-edit candidate (or the first letters' swap) is 1 away, or 0 when it is the
        # word: its distance is known without a call.
        dist = (0 if cand == term else 1) if near_only else osa_distance(term, cand, limit)
        key = (dist, -text.doc_frequency(tid))
        if best_key is None or key < best_key:
            best, best_key, best_tid = cand, key, tid
    if best is not None:
        # The corrected query's strict pass looks the correction up next: its number is
        # known here (a term look-up saved, first seen, so with the caches cold).
        remember_term(text, best, best_tid)
    return best
