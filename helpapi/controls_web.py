"""Flask edge of :mod:`helpapi.controls`: the worker's config holder and the admin routes
``GET``/``PUT /v1/admin/synonyms/<locale>`` and ``GET``/``PUT /v1/admin/rules``.

A ``PUT`` body is the file's text (any content type but JSON), or ``{"text": "..."}`` as JSON.
It is parsed first: a bad file is a 400 naming the line, and the file on disk (and the config
in force) stays as it was. A good one replaces the file atomically and this worker reloads at
once; the others within :data:`helpapi.controls.CHECK_SECONDS`.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask import jsonify
from flask import request

from . import controls
from .admin import _audit
from .admin import bp
from .errors import BadRequest
from .errors import InvalidParameter
from .web import json_object


class InvalidConfig(BadRequest):
    """A synonyms or rules text that does not parse; names the file and the line."""

    code = "invalid_config"


def holder() -> controls.ConfigHolder:
    """This app's config holder (made on first use, for the app's corpus folder)."""
    return holder_of(current_app)


def holder_of(app) -> controls.ConfigHolder:
    """:func:`holder` of ``app`` (no app context needed)."""
    ext = app.extensions
    found = ext.get("helpapi.controls")
    if found is None:
        found = ext.setdefault("helpapi.controls", controls.ConfigHolder(app.config["CORPUS_DIR"]))
    return found


def current() -> controls.Config:
    """The config in force in this worker."""
    return holder().get()


def _view(rel: str, **extra) -> dict:
    config = holder().get()
    path = Path(current_app.config["CORPUS_DIR"]) / rel
    try:
        text = controls.read_text(path)
        exists = True
    except FileNotFoundError:
        text, exists = "", False
    except (OSError, ValueError) as exc:
        text, exists = "", True
        extra["problem"] = f"{rel}: {exc}"
    body = {"path": rel, "exists": exists, "text": text, "version": config.version, **extra}
    if rel in config.problems:
        # The file on disk is bad: the last good version of it is what serves.
        body["problem"] = config.problems[rel]
    return body


def _put_text() -> str:
    raw = request.get_data(cache=False)
    if request.mimetype == "application/json":
        text = json_object(raw, {"text"}).get("text")
        if not isinstance(text, str):
            raise InvalidParameter("text", "must be the file's text")
        return text
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The body is not valid UTF-8 (byte {exc.start}).") from None


def _put(rel: str) -> dict:
    text = _put_text()
    try:
        parsed = controls.parse_file(rel, text)
    except controls.ConfigError as exc:
        _audit("invalid")
        raise InvalidConfig(str(exc), path=exc.path, line=exc.line) from None
    controls.write_atomic(Path(current_app.config["CORPUS_DIR"]) / rel, text)
    holder().reload()
    _audit("ok")
    return _view(rel, entries=len(parsed))


def _name(locale: str) -> str:
    if not controls.valid_name(locale):
        raise InvalidParameter("locale", "must be a locale tag (like de-DE) or _all")
    return locale


@bp.get("/synonyms/<locale>")
def synonyms_view(locale: str):
    """The synonyms file of ``locale`` (or ``_all``): its text, and any problem with it."""
    rel = controls.synonyms_path(_name(locale))
    _audit("ok")
    return jsonify(dict(_view(rel), locale=locale))


@bp.put("/synonyms/<locale>")
def synonyms_put(locale: str):
    """Replace the synonyms file of ``locale`` (or ``_all``); 400 naming a bad line."""
    rel = controls.synonyms_path(_name(locale))
    return jsonify(dict(_put(rel), locale=locale))


@bp.get("/rules")
def rules_view():
    """The query rules file: its text, and any problem with it."""
    _audit("ok")
    return jsonify(_view(controls.RULES_PATH))


@bp.put("/rules")
def rules_put():
    """Replace the query rules file; 400 naming a bad line."""
    return jsonify(_put(controls.RULES_PATH))


__all__ = ["InvalidConfig", "current", "holder", "holder_of"]
