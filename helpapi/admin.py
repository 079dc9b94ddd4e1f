"""Admin routes: trigger a reindex, follow or cancel its job. Bearer-token protected.

With no token configured the routes are disabled (403), never open. The token is compared in
constant time, and a token in the query string is refused (it would end up in logs). A disk
that cannot be written (read-only, full) is a 503 naming the errno, never a bare 500.
"""

from __future__ import annotations

import errno
import hmac
import logging

import orjson
from flask import Blueprint
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask import url_for

from . import jobs
from .config import admin_token
from .corpus import discover_locales
from .errors import BadRequest
from .errors import Conflict
from .errors import Forbidden
from .errors import InvalidParameter
from .errors import NotFound
from .errors import PayloadTooLarge
from .errors import ServiceUnavailable
from .errors import Unauthorized
from .errors import error_response
from .schema import ENGLISH
from .web import json_object

bp = Blueprint("admin", __name__, url_prefix="/v1/admin")
log = logging.getLogger("helpapi.admin")
MAX_BODY = 64 * 1024
_BODY_KEYS = {"locales", "full"}


class StorageUnavailable(ServiceUnavailable):
    """The index folder cannot be written (read-only, full, no permission); names the errno."""

    code = "storage_unavailable"


def _audit(outcome: str, job: str | None = None) -> None:
    """One JSON line per admin action (the access log's form), on logger ``helpapi.admin``."""
    log.info(
        "%s",
        orjson.dumps(
            {
                "event": "admin",
                "rid": g.get("request_id"),
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule is not None else None,
                "path": request.path,
                "client": request.remote_addr,
                "job": job,
                "outcome": outcome,
            }
        ).decode(),
    )


@bp.before_request
def _authenticate():
    expected = admin_token(current_app.config)
    if not expected:
        _audit("disabled")
        raise Forbidden("Admin routes are disabled: set HELPAPI_ADMIN_TOKEN to enable them.")
    if any(k.lower() in ("token", "access_token", "api_key", "key") for k in request.args):
        _audit("token-in-query")
        raise BadRequest("Send the token in the Authorization header, never in the URL.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        _audit("no-credentials")
        raise Unauthorized("Authorization: Bearer <token> is required.")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        _audit("bad-token")
        raise Unauthorized("The token is not valid.")


@bp.errorhandler(OSError)
def _storage(exc: OSError):
    """Every OSError of an admin route comes from the index folder: 503 with the errno."""
    name = errno.errorcode.get(exc.errno or 0, "EIO")
    # Plain text on the parent logger: helpapi.admin carries JSON lines only.
    logging.getLogger("helpapi").error("admin storage error: %s", exc)
    _audit(f"storage-{name}")
    # The path stays in the log: the client gets the reason, not the layout of the server.
    reason = exc.strerror or str(exc)
    err = StorageUnavailable(
        f"The index folder cannot be written ({name}: {reason}); check disk space and permissions.",
        errno=name,
    )
    return error_response(err)


def _body() -> dict:
    if request.content_length and request.content_length > MAX_BODY:
        raise PayloadTooLarge(f"The body must be at most {MAX_BODY} bytes.")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"The body must be at most {MAX_BODY} bytes.")
    if not raw.strip():
        return {}
    return json_object(raw, _BODY_KEYS)


def _validate(body: dict) -> tuple[list[str] | None, bool]:
    full = body.get("full", False)
    if not isinstance(full, bool):
        raise InvalidParameter("full", "must be true or false")
    locales = body.get("locales")
    if locales is None:
        return None, full
    if (
        not isinstance(locales, list)
        or not locales
        or len(locales) > 100
        or not all(isinstance(x, str) for x in locales)
    ):
        raise InvalidParameter("locales", "must be a non-empty list of locale codes")
    known = set(discover_locales(current_app.config["CORPUS_DIR"])) | {ENGLISH}
    bad = [x for x in locales if x not in known]
    if bad:
        raise InvalidParameter("locales", f"not in the corpus: {', '.join(bad[:5])}")
    return sorted(set(locales)), full


def _job_view(job: dict) -> dict:
    view = {k: v for k, v in job.items() if k not in ("pid", "traceback", "corpus_dir")}
    view["url"] = url_for("admin.job_view", job_id=job["id"])
    return view


