"""Faster typo and prefix paths of issue 14 (in-process p50) leave every answer identical:
the one-edit fuzzy look-up finds what a scan of every term finds, and spelling correction
staged through it picks what looking every candidate up at once picked."""

from __future__ import annotations

import random

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from helpapi import engine
from helpapi import ranking
from helpapi.query import correction_limit
from helpapi.query import osa_distance
from helpapi.search import open_current

from .conftest import index_markdown
from .conftest import md_article


def _words(mem, field: str = "text") -> list[str]:
    f = mem.fields[field]
    return [f.term(i) for i in range(len(f.terms))]


def _typo(word: str, rng: random.Random, alphabet: str) -> str:
    """``word`` with one random slip: a letter added, dropped, changed, or two swapped."""
    i = rng.randrange(len(word))
    c = rng.choice(alphabet)
    return rng.choice(
        [
            word[:i] + c + word[i:],
            word[:i] + word[i + 1 :],
            word[:i] + c + word[i + 1 :],
            word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :],
        ]
    )


def _all_at_once(mem, term: str) -> str | None:
    """best_correction before the one-edit stage (the oracle): every candidate of the fuzzy
    table at the word's limit, then the swaps it lacks, looked up together. A word longer
    than ranking.MAX_CORRECTED_CHARS is never corrected, before as now."""
    if len(term) > ranking.MAX_CORRECTED_CHARS:
        return None
    limit = correction_limit(term)
    text, fuzzy = mem.fields["text"], mem.fuzzy["text"]
    tids = list(fuzzy.within(term, limit))
    turned = engine.swaps(term)
    if limit >= 2:
        turned = turned[:1] if term[0] != term[1:2] else []
    tids += [t for t in map(text.term_id, turned) if t >= 0]
    best, best_key = None, None
    for tid in tids:
        cand = text.term(tid)
        key = (osa_distance(term, cand, limit), -text.doc_frequency(tid))
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return best


def test_one_edit_finds_every_term_one_slip_away(ixset):
    """one_edit's candidates are every term with the word's first letter at most one edit
    away, a swap of neighbours counted as one: what a scan of the whole term list finds."""
    rng = random.Random(11)
    checked = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        words = _words(mem)
        alphabet = "".join(sorted({c for w in words for c in w}))
        for word in rng.sample(words, min(40, len(words))):
            swapped = engine.swaps(word)
            for probe in {word, _typo(word, rng, alphabet), *swapped[1:3], *swapped[-2:]}:
                if not probe:
                    continue
                scan = extract(probe, words, scorer=OSA.distance, score_cutoff=1, limit=None)
                theirs = {w for w, _, _ in scan if w[0] == probe[0]}
                found = mem.fuzzy["text"].one_edit(probe)
                assert {cand for _, cand in found} == theirs, (locale, probe)
                assert [tid for tid, _ in found] == sorted(
                    mem.fields["text"].term_id(w) for w in theirs
                )
                checked += 1
    assert checked > 600


def test_staged_correction_picks_what_all_candidates_picked(ixset):
    """Short and long words, one and two slips, swaps at the start, middle and end, a
    doubled first letter, and words the index holds: the same correction as before."""
    rng = random.Random(12)
    checked = corrected = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        words = [w for w in _words(mem) if len(w) >= 4]
        alphabet = "".join(sorted({c for w in words for c in w}))
        for word in rng.sample(words, min(60, len(words))):
            once = _typo(word, rng, alphabet)
            swapped = engine.swaps(word)
            probes = [word, once, _typo(once, rng, alphabet), word[0] + word, *swapped[:1]]
            probes += swapped[-1:]
            for probe in probes:
                if len(probe) < 4:
                    continue
                expected = _all_at_once(mem, probe)
                assert engine.best_correction(mem, probe) == expected, (locale, probe)
                checked += 1
                corrected += expected is not None
    assert checked > 1500
    assert corrected > checked // 2


def test_one_edit_stage_and_its_fallback(tmp_path_factory):
    """A swap anywhere, the first two letters' included (the fuzzy table anchors on the first
    letter), is one edit and beats a more frequent two-edit term; a word two edits from every
    term still gets its two-edit correction."""
    body = "Configuration of the configurator. " * 3
    index = index_markdown(
        tmp_path_factory,
        "fast2-typo",
        {
            "en-US": {
                "a": md_article("Configuration", body),
                "b": md_article("Configurator", "The configurator again."),
                "c": md_article("Configurators", "Configurators everywhere."),
                "d": md_article("Configurators", "More configurators."),
            }
        },
    )
    with open_current(index) as ix:
        mem = ix.mem["en-US"]
        cases = {
            "ocnfiguration": "configuration",  # the first two letters swapped
            "cnofiguration": "configuration",  # a swap after the first letter
            "configuratino": "configuration",  # the last two letters swapped
            "configuratxon": "configuration",  # one letter changed
            "confxguratxon": "configuration",  # two edits from every term
            "configurators": "configurators",  # a word the index holds
        }
        for probe, expected in cases.items():
            assert engine.best_correction(mem, probe) == expected, probe
            assert _all_at_once(mem, probe) == expected, probe


def _prefix_queries(ixset, rng: random.Random, per_locale: int = 40):
    """``(locale, text)``: a title typed up to a random point (as-you-type queries)."""
    for locale in ixset.locales:
        key = ixset.mem[locale].fields["title_key"]
        titles = [key.term(i) for i in range(len(key.terms))]
        for title in rng.sample(titles, min(per_locale, len(titles))):
            yield locale, title[: rng.randrange(1, len(title) + 1)]


