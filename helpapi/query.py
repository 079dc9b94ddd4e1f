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
import re

from whoosh import query as wq

from .analysis import GRAM_RUN
from .analysis import clean_text
from .analysis import normalize_term
from .analysis import run_bigrams
from .analysis import stems_analyzer
from .analysis import words_analyzer
from .schema import ENGLISH

TITLE_BOOST = 2.5
ENGLISH_TITLE_BOOST = 2.0
PROXIMITY_BOOST = 1.5
# How many index terms a word being typed may expand to: bounds the cost of a prefix query.
MAX_PREFIX_EXPANSION = 32
_QUOTED = re.compile(r'"([^"]+)"')


@dataclasses.dataclass
class Unit:
    """One searchable piece of the user's text."""

    kind: str  # "word" or "run"
    text: str  # surface form as typed (for highlighting)
    term: str = ""  # word: normalized as the locale's index normalizes it
    english: str = ""  # word: normalized as the English fields normalize it
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
                english=normalize_term(surface),
                stem=stemmed[0] if stemmed else tok.text,
                phrase=phrase,
            )
        )
    return units


def _units_of(text: str, locale: str, phrase: int) -> list[Unit]:
    units, pos = [], 0
    for match in GRAM_RUN.finditer(text):
        units += _word_units(text[pos : match.start()], locale, phrase)
        run = match.group()
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
    return units


class Fields:
    """Which fields a locale's index searches (en-US has no separate English fields)."""

    def __init__(self, locale: str):
        self.english = locale != ENGLISH


def _expand(reader, field: str, prefix: str) -> list[str]:
    """Up to MAX_PREFIX_EXPANSION index terms starting with ``prefix``, most frequent first."""
    terms = []
    for i, term in enumerate(reader.expand_prefix(field, prefix)):
        if i >= 4 * MAX_PREFIX_EXPANSION:
            break
        terms.append(term.decode("utf-8") if isinstance(term, bytes) else term)
    if len(terms) > MAX_PREFIX_EXPANSION:
        terms.sort(key=lambda t: -reader.doc_frequency(field, t))
        terms = terms[:MAX_PREFIX_EXPANSION]
    return terms


def _term_or_prefix(reader, field, text, prefix, boost=1.0):
    if not prefix:
        return [wq.Term(field, text, boost=boost)]
    return [wq.Term(field, t, boost=boost) for t in _expand(reader, field, text)]


def _word_query(unit: Unit, fields: Fields, reader) -> wq.Query:
    p = unit.prefix
    parts = _term_or_prefix(reader, "title", unit.term, p, TITLE_BOOST)
    parts += _term_or_prefix(reader, "body", unit.term, p)
    if fields.english:
        parts += _term_or_prefix(reader, "english_title", unit.english, p, ENGLISH_TITLE_BOOST)
        parts += _term_or_prefix(reader, "english_body", unit.english, p)
    return wq.Or(parts) if parts else wq.NullQuery


def _gram_query(field: str, grams: tuple[str, ...], reader, boost=1.0) -> wq.Query:
    if len(grams) == 1:
        gram = grams[0]
        if len(gram) == 1:
            # One character: it is a unigram when alone, else the start of some bigram.
            expanded = _expand(reader, field, gram)
            return wq.Or([wq.Term(field, t, boost=boost) for t in expanded] or [wq.NullQuery])
        return wq.Term(field, gram, boost=boost)
    return wq.Phrase(field, list(grams), boost=boost)


def _run_query(unit: Unit, reader) -> wq.Query:
    return wq.Or(
        [
            _gram_query("title_grams", unit.grams, reader, TITLE_BOOST),
            _gram_query("body_grams", unit.grams, reader),
        ]
    )


def _phrase_queries(units: list[Unit]) -> list[wq.Query]:
    """Required phrases for quoted text (word units only; runs are phrases already)."""
    out = []
    for n in sorted({u.phrase for u in units if u.phrase >= 0}):
        words = [u.term for u in units if u.phrase == n and u.kind == "word"]
        if len(words) > 1:
            out.append(wq.Or([wq.Phrase("title", words), wq.Phrase("body", words)]))
    return out


def _proximity(units: list[Unit]) -> wq.Query | None:
    """Optional boost for documents where the query's words stand close together."""
    words = [u.term for u in units if u.kind == "word" and not u.prefix]
    if len(words) < 2:
        return None
    slop = len(words) + 2
    return wq.Or(
        [
            wq.Phrase("title", words, slop=slop, boost=PROXIMITY_BOOST * TITLE_BOOST),
            wq.Phrase("body", words, slop=slop, boost=PROXIMITY_BOOST),
        ]
    )


def strict_query(units: list[Unit], locale: str, reader) -> wq.Query:
    """Every unit required; proximity of the words boosts the score."""
    fields = Fields(locale)
    required = [
        _word_query(u, fields, reader) if u.kind == "word" else _run_query(u, reader) for u in units
    ]
    required += _phrase_queries(units)
    if not required:
        return wq.NullQuery
    main = required[0] if len(required) == 1 else wq.And(required)
    boost = _proximity(units)
    return wq.AndMaybe(main, boost) if boost is not None else main


def _relaxed_word(unit: Unit, fields: Fields, reader) -> wq.Query:
    parts = []
    for field, boost in (("title_stems", TITLE_BOOST), ("body_stems", 1.0)):
        if unit.prefix:
            parts += [wq.Term(field, t, boost=boost) for t in _expand(reader, field, unit.stem)]
        elif reader.doc_frequency(field, unit.stem) or len(unit.stem) < 5:
            parts.append(wq.Term(field, unit.stem, boost=boost))
        else:
            # Unknown word of some length: allow one typo, anchored on its first letter.
            parts.append(
                wq.FuzzyTerm(field, unit.stem, boost=boost * 0.8, maxdist=1, prefixlength=1)
            )
    if fields.english:
        parts.append(wq.Term("english_body", unit.english))
        parts.append(wq.Term("english_title", unit.english, boost=ENGLISH_TITLE_BOOST))
    return wq.Or(parts)


def _relaxed_run(unit: Unit, reader) -> wq.Query:
    if len(unit.grams) < 3:
        return _run_query(unit, reader)
    # A long fragment with a wrong or inflected character: some three-character piece of it
    # still matches; documents holding more pieces rank first.
    pieces = [unit.grams[i : i + 2] for i in range(len(unit.grams) - 1)]
    return wq.Or(
        [wq.Phrase("body_grams", list(p)) for p in pieces]
        + [wq.Phrase("title_grams", list(p), boost=TITLE_BOOST) for p in pieces],
        scale=0.9,
    )


def relaxed_query(units: list[Unit], locale: str, reader) -> wq.Query:
    """Any unit may match (more matching units rank higher): stems, folding, one typo."""
    fields = Fields(locale)
    parts = [
        _relaxed_word(u, fields, reader) if u.kind == "word" else _relaxed_run(u, reader)
        for u in units
    ]
    if not parts:
        return wq.NullQuery
    return wq.Or(parts, scale=0.9)
