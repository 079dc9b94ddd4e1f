"""Stop 20 (issue #14 item 5): a search's own analysis of its text, cheaper on a first-seen
text. Every test pins the fast path against the code it stands for (the words chain, the
dataclass, the regular expression over all scripts)."""

from __future__ import annotations

from pathlib import Path

from helpapi import query
from helpapi.analysis import clean_text
from helpapi.analysis import query_term_of
from helpapi.analysis import words_analyzer

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
LOCALES = [
    "en-US", "de-DE", "fr-FR", "it-IT", "ca-ES", "ga-IE", "fi-FI", "sv-SE", "uk-UA", "ja-JP",
    "zh-CN", "tr-TR", "az-AZ", "he-IL", "yi", "ar-SA", "fa-IR", "ur-PK", "th-TH", "ko-KR",
]  # fmt: skip
TRICKY = [
    "L’Utilisateur", "l'utilisateur", "qu'il", "d'", "'s", "jusqu'à", "dell'account",
    "İstanbul", "IŞIK", "ı", "ﬁle", "Straße", "ΣΊΣΥΦΟΣ", "½", "８", "x²", "a\u200db",
    "\u0640", "\u200c", "الْعَرَبِيَّة", "والإعدادات", "ـــ", "הַסִּיסְמָה", "ك", "ي", "ة",
    "outlook.com", "Allow_Recording", "8326.2146", "e\u0301cole", "\U00020000\U00020001",
    "😀", "Ǆ", "ŉ", "",
]  # fmt: skip


def _chain_term(word: str, locale: str) -> str:
    for tok in words_analyzer(locale)(word, tokenize=False):
        return tok.text
    return ""


def _corpus_words(limit: int = 4000) -> list[str]:
    words: set[str] = set()
    tokenizer = words_analyzer("root").items[0]
    for folder in sorted(CORPUS.iterdir()):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.md"))[:12]:
            text = clean_text(path.read_text(encoding="utf-8"))
            words.update(text[a:b] for a, b in tokenizer.segments(text))
    ordered = sorted(words)
    return ordered[:: max(1, len(ordered) // limit)]


def test_query_term_equals_the_words_chain_in_every_locale():
    words = _corpus_words() + TRICKY
    assert len(words) > 1000
    for locale in LOCALES:
        term = query_term_of(locale)
        for word in words:
            assert term(word) == _chain_term(word, locale), (locale, word)


def test_query_words_equal_the_chain_with_terms_remembered_or_not():
    texts = [
        "Reset your passwords quickly",
        "L’Utilisateur d'Outlook qu'il a réinitialisé",
        "Налаштування двофакторної автентифікації",
        "Teams 通話の設定 and 会議 😀 emoji \U00020000 ext-B",
        "الْعَرَبِيَّة والإعدادات הַסִּיסְמָה",
        "İstanbul IŞIK ıi " + "x" * 60,
        "a\u200db \u0640 ﬁle ½ x²",
    ]
    for locale in LOCALES:
        for text in texts:
            expected = tuple(
                (t.text, t.startchar, t.endchar) for t in words_analyzer(locale)(text, chars=True)
            )
            for _ in range(2):  # terms first made, then remembered
                assert query._locale_words(locale)(text) == expected, (locale, text)


def test_remembered_terms_are_bounded():
    words = query._LocaleWords("en-US")
    long_word = "y" * (query._CACHED_WORD + 1)
    words(long_word)
    assert long_word not in words._terms  # long words are analyzed each time
    for start in range(0, query._TERMS_KEPT * 3, 500):
        words(" ".join(f"w{i}" for i in range(start, start + 500)))
        assert len(words._terms) <= query._TERMS_KEPT + 500


PARSE_TEXTS = [
    "Reset your passwords quickly",
    'Set up "multi-factor authentication" for "users" now',
    "Teams 通話の設定 and 会議の録画 通話",
    "ｶﾞｲﾄﾞ ㈱ 가나다 ภาษาไทย ເລີ່ມ កម្ពុជា မြန်မာ 々〆",
    "通" * 150 + " x " + "の" * 3,
    "通 話 の 設 定 会 議",
    "reset reset password reset",
    "😀 \U00020000\U00020001 通話 emoji",
    '"通話の設定" "通話の設定" 設定',
    "Налаштування двофакторної автентифікації",
    "l'utilisateur d'Outlook",
    "",
    '"',
]


def _reference_units(text: str, locale: str, prefix: bool = False) -> list:
    """parse_user_text as stop 19 made it: GRAM_RUN over every text, each bigram normalized,
    the dataclass constructor, the words chain itself."""
    import re

    from helpapi.analysis import GRAM_RUN
    from helpapi.analysis import normalize_term
    from helpapi.analysis import run_bigrams

    def words(piece: str, phrase: int) -> list:
        return [
            query.Unit(
                "word",
                piece[t.startchar : t.endchar],
                term=t.text,
                stem=query._LAZY,
                phrase=phrase,
                locale=locale,
            )  # fmt: skip
            for t in words_analyzer(locale)(piece, chars=True)
        ]

    def units_of(piece: str, phrase: int) -> list:
        units, pos = [], 0
        for match in GRAM_RUN.finditer(piece):
            units += words(piece[pos : match.start()], phrase)
            whole = match.group()
            for start in range(0, len(whole), 64):
                run = whole[start : start + 64]
                grams = tuple(normalize_term(g) for _, g in run_bigrams(run))
                units.append(query.Unit("run", run, grams=grams, phrase=phrase))
            pos = match.end()
        return units + words(piece[pos:], phrase)

    text = clean_text(text)
    units, pos, n = [], 0, 0
    for match in re.finditer(r'"([^"]+)"', text):
        units += units_of(text[pos : match.start()], -1)
        units += units_of(match.group(1), n)
        n += 1
        pos = match.end()
    units += units_of(text[pos:], -1)
    if prefix and units and text and not text[-1].isspace() and units[-1].kind == "word":
        units[-1].prefix = True
    return query._bounded(units)


def test_parsed_units_equal_the_reference_parse():
    for locale in ("en-US", "ja-JP", "zh-CN", "fr-FR", "uk-UA", "th-TH"):
        for text in PARSE_TEXTS:
            for prefix in (False, True):
                got = query.parse_user_text(text, locale, prefix=prefix)
                want = _reference_units(text, locale, prefix)
                assert got == want, (locale, text)
                assert [u.at for u in got] == [u.at for u in want]


def test_runs_found_in_the_plane_alone_as_over_every_plane():
    from helpapi.analysis import GRAM_RUN

    bmp = "".join(chr(c) for c in range(0xFFFF + 1) if not 0xD800 <= c <= 0xDFFF)
    assert [m.span() for m in query._GRAM_RUN_BMP.finditer(bmp)] == [
        m.span() for m in GRAM_RUN.finditer(bmp)
    ]
    assert query._runs_pattern("plain ascii") is None
    assert query._runs_pattern("通話 \U00020000") is GRAM_RUN
    assert query._runs_pattern("通話 é") is query._GRAM_RUN_BMP


def test_unmarked_text_as_the_pattern_says_over_every_code_point():
    from helpapi import engine

    for cp in range(0x110000):
        c = chr(cp)
        for text in (c, "a" + c + "b", " " + c):
            assert engine._unmarked(text) == bool(engine._UNMARKED.fullmatch(text)), hex(cp)
    assert engine._unmarked("") and engine._unmarked("  \t ") and not engine._unmarked("a_b")
