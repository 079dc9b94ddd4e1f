"""Search behaviour on hand-written articles: scripts without spaces, typos, order, prefixes."""

import pytest

from helpapi.indexer import build_indexes
from helpapi.query import osa_distance
from helpapi.search import open_current
from helpapi.search import search

from .conftest import sxs_article
from .conftest import write_corpus

ARTICLES = {
    "de-DE": {
        "passwort": sxs_article(
            "Kennwort zurücksetzen",
            "Reset password",
            [
                ("Öffnen Sie die Sicherheitseinstellungen.", "Open security settings."),
                ("Geben Sie ein neues Kennwort ein.", "Enter a new password."),
            ],
        ),
        "drucker": sxs_article(
            "Drucker einrichten",
            "Set up a printer",
            [
                ("Verbinden Sie den Drucker mit dem Netzwerk.", "Connect the printer."),
                ("Das Kennwort des Netzwerks wird benötigt.", "The password is needed."),
            ],
        ),
    },
    "ko-KR": {
        "password": sxs_article(
            "암호 변경",
            "Change password",
            [("사용자가 암호를 변경합니다.", "The user changes the password.")],
        ),
    },
    "th-TH": {
        "account": sxs_article(
            "การตั้งค่าบัญชีผู้ใช้",
            "Account settings",
            [("เปิดการตั้งค่าบัญชีของคุณ", "Open your account settings.")],
        ),
    },
    "ja-JP": {
        "recording": sxs_article(
            "通話のレコーディング",
            "Call recording",
            [("通話のレコーディングを有効にします。", "Enable call recording.")],
        ),
    },
}


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    root = write_corpus(tmp_path_factory.mktemp("corpus"), ARTICLES)
    index = tmp_path_factory.mktemp("ix")
    build_indexes(root, index, jobs=1)
    with open_current(index) as ixset:
        yield ixset


def slugs(ix, q, locale, prefix=False):
    return [h["slug"] for h in search(ix, q, locale, prefix=prefix)["results"]]


@pytest.mark.parametrize(
    ("q", "locale", "expected"),
    [
        ("Kennwort", "de-DE", ["passwort", "drucker"]),  # the title match first
        ("zurücksetzen Kennwort", "de-DE", ["passwort"]),  # any order
        ("Kennwort zurücksetezn", "de-DE", ["passwort"]),  # swapped letters corrected
        ("Kenwort zurücksetzen", "de-DE", ["passwort"]),  # a missing letter
        ("Sicherheitseinstellung", "de-DE", ["passwort"]),  # other inflection (relaxed pass)
        ("kennwort ZURUCKSETZEN", "de-DE", ["passwort"]),  # case and accents
        ("Kennwort zurücks", "de-DE", ["passwort"]),  # still typing (prefix below)
        ("암호", "ko-KR", ["password"]),  # Korean word with a particle attached: 암호를
        ("사용자", "ko-KR", ["password"]),  # 사용자가 in the text
        ("ตั้งค่าบัญ", "th-TH", ["account"]),  # Thai fragment cut inside a word
        ("ルのレコー", "ja-JP", ["recording"]),  # Japanese fragment across word boundaries
        ("call recording", "ja-JP", ["recording"]),  # English query, localized article
    ],
)
def test_finds(ix, q, locale, expected):
    assert slugs(ix, q, locale, prefix=q.endswith("zurücks")) == expected


def test_quoted_phrase_is_required(ix):
    # Both articles hold both words; only one holds them as this phrase.
    assert slugs(ix, '"neues Kennwort"', "de-DE") == ["passwort"]
    assert slugs(ix, '"Kennwort des Netzwerks"', "de-DE") == ["drucker"]


def test_query_syntax_is_not_interpreted(ix):
    for q in ("title:Drucker", "Drucker AND", "Drucker*", "(Drucker)", "Drucker~2"):
        assert "drucker" in slugs(ix, q, "de-DE"), q


def test_nothing_found_is_empty_not_an_error(ix):
    assert search(ix, "zzzzqqqq", "de-DE") == {
        "locale": "en-US",
        "fallback": True,
        "total": 0,
        "corrected": None,
        "results": [],
        "filtered_out": False,
    }


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("abc", "abc", 0), ("abc", "acb", 1), ("abc", "abd", 1), ("abcd", "ab", 2), ("ab", "xyz", 3)],
)
def test_osa_distance(a, b, d):
    assert osa_distance(a, b) == d
