"""Owner controls over relevance: synonyms and query rules, read from ``<corpus>/_config``.

Layout::

    <corpus>/_config/synonyms/<locale>.txt   Solr synonyms for one locale (helpapi.synonyms)
    <corpus>/_config/synonyms/_all.txt       ... for every locale
    <corpus>/_config/rules.yml               pinned and hidden articles (helpapi.rules)

Applied at query time, so no rebuild is needed. Each worker stats the files at most once a
second (:class:`ConfigHolder`) and reparses the ones that changed; a file that no longer parses
is logged and its last good version stays in force. :attr:`Config.version` changes with the
config and is part of the result-cache key, so no cached answer outlives a change.

A search with synonyms runs the engine for the typed text and for each variant (at most
:data:`helpapi.synonyms.MAX_EXPANSIONS`), then merges the runs: documents matching the typed
words first (in their own order), then documents that only a synonym matched; ``total`` is the
size of the union. Rules then hide articles and put pinned ones first, marked ``"pinned"``.
With no config at all, :func:`runner` is None and searches run exactly as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from . import facets
from . import rules as rules_mod
from . import synonyms as syn_mod
from .corpus import is_locale_folder
from .query import normalize_query
from .query import parse_user_text
from .search import Hits
from .search import run_query
from .snippets import make_snippet

CONFIG_DIR = "_config"
SYNONYMS_DIR = "synonyms"
RULES_FILE = "rules.yml"
ALL = "_all"
CHECK_SECONDS = 1.0
MAX_FILE_BYTES = 1024 * 1024
log = logging.getLogger("helpapi.controls")


class ConfigError(ValueError):
    """A config file that does not parse: ``path`` (relative to the corpus) and ``line``."""

    def __init__(self, path: str, line: int, reason: str):
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def synonyms_path(name: str) -> str:
    """The corpus-relative path of a synonyms file (``name``: a locale tag or ``_all``)."""
    return f"{CONFIG_DIR}/{SYNONYMS_DIR}/{name}.txt"


RULES_PATH = f"{CONFIG_DIR}/{RULES_FILE}"


def valid_name(name: str) -> bool:
    """Whether ``name`` may name a synonyms file: ``_all`` or a locale tag."""
    return name == ALL or is_locale_folder(name)


def parse_file(rel: str, text: str):
    """Parse one config file's text by its path; :class:`ConfigError` when it is bad."""
    try:
        if rel == RULES_PATH:
            return tuple(rules_mod.parse(text))
        name = rel.rsplit("/", 1)[-1][: -len(".txt")]
        if not valid_name(name):
            raise ConfigError(rel, 0, "the file name must be a locale tag (like de-DE) or _all")
        return tuple(syn_mod.parse(text, "root" if name == ALL else name))
    except (syn_mod.SynonymError, rules_mod.RuleError) as exc:
        raise ConfigError(rel, exc.line, exc.reason) from None


def read_text(path: Path) -> str:
    """A config file's text; ValueError when it is too large or not UTF-8."""
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from None


def config_files(corpus_dir) -> list[str]:
    """Corpus-relative paths of the config files present, sorted."""
    root = Path(corpus_dir) / CONFIG_DIR
    found = []
    syn = root / SYNONYMS_DIR
    if syn.is_dir():
        found += [synonyms_path(p.name[:-4]) for p in syn.iterdir() if p.name.endswith(".txt")]
    if (root / RULES_FILE).is_file():
        found.append(RULES_PATH)
    return sorted(found)


def check_config(corpus_dir) -> list[ConfigError]:
    """Every config file of a corpus that does not parse (``helpapi corpus check``)."""
    problems = []
    for rel in config_files(corpus_dir):
        try:
            parse_file(rel, read_text(Path(corpus_dir) / rel))
        except ConfigError as exc:
            problems.append(exc)
        except (OSError, ValueError) as exc:
            problems.append(ConfigError(rel, 0, str(exc)))
    return problems


@dataclasses.dataclass(frozen=True)
class Config:
    """The config in force: parsed synonyms by lower-case file name, the rules, a version."""

    synonyms: dict = dataclasses.field(default_factory=dict)
    rules: tuple = ()
    version: str = ""
    problems: dict = dataclasses.field(default_factory=dict)  # path -> why its last good stays
    # locale -> its analyzed SynonymMap, built on first use (a config is never changed).
    _maps: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """No synonyms and no rules: searches run as if this module did not exist."""
        return not self.rules and not any(self.synonyms.values())

    def synonym_map(self, locale: str) -> syn_mod.SynonymMap:
        """The synonyms of ``locale``: ``_all.txt`` then its own file."""
        found = self._maps.get(locale)
        if found is None:
            groups = self.synonyms.get(ALL, ()) + self.synonyms.get(locale.lower(), ())
            found = syn_mod.SynonymMap(list(groups), locale)
            # Bounded: /v1/analyze takes any well-formed tag. Racing threads build the same map.
            if len(self._maps) < 256:
                self._maps[locale] = found
        return found

    def expansions(self, text: str, locale: str) -> list[str]:
        """The variants of ``text`` searched besides it in ``locale``."""
        if not any(self.synonyms.values()):
            return []
        return self.synonym_map(locale).expand(text)

    def rules_for(self, text: str, locale: str) -> tuple[list[str], set[str]]:
        """``(slugs pinned in order, slugs hidden)`` for ``text`` in ``locale``."""
        if not self.rules:
            return [], set()
        return rules_mod.matching(self.rules, normalize_query(text), locale)


