"""Latency work of issue 14 item 5 leaves every answer identical: the display store
(``display.bin``) shows what Whoosh's stored fields showed, and the snippet matcher without a
per-query regular expression finds the same spans as the alternation it replaces."""

from __future__ import annotations

import random
import re
import shutil

import pytest

from helpapi import display
from helpapi import snippets
from helpapi.analysis import GRAM_RUN
from helpapi.indexer import BuildError
from helpapi.indexer import build_indexes
from helpapi.search import IndexSet
from helpapi.search import open_current
from helpapi.search import search

from .conftest import APPLE
from .conftest import build_files
from .conftest import serving_generation


def _regex_spans(text, surfaces, limit=2000, window=None):
    """The matcher before: one IGNORECASE alternation compiled per query (the oracle)."""
    ordered = sorted({s for s in surfaces if s}, key=lambda s: (-len(s), s))
    words = [re.escape(s) for s in ordered if not GRAM_RUN.fullmatch(s)]
    runs = [re.escape(s) for s in ordered if GRAM_RUN.fullmatch(s)]
    alternatives = []
    if words:
        alternatives.append(r"(?<!\w)(?:" + "|".join(words) + r")\w*")
    if runs:
        alternatives.append(r"(?=(" + "|".join(runs) + r"))")
    if not alternatives:
        return []
    pattern = re.compile("|".join(alternatives), re.IGNORECASE)
    merged = []
    for i, m in enumerate(pattern.finditer(text)):
        if i >= limit:
            break
        a, b = m.span(1) if m.lastindex else m.span()
        if (
            window
            and len(merged) > window[0]
            and a > merged[window[0] - 1][0] + window[1]
            and a > merged[-1][1]
        ):
            break
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


# Characters where case-insensitive matching is subtle: re's extra equivalences (i/ı, s/ſ,
# σ/ς/Σ, µ/μ, K/K), a lowercase of two characters (İ), word and non-word characters, and
# no-space scripts mixed with Latin (a Latin word's \w* tail runs into kana).
ALPHABET = "aAbBiIıİsSſkKKσςΣµμé É_-1 .日本語のパスワードを設定Wiไทย"


def test_matcher_finds_the_regex_spans_on_generated_texts():
    rng = random.Random(14)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60)))
        surfaces = []
        for _ in range(rng.randint(1, 4)):
            if text and rng.random() < 0.7:
                a = rng.randrange(len(text))
                piece = text[a : a + rng.randint(1, 4)]
            else:
                piece = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3)))
            surfaces.append(piece.swapcase() if rng.random() < 0.3 else piece)
        for limit, window in ((2000, None), (3, None), (2000, (2, 5))):
            want = _regex_spans(text, surfaces, limit, window)
            assert snippets.match_spans(text, surfaces, limit, window) == want, (text, surfaces)
            got = snippets.match_spans(text, surfaces, limit, window, folded=display.fold(text))
            assert got == want, (text, surfaces)


def test_matcher_finds_the_regex_spans_on_corpus_texts(ixset):
    rng = random.Random(5)
    for locale in ixset.locales:
        shown = ixset.display[locale]
        for docnum in rng.sample(range(shown.doc_count), min(15, shown.doc_count)):
            _, _, title, body, spaced = shown.hit(docnum)
            folded = display.fold(body)
            words = body.split()
            for _ in range(4):
                surfaces = [w[: rng.randint(1, len(w))] for w in rng.sample(words, 2)] + [title]
                surfaces += [body[i : i + 3] for i in range(0, min(len(body), 12), 2)]
                want = _regex_spans(body, surfaces, window=(64, 180))
                assert snippets.match_spans(body, surfaces, window=(64, 180), folded=folded) == want
                got = snippets.match_spans(body, surfaces, window=(64, 180), spaced=spaced)
                assert got == want


def test_fold_keeps_length_and_compares_like_ignorecase():
    for ch in map(chr, range(0x20, 0x3000)):
        assert len(display.fold(ch)) == 1
    assert display.fold("İSTANBUL ΟΔΟΣ ſ") == display.fold("istanbul οδοσ s")


