"""``GET /admin``: the insights dashboard, one static page over the insights API.

The page is static HTML, its script and its stylesheet (``helpapi/static/admin.*``); all data
comes from ``/v1/admin/insights/*`` fetched by the page with the admin token as a Bearer header.
The token is typed into the page and kept in ``sessionStorage``: it is never in a URL, and the
page itself needs no token (it holds no data). The policy is the strict page CSP with no inline
script or style at all, and nothing is loaded from another origin (the charts are SVG drawn by
the page's own script), so it works offline.
"""

from __future__ import annotations

import functools
from importlib import resources

from flask import Blueprint
from flask import Response

from .web import page_csp

bp = Blueprint("dashboard", __name__)


@functools.lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files("helpapi").joinpath("static", name).read_text("utf-8")


def _private(resp: Response) -> Response:
    # An admin page: no third party sees where it was opened from, no cache keeps it.
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.cache_control.no_store = True
    return resp


@bp.get("/admin")
def dashboard():
    """The dashboard page (no data in it: the script fetches the insights with the token)."""
    resp = Response(_asset("admin.html"), mimetype="text/html")
    resp.headers["Content-Security-Policy"] = page_csp()
    return _private(resp)


@bp.get("/admin/admin.js")
def dashboard_js():
    """The dashboard's script (vanilla JavaScript, no dependencies)."""
    return _private(Response(_asset("admin.js"), mimetype="text/javascript"))


@bp.get("/admin/admin.css")
def dashboard_css():
    """The dashboard's stylesheet."""
    return _private(Response(_asset("admin.css"), mimetype="text/css"))
