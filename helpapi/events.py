"""``POST /v1/events``: what the widget reports after a search (click, helpful, not helpful).

Validation is strict (unknown types or keys are a 400, a body over 4 KB a 413) and each client
address may send ``HELPAPI_EVENTS_PER_MINUTE`` events a minute to one instance, beyond which the
answer is 429 with ``Retry-After``.

The bound is per instance, not per worker: under gunicorn the workers share a token bucket
table in a small SQLite file in the instance's own fresh folder (``PROMETHEUS_MULTIPROC_DIR``,
made per start by gunicorn.conf.py), one short transaction per event. The address is never
written: the key is an HMAC of it under a random secret made when the app is created (before
gunicorn forks, so every worker of the instance shares it, and it dies with the instance).
Without that folder (``flask run``, tests) the bucket is in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from flask import Blueprint
from flask import current_app
from flask import request

from .analytics import get_recorder
from .errors import HelpApiError
from .errors import InvalidParameter
from .errors import PayloadTooLarge
from .errors import retry_later_response
from .web import json_object

bp = Blueprint("events", __name__)
MAX_EVENT_BYTES = 4096
EVENT_TYPES = ("click", "helpful", "not_helpful")
_KEYS = {"type", "query_id", "article", "position", "locale", "id"}
MAX_CLIENTS = 10000


class TooManyRequests(HelpApiError):
    """The client sent more events than its per-minute bound."""

    status = 429
    code = "too_many_requests"


@bp.errorhandler(TooManyRequests)
def _too_many(exc: TooManyRequests):
    return retry_later_response(exc)


class TokenBucket:
    """``rate`` tokens a minute per key, up to ``rate`` at once; memory bounded by MAX_CLIENTS."""

    def __init__(self, per_minute: int):
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0  # tokens per second
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.refill)
            if tokens >= 1.0:
                if len(self._buckets) >= MAX_CLIENTS and key not in self._buckets:
                    self._forget(now)
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.refill

    def _forget(self, now: float) -> None:
        # Buckets refilled by now hold no information: forget them. Clients that sent one event
        # each (many addresses) are not full yet: then the least recently seen half goes too,
        # so memory stays bounded and the cost of this pass is amortized over the new keys.
        full = self.capacity - self.refill * now
        kept = {k: v for k, v in self._buckets.items() if v[0] - self.refill * v[1] < full}
        if len(kept) >= MAX_CLIENTS:
            recent = sorted(kept.items(), key=lambda kv: kv[1][1])[len(kept) - MAX_CLIENTS // 2 :]
            kept = dict(recent)
        self._buckets = kept


class SharedTokenBucket:
    """:class:`TokenBucket` in a SQLite file, shared by the processes that open the same file.

    Each :meth:`take` is one ``BEGIN IMMEDIATE`` transaction on a local file (no fsync). Keys
    are HMACs of the client key, so the file holds no address. Memory and disk stay bounded:
    a bucket full again holds nothing and is deleted, and at most MAX_CLIENTS are kept.
    If the file cannot be used, the event is allowed: a limiter must never fail a request.
    """

    def __init__(self, path: str | Path, per_minute: int, secret: bytes):
        self.path = Path(path)
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.secret = secret
        self._local = threading.local()
        self._pid = None

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(str(self.path), timeout=1.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # a crash loses rate state, nothing else
            conn.execute(
                "CREATE TABLE IF NOT EXISTS buckets"
                " (key TEXT PRIMARY KEY, tokens REAL NOT NULL, last REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS buckets_last ON buckets (last)")
            self._local.conn, self._pid = conn, os.getpid()
        return conn

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        now = time.time() if now is None else now  # wall clock: shared between processes
        hashed = hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()[:32]
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT tokens, last FROM buckets WHERE key = ?", (hashed,)
                ).fetchone()
                tokens, last = row if row else (self.capacity, now)
                tokens = min(self.capacity, tokens + max(0.0, now - last) * self.refill)
                wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.refill
                if not wait:
                    tokens -= 1.0
                conn.execute(
                    "INSERT OR REPLACE INTO buckets (key, tokens, last) VALUES (?, ?, ?)",
                    (hashed, tokens, now),
                )
                if row is None:
                    # A new client: drop the buckets that have refilled (they hold nothing),
                    # through the index on ``last``, and keep at most MAX_CLIENTS.
                    # (capacity / refill is 60 s: a bucket untouched that long is full.)
                    conn.execute("DELETE FROM buckets WHERE last < ?", (now - 60.0,))
                    conn.execute(
                        "DELETE FROM buckets WHERE key IN (SELECT key FROM buckets"
                        " ORDER BY last DESC LIMIT -1 OFFSET ?)",
                        (MAX_CLIENTS,),
                    )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            return 0.0
        return wait


def instance_limit_path() -> Path | None:
    """The instance's shared limiter file: in gunicorn's per-start metrics folder, if any."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    # prometheus_client reads only *.db files there: a .sqlite3 file is left alone.
    return Path(folder) / "events-limit.sqlite3" if folder else None