@bp.post("/reindex")
def reindex():
    """Queue a reindex (incremental unless ``full``); 202 with the job, 409 if one runs."""
    locales, full = _validate(_body())
    cfg = current_app.config
    try:
        job = jobs.submit(
            cfg["INDEX_DIR"],
            cfg["CORPUS_DIR"],
            locales,
            full,
            cfg["BUILD_JOBS"],
            request.remote_addr or "",
            cfg["BUILD_TIMEOUT"],
        )
    except jobs.JobRunning as running:
        _audit("conflict", running.job["id"])
        raise Conflict(
            f"Reindex job {running.job['id']} is already {running.job['status']}.",
            job=running.job["id"],
            url=url_for("admin.job_view", job_id=running.job["id"]),
        ) from None
    _audit("accepted", job["id"])
    resp = jsonify(_job_view(job))
    resp.status_code = 202
    resp.headers["Location"] = url_for("admin.job_view", job_id=job["id"])
    return resp


@bp.get("/reindex/<job_id>")
def job_view(job_id: str):
    """One job's state: status, per-locale progress, counts, timings, errors."""
    return _job_answer(jobs.read_job(current_app.config["INDEX_DIR"], job_id), job_id, "ok")


@bp.delete("/reindex/<job_id>")
def job_cancel(job_id: str):
    """Cancel a queued or running job: its processes stop, its staging folder goes, the
    serving generation stays. 404 for an unknown job, 409 for a finished one."""
    try:
        job = jobs.cancel(current_app.config["INDEX_DIR"], job_id)
    except jobs.JobFinished as done:
        _audit("conflict", job_id)
        raise Conflict(
            f"Reindex job {job_id} has already finished ({done.job['status']}).",
            job=job_id,
            url=url_for("admin.job_view", job_id=job_id),
        ) from None
    return _job_answer(job, job_id, "cancelled")


def _job_answer(job: dict | None, job_id: str, outcome: str):
    """``job``'s view, audited as ``outcome``; a 404 (audited ``not-found``) when it is None."""
    if job is None:
        _audit("not-found", job_id)
        raise NotFound(f"No reindex job {job_id!r}.")
    _audit(outcome, job_id)
    return jsonify(_job_view(job))


@bp.get("/reindex")
def jobs_view():
    """Recent jobs, newest first."""
    _audit("ok")
    return jsonify(
        {"jobs": [_job_view(j) for j in jobs.list_jobs(current_app.config["INDEX_DIR"])]}
    )


# (generation folder, its coverage): computed once per generation, not per request.
_coverage = None


@bp.get("/coverage")
def coverage_view():
    """Translation coverage of the serving generation, from its meta.json catalogs.

    Per locale: articles, source articles missing (slugs), translations older than their
    source. ``?locale=`` keeps one locale, ``?limit=`` cuts each slug list (default 100).
    """
    # Imported here, so this route stays one local addition to the module.
    import dataclasses

    from .content import index_coverage
    from .service import get_indexes

    raw_limit = request.args.get("limit", "100")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise InvalidParameter("limit", f"must be a whole number, got {raw_limit[:20]!r}") from None
    if not 0 <= limit <= 100_000:
        raise InvalidParameter("limit", f"must be between 0 and 100000, got {limit}")
    global _coverage
    ixset = get_indexes()
    key = str(ixset.path)  # one generation of one index folder: its meta.json never changes
    cached = _coverage
    if cached is None or cached[0] != key:
        cached = _coverage = (key, index_coverage(ixset.meta))
    cov = dataclasses.replace(cached[1])
    wanted = request.args.get("locale")
    if wanted is not None:
        tag = wanted.replace("_", "-").lower()
        cov.locales = [c for c in cov.locales if c.locale.lower() == tag]
        if not cov.locales:
            known = ", ".join(sorted(loc for loc in ixset.meta["locales"] if loc != ENGLISH))
            raise InvalidParameter("locale", f"not a translated locale of the index: {known}")
    _audit("ok")
    body = cov.as_dict(limit)
    body["source_locale"] = current_app.config.get("SOURCE_LOCALE", ENGLISH)
    return jsonify(body)
