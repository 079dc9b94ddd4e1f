"""Turn user text into Whoosh queries, never through Whoosh's query language.

User text is split into *units*: a word (ICU word breaking, same normalization as the index) or
a run of a script written without spaces (searched as a phrase of character bigrams, so that a
fragment cut inside a word still matches). Quoted text becomes a phrase. Operators such as
``title:x``, ``*``, ``AND`` or ``x~5`` are plain words here.

Two passes (see :func:`strict_query` and :func:`relaxed_query`):

* strict: every unit must match (in the localized or the English fields); documents whose words
  stand close together rank first. Cheap, precise, and what answers almost every query.
* relaxed: only when strict finds nothing. Stemmed, accent-folded fields, one typo allowed in
  longer words, and any unit may be missing (coordination favours documents matching most).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable
from collections.abc import Iterable

from whoosh import query as wq
from whoosh.query.spans import SpanNear2

from . import ranking
from .analysis import GRAM_RUN
from .analysis import clean_text
from .analysis import normalize_term
from .analysis import run_bigrams
from .analysis import stems_analyzer
from .analysis import words_analyzer

_QUOTED = re.compile(r'"([^"]+)"')


@dataclasses.dataclass
class Unit:
    """One searchable piece of the user's text."""

    kind: str  # "word" or "run"
    text: str  # surface form as typed (for highlighting)
    term: str = ""  # word: normalized as the locale's index normalizes it
    stem: str = ""  # word: stemmed + folded (relaxed pass)
    grams: tuple[str, ...] = ()  # run: its bigrams, normalized
    phrase: int = -1  # index of the quoted phrase this unit belongs to, or -1
    prefix: bool = False  # the word is still being typed


def _word_units(text: str, locale: str, phrase: int) -> list[Unit]:
    words = words_analyzer(locale)
    stems = stems_analyzer(locale)
    units = []
    for tok in words(text, chars=True):
        surface = text[tok.startchar : tok.endchar]
        stemmed = [t.text for t in stems(surface)]
        units.append(
            Unit(
                "word",
                surface,
                term=tok.text,
                stem=stemmed[0] if stemmed else tok.text,
                phrase=phrase,
            )
        )
    return units


def _units_of(text: str, locale: str, phrase: int) -> list[Unit]:
    units, pos = [], 0
    for match in GRAM_RUN.finditer(text):
        units += _word_units(text[pos : match.start()], locale, phrase)
        whole = match.group()
        # A very long run is searched as pieces: each a phrase, together bounded by MAX_UNITS.
        for start in range(0, len(whole), ranking.MAX_RUN_CHARS):
            run = whole[start : start + ranking.MAX_RUN_CHARS]
            grams = tuple(normalize_term(g) for _, g in run_bigrams(run))
            units.append(Unit("run", run, grams=grams, phrase=phrase))
        pos = match.end()
    units += _word_units(text[pos:], locale, phrase)
    return units


def parse_user_text(text: str, locale: str, prefix: bool = False) -> list[Unit]:
    """Split user text into units; ``prefix`` marks a last word still being typed."""
    text = clean_text(text)
    units, pos, n_phrase = [], 0, 0
    for match in _QUOTED.finditer(text):
        units += _units_of(text[pos : match.start()], locale, -1)
        units += _units_of(match.group(1), locale, n_phrase)
        n_phrase += 1
        pos = match.end()
    units += _units_of(text[pos:], locale, -1)
    if prefix and units and text and not text[-1].isspace() and units[-1].kind == "word":
        units[-1].prefix = True
    return _bounded(units)


def _bounded(units: list[Unit]) -> list[Unit]:
    """Repeated units collapsed (first one kept; a word being typed stays last), at most
    ranking.MAX_UNITS of them: the cost of every later step follows the number of units."""
    seen: dict[tuple, int] = {}
    out: list[Unit] = []
    for u in units:
        key = (u.kind, u.term, u.grams, u.phrase)
        if key in seen:
            if u.prefix:
                out[seen[key]] = None  # the word being typed moves to the end
            else:
                continue
        seen[key] = len(out)
        out.append(u)
    return [u for u in out if u is not None][: ranking.MAX_UNITS]


