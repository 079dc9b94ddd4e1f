"""Index generations on disk: build beside the serving one, switch atomically, prune late.

Layout of the index directory::

    index/
      CURRENT              name of the serving generation (replaced by rename, never edited)
      g20261123-172301-1a2b/
        meta.json          what was built: locales, counts, the article catalog, and each
                           file's size and BLAKE2b checksum
        de-DE/ ... en-US/  one Whoosh index per locale
      .build-*/            a build in progress (never read by the service)

A reader resolves ``CURRENT`` once per request and keeps using that generation's open indexes
until the request ends, so a switch never shows it a half-built or vanished index.

Integrity: ``meta.json`` records, per locale, every file's size and BLAKE2b checksum. A
generation is immutable once switched in (files are written in ``.build-*``, renamed in whole,
and never rewritten in place; later builds hard-link them), which is what makes mapping its
files safe. The files are verified in full before a locale is carried over into a new
generation (:func:`verify_locale`); serving checks only their sizes (:func:`check_sizes`).
``CURRENT`` is trusted only when it holds a plain generation name of this folder
(:func:`read_pointer`); otherwise readers fall back to the newest complete generation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from pathlib import Path

POINTER = "CURRENT"
META = "meta.json"
# What new_generation_name() makes; CURRENT must hold exactly such a name (no path).
GENERATION_PATTERN = re.compile(r"g\d{8}-\d{6}-\d{6}-[0-9a-f]{4}")
CHECKSUM = "blake2b"
_CHUNK = 1 << 20


class BadPointer(Exception):
    """``CURRENT`` exists but does not name a complete generation of the index folder."""


def new_generation_name() -> str:
    """A sortable, unique generation name."""
    now = time.time_ns()
    stamp = time.strftime("g%Y%m%d-%H%M%S", time.gmtime(now / 1e9))
    return f"{stamp}-{now // 1000 % 1_000_000:06d}-{secrets.token_hex(2)}"


def is_generation(index_dir: Path, name: str) -> bool:
    """True when ``name`` is a generation name and ``index_dir/name/meta.json`` exists."""
    return bool(GENERATION_PATTERN.fullmatch(name)) and (Path(index_dir) / name / META).is_file()


def read_pointer(index_dir: Path) -> str | None:
    """The generation ``CURRENT`` names; None when there is no ``CURRENT``.

    Raises :class:`BadPointer` (with the reason) when it is empty, unreadable, not a plain
    generation name (a path, ``..``, garbage) or names a folder without ``meta.json``: such a
    pointer is never followed.
    """
    # Messages name the file, not its absolute path: they reach /readyz.
    path = POINTER
    try:
        raw = (Path(index_dir) / POINTER).read_bytes()[:256]
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadPointer(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BadPointer(f"{path} is not text") from None
    if not name:
        raise BadPointer(f"{path} is empty")
    if not GENERATION_PATTERN.fullmatch(name):
        raise BadPointer(f"{path} holds {name[:60]!r}, not a generation name like g20260101-...")
    if not (Path(index_dir) / name).is_dir():
        raise BadPointer(f"{path} names {name}, which does not exist")
    if not (Path(index_dir) / name / META).is_file():
        raise BadPointer(f"{path} names {name}, which has no {META}")
    return name


def current_generation(index_dir: Path) -> str | None:
    """Name of the serving generation; None when nothing was built or ``CURRENT`` is bad."""
    try:
        return read_pointer(index_dir)
    except BadPointer:
        return None


def newest_generation(index_dir: Path) -> str | None:
    """The newest complete generation folder (the fallback when ``CURRENT`` is bad)."""
    try:
        names = sorted((p.name for p in Path(index_dir).iterdir()), reverse=True)
    except OSError:
        return None
    return next((n for n in names if is_generation(index_dir, n)), None)


def file_digest(path: Path) -> str:
    """The hex BLAKE2b digest of a file (the ``meta.json`` checksum)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, CHECKSUM).hexdigest()


def record_files(locale_dir: Path) -> dict[str, list]:
    """``{relative path: [size, checksum]}`` of every file under one locale's folder."""
    locale_dir = Path(locale_dir)
    files = {}
    for path in sorted(locale_dir.rglob("*")):
        if path.is_file():
            rel = path.relative_to(locale_dir).as_posix()
            files[rel] = [path.stat().st_size, file_digest(path)]
    return files


def check_sizes(generation_dir: Path, locale: str, files: dict | None) -> str | None:
    """The cheap check done when a generation is opened for serving: each file's size.

    Returns None when every recorded file exists with its recorded size, else the reason
    (``"<file>: ..."``). Only sizes: checksumming every file on every open would make a
    worker's start (and each switch) cost a full read of the index, seconds for a large one.
    The checksums are verified where the cost is paid once, when a build carries a locale
    over (:func:`verify_locale`). A generation recorded before sizes were (no ``files``)
    passes; the file readers' own checks still apply.
    """
    if files is None:
        return None
    base = Path(generation_dir) / locale
    for rel, (size, _) in files.items():
        try:
            actual = os.stat(base / rel).st_size
        except OSError as exc:
            return f"{rel}: {exc.strerror or exc}"
        if actual != size:
            return f"{rel}: {actual} bytes, {META} says {size}"
    return None


