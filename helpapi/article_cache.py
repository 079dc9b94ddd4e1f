"""A per-article cache of the build's work, kept in the index folder between builds.

Most of a locale's build is per article and depends only on the article's file: parsing,
rendering its HTML, and ICU analysis. An incremental build after one edited article rebuilds
the whole locale (a generation is immutable), so the cache keeps, per locale, each article's
parsed fields, its document (:func:`helpapi.schema.document_for`) and its analyzed tokens
(:func:`helpapi.schema.analyze_document`), keyed by

* the hash of the file's bytes and its kind (Markdown or HTML),
* the linked source article's English (a plain translation carries it; see
  :mod:`helpapi.content`), when the article has one,
* and a fingerprint of the code and libraries that produced it (:data:`VERSION`, the source of
  the parsing, rendering and analysis modules, ICU's version), which covers the whole file.

Only the Whoosh segment and ``postings.bin`` are then written again, from the cached tokens.

Safety: one file per locale (``<index>/.article-cache/<locale>.cache``), written to a temporary
file and renamed in. It starts with a magic string, the fingerprint and a BLAKE2 digest of the
payload; a file that fails any check, or whose payload does not have the expected shape, is
ignored as a whole (the locale is built from its files, and the cache written anew), and an
entry that does not match an article's current key is never used. The payload is ``marshal``
data (plain str, list, tuple, dict and None only: loading it runs no code, unlike pickle).

Bounded: a build writes only the entries of the articles it indexed (deleted articles drop
out), and a locale's file larger than :data:`MAX_BYTES` is not written.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
import time
from importlib import metadata
from pathlib import Path

DIRNAME = ".article-cache"
# Bump when what an entry holds changes in a way the code fingerprint would not catch.
VERSION = 1
MAGIC = b"HACACHE1"
MAX_BYTES = 512 * 1024 * 1024
_MARSHAL_VERSION = 4
# Modules whose code decides what an entry holds.
_MODULES = ("corpus", "content", "html_source", "render", "analysis", "schema", "memindex")
# Distributions whose versions decide it too (an upgrade renders or parses differently).
_LIBRARIES = ("cmarkgfm", "nh3", "beautifulsoup4", "PyYAML", "python-frontmatter")


def fingerprint() -> str:
    """Hash of everything besides an article's own bytes that its entry depends on: the code
    (:func:`_code_fingerprint`) and the front-matter fields kept as facet labels, which are
    parsed fields (``HELPAPI_FACETS``, read when parsing)."""
    from .corpus import facet_keys

    extra = "\0".join(facet_keys()).encode()
    return hashlib.sha1(_code_fingerprint().encode() + b"\1" + extra).hexdigest()


@functools.cache
def _code_fingerprint() -> str:
    h = hashlib.sha1(f"{VERSION}|{sys.version_info[:2]}|{_MARSHAL_VERSION}".encode())
    try:
        import icu

        h.update(f"|{icu.VERSION}|{icu.ICU_VERSION}|{icu.UNICODE_VERSION}".encode())
    except ImportError:  # pragma: no cover - PyICU is a dependency
        pass
    # The libraries that shape a parsed or rendered article: an upgrade may change the HTML or
    # the text of unchanged files, so cached articles made with another version are not reused.
    for dist in _LIBRARIES:
        try:
            h.update(f"|{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            h.update(f"|{dist}=?".encode())
    here = Path(__file__).resolve().parent
    for name in _MODULES:
        h.update(name.encode() + b"\0" + (here / f"{name}.py").read_bytes())
    return h.hexdigest()


def cache_path(index_dir, locale: str) -> Path:
    """The cache file of one locale."""
    return Path(index_dir) / DIRNAME / f"{locale}.cache"


def file_key(data: bytes, path, digest: str | None = None) -> str:
    """An article file's key: its bytes' hash and its kind (the extension decides the parser).

    ``digest``: the SHA-1 hex digest of ``data`` when the caller already has it (the build's
    manifest hash, :func:`helpapi.corpus.content_hash`), so the bytes are hashed once.
    """
    kind = "html" if str(path).lower().endswith((".html", ".htm")) else "md"
    return f"{digest or hashlib.sha1(data).hexdigest()}:{kind}"


def link_key(article) -> str:
    """Hash of the article's English once linked (its sxs spans, or its linked source's
    title and body): the part of its document that is not decided by its own file."""
    return hashlib.sha1(f"{article.english_title}\x1f{article.english_body}".encode()).hexdigest()


def pack(article_fields: dict, doc: dict, analyzed: dict) -> bytes:
    """One article's cached work as bytes (kept as such until the cache is written)."""
    return marshal.dumps((article_fields, doc, analyzed), _MARSHAL_VERSION)


def unpack(blob) -> tuple[dict, dict, dict] | None:
    """``(article fields, document, analyzed)`` of a :func:`pack`-ed entry; None when it is
    damaged (it is then not used)."""
    try:
        value = marshal.loads(blob)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(value, tuple) and len(value) == 3):
        return None
    if not all(isinstance(part, dict) for part in value):
        return None
    return value


def load(index_dir, locale: str) -> dict:
    """``{slug: (file key, link key, packed entry)}`` of a locale; ``{}`` when there is no
    cache or it fails a check (never an exception). Entries of another shape are left out."""
    try:
        with open(cache_path(index_dir, locale), "rb") as fh:
            data = fh.read()
    except OSError:
        return {}
    head = len(MAGIC) + 40 + 32
    if len(data) < head or not data.startswith(MAGIC):
        return {}
    if data[len(MAGIC) : len(MAGIC) + 40] != fingerprint().encode():
        return {}
    payload = memoryview(data)[head:]
    if hashlib.blake2b(payload, digest_size=32).digest() != data[len(MAGIC) + 40 : head]:
        return {}
    try:
        entries = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {slug: e for slug, e in entries.items() if isinstance(slug, str) and _valid(e)}


def _valid(entry) -> bool:
    return (
        isinstance(entry, tuple)
        and len(entry) == 3
        and isinstance(entry[0], str)
        and isinstance(entry[1], str)
        and isinstance(entry[2], bytes)
    )


def store(index_dir, locale: str, entries: dict) -> bool:
    """Write the locale's cache ``{slug: (file key, link key, packed entry)}`` atomically;
    False when it was too big to keep, or could not be written (the build goes on)."""
    path = cache_path(index_dir, locale)
    try:
        payload = marshal.dumps(entries, _MARSHAL_VERSION)
    except ValueError:  # an unmarshallable value: no cache rather than a failed build
        payload = None
    if payload is None or len(payload) > MAX_BYTES:
        discard(index_dir, locale)
        return False
    digest = hashlib.blake2b(payload, digest_size=32).digest()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(MAGIC + fingerprint().encode() + digest)
            fh.write(payload)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def discard(index_dir, locale: str) -> None:
    """Remove a locale's cache file (a locale gone from the corpus)."""
    with contextlib.suppress(OSError):
        cache_path(index_dir, locale).unlink()


def prune(index_dir, locales) -> None:
    """Remove the cache files of locales not in ``locales``, and leftover partial files."""
    folder = Path(index_dir) / DIRNAME
    keep = {f"{loc}.cache" for loc in locales}
    now = time.time()
    with contextlib.suppress(OSError):
        for p in folder.iterdir():
            # A partial file may be another build's, still being written: only old ones go.
            if p.name.endswith(".part"):
                with contextlib.suppress(OSError):
                    if now - p.stat().st_mtime > 3600:
                        p.unlink()
            elif p.name not in keep:
                with contextlib.suppress(OSError):
                    p.unlink()
