"""Per-worker access to the serving index generation (the flaskr ``get_db`` shape).

Each worker process opens the generation named by ``CURRENT`` lazily, on its first request (so
gunicorn's master never holds index files), and checks on every request whether ``CURRENT`` was
replaced (one ``stat``). A request keeps the generation it started with on ``g`` until it ends.
Opening a generation opens none of its locales: each is opened by its first search
(:class:`helpapi.search.IndexSet`), so a worker's memory follows the locales it serves.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask
from flask import current_app
from flask import g
from flask import jsonify

from . import generations
from .errors import ServiceUnavailable
from .errors import error_body
from .search import IndexSet
from .search import LocaleUnavailable
from .search import ResultCache

# A request runs well under this; a generation out of service this long has no readers left.
RETIRE_SECONDS = 60.0
log = logging.getLogger("helpapi.index")


def _malloc_trim():
    """glibc's ``malloc_trim`` (None elsewhere: musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_free_heap() -> None:
    """Give the heap pages that are free again back to the system (glibc only).

    Opening a generation parses its whole ``meta.json`` (catalogs and manifests, megabytes of
    small objects) and keeps only the lookup maps; glibc keeps the freed pages otherwise, and
    they stay in each worker's private memory for its life (12 of 15 MB on the dev corpus).
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class IndexHolder:
    """The worker's open :class:`IndexSet`, swapped when the pointer file changes.

    ``CURRENT`` is followed only when it names a complete generation of the index folder
    (:func:`generations.read_pointer`). When it does not (garbage, a path, empty, missing, a
    generation without ``meta.json`` or one that cannot be opened), the most available choice
    is made: a worker that has a generation keeps serving it, and a worker starting fresh
    serves the newest complete generation folder. Either way :attr:`problem` says why (logged,
    and shown by ``/readyz`` as a warning); with no generation at all requests get 503 naming
    the reason.
    """

    def __init__(self, index_dir: str):
        self.index_dir = Path(index_dir)
        # Stat'ed on every request: the path is joined once (os.path.join of a Path costs
        # about as much as the stat).
        self._pointer = os.path.join(self.index_dir, generations.POINTER)
        self._signature = None
        self._ixset: IndexSet | None = None
        self._lock = threading.Lock()
        self._retired: list[tuple[float, IndexSet]] = []
        self.problem: str | None = None

    def get(self) -> IndexSet | None:
        """The serving generation, reopened if ``CURRENT`` changed since the last call."""
        sig = generations.signature_at(self._pointer)
        if sig != self._signature or self._ixset is None:
            with self._lock:
                if sig != self._signature or self._ixset is None:
                    self._refresh()
                    self._signature = sig
        if self._retired and time.monotonic() - self._retired[0][0] > RETIRE_SECONDS:
            with self._lock:
                while self._retired and time.monotonic() - self._retired[0][0] > RETIRE_SECONDS:
                    self._retired.pop(0)[1].close()
        return self._ixset

    def _refresh(self) -> None:
        try:
            name = generations.read_pointer(self.index_dir)
            problem = None
        except generations.BadPointer as exc:
            name, problem = None, str(exc)
        if name is not None:
            if self._ixset is not None and self._ixset.name == name:
                return self._report(None)
            opened, problem = self._open(name)
            if opened is not None:
                self._serve(opened)
                return self._report(None)
        elif problem is None:
            problem = f"{generations.POINTER} is missing"
        # CURRENT cannot be followed.
        if self._ixset is not None:
            return self._report(f"{problem}; still serving {self._ixset.name}")
        fallback = generations.newest_generation(self.index_dir)
        if fallback is None and name is None and problem.endswith("missing"):
            return self._report(None)  # nothing was ever built: the plain "no index" answer
        opened = None
        if fallback is not None and fallback != name:
            opened, _ = self._open(fallback)
        if opened is None:
            return self._report(f"{problem}; no generation can be served")
        self._serve(opened)
        self._report(f"{problem}; serving the newest complete generation, {fallback}")

    def _serve(self, opened: IndexSet) -> None:
        if self._ixset is not None:
            # Requests in flight may still read it: close it later.
            self._retired.append((time.monotonic(), self._ixset))
        self._ixset = opened
        release_free_heap()

    def _report(self, problem: str | None) -> None:
        if problem and problem != self.problem:
            log.warning("index %s: %s", self.index_dir, problem)
        self.problem = problem

    def _open(self, name: str) -> tuple[IndexSet | None, str | None]:
        try:
            return IndexSet(self.index_dir, name), None
        except Exception as exc:  # unreadable meta.json and the like: never a 500
            return None, f"generation {name} cannot be opened: {type(exc).__name__}"

    def close(self) -> None:
        """Close the open generation and any retired ones."""
        with self._lock:
            for _, old in self._retired:
                old.close()
            self._retired = []
            if self._ixset is not None:
                self._ixset.close()
            self._ixset, self._signature = None, None


def get_indexes() -> IndexSet:
    """This request's index generation (the same one for the whole request)."""
    if "ixset" not in g:
        holder = current_app.extensions["helpapi.indexes"]
        ixset = holder.get()
        if ixset is None:
            raise ServiceUnavailable(
                holder.problem or "No index has been built yet. Run: helpapi index build",
                retry_after=5,
            )
        g.ixset = ixset
    return g.ixset


def index_warnings() -> list[str]:
    """Problems that do not stop serving (a bad ``CURRENT`` while a generation serves)."""
    problem = current_app.extensions["helpapi.indexes"].problem
    return [problem] if problem else []


def get_cache() -> ResultCache:
    """The worker's search result cache."""
    return current_app.extensions["helpapi.cache"]


def _locale_unavailable(exc: LocaleUnavailable):
    message = (
        f"The {exc.locale} index is damaged and not served ({exc.reason}); "
        "the next reindex rebuilds it."
    )
    resp = jsonify(
        error_body(503, "locale_unavailable", message, locale=exc.locale, retry_after=30)
    )
    resp.status_code = 503
    resp.headers["Retry-After"] = "30"
    return resp


def init_app(app: Flask) -> None:
    """Attach the index holder and the result cache to ``app``."""
    app.extensions["helpapi.indexes"] = IndexHolder(app.config["INDEX_DIR"])
    app.extensions["helpapi.cache"] = ResultCache(app.config["RESULT_CACHE_SIZE"])
    app.register_error_handler(LocaleUnavailable, _locale_unavailable)