def verify_locale(generation_dir: Path, locale: str, files: dict | None) -> str | None:
    """Full check of one locale's files: sizes, then checksums. None when sound, else why.

    A locale without recorded files cannot be verified and counts as damaged (rebuilding it
    is always safe; carrying an unverified copy forward is not).
    """
    if files is None:
        return f"no file checksums in {META}"
    problem = check_sizes(generation_dir, locale, files)
    if problem:
        return problem
    base = Path(generation_dir) / locale
    for rel, (_, digest) in files.items():
        try:
            if file_digest(base / rel) != digest:
                return f"{rel}: checksum differs from {META}"
        except OSError as exc:
            return f"{rel}: {exc.strerror or exc}"
    return None


def pointer_signature(index_dir: Path):
    """A cheap value that changes whenever ``CURRENT`` is replaced (inode, mtime)."""
    return signature_at(os.path.join(index_dir, POINTER))


def signature_at(pointer: str):
    """:func:`pointer_signature` of the ``CURRENT`` file at ``pointer`` (its path, joined once
    by a caller that checks it on every request)."""
    try:
        st = os.stat(pointer)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def switch_to(index_dir: Path, name: str) -> None:
    """Make generation ``name`` the serving one in a single atomic rename."""
    index_dir = Path(index_dir)
    previous = current_generation(index_dir)
    tmp = index_dir / f".{POINTER}.{secrets.token_hex(4)}"
    tmp.write_text(name + "\n", "utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / POINTER)
    if previous and previous != name:
        # Its mtime now says when it left service: prune() counts the grace period from here.
        os.utime(index_dir / previous)


class LazyMap(Mapping):
    """A mapping whose keys are known up front and whose values are opened on first use.

    A worker serving many locales holds only those it was asked for: ``in``, ``len`` and
    iteration never open anything, ``m[key]`` opens ``key`` once (``opener(key)``, under a
    lock so two threads never open it twice). :meth:`opened` lists what was opened (to close
    or check it) without opening the rest; ``items()``/``values()`` keep the Mapping meaning
    and open every value.
    """

    def __init__(self, keys, opener: Callable):
        self._keys = frozenset(keys)
        self._opener = opener
        self._values: dict = {}
        self._lock = threading.Lock()

    def __getitem__(self, key):
        try:
            return self._values[key]
        except KeyError:
            pass
        if key not in self._keys:
            raise KeyError(key)
        with self._lock:
            if key not in self._values:
                self._values[key] = self._opener(key)
            return self._values[key]

    def __contains__(self, key) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def opened(self) -> dict:
        """The values opened so far, by key (a copy)."""
        with self._lock:
            return dict(self._values)


def open_whoosh(folder: Path):
    """Open the Whoosh index in ``folder`` for reading, its segment files read, not mapped.

    Whoosh's mmap mode wraps every part of a segment in a ``BytesIO`` copy of the mapped
    bytes: each worker would hold a private copy of every segment it ever searched (the
    whole ``.seg`` file, ~7 MB per 1,000 articles). Plain reads go through the page cache,
    which the workers share; serving reads only a few stored documents per request.
    """
    from whoosh.filedb.filestore import FileStorage

    return FileStorage(str(folder), supports_mmap=False, readonly=True).open_index()


def read_meta(generation_dir: Path) -> dict:
    """The ``meta.json`` of one generation."""
    return json.loads((Path(generation_dir) / META).read_text("utf-8"))


def write_meta(generation_dir: Path, meta: dict) -> None:
    """Write ``meta.json`` for a generation being built."""
    # Without indentation: json's C encoder serves only that (corpus-scale: 13 MB, 0.28 s of
    # CPU indented, 0.10 s not, at the end of the build, when no pool process works beside).
    (Path(generation_dir) / META).write_text(
        json.dumps(meta, ensure_ascii=False, sort_keys=True), "utf-8"
    )


def prune(
    index_dir: Path, keep: int = 2, grace_seconds: float | None = None, now: float | None = None
) -> list[str]:
    """Remove old generations and stale build folders.

    The serving generation and the ``keep - 1`` newest others are kept; an older one goes only
    once it has been out of service for ``grace_seconds`` (default
    ``HELPAPI_GENERATION_GRACE_SECONDS``, 10 minutes): a worker of any replica may still be
    answering a request on it, or not yet have seen ``CURRENT`` change through a network
    filesystem's attribute cache. On NFS a file removed by one host is gone for the others
    (``ESTALE``), so the grace period must outlast every request. Returns the names removed.
    """
    index_dir = Path(index_dir)
    if grace_seconds is None:
        from .config import load_settings

        grace_seconds = load_settings()["GENERATION_GRACE_SECONDS"]
    serving = current_generation(index_dir)
    now = time.time() if now is None else now
    removed = []
    gens = sorted(
        (p for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("g")),
        key=lambda p: p.name,
        reverse=True,
    )
    kept = 1 if serving else 0
    for path in gens:
        if path.name == serving:
            continue
        if kept < keep:
            kept += 1
            continue
        if now - path.stat().st_mtime >= grace_seconds:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    for path in index_dir.glob(".build-*"):
        # A build folder untouched for a day belongs to a build that was killed.
        if now - path.stat().st_mtime > 86400:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed
