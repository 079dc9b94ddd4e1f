"""The Whoosh schema shared by every locale's index (and the English one).

Search speed in Whoosh is dominated by how many posting lists a query unions, so each unit of a
query should hit *one* field in the required part. Hence combined fields:

* ``text``: ICU words of the localized title and body *and* the English sxs title and body,
  with positions (required words, phrase proximity). English text goes through the locale's
  word chain, which differs from the English one only in language-specific normalization
  (elision, dotless-i, Arabic/Hebrew orthography) that English words pass through unchanged.
* ``title``: words of the localized and English titles (an optional boost, never required).
* ``grams`` / ``title_grams``: character bigrams of no-space scripts (fragments inside words).
* ``stems``: stemmed, accent-folded words of titles and body, no positions (relaxed pass only).
* stored-only fields carry what the API shows, so a generation is self-contained; ``html`` is
  the article rendered and sanitized at build time (:func:`helpapi.render.render_markdown`;
  an HTML article's own body through :func:`helpapi.render.sanitize_html`).
"""

from __future__ import annotations

from whoosh.fields import ID
from whoosh.fields import STORED
from whoosh.fields import TEXT
from whoosh.fields import Schema

from .analysis import grams_analyzer
from .analysis import stems_analyzer
from .analysis import title_key
from .analysis import words_analyzer
from .memindex import POSITION_FIELDS
from .memindex import RecordingFrequency
from .memindex import RecordingPositions
from .render import render_markdown
from .render import sanitize_html

ENGLISH = "en-US"


def make_schema(locale: str) -> Schema:
    """The index schema for ``locale`` (analyzers depend on its language)."""
    words = words_analyzer(locale)
    grams = grams_analyzer()
    schema = Schema(
        slug=ID(stored=True, unique=True),
        assetid=ID(stored=True),
        text=TEXT(analyzer=words),
        title=TEXT(analyzer=words),
        grams=TEXT(analyzer=grams),
        title_grams=TEXT(analyzer=grams),
        stems=TEXT(analyzer=stems_analyzer(locale), phrase=False),
        # Whole titles as single terms: a query equal to a title is one lookup away.
        title_key=ID(),
        english_title_key=ID(),
        display_title=STORED(),
        english_title=STORED(),
        body=STORED(),
        markdown=STORED(),
        # Sanitized HTML, rendered here once: article requests only read it.
        html=STORED(),
        refs=STORED(),
        updated=STORED(),
        source_locale=STORED(),
    )
    for name in POSITION_FIELDS:
        # Same postings as TEXT's own format; also feeds helpapi.memindex while building.
        schema[name].format = RecordingPositions(name)
    # Same postings as TEXT(phrase=False)'s Frequency format; feeds the relaxed pass's copy.
    schema["stems"].format = RecordingFrequency("stems")
    return schema


def _html_of(article, markdown: str) -> str:
    """The article's display HTML: an HTML article's own body (sanitized), else its Markdown
    rendered. An HTML article has no Markdown: rendering its empty one would show nothing."""
    if getattr(article, "format", "") == "html":
        return sanitize_html(article.html)
    return render_markdown(markdown)


def document_for(article, locale: str | None = None) -> dict:
    """Whoosh document for an article in ``locale``'s index (default: the article's own).

    In the en-US index an article is its English side.
    """
    locale = locale or article.locale
    if locale == ENGLISH:
        title, body = article.english_title, article.english_body
        markdown = article.english_markdown
        extra_title, extra_body = "", ""
    else:
        title, body, markdown = article.title, article.body, article.markdown
        extra_title = article.english_title if article.english_title != title else ""
        extra_body = article.english_body if article.english_body != body else ""
    titles = f"{title}\n{extra_title}" if extra_title else title
    return {
        "slug": article.slug,
        "assetid": article.assetid or "",
        "text": "\n".join(x for x in (titles, body, extra_body) if x),
        "title": titles,
        "grams": f"{title}\n{body}",
        "title_grams": title,
        "stems": f"{titles}\n{body}",
        "title_key": title_key(title, locale),
        "english_title_key": title_key(extra_title, locale) if extra_title else "",
        "display_title": title,
        "english_title": article.english_title,
        "body": body,
        "markdown": markdown,
        "html": _html_of(article, markdown),
        "refs": article.refs,
        "updated": article.updated,
        "source_locale": article.locale,
    }
