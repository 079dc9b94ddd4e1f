"""Stop 19's build read-side fast paths give what the patterns they replace give."""

from __future__ import annotations

import random
import re

import pytest

from helpapi import analysis
from helpapi import corpus

OLD_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\((?:[^()]|\([^()]*\))*\)")
OLD_MARKUP = re.compile(r"\*\*|__|`+|\[|\]")


def _strings(alphabet: str, count: int = 3000, seed: int = 19) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))) for _ in range(count)]


def test_link_rule_matches_the_alternation_it_replaces():
    new = corpus._TEXT_RULES[5][0]
    for text in _strings("[]()ab x!\n") + ["[a [b] c](d (e) f)", "[[[[", "[a](((", "[a]((b)"]:
        assert new.sub(r"\1", text) == OLD_LINK.sub(r"\1", text), text


def test_drop_markup_matches_the_pattern_it_replaces():
    for text in _strings("*_`[]a ") + ["*[*", "_**_", "*__*", "`**`", "***", "_[_]_", "é**ß"]:
        assert corpus._drop_markup(text) == OLD_MARKUP.sub("", text), text


def test_squeeze_matches_the_two_patterns_it_replaces():
    def old(text):
        return corpus._LINES.sub("\n", corpus._BLANKS.sub(" ", text)).strip()

    for text in _strings(" \t\r\f\v\n\xa0\u2028a") + _strings("  \na", seed=3):
        assert corpus._squeeze(text) == old(text), repr(text)


def test_clean_text_matches_the_pattern():
    for text in _strings("a\u00ad\u200b\u2060\ufeff\u180ee\u0301") + ["", "plain"]:
        want = analysis._INVISIBLE.sub("", __import__("unicodedata").normalize("NFC", text))
        assert analysis.clean_text(text) == want


@pytest.mark.parametrize("locale", ["de-DE", "fr-FR", "tr-TR", "he-IL", "ar-SA", "ja-JP", "fi-FI"])
def test_index_title_key_is_title_key(locale):
    titles = [
        "",
        "Outlook.com: l'utilisateur n'a pas d'accès (8326.2146) Allow_Recording",
        "הסיסמה والإعدادات İstanbul ıi Straße",
        "通話のレコーディング 設定 Teams",
        "Micro\u00adsoft &amp; 𝐀𝐁 e\u0301",
        "___ _ a_b . , : ' x",
    ]
    for title in titles:
        assert analysis.index_title_key(title, locale) == analysis.title_key(title, locale)


@pytest.mark.parametrize("locale", ["de-DE", "fr-FR", "he-IL", "ar-SA", "ja-JP"])
def test_index_words_of_one_term_and_of_several_give_the_chains_tokens(locale):
    # The same words again (from the caches), words of one term and of several, and text with
    # characters outside the BMP (ICU's spans).
    text = "Outlook.com l'accès Outlook outlook.com 𝐀𝐁 Outlook l'accès הסיסמה والإعدادات 通話"
    chain = analysis.words_analyzer(locale)
    want = [
        (t.text, t.pos, t.endchar) for t in chain(text, positions=True, chars=True, mode="index")
    ]
    words = analysis._IndexWords(locale)
    for value in (text, text, text.replace("𝐀𝐁", "AB")):
        got = words(value)
        expect = (
            want
            if value == text
            else [
                (t.text, t.pos, t.endchar)
                for t in chain(value, positions=True, chars=True, mode="index")
            ]
        )
        assert got == expect
    assert words._single and words._cache  # both kinds were met


def test_parse_date_is_the_same_from_its_cache():
    values = ["04/21/2020", " 2020-04-21 ", "21.04.2020", "13/45/2020", "", "x" * 40, "04/21/2020"]
    want = ["2020-04-21", "2020-04-21", "2020-04-21", None, None, None, "2020-04-21"]
    assert [corpus.parse_date(v) for v in values] == want
    assert [corpus.parse_date(v) for v in values] == want  # again, from the cache
