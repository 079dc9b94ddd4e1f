"""Stop 22: what a worker remembers does not grow with every locale it serves (#14 item 5)."""

from __future__ import annotations

from whoosh.analysis import StemFilter

from helpapi import analysis
from helpapi import query


def _held(locale: str) -> int:
    """Words the stems chain of ``locale`` holds in caches of its own (Whoosh's StemFilter
    keeps an LFU cache of up to 50,000 words by default: one per locale in every worker)."""
    filters = [f for f in analysis.stems_analyzer(locale).items if isinstance(f, StemFilter)]
    assert filters
    held = 0
    for f in filters:
        info = getattr(f._stem, "cache_info", None)
        held += info()[3] if info is not None else 0
    return held


def test_the_stems_chain_of_a_locale_keeps_no_words():
    """A flood of distinct words through the query's stems (relaxed pass) and the title
    forms' stems: what is remembered is process-wide and bounded (query._stem_of,
    analysis.stem_of), not one cache more per locale (~12 MB each at Whoosh's bound)."""
    for locale in ("de-DE", "fr-FR", "fi-FI", "sv-SE"):
        stems = set()
        for i in range(300):
            word = f"zqx{i}kehrungen"
            stems.add(query._stem_of(word, locale))
            analysis.stem_of(word + "s", locale)
        assert len(stems) == 300  # (each a word of its own, stemmed)
        assert _held(locale) == 0, locale
    # The stems themselves are as before: Whoosh's stemmer, folded.
    assert analysis.stem_of("passwords", "en-US") == "password"
    assert query._stem_of("Kennwörter", "de-DE") == analysis.stem_of("kennwörter", "de-DE")
