"""Turn user text into search units, never through a query language.

User text is split into *units*: a word (ICU word breaking, same normalization as the index) or
a run of a script written without spaces (searched as a phrase of character bigrams, so that a
fragment cut inside a word still matches). Quoted text becomes a phrase. Operators such as
``title:x``, ``*``, ``AND`` or ``x~5`` are plain words here.

Two passes, run by :mod:`helpapi.engine` (the Whoosh queries they equal are the tests' oracle,
``tests/whoosh_oracle.py``):

* strict: every unit must match (in the localized or the English fields); documents whose words
  stand close together rank first. Cheap, precise, and what answers almost every query.
* relaxed: only when strict finds nothing. Stemmed, accent-folded fields, one typo allowed in
  longer words, and any unit may be missing (coordination favours documents matching most).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
import re
from collections.abc import Callable
from collections.abc import Iterable

import icu
from rapidfuzz.distance import OSA as _OSA

from . import ranking
from .analysis import _GRAM_SET
from .analysis import _NON_BMP
from .analysis import _PLAIN_RUN
from .analysis import _UBRK_WORD_NONE_LIMIT
from .analysis import GRAM_RUN
from .analysis import _char_class
from .analysis import clean_text
from .analysis import normalize_term
from .analysis import query_term_of
from .analysis import run_bigrams
from .analysis import stems_analyzer
from .analysis import words_analyzer

_QUOTED = re.compile(r'"([^"]+)"')


# A word unit's stem, made when first read (see _Stem).
_LAZY = object()


class _Stem:
    """``Unit.stem``, a descriptor field: a parsed word's stem is computed when first read.

    Stemming a word not seen before (Whoosh's Python Snowball stemmers, with the word
    re-tokenized by ICU) cost about half of a query's parsing, while the strict pass reads a
    stem only for a one-word query's title forms (ranking.TITLE_STEM_MAX_WORDS) and the
    relaxed pass, which few queries reach. Same value as computing it at parse time.
    """

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return ""  # the field's default (dataclasses reads it from the class)
        value = obj.__dict__[self.slot]
        if value is _LAZY:
            stem = _stem_of(obj.text, obj.locale)
            value = obj.__dict__[self.slot] = obj.term if stem is None else stem
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


@dataclasses.dataclass
class Unit:
    """One searchable piece of the user's text."""

    kind: str  # "word" or "run"
    text: str  # surface form as typed (for highlighting)
    term: str = ""  # word: normalized as the locale's index normalizes it
    stem: str = _Stem()  # word: stemmed + folded (relaxed pass); str, "" by default
    grams: tuple[str, ...] = ()  # run: its bigrams, normalized
    phrase: int = -1  # index of the quoted phrase this unit belongs to, or -1
    prefix: bool = False  # the word is still being typed
    locale: str = ""  # word: whose analyzers made it (to find the other forms of its stem)
    # Where the unit stands in the text as typed, repeats included (see typed_order): the
    # in-order checks need "des fichiers ou des dossiers" whole, scoring needs each word once.
    at: tuple[int, ...] = ()


@functools.lru_cache(maxsize=8192)
def _stem_of(surface: str, locale: str) -> str | None:
    """The relaxed pass's stem of one word as typed (its first stems token), or None.

    Cached: the stems chain re-tokenizes the word with ICU and runs every filter again, about
    half of a query's parsing, and the same words recur across queries.
    """
    for t in stems_analyzer(locale)(surface):
        return t.text
    return None


# Longer texts are analyzed each time (a cache of them would hold much memory for no gain).
_CACHED_CHARS = 256


@functools.lru_cache(maxsize=512)
def _cached_words(text: str, locale: str) -> tuple[tuple[str, int, int], ...]:
    return _locale_words(locale)(text)


# Words up to this long have their terms remembered (common words recur in most queries).
_CACHED_WORD = 48
# Terms remembered per locale (a miss costs ~0.5 us: analysis.query_term_of); the memo starts
# again when it holds more, so a flood of distinct words keeps it bounded.
_TERMS_KEPT = 2048