def normalize_query(text: str) -> str:
    """``text`` as the index sees it, case and spacing aside: the result-cache key."""
    # normalize_term's own cache is for index words; a query string would only fill it.
    return " ".join(normalize_term.__wrapped__(clean_text(text)).split())


def pick_expansions(candidates: Iterable, doc_frequency: Callable[..., int]) -> list:
    """Which completions a prefix stands for: of the first candidates in term order, the
    ranking.MAX_PREFIX_EXPANSION most frequent (ties keep term order).

    Shared by the Whoosh queries and :mod:`helpapi.engine`, which must pick alike.
    """
    picked = list(itertools.islice(candidates, 4 * ranking.MAX_PREFIX_EXPANSION))
    if len(picked) > ranking.MAX_PREFIX_EXPANSION:
        picked.sort(key=lambda t: -doc_frequency(t))
        picked = picked[: ranking.MAX_PREFIX_EXPANSION]
    return picked


def _expand(reader, field: str, prefix: str) -> list[str]:
    """Up to MAX_PREFIX_EXPANSION index terms starting with ``prefix``, most frequent first."""
    terms = (
        t.decode("utf-8") if isinstance(t, bytes) else t
        for t in reader.expand_prefix(field, prefix)
    )
    return pick_expansions(terms, lambda t: reader.doc_frequency(field, t))


def _word_query(unit: Unit, reader, field: str = "text", boost: float = 1.0) -> wq.Query:
    if not unit.prefix:
        return wq.Term(field, unit.term, boost=boost)
    expanded = [wq.Term(field, t, boost=boost) for t in _expand(reader, field, unit.term)]
    return _scored_or(expanded) if expanded else wq.NullQuery


def _gram_query(field: str, grams: tuple[str, ...], reader, boost=1.0) -> wq.Query:
    if len(grams) == 1:
        gram = grams[0]
        if len(gram) == 1:
            # One character: it is a unigram when alone, else the start of some bigram.
            expanded = _expand(reader, field, gram)
            return _scored_or([wq.Term(field, t, boost=boost) for t in expanded] or [wq.NullQuery])
        return wq.Term(field, gram, boost=boost)
    return wq.Phrase(field, list(grams), boost=boost)


def _phrase_queries(units: list[Unit]) -> list[wq.Query]:
    """Required phrases for quoted text (word units only; runs are phrases already)."""
    out = []
    for n in sorted({u.phrase for u in units if u.phrase >= 0}):
        words = [u.term for u in units if u.phrase == n and u.kind == "word"]
        if len(words) > 1:
            out.append(wq.Phrase("text", words))
    return out


def _title_boosts(units: list[Unit], reader) -> list[wq.Query]:
    """Optional clauses on the (short) title fields: cheap enough to score for every match."""
    out = []
    words = [u.term for u in units if u.kind == "word" and not u.prefix]
    if len(words) >= 2:
        # Order-free: users reorder keywords.
        out.append(wq.And([wq.Term("title", w) for w in words], boost=ranking.TITLE_BOOST))
    elif len(words) == 1:
        out.append(wq.Term("title", words[0], boost=ranking.TITLE_BOOST))
    runs = [u for u in units if u.kind == "run"]
    out += [_gram_query("title_grams", u.grams, reader, ranking.RUN_TITLE_BOOST) for u in runs]
    return out


