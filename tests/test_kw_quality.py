"""Keyword, typed and whole-title queries by an article's *other* title (issue 15, item 4).

An article often has two titles: the front matter's ``title:`` and the page's own heading,
which is displayed. People search by either. README "How ranking works", **Two titles**:
the front matter's title, when it differs, counts as a title (title words, title bigrams, the
whole-title and typed-start keys). Hand-written sentences, not taken from the corpus or the
benchmark; each case has a decoy whose heading holds the query's words, which ranked first
when the other title was body text only.
"""

from __future__ import annotations

from helpapi.corpus import parse_text
from helpapi.schema import document_for
from helpapi.search import search

from .conftest import markdown_index_fixture


def _md(front: str, heading: str, body: str) -> str:
    return f"---\ntitle: {front}\n---\n# {heading}\n\n{body}\n"


# locale -> {slug: (front-matter title, heading, body)}
CORPUS = {
    "de-DE": {
        "forwarding": (
            "E-Mail-Weiterleitung einrichten",
            "Überprüfen der Einstellungen eines Postfachs",
            "Öffnen Sie die Einstellungen des Postfachs und wählen Sie ein Ziel.",
        ),
        "forwarding-many": (
            "Weiterleitung an mehrere Adressen",
            "E-Mail-Weiterleitung einrichten für mehrere Empfänger",
            "E-Mail-Weiterleitung einrichten: jede E-Mail-Weiterleitung einrichten, "
            "eine E-Mail-Weiterleitung pro Empfänger einrichten.",
        ),
    },
    "fr-FR": {
        "locked": (
            "Les fichiers sont verrouillés pour modification",
            "Pourquoi ne puis-je pas modifier les fichiers ?",
            "Un autre utilisateur a ouvert le document.",
        ),
        "locked-office": (
            "Fichiers Office verrouillés",
            "Les fichiers Excel ou Word sont verrouillés",
            "Les fichiers sont verrouillés pour modification : les fichiers Excel, les fichiers "
            "Word, les fichiers partagés sont verrouillés pour modification.",
        ),
        "locked-short": (
            "Verrous",
            "Fichiers verrouillés",
            "Fichiers verrouillés pour modification : la modification des fichiers verrouillés "
            "attend, toute modification attend.",
        ),
    },
    "sv-SE": {
        "password": (
            "Ändra lösenord",
            "Ändra lösenord",
            "Välj Inställningar och ange ett nytt.",
        ),
        "password-other": (
            "Ändra lösenord, ändra lösenord för konton i en annan organisation",
            "Ändra lösenord, ändra lösenord för konton i en annan organisation",
            "Ändra lösenord: ändra lösenord för ett konto, ändra lösenord för alla konton, "
            "ändra lösenord igen, ändra lösenordet, lösenord, lösenord och lösenord.",
        ),
    },
    "zh-CN": {
        "external": (
            "与外部用户共享 OneDrive 文件",
            "与组织外部的人员共享 OneDrive 中的文件",
            "打开 OneDrive，选择要发送的项目。",
        ),
        "external-folders": (
            "共享文件夹",
            "与外部用户共享 OneDrive 或 SharePoint 文件或文件夹",
            "与外部用户共享 OneDrive 文件：外部用户、共享文件、共享 OneDrive 文件夹。",
        ),
    },
}


ix = markdown_index_fixture(
    "kw-quality",
    {
        locale: {slug: _md(front, heading, body) for slug, (front, heading, body) in arts.items()}
        for locale, arts in CORPUS.items()
    },
)


def _first(ix, text: str, locale: str, prefix: bool = False) -> str:
    results = search(ix, text, locale, prefix=prefix)["results"]
    assert results, text
    return results[0]["slug"]


def test_the_front_matter_title_is_a_title_of_the_article():
    article = parse_text(
        _md("E-Mail-Weiterleitung einrichten", "Überprüfen der Einstellungen", "Text."),
        "de-DE",
        "forwarding",
    )
    doc = document_for(article)
    assert article.title == "Überprüfen der Einstellungen"  # the heading is displayed
    assert doc["display_title"] == "Überprüfen der Einstellungen"
    assert "E-Mail-Weiterleitung einrichten" in doc["title"]
    assert doc["alias_title_key"] == "e mail weiterleitung einrichten"
    # Same titles: no alias.
    same = parse_text(_md("Titel", "Titel", "Text."), "de-DE", "same")
    assert document_for(same)["alias_title_key"] == ""


def test_an_html_article_has_its_front_matter_title_too():
    html = "---\ntitle: Kennwort zurücksetzen\n---\n<h1>Kennwort vergessen</h1><p>Text.</p>"
    doc = document_for(parse_text(html, "de-DE", "pw", kind="html"))
    assert doc["display_title"] == "Kennwort vergessen"
    assert doc["alias_title_key"] == "kennwort zurücksetzen"
    assert "Kennwort zurücksetzen" in doc["title"]


def test_whole_other_title_ranks_its_article_first(ix):
    assert _first(ix, "E-Mail-Weiterleitung einrichten", "de-DE") == "forwarding"


def test_other_title_in_a_no_space_script_ranks_its_article_first(ix):
    assert _first(ix, "与外部用户共享 OneDrive 文件", "zh-CN") == "external"


def test_other_title_being_typed_ranks_its_article_first(ix):
    assert _first(ix, "Les fichiers sont verrouillés pour m", "fr-FR", prefix=True) == "locked"


def test_keywords_of_the_other_title_rank_its_article_first(ix):
    assert _first(ix, "verrouillés modification fichiers", "fr-FR") == "locked"


def test_of_titles_typed_alike_the_one_nearest_its_end_ranks_first(ix):
    # Both titles begin with the typed text; the longer one's body holds the words far more.
    assert _first(ix, "Ändra lösenord, ä", "sv-SE", prefix=True) == "password-other"
    assert _first(ix, "Ändra lösen", "sv-SE", prefix=True) == "password"


def test_without_the_typed_share_the_longer_title_wins(ix, monkeypatch):
    from helpapi import ranking

    monkeypatch.setattr(ranking, "TITLE_START_TYPED", 0.0)
    assert _first(ix, "Ändra lösen", "sv-SE", prefix=True) == "password-other"