class _LocaleWords:
    """:func:`query_words` for one locale: ICU's words, each through the chain's filters
    alone (at query time every filter maps one token to one or none, by its text only: the
    index-time extra parts are not made), by :func:`helpapi.analysis.query_term_of`."""

    def __init__(self, locale: str):
        self._tokenizer = words_analyzer(locale).items[0]
        self._term = query_term_of(locale)
        self._terms: dict[str, str] = {}

    def __call__(self, text: str) -> tuple[tuple[str, int, int], ...]:
        if not text:
            return ()
        terms = self._terms
        if len(terms) > _TERMS_KEPT:
            terms.clear()
        get, term_of, out = terms.get, self._term, []
        if _NON_BMP.search(text):
            spans = self._tokenizer.segments(text)  # ICU's offsets are UTF-16 there
        else:
            # One pass over ICU's boundaries, as segments() makes them, without its list.
            # The iterator is this thread's; nothing below analyzes other text with it
            # before the loop ends (term_of never tokenizes).
            it = self._tokenizer.boundaries(text)
            status, prev, spans = it.getRuleStatus, it.first(), []
            for end in it:
                if status() >= _UBRK_WORD_NONE_LIMIT:
                    spans.append((prev, end))
                prev = end
        for a, b in spans:
            surface = text[a:b]
            term = get(surface)
            if term is None:
                term = term_of(surface)
                if len(surface) <= _CACHED_WORD:
                    terms[surface] = term
            if term:
                out.append((term, a, b))
        return tuple(out)


@functools.lru_cache(maxsize=256)
def _locale_words(locale: str) -> _LocaleWords:
    return _LocaleWords(locale)


def query_words(text: str, locale: str) -> tuple[tuple[str, int, int], ...]:
    """``(term, start, end)`` of each token of the locale's words chain over ``text``.

    Remembered for short texts: a search analyzes its text twice (its units, then its title
    key: :func:`query_title_key`), and the chain's Python filters cost more than ICU's breaking.
    """
    if len(text) > _CACHED_CHARS:
        return _cached_words.__wrapped__(text, locale)
    return _cached_words(text, locale)


def query_title_key(text: str, locale: str) -> str:
    """:func:`helpapi.analysis.title_key` of a query's text, from :func:`query_words`."""
    return " ".join(term for term, _, _ in query_words(clean_text(text), locale))


# A word unit's fields as Unit's __init__ sets them, its stem to be made when read (_Stem):
# each word of a query copies them with its own text, term, phrase and locale (the same
# object as Unit("word", ..., stem=_LAZY, ...) makes, without a Python call per field).
_WORD_FIELDS = Unit("word", "", stem=_LAZY).__dict__
_RUN_FIELDS = Unit("run", "").__dict__


def _word_units(text: str, locale: str, phrase: int) -> list[Unit]:
    out = []
    new = Unit.__new__
    for term, a, b in query_words(text, locale):
        u = new(Unit)
        # _WORD_FIELDS with this word's text, term, phrase and locale, written out in its order
        # (one dict display: a third less than copying the prototype's; tests/test_typo21.py
        # checks the keys and the other values against it).
        u.__dict__ = {
            "kind": "word",
            "text": text[a:b],
            "term": term,
            "_stem": _LAZY,
            "grams": (),
            "phrase": phrase,
            "prefix": False,
            "locale": locale,
            "at": (),
        }
        out.append(u)
    return out


# GRAM_RUN's characters in the Basic Multilingual Plane: the same runs in a text without
# characters outside it, found faster (GRAM_RUN's ranges past U+FFFF are tried one by one for
# each character that is not in its table; tests/test_parse20.py compares the two).
_GRAM_RUN_BMP = re.compile(
    "["
    + "".join(
        f"{re.escape(a)}-{re.escape(chr(min(ord(b), 0xFFFF)))}"
        for a, b in _GRAM_SET.ranges()
        if ord(a) <= 0xFFFF
    )
    + "]+"
)


def _runs_pattern(text: str) -> re.Pattern | None:
    """What finds ``text``'s runs of no-space scripts: None when it can hold none (ASCII)."""
    if text.isascii():
        return None
    return GRAM_RUN if _NON_BMP.search(text) else _GRAM_RUN_BMP


