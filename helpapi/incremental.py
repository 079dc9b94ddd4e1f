"""What changed since the serving generation: the plan of an incremental build.

Every generation's ``meta.json`` keeps, per locale, a manifest ``{slug: sha1 of the file}`` (for
en-US: of the English text). Comparing it with the corpus on disk tells which locales must be
rebuilt; the others are carried over unchanged. en-US is rebuilt only when the set of articles
changed or a changed file's English text differs from what en-US holds.

A serving locale whose files fail verification (sizes and checksums against ``meta.json``, or
none recorded) counts as changed: the build rebuilds it rather than carrying the damage over.
The plan verifies the locales it rebuilds (their serving files may be reused) or, when nothing
changed, every locale; the build verifies the others as it carries them over.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from . import analysis
from . import generations
from .corpus import DEFAULT_MAX_ARTICLE_BYTES
from .corpus import UnreadableArticle
from .corpus import article_files
from .corpus import content_hash
from .corpus import discover_locales
from .corpus import english_hash
from .corpus import parse_article
from .corpus import read_bytes
from .schema import ENGLISH


@dataclasses.dataclass
class Plan:
    """Locales to rebuild, and per-locale counts of what changed."""

    locales: list[str]
    changes: dict[str, dict[str, int]]
    removed: list[str]
    damaged: dict[str, str] = dataclasses.field(default_factory=dict)  # locale -> why
    # The serving generation, whose locales in ``checked`` were verified against their
    # checksums: such a rebuilt locale (when not in ``damaged``) may reuse its previous
    # segment's bytes. The others are verified as they are carried over.
    verified: str | None = None
    # locale -> {slug: content hash} of its files as this plan read them: the build takes an
    # unchanged article from the article cache by this hash, without reading its file again.
    hashes: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    checked: list[str] = dataclasses.field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to do: the serving generation matches the corpus."""
        return not self.locales and not self.removed


def scan_manifest(locale_dir: Path, max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> dict[str, str]:
    """``{slug: content hash}`` of one locale folder (unreadable files hash as empty)."""
    manifest = {}
    root = Path(locale_dir).parent
    for slug, path in article_files(locale_dir, root):
        try:
            manifest[slug] = content_hash(read_bytes(path, root, max_bytes))
        except UnreadableArticle:
            manifest[slug] = ""
    return manifest


def _diff(old: dict[str, str], new: dict[str, str]) -> dict[str, int]:
    return {
        "added": sum(1 for s in new if s not in old),
        "updated": sum(1 for s in new if s in old and old[s] != new[s]),
        "deleted": sum(1 for s in old if s not in new),
    }


def _english_changed(corpus_dir: Path, locale: str, slugs, english_manifest, max_bytes) -> bool:
    paths = dict(article_files(corpus_dir / locale, corpus_dir))
    for slug in slugs:
        try:
            article = parse_article(paths[slug], locale, slug, None, corpus_dir, max_bytes)
        except Exception:  # rejected by the build, which reports it
            continue
        if not article.has_sxs:
            continue  # a plain file holds no English: the English index never has its text
        if english_manifest.get(slug) != english_hash(article):
            return True
    return False


def plan_changes(
    corpus_dir: Path,
    index_dir: Path,
    max_bytes: int = DEFAULT_MAX_ARTICLE_BYTES,
    source_locale: str = ENGLISH,
) -> Plan:
    """Compare the corpus with the serving generation's manifests.

    A change in the source folder (``source_locale``) rebuilds the English index and every
    locale, whose articles carry their linked source's English.
    """
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    everything = discover_locales(corpus_dir)
    has_source = source_locale in everything
    available = [loc for loc in everything if loc not in (source_locale, ENGLISH)]
    serving = generations.current_generation(index_dir)
    if serving is None:
        return Plan([*available, ENGLISH], {}, [])
    try:
        meta = generations.read_meta(index_dir / serving)
        old = dict(meta["locales"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Plan([*available, ENGLISH], {}, [])
    if meta.get("analysis") != analysis.version():
        # Terms made by another analysis: carried over, a locale would not match the queries
        # (nor the locales rebuilt beside it). Everything is built again, nothing reused.
        return Plan([*available, ENGLISH], {}, [])
    english_manifest = old.get(ENGLISH, {}).get("manifest")
    source_before = old.get(ENGLISH, {}).get("source_manifest") or {}
    source_now = scan_manifest(corpus_dir / source_locale, max_bytes) if has_source else {}
    source_diff = _diff(source_before, source_now)
    source_changed = any(source_diff.values())
    hashes = {loc: scan_manifest(corpus_dir / loc, max_bytes) for loc in available}
    removed = [loc for loc in old if loc != ENGLISH and loc not in available]
    # The locales rebuilt for what changed: a rebuilt locale may reuse its serving files.
    changing = [
        loc
        for loc in available
        if source_changed or old.get(loc, {}).get("manifest") != hashes[loc]
    ]
    # The serving files are read whole to find damage, once per build. Here: the locales that
    # change, whose serving segment and postings.bin the build may reuse. The others are
    # verified as they are carried over (indexer._carry_over rebuilds a damaged one; en-US,
    # when it is rebuilt, below): reading every locale here too read each carried one twice
    # per job (a one-article edit in a deployment of 20 locales hashed the whole index
    # twice). When nothing changed, every locale is verified here, so that damage alone still
    # starts a build that repairs it.
    quiet = not changing and not removed and english_manifest is not None
    damaged, checked = {}, []

    def verify(loc: str) -> None:
        checked.append(loc)
        problem = generations.verify_locale(index_dir / serving, loc, old[loc].get("files"))
        if problem:
            damaged[loc] = problem

    for loc in old:
        if (loc == ENGLISH and quiet) or loc in (available if quiet else changing):
            verify(loc)
    rebuild, changes, english = [], {}, ENGLISH in damaged
    if source_changed:
        changes[source_locale] = source_diff
        english = True
    for loc in available:
        new = hashes[loc]
        before = old.get(loc, {}).get("manifest")
        if loc in damaged and before is not None:
            rebuild.append(loc)
            changes[loc] = _diff(before, new)
            if any(changes[loc].values()):
                english = True  # not worth the English comparison for a rare repair
            continue
        if before is None:
            rebuild.append(loc)
            changes[loc] = {"added": len(new), "updated": 0, "deleted": 0}
            english = True
            continue
        diff = _diff(before, new)
        if source_changed and not any(diff.values()):
            rebuild.append(loc)  # its translations' linked English may have changed
            changes[loc] = diff
        elif any(diff.values()):
            rebuild.append(loc)
            changes[loc] = diff
            touched = [s for s in new if before.get(s) != new[s]]
            english = english or bool(diff["added"] or diff["deleted"])
            if not english and english_manifest is not None:
                english = _english_changed(corpus_dir, loc, touched, english_manifest, max_bytes)
    if removed or english_manifest is None:
        english = True
    if english:
        rebuild.append(ENGLISH)
        # Rebuilt, so verified like the locales above (it may reuse its serving files).
        if ENGLISH in old and ENGLISH not in checked:
            verify(ENGLISH)
    return Plan(rebuild, changes, removed, damaged, serving, hashes, checked)
