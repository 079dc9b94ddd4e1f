"""``POST /v1/events``: what the widget reports after a search (click, helpful, not helpful).

Validation is strict (unknown types or keys are a 400, a body over 4 KB a 413) and each client
address may send ``HELPAPI_EVENTS_PER_MINUTE`` events a minute (a token bucket per worker,
held in memory only: the address is never written anywhere), beyond which the answer is 429
with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request

from .analytics import get_recorder
from .errors import HelpApiError
from .errors import InvalidParameter
from .errors import PayloadTooLarge
from .errors import error_body
from .web import json_object

bp = Blueprint("events", __name__)
MAX_EVENT_BYTES = 4096
EVENT_TYPES = ("click", "helpful", "not_helpful")
_KEYS = {"type", "query_id", "article", "position"}
MAX_CLIENTS = 10000


class TooManyRequests(HelpApiError):
    """The client sent more events than its per-minute bound."""

    status = 429
    code = "too_many_requests"


@bp.errorhandler(TooManyRequests)
def _too_many(exc: TooManyRequests):
    resp = jsonify(error_body(exc.status, exc.code, exc.message, **exc.extra))
    resp.status_code = exc.status
    resp.headers["Retry-After"] = str(exc.extra["retry_after"])
    return resp


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


def _limiter() -> TokenBucket:
    ext = current_app.extensions
    bucket = ext.get("helpapi.event_limiter")
    if bucket is None:
        bucket = ext["helpapi.event_limiter"] = TokenBucket(current_app.config["EVENTS_PER_MINUTE"])
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
        raise InvalidParameter("article", "is required: an article id of at most 512 characters")
    position = body.get("position")
    if position is not None and (
        isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10000
    ):
        raise InvalidParameter("position", "must be a whole number from 0 to 10000")
    return {"type": kind, "query_id": qid, "article": article.strip(), "position": position}


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
        event["type"], event["query_id"], event["article"], event["position"]
    )
    return "", 204