class ConfigHolder:
    """A worker's :class:`Config`, reloaded when a file changes (checked once a second)."""

    def __init__(self, corpus_dir):
        self.corpus_dir = Path(corpus_dir)
        self._lock = threading.Lock()
        self._checked = float("-inf")
        # path -> (signature seen, last good parse or None, its text's hash, problem)
        self._files: dict[str, tuple] = {}
        self._config = Config()

    def get(self) -> Config:
        """The config in force; files are stat'ed at most once per :data:`CHECK_SECONDS`."""
        if time.monotonic() - self._checked >= CHECK_SECONDS:
            with self._lock:
                if time.monotonic() - self._checked >= CHECK_SECONDS:
                    self._scan()
        return self._config

    def reload(self) -> Config:
        """Check the files now (after this worker wrote one)."""
        with self._lock:
            self._scan()
        return self._config

    def _signature(self, rel: str):
        try:
            st = os.stat(self.corpus_dir / rel)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _scan(self) -> None:
        self._checked = time.monotonic()
        try:
            present = config_files(self.corpus_dir)
        except OSError:
            present = []
        files = {}
        changed = set(self._files) - set(present)
        for rel in present:
            sig = self._signature(rel)
            old = self._files.get(rel)
            if old is not None and old[0] == sig:
                files[rel] = old
                continue
            changed.add(rel)
            good, digest = (old[1], old[2]) if old else (None, "")
            try:
                text = read_text(self.corpus_dir / rel)
                parsed = parse_file(rel, text)
            except (ConfigError, OSError, ValueError) as exc:
                problem = str(exc) if isinstance(exc, ConfigError) else f"{rel}: {exc}"
                log.warning("config %s not loaded, the last good version stays: %s", rel, problem)
                files[rel] = (sig, good, digest, problem)
                continue
            digest = hashlib.sha1(text.encode()).hexdigest()
            files[rel] = (sig, parsed, digest, None)
        self._files = files
        if changed:
            self._config = self._build()

    def _build(self) -> Config:
        synonyms, rules, problems, parts = {}, (), {}, []
        for rel, (_, parsed, digest, problem) in sorted(self._files.items()):
            if problem:
                problems[rel] = problem
            if parsed is None:
                continue
            parts.append(f"{rel}:{digest}")
            if rel == RULES_PATH:
                rules = parsed
            else:
                synonyms[rel.rsplit("/", 1)[-1][:-4].lower()] = parsed
        version = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16] if parts else ""
        return Config(synonyms, rules, version, problems)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# Merging runs: tiers, lower first. The typed text's run before a synonym's, and in each, a
# strict match before a spelling-corrected one before a relaxed one.
_STRICT, _CORRECTED, _RELAXED = 0, 2, 4


def _tier(found: Hits) -> int:
    if found.relaxed:
        return _RELAXED
    return _CORRECTED if found.corrected else _STRICT


def runner(config: Config):
    """The ``run`` for :func:`helpapi.search.search` under ``config``; None with no config."""
    if config.empty:
        return None

    def run(ixset, text, locale, limit=10, offset=0, prefix=False, scope=None) -> Hits:
        return controlled_query(ixset, config, text, locale, limit, offset, prefix, scope)

    return run


