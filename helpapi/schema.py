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

Whoosh pickles the schema into every index's table of contents, so the schema is made of
Whoosh's own classes only: a helpapi class there would orphan every index the day it is
renamed. Text is analyzed once, by helpapi's analyzers, in :func:`analyze_document`; the
indexer records ``postings.bin`` from those tokens and writes the same postings into the
Whoosh segment (:class:`helpapi.whoosh_writer.DirectWriter`): the Whoosh index stays an index of
the ICU-analyzed text, with helpapi's positions. It is the index Whoosh's own writer makes of
the tokens as pre-analyzed text (:func:`whoosh_values`, which the schema's analyzers only split
at separators); ``tests/test_build_fast.py`` compares the two.
"""

from __future__ import annotations

import bisect

from whoosh.analysis import DelimitedAttributeFilter
from whoosh.analysis import RegexTokenizer
from whoosh.fields import ID
from whoosh.fields import STORED
from whoosh.fields import TEXT
from whoosh.fields import Schema

from .analysis import index_gram_pairs
from .analysis import index_stems
from .analysis import index_title_key
from .analysis import index_words
from .memindex import FREQUENCY_FIELDS
from .memindex import POSITION_FIELDS
from .render import render_markdown
from .render import sanitize_html

ENGLISH = "en-US"


# Pre-analyzed text: terms separated by TERM_SEP, each followed by POS_SEP and its position.
# Not spaces: a term may hold one (NFKC turns a no-break space inside an ICU word into one).
# Positions are carried rather than renumbered because helpapi's chains leave gaps and repeats
# on purpose (split parts share their word's position; a bigram phrase never spans two runs).
# ASCII record and unit separators: no term holds them (ICU never puts a control character
# inside a word, and bigrams are letters of no-space scripts); whoosh_values checks it.
TERM_SEP = "\x1e"
POS_SEP = "\x1f"


def _pretokenized(positions: bool):
    """Whoosh's own analyzer for text :func:`whoosh_values` wrote (``positions``: with them)."""
    split = RegexTokenizer(f"[^{TERM_SEP}]+")
    return split | DelimitedAttributeFilter(POS_SEP, "pos", 0, int) if positions else split


def make_schema() -> Schema:
    """The index schema, the same for every locale: the analysis, which depends on the
    locale, is done before Whoosh sees the text (:func:`analyze_document`)."""
    positional = _pretokenized(positions=True)
    return Schema(
        slug=ID(stored=True, unique=True),
        assetid=ID(stored=True),
        text=TEXT(analyzer=positional),
        title=TEXT(analyzer=positional),
        grams=TEXT(analyzer=positional),
        title_grams=TEXT(analyzer=positional),
        stems=TEXT(analyzer=_pretokenized(positions=False), phrase=False),
        # Whole titles as single terms: a query equal to a title is one lookup away.
        title_key=ID(),
        english_title_key=ID(),
        alias_title_key=ID(),
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


def _head(pairs: list, ends: list, whole: str, part: str) -> list | None:
    """The tokens of ``part`` taken from those of ``whole`` (``pairs``, with their end
    characters ``ends``), when ``part`` is a head of ``whole`` that ends at a line break (a
    hard word boundary: analyzing ``part`` alone gives the same tokens, positions included);
    else None."""
    n = len(part)
    if not whole.startswith(part) or not (n == len(whole) or whole[n] == "\n" or part[-1:] == "\n"):
        return None
    # The tokens ending by n come first (a word never spans the line break, and every token
    # of a later word ends after it): the end test is monotonic, so bisect finds the cut.
    return pairs[: bisect.bisect_right(ends, n)]


def analyze_document(doc: dict, locale: str) -> dict[str, list]:
    """Each analyzed field of ``doc`` (see :func:`document_for`) through helpapi's chain for
    ``locale``: ``[(term, position), ...]`` for :data:`POSITION_FIELDS`, ``[term, ...]``
    for :data:`FREQUENCY_FIELDS`.

    The title, the title's bigrams and the stems field are heads of the text and bigram
    fields (see :func:`document_for`): their tokens are taken from those, so each text is
    word-broken once.
    """
    # The chains' build-side fast paths (helpapi.analysis.index_words...): the same tokens.
    words = index_words(locale)
    text, text_ends = words.pairs(doc["text"])
    gram, gram_ends = index_gram_pairs(doc["grams"])
    title = _head(text, text_ends, doc["text"], doc["title"])
    if title is None:
        title = words.pairs(doc["title"])[0]
    title_gram = _head(gram, gram_ends, doc["grams"], doc["title_grams"])
    if title_gram is None:
        title_gram = index_gram_pairs(doc["title_grams"])[0]
    stem_words = _head(text, text_ends, doc["text"], doc["stems"])
    if stem_words is None:
        stem_words = words.pairs(doc["stems"])[0]
    return {
        "text": text,
        "title": title,
        "grams": gram,
        "title_grams": title_gram,
        "stems": index_stems(locale)([t for t, _ in stem_words]),
    }


def whoosh_values(analyzed: dict[str, list]) -> dict[str, str]:
    """The analyzed fields as the pre-analyzed text the schema's Whoosh analyzers read.

    Raises ValueError if a term holds a separator (it would be indexed as other terms).
    """
    out = {}
    for f in POSITION_FIELDS + FREQUENCY_FIELDS:
        tokens = analyzed[f]
        if f in POSITION_FIELDS:
            value = TERM_SEP.join(f"{t}{POS_SEP}{p}" for t, p in tokens)
            seps = len(tokens)
        else:
            value = TERM_SEP.join(tokens)
            seps = 0
        if tokens and (value.count(TERM_SEP) != len(tokens) - 1 or value.count(POS_SEP) != seps):
            raise ValueError(f"a term of field {f!r} holds a separator character")
        out[f] = value
    return out


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
    # The front matter's other title (the localized body starts with it): a title too, so
    # the title boosts and the whole-title and typed-start keys find the article by it.
    alias = article.title_alias if locale != ENGLISH else ""
    return {
        "slug": article.slug,
        "assetid": article.assetid or "",
        "text": "\n".join(x for x in (titles, body, extra_body) if x),
        "title": f"{titles}\n{alias}" if alias else titles,
        "grams": f"{title}\n{body}",
        "title_grams": f"{title}\n{alias}" if alias else title,
        "stems": f"{titles}\n{body}",
        # The build's fast path of title_key (the same keys).
        "title_key": index_title_key(title, locale),
        "english_title_key": index_title_key(extra_title, locale) if extra_title else "",
        "alias_title_key": index_title_key(alias, locale) if alias else "",
        "display_title": title,
        "english_title": article.english_title,
        "body": body,
        "markdown": markdown,
        "html": _html_of(article, markdown),
        "refs": article.refs,
        "updated": article.updated,
        "source_locale": article.locale,
    }
