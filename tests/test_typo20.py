"""Typo latency of issue 14 item 5, stop 20: the one-edit look-up written out, the staged
correction's known distances and the corrected query's title key made from the typed text's
words give what the code they replace gave (bench/passes_ab.py --check compares every answer
of the dev query sets; these pin each path on the sample corpus and on random text)."""

from __future__ import annotations

import random

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from helpapi import engine
from helpapi.analysis import clean_text
from helpapi.query import _corrected
from helpapi.query import corrected_text
from helpapi.query import corrected_title_key
from helpapi.query import correction_limit
from helpapi.query import osa_distance
from helpapi.query import parse_user_text
from helpapi.query import query_title_key
from helpapi.query import replaced_text
from helpapi.query import replacements


def _old_one_edit(table, word: str) -> tuple:
    """FuzzyTable.one_edit before: the candidates of a one-edit look-up, checked together."""
    kept, texts = table._candidates(word, 1)
    hits = extract(word, texts, scorer=OSA.distance, score_cutoff=1, limit=None)
    return tuple(sorted((kept[i], text) for text, _, i in hits))


def _old_best(mem, term: str) -> str | None:
    """engine.best_correction before (every candidate's distance computed), over the
    one-edit look-up before."""
    if len(term) > 40:
        return None
    limit = correction_limit(term)
    text, fuzzy = mem.fields["text"], mem.fuzzy["text"]
    near = _old_one_edit(fuzzy, term)
    first = []
    if len(term) > 1 and term[0] != term[1]:
        swapped = term[1] + term[0] + term[2:]
        tid = text.term_id(swapped)
        first = [(tid, swapped)] if tid >= 0 else []
    if limit >= 2:
        cands = [*near, *first] or [(tid, text.term(tid)) for tid in fuzzy.within(term, limit)]
    else:
        turned = engine.swaps(term)
        at = {cand: i for i, cand in enumerate(turned)}
        cands = [(tid, cand) for tid, cand in near if cand not in at]
        cands += sorted(first + [x for x in near if x[1] in at], key=lambda x: at[x[1]])
    best, best_key = None, None
    for tid, cand in cands:
        key = (osa_distance(term, cand, limit), -text.doc_frequency(tid))
        if best_key is None or key < best_key:
            best, best_key = cand, key
    return best


def _slips(word: str, rng: random.Random, alphabet: str) -> list[str]:
    i = rng.randrange(len(word))
    c = rng.choice(alphabet)
    out = [word, word[:i] + word[i + 1 :], word[:i] + c + word[i:], word[:i] + c + word[i + 1 :]]
    out += engine.swaps(word)[:3] + engine.swaps(word)[-2:] + [word + word[-1], word[0] + word]
    return [w for w in out if w]


def test_one_edit_and_corrections_equal_the_code_they_replace(ixset):
    """one_edit (keys made inline, every entry's term kept, one distance call a candidate)
    equals the candidates checked by rapidfuzz's extract; best_correction (distances of
    one-edit candidates known) picks what computing each distance picked."""
    rng = random.Random(20)
    checked = corrected = 0
    for locale in ixset.locales:
        mem = ixset.mem[locale]
        table, text = mem.fuzzy["text"], mem.fields["text"]
        words = [text.term(i) for i in rng.sample(range(len(text.terms)), 60)]
        alphabet = "".join(sorted({c for w in words for c in w}))
        for word in words:
            for probe in _slips(word, rng, alphabet):
                assert table._one_edit(probe) == _old_one_edit(table, probe), (locale, probe)
                if len(probe) >= 4:
                    best = engine.best_correction(mem, probe)
                    assert best == _old_best(mem, probe), (locale, probe)
                    corrected += best is not None
                checked += 1
    assert checked > 2000 and corrected > 500


_PIECES = [
    "kennwort",
    "passwort",
    "datei",
    "ordner",
    "пароль",
    "файл",
    "mot",
    "passe",
    "été",
    "ä",
    "Straße",
    "ıi",
    "İstanbul",
    "l'utilisateur",
    "aujourd'hui",
    "e-mail",
    "x.y",
    "3,5",
    "v2",
    "1234",
    "日本語",
    "設定",
    "ファイル",
    "ひらがな",
    "한국어",
    "ภาษาไทย",
    "😀",
    "Ⓜ",
    "ª",
    "a\u0301",
    "\u0301",
    "\u200d",
    "\u00a0",
    "\t",
    " ",
    "  ",
    ".",
    ",",
    ":",
    "'",
    "\u2019",
    "-",
    '"',
    "(",
    ")",
    "/",
    "_",
    "@",
    "#",
    "OneDrive",
    "SharePoint",
    "ΑΒΓ",
    "عربى",
    "שלום",
]
_CORRECTIONS = [
    "kennwort",
    "passwort",
    "ordner",
    "пароль",
    "été",
    "straße",
    "istanbul",
    "x",
    "ab",
    "日本",
    "ファイル",
    "a1",
    "l'homme",
    "e-mail",
    "ภาษา",
    "ⓜ",
    "ǆ",
    "ﬁle",
    "ab\u0301",
    "ж",
    "ß",
]
_LOCALES = ["de-DE", "fr-FR", "fi-FI", "sv-SE", "uk-UA", "en-US", "ja-JP", "zh-CN", "tr-TR"]


def test_corrected_title_key_is_the_corrected_texts_key():
    """The corrected query's title key made from the typed text's words (where the replaced
    words are plain letters between spaces) equals the corrected text analyzed again, on
    random texts of letters, marks, joiners, digits, punctuation and no-space scripts."""
    rng = random.Random(2020)
    made = fell_back = 0
    for n in range(6000):
        locale = _LOCALES[n % len(_LOCALES)]
        # Mostly words of plain letters between spaces (the path taken), the rest mixed in.
        plain = rng.random() < 0.8
        pieces = rng.choices(_PIECES[:10] if plain else _PIECES, k=rng.randint(1, 8))
        spacing = (
            [" "] if plain and rng.random() < 0.7 else [" ", " ", "", "  ", ", ", "\u00a0", "-"]
        )
        seps = rng.choices(spacing, k=len(pieces))
        text = clean_text("".join(p + s for p, s in zip(pieces, seps, strict=True)))
        units = parse_user_text(text, locale)
        if not units:
            continue
        fixed = list(units)
        for i in rng.sample(range(len(units)), rng.randint(1, min(3, len(units)))):
            fixed[i] = _corrected(units[i], rng.choice(_CORRECTIONS))
        replaced = replacements(text, units, fixed)
        corrected = replaced_text(text, replaced)
        assert corrected == corrected_text(text, units, fixed)
        key = corrected_title_key(text, replaced, locale)
        if key is None:
            fell_back += 1
            continue
        made += 1
        assert key == query_title_key(corrected, locale), (locale, text, replaced)
    assert made > 2000 and fell_back > 1000