def controlled_query(
    ixset,
    config: Config,
    text: str,
    locale: str,
    limit: int,
    offset: int,
    prefix: bool,
    scope=None,
) -> Hits:
    """:func:`helpapi.search.run_query` with ``config``'s synonyms and rules applied.

    ``scope``'s filters (helpapi.facets) apply to every run and to pinned articles too; its
    sort orders the merged matches (pinned ones stay first).
    """
    variants = config.expansions(text, locale)
    pins, hides = config.rules_for(text, locale)
    if not variants and not pins and not hides:
        return run_query(ixset, text, locale, limit, offset, prefix, scope)
    texts = [text, *variants]
    # The typed text's run brings the first page's hits (hidden articles may move later ones
    # onto it). The variants' runs bring their ranked lists only: most of their hits would be
    # the typed text's again, and snippets are the larger part of a run's cost. Entries still
    # missing are fetched for the page's own documents (see _page_hits).
    head = limit + len(hides) if offset == 0 else 0
    runs = [
        run_query(ixset, t, locale, 0 if i else head, 0, prefix, scope) for i, t in enumerate(texts)
    ]
    # A run whose strict matches the filters removed matched strictly too (search.run_query).
    # (A run whose relaxed matches the filters removed did not match strictly.)
    strict_found = any((r.total or r.filtered_out) and not r.relaxed for r in runs)
    best: dict[int, tuple] = {}  # docnum -> (sort key, run, position in that run)
    for i, found in enumerate(runs):
        if not found.ranked or (strict_found and found.relaxed):
            continue  # relaxed matches only when nothing matched strictly
        tier = _tier(found) + (1 if i else 0)
        for pos, (doc, score) in enumerate(found.ranked):
            # The typed text keeps its own order; synonym matches go by score.
            key = (tier, pos if i == 0 else -score, doc)
            if doc not in best or key < best[doc][0]:
                best[doc] = (key, i, pos)
    searcher = ixset.searcher(locale)
    hidden = {searcher.document_number(slug=s) for s in hides} - {None}
    pinned = [d for d in (searcher.document_number(slug=s) for s in pins) if d is not None]
    pinned = list(dict.fromkeys(pinned))
    allowed = facets.allowed_in(ixset, locale, scope)
    pinned_before_filter = bool(pinned)
    if allowed is not None:
        pinned = [d for d in pinned if d in allowed]
    left_out = hidden | set(pinned)
    rest = sorted((d for d in best if d not in left_out), key=lambda d: best[d])
    if scope is not None and scope.sort == "updated":
        date_key = ixset.facets[locale].date_key()
        rest.sort(key=lambda d: date_key((d, 0.0)))
    order = pinned + rest
    page = order[offset : offset + limit]
    hits = _page_hits(ixset, runs, texts, [best.get(d) for d in page], locale, prefix, scope)
    for n, doc in enumerate(page):
        if hits[n] is None:  # pinned, and matched by no run
            hits[n] = _pinned_hit(ixset, doc, texts[0], locale)
        if doc in pinned:
            hits[n] = dict(hits[n], pinned=True)
    ranked_runs = [r for r in runs if r.total and not (strict_found and r.relaxed)]
    relaxed = bool(ranked_runs) and all(r.relaxed for r in ranked_runs)
    # "Showing results for <correction>" only when no typed or synonym word matched as typed.
    exact = any(r.total and _tier(r) == _STRICT for r in runs)
    corrected = None if exact else runs[0].corrected
    ranked = [(d, 0.0) for d in order]  # the merged matches (for facet counts)
    # Matches (or pinned articles) that the filters removed, every one: the locale's answer is
    # empty, with no English fallback (search.search).
    filtered_out = not order and (pinned_before_filter or any(r.filtered_out for r in runs))
    return Hits(len(order), hits, relaxed, corrected if order else None, ranked, filtered_out)


def _page_hits(ixset, runs, texts, places, locale, prefix, scope=None) -> list:
    """The result entries at ``places`` (``(key, run, position)`` or None), from their runs:
    the hits a run already built, else one more run per run for the positions it lacks."""
    out: list = [None] * len(places)
    missing: dict[int, list[tuple[int, int]]] = {}
    for n, where in enumerate(places):
        if where is None:
            continue
        _, i, pos = where
        if pos < len(runs[i].hits):  # a run's hits are the head of its ranked list
            out[n] = runs[i].hits[pos]
        else:
            missing.setdefault(i, []).append((n, pos))
    for i, wanted in missing.items():
        low = min(pos for _, pos in wanted)
        span = max(pos for _, pos in wanted) - low + 1
        if span <= 4 * len(places):
            fetched = run_query(ixset, texts[i], locale, span, low, prefix, scope).hits
            for n, pos in wanted:
                out[n] = fetched[pos - low]
        else:  # far apart (a synonym run whose other matches the typed text already had)
            for n, pos in wanted:
                out[n] = run_query(ixset, texts[i], locale, 1, pos, prefix, scope).hits[0]
    return out


def _pinned_hit(ixset, doc: int, text: str, locale: str) -> dict:
    """The result entry of a pinned article that the query does not match."""
    stored = ixset.searcher(locale).stored_fields(doc)
    surfaces = [u.text for u in parse_user_text(text, locale)]
    return {
        "id": stored.get("assetid") or stored["slug"],
        "assetid": stored.get("assetid") or None,
        "slug": stored["slug"],
        "title": stored["display_title"],
        "snippet": make_snippet(stored.get("body", ""), surfaces),
        "score": 0.0,
        "locale": locale,
    }


__all__ = [
    "Config",
    "ConfigError",
    "ConfigHolder",
    "check_config",
    "controlled_query",
    "runner",
    "write_atomic",
]