def init_app(app) -> None:
    """Make the instance's HMAC secret now, before gunicorn forks the workers."""
    app.extensions["helpapi.event_secret"] = secrets.token_bytes(32)


def _limiter() -> TokenBucket | SharedTokenBucket:
    ext = current_app.extensions
    bucket = ext.get("helpapi.event_limiter")
    if bucket is None:
        per_minute = current_app.config["EVENTS_PER_MINUTE"]
        path = current_app.config.get("EVENTS_LIMIT_DB") or instance_limit_path()
        if path:
            secret = ext.get("helpapi.event_secret") or secrets.token_bytes(32)
            bucket = SharedTokenBucket(path, per_minute, secret)
        else:
            bucket = TokenBucket(per_minute)
        ext["helpapi.event_limiter"] = bucket
    return bucket


def parse_event(raw: bytes) -> dict:
    """The validated event from a request body; raises the 400/413 errors."""
    if len(raw) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"An event must be at most {MAX_EVENT_BYTES} bytes.")
    body = json_object(raw, _KEYS)
    kind = body.get("type")
    if kind not in EVENT_TYPES:
        raise InvalidParameter("type", "must be one of click, helpful, not_helpful")
    qid = body.get("query_id")
    if qid is not None and not (
        isinstance(qid, str) and 0 < len(qid) <= 64 and qid.isascii() and qid.isalnum()
    ):
        raise InvalidParameter("query_id", "must be the query_id of a search response")
    article = body.get("article")
    if not isinstance(article, str) or not article.strip() or len(article) > 512:
        raise InvalidParameter("article", "is required: an article slug of at most 512 characters")
    locale = body.get("locale")
    if locale is not None and not (
        isinstance(locale, str) and 0 < len(locale) <= 35 and locale.replace("-", "").isalnum()
    ):
        raise InvalidParameter("locale", "must be the locale of the result, like de-DE")
    ident = body.get("id")
    if ident is not None and not (isinstance(ident, str) and 0 < len(ident.strip()) <= 512):
        raise InvalidParameter("id", "must be the result's id, at most 512 characters")
    position = body.get("position")
    if position is not None and (
        isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10000
    ):
        raise InvalidParameter("position", "must be a whole number from 0 to 10000")
    return {
        "type": kind,
        "query_id": qid,
        "article": article.strip(),
        "position": position,
        "locale": locale,
        "id": ident.strip() if ident else None,
    }


@bp.post("/v1/events")
def events_view():
    """Record one widget event: 204 when accepted."""
    # Every attempt counts, valid or not: a client cannot probe at full speed either.
    wait = _limiter().take(request.remote_addr or "")
    if wait:
        raise TooManyRequests(
            f"At most {current_app.config['EVENTS_PER_MINUTE']} events a minute per client.",
            retry_after=max(1, math.ceil(wait)),
        )
    if request.content_length is not None and request.content_length > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"An event must be at most {MAX_EVENT_BYTES} bytes.")
    event = parse_event(request.stream.read(MAX_EVENT_BYTES + 1))
    get_recorder().record_event(
        event["type"],
        event["query_id"],
        event["article"],
        event["position"],
        event["locale"],
        event["id"],
    )
    return "", 204
