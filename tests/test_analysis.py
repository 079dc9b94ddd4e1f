"""Analyzer behaviour per script, on hand-written sentences."""

import pickle
import threading

import pytest

from helpapi.analysis import IcuWordTokenizer
from helpapi.analysis import analyze
from helpapi.analysis import clean_text
from helpapi.analysis import grams_analyzer
from helpapi.analysis import stems_analyzer
from helpapi.analysis import words_analyzer


def words(text, locale):
    return [t.text for t in words_analyzer(locale)(clean_text(text))]


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        (
            "ja-JP",
            "通話のレコーディングをTeamsで有効にする",
            ["通話", "の", "レコーディング", "を", "teams", "で", "有効", "に", "する"],
        ),
        ("zh-CN", "设置用户的密码", ["设置", "用户", "的", "密码"]),
        ("zh-TW", "使用者的密碼設定", ["使用者", "的", "密碼", "設定"]),
        ("th-TH", "การตั้งค่าบัญชีผู้ใช้", ["การ", "ตั้ง", "ค่า", "บัญชี", "ผู้", "ใช้"]),
        ("ko-KR", "사용자가 암호를 변경합니다", ["사용자가", "암호를", "변경합니다"]),
        ("ar-SA", "تغيير كلمة المرور", ["تغيير", "كلمه", "المرور"]),  # ة -> ه
        ("he-IL", "שינוי הסיסמה שלך", ["שינוי", "הסיסמה", "שלך"]),
        ("uk-UA", "Змініть пароль користувача.", ["змініть", "пароль", "користувача"]),
        ("ru-RU", "Сброс пароля в Outlook", ["сброс", "пароля", "в", "outlook"]),
        (
            "de-DE",
            "Anwesenheitsprobleme im Posteingangsordner",
            ["anwesenheitsprobleme", "im", "posteingangsordner"],
        ),
        (
            "fr-FR",
            "L’utilisateur doit s'inscrire à l'application",
            ["utilisateur", "doit", "inscrire", "à", "application"],
        ),
        ("vi-VN", "Thay đổi mật khẩu", ["thay", "đổi", "mật", "khẩu"]),
        ("tr-TR", "İSTANBUL ılık", ["istanbul", "ilik"]),
        ("pl-PL", "Zmień hasło użytkownika", ["zmień", "hasło", "użytkownika"]),
    ],
)
def test_words_per_script(locale, text, expected):
    assert words(text, locale) == expected


def test_non_bmp_character_keeps_later_offsets_right():
    text = "𠮷野家の設定"  # U+20BB7 is outside the BMP: two UTF-16 units, one Python char
    tokens = analyze(text, "zh-TW")
    assert [(t["text"], t["start"], t["end"]) for t in tokens] == [
        ("𠮷", 0, 1),
        ("野家", 1, 3),
        ("の", 3, 4),
        ("設定", 4, 6),
    ]
    for t in tokens:
        assert text[t["start"] : t["end"]] == t["text"]


def test_zero_width_and_soft_hyphen_neither_split_nor_glue():
    assert words("Micro\u200bsoft Out\u00adlook", "en-US") == ["microsoft", "outlook"]
    assert words("Teams\u200d設定", "ja-JP") == ["teams", "設定"]


def test_nfd_text_matches_nfc():
    assert words("Ja\u0308hrlich", "de-DE") == words("Jährlich", "de-DE") == ["jährlich"]


def test_fullwidth_and_case_are_folded():
    assert words("ＯＵＴＬＯＯＫ Straße", "de-DE") == ["outlook", "strasse"]


def test_punctuation_and_symbols_are_dropped():
    assert words("„Hallo“ — (Welt)! $False 100%", "de-DE") == ["hallo", "welt", "false", "100"]


def test_bigrams_cover_runs_without_spaces():
    grams = [t.text for t in grams_analyzer()("Teams 通話の設定 と 字")]
    assert grams == ["通話", "話の", "の設", "設定", "と", "字"]


def test_bigram_positions_leave_a_gap_between_runs():
    toks = [(t.text, t.pos) for t in grams_analyzer()("通話。設定", positions=True)]
    assert toks == [("通話", 0), ("設定", 2)]


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [
        ("de-DE", "Einstellungen", ["einstell"]),
        ("fr-FR", "résumés", ["resum"]),
        ("fi-FI", "asetukset", ["asetuks"]),
        ("sv-SE", "inställningarna", ["installning"]),
        ("uk-UA", "пароль", ["пароль"]),  # no Ukrainian stemmer: words unchanged
        ("ja-JP", "設定", ["設定"]),
    ],
)
def test_stems_chain(locale, text, expected):
    assert [t.text for t in stems_analyzer(locale)(text)] == expected


def test_thai_marks_are_not_folded_away():
    assert [t.text for t in stems_analyzer("th-TH")("ผู้ใช้")] == ["ผู้", "ใช้"]


@pytest.mark.parametrize("locale", ["ja-JP", "de-DE", "fr-FR", "th-TH", "xx-YY"])
def test_analyzers_pickle_and_compare_equal(locale):
    for ana in (words_analyzer(locale), stems_analyzer(locale), grams_analyzer()):
        clone = pickle.loads(pickle.dumps(ana))
        assert clone == ana
        assert [t.text for t in clone("設定 Outlook")] == [t.text for t in ana("設定 Outlook")]


def test_unknown_locale_still_breaks_words():
    assert words("Hello wörld 設定", "xx-YY") == ["hello", "wörld", "設定"]


def test_tokenizer_is_safe_across_threads():
    tok = IcuWordTokenizer("ja-JP")
    texts = ["通話のレコーディング" * 20, "Öffnen Sie Outlook " * 20]
    expected = {t: [x.text for x in tok(t)] for t in texts}
    errors = []

    def work(text):
        for _ in range(50):
            if [x.text for x in tok(text)] != expected[text]:
                errors.append(text)

    threads = [threading.Thread(target=work, args=(texts[i % 2],)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def test_nested_use_on_one_thread_does_not_interfere():
    ana = words_analyzer("de-DE")
    outer = []
    for tok in ana("eins zwei drei"):
        outer.append(tok.text)
        list(ana("andere Wörter hier"))
    assert outer == ["eins", "zwei", "drei"]


@pytest.mark.parametrize(
    ("locale", "variant", "plain"),
    [
        ("ar-SA", "إِعْدَادَات", "اعدادات"),  # vowel marks and hamza-on-alef
        ("ar-EG", "مكتبة", "مكتبه"),  # teh marbuta
        ("ar-SA", "مستشفى", "مستشفي"),  # alef maksura
        ("fa-IR", "كتاب", "کتاب"),  # Arabic kaf typed for Persian keheh
        ("he-IL", "סִיסְמָה", "סיסמה"),  # niqqud
    ],
)
def test_orthographic_variants_match(locale, variant, plain):
    assert words(variant, locale) == words(plain, locale)


def test_orthography_is_per_language():
    assert words("مكتبة", "en-US") == ["مكتبة"]