def test_hits_show_what_whoosh_stored(ixset):
    """display.bin holds each document's slug, assetid, title, collapsed body, its
    words (display.words) and its fold (display.fold)."""
    for locale in ixset.locales:
        shown = ixset.display[locale]
        searcher = ixset.searcher(locale)
        assert shown.doc_count == searcher.doc_count_all()
        for docnum in range(0, shown.doc_count, max(1, shown.doc_count // 25)):
            stored = searcher.stored_fields(docnum)
            body = " ".join(stored.get("body", "").split())
            assert shown.hit(docnum) == (
                stored["slug"],
                stored.get("assetid") or "",
                stored["display_title"],
                body,
                display.words(body),
            )
            # The sixth field, the fold with its marks, is what helpapi.verbatim compares.
            assert bytes(shown.folded_bytes(docnum)) == display.fold(body).encode()


def test_search_answers_equal_the_whoosh_stored_answers(ixset):
    """Hits and snippets from display.bin equal those built from Whoosh's stored fields."""
    for text, locale in [
        ("password", "en-US"),
        ("Passwort ändern", "de-DE"),
        ("パスワード", "ja-JP"),
    ]:
        if locale not in ixset.locales:
            continue
        found = search(ixset, text, locale)
        searcher = ixset.searcher(found["locale"])
        for hit in found["results"]:
            stored = searcher.document(slug=hit["slug"])
            assert hit["title"] == stored["display_title"]
            assert hit["id"] == (stored.get("assetid") or stored["slug"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_files(tmp_path_factory, "display", APPLE)


@pytest.mark.parametrize("damage", ["missing", "version", "cut"])
def test_a_locale_without_a_sound_display_file_is_not_served(built, tmp_path, damage):
    shutil.copytree(built[1], tmp_path / "ix")
    path = serving_generation(tmp_path / "ix") / "de-DE" / display.FILENAME
    raw = path.read_bytes()
    if damage == "missing":
        path.unlink()
    elif damage == "version":
        now = f'"version": {display.VERSION}'.encode()
        assert now in raw
        path.write_bytes(raw.replace(now, b'"version": 1', 1))  # the file before "words"
    else:
        path.write_bytes(raw[: len(raw) // 2])
    assert display.check(path.parent) is not None
    with open_current(tmp_path / "ix") as ix:
        assert "de-DE" in ix.damaged and display.FILENAME in ix.damaged["de-DE"]
    assert isinstance(IndexSet, type)


def test_a_build_never_switches_to_a_generation_without_display_files(built, tmp_path, monkeypatch):
    corpus = built[0]
    monkeypatch.setattr(display, "write", lambda path, entries: None)
    with pytest.raises(BuildError, match=display.FILENAME):
        build_indexes(corpus, tmp_path / "ix", jobs=1)
    assert not (tmp_path / "ix" / "CURRENT").exists()


def _osa_table(a: str, b: str, limit: int) -> int:
    """The pure-Python optimal string alignment distance query.osa_distance replaced."""
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


def test_osa_distance_equals_the_table_within_the_limit():
    """Within the limit the same distance; past it, more than the limit (all callers ask)."""
    from helpapi.query import osa_distance

    rng = random.Random(3)
    for _ in range(20000):
        a = "".join(rng.choice("abcéä") for _ in range(rng.randint(0, 7)))
        b = "".join(rng.choice("abcéä") for _ in range(rng.randint(0, 7)))
        for limit in (1, 2):
            want = _osa_table(a, b, limit)
            got = osa_distance(a, b, limit)
            assert got == want if want <= limit else got > limit, (a, b, limit)


def test_a_display_file_cut_after_opening_answers_503_not_sigbus(built, tmp_path):
    """Generations are immutable; if one is cut in place anyway, the locale is reported and
    searches raise LocaleUnavailable instead of reading past the mapping's end."""
    from helpapi.search import LocaleUnavailable

    shutil.copytree(built[1], tmp_path / "ix")
    with open_current(tmp_path / "ix") as ix:
        assert search(ix, "Apfel", "de-DE")["total"] == 1
        path = serving_generation(tmp_path / "ix") / "de-DE" / display.FILENAME
        with open(path, "r+b") as fh:
            fh.truncate(16)
        assert display.FILENAME in ix.health()["de-DE"]
        with pytest.raises(LocaleUnavailable):
            search(ix, "Apfel", "de-DE")
