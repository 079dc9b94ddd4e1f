"""Search analytics: each answered search and each widget event, recorded off the request path.

A request only appends a tuple to a bounded in-memory queue (a deque: no lock, see
:class:`_Pending`); one background thread per worker process takes what gathered every
``LINGER`` seconds and writes it in one transaction of multi-row INSERTs into SQLite (WAL mode,
so the writers of several workers and the insights readers do not block each other). A full
queue drops the record and counts it: recording never slows or fails a search. What that
costs a search is measured by bench/analytics_cost.py (issue #17 item 7).

Nothing personal is stored: no IP address, no user agent, no cookie. A search row holds the
normalized query, the requested and served locale, the fallback flag, the hit count, the page,
the correction, the latency, the time, the articles shown (slug, locale and id: several articles
may share one id) and a query id (the time, then random bits: :func:`new_query_id`), plus the
query id of the search it refines, if any.

Search as you type sends a request per keystroke. The widget names the previous keystroke's
``query_id`` as ``refines`` on the next search; a search that a later one refines is
*superseded*: it stays in the table (so the requests are counted) and the insights leave it out
of their lists and rates. Superseded is derived when reading (a ``refines`` column and an index,
no update), so it holds whichever worker writes which row first.

gunicorn preloads the app and forks the workers, and a thread does not survive a fork: the
writer starts on first use and again whenever :func:`os.getpid` changed since it started.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path

import orjson

log = logging.getLogger("helpapi.analytics")


DAY = 86400.0
# Records a transaction at most (and the backlog at which the writer stops lingering).
BATCH = 500
# Seconds the writer waits after a first row for more (rows reach SQLite this much later, unless
# flush() cuts it short). Under load a longer wait means fewer, larger transactions: 20 rows a
# transaction cost the writer 14 us a row, 100 rows 10 us (bench/RESULTS.md).
LINGER = 0.25
SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    query_id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    query TEXT NOT NULL,
    requested_locale TEXT,
    locale TEXT NOT NULL,
    fallback INTEGER NOT NULL,
    total INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    "limit" INTEGER NOT NULL,
    corrected TEXT,
    ms REAL NOT NULL,
    articles TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS searches_ts ON searches (ts);
CREATE TABLE IF NOT EXISTS events (
    ts REAL NOT NULL,
    type TEXT NOT NULL,
    query_id TEXT,
    article TEXT NOT NULL,
    position INTEGER
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_query ON events (query_id);
"""
# Columns added after the first release: added to an older database when it is opened.
_ADDED_COLUMNS = (
    ("searches", "refines", "TEXT"),
    ("events", "locale", "TEXT"),
    ("events", "article_id", "TEXT"),
    # 1: no result because the filters removed every match (not a zero-result search).
    ("searches", "filtered_out", "INTEGER NOT NULL DEFAULT 0"),
)
_AFTER_COLUMNS = "CREATE INDEX IF NOT EXISTS searches_refines ON searches (refines);"
_INSERT_SEARCH = (
    "INSERT OR IGNORE INTO searches (query_id, ts, query, requested_locale, locale, fallback,"
    ' total, "offset", "limit", corrected, ms, articles, refines, filtered_out)'
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_EVENT = (
    "INSERT INTO events (ts, type, query_id, article, position, locale, article_id)"
    " VALUES (?,?,?,?,?,?,?)"
)
PRUNE_EVERY = 3600.0  # seconds between prunes in each worker, searches or not
# Filesystems where SQLite's WAL (a shared-memory index beside the file) is not safe.
NETWORK_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs", "glusterfs")


def new_query_id() -> str:
    """An id for one search: 16 hex digits, the time in ms (mod 2**32), then 32 random bits.

    Nothing about the client goes in. The time first makes successive ids neighbours in the
    ``searches`` primary key index (and in ``refines`` and ``events.query_id``): a random key
    lands on a random page of an index larger than SQLite's page cache: at 300,000 rows the
    writer's insert cost 26 us CPU and 129 us wall a row, against 12 and 23 (bench/RESULTS.md).
    Two ids can only be equal within one millisecond (or one 49.7-day wrap later), 1 in 2**32 a
    pair: at 1,000 searches a second, fewer collisions than 64 random bits in a 90-day table.
    """
    return f"{int(time.time() * 1000) & 0xFFFFFFFF:08x}{_random_hex8()}"


# Random parts of query ids drawn ahead, 512 at a time: one os.urandom call (a system call)
# a search cost as much as the rest of the id. A deque: popleft is atomic and extend takes a
# list (one C call), so threads never take the same part. Emptied in a forked child
# (gunicorn's workers fork from one master): two workers must never hand out the parts their
# parent drew.
_RANDOM_PARTS: collections.deque[str] = collections.deque()
_PARTS_PER_DRAW = 512


def _random_hex8() -> str:
    """8 hex digits (32 bits) from ``os.urandom``."""
    try:
        return _RANDOM_PARTS.popleft()
    except IndexError:
        raw = os.urandom(4 * _PARTS_PER_DRAW).hex()
        _RANDOM_PARTS.extend([raw[i : i + 8] for i in range(8, len(raw), 8)])
        return raw[:8]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_RANDOM_PARTS.clear)