def _run_grams(run: str) -> tuple[str, ...]:
    if _PLAIN_RUN.fullmatch(run):
        # Kana and ideographs: each its own normalized form, no two compose (the build's
        # fast path, analysis.index_gram_pairs): the bigrams are normalized as they stand.
        return tuple([run[i : i + 2] for i in range(len(run) - 1)]) if len(run) > 1 else (run,)
    return tuple(normalize_term(g) for _, g in run_bigrams(run))


def _units_of(text: str, locale: str, phrase: int, runs: re.Pattern | None) -> list[Unit]:
    if runs is None:
        return _word_units(text, locale, phrase)
    units, pos = [], 0
    new = Unit.__new__
    for match in runs.finditer(text):
        between = text[pos : match.start()]
        if between and not between.isspace():  # spaces hold no word
            units += _word_units(between, locale, phrase)
        whole = match.group()
        # A very long run is searched as pieces: each a phrase, together bounded by MAX_UNITS.
        for start in range(0, len(whole), ranking.MAX_RUN_CHARS):
            run = whole[start : start + ranking.MAX_RUN_CHARS]
            # Unit("run", run, grams=..., phrase=phrase): _RUN_FIELDS written out, as
            # _word_units makes its units.
            u = new(Unit)
            u.__dict__ = {
                "kind": "run",
                "text": run,
                "term": "",
                "_stem": "",
                "grams": _run_grams(run),
                "phrase": phrase,
                "prefix": False,
                "locale": "",
                "at": (),
            }
            units.append(u)
        pos = match.end()
    if pos < len(text):
        units += _word_units(text[pos:], locale, phrase)
    return units


def parse_user_text(text: str, locale: str, prefix: bool = False) -> list[Unit]:
    """Split user text into units; ``prefix`` marks a last word still being typed."""
    text = clean_text(text)
    runs = _runs_pattern(text)
    units, pos, n_phrase = [], 0, 0
    if '"' in text:
        for match in _QUOTED.finditer(text):
            units += _units_of(text[pos : match.start()], locale, -1, runs)
            units += _units_of(match.group(1), locale, n_phrase, runs)
            n_phrase += 1
            pos = match.end()
    units += _units_of(text[pos:], locale, -1, runs)
    if prefix and units and text and not text[-1].isspace() and units[-1].kind == "word":
        units[-1].prefix = True
    return _bounded(units)


# What makes two units the same: one is kept (_bounded).
_KEY = operator.attrgetter("kind", "term", "grams", "phrase")


def _bounded(units: list[Unit]) -> list[Unit]:
    """Repeated units collapsed (first one kept; a word being typed stays last), at most
    ranking.MAX_LONE_CHARS lone no-space characters and ranking.MAX_UNITS units in all: the
    cost of every later step follows the number of units.

    Each kept unit's ``at`` lists its places in the typed order (:func:`typed_order`), repeats
    included while the text typed so far holds under ranking.MAX_UNITS units: a flood of one
    repeated phrase keeps at most that many places, as a query of distinct words does."""
    if len(set(map(_KEY, units))) == len(units) and (
        len(units) <= ranking.MAX_LONE_CHARS
        or sum(u.kind == "run" and len(u.text) == 1 for u in units) <= ranking.MAX_LONE_CHARS
    ):
        # No unit repeated and no lone character over the limit (most queries): each unit
        # kept, at its own place, as the loop below keeps them.
        for i, u in enumerate(units):
            u.at = (i,)
        return units[: ranking.MAX_UNITS]
    seen: dict[tuple, int] = {}
    out: list[Unit] = []
    places: list[list[int]] = []
    lone = typed = 0
    for u in units:
        if u.kind == "run" and len(u.text) == 1:
            lone += 1
            if lone > ranking.MAX_LONE_CHARS:
                continue
        key = _KEY(u)
        if key in seen:
            if u.prefix:
                out[seen[key]] = None  # the word being typed moves to the end
            else:
                if typed < ranking.MAX_UNITS:
                    places[seen[key]].append(typed)
                    typed += 1
                continue
        seen[key] = len(out)
        out.append(u)
        places.append([typed])
        typed += 1
    kept = [(u, p) for u, p in zip(out, places, strict=True) if u is not None]
    for u, p in kept:
        u.at = tuple(p)
    return [u for u, _ in kept][: ranking.MAX_UNITS]


