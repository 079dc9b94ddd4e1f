"""Stop 20 per-search shortcuts in the strict pass's title boosts and the re-ranking: the same
floats as the definitions they stand in for."""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi import ranking
from helpapi.query import parse_user_text
from helpapi.query import query_title_key

from .conftest import markdown_index_fixture
from .conftest import md_article

CORPUS = {
    "ja-JP": {
        "a": md_article("Office のインストール方法", "Office をインストールする手順。設定も。"),
        "b": md_article("ドメインの設定", "ドメインに送信されたメッセージ。Office の設定。"),
        "c": md_article("メッセージの設定と Office", "メッセージを設定する。ドメインに送信。"),
        "d": md_article("共有連絡先の管理", "共有・連絡先の管理。Office で設定する。"),
        **{f"f{i}": md_article(f"メモ {i} の設定", f"説明{i}。ドメイン。") for i in range(12)},
    },
    "en-US": {
        "e": md_article("Outlook Outlook settings", "Outlook settings and Windows Outlook."),
        "g": md_article("Reset your Outlook password", "Reset the password of Outlook on Windows."),
        "h": md_article("Windows settings", "Outlook and Windows settings, password reset."),
        **{f"w{i}": md_article(f"Note {i} about Windows", f"Outlook text {i}.") for i in range(20)},
    },
}

QUERIES = {
    "ja-JP": [
        "ドメイン",
        "ドメイン 設定",
        "設定 メッセージ",
        "Office のインストール方法",
        "Office 設定",
        "ドメイン 設定 メッセージ",
        "Office ドメイン 設定",
        "共有 連絡先",
        "メモ の設定",
    ],
    "en-US": [
        "outlook",
        "outlook settings",
        "windows outlook outlook",
        "reset outlook password",
        "settings windows",
        "note about windows",
    ],
}


corpus = markdown_index_fixture("engine20", CORPUS)


def _boosted(mem, units, key, within) -> dict:
    found = dict(engine.strict(mem, units, key, ranks=False))
    engine._add_boosts(found, engine._boosts(mem, units, key, within=within))
    return found


@pytest.mark.parametrize("locale", sorted(QUERIES))
def test_title_boosts_within_the_matches_are_those_over_every_title(corpus, locale):
    # _boosts checks a run's title phrase in the matched documents only (``within``): each
    # match gets the same floats as from the phrase over every title.
    mem = corpus.mem[locale]
    seen = 0
    for text in QUERIES[locale]:
        units = parse_user_text(text, locale)
        key = query_title_key(text, locale)
        found = dict(engine.strict(mem, units, key, ranks=False))
        if not found:
            continue
        seen += 1
        engine._TITLE_RUNS.clear()  # the phrases over every title computed, not remembered
        whole = _boosted(mem, units, key, None)
        assert _boosted(mem, units, key, dict(found)) == whole, text
        assert dict(engine.strict(mem, units, key)) == whole, text
    assert seen >= 4


def _title_cover_reference(mem, units, docs) -> dict:
    """engine.title_cover's document loop as written before stop 20 (title_keys_of)."""
    boost = ranking.TITLE_COVER_BOOST
    words = {u.term: u for u in units if u.kind == "word" and u.term}
    runs = {engine._run_text(u) for u in units if u.kind == "run"} - {""}
    chars = sum(map(len, words)) + sum(map(len, runs))
    repeated = [(u.kind, u.term or engine._run_text(u), len(u.at)) for u in units if len(u.at) > 1]
    title = mem.fields["title"]
    stems = ranking.TITLE_STEMS and len(words) <= ranking.TITLE_STEM_MAX_WORDS
    forms = [
        {term, *(title.term(t) for t in engine.title_forms(title, u, True))} if stems else {term}
        for term, u in words.items()
    ]
    need = frozenset(next(iter(f)) for f in forms if len(f) == 1)
    several = [f for f in forms if len(f) > 1]
    out = {}
    for d in docs:
        best = 0.0
        for parts, flat, words_in_order in engine.title_keys_of(mem, d, True):
            if not need <= parts or not flat:
                continue
            if several and not all(not parts.isdisjoint(f) for f in several):
                continue
            if runs and not all(r in flat for r in runs):
                continue
            more = 0
            for kind, text, typed in repeated:
                held = words_in_order.count(text) if kind == "word" else flat.count(text)
                more += len(text) * (min(typed, held) - 1) if held else 0
            best = max(best, (chars + more) / len(flat))
        if best:
            out[d] = boost * min(1.0, best) ** ranking.TITLE_COVER_POWER
    return out


@pytest.mark.parametrize("locale", sorted(QUERIES))
def test_title_cover_matches_its_definition(corpus, locale):
    # title_cover tests each title key as text before splitting it into words.
    mem = corpus.mem[locale]
    everyone = list(range(mem.doc_count))
    covered = 0
    for text in QUERIES[locale]:
        units = parse_user_text(text, locale)
        for docs in (everyone[:10], everyone):  # read directly, and through _title_holders
            if len(docs) > engine.TITLE_HOLDERS_FROM:
                want = _title_cover_reference(
                    mem, units, engine._title_holders(mem, _need(mem, units), docs)
                )
            else:
                want = _title_cover_reference(mem, units, docs)
            got = engine.title_cover(mem, units, docs)
            assert got == want, text
            covered += bool(got)
    assert covered >= 6


def _need(mem, units) -> frozenset:
    """title_cover's words of one form (the words the candidates are narrowed by)."""
    words = {u.term: u for u in units if u.kind == "word" and u.term}
    title = mem.fields["title"]
    stems = ranking.TITLE_STEMS and len(words) <= ranking.TITLE_STEM_MAX_WORDS
    out = []
    for term, u in words.items():
        forms = {term}
        if stems:
            forms |= {title.term(t) for t in engine.title_forms(title, u, True)}
        if len(forms) == 1:
            out.append(term)
    return frozenset(out)
