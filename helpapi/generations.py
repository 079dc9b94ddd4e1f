"""Index generations on disk: build beside the serving one, switch atomically, prune late.

Layout of the index directory::

    index/
      CURRENT              name of the serving generation (replaced by rename, never edited)
      g20261123-172301-1a2b/
        meta.json          what was built: locales, counts, the article catalog
        de-DE/ ... en-US/  one Whoosh index per locale
      .build-*/            a build in progress (never read by the service)

A reader resolves ``CURRENT`` once per request and keeps using that generation's open indexes
until the request ends, so a switch never shows it a half-built or vanished index.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

POINTER = "CURRENT"
META = "meta.json"


def new_generation_name() -> str:
    """A sortable, unique generation name."""
    now = time.time_ns()
    stamp = time.strftime("g%Y%m%d-%H%M%S", time.gmtime(now / 1e9))
    return f"{stamp}-{now // 1000 % 1_000_000:06d}-{secrets.token_hex(2)}"


def current_generation(index_dir: Path) -> str | None:
    """Name of the serving generation, or None when nothing was built yet."""
    try:
        name = (Path(index_dir) / POINTER).read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    return name if name and (Path(index_dir) / name).is_dir() else None


def pointer_signature(index_dir: Path):
    """A cheap value that changes whenever ``CURRENT`` is replaced (inode, mtime)."""
    try:
        st = os.stat(os.path.join(index_dir, POINTER))
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


def read_meta(generation_dir: Path) -> dict:
    """The ``meta.json`` of one generation."""
    return json.loads((Path(generation_dir) / META).read_text("utf-8"))


def write_meta(generation_dir: Path, meta: dict) -> None:
    """Write ``meta.json`` for a generation being built."""
    (Path(generation_dir) / META).write_text(
        json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True), "utf-8"
    )


def prune(index_dir: Path, keep: int = 2, grace_seconds: float = 300.0) -> list[str]:
    """Remove old generations and stale build folders.

    The serving generation and the ``keep - 1`` newest others are kept; an older one goes only
    once it has been out of service for ``grace_seconds`` (a worker may still be answering a
    request on it). Returns the names removed.
    """
    index_dir = Path(index_dir)
    serving = current_generation(index_dir)
    now = time.time()
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