def test_title_completions_added_last_without_a_second_intersection(ixset, monkeypatch):
    """The title clause of a query being typed adds the completions' scores to the other
    words' sums already made (when they would be added last): the same matches and floats
    as intersecting every clause again."""
    from helpapi.query import parse_user_text

    rng = random.Random(13)
    queries = list(_prefix_queries(ixset, rng))
    last = engine._adds_last
    added = []
    monkeypatch.setattr(engine, "_adds_last", lambda c, o: added.append(last(c, o)) or added[-1])
    fast = []
    for locale, text in queries:
        units = parse_user_text(text, locale, prefix=True)
        fast.append(engine.strict(ixset.mem[locale], units) if units else [])
    assert sum(added) > 50  # the completions added last, without intersecting again
    monkeypatch.setattr(engine, "_adds_last", lambda clause, others: False)
    reused = 0
    for (locale, text), got in zip(queries, fast, strict=True):
        units = parse_user_text(text, locale, prefix=True)
        assert (engine.strict(ixset.mem[locale], units) if units else []) == got, (locale, text)
        reused += len(got) > 0
    assert reused > 100


def test_prefix_range_reads_a_few_completions_then_searches(ixset):
    """A prefix's term range is the run of terms starting with it, whether it has none, a
    few (read one by one) or many (a binary search); an empty field has none."""
    rng = random.Random(14)
    checked = 0
    for locale in ixset.locales:
        for name, field in ixset.mem[locale].fields.items():
            terms = [field.term(i) for i in range(len(field.terms))]
            for word in rng.sample(terms, min(30, len(terms))) + [""]:
                for prefix in {word, word[:1], word[:3], word[:-1], word + "a"}:
                    lo = next((i for i, t in enumerate(terms) if t >= prefix), len(terms))
                    hi = lo
                    while hi < len(terms) and terms[hi].startswith(prefix):
                        hi += 1
                    assert field._prefix_range(prefix) == (lo, hi), (locale, name, prefix)
                    checked += 1
    assert checked > 500


def test_prefix_from_postings_or_forward_lists_gives_the_same_floats(ixset, monkeypatch):
    """A word being typed narrows the matches through its completions' postings (few) or each
    match's forward list (many): the same documents and the same summed floats."""
    from helpapi.query import parse_user_text

    rng = random.Random(15)
    queries = list(_prefix_queries(ixset, rng, per_locale=30))
    queries += [("en-US", "a"), ("en-US", "co"), ("en-US", "the sett")]
    answers = []
    for per_doc in (0, 10**9):  # 0: always the forward lists; 10**9: always the postings
        monkeypatch.setattr(engine, "PREFIX_POSTINGS_PER_DOC", per_doc)
        answers.append(
            [
                engine.strict(ixset.mem[loc], units)
                if (units := parse_user_text(t, loc, True))
                else []
                for loc, t in queries
            ]
        )
    assert answers[0] == answers[1]
    assert sum(1 for got in answers[0] if got) > 150


def test_words_standing_as_typed_spare_the_nearness_search(ixset, monkeypatch):
    """Proximity checks the words in order first: where they stand as typed they stand near
    each other, and the nearness search is not made. The same extra scores, floats included,
    as checking both clauses."""
    from helpapi.query import parse_user_text
    from helpapi.ranking import RERANK_DEPTH

    rng = random.Random(16)
    queries = list(_prefix_queries(ixset, rng, per_locale=30))
    rows = []
    for loc, text in queries:
        for prefix in (False, True):
            units = parse_user_text(text, loc, prefix=prefix)
            ranked = engine.strict(ixset.mem[loc], units) if units else []
            rows.append((ixset.mem[loc], units, [d for d, _ in ranked[:RERANK_DEPTH]]))
    searches = [0]
    near = engine.near
    monkeypatch.setattr(
        engine,
        "near",
        lambda p, s, o: searches.__setitem__(0, searches[0] + (not o)) or near(p, s, o),
    )
    fast = [engine.proximity(*row) for row in rows]
    spared = searches[0]
    monkeypatch.setattr(engine, "_typed_implies_near", lambda clauses: False)
    searches[0] = 0
    assert [engine.proximity(*row) for row in rows] == fast
    assert sum(1 for got in fast if got) > 100
    assert spared < searches[0]  # nearness searches were spared


def test_a_term_adds_its_scores_alike_by_search_or_table(ixset, monkeypatch):
    """_Term.added (an _intersect step, a boost added to matches): the documents of ``acc``
    the term holds, each with ``s + score * boost``, whether found by binary search or in a
    table of the term's documents."""
    rng = random.Random(17)
    mem = ixset.mem["en-US"]
    title = mem.fields["title"]
    checked = 0
    for tid in rng.sample(range(len(title.terms)), 60):
        term = engine._Term(title, tid, 3.0)
        docs = list(title.docs[term.start : term.end])
        acc = {d: rng.random() for d in rng.sample(range(mem.doc_count), 40)}
        acc.update({d: rng.random() for d in docs[:5]})
        want = {
            d: s + title.scores[term.find(d)] * 3.0 for d, s in acc.items() if term.find(d) >= 0
        }
        for sparse, dense in ((10**9, 10**9), (0, 0)):  # always a table; always a search
            monkeypatch.setattr(engine, "SPARSE_PROBES", sparse)
            monkeypatch.setattr(engine, "DENSE_PROBES", dense)
            assert term.added(acc) == want
            checked += 1
    assert checked == 120
