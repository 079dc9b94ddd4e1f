"""Whoosh query builders: the oracle that :mod:`helpapi.engine` must equal.

Moved here from ``helpapi/query.py`` unchanged when the engine became the only serving path
(issue 14): the service never builds a Whoosh query, and the equivalence tests
(``tests/test_engine.py``, ``tests/test_engine_relaxed.py``) compare the engine's matches and
scores with these queries run on the Whoosh index of the same generation.
"""

from __future__ import annotations

from whoosh import query as wq
from whoosh.query.spans import SpanNear2

from helpapi import ranking
from helpapi.analysis import same_stem_terms
from helpapi.analysis import stem_prefix
from helpapi.engine import phrase_boost
from helpapi.engine import run_title_boosts
from helpapi.engine import swaps
from helpapi.engine import title_start_boost
from helpapi.engine import typed_title_start
from helpapi.memindex import KEY_FIELDS
from helpapi.query import Unit
from helpapi.query import correction_limit
from helpapi.query import osa_distance
from helpapi.query import pick_expansions
from helpapi.query import typed_order


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


def _title_word(unit: Unit, reader, nwords: int) -> wq.Query:
    """The word in the title, or any title word of its stem (ranking.TITLE_STEMS)."""
    start = stem_prefix(unit.term, unit.stem)
    forms = [unit.term]
    stems = ranking.TITLE_STEMS and nwords <= ranking.TITLE_STEM_MAX_WORDS
    if stems and unit.locale and len(start) >= ranking.TITLE_STEM_MIN_PREFIX:
        terms = [
            t.decode("utf-8") if isinstance(t, bytes) else t
            for t in reader.expand_prefix("title", start)
        ]
        if len(terms) <= ranking.TITLE_STEM_SCAN:
            forms = same_stem_terms(terms, unit.term, unit.stem, unit.locale)
    if len(forms) == 1:
        return wq.Term("title", forms[0], boost=ranking.TITLE_BOOST)
    return _scored_or([wq.Term("title", t, boost=ranking.TITLE_BOOST) for t in forms])


def _title_completions(prefix: str, reader) -> wq.Query | None:
    """The title words starting with ``prefix``, scores summed (ranking.TITLE_PREFIX)."""
    terms = [
        t.decode("utf-8") if isinstance(t, bytes) else t
        for t in reader.expand_prefix("title", prefix)
    ]
    if not (ranking.TITLE_PREFIX and terms) or len(terms) > ranking.TITLE_PREFIX_SCAN:
        return None
    return _scored_or([wq.Term("title", t, boost=ranking.TITLE_BOOST) for t in terms])


def _title_boosts(units: list[Unit], reader, relaxed: bool = False) -> list[wq.Query]:
    """Optional clauses on the (short) title fields: cheap enough to score for every match."""
    out = []
    words = [u for u in units if u.kind == "word" and not u.prefix]
    typing = [u for u in units if u.kind == "word" and u.prefix]
    completions = _title_completions(typing[0].term, reader) if typing else None
    if completions is not None:
        out.append(wq.And([_title_word(u, reader, len(words)) for u in words] + [completions]))
    elif len(words) >= 2:
        # Order-free: users reorder keywords.
        out.append(wq.And([_title_word(u, reader, len(words)) for u in words]))
    elif len(words) == 1:
        out.append(_title_word(words[0], reader, 1))
    start = typed_title_start(units)
    if start:
        for name in KEY_FIELDS:
            keys = [
                t.decode("utf-8") if isinstance(t, bytes) else t
                for t in reader.expand_prefix(name, start)
            ]
            share = len(keys) <= ranking.TITLE_PREFIX_SCAN
            out += [
                wq.Term(name, k, boost=title_start_boost(start, k if share else "")) for k in keys
            ]
    runs = [u for u in units if u.kind == "run"]
    every, alone = run_title_boosts(units, relaxed)
    if every:
        out.append(
            wq.And(
                [_title_word(u, reader, len(words)) for u in words]
                + [_gram_query("title_grams", u.grams, reader, every) for u in runs]
            )
        )
    if alone:
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
        # In order as typed, repeats included (helpapi.query.typed_order).
        kept = {id(u) for u in units if u.kind == "word" and not u.prefix}
        typed = [u.term for u in typed_order(units) if id(u) in kept]
        boost = phrase_boost(units, ranking.EXACT_BOOST, ranking.EXACT_BOOST_PER_WORD, len(typed))
        out.append(wq.Phrase("text", typed, slop=ranking.EXACT_SLOP, boost=boost))
    runs = [u for u in units if u.kind == "run"]
    if len(runs) >= 2:
        # Runs separated by punctuation or Latin words: reward them standing close together.
        grams = [g for u in runs for g in u.grams]
        per = ranking.PROXIMITY_BOOST_PER_RUN
        boost = phrase_boost(units, ranking.PROXIMITY_BOOST, per, len(runs))
        out.append(wq.Phrase("grams", grams, slop=ranking.RUN_PROXIMITY_SLOP, boost=boost))
    return wq.Or(out) if out else None


def _title_equals(key: str) -> list[wq.Query]:
    if not key:
        return []
    return [wq.Term(name, key, boost=ranking.SAME_TITLE_BOOST) for name in KEY_FIELDS]


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


def _best_correction(reader, term: str) -> str | None:
    """The most frequent indexed word one edit (two for long words) from ``term``.

    :func:`helpapi.engine.best_correction` answers the same from the postings file.
    """
    if len(term) > ranking.MAX_CORRECTED_CHARS:
        return None
    limit = correction_limit(term)
    best, best_key = None, None
    # Candidates share the first letter: typos there are rare, and it bounds the scan.
    cands = list(reader.terms_within("text", term, limit, prefix=1))
    # A swap of neighbours (the first letter too) is one edit: looked up directly.
    cands += [c for c in swaps(term) if reader.doc_frequency("text", c)]
    for cand in cands:
        dist = osa_distance(term, cand, limit)
        if dist > limit:
            continue
        key = (dist, -reader.doc_frequency("text", cand))
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return best


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


def relaxed_query(units: list[Unit], reader) -> wq.Query:
    """Any unit may match (more matching units rank higher): stems, folding, one typo."""
    parts = [
        _relaxed_word(u, reader) if u.kind == "word" else _relaxed_run(u, reader) for u in units
    ]
    if not parts:
        return wq.NullQuery
    main = _scored_or(parts, scale=ranking.RELAXED_SCALE)
    boosts = _title_boosts(units, reader, relaxed=True)
    return wq.AndMaybe(main, wq.Or(boosts)) if boosts else main