def typed_order(units: list[Unit]) -> list[Unit]:
    """``units`` in the order typed, a repeated unit at each of its places (``Unit.at``).

    For the checks of words standing as typed (helpapi.engine.proximity's in-order clause):
    "Restaurer des fichiers ou des dossiers" is that text only with its second "des".
    Scoring and matching use ``units`` (each once). At most ranking.MAX_UNITS places, the
    first typed (the cost of a position check follows them); when those leave a unit out, or
    a unit was made without places (``at`` empty), each unit stands once, in list order."""
    if not all(u.at for u in units) or all(len(u.at) == 1 for u in units):
        return list(units)
    placed = sorted((p, i) for i, u in enumerate(units) for p in u.at)[: ranking.MAX_UNITS]
    if len({i for _, i in placed}) < len(units):
        return list(units)
    return [units[i] for _, i in placed]


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


def osa_distance(a: str, b: str, limit: int = 2) -> int:
    """Edit distance counting a swap of two neighbours as one edit (optimal string alignment).

    Returns ``limit + 1`` when the distance exceeds ``limit``. Computed by rapidfuzz (C++):
    the pure-Python table cost ~85 us a candidate, most of a spelling correction
    (``tests/test_engine_latency2.py`` compares the two).
    """
    return _OSA.distance(a, b, score_cutoff=limit)


def correction_limit(term: str) -> int:
    """How many edits a correction of ``term`` may make: one, two for long words."""
    if len(term) < ranking.CORRECTION_LONG_WORD:
        return ranking.CORRECTION_EDITS
    return ranking.CORRECTION_EDITS_LONG


def corrected_units(
    units: list[Unit], reader, correct: Callable[[str], str | None]
) -> list[Unit] | None:
    """Units with each unknown word replaced by its best spelling correction, if any changed.

    Nothing is corrected when more than ranking.MAX_CORRECTIONS words are unknown: that is text the
    index does not hold, not a slip, and each correction scans part of the term list.
    ``reader`` only needs ``doc_frequency``; ``correct`` finds a word's correction
    (:func:`helpapi.engine.best_correction`).
    """
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
                u = _corrected(u, fix)
                changed = True
        out.append(u)
    return out if changed else None


def _corrected(unit: Unit, term: str) -> Unit:
    """``dataclasses.replace(unit, term=term, stem=term)`` without its walk of the fields (a
    typo query corrects a word on each search): a copy of ``unit``'s fields, then those two."""
    out = Unit.__new__(Unit)
    out.__dict__.update(unit.__dict__)
    out.term = out.stem = term
    return out


def corrected_text(text: str, units: list[Unit], fixed: list[Unit]) -> str:
    """``text`` as searched after :func:`corrected_units`: each corrected word's surface
    replaced by its correction, the rest kept as typed (for "Showing results for ...")."""
    return replaced_text(text, replacements(text, units, fixed))


def replacements(text: str, units: list[Unit], fixed: list[Unit]) -> list[tuple[int, int, str]]:
    """``(start, end, correction)`` of each surface of ``text`` that :func:`corrected_text`
    replaces, in order."""
    out, pos = [], 0
    for before, after in zip(units, fixed, strict=True):
        if not before.text:
            continue
        at = text.find(before.text, pos)
        if at < 0:
            continue  # not where the units say (a repeat collapsed): leave the text alone
        # Past every unit found, changed or not: "outlook outloo" is not corrected inside
        # its first word.
        pos = at + len(before.text)
        if before.term != after.term:
            out.append((at, pos, after.term))
    return out


def replaced_text(text: str, replaced: list[tuple[int, int, str]]) -> str:
    """``text`` with the :func:`replacements` ``replaced`` made."""
    out, pos = [], 0
    for at, end, term in replaced:
        out += [text[pos:at], term]
        pos = end
    return "".join(out) + text[pos:]


