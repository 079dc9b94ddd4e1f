"""The embeddable help widget (``/widget.js``, ``/widget.css``) and its demo page (``/demo``)."""

from __future__ import annotations

import functools
import html
from importlib import resources

from flask import Blueprint
from flask import Response
from flask import request

from .errors import InvalidParameter
from .locales import BadLocale
from .locales import normalize_tag
from .service import get_indexes

bp = Blueprint("widget", __name__)
DEMO_EXTRA = ["en-US", "ar-SA", "he-IL", "pt-BR"]  # fallback and right-to-left examples


@functools.lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files("helpapi").joinpath("static", name).read_text("utf-8")


def _static(name: str, mimetype: str) -> Response:
    resp = Response(_asset(name), mimetype=mimetype)
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/widget.js")
def widget_js():
    """The widget script (vanilla JavaScript, no dependencies)."""
    return _static("widget.js", "text/javascript")


@bp.get("/widget.css")
def widget_css():
    """The widget's stylesheet."""
    return _static("widget.css", "text/css")


@bp.get("/demo")
def demo():
    """A page embedding the widget, with a locale switcher."""
    try:
        locale = normalize_tag(request.args.get("locale") or "ja-JP")
    except BadLocale:
        raise InvalidParameter("locale", "is not a well-formed language tag") from None
    choices = sorted(set(get_indexes().locales) | set(DEMO_EXTRA))
    options = "".join(
        f'<option value="{html.escape(c)}"{" selected" if c == locale else ""}>'
        f"{html.escape(c)}</option>"
        for c in choices
    )
    page = _asset("demo.html").replace("{options}", options)
    page = page.replace("{locale}", html.escape(locale, quote=True))
    return Response(page, mimetype="text/html")
