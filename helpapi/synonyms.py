"""Synonyms in the Solr format, applied at query time by rewriting the query. No Flask here.

A file holds one rule a line (``#`` starts a comment line, blank lines are skipped):

* ``mfa, 2fa, two-step verification``: equivalent; any of them also searches the others.
* ``i pod, ipod => ipod touch``: one-way; the left side also searches the right side.

Entries may be several words, and in any script: each entry is analyzed with the words
analyzer of the locale it is used in (:func:`helpapi.analysis.words_analyzer`, ICU word
breaking, so ``多要素認証`` and Thai entries match the query's own words). A query is rewritten
into the typed text plus at most :data:`MAX_EXPANSIONS` variants, each with some matched
entries replaced by a synonym; :mod:`helpapi.controls` runs and merges them.
"""

from __future__ import annotations

import dataclasses
import itertools

from .analysis import clean_text
from .analysis import words_analyzer

# Variants searched besides the typed text: each costs one more engine run.
MAX_EXPANSIONS = 4
# Matched places in one query that are rewritten (later ones are left as typed).
MAX_SITES = 3
# Replacements tried for one matched place.
MAX_REPLACEMENTS = 4
MAX_LINE_CHARS = 2000
MAX_ENTRIES_PER_LINE = 64
MAX_WORDS_PER_ENTRY = 8


class SynonymError(ValueError):
    """A line of a synonyms file that is not a valid rule; ``line`` is 1-based."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line, self.reason = line, message


@dataclasses.dataclass(frozen=True)
class Group:
    """One rule as written: ``inputs`` expand to ``outputs`` (equivalent: both the same)."""

    line: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    equivalent: bool


def _entries(text: str, line: int, locale: str) -> tuple[str, ...]:
    out = []
    for raw in text.split(","):
        entry = " ".join(raw.split())
        if not entry:
            raise SynonymError(line, "empty entry (two commas in a row, or a comma at an end)")
        words = key_of(entry, locale)
        if not words:
            raise SynonymError(line, f"entry {entry!r} has no words")
        if len(words) > MAX_WORDS_PER_ENTRY:
            raise SynonymError(line, f"entry {entry!r} has more than {MAX_WORDS_PER_ENTRY} words")
        out.append(entry)
    if len(out) > MAX_ENTRIES_PER_LINE:
        raise SynonymError(line, f"more than {MAX_ENTRIES_PER_LINE} entries")
    return tuple(out)


def parse(text: str, locale: str = "root") -> list[Group]:
    """The rules of a synonyms file; :class:`SynonymError` naming the first bad line.

    ``locale`` analyzes the entries to check each has words (``root`` for ``_all.txt``).
    """
    groups = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE_CHARS:
            raise SynonymError(number, f"longer than {MAX_LINE_CHARS} characters")
        if "=>" in line:
            parts = line.split("=>")
            if len(parts) != 2:
                raise SynonymError(number, "more than one '=>'")
            left, right = (_entries(p, number, locale) for p in parts)
            groups.append(Group(number, left, right, False))
        else:
            entries = _entries(line, number, locale)
            if len(entries) < 2:
                raise SynonymError(
                    number, "one entry alone is no synonym: write 'a, b' or 'a => b'"
                )
            groups.append(Group(number, entries, entries, True))
    return groups


def key_of(entry: str, locale: str) -> tuple[str, ...]:
    """An entry's (or a text's) normalized words in ``locale``: what matching compares."""
    return tuple(t.text for t in words_analyzer(locale)(clean_text(entry)))


class SynonymMap:
    """The rules of one locale, analyzed: matched word sequences -> replacement texts."""

    def __init__(self, groups: list[Group], locale: str):
        self.locale = locale
        self.table: dict[tuple[str, ...], list[str]] = {}
        for group in groups:
            for entry in group.inputs:
                key = key_of(entry, locale)
                if not key:
                    continue
                targets = self.table.setdefault(key, [])
                for out in group.outputs:
                    out_key = key_of(out, locale)
                    if out_key and out_key != key and out not in targets:
                        targets.append(out)
        self.longest = max((len(k) for k in self.table), default=0)

    def __bool__(self) -> bool:
        return bool(self.table)

    def matches(self, text: str) -> list[tuple[int, int, str, list[str]]]:
        """Places of ``text`` that match an entry, leftmost longest first, not overlapping:
        ``(start, end, matched text, replacements)``, at most :data:`MAX_SITES`."""
        if not self.table:
            return []
        # Whoosh reuses one token object: copy each one's fields out.
        tokens = [
            (t.text, t.startchar, t.endchar) for t in words_analyzer(self.locale)(text, chars=True)
        ]
        words = [t[0] for t in tokens]
        sites, i = [], 0
        while i < len(words) and len(sites) < MAX_SITES:
            for n in range(min(self.longest, len(words) - i), 0, -1):
                found = self.table.get(tuple(words[i : i + n]))
                if found:
                    start, end = tokens[i][1], tokens[i + n - 1][2]
                    sites.append((start, end, text[start:end], found[:MAX_REPLACEMENTS]))
                    i += n
                    break
            else:
                i += 1
        return sites

    def expand(self, text: str) -> list[str]:
        """Variants of ``text`` to search besides it: fewest replacements first, at most
        :data:`MAX_EXPANSIONS`, none repeating ``text``."""
        text = clean_text(text)
        sites = self.matches(text)
        if not sites:
            return []
        # Per place: -1 (kept as typed) or the index of a replacement.
        options = [range(-1, len(reps)) for *_, reps in sites]
        picks = [c for c in itertools.product(*options) if any(j >= 0 for j in c)]

        def rank(pick):
            # One replacement before two; first synonyms of every place before second ones.
            used = [(site, j) for site, j in enumerate(pick) if j >= 0]
            return (len(used), sum(j for _, j in used), [site for site, _ in used])

        picks.sort(key=rank)
        out: list[str] = []
        for pick in picks:
            combo = [reps[j] if j >= 0 else None for (*_, reps), j in zip(sites, pick, strict=True)]
            parts, pos = [], 0
            for (start, end, _, _), rep in zip(sites, combo, strict=True):
                if rep is None:
                    continue
                # Spaces around: a Latin word put into a CJK or Thai run stays a word.
                parts += [text[pos:start], f" {rep} "]
                pos = end
            variant = " ".join(("".join(parts) + text[pos:]).split())
            if variant != text and variant not in out:
                out.append(variant)
            if len(out) >= MAX_EXPANSIONS:
                break
        return out


__all__ = [
    "MAX_EXPANSIONS",
    "Group",
    "SynonymError",
    "SynonymMap",
    "key_of",
    "parse",
]