# Letters that ICU's word rules join into one word with any letter of this set beside them
# and part from a space (Word_Break ALetter), outside the scripts broken by dictionary
# (Line_Break Complex_Context, Han, Hiragana, Katakana) and those searched as runs: a space,
# a word of these letters and a space are three segments whatever stands around them.
_PLAIN_LETTER_SET = icu.UnicodeSet(
    r"[[\p{Word_Break=ALetter}]-[\p{Line_Break=Complex_Context}]-[:Han:]-[:Hiragana:]"
    r"-[:Katakana:]-[\p{Extended_Pictographic}]]"
).removeAll(_GRAM_SET)
_PLAIN_WORD = re.compile(_char_class(_PLAIN_LETTER_SET) + "+")


def corrected_title_key(text: str, replaced: list[tuple[int, int, str]], locale: str) -> str | None:
    """:func:`query_title_key` of ``replaced_text(text, replaced)`` (``text`` cleaned, as
    :func:`helpapi.analysis.clean_text` leaves it), made from the words of ``text`` with each
    replaced word's term swapped, or None when that may not be the same key.

    The corrected text is not analyzed again (a typo query's second ICU pass and filter
    chain): each replaced surface and its correction must be words of plain letters
    (:data:`_PLAIN_WORD`) between spaces or the text's ends. Then both texts break into the
    same words but that one, each side its own (NFC-normalized already: a space composes with
    nothing), and the correction's term is its own word's term
    (:func:`helpapi.analysis.query_term_of`)."""
    end_of_text = len(text)
    for at, end, term in replaced:
        if (at and text[at - 1] != " ") or (end < end_of_text and text[end] != " "):
            return None
        if not _PLAIN_WORD.fullmatch(text, at, end) or not _PLAIN_WORD.fullmatch(term):
            return None
    words = query_words(text, locale)
    terms: list[str] = []
    i, n = 0, len(words)
    for at, end, term in replaced:
        while i < n and words[i][1] < at:
            terms.append(words[i][0])
            i += 1
        while i < n and words[i][1] < end:
            i += 1  # the replaced word (a word of its own: at most one)
        fixed = _locale_words(locale)._term(term)  # the locale's query_term_of, made once
        if fixed:
            terms.append(fixed)
    terms += [term for term, _, _ in words[i:]]
    return " ".join(terms)


def _lone(unit: Unit) -> bool:
    return unit.kind == "run" and len(unit.grams) == 1 and len(unit.grams[0]) == 1


def relaxed_units(units: list[Unit], reader, budget: float | None = None) -> list[Unit]:
    """At most ranking.RELAXED_MAX_UNITS of ``units``, the rarest in the index, in the order typed.

    In a pass where any word may miss, the rare words decide which documents rank first; the
    frequent ones cost the most to score and change the order least. With ``budget`` (postings,
    see ranking.RELAXED_MAX_VOLUME), the units are taken rarest first while their postings
    (``reader.cost(unit)``, :class:`helpapi.engine.Frequencies`) fit in it; a unit that does
    not fit is left out (at least the cheapest unit is kept): a flood of frequent words or
    one-character prefixes costs a bounded number of postings.
    """
    # Each unit's postings, once (a prefix's cost expands it in the index).
    costs = [reader.cost(u) for u in units] if budget is not None else []
    if len(units) <= ranking.RELAXED_MAX_UNITS and (budget is None or sum(costs) <= budget):
        return units

    def frequency(u: Unit) -> int:
        if u.kind == "word":
            return 0 if u.prefix else reader.doc_frequency("text", u.term)
        return min(reader.doc_frequency("grams", g) for g in u.grams)

    if budget is None:
        ranked = sorted(range(len(units)), key=lambda i: (frequency(units[i]), i))
        keep = ranked[: ranking.RELAXED_MAX_UNITS]
    else:
        # A lone character of a no-space script stands for all its completions: it is as
        # frequent as they are together (its own bigram is rare).
        ranked = sorted(
            range(len(units)),
            key=lambda i: (costs[i] if _lone(units[i]) else frequency(units[i]), i),
        )
        keep, spent = [], 0
        for i in ranked:
            if len(keep) < ranking.RELAXED_MAX_UNITS and spent + costs[i] <= budget:
                keep.append(i)
                spent += costs[i]
        keep = keep or [min(ranked, key=lambda i: (costs[i], i))]
    return [units[i] for i in sorted(keep)]
