"""Ingestion routes (admin auth): put and delete articles in the corpus folder, then reindex.

``PUT /v1/admin/articles/<locale>/<slug>`` takes JSON ``{"title", "markdown" | "html",
"front_matter"}`` or a raw ``text/markdown`` / ``text/html`` body; ``DELETE`` removes the
article; ``POST /v1/admin/articles:batch`` applies up to 1,000 operations in one go. Every
write lands in the corpus folder (atomically, see :mod:`helpapi.corpus_write`) and starts an
incremental reindex job (``202``, its URL in ``Location``); ``?reindex=false`` only writes
(``200``), and the next job indexes the change.

The routes live on the admin blueprint, so they share its Bearer-token check and audit log.
"""

from __future__ import annotations

import errno

from flask import current_app
from flask import jsonify
from flask import request
from flask import url_for

from . import corpus_write
from . import jobs
from .admin import StorageUnavailable
from .admin import _audit
from .admin import _job_view
from .admin import bp
from .errors import HelpApiError
from .errors import InvalidParameter
from .errors import NotFound
from .errors import PayloadTooLarge
from .web import json_body
from .web import json_object

MAX_BATCH_BYTES = corpus_write.MAX_BATCH_BYTES
MAX_BATCH_OPERATIONS = corpus_write.MAX_BATCH_OPERATIONS
_BATCH_KEYS = {"operations"}
_OP_KEYS = {"op", "locale", "slug"}


def _max_article_bytes() -> int:
    return current_app.config["MAX_ARTICLE_BYTES"]


def _raw_body(limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The body must be at most {limit} bytes.")
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"The body must be at most {limit} bytes.")
    return raw


def _reindex_wanted() -> bool:
    raw = request.args.get("reindex", "true").strip().lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise InvalidParameter("reindex", "must be true or false")


def _invalid(exc: corpus_write.InvalidArticle) -> InvalidParameter:
    return InvalidParameter(exc.field, exc.message)


def _commit(operations: list[corpus_write.Operation]):
    """Write, then start the reindex job (or not); the response every route gives.

    When a reindex job is already running, the write still lands and that job starts an
    incremental follow-up when it ends (``jobs.submit_or_follow``): the answer is ``202``
    with the running job and ``"follow_up": true``.
    """
    cfg = current_app.config
    reindex = _reindex_wanted()
    try:
        done = corpus_write.apply(cfg["CORPUS_DIR"], operations)
    except corpus_write.InvalidArticle as exc:
        raise _invalid(exc) from None
    except FileNotFoundError as exc:
        raise NotFound(f"No article {exc.args[0]!r} in the corpus.") from None
    except corpus_write.CorpusReadOnly as exc:
        _audit("storage-error")
        name = errno.errorcode.get(exc.errno or 0, "EIO")
        raise StorageUnavailable(
            f"The corpus folder cannot be written ({name}); check disk space and permissions.",
            errno=name,
        ) from None
    body = {"written": done, "job": None, "follow_up": False}
    if not reindex:
        _audit("written")
        return jsonify(body), 200
    job, follow_up = jobs.submit_or_follow(
        cfg["INDEX_DIR"],
        cfg["CORPUS_DIR"],
        cfg["BUILD_JOBS"],
        request.remote_addr or "",
        cfg["BUILD_TIMEOUT"],
    )
    _audit("follow-up" if follow_up else "accepted", job["id"])
    body["job"] = _job_view(job)
    body["follow_up"] = follow_up
    resp = jsonify(body)
    resp.status_code = 202
    resp.headers["Location"] = url_for("admin.job_view", job_id=job["id"])
    return resp


@bp.put("/articles/<locale>/<path:slug>")
def put_article(locale: str, slug: str):
    """Create or replace one article (JSON, raw Markdown or raw HTML body)."""
    mimetype = request.mimetype
    raw = _raw_body(_max_article_bytes())
    try:
        if mimetype == "application/json":
            op = corpus_write.operation_from_json(locale, slug, json_body(raw))
        elif mimetype in ("text/markdown", "text/x-markdown", "text/plain"):
            op = corpus_write.operation_from_text(locale, slug, raw, html=False)
        elif mimetype == "text/html":
            op = corpus_write.operation_from_text(locale, slug, raw, html=True)
        else:
            raise _UnsupportedType(mimetype)
    except corpus_write.InvalidArticle as exc:
        raise _invalid(exc) from None
    return _commit([op])


class _UnsupportedType(HelpApiError):
    status = 415
    code = "unsupported_media_type"

    def __init__(self, mimetype: str):
        super().__init__(
            f"Content-Type {mimetype or '(none)'!r} is not accepted: send application/json, "
            "text/markdown or text/html."
        )


@bp.delete("/articles/<locale>/<path:slug>")
def delete_article(locale: str, slug: str):
    """Remove one article from the corpus."""
    try:
        op = corpus_write.Operation(
            "delete", corpus_write.check_locale(locale), corpus_write.check_slug(slug)
        )
    except corpus_write.InvalidArticle as exc:
        raise _invalid(exc) from None
    return _commit([op])


def _batch_operation(n: int, item) -> corpus_write.Operation:
    where = f"operations[{n}]"
    if not isinstance(item, dict):
        raise InvalidParameter(where, "must be an object")
    kind = item.get("op")
    if kind not in ("put", "delete"):
        raise InvalidParameter(f"{where}.op", "must be put or delete")
    locale, slug = item.get("locale"), item.get("slug")
    if not isinstance(locale, str) or not isinstance(slug, str):
        raise InvalidParameter(where, "locale and slug must be text")
    rest = {k: v for k, v in item.items() if k not in _OP_KEYS}
    try:
        if kind == "delete":
            if rest:
                raise corpus_write.InvalidArticle(sorted(rest)[0], "unknown key for a delete")
            return corpus_write.Operation(
                "delete", corpus_write.check_locale(locale), corpus_write.check_slug(slug)
            )
        op = corpus_write.operation_from_json(locale, slug, rest)
    except corpus_write.InvalidArticle as exc:
        raise InvalidParameter(f"{where}.{exc.field}", exc.message) from None
    if len(op.content.encode("utf-8")) > _max_article_bytes():
        raise PayloadTooLarge(f"{where}: an article must be at most {_max_article_bytes()} bytes.")
    return op


@bp.post("/articles:batch")
def batch_articles():
    """Up to 1,000 put/delete operations, validated together, then written, then one job."""
    body = json_object(_raw_body(MAX_BATCH_BYTES), _BATCH_KEYS)
    items = body.get("operations")
    if not isinstance(items, list) or not items:
        raise InvalidParameter("operations", "must be a non-empty list")
    if len(items) > MAX_BATCH_OPERATIONS:
        raise PayloadTooLarge(f"A batch holds at most {MAX_BATCH_OPERATIONS} operations.")
    ops = [_batch_operation(n, item) for n, item in enumerate(items)]
    seen = set()
    for n, op in enumerate(ops):
        if (op.locale, op.slug) in seen:
            raise InvalidParameter(f"operations[{n}]", "the same article appears twice")
        seen.add((op.locale, op.slug))
    return _commit(ops)