def default_db_path(index_dir: str | Path) -> Path:
    """``<INDEX_DIR>/analytics.sqlite3``: beside the generations and ``jobs/``."""
    return Path(index_dir) / "analytics.sqlite3"


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (and create) the analytics database in WAL mode with its tables."""
    conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    for table, column, kind in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            with contextlib.suppress(sqlite3.OperationalError):  # another worker added it
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    conn.executescript(_AFTER_COLUMNS)
    return conn


def search_insert(row: dict) -> tuple[str, tuple]:
    """The INSERT of one answered search (keys as the ``searches`` columns)."""
    return _INSERT_SEARCH, _search_params(row, row.get("ts") or time.time())


def _search_params(row: dict, ts: float) -> tuple:
    return (
        row["query_id"],
        ts,
        row["query"],
        row.get("requested_locale"),
        row["locale"],
        int(bool(row["fallback"])),
        int(row["total"]),
        int(row["offset"]),
        int(row["limit"]),
        row.get("corrected"),
        float(row["ms"]),
        # orjson writes lists and tuples alike: no copy of each [slug, locale, id].
        orjson.dumps(row.get("articles") or []).decode(),
        row.get("refines"),
        int(bool(row.get("filtered_out"))),
    )


def event_insert(
    kind: str, query_id: str | None, article: str, position, locale=None, article_id=None
) -> tuple[str, tuple]:
    """The INSERT of one widget event: ``article`` is the slug, ``article_id`` its id."""
    return (_INSERT_EVENT, (time.time(), kind, query_id, article, position, locale, article_id))


def filesystem_type(path: str | Path) -> str | None:
    """The type of the filesystem holding ``path`` (from /proc/mounts), or None if unknown."""
    try:
        target = Path(path).resolve()
        with open("/proc/mounts", encoding="utf-8") as mounts:
            table = [line.split()[1:3] for line in mounts if len(line.split()) >= 3]
    except OSError:
        return None
    best, kind = -1, None
    for mount, fstype in table:
        mount = mount.replace("\\040", " ")
        if (target == Path(mount) or Path(mount) in target.parents) and len(mount) > best:
            best, kind = len(mount), fstype
    return kind


def prune(conn: sqlite3.Connection, retention_days: int, now: float | None = None) -> int:
    """Delete searches and events older than ``retention_days``; returns rows deleted."""
    cutoff = (time.time() if now is None else now) - retention_days * DAY
    with conn:
        n = conn.execute("DELETE FROM searches WHERE ts < ?", (cutoff,)).rowcount
        n += conn.execute("DELETE FROM events WHERE ts < ?", (cutoff,)).rowcount
    return n


class _Pending:
    """The bounded hand-over from the request side to the writer thread.

    ``queue.Queue`` takes a lock and signals a condition on every put, get and ``task_done``,
    about a microsecond each, on both sides, for every record. Here a request
    appends to a deque (atomic under the GIL, no lock) and signals the writer only when it is
    idle; the writer takes what has gathered every ``LINGER`` seconds, in one go.
    """

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.items: collections.deque = collections.deque()
        # threading's Event, not gevent's: the gevent worker leaves ``threading`` unpatched, and
        # the writer is a real OS thread.
        self.wake = threading.Event()
        self.hurry = threading.Event()  # set by flush(): the writer stops lingering
        self.idle = True  # the writer waits on ``wake`` (or is about to)
        self.busy = False  # the writer holds records taken from ``items``, not yet written

    def put_nowait(self, item) -> None:
        """Append, or raise ``queue.Full`` (then nothing was added)."""
        if len(self.items) >= self.maxsize:
            raise queue.Full
        self.items.append(item)
        if self.idle:
            # The writer sets idle, then looks at items again before it waits: an item
            # appended in between is seen by that look or wakes it here.
            self.idle = False
            self.wake.set()

    def qsize(self) -> int:
        """Records waiting (not counting a batch being written)."""
        return len(self.items)

    def take(self, limit: int) -> list:
        """Up to ``limit`` records waiting, oldest first (writer thread)."""
        items = self.items
        return [items.popleft() for _ in range(min(limit, len(items)))]

    def pending(self) -> bool:
        """True while a record is queued or being written (checked in this order, see flush)."""
        return bool(self.items) or self.busy


class Recorder:
    """One per app: the bounded queue and the per-process writer thread."""

    def __init__(self, path: str | Path, enabled: bool, retention_days: int, queue_size: int):
        self.path = Path(path)
        self.enabled = enabled
        self.retention_days = retention_days
        self.queue_size = queue_size
        self.dropped = 0
        self._pid = None
        self._queue: _Pending | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.prune_every = PRUNE_EVERY

    # -- request side -------------------------------------------------------------------------

    def _ensure(self) -> _Pending:
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    # After a fork the parent's queue and thread are gone: start afresh.
                    self._queue = _Pending(self.queue_size)
                    self._thread = threading.Thread(
                        target=self._run, args=(self._queue,), name="helpapi-analytics", daemon=True
                    )
                    self._thread.start()
                    self._pid = pid
        return self._queue

    def ensure_started(self) -> None:
        """Start this process's writer thread if it is not running (cheap: a pid compare)."""
        if self._pid != os.getpid():
            self._ensure()

    def _put(self, item: tuple) -> bool:
        if not self.enabled:
            return False
        try:
            self._ensure().put_nowait(item)
            return True
        except queue.Full:
            self._lost(1)
            return False

    def _lost(self, count: int) -> None:
        """Count records that will never reach the database (here and on ``/metrics``)."""
        if count:
            self.dropped += count
            from . import metrics

            metrics.analytics_dropped(count)

    def record_search(self, row: dict) -> bool:
        """Queue one answered search (keys as the ``searches`` columns); False if dropped.

        Only the time is taken here; the row becomes its INSERT parameters (the articles'
        JSON included) in the writer thread, off the request path. The caller hands the row
        over: it must not change it afterwards.
        """
        return self._put((_INSERT_SEARCH, (row, row.get("ts") or time.time())))

    def record_event(
        self, kind: str, query_id: str | None, article: str, position, locale=None, article_id=None
    ) -> bool:
        """Queue one widget event (click, helpful, not_helpful); False if dropped."""
        return self._put(event_insert(kind, query_id, article, position, locale, article_id))

    def prune_now(self) -> None:
        """Prune once, in this thread (start-up); an unusable database is logged, not raised."""
        if not self.enabled or not self.path.exists():
            return  # nothing recorded yet: nothing to prune (and the folder may not exist yet)
        try:
            conn = connect(self.path)
            try:
                prune(conn, self.retention_days)
            finally:
                conn.close()
        except Exception:  # a read-only or missing folder must not stop the app starting
            log.exception("analytics: pruning %s at start-up failed", self.path)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        q = self._queue
        if q is None or self._pid != os.getpid():
            return
        q.hurry.set()
        try:
            deadline = time.monotonic() + timeout
            while q.pending() and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            q.hurry.clear()

    # -- writer thread ------------------------------------------------------------------------

    def _run(self, q: _Pending) -> None:
        conn = None
        next_prune = 0.0
        while True:
            if not q.items:
                q.idle = True
                if not q.items:  # looked at again after idle is set: see _Pending.put_nowait
                    # Wake for the next prune even when no search arrives (retention is a
                    # promise).
                    q.wake.wait(max(0.01, next_prune - time.time()))
                q.wake.clear()
                q.idle = False
            if q.items and len(q.items) < BATCH:
                # Let a batch gather: one wake-up and one transaction per LINGER under load
                # instead of one per search (CPU the searches share).
                q.hurry.wait(LINGER)
            q.busy = True  # before taking: flush() looks at items first, then busy
            # At most a batch a transaction: a backlog must not hold SQLite's write lock (other
            # workers' writers, an insights refresh) for the time of thousands of rows.
            items = q.take(BATCH)
            # Nothing recorded yet: nothing to prune (the index folder may not even exist yet).
            due = time.time() >= next_prune and (conn is not None or self.path.exists())
            if due:  # set before trying: a failing prune (or connect) waits a period too
                next_prune = time.time() + self.prune_every
            try:
                if conn is None and (items or due):
                    conn = connect(self.path)
                if due:
                    prune(conn, self.retention_days)
                if items:
                    self._lost(_write(conn, items))
            except Exception:  # a full disk or a bad path must not kill the writer
                self._lost(len(items))
                log.exception("analytics: %d records could not be written", len(items))
                conn = None
            finally:
                q.busy = False


