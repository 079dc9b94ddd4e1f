"""Per-worker access to the serving index generation (the flaskr ``get_db`` shape).

Each worker process opens the generation named by ``CURRENT`` lazily, on its first request (so
gunicorn's master never holds index files), and checks on every request whether ``CURRENT`` was
replaced (one ``stat``). A request keeps the generation it started with on ``g`` until it ends.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from flask import Flask
from flask import current_app
from flask import g

from . import generations
from .errors import ServiceUnavailable
from .search import IndexSet
from .search import ResultCache

# A request runs well under this; a generation out of service this long has no readers left.
RETIRE_SECONDS = 60.0


class IndexHolder:
    """The worker's open :class:`IndexSet`, swapped when the pointer file changes."""

    def __init__(self, index_dir: str):
        self.index_dir = Path(index_dir)
        self._signature = None
        self._ixset: IndexSet | None = None
        self._lock = threading.Lock()
        self._retired: list[tuple[float, IndexSet]] = []

    def get(self) -> IndexSet | None:
        """The serving generation, reopened if ``CURRENT`` changed since the last call."""
        sig = generations.pointer_signature(self.index_dir)
        if sig != self._signature or self._ixset is None:
            with self._lock:
                if sig != self._signature or self._ixset is None:
                    name = generations.current_generation(self.index_dir)
                    if name is None:
                        self._ixset = None
                    elif self._ixset is None or self._ixset.name != name:
                        if self._ixset is not None:
                            # Requests in flight may still read it: close it later.
                            self._retired.append((time.monotonic(), self._ixset))
                        self._ixset = IndexSet(self.index_dir, name)
                    self._signature = sig
        if self._retired and time.monotonic() - self._retired[0][0] > RETIRE_SECONDS:
            with self._lock:
                while self._retired and time.monotonic() - self._retired[0][0] > RETIRE_SECONDS:
                    self._retired.pop(0)[1].close()
        return self._ixset

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
        ixset = current_app.extensions["helpapi.indexes"].get()
        if ixset is None:
            raise ServiceUnavailable(
                "No index has been built yet. Run: helpapi index build", retry_after=5
            )
        g.ixset = ixset
    return g.ixset


def get_cache() -> ResultCache:
    """The worker's search result cache."""
    return current_app.extensions["helpapi.cache"]


def init_app(app: Flask) -> None:
    """Attach the index holder and the result cache to ``app``."""
    app.extensions["helpapi.indexes"] = IndexHolder(app.config["INDEX_DIR"])
    app.extensions["helpapi.cache"] = ResultCache(app.config["RESULT_CACHE_SIZE"])
