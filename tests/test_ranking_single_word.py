"""A one-word query ranks first the article whose title is about that word (issue #15 item 5).

The case of the bundled corpus, written again in several languages: the short title about the
word holds another form of it ("Reset or change passwords" for "password"), two longer titles
hold the exact word in passing, and their bodies repeat it more. The title boost must count
the word's other forms (its stem, ``ranking.TITLE_STEMS``), in every language with a stemmer,
with no per-locale code.
"""

from __future__ import annotations

import pytest

from helpapi import ranking
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article

# locale -> (query word, the title about it, two titles holding the exact word in passing,
# a body sentence holding the exact word once)
CASES = {
    "en-US": (
        "password",
        "Reset or change passwords",
        ["Update your email account password", "View the network password in Windows"],
        "Choose a new password.",
    ),
    "fr-FR": (
        "imprimante",
        "Installer des imprimantes",
        ["Partager une imprimante sur le réseau local", "Choisir une imprimante par défaut"],
        "Branchez une imprimante.",
    ),
    "es-ES": (
        "contraseña",
        "Cambiar las contraseñas",
        ["Actualizar la contraseña de la cuenta de correo", "Ver la contraseña de la red Wi-Fi"],
        "Escriba una contraseña nueva.",
    ),
    "ru-RU": (
        "пароль",
        "Сброс и смена паролей",
        ["Как обновить пароль почтового ящика", "Где найти пароль сети Wi-Fi дома"],
        "Введите новый пароль.",
    ),
    "de-DE": (
        "Drucker",
        "Probleme mit Druckern",
        ["Den Drucker im Netzwerk freigeben", "Einen Drucker als Standard festlegen"],
        "Schließen Sie den Drucker an.",
    ),
    "sv-SE": (
        "skrivare",
        "Installera skrivarna",
        ["Dela en skrivare i det lokala nätverket", "Välj en skrivare som standard här"],
        "Anslut en skrivare.",
    ),
}


# One small corpus per locale: the article about the word and two in passing, which repeat
# the word (by the body alone they would win).
ix = markdown_index_fixture(
    "single-word",
    {
        locale: {
            "about": md_article(about, sentence),
            **{
                f"passing-{i}": md_article(title, f"{sentence} {title}. {sentence}")
                for i, title in enumerate(passing)
            },
        }
        for locale, (_word, about, passing, sentence) in CASES.items()
    },
)


@pytest.mark.parametrize("locale", sorted(CASES))
def test_one_word_ranks_the_title_about_it_first(ix, locale):
    word = CASES[locale][0]
    found = search(ix, word, locale, limit=3)
    assert [h["slug"] for h in found["results"]][0] == "about", found["results"]
    assert found["total"] == 3


@pytest.mark.parametrize("locale", sorted(CASES))
def test_the_exact_word_alone_ranks_as_before(ix, locale, monkeypatch):
    # Without the stem forms, the title boost sees the exact word only: the bug of item 5.
    monkeypatch.setattr(ranking, "TITLE_STEMS", False)
    word = CASES[locale][0]
    found = search(ix, word, locale, limit=3)
    assert [h["slug"] for h in found["results"]][0] != "about"


def test_the_title_about_a_word_also_wins_for_its_other_form(ix):
    # The plural typed: the title holding it exactly still ranks first.
    found = search(ix, "passwords", "en-US", limit=3)
    assert found["results"][0]["slug"] == "about"