def _write(conn: sqlite3.Connection, items: list) -> int:
    """Write queued records in one transaction, consecutive ones of one statement together.
    Returns how many search rows were malformed and left out (each is logged)."""
    bad = 0
    with conn:
        for sql, group in itertools.groupby(items, key=lambda item: item[0]):
            group = list(group)
            if sql is _INSERT_SEARCH:
                try:
                    params = [_search_params(row, ts) for _, (row, ts) in group]
                except Exception:
                    # The rows are turned into parameters here, off the request path: a bad
                    # one must cost only itself, not the batch it arrived with.
                    params = []
                    for _, (row, ts) in group:
                        try:
                            params.append(_search_params(row, ts))
                        except Exception:
                            bad += 1
                            log.exception("analytics: a malformed search row was left out")
            else:
                params = [params for _, params in group]
            _insert_rows(conn, sql, params)
    return bad


# Rows per multi-row INSERT, largest first: any count is a few statements of these sizes.
# 64 rows of 13 columns stay under SQLite's oldest default of 999 variables a statement.
_ROWS_PER_INSERT = (64, 16, 4, 1)


@functools.cache
def _multi_row(sql: str, rows: int) -> str:
    """``INSERT ... VALUES (?,...)`` for ``rows`` rows (one text per size: statement cache)."""
    head, _, values = sql.partition(" VALUES ")
    return head + " VALUES " + ",".join([values] * rows)


