"""The embeddable help widget (``/widget.js``, ``/widget.css``) and its demo page (``/demo``)."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from importlib import resources

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from .errors import InvalidParameter
from .locales import BadLocale
from .locales import normalize_tag
from .locales import resolve_locale
from .service import get_indexes
from .web import page_csp

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


@functools.lru_cache(maxsize=4)
def _page_csp(name: str) -> str:
    """The page policy, allowing exactly the page's own inline ``<style>`` blocks by hash."""
    hashes = tuple(
        "sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        for css in re.findall(r"<style>(.*?)</style>", _asset(name), re.S)
    )
    return page_csp(hashes)


@bp.get("/widget.js")
def widget_js():
    """The widget script (vanilla JavaScript, no dependencies)."""
    return _static("widget.js", "text/javascript")


@bp.get("/widget.css")
def widget_css():
    """The widget's stylesheet."""
    return _static("widget.css", "text/css")


def _demo_locale() -> str:
    """``?locale=``, else the browser's language (an indexed locale when one serves it, else
    the tag it asked for, so an unindexed language shows its English-results notice), else
    the default locale. Never a fixed language."""
    param = request.args.get("locale")
    try:
        if param:
            return normalize_tag(param)
        found = resolve_locale(
            None,
            request.headers.get("Accept-Language"),
            get_indexes().locales,
            current_app.config["DEFAULT_LOCALE"],
        )
    except BadLocale:
        raise InvalidParameter("locale", "is not a well-formed language tag") from None
    return found.locale if found.matched or not found.requested else found.requested


@bp.get("/demo")
def demo():
    """A page embedding the widget, with a locale switcher."""
    locale = _demo_locale()
    choices = sorted(set(get_indexes().locales) | set(DEMO_EXTRA))
    options = "".join(
        f'<option value="{html.escape(c)}"{" selected" if c == locale else ""}>'
        f"{html.escape(c)}</option>"
        for c in choices
    )
    page = _asset("demo.html").replace("{options}", options)
    page = page.replace("{locale}", html.escape(locale, quote=True))
    # Only an explicit ?locale= is written into the script tag; otherwise the widget takes the
    # page's lang (from Accept-Language), as it would on a customer's page.
    attr = f' data-locale="{html.escape(locale, quote=True)}"' if request.args.get("locale") else ""
    page = page.replace("{locale_attr}", attr)
    resp = Response(page, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = _page_csp("demo.html")
    return resp


# The API's reference is its OpenAPI document; the landing page carries a short guide (#docs);
# /admin is the insights dashboard (admin token typed into the page).
_LINKS = {
    "demo": "/demo",
    "openapi": "/v1/openapi.json",
    "docs": "/#docs",
    "admin": "/admin",
    "search": "/v1/search?q=password",
    "locales": "/v1/locales",
}


@bp.get("/")
def landing():
    """A small page linking the demo, the OpenAPI document and the docs; JSON for API clients
    that ask for it (``Accept: application/json``)."""
    wanted = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if wanted == "application/json":
        return jsonify({"name": "helpapi", "links": _LINKS})
    items = "".join(
        f'<li><a href="{html.escape(url)}">{html.escape(name)}</a></li>'
        for name, url in _LINKS.items()
    )
    page = _asset("index.html").replace("{links}", items)
    page = page.replace("{origin}", html.escape(request.host_url.rstrip("/"), quote=True))
    resp = Response(page, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = _page_csp("index.html")
    resp.vary.add("Accept")
    return resp
