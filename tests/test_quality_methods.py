"""Free-text query methods of README "How ranking works" (issue 15), on hand-written sentences.

Each case is a small article set written for the method, not taken from the corpus or the
benchmark: a short word typed with two neighbouring letters swapped, a corrected query that
is a whole title, a title word or a title's beginning being typed (``prefix=True``), and the
words of a no-space script typed apart as keywords.
Every case has a decoy that the method must rank below the article.
"""

from __future__ import annotations

import pytest

from helpapi import engine
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article

# locale -> {slug: (title, body)}
CORPUS = {
    "fr-FR": {
        "checked-out": ("Qui a extrait un fichier ?", "Voir qui a extrait un fichier partagé."),
        "send-file": (
            "Envoyer un fichier pour analyse",
            "Un fichier extrait, un fichier envoyé : qui a le fichier ? Un fichier à analyser.",
        ),
        "m365": ("Microsoft 365", "Présentation de Microsoft 365 pour les entreprises."),
        "rename": (
            "Microsoft renomme Office 365 en Microsoft 365",
            "Microsoft 365 remplace Office 365. Microsoft 365, Microsoft 365 et Microsoft 365.",
        ),
    },
    "uk-UA": {
        "access": ("Доступ до порталу", "Як отримати доступ до порталу компанії."),
        "folder": ("Спільна папка", "Доступ до спільної папки з телефону: доступ до файлів."),
    },
    "sv-SE": {
        "forms": (
            "Aktivera Microsoft Forms för en organisation",
            "Administratören aktiverar Forms.",
        ),
        "extend": (
            "Vilka är mina möjligheter att förlänga?",
            "Aktivera Microsoft fakturering: förläng, förnya, fortsätt, fråga, fakturera, "
            "förlänga, formulär, funktion, fel, fil, flytta, följ, först, faktura.",
        ),
        "close": ("Tilin sulkeminen Outlook.comissa", "Sulje tili."),
        "close-outlook": (
            "Sulkeminen, tilin",
            "Tilin sulkeminen: tilin sulkeminen, tilin sulkeminen ja tilin sulkeminen.",
        ),
    },
    "ja-JP": {
        "invite": (
            "外部連絡先が SharePoint サイトの共有の招待を承諾することができない場合",
            "招待を承諾できない場合の対処。",
        ),
        "invite-sharepoint": (
            "外部連絡先の招待",
            "共有サイトの共有設定、共有リンク、共有の招待を確認します。外部連絡先の共有。",
        ),
    },
}


ix = markdown_index_fixture(
    "quality-methods",
    {
        locale: {slug: md_article(title, body) for slug, (title, body) in arts.items()}
        for locale, arts in CORPUS.items()
    },
)


def _first(ix, query, locale, prefix=False):
    found = search(ix, query, locale, limit=5, prefix=prefix)
    return [h["slug"] for h in found["results"]][:1], found


@pytest.mark.parametrize(
    "locale, query, slug",
    [
        ("fr-FR", "Qui a etxrait un fichier", "checked-out"),  # extrait: 7 letters
        ("uk-UA", "Досутп до порталу", "access"),  # Доступ: 6 letters
        ("uk-UA", "Одступ до порталу", "access"),  # the first two letters swapped
    ],
)
def test_a_swap_of_neighbours_in_a_short_word_is_one_typo(ix, locale, query, slug):
    first, found = _first(ix, query, locale)
    assert first == [slug], found
    assert found["corrected"] is not None


def test_best_correction_counts_a_swap_as_one_edit(ix):
    mem = ix.mem["fr-FR"]
    assert engine.best_correction(mem, "etxrait") == "extrait"
    assert engine.best_correction(mem, "xetrait") == "extrait"  # the first letter too


def test_a_corrected_query_that_is_a_whole_title_ranks_that_title_first(ix):
    # "Micrsooft" corrects to microsoft; "Microsoft 365" is then the whole of one title.
    first, found = _first(ix, "Micrsooft 365", "fr-FR")
    assert first == ["m365"], found


def test_the_word_being_typed_counts_in_the_title(ix):
    # "F" starts a title word of "forms" and a dozen body words of the decoy (the words in
    # another order than the title's: a title start is another method).
    first, found = _first(ix, "Microsoft aktivera F", "sv-SE", prefix=True)
    assert first == ["forms"], found


def test_a_title_that_begins_with_the_typed_text_ranks_first(ix):
    first, found = _first(ix, "Tilin sul", "sv-SE", prefix=True)
    assert first == ["close"], found


def test_every_keyword_of_a_no_space_script_in_the_title_ranks_first(ix):
    # Three runs typed apart, in another order; the decoy's title holds two of them and its
    # body the third many times.
    first, found = _first(ix, "共有 連絡先 外部", "ja-JP")
    assert first == ["invite"], found