def _insert_rows(conn: sqlite3.Connection, sql: str, params: list) -> None:
    """Insert rows with multi-row INSERTs instead of ``executemany``.

    ``executemany`` steps SQLite once per row, releasing and taking back the GIL each time:
    with the worker's request thread busy, each take back waits for it to be interrupted
    (``sys.getswitchinterval``), and the request thread then waits for the OS to run it again,
    on a machine whose cores are all busy. A 64-row statement does that once for 64 rows, and
    costs SQLite less CPU a row too (bench/RESULTS.md).
    """
    i = 0
    for size in _ROWS_PER_INSERT:
        if len(params) - i >= size:
            statement = _multi_row(sql, size)
            while len(params) - i >= size:
                conn.execute(statement, list(itertools.chain.from_iterable(params[i : i + size])))
                i += size


def init_app(app) -> None:
    """Create the app's recorder (no thread yet: that starts on first use, in the worker)."""
    cfg = app.config
    path = cfg.get("ANALYTICS_DB") or default_db_path(cfg["INDEX_DIR"])
    recorder = app.extensions["helpapi.analytics"] = Recorder(
        path,
        cfg["ANALYTICS"] != "off",
        cfg["ANALYTICS_RETENTION_DAYS"],
        cfg["ANALYTICS_QUEUE_SIZE"],
    )
    if not recorder.enabled:
        return
    kind = filesystem_type(Path(path).parent)
    if kind in NETWORK_FILESYSTEMS or (kind or "").startswith("nfs"):
        log.warning(
            "analytics: %s is on a %s filesystem, where SQLite's WAL is not safe; point"
            ' HELPAPI_ANALYTICS_DB at local disk (README "Analytics")',
            path,
            kind,
        )
    # Rows past retention go at start-up, then hourly in each worker's writer thread, which
    # any request starts (a worker that only answers probes still prunes).
    recorder.prune_now()
    app.before_request(recorder.ensure_started)


def get_recorder() -> Recorder:
    """The current app's recorder."""
    from flask import current_app

    return current_app.extensions["helpapi.analytics"]
