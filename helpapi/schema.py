"""The Whoosh schema shared by every locale's index (and the English one).

Field roles:

* ``title`` / ``body``: localized ICU words, with positions (strict pass, phrase proximity).
* ``title_grams`` / ``body_grams``: character bigrams of no-space scripts (fragment matching).
* ``title_stems`` / ``body_stems``: stemmed, accent-folded words, no positions (relaxed pass).
* ``english_title`` / ``english_body``: the sxs English text, so English queries find localized
  articles. Empty in the ``en-US`` index, whose ``title``/``body`` already are English.
* stored-only fields carry what the API shows without going back to the corpus, so one index
  generation is self-contained.
"""

from __future__ import annotations

from whoosh.fields import ID
from whoosh.fields import STORED
from whoosh.fields import TEXT
from whoosh.fields import Schema

from .analysis import grams_analyzer
from .analysis import stems_analyzer
from .analysis import words_analyzer

ENGLISH = "en-US"

TEXT_FIELDS = (
    "title",
    "body",
    "title_grams",
    "body_grams",
    "title_stems",
    "body_stems",
    "english_title",
    "english_body",
)


def make_schema(locale: str) -> Schema:
    """The index schema for ``locale`` (analyzers depend on its language)."""
    words = words_analyzer(locale)
    stems = stems_analyzer(locale)
    grams = grams_analyzer()
    english = words_analyzer(ENGLISH)
    return Schema(
        slug=ID(stored=True, unique=True),
        assetid=ID(stored=True),
        title=TEXT(analyzer=words, stored=True),
        body=TEXT(analyzer=words, stored=True),
        title_grams=TEXT(analyzer=grams),
        body_grams=TEXT(analyzer=grams),
        title_stems=TEXT(analyzer=stems, phrase=False),
        body_stems=TEXT(analyzer=stems, phrase=False),
        english_title=TEXT(analyzer=english, stored=True),
        english_body=TEXT(analyzer=english, phrase=False),
        markdown=STORED(),
        refs=STORED(),
        updated=STORED(),
        source_locale=STORED(),
    )


def document_for(article, english: bool = False) -> dict:
    """Whoosh document for an article; ``english=True`` makes its en-US entry."""
    if english:
        title, body, markdown = (
            article.english_title,
            article.english_body,
            article.english_markdown,
        )
        english_title, english_body = article.english_title, ""
    else:
        title, body, markdown = article.title, article.body, article.markdown
        english_title, english_body = article.english_title, article.english_body
    return {
        "slug": article.slug,
        "assetid": article.assetid or "",
        "title": title,
        "body": body,
        "title_grams": title,
        "body_grams": body,
        "title_stems": title,
        "body_stems": body,
        # In en-US the English title is the title; index it once, keep it stored for display.
        "english_title": english_title if not english else "",
        "english_body": english_body,
        "markdown": markdown,
        "refs": article.refs,
        "updated": article.updated,
        "source_locale": article.locale,
    }