def proximity_query(units: list[Unit]) -> wq.Query | None:
    """Optional clauses on word positions in the text: the query's words standing close.

    Position checks are the costliest part of a search, so they re-rank only the best
    candidates of the first stage (see :func:`helpapi.search.run_query`).
    """
    out = []
    words = [u.term for u in units if u.kind == "word" and not u.prefix]
    if len(words) >= 2:
        span = SpanNear2(
            [wq.Term("text", w) for w in words],
            slop=len(words) + ranking.PROXIMITY_SLOP_EXTRA,
            ordered=False,
        )
        # Whoosh's SpanNear2 matcher ignores this boost (it scores 1.0x); the ranking was tuned
        # that way and helpapi.engine reproduces it. Kept to show the intent for a re-tune.
        span.boost = ranking.PROXIMITY_BOOST
        out.append(span)
        out.append(wq.Phrase("text", words, slop=ranking.EXACT_SLOP, boost=ranking.EXACT_BOOST))
    runs = [u for u in units if u.kind == "run"]
    if len(runs) >= 2:
        # Runs separated by punctuation or Latin words: reward them standing close together.
        grams = [g for u in runs for g in u.grams]
        out.append(
            wq.Phrase(
                "grams", grams, slop=ranking.RUN_PROXIMITY_SLOP, boost=ranking.PROXIMITY_BOOST
            )
        )
    return wq.Or(out) if out else None


def _title_equals(key: str) -> list[wq.Query]:
    if not key:
        return []
    return [
        wq.Term("title_key", key, boost=ranking.SAME_TITLE_BOOST),
        wq.Term("english_title_key", key, boost=ranking.SAME_TITLE_BOOST),
    ]


def strict_query(units: list[Unit], reader, key: str = "") -> wq.Query:
    """Every unit required (one field each: cheap to intersect); boosts only re-rank."""
    required = [
        _word_query(u, reader) if u.kind == "word" else _gram_query("grams", u.grams, reader)
        for u in units
    ]
    required += _phrase_queries(units)
    if not required:
        return wq.NullQuery
    main = required[0] if len(required) == 1 else wq.And(required)
    boosts = _title_boosts(units, reader) + _title_equals(key)
    return wq.AndMaybe(main, wq.Or(boosts)) if boosts else main


def osa_distance(a: str, b: str, limit: int = 2) -> int:
    """Edit distance counting a swap of two neighbours as one edit (optimal string alignment).

    Returns ``limit + 1`` as soon as the distance is known to exceed ``limit``.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def correction_limit(term: str) -> int:
    """How many edits a correction of ``term`` may make: one, two for long words."""
    if len(term) < ranking.CORRECTION_LONG_WORD:
        return ranking.CORRECTION_EDITS
    return ranking.CORRECTION_EDITS_LONG


def _best_correction(reader, term: str) -> str | None:
    """The most frequent indexed word one edit (two for long words) from ``term``.

    :func:`helpapi.engine.best_correction` answers the same from the postings file.
    """
    if len(term) > ranking.MAX_CORRECTED_CHARS:
        return None
    limit = correction_limit(term)
    best, best_key = None, None
    # Candidates share the first letter: typos there are rare, and it bounds the scan.
    for cand in reader.terms_within("text", term, limit, prefix=1):
        dist = osa_distance(term, cand, limit)
        if dist > limit:
            continue
        key = (dist, -reader.doc_frequency("text", cand))
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return best


def corrected_units(
    units: list[Unit], reader, correct: Callable[[str], str | None] | None = None
) -> list[Unit] | None:
    """Units with each unknown word replaced by its best spelling correction, if any changed.

    Nothing is corrected when more than ranking.MAX_CORRECTIONS words are unknown: that is text the
    index does not hold, not a slip, and each correction scans part of the term list.
    ``reader`` only needs ``doc_frequency``; ``correct`` finds a word's correction (default:
    Whoosh's term list, through ``reader``).
    """
    if correct is None:
        correct = lambda term: _best_correction(reader, term)  # noqa: E731
    unknown = [
        u.kind == "word"
        and not u.prefix
        and len(u.term) >= ranking.MIN_CORRECTABLE
        and not u.term.isdigit()
        and not reader.doc_frequency("text", u.term)
        for u in units
    ]
    if sum(unknown) > ranking.MAX_CORRECTIONS:
        return None
    out, changed = [], False
    for u, fixable in zip(units, unknown, strict=True):
        if fixable:
            fix = correct(u.term)
            if fix:
                u = dataclasses.replace(u, term=fix, stem=fix)
                changed = True
        out.append(u)
    return out if changed else None


def corrected_text(text: str, units: list[Unit], fixed: list[Unit]) -> str:
    """``text`` as searched after :func:`corrected_units`: each corrected word's surface
    replaced by its correction, the rest kept as typed (for "Showing results for ...")."""
    out, pos = [], 0
    for before, after in zip(units, fixed, strict=True):
        if before.term == after.term or not before.text:
            continue
        at = text.find(before.text, pos)
        if at < 0:
            continue  # not where the units say (a repeat collapsed): leave the text alone
        out += [text[pos:at], after.term]
        pos = at + len(before.text)
    return "".join(out) + text[pos:]


def _scored_or(subqueries: list, scale: float | None = None) -> wq.Or:
    """An Or whose matcher counts every matching term for coordination (Whoosh otherwise
    pre-scores an Or of 3+ clauses on a small index, and never counts its terms)."""
    q = wq.Or(subqueries, scale=scale)
    q.matcher_type = wq.Or.DEFAULT_MATCHER
    return q


def _relaxed_word(unit: Unit, reader) -> wq.Query:
    if unit.prefix:
        return _scored_or(
            [wq.Term("stems", t) for t in _expand(reader, "stems", unit.stem)]
            + [_word_query(unit, reader)]
        )
    if reader.doc_frequency("stems", unit.stem) or len(unit.stem) < ranking.RELAXED_TYPO_MIN_CHARS:
        return _scored_or([wq.Term("stems", unit.stem), wq.Term("text", unit.term)])
    # Unknown word of some length: allow one typo, anchored on its first letter. Expanded here
    # (not wq.FuzzyTerm) so that each expansion scores by BM25F, as in helpapi.engine.
    near = sorted(reader.terms_within("stems", unit.stem, ranking.RELAXED_TYPO_EDITS, prefix=1))
    return _scored_or([wq.Term("stems", w) for w in near]) if near else wq.NullQuery


def _relaxed_run(unit: Unit, reader) -> wq.Query:
    if len(unit.grams) < 3:
        return _gram_query("grams", unit.grams, reader)
    # A long fragment with a wrong or inflected character: some three-character piece of it
    # still matches; documents holding more pieces rank first.
    pieces = [unit.grams[i : i + 2] for i in range(len(unit.grams) - 1)]
    return _scored_or([wq.Phrase("grams", list(p)) for p in pieces], scale=ranking.RELAXED_SCALE)


def relaxed_units(units: list[Unit], reader) -> list[Unit]:
    """At most ranking.RELAXED_MAX_UNITS of ``units``, the rarest in the index, in the order typed.

    In a pass where any word may miss, the rare words decide which documents rank first; the
    frequent ones cost the most to score and change the order least.
    """
    if len(units) <= ranking.RELAXED_MAX_UNITS:
        return units

    def frequency(u: Unit) -> int:
        if u.kind == "word":
            return 0 if u.prefix else reader.doc_frequency("text", u.term)
        return min(reader.doc_frequency("grams", g) for g in u.grams)

    ranked = sorted(range(len(units)), key=lambda i: (frequency(units[i]), i))
    keep = sorted(ranked[: ranking.RELAXED_MAX_UNITS])
    return [units[i] for i in keep]


def relaxed_query(units: list[Unit], reader) -> wq.Query:
    """Any unit may match (more matching units rank higher): stems, folding, one typo."""
    parts = [
        _relaxed_word(u, reader) if u.kind == "word" else _relaxed_run(u, reader) for u in units
    ]
    if not parts:
        return wq.NullQuery
    main = _scored_or(parts, scale=ranking.RELAXED_SCALE)
    boosts = _title_boosts(units, reader)
    return wq.AndMaybe(main, wq.Or(boosts)) if boosts else main
